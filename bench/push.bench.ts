// Benchmark (not a test): push under sustained load, as a user runs it. Starts OpenBao with a
// socket audit device and moto, runs the compiled `secretbridge serve` (dist/) as a child process
// fed by that device, writes N changes a second to OpenBao, and measures propagation from the
// service's own `secretbridge_replication_lag_seconds` histogram, checked by a sampled read-back
// (a few percent of the changes, read from moto directly so the destination is barely loaded).
// Latency per AWS or Vault call can be injected with a proxy in front of moto or OpenBao.
//   npm run bench:push -- [--rates 10,25,40] [--secrets 20,2000] [--seconds 30]
//                         [--aws-latency-ms 30] [--vault-latency-ms 2] [--sample 0.05]
//                         [--write-limit 50] (client-side write and tag requests/s; default 40)
//                         [--moto indexed] (moto with per-call store costs made constant, as bench:scale)
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLatencyProxy, type LatencyProxy } from "../scripts/lib/latency-proxy.js";
import { freePort, repoRoot, startMoto, startOpenBaoWithAuditDevice, type OpenBaoPeer } from "../scripts/lib/peers.js";

const { values } = parseArgs({
  options: {
    rates: { type: "string", default: "10,25,40" },
    secrets: { type: "string", default: "20,2000" },
    seconds: { type: "string", default: "30" },
    "aws-latency-ms": { type: "string", default: "0" },
    "vault-latency-ms": { type: "string", default: "0" },
    sample: { type: "string", default: "0.05" },
    "coalesce-ms": { type: "string" },
    "write-limit": { type: "string" },
    moto: { type: "string", default: "released" },
    "cpu-prof": { type: "string" },
  },
});
const RATES = values.rates.split(",").map(Number);
const SIZES = values.secrets.split(",").map(Number);
const SECONDS = Number(values.seconds);
const AWS_MS = Number(values["aws-latency-ms"]);
const VAULT_MS = Number(values["vault-latency-ms"]);
const SAMPLE = Number(values.sample);
const MOUNT = "push";
/** By size and rate: the share of writes the histogram saw within 0.25 s and 1 s, and the read-back p99, for the knee. */
const results: { n: number; rate: number; within250: number; within1s: number; p99: number }[] = [];
const API_TOKEN = "bench-api-token";

/** The lag histogram's cumulative buckets (le -> count) and its count, from one scrape. */
interface Histogram {
  buckets: Map<number, number>;
  count: number;
}

/** Counters summed by operation from `secretbridge_api_calls_total`. */
type Calls = Map<string, number>;

async function scrape(url: string): Promise<{ lag: Histogram; calls: Calls; pending: number; running: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = new Map<number, number>();
  let count = 0;
  let pending = 0;
  let running = 0;
  const calls: Calls = new Map();
  for (const line of text.split("\n")) {
    let m = /^secretbridge_replication_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/.exec(line);
    if (m) buckets.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
    m = /^secretbridge_replication_lag_seconds_count (\d+)/.exec(line);
    if (m) count = Number(m[1]);
    m = /^secretbridge_pending_paths (\d+)/.exec(line);
    if (m) pending = Number(m[1]);
    m = /^secretbridge_runs_in_progress (\d+)/.exec(line);
    if (m) running = Number(m[1]);
    m = /^secretbridge_api_calls_total\{provider="([^"]*)",operation="([^"]*)",status="[^"]*"\} (\d+)/.exec(line);
    if (m) calls.set(`${m[1]} ${m[2]}`, (calls.get(`${m[1]} ${m[2]}`) ?? 0) + Number(m[3]));
  }
  return { lag: { buckets, count }, calls, pending, running };
}

function delta(after: Histogram, before: Histogram): Histogram {
  return { buckets: new Map([...after.buckets].map(([le, n]) => [le, n - (before.buckets.get(le) ?? 0)])), count: after.count - before.count };
}

