// Benchmark (not a test): seeds N secrets in a real OpenBao, then runs an initial sync, a
// no-change sync and a sync with 1% changed into a real moto, each in its own process, and prints
// wall time, throughput, time by phase, API calls by type and status on both sides, peak RSS and
// CPU time of the sync process; last, one secret removed from the source and a sync with the
// deletion strategy `delete`, to show what one deletion costs.
//   npm run bench -- --n 1000 [--destination secrets-manager|ssm] [--unlimited | --write-rate 50] [--listing scan|list|vault] [--concurrency 8] [--moto plain|indexed] [--profile]
//   npm run bench:scale  (100,000 secrets, writes capped at AWS's 50/s quota; takes about an hour)
//   npm run bench -- --n 10000 --listing vault --vault-latency-ms 5 --source-concurrency 8,32,64 --runs 3 --no-change-only
//   npm run bench -- --n 100000 --unlimited --concurrency 16 --moto indexed [--node-flags "--heap-growing-percent=0"]
// --aws-latency-ms / --vault-latency-ms put a proxy before moto / OpenBao that adds that many ms
// to every answer (scripts/lib/latency-proxy.ts); --source-concurrency is the config's
// `source.concurrency` (a list runs the no-change sync at each); --aws-listing picks the
// destination's ListSecrets paging (partitioned, the default, or sequential).
// --unlimited lifts the client-side write rate limit (default 40/s, under AWS's 50/s quota) to
// show the throughput of our code and the peers rather than of the limiter. --destination ssm
// syncs into Parameter Store instead (its rate limits default to the provider's, a few writes per
// second, as AWS's default throughput allows).
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import pLimit from "p-limit";
import { startLatencyProxy, type LatencyProxy } from "../scripts/lib/latency-proxy.js";
import { repoRoot, startMoto, startOpenBao } from "../scripts/lib/peers.js";
import { cpuByOwner } from "./cpu-profile.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "1000" },
    unlimited: { type: "boolean", default: false },
    listing: { type: "string", default: "scan" },
    concurrency: { type: "string", default: "8" },
    destination: { type: "string", default: "secrets-manager" },
    "write-rate": { type: "string" },
    // plain: moto as released; indexed: scripts/moto_indexed_server.py (same moto, store costs
    // that do not grow with the number of secrets), for runs of 100,000.
    moto: { type: "string", default: "plain" },
    // Profile each sync's CPU (node --cpu-prof) and print where it went, by package and folder.
    profile: { type: "boolean", default: false },
    "aws-latency-ms": { type: "string" },
    "vault-latency-ms": { type: "string" },
    "source-concurrency": { type: "string", default: "16" },
    "aws-listing": { type: "string", default: "partitioned" },
    // No-change syncs per source concurrency (medians are printed when more than one).
    runs: { type: "string", default: "1" },
    // Stop after the no-change syncs (skip the 1% changed and deletion runs).
    "no-change-only": { type: "boolean", default: false },
    // Bound each sync's V8 old generation (node --max-old-space-size).
    "max-old-space-mb": { type: "string" },
    // More node flags for each sync process, space-separated: "--heap-growing-percent=0" shows
    // V8's own heap growth instead of the bound every entry point sets (src/runtime/heap.ts).
    "node-flags": { type: "string" },
  },
});
const sourceConcurrencies = (values["source-concurrency"] ?? "16").split(",").map(Number);
const N = Number(values.n);
if (values.destination !== "secrets-manager" && values.destination !== "ssm") {
  process.stderr.write(`bench: --destination must be secrets-manager or ssm, not ${values.destination}\n`);
  process.exit(2);
}
const ssm = values.destination === "ssm";
const mount = "bench";
const run = promisify(execFile);

