// Benchmark (not a test): push-mode propagation latency. Starts OpenBao with a socket audit device
// (beside a file device) and moto, runs `secretbridge serve`'s service in this process, makes
// N changes in OpenBao at a steady rate, and measures for each the time from the write being
// acknowledged by OpenBao to the new value being readable in the destination. Prints p50 / p95 /
// p99 / max, and the process's RSS and CPU while idle and under that load.
//   npm run bench:latency -- [--changes 200] [--rate 10]
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseArgs } from "node:util";
import { parseConfigText } from "../src/config/load.js";
import { SyncService } from "../src/runtime/service/service.js";
import { wire } from "../src/runtime/wire.js";
import { ApiCallRecorder } from "../src/util/api-calls.js";
import { silentLogger } from "../src/util/logger.js";
import { freePort, startMoto, startOpenBaoWithAuditDevice } from "../scripts/lib/peers.js";

const { values } = parseArgs({ options: { changes: { type: "string", default: "200" }, rate: { type: "string", default: "10" } } });
const CHANGES = Number(values.changes);
const RATE = Number(values.rate);
const MOUNT = "latency";
const PREFIX = "latency";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const auditPort = await freePort();
  const [bao, moto] = await Promise.all([startOpenBaoWithAuditDevice({ auditPort }), startMoto()]);
  try {
    await bao.mountKv(MOUNT);
    const paths = Array.from({ length: 20 }, (_, i) => `svc-${i}/password`);
    for (const p of paths) await bao.api("POST", `${MOUNT}/data/${p}`, { data: { v: "initial" } });
    const config = parseConfigText(`name: latency\nsource:\n  address: ${bao.url}\n  mount: ${MOUNT}\ndestination:\n  prefix: ${PREFIX}\nservice:\n  coalesceMs: 10\n`);
    const recorder = new ApiCallRecorder();
    const wiring = await wire(config, { env: { ...moto.awsEnv, VAULT_TOKEN: bao.rootToken, PATH: process.env.PATH ?? "" }, recorder });
    const service = new SyncService({ wiring, logger: silentLogger(), recorder, listen: { host: "127.0.0.1", port: 0 }, audit: { host: "127.0.0.1", port: auditPort }, coalesceMs: 10 });
    await service.start();
    await service.idle();
    // Let OpenBao's socket device reconnect to our listener.
    await bao.api("POST", `${MOUNT}/data/${paths[0]}`, { data: { v: "warm-up" } });
    await new Promise((r) => setTimeout(r, 1000));
    await service.idle();

    const sm = new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
    const cpuIdle0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 2000));
    const cpuIdle = process.cpuUsage(cpuIdle0);
    const rssIdle = process.memoryUsage().rss;

    const latencies: number[] = [];
    let peakRss = rssIdle;
    const cpuLoad0 = process.cpuUsage();
    const loadStart = performance.now();
    const waits: Promise<void>[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const path = paths[i % paths.length] as string;
      const value = `change-${i}`;
      const target = loadStart + (i * 1000) / RATE;
      await new Promise((r) => setTimeout(r, Math.max(0, target - performance.now())));
      await bao.api("POST", `${MOUNT}/data/${path}`, { data: { v: value } });
      const acked = performance.now();
      const expected = JSON.stringify({ v: value });
      waits.push(
        (async () => {
          for (;;) {
            const got = await sm.send(new GetSecretValueCommand({ SecretId: `${PREFIX}/${path}` }));
            if (got.SecretString === expected) {
              latencies.push(performance.now() - acked);
              return;
            }
            // A later change to the same path may overwrite this one first: that also means
            // this change was propagated (or superseded); stop at the next change's value.
            const n = Number(/change-(\d+)/.exec(got.SecretString ?? "")?.[1] ?? -1);
            if (n > i) {
              latencies.push(performance.now() - acked);
              return;
            }
            if (performance.now() - acked > 30_000) return;
            await new Promise((r) => setTimeout(r, 20));
          }
        })(),
      );
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    await Promise.all(waits);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const cpuLoad = process.cpuUsage(cpuLoad0);
    await service.stop();
    await wiring.close();
    const sorted = [...latencies].sort((a, b) => a - b);
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    process.stdout.write(
      [
        `push latency: ${CHANGES} changes at ${RATE}/s over ${paths.length} secrets (OpenBao write acknowledged -> value readable in AWS)`,
        `propagated     ${latencies.length} of ${CHANGES}`,
        `p50            ${ms(percentile(sorted, 50))}`,
        `p95            ${ms(percentile(sorted, 95))}`,
        `p99            ${ms(percentile(sorted, 99))}`,
        `max            ${ms(sorted.at(-1) ?? NaN)}`,
        `idle           RSS ${(rssIdle / 1048576).toFixed(0)} MB, CPU ${(((cpuIdle.user + cpuIdle.system) / 1e6 / 2) * 100).toFixed(1)}% of one core`,
        `under load     peak RSS ${(peakRss / 1048576).toFixed(0)} MB, CPU ${(((cpuLoad.user + cpuLoad.system) / 1e6 / loadSeconds) * 100).toFixed(0)}% of one core (includes this benchmark's own polling)`,
        `API calls      ${Object.entries(recorder.byOperation()).map(([k, v]) => `${k}=${v}`).join(", ")}`,
      ].join("\n") + "\n",
    );
  } finally {
    await Promise.allSettled([bao.stop(), moto.stop()]);
  }
}

await main();