/** The smallest bucket bound holding at least p % of the observations: the histogram's pXX is at most this. */
function bucketPercentile(h: Histogram, p: number): number {
  for (const [le, n] of [...h.buckets].sort((a, b) => a[0] - b[0])) if (n >= (p / 100) * h.count) return le;
  return Infinity;
}

function within(h: Histogram, le: number): string {
  return h.count === 0 ? "-" : `${(((h.buckets.get(le) ?? 0) / h.count) * 100).toFixed(0)} %`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** CPU seconds used so far by each child process of this benchmark (serve, moto, OpenBao), by command name. */
function childCpu(): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 100; // USER_HZ on Linux
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) !== process.pid) continue;
    const name = comm.startsWith("moto") || comm.startsWith("python") ? "moto" : comm === "bao" ? "openbao" : comm === "node" ? "serve" : comm;
    out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / tick);
  }
  out.set("bench", process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6);
  return out;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Writes one version; the version's created_time as OpenBao answers it (the histogram's start). */
async function write(bao: OpenBaoPeer, path: string, value: string): Promise<number> {
  const res = await bao.api("POST", `${MOUNT}/data/${path}`, { data: { v: value } });
  if (res.status !== 200) throw new Error(`write ${path}: HTTP ${res.status}`);
  return Date.parse((res.json as { data: { created_time: string } }).data.created_time);
}

interface RunFinished {
  durationMs: number;
  targeted: number;
  timings: Record<string, number>;
}

/** The "run finished" lines of targeted runs in the service's log since `from` (byte offset). */
function runsInLog(file: string, from: number): { runs: RunFinished[]; size: number } {
  const text = readFileSync(file, "utf8");
  const runs: RunFinished[] = [];
  const started = new Map<string, number>();
  for (const line of text.slice(from).split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as { msg?: string; runId?: string; targeted?: number; durationMs?: number; timings?: Record<string, number> };
    if (entry.msg === "run started" && entry.runId && entry.targeted !== undefined) started.set(entry.runId, entry.targeted);
    if (entry.msg === "run finished" && entry.runId && started.has(entry.runId)) {
      runs.push({ durationMs: entry.durationMs ?? 0, targeted: started.get(entry.runId) ?? 0, timings: entry.timings ?? {} });
    }
  }
  return { runs, size: text.length };
}

