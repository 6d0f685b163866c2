// Benchmark (not a test): `secretbridge serve` as a user runs it (the compiled CLI in a child
// process, real OpenBao and moto, 100 secrets) under three kinds of abuse of its audit port, each
// against a fresh child: (a) connections each sending 1 MiB without a newline, (b) forged audit
// lines for paths that do not exist, (c) a storm of connects. For each it prints the child's peak
// RSS (VmHWM) and highest sampled VmRSS, the full syncs it ran, and whether /healthz answered
// every 200 ms probe. The issue's goals: under 200 MB, answering throughout, at most one
// reconnect-triggered full sync per fullSyncMinIntervalSeconds. Loopback only; every loop is
// bounded in count and time.
//   npm run bench:service-abuse -- [--secrets 100] [--connections 400] [--lines 20000] [--scenarios abc] [--max-pending-paths N]
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, repoRoot, startMoto, startOpenBao, type MotoPeer, type OpenBaoPeer } from "../scripts/lib/peers.js";

const { values } = parseArgs({
  options: {
    secrets: { type: "string", default: "100" },
    connections: { type: "string", default: "400" },
    lines: { type: "string", default: "20000" },
    // Which scenarios to run: any of a, b, c.
    scenarios: { type: "string", default: "abc" },
    // service.maxPendingPaths (the service's default when unset).
    "max-pending-paths": { type: "string" },
  },
});
const SECRETS = Number(values.secrets);
const CONNECTIONS = Number(values.connections);
const LINES = Number(values.lines);
const SCENARIOS = values.scenarios;
const MOUNT = "abuse";
const PREFIX = "abuse";
const API_TOKEN = "bench-api-token";
const INTERVAL_SECONDS = 10;
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `serve` in a child process, with its ports, pid and the end of its stderr. */
interface Child {
  proc: ChildProcess;
  pid: number;
  http: string;
  auditPort: number;
  stderr(): string;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

async function startChild(bao: OpenBaoPeer, moto: MotoPeer, dir: string): Promise<Child> {
  const [httpPort, auditPort] = [await freePort(), await freePort()];
  const config = join(dir, `serve-${httpPort}.yaml`);
  writeFileSync(
    config,
    [
      "name: abuse",
      "source:",
      `  address: ${bao.url}`,
      `  mount: ${MOUNT}`,
      "destination:",
      `  prefix: ${PREFIX}`,
      "service:",
      `  listen: 127.0.0.1:${httpPort}`,
      `  auditListen: 127.0.0.1:${auditPort}`,
      `  fullSyncMinIntervalSeconds: ${INTERVAL_SECONDS}`,
      ...(values["max-pending-paths"] ? [`  maxPendingPaths: ${Number(values["max-pending-paths"])}`] : []),
      // Once a year: no scheduled full sync during the benchmark.
      `  schedule: "0 0 1 1 *"`,
    ].join("\n"),
  );
  const proc = spawn(process.execPath, [join(repoRoot, "bin", "secretbridge.js"), "serve", "-c", config], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", ...moto.awsEnv, VAULT_TOKEN: bao.rootToken, SECRETBRIDGE_API_TOKEN: API_TOKEN, SECRETBRIDGE_LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(proc);
  proc.on("exit", () => children.delete(proc));
  let log = "";
  proc.stderr?.on("data", (c: Buffer) => (log = (log + c.toString()).slice(-20_000)));
  const http = `http://127.0.0.1:${httpPort}`;
  const child: Child = {
    proc,
    pid: proc.pid ?? 0,
    http,
    auditPort,
    stderr: () => log,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, "exit");
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`serve exited with ${proc.exitCode}:\n${log}`);
    if (Date.now() > deadline) throw new Error(`serve not ready within 120 s:\n${log}`);
    try {
      if ((await fetch(`${http}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  return child;
}

async function api<T>(child: Child, path: string): Promise<T> {
  const res = await fetch(`${child.http}${path}`, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as T;
}

/** Runs of a kind so far, every outcome (from /metrics: /api/runs keeps only the last ones). */
async function runsOfKind(child: Child, kind: "full" | "targeted"): Promise<number> {
  let total = 0;
  for (const [series, n] of await metrics(child)) if (series.startsWith(`secretbridge_runs_total{kind="${kind}"`)) total += n;
  return total;
}

/** Sums of the samples of each metric (labels kept as written), for the counters we print. */
async function metrics(child: Child): Promise<Map<string, number>> {
  const text = await (await fetch(`${child.http}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** Waits (bounded) until nothing runs or is pending. */
async function quiet(child: Child, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = await api<{ running: boolean; pending: { full: boolean; paths: number } }>(child, "/api/status");
    if (!s.running && !s.pending.full && s.pending.paths === 0) return true;
    await sleep(250);
  }
  return false;
}

function procStatus(pid: number): { rssKb: number; hwmKb: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
    return { rssKb: kb("VmRSS"), hwmKb: kb("VmHWM") };
  } catch {
    return { rssKb: 0, hwmKb: 0 };
  }
}

/** Probes /healthz and samples VmRSS every 200 ms until stopped. */
function monitor(child: Child): { stop(): Promise<{ probes: number; failures: number; maxRssKb: number; hwmKb: number; slowestMs: number }> } {
  let probes = 0;
  let failures = 0;
  let maxRssKb = 0;
  let slowestMs = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      maxRssKb = Math.max(maxRssKb, procStatus(child.pid).rssKb);
      probes += 1;
      try {
        const res = await fetch(`${child.http}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.status !== 200) failures += 1;
        await res.text();
      } catch {
        failures += 1;
      }
      const took = performance.now() - started;
      slowestMs = Math.max(slowestMs, took);
      await sleep(Math.max(0, 200 - took));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { probes, failures, maxRssKb: Math.max(maxRssKb, procStatus(child.pid).rssKb), hwmKb: procStatus(child.pid).hwmKb, slowestMs };
    },
  };
}

/** One TCP connection to the audit port: sends `payload` (if any), holds it `holdMs`, closes. Never rejects. */
function auditConnection(port: number, payload: Buffer | undefined, holdMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, holdMs + 10_000);
    socket.on("error", done);
    socket.on("close", done);
    socket.on("connect", () => {
      if (!payload) return void setTimeout(done, holdMs);
      socket.write(payload, () => void setTimeout(done, holdMs));
    });
  });
}

/** Runs `tasks` with at most `size` at once. */
async function pool<T>(tasks: (() => Promise<T>)[], size: number): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, tasks.length) }, async () => {
      while (next < tasks.length) out.push(await (tasks[next++] as () => Promise<T>)());
    }),
  );
  return out;
}

interface Figures {
  scenario: string;
  load: string;
  loadSeconds: number;
  observedSeconds: number;
  fullSyncs: number;
  targetedRuns: number;
  /** Paths of the targeted runs still in /api/runs (the last ones), largest first. */
  targetedPaths: number[];
  health: { probes: number; failures: number; maxRssKb: number; hwmKb: number; slowestMs: number };
  startHwmKb: number;
  counters: string;
  quiet: boolean;
}

async function scenario(name: string, bao: OpenBaoPeer, moto: MotoPeer, dir: string, load: (child: Child) => Promise<string>): Promise<Figures> {
  const child = await startChild(bao, moto, dir);
  try {
    const startHwmKb = procStatus(child.pid).hwmKb;
    const fullBefore = await runsOfKind(child, "full");
    const targetedBefore = await runsOfKind(child, "targeted");
    const watch = monitor(child);
    const t0 = performance.now();
    const what = await load(child);
    const loadSeconds = (performance.now() - t0) / 1000;
    // A reconnect-triggered full sync may be deferred to the end of the interval: wait it out.
    await sleep(INTERVAL_SECONDS * 1000 + 1000);
    const settled = await quiet(child, 300_000);
    const observedSeconds = (performance.now() - t0) / 1000;
    const health = await watch.stop();
    const fullSyncs = (await runsOfKind(child, "full")) - fullBefore;
    const targetedRuns = (await runsOfKind(child, "targeted")) - targetedBefore;
    const targetedPaths = (await api<{ kind: string; paths?: number }[]>(child, "/api/runs?limit=200"))
      .filter((r) => r.kind === "targeted")
      .map((r) => r.paths ?? 0)
      .sort((a, b) => b - a);
    const m = await metrics(child);
    const audit = (c: string) => m.get(`secretbridge_audit_stream{counter="${c}"}`) ?? 0;
    const counters = [
      `audit lines ${audit("linesSeen")}, changes ${audit("changes")}, dropped too long ${audit("droppedTooLong")}, dropped invalid ${audit("droppedInvalid")}, refused over limit ${audit("refusedOverLimit")}`,
      `full syncs coalesced ${m.get("secretbridge_full_syncs_coalesced_total") ?? 0}, pending overflows ${m.get("secretbridge_pending_overflow_total") ?? 0}`,
    ].join("; ");
    return {
      scenario: name,
      load: what,
      loadSeconds,
      observedSeconds,
      fullSyncs,
      targetedRuns,
      targetedPaths,
      health,
      startHwmKb,
      counters,
      quiet: settled,
    };
  } finally {
    await child.stop();
  }
}

function print(f: Figures): void {
  const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
  const intervals = Math.ceil(f.observedSeconds / INTERVAL_SECONDS);
  process.stdout.write(
    [
      ``,
      `## ${f.scenario}`,
      `load                 ${f.load} in ${f.loadSeconds.toFixed(1)} s (observed ${f.observedSeconds.toFixed(1)} s in all, ${intervals} intervals of ${INTERVAL_SECONDS} s)`,
      `memory               peak RSS (VmHWM) ${mb(f.health.hwmKb)} (after startup ${mb(f.startHwmKb)}); highest sampled VmRSS ${mb(f.health.maxRssKb)}`,
      `full syncs           ${f.fullSyncs} after the startup one; targeted runs ${f.targetedRuns}${f.targetedPaths.length ? ` (paths: ${f.targetedPaths.slice(0, 10).join(", ")})` : ""}${f.quiet ? "" : " (still busy when the wait ended)"}`,
      `/healthz             ${f.health.probes - f.health.failures} of ${f.health.probes} probes answered 200 (slowest ${f.health.slowestMs.toFixed(0)} ms)`,
      `counters             ${f.counters}`,
    ].join("\n") + "\n",
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sb-abuse-"));
  const [bao, moto] = await Promise.all([startOpenBao(), startMoto()]);
  try {
    await bao.mountKv(MOUNT);
    for (let i = 0; i < SECRETS; i++) await bao.api("POST", `${MOUNT}/data/app/s${i}`, { data: { v: `value-${i}` } });
    process.stdout.write(`service abuse: \`secretbridge serve\` (compiled CLI, child process) over ${SECRETS} secrets; fullSyncMinIntervalSeconds ${INTERVAL_SECONDS}, maxPendingPaths ${values["max-pending-paths"] ?? "10000 (default)"}, audit connection cap 8 (default), line cap 1 MiB (default)\n`);

    if (SCENARIOS.includes("a")) print(
      await scenario(`(a) ${CONNECTIONS} connections each sending 1 MiB without a newline`, bao, moto, dir, async (child) => {
        const payload = Buffer.alloc(MiB, 0x78);
        await pool(
          Array.from({ length: CONNECTIONS }, () => () => auditConnection(child.auditPort, payload, 500)),
          50,
        );
        return `${CONNECTIONS} connections, 50 at a time, each held 0.5 s after writing its MiB`;
      }),
    );

    if (SCENARIOS.includes("b")) print(
      await scenario(`(b) ${LINES} forged audit lines (valid responses on the replicated mount, paths that do not exist)`, bao, moto, dir, async (child) => {
        // The streams connect first and their reconnect full sync is let finish, so the lines meet
        // the targeted path (pending paths, their cap) rather than a full sync already pending.
        const streams = 4;
        const sockets = await Promise.all(
          Array.from({ length: streams }, () => {
            const socket = connect(child.auditPort, "127.0.0.1");
            socket.on("error", () => undefined);
            return once(socket, "connect", { signal: AbortSignal.timeout(10_000) }).then(() => socket);
          }),
        );
        await sleep(500);
        await quiet(child, 120_000);
        const perStream = Math.ceil(LINES / streams);
        await Promise.all(
          sockets.map((socket, s) => {
            const lines: string[] = [];
            for (let i = s * perStream; i < Math.min(LINES, (s + 1) * perStream); i++) {
              lines.push(JSON.stringify({ type: "response", request: { operation: "update", path: `${MOUNT}/data/forged/n${i}`, mount_point: `${MOUNT}/` }, response: {} }));
            }
            return new Promise<void>((resolve) => socket.write(lines.join("\n") + "\n", () => resolve()));
          }),
        );
        await sleep(1000);
        for (const socket of sockets) socket.destroy();
        return `${LINES} lines over ${streams} connections`;
      }),
    );

    if (SCENARIOS.includes("c")) print(
      await scenario(`(c) ${CONNECTIONS} connects (open and close) in 20 s`, bao, moto, dir, async (child) => {
        const gap = 20_000 / CONNECTIONS;
        const t0 = performance.now();
        const pending: Promise<void>[] = [];
        for (let i = 0; i < CONNECTIONS; i++) {
          await sleep(Math.max(0, t0 + i * gap - performance.now()));
          pending.push(auditConnection(child.auditPort, undefined, 0));
        }
        await Promise.all(pending);
        return `${CONNECTIONS} connects, one every ${gap.toFixed(0)} ms`;
      }),
    );
  } finally {
    await Promise.allSettled([bao.stop(), moto.stop()]);
  }
}

await main();