interface ChildResult {
  exitCode: number;
  counts: Record<string, number>;
  timings: Record<string, number>;
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  maxRssKb: number;
  calls: Record<string, number>;
  failures: string[];
  maxWritesPerSecond: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function print(label: string, r: ChildResult): void {
  const wall = r.wallMs / 1000;
  const c = r.counts;
  const cpu = (r.cpuUserMs + r.cpuSystemMs) / 1000;
  process.stdout.write(
    [
      ``,
      `## ${label} (${ssm ? "Parameter Store" : "Secrets Manager"}, N=${N}, sync concurrency ${values.concurrency}, write limit ${values["write-rate"] ? `${values["write-rate"]}/s` : values.unlimited ? "lifted" : ssm ? "the provider's defaults" : "40/s"})`,
      `result               exit ${r.exitCode}; created ${c.create}, updated ${c.update}, unchanged ${c.unchanged}, deleted ${c.delete}, failed ${c.failed}`,
      `wall time            ${wall.toFixed(2)} s`,
      `throughput           ${(N / wall).toFixed(0)} secrets/s listed and planned; ${((c.create! + c.update!) / wall).toFixed(1)} writes/s`,
      `time by phase        validate ${r.timings.validateMs} ms, inventory ${r.timings.inventoryMs} ms, plan ${r.timings.planMs} ms, apply ${r.timings.applyMs} ms`,
      `sync process CPU     ${cpu.toFixed(2)} s (user ${(r.cpuUserMs / 1000).toFixed(2)} + system ${(r.cpuSystemMs / 1000).toFixed(2)}) = ${((cpu / wall) * 100).toFixed(0)}% of wall`,
      `sync process RSS     peak ${(r.maxRssKb / 1024).toFixed(0)} MB`,
      `value reads          source ${sumCalls(r.calls, /^vault read-data /)}, destination ${sumCalls(r.calls, /^(aws (GetSecretValue|BatchGetSecretValue)|ssm GetParameters) /)}; writes ${sumCalls(r.calls, WRITES)}`,
      `write attempts       at most ${r.maxWritesPerSecond} in any 1 s window; throttling errors: ${Object.entries(r.calls).filter(([k]) => / (400|ThrottlingException)$/.test(k)).reduce((n, [, v]) => n + v, 0)}`,
      `API calls (op status count):`,
      ...Object.entries(r.calls).map(([k, v]) => `  ${k.padEnd(44)} ${v}`),
      ...(r.failures.length ? [`failures: ${r.failures.join(" | ")}`] : []),
    ].join("\n") + "\n",
  );
}

/** Calls of every write operation, both destinations: what a no-change run must not make. */
const WRITES = /^(aws (CreateSecret|PutSecretValue|UpdateSecret|TagResource|UntagResource|DeleteSecret|RestoreSecret)|ssm (PutParameter|AddTagsToResource|RemoveTagsFromResource|DeleteParameter|LabelParameterVersion)) /;

function sumCalls(calls: Record<string, number>, op: RegExp): number {
  return Object.entries(calls)
    .filter(([k]) => op.test(k))
    .reduce((n, [, v]) => n + v, 0);
}

function printProfile(owners: { owner: string; ms: number }[]): void {
  const total = owners.reduce((n, o) => n + o.ms, 0);
  const lines = owners.slice(0, 12).map((o) => `  ${o.owner.padEnd(44)} ${(o.ms / 1000).toFixed(2).padStart(7)} s  ${((o.ms / total) * 100).toFixed(1).padStart(5)}%`);
  const ours = owners.filter((o) => o.owner.startsWith("secretbridge ")).reduce((n, o) => n + o.ms, 0);
  const summary = `  (secretbridge's own code, all folders: ${((ours / total) * 100).toFixed(1)}%)`;
  process.stdout.write([`CPU by owner (self time, idle excluded; ${(total / 1000).toFixed(2)} s sampled):`, ...lines, summary].join("\n") + "\n");
}

async function main(): Promise<void> {
  const [bao, moto] = await Promise.all([startOpenBao(), startMoto({ indexedStore: values.moto === "indexed" })]);
  const proxies: LatencyProxy[] = [];
  const behind = async (url: string, ms: string | undefined) => {
    if (ms === undefined) return url;
    const proxy = await startLatencyProxy({ target: url, latencyMs: Number(ms) });
    proxies.push(proxy);
    return proxy.url;
  };
  try {
    await bao.mountKv(mount);
    const limit = pLimit(32);
    const seedStart = performance.now();
    // Nested like a real tree: 10 teams x 10 services x N/100 secrets each.
    const paths = Array.from({ length: N }, (_, i) => `team-${i % 10}/svc-${Math.floor(i / 10) % 10}/shard-${Math.floor(i / 1000)}/secret-${i}`);
    const write = (p: string, i: number, round: number) =>
      bao.api("POST", `${mount}/data/${p}`, { data: { username: `user-${i}`, password: `pw-${round}-${i}-${"x".repeat(32)}` } });
    await Promise.all(paths.map((p, i) => limit(() => write(p, i, 1))));
    const policy = [
      `path "${mount}/*" { capabilities = ["read", "list"] }`,
      values.listing === "scan" ? `path "${mount}/detailed-metadata/*" { capabilities = ["read", "list", "scan"] }` : "",
      values.listing === "vault" ? `path "${mount}/detailed-metadata/*" { capabilities = ["deny"] }` : "",
    ].join("\n");
    await bao.api("PUT", "sys/policies/acl/bench-ro", { policy });
    const tokenRes = await bao.api("POST", "auth/token/create", { policies: ["bench-ro"], ttl: "4h" });
    const token = (tokenRes.json as { auth: { client_token: string } }).auth.client_token;
    process.stdout.write(`seeded ${N} secrets in OpenBao in ${((performance.now() - seedStart) / 1000).toFixed(1)} s; listing: ${values.listing}; moto: ${values.moto}\n`);

    const child = join(repoRoot, "dist", "bench", "sync-child.js");
    const arg = JSON.stringify({
      baoUrl: await behind(bao.url, values["vault-latency-ms"]),
      motoUrl: await behind(moto.url, values["aws-latency-ms"]),
      token,
      mount,
      concurrency: Number(values.concurrency),
      sourceConcurrency: sourceConcurrencies[0],
      awsListing: values["aws-listing"],
      unlimited: values.unlimited,
      destination: values.destination,
      ...(values["write-rate"] ? { writeRate: Number(values["write-rate"]) } : {}),
    });
    const once = async (label: string, policies?: Record<string, unknown>, sourceConcurrency?: number): Promise<ChildResult> => {
      const profileDir = values.profile ? mkdtempSync(join(tmpdir(), "sb-cpu-")) : undefined;
      const childArg = JSON.stringify({ ...(JSON.parse(arg) as object), ...(policies ? { policies } : {}), ...(sourceConcurrency ? { sourceConcurrency } : {}) });
      const heapBound = [...(values["max-old-space-mb"] ? [`--max-old-space-size=${values["max-old-space-mb"]}`] : []), ...(values["node-flags"]?.split(" ").filter(Boolean) ?? [])];
      const { stdout } = await run(process.execPath, [...heapBound, ...(profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : []), child, childArg], {
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
        maxBuffer: 16 * 1024 * 1024,
      });
      const result = JSON.parse(stdout) as ChildResult;
      print(label, result);
      if (profileDir) {
        const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
        if (file) printProfile(cpuByOwner(join(profileDir, file)));
        rmSync(profileDir, { recursive: true, force: true });
      }
      return result;
    };
    // moto answers some requests with HTTP 500 under load (see "moto at 100,000"): writes that
    // failed are made by further runs, so the no-change run below really has nothing to do.
    let initial = await once("initial sync");
    for (let again = 1; initial.counts.failed && again <= 3; again++) initial = await once(`initial sync, run ${again + 1} (${initial.counts.failed} failed before)`);
    const runs = Number(values.runs);
    for (const sourceConcurrency of sourceConcurrencies) {
      const walls: number[] = [];
      for (let run = 1; run <= runs; run++) {
        const r = await once(`no-change sync, source concurrency ${sourceConcurrency}${runs > 1 ? `, run ${run} of ${runs}` : ""}`, undefined, sourceConcurrency);
        walls.push(r.wallMs);
      }
      if (runs > 1) process.stdout.write(`
no-change sync at source concurrency ${sourceConcurrency}: median wall ${(median(walls) / 1000).toFixed(2)} s of ${runs} (${walls.map((w) => (w / 1000).toFixed(2)).join(", ")})
`);
    }
    if (values["no-change-only"]) return;
    const changed = paths.filter((_, i) => i % 100 === 0);
    await Promise.all(changed.map((p) => limit(() => write(p, paths.indexOf(p), 2))));
    await once(`sync with 1% changed (${changed.length} secrets)`);
    await bao.api("DELETE", `${mount}/metadata/${paths[1] ?? ""}`);
    await once("sync with 1 secret removed from the source (deletion: delete)", { deletion: { strategy: "delete" } });
  } finally {
    await Promise.allSettled([...proxies.map((p) => p.stop()), bao.stop(), moto.stop()]);
  }
}

await main();
