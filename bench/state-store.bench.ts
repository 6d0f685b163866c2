// Benchmark (not a test): the service's state store with 100,000 secrets, on disk and in memory.
// Prints the time of the batch upsert and of each kind of status-page query, with RSS and heap after
// each, so "a query holds one page" can be checked in figures. On disk, the queries run in a fresh
// process that opens the store the first one wrote: the figures of a service after a restart.
//   node --expose-gc --import tsx bench/state-store.bench.ts [--n 100000] [--memory]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { SecretQuery, SecretState, SecretStatus } from "../src/runtime/service/control.js";
import { StateStore } from "../src/runtime/service/state-store.js";

const { values } = parseArgs({ options: { n: { type: "string", default: "100000" }, memory: { type: "boolean", default: false }, "query-dir": { type: "string" } } });
const N = Number(values.n);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

function mem(): string {
  gc();
  const m = process.memoryUsage();
  return `rss ${mb(m.rss)}, heap ${mb(m.heapUsed)}`;
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const rssBefore = process.memoryUsage().rss;
  const t = performance.now();
  const result = await fn();
  const ms = performance.now() - t;
  const peak = process.memoryUsage().rss;
  process.stdout.write(`${label.padEnd(50)} ${ms.toFixed(0).padStart(6)} ms   (rss +${mb(peak - rssBefore)} during; after: ${mem()})\n`);
  return result;
}

function row(i: number): SecretStatus {
  const state: SecretState = i % 100 === 0 ? "failed" : i % 997 === 0 ? "drifted" : "in-sync";
  return {
    name: `hybrid-aws-secrets/team-${i % 40}/service-${i % 700}/secret-${String(i).padStart(6, "0")}`,
    path: `team-${i % 40}/service-${i % 700}/secret-${i}`,
    mapping: "source",
    state,
    version: String(1 + (i % 9)),
    ...(state === "failed" ? { errorClass: "permission-denied" as const, message: "the writer role may not call secretsmanager:TagResource on this secret" } : {}),
    updatedAt: new Date(1_900_000_000_000 + i).toISOString(),
  };
}

async function main(): Promise<void> {
  const queryDir = values["query-dir"];
  if (queryDir) return queries(queryDir);
  const dir = values.memory ? undefined : mkdtempSync(join(tmpdir(), "sb-state-bench-"));
  process.stdout.write(`state store, ${N} secrets, ${dir ? `LevelDB in ${dir}` : "in memory"}, Node ${process.version}\nstart: ${mem()}\n`);
  const store = await StateStore.open(dir);
  const rows = Array.from({ length: N }, (_, i) => row(i));
  await timed(`upsert ${N} rows (one batch)`, () => store.upsertSecrets(rows));
  rows.length = 0;
  await timed("upsert the same rows again (no change)", () => store.upsertSecrets(Array.from({ length: N }, (_, i) => row(i))));
  await store.upsertSecrets(Array.from({ length: 1000 }, (_, i) => row(N + i)));
  await timed(`replace with the ${N} rows (1,000 others go)`, () => store.replaceSecrets(Array.from({ length: N }, (_, i) => row(i))));
  if (!dir) return queries(undefined, store);
  await store.close();
  process.stdout.write("-- a new process opens the store (a restart) --\n");
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1] as string, "--n", String(N), "--query-dir", dir], { stdio: "inherit" });
  rmSync(dir, { recursive: true, force: true });
  if (child.status !== 0) process.exitCode = 1;
}

async function queries(dir: string | undefined, opened?: StateStore): Promise<void> {
  if (!opened) process.stdout.write(`start: ${mem()}\n`);
  const store = opened ?? (await timed("open (counts from a full scan)", () => StateStore.open(dir)));
  const list: [string, SecretQuery][] = [
    ["page 1 of 100, no filter", { page: 1, pageSize: 100 }],
    ["last page of 100, no filter", { page: Math.ceil(N / 100), pageSize: 100 }],
    ["state=failed, page 1", { page: 1, pageSize: 100, state: "failed" }],
    ['filter "service-42/", page 2', { page: 2, pageSize: 100, filter: "service-42/" }],
    ['filter "SECRET-0999" (few matches)', { page: 1, pageSize: 100, filter: "SECRET-0999" }],
    ['filter "team-20/", state=failed', { page: 1, pageSize: 100, filter: "team-20/", state: "failed" }],
  ];
  for (const [label, query] of list) {
    const page = await timed(label, () => store.secrets(query));
    process.stdout.write(`${"".padEnd(50)} total ${page.total}, items ${page.items.length}\n`);
  }
  await timed("10 filtered queries at once", () => Promise.all(Array.from({ length: 10 }, () => store.secrets({ page: 1, pageSize: 100, filter: "service-1" }))));
  process.stdout.write(`counts: ${JSON.stringify(store.counts())}\n`);
  await store.close();
}

await main();
