// Benchmark (not a test): seeds N secrets in a real OpenBao, then runs an initial sync and a
// no-change sync into a real moto, and prints wall time, throughput, API calls by type on both
// sides, where the time went, peak RSS and CPU time.
//   npm run bench -- --n 1000 [--unlimited] [--listing scan|list] [--concurrency 16]
// --unlimited lifts the client-side write rate limit (default 40/s, under AWS's 50/s quota) to
// show the throughput of our code and the peers rather than of the limiter.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseArgs } from "node:util";
import { SecretsManagerDestination } from "../src/destinations/aws-secrets-manager/index.js";
import { runSync, type RunSettings } from "../src/engine/run.js";
import type { RunReport } from "../src/engine/report.js";
import { VaultKvSource } from "../src/sources/vault/index.js";
import { ApiCallRecorder } from "../src/util/api-calls.js";
import { silentLogger } from "../src/util/logger.js";
import { startMoto, startOpenBao } from "../scripts/lib/peers.js";
import pLimit from "p-limit";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "1000" },
    unlimited: { type: "boolean", default: false },
    listing: { type: "string", default: "scan" },
    concurrency: { type: "string", default: "16" },
  },
});
const N = Number(values.n);
const concurrency = Number(values.concurrency);
const mount = "bench";

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function main(): Promise<void> {
  const [bao, moto] = await Promise.all([startOpenBao(), startMoto()]);
  try {
    await bao.api("POST", `sys/mounts/${mount}`, { type: "kv", options: { version: "2" } });
    const seedStart = performance.now();
    const limit = pLimit(32);
    // Nested like a real tree: 10 teams x 10 services x N/100 secrets each.
    const paths = Array.from({ length: N }, (_, i) => `team-${i % 10}/svc-${Math.floor(i / 10) % 10}/secret-${i}`);
    await Promise.all(paths.map((p, i) => limit(() => bao.api("POST", `${mount}/data/${p}`, { data: { username: `user-${i}`, password: `pw-${i}-${"x".repeat(32)}` } }))));
    const policy = values.listing === "scan"
      ? `path "${mount}/*" { capabilities = ["read", "list"] }\npath "${mount}/detailed-metadata/*" { capabilities = ["read", "list", "scan"] }`
      : `path "${mount}/*" { capabilities = ["read", "list"] }`;
    await bao.api("PUT", "sys/policies/acl/bench-ro", { policy });
    const tokenRes = await bao.api("POST", "auth/token/create", { policies: ["bench-ro"], ttl: "2h" });
    const token = (tokenRes.json as { auth: { client_token: string } }).auth.client_token;
    process.stdout.write(`seeded ${N} secrets in OpenBao in ${((performance.now() - seedStart) / 1000).toFixed(1)} s (listing: ${values.listing})\n`);

    const settings: RunSettings = {
      mode: "sync",
      syncName: "bench",
      source: { address: bao.url, mount },
      prefix: "bench",
      concurrency,
    };
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

    const once = async (label: string): Promise<void> => {
      const recorder = new ApiCallRecorder();
      const source = new VaultKvSource({ address: bao.url, token, mount, recorder, concurrency });
      const destination = new SecretsManagerDestination({
        recorder,
        client: new SecretsManagerClient({
          endpoint: moto.url,
          region: "us-east-1",
          credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
          maxAttempts: 8,
        }),
        ...(values.unlimited ? { rateLimits: { write: 100_000, tag: 100_000, list: 100_000 } } : {}),
      });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const report: RunReport = await runSync({ source, destination, logger: silentLogger() }, settings);
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      await Promise.all([source.close(), destination.close()]);
      const c = report.counts;
      process.stdout.write(
        [
          ``,
          `## ${label} (N=${N})`,
          `exit code            ${report.exitCode}; created ${c.create}, updated ${c.update}, unchanged ${c.unchanged}, failed ${c.failed}`,
          `wall time            ${wall.toFixed(2)} s`,
          `throughput           ${(N / wall).toFixed(0)} secrets/s`,
          `time by phase        validate ${report.timings.validateMs} ms, inventory ${report.timings.inventoryMs} ms, plan ${report.timings.planMs} ms, apply ${report.timings.applyMs} ms`,
          `our CPU time         user ${(cpu.user / 1e6).toFixed(2)} s + system ${(cpu.system / 1e6).toFixed(2)} s (${(((cpu.user + cpu.system) / 1e6 / wall) * 100).toFixed(0)}% of wall)`,
          `API calls            ${Object.entries(recorder.byOperation()).map(([k, v]) => `${k}=${v}`).join(", ")}`,
          `peak RSS so far      ${mb(peakRss)}`,
        ].join("\n") + "\n",
      );
    };

    await once("initial sync");
    await once("no-change sync");
    clearInterval(sampler);
    process.stdout.write(`\npeak RSS (whole benchmark process, includes seeding) ${mb(peakRss)}\n`);
  } finally {
    await Promise.allSettled([bao.stop(), moto.stop()]);
  }
}

await main();