async function benchSize(n: number): Promise<string[]> {
  const auditPort = await freePort();
  const [bao, moto] = await Promise.all([startOpenBaoWithAuditDevice({ auditPort }), startMoto({ indexedStore: values.moto === "indexed" })]);
  const proxies: LatencyProxy[] = [];
  let serve: ChildProcess | undefined;
  const lines: string[] = [];
  try {
    await bao.mountKv(MOUNT);
    const paths = Array.from({ length: n }, (_, i) => `team-${i % 20}/svc-${i}`);
    for (let i = 0; i < n; i += 32) await Promise.all(paths.slice(i, i + 32).map((p) => write(bao, p, "initial")));
    const aws = AWS_MS > 0 ? await startLatencyProxy({ target: moto.url, latencyMs: AWS_MS }) : undefined;
    const vault = VAULT_MS > 0 ? await startLatencyProxy({ target: bao.url, latencyMs: VAULT_MS }) : undefined;
    for (const p of [aws, vault]) if (p) proxies.push(p);

    const dir = mkdtempSync(join(tmpdir(), "sb-push-bench-"));
    const httpPort = await freePort();
    const limit = values["write-limit"] !== undefined ? `  rateLimits:\n    write: ${values["write-limit"]}\n    tag: ${values["write-limit"]}\n` : "";
    const coalesce = values["coalesce-ms"] !== undefined ? `  coalesceMs: ${values["coalesce-ms"]}\n` : "";
    writeFileSync(
      join(dir, "secretbridge.yaml"),
      `name: pushbench\nsource:\n  address: ${vault?.url ?? bao.url}\n  mount: ${MOUNT}\ndestination:\n  prefix: ${MOUNT}\n${limit}` +
        `service:\n  listen: 127.0.0.1:${httpPort}\n  auditListen: 127.0.0.1:${auditPort}\n  stateDir: ${join(dir, "state")}\n${coalesce}`,
    );
    const logFile = join(dir, "serve.log");
    const log = createWriteStream(logFile);
    const cpuProf = values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] : [];
    serve = spawn(process.execPath, [...cpuProf, join(repoRoot, "bin", "secretbridge.js"), "serve", "-c", join(dir, "secretbridge.yaml")], {
      env: { PATH: process.env.PATH ?? "", ...moto.awsEnv, ...(aws ? { AWS_ENDPOINT_URL: aws.url } : {}), VAULT_TOKEN: bao.rootToken, SECRETBRIDGE_API_TOKEN: API_TOKEN },
      stdio: ["ignore", "pipe", "pipe"],
    });
    serve.stdout?.pipe(log);
    serve.stderr?.pipe(log);
    const url = `http://127.0.0.1:${httpPort}`;
    await waitFor("the first full sync", async () => (await fetch(`${url}/readyz`)).status === 200, 600_000);
    // OpenBao's socket device reconnects to the service's listener on its next write.
    await write(bao, paths[0] as string, "warm-up");
    await waitFor("the audit stream", async () => /secretbridge_audit_stream_connected 1/.test(await (await fetch(`${url}/metrics`)).text()), 30_000);
    // A connection made after the first full sync asks for another (events may have been
    // missed); one made during it (the sync's own reads are audited) does not. Either way, let
    // what was asked for finish first.
    await new Promise((r) => setTimeout(r, 2000));
    await waitFor("the service to settle", async () => {
      const m = await scrape(url);
      return m.running === 0 && m.pending === 0;
    }, 600_000);

    const sm = new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 1 });
    for (const rate of RATES) {
      const before = await scrape(url);
      const logFrom = runsInLog(logFile, 0).size;
      const total = Math.round(rate * SECONDS);
      const sampled: number[] = [];
      const reads: Promise<void>[] = [];
      let lost = 0;
      const start = performance.now();
      const load0 = loadavg()[0] ?? 0;
      const cpu0 = childCpu();
      // Runs in flight and pending paths, scraped every 500 ms while driving: whether the bound on
      // runs in flight is what holds changes back.
      const gauges: { running: number; pending: number }[] = [];
      const sampler = setInterval(() => void scrape(url).then((m) => gauges.push({ running: m.running, pending: m.pending }), () => undefined), 500);
      for (let i = 0; i < total; i++) {
        await new Promise((r) => setTimeout(r, Math.max(0, start + (i * 1000) / rate - performance.now())));
        const path = paths[i % n] as string;
        const value = `r${rate}-${i}`;
        // Not awaited in line: a slow OpenBao answer must not slow the rate down.
        const created = write(bao, path, value);
        if (Math.random() >= SAMPLE) continue;
        reads.push(
          (async () => {
            const at = await created;
            const expected = JSON.stringify({ v: value });
            for (;;) {
              const got = await sm.send(new GetSecretValueCommand({ SecretId: `${MOUNT}/${path}` })).catch(() => undefined);
              const seen = Date.now();
              // A later change to the same path may land first: this one was then propagated or superseded.
              const later = Number(/^\{"v":"r\d+-(\d+)"\}$/.exec(got?.SecretString ?? "")?.[1] ?? -1);
              if (got?.SecretString === expected || later > i) return void sampled.push(seen - at);
              if (seen - at > 60_000) return void (lost += 1);
              await new Promise((r) => setTimeout(r, 25));
            }
          })(),
        );
      }
      const driveSeconds = (performance.now() - start) / 1000;
      clearInterval(sampler);
      const cpu = [...childCpu()].map(([name, s]) => `${name} ${(((s - (cpu0.get(name) ?? 0)) / driveSeconds) * 100).toFixed(0)} %`).join(", ");
      await Promise.all(reads);
      await waitFor("the service to drain", async () => {
        const m = await scrape(url);
        return m.pending === 0 && m.running === 0;
      }, 300_000);
      await new Promise((r) => setTimeout(r, 1000));
      const after = await scrape(url);
      const lag = delta(after.lag, before.lag);
      const { runs } = runsInLog(logFile, logFrom);
      const sorted = [...sampled].sort((a, b) => a - b);
      const calls = [...after.calls].map(([op, c]) => [op, c - (before.calls.get(op) ?? 0)] as const).filter(([, c]) => c > 0);
      const writes = lag.count;
      const phase = (key: string) => {
        const v = runs.map((r) => r.timings[key] ?? 0).sort((a, b) => a - b);
        return v.length ? `${percentile(v, 50)}/${percentile(v, 99)}` : "-";
      };
      const durations = runs.map((r) => r.durationMs).sort((a, b) => a - b);
      const perRun = runs.map((r) => r.targeted).sort((a, b) => a - b);
      const running = gauges.map((g) => g.running).sort((a, b) => a - b);
      const pendingPaths = gauges.map((g) => g.pending).sort((a, b) => a - b);
      lines.push(
        [
          `${n} secrets, ${rate}/s for ${driveSeconds.toFixed(0)} s (${total} changes), aws +${AWS_MS} ms, vault +${VAULT_MS} ms, load ${load0.toFixed(1)} -> ${(loadavg()[0] ?? 0).toFixed(1)}`,
          `  histogram  ${writes} writes; within 0.1 s ${within(lag, 0.1)}, 0.25 s ${within(lag, 0.25)}, 0.5 s ${within(lag, 0.5)}, 1 s ${within(lag, 1)}; p50 <= ${bucketPercentile(lag, 50)} s, p99 <= ${bucketPercentile(lag, 99)} s`,
          `  read-back  ${sorted.length} sampled (${lost} not seen in 60 s): p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted.at(-1) ?? NaN} ms`,
          `  runs       ${runs.length} targeted; paths per run p50/p99 ${percentile(perRun, 50)}/${percentile(perRun, 99)}; duration p50/p99 ${percentile(durations, 50)}/${percentile(durations, 99)} ms; inventory ${phase("inventoryMs")} ms, plan ${phase("planMs")} ms, apply ${phase("applyMs")} ms`,
          `  in flight  runs p50/max ${percentile(running, 50)}/${running.at(-1) ?? NaN}, pending paths p50/max ${percentile(pendingPaths, 50)}/${pendingPaths.at(-1) ?? NaN} (every 500 ms while driving)`,
          `  CPU        ${cpu} of one core while driving`,
          `  calls      ${(writes ? calls.map(([op, c]) => `${op} ${(c / writes).toFixed(2)}`) : []).join(", ")} per write`,
        ].join("\n"),
      );
      process.stderr.write(lines.at(-1) + "\n");
      const share = (le: number) => (lag.count ? (lag.buckets.get(le) ?? 0) / lag.count : 1);
      results.push({ n, rate, within250: share(0.25), within1s: share(1), p99: percentile(sorted, 99) });
    }
  } finally {
    if (serve && serve.exitCode === null) {
      const exited = new Promise((r) => serve?.once("exit", r));
      serve.kill("SIGTERM");
      await exited;
    }
    await Promise.allSettled([bao.stop(), moto.stop(), ...proxies.map((p) => p.stop())]);
  }
  return lines;
}


const out: string[] = [];
for (const n of SIZES) out.push(...(await benchSize(n)));
// The knee from the histogram (every write, not a sample): the first rate at which under 99 % of
// writes are within the bound, i.e. the p99 is above it. The read-back's p99 is shown beside it.
const knee = (n: number, over: (r: (typeof results)[number]) => boolean) => {
  const r = results.find((x) => x.n === n && over(x));
  return r ? `at ${r.rate}/s (read-back p99 ${r.p99} ms)` : `above ${Math.max(...RATES)}/s`;
};
for (const n of SIZES) out.push(`knee over ${n} secrets: p99 crosses 250 ms ${knee(n, (r) => r.within250 < 0.99)}, 1 s ${knee(n, (r) => r.within1s < 0.99)}`);
process.stdout.write(`push under sustained load (serve from dist/, audit device, moto)\n${out.join("\n")}\n`);
