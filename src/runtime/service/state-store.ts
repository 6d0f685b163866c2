// What `secretbridge serve` remembers across restarts: the last runs, each secret's state, the
// held deletions and the recent deletions without a recovery window, each per target, in an
// embedded LevelDB under `service.stateDir` (in memory when unset). Pages and filters are computed
// here by streaming over the store, so a query holds one page, never a copy of every secret.
//
// Why classic-level (LevelDB, from the Level project): its npm tarball carries N-API prebuilds
// (linux x64 glibc and musl among them), so `npm install` needs neither GitHub nor a compiler, even
// with install scripts off, and one binary loads on Node 20, 22 and 24; a batch is atomic behind a
// write-ahead log (SIGKILL mid-write leaves the previous batch, never half of one); keys are
// ordered, so "by name" is the storage order. Tried and rejected: better-sqlite3 12 downloads its
// binary from GitHub or compiles, 13 needs Node 22; node:sqlite needs Node 22.5; lmdb's
// transaction() never settled here on any of the three Nodes; sql.js keeps the whole database in
// memory and rewrites the whole file on each save. classic-level is imported only when `open` gets
// a directory, so the CLI's other commands and the Lambda bundle never load a native module.
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ClassicLevel } from "classic-level";
import { SyncError } from "../../core/errors.js";
import { DEFAULT_TARGET } from "../../core/model.js";
import type { HeldDeletions, Page, RunKind, RunStatus, SecretQuery, SecretState, SecretStatus } from "./control.js";

/**
 * Runs kept of each kind (full, targeted), newest first; older ones are deleted as new ones of
 * their kind arrive, so a flood of pushed runs never pushes the last full runs out.
 */
export const RUNS_KEPT = 200;
/** Failures kept per run (the rest are in the run's log and notification). */
export const RUN_FAILURES_KEPT = 50;
/** The LevelDB directory inside `service.stateDir`. */
export const STORE_SUBDIR = "leveldb";
/**
 * Format 2 keys secrets, held sets and deletions by (target, name); format 1 (releases before
 * targets in `serve`) by name alone. A format 1 store is rewritten as the default target's on open.
 */
const FORMAT = "2";
const FORMAT_BY_NAME = "1";

// Keys: `s!<target>NUL<name>` a SecretStatus, `r!<16-digit sequence>` a RunStatus, `h!<target>` a
// held set, `f` the format, `x!<target>NUL<name>` a deletion without a recovery window ({mapping,
// at}). No target or destination name holds NUL, so the target ends where NUL is.
const SEP = "\u0000";
const secretKey = (target: string, name: string) => `s!${target}${SEP}${name}`;
const forcedKey = (target: string, name: string) => `x!${target}${SEP}${name}`;
const heldKey = (target: string) => `h!${target}`;
const runKey = (seq: number) => `r!${String(seq).padStart(16, "0")}`;
/** The target and the name of a secret or deletion key. */
const splitKey = (key: string): [target: string, name: string] => {
  const at = key.indexOf(SEP);
  return [key.slice(2, at), key.slice(at + 1)];
};
// '"' is the character after '!' and \u0001 the one after NUL: [x!, x") is every key of that kind,
// whatever the name holds, and [s!<target>NUL, s!<target>\u0001) every secret of one target.
const SECRETS = { gte: "s!", lt: 's"' };
const secretsOf = (target: string | undefined) => (target === undefined ? SECRETS : { gte: `s!${target}${SEP}`, lt: `s!${target}\u0001` });
const RUNS = { gte: "r!", lt: 'r"' };
const FORCED = { gte: "x!", lt: 'x"' };
const HELD = { gte: "h!", lt: 'h"' };
/** Format 1's one held set (the default target's). */
const HELD_BY_NAME = "h";
const FORMAT_KEY = "f";

const STATES: readonly SecretState[] = ["in-sync", "pending", "failed", "drifted", "conflict", "held"];

export class StateStore {
  private readonly lock = new ReadWriteLock();
  private readonly recent: { seq: number; run: RunStatus }[];
  private closed = false;

  private constructor(
    private readonly kv: Kv,
    /** The state directory, for messages; undefined in memory. */
    readonly dir: string | undefined,
    /** Secrets in each state, by target. */
    private readonly tally: Map<string, Record<SecretState, number>>,
    recent: { seq: number; run: RunStatus }[],
    /** Held sets by target. */
    private readonly heldSets: Map<string, HeldDeletions>,
    /** Deletions without a recovery window, by target and name: the destination lists them no more. */
    private readonly forced: Map<string, Map<string, ForceDeleted>>,
  ) {
    this.recent = recent;
  }

  /**
   * Opens (creating it if needed) the store under `dir`, or an empty in-memory one when `dir` is
   * undefined. A directory that cannot be used (not a directory, locked by another process,
   * corrupted, not written by secretbridge) rejects with a config-invalid SyncError naming it.
   */
  static async open(dir: string | undefined): Promise<StateStore> {
    if (dir === undefined) return StateStore.load(new MemoryKv(), undefined);
    let kv: Kv;
    try {
      await mkdir(resolve(dir), { recursive: true, mode: 0o700 });
      const { ClassicLevel } = await import("classic-level");
      const db = new ClassicLevel<string, string>(join(resolve(dir), STORE_SUBDIR), { keyEncoding: "utf8", valueEncoding: "utf8" });
      await db.open();
      kv = new LevelKv(db);
    } catch (error) {
      throw unusable(dir, error);
    }
    try {
      return await StateStore.load(kv, dir);
    } catch (error) {
      await kv.close().catch(() => undefined);
      throw unusable(dir, error);
    }
  }

  /** Reads the format, the counts (a full scan, which also finds corruption now rather than in a query), the runs and the held sets. */
  private static async load(kv: Kv, dir: string | undefined): Promise<StateStore> {
    const [format] = await kv.get([FORMAT_KEY]);
    if (format !== undefined && format !== FORMAT && format !== FORMAT_BY_NAME) throw new StoreFormatError(`it is in format ${format}, this secretbridge reads format ${FORMAT} (written by a newer release?)`);
    if (format === FORMAT_BY_NAME) await migrateByName(kv);
    const tally = new Map<string, Record<SecretState, number>>();
    let any = false;
    for await (const chunk of kv.chunks(SECRETS, true)) {
      for (const [key, raw] of chunk) {
        countOf(tally, splitKey(key)[0])[parseSecret(raw).state]++;
        any = true;
      }
    }
    const runs: { seq: number; run: RunStatus }[] = [];
    const stale: KvOp[] = [];
    const perKind = new Map<string, number>();
    for await (const chunk of kv.chunks({ ...RUNS, reverse: true }, true)) {
      for (const [key, raw] of chunk) {
        const run = parseJson(raw, "run") as RunStatus;
        const seen = perKind.get(runGroup(run)) ?? 0;
        perKind.set(runGroup(run), seen + 1);
        if (seen < RUNS_KEPT) runs.push({ seq: Number(key.slice(2)), run });
        else stale.push({ type: "del", key });
      }
    }
    const heldSets = new Map<string, HeldDeletions>();
    for await (const chunk of kv.chunks(HELD, true)) {
      for (const [key, raw] of chunk) heldSets.set(key.slice(2), parseJson(raw, "held deletions") as HeldDeletions);
    }
    if (format === undefined && (any || runs.length > 0 || heldSets.size > 0)) throw new StoreFormatError("it holds data but no secretbridge format marker: not a secretbridge state store");
    const fixes: KvOp[] = [...stale, ...(format !== FORMAT ? [{ type: "put" as const, key: FORMAT_KEY, value: FORMAT }] : [])];
    if (fixes.length > 0) await kv.write(fixes);
    const forced = new Map<string, Map<string, ForceDeleted>>();
    for await (const chunk of kv.chunks(FORCED, true)) {
      for (const [key, raw] of chunk) {
        const [target, name] = splitKey(key);
        forced.set(target, (forced.get(target) ?? new Map()).set(name, parseJson(raw, "deletion") as ForceDeleted));
      }
    }
    return new StateStore(kv, dir, tally, runs, heldSets, forced);
  }

  /**
   * Remembers a target's deletions made without a recovery window (the destination no longer lists
   * them, so the blast-radius guard cannot see them there), and forgets those older than `keepMs`.
   */
  async recordForceDeleted(deleted: { name: string; mapping: string; at: string }[], keepMs: number, now: Date, target = DEFAULT_TARGET): Promise<void> {
    await this.lock.exclusive(async () => {
      this.assertOpen();
      const ops: KvOp[] = [];
      const mine = this.forced.get(target) ?? new Map<string, ForceDeleted>();
      for (const [name, d] of mine) {
        if (now.getTime() - Date.parse(d.at) >= keepMs) {
          ops.push({ type: "del", key: forcedKey(target, name) });
          mine.delete(name);
        }
      }
      for (const { name, mapping, at } of deleted) {
        ops.push({ type: "put", key: forcedKey(target, name), value: JSON.stringify({ mapping, at }) });
        mine.set(name, { mapping, at });
      }
      if (mine.size > 0) this.forced.set(target, mine);
      else this.forced.delete(target);
      if (ops.length > 0) await this.kv.write(ops);
    });
  }

  /** A target's remembered deletions without a recovery window, by mapping label. */
  forceDeleted(target = DEFAULT_TARGET): Map<string, { name: string; at: Date }[]> {
    const out = new Map<string, { name: string; at: Date }[]>();
    for (const [name, { mapping, at }] of this.forced.get(target) ?? []) out.set(mapping, [...(out.get(mapping) ?? []), { name, at: new Date(at) }]);
    return out;
  }

  /** Adds a run as the newest; the oldest of its kind and target beyond RUNS_KEPT is deleted in the same batch. */
  async recordRun(run: RunStatus): Promise<void> {
    const stored: RunStatus = { ...run, failures: run.failures.slice(0, RUN_FAILURES_KEPT) };
    await this.lock.exclusive(async () => {
      this.assertOpen();
      const seq = (this.recent[0]?.seq ?? 0) + 1;
      const dropped = new Set(this.recent.filter((r) => runGroup(r.run) === runGroup(run)).slice(RUNS_KEPT - 1));
      await this.kv.write([{ type: "put", key: runKey(seq), value: JSON.stringify(stored) }, ...[...dropped].map((d) => ({ type: "del" as const, key: runKey(d.seq) }))]);
      if (dropped.size > 0) this.recent.splice(0, this.recent.length, ...this.recent.filter((r) => !dropped.has(r)));
      this.recent.unshift({ seq, run: stored });
    });
  }

  /**
   * Writes these rows of a target in one atomic batch (the last row wins for a name given twice).
   * A row equal to the stored one but for `updatedAt` is left alone: `updatedAt` says when the row
   * last changed, and a full sync that changed nothing writes nothing.
   */
  async upsertSecrets(rows: SecretStatus[], target = DEFAULT_TARGET): Promise<void> {
    await this.writeRows(rows, target, false);
  }

  /**
   * Like upsertSecrets for one target's rows, and every stored row of that target not among these
   * goes in the same batch: for a full run that saw every secret of the target's current mappings
   * (no fatal error, no inventory problem), so names from a renamed prefix or a removed mapping do
   * not linger as phantom rows. Other targets' rows are not touched.
   */
  async replaceSecrets(rows: SecretStatus[], target = DEFAULT_TARGET): Promise<void> {
    await this.writeRows(rows, target, true);
  }

  private async writeRows(rows: SecretStatus[], target: string, replace: boolean): Promise<void> {
    const byKey = new Map(rows.map((r) => [secretKey(target, r.name), JSON.stringify(plainRow(r))]));
    if (byKey.size === 0 && !replace) return;
    await this.lock.exclusive(async () => {
      this.assertOpen();
      const delta = emptyCounts();
      const ops: KvOp[] = [];
      if (replace) {
        for await (const chunk of this.kv.chunks(secretsOf(target), true)) {
          for (const [key, raw] of chunk) {
            if (byKey.has(key)) continue;
            delta[parseSecret(raw).state]--;
            ops.push({ type: "del", key });
          }
        }
      }
      const keys = [...byKey.keys()];
      const before = await this.kv.get(keys);
      keys.forEach((key, i) => {
        const raw = byKey.get(key) as string;
        const old = before[i] === undefined ? undefined : parseSecret(before[i]);
        const row = JSON.parse(raw) as SecretStatus;
        if (old && sameExceptTime(old, row)) return;
        if (old) delta[old.state]--;
        delta[row.state]++;
        ops.push({ type: "put", key, value: raw });
      });
      if (ops.length > 0) await this.kv.write(ops);
      this.addCounts(target, delta);
    });
  }

  /** Forgets these names of a target (deleted at the destination, or no longer in any mapping). */
  async removeSecrets(names: string[], target = DEFAULT_TARGET): Promise<void> {
    const keys = [...new Set(names)].map((name) => secretKey(target, name));
    if (keys.length === 0) return;
    await this.lock.exclusive(async () => {
      this.assertOpen();
      const before = await this.kv.get(keys);
      const delta = emptyCounts();
      const ops: KvOp[] = [];
      keys.forEach((key, i) => {
        if (before[i] === undefined) return;
        delta[parseSecret(before[i]).state]--;
        ops.push({ type: "del", key });
      });
      if (ops.length > 0) await this.kv.write(ops);
      this.addCounts(target, delta);
    });
  }

  /**
   * One page of secrets ordered by target, then name: `target` one target's only, `filter` a
   * case-insensitive substring of the name or the path, `state` an exact state. Memory holds the
   * page only; a filtered query reads every row (of the target) once.
   */
  async secrets(query: SecretQuery): Promise<Page<SecretStatus>> {
    const page = Number.isFinite(query.page) ? Math.max(1, Math.floor(query.page)) : 1;
    const pageSize = Number.isFinite(query.pageSize) ? Math.min(500, Math.max(1, Math.floor(query.pageSize))) : 100;
    const offset = (page - 1) * pageSize;
    const needle = (query.filter ?? "").toLowerCase();
    const state = query.state;
    const range = secretsOf(query.target);
    return this.lock.shared(async () => {
      this.assertOpen();
      if (needle === "" && state === undefined) {
        // No predicate: the total is known, and rows before the page are skipped by key alone.
        const keys: string[] = [];
        let seen = 0;
        outer: for await (const chunk of this.kv.chunks(range, false)) {
          for (const [key] of chunk) {
            if (seen++ < offset) continue;
            keys.push(key);
            if (keys.length === pageSize) break outer;
          }
        }
        const items = (await this.kv.get(keys)).flatMap((raw) => (raw === undefined ? [] : [parseSecret(raw)]));
        return { items, total: this.total(query.target), page, pageSize };
      }
      // Cheap tests on the stored text first, the exact test on the parsed row after. The text test
      // may only be used where it cannot miss: JSON escapes nothing in printable ASCII but " and \.
      const stateText = state === undefined ? undefined : `"state":${JSON.stringify(state)}`;
      const textNeedle = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/.test(needle) ? needle : undefined;
      const items: SecretStatus[] = [];
      let total = 0;
      for await (const chunk of this.kv.chunks(range, true)) {
        for (const [, raw] of chunk) {
          if (stateText !== undefined && !raw.includes(stateText)) continue;
          if (textNeedle !== undefined && !raw.toLowerCase().includes(textNeedle)) continue;
          const row = parseSecret(raw);
          if (state !== undefined && row.state !== state) continue;
          if (needle !== "" && !row.name.toLowerCase().includes(needle) && !row.path.toLowerCase().includes(needle)) continue;
          if (total >= offset && items.length < pageSize) items.push(row);
          total++;
        }
      }
      return { items, total, page, pageSize };
    });
  }

  /** How many secrets are in each state, of one target or of all (kept as rows change, no query). */
  counts(target?: string): Record<SecretState, number> {
    const sum = emptyCounts();
    for (const [t, counts] of this.tally) {
      if (target !== undefined && t !== target) continue;
      for (const s of STATES) sum[s] += counts[s];
    }
    return sum;
  }

  /** The last `limit` runs, newest first, of one kind and one target when asked (at most RUNS_KEPT of each kind per target). */
  runs(limit: number, kind?: RunKind, target?: string): RunStatus[] {
    const runs = this.recent.filter((r) => (!kind || r.run.kind === kind) && (target === undefined || targetOf(r.run) === target));
    return runs.slice(0, Math.max(0, limit)).map((r) => r.run);
  }

  /** Replaces a target's held set (undefined: nothing is held). */
  async setHeld(held: HeldDeletions | undefined, target = DEFAULT_TARGET): Promise<void> {
    await this.lock.exclusive(async () => {
      this.assertOpen();
      await this.kv.write([held ? { type: "put", key: heldKey(target), value: JSON.stringify(held) } : { type: "del", key: heldKey(target) }]);
      if (held) this.heldSets.set(target, held);
      else this.heldSets.delete(target);
    });
  }

  held(target = DEFAULT_TARGET): HeldDeletions | undefined {
    return this.heldSets.get(target);
  }

  /** Waits for queries and writes under way, then closes; later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.lock.exclusive(async () => {
      this.closed = true;
      await this.kv.close();
    });
  }

  private addCounts(target: string, delta: Record<SecretState, number>): void {
    const counts = countOf(this.tally, target);
    for (const s of STATES) counts[s] += delta[s];
  }

  private total(target?: string): number {
    const counts = this.counts(target);
    return STATES.reduce((n, s) => n + counts[s], 0);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("the state store is closed");
  }
}

/** The target a run belongs to: runs of a config without targets name none. */
function targetOf(run: RunStatus): string {
  return run.target ?? DEFAULT_TARGET;
}

/** Runs are kept per kind and target, so a busy target never pushes another's runs out. */
function runGroup(run: RunStatus): string {
  return `${run.kind}${SEP}${targetOf(run)}`;
}

function countOf(tally: Map<string, Record<SecretState, number>>, target: string): Record<SecretState, number> {
  let counts = tally.get(target);
  if (!counts) tally.set(target, (counts = emptyCounts()));
  return counts;
}

/**
 * Rewrites a format 1 store (keyed by name) as the default target's, in batches of CHUNK keys; the
 * format marker is written after the last one. A batch that did not happen is done on the next
 * open: only keys without a target are rewritten.
 */
async function migrateByName(kv: Kv): Promise<void> {
  for (const [range, keyOf] of [
    [SECRETS, (name: string) => secretKey(DEFAULT_TARGET, name)],
    [FORCED, (name: string) => forcedKey(DEFAULT_TARGET, name)],
  ] as const) {
    let ops: KvOp[] = [];
    // The iterator reads a snapshot: the keys written meanwhile are not met again.
    for await (const chunk of kv.chunks(range, true)) {
      for (const [key, raw] of chunk) {
        if (key.includes(SEP)) continue;
        ops.push({ type: "del", key }, { type: "put", key: keyOf(key.slice(2)), value: raw });
      }
      if (ops.length >= 2 * CHUNK) {
        await kv.write(ops);
        ops = [];
      }
    }
    if (ops.length > 0) await kv.write(ops);
  }
  const [held] = await kv.get([HELD_BY_NAME]);
  if (held !== undefined) await kv.write([{ type: "put", key: heldKey(DEFAULT_TARGET), value: held }, { type: "del", key: HELD_BY_NAME }]);
}

interface ForceDeleted {
  mapping: string;
  at: string;
}

function emptyCounts(): Record<SecretState, number> {
  return { "in-sync": 0, pending: 0, failed: 0, drifted: 0, conflict: 0, held: 0 };
}

/** The stored form: the documented fields only, in one order (the state pre-test relies on it), so nothing else a caller attached is kept. */
function plainRow(r: SecretStatus): SecretStatus {
  return {
    name: r.name,
    path: r.path,
    mapping: r.mapping,
    ...(r.target !== undefined ? { target: r.target } : {}),
    state: r.state,
    ...(r.version !== undefined ? { version: r.version } : {}),
    ...(r.errorClass !== undefined ? { errorClass: r.errorClass } : {}),
    ...(r.message !== undefined ? { message: r.message } : {}),
    updatedAt: r.updatedAt,
  };
}

function sameExceptTime(a: SecretStatus, b: SecretStatus): boolean {
  return a.path === b.path && a.mapping === b.mapping && a.state === b.state && a.version === b.version && a.errorClass === b.errorClass && a.message === b.message;
}

class StoreFormatError extends Error {
  override readonly name = "StoreFormatError";
}

function parseJson(raw: string, what: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new StoreFormatError(`a stored ${what} is not valid JSON`);
  }
}

function parseSecret(raw: string): SecretStatus {
  const row = parseJson(raw, "secret") as SecretStatus;
  if (typeof row?.name !== "string" || !STATES.includes(row.state)) throw new StoreFormatError("a stored secret has no name or an unknown state");
  return row;
}

/** Why the directory cannot be used, as a config error naming it and saying what to do. */
function unusable(dir: string, error: unknown): SyncError {
  // classic-level wraps the reason: LEVEL_DATABASE_NOT_OPEN with the cause inside.
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const code = (cause as { code?: string })?.code ?? (error as { code?: string })?.code;
  const detail = (cause as Error)?.message ?? String(cause);
  const reason =
    code === "LEVEL_LOCKED"
      ? "it is in use by another process (another secretbridge serve with the same stateDir?)"
      : code === "EEXIST" || code === "ENOTDIR"
        ? "it exists and is not a directory"
        : code === "EACCES" || code === "EPERM" || code === "EROFS"
          ? `it is not writable by this user (${detail})`
          : code === "ERR_MODULE_NOT_FOUND"
            ? "the classic-level package is not installed (npm install)"
            : code === "LEVEL_CORRUPTION" || cause instanceof StoreFormatError
              ? `it is corrupted or not a secretbridge state store (${detail}); move it aside to start with an empty history`
              : detail;
  return new SyncError("config-invalid", `service.stateDir ${JSON.stringify(dir)} cannot be used: ${reason}`, undefined, { cause: error });
}

// ---- Storage: an ordered string map with atomic batches; LevelDB on disk, a Map in memory. ----

type KvOp = { type: "put"; key: string; value: string } | { type: "del"; key: string };
interface KvRange {
  gte: string;
  lt: string;
  reverse?: boolean;
}
interface Kv {
  get(keys: string[]): Promise<(string | undefined)[]>;
  /** All or nothing, durable when it resolves. */
  write(ops: KvOp[]): Promise<void>;
  /** Entries of the range in key order, in chunks; values are "" when not asked for. */
  chunks(range: KvRange, values: boolean): AsyncGenerator<[string, string][]>;
  close(): Promise<void>;
}

const CHUNK = 1000;

class LevelKv implements Kv {
  constructor(private readonly db: ClassicLevel<string, string>) {}
  get(keys: string[]): Promise<(string | undefined)[]> {
    return keys.length === 0 ? Promise.resolve([]) : this.db.getMany(keys);
  }
  write(ops: KvOp[]): Promise<void> {
    // sync: the batch reaches the disk before the promise resolves (one fsync per run, not per row).
    return this.db.batch(ops, { sync: true });
  }
  async *chunks(range: KvRange, values: boolean): AsyncGenerator<[string, string][]> {
    const it = this.db.iterator({ ...range, keys: true, values });
    try {
      for (;;) {
        const batch = await it.nextv(CHUNK);
        if (batch.length === 0) return;
        yield values ? (batch as [string, string][]) : batch.map(([k]) => [k, ""] as [string, string]);
      }
    } finally {
      await it.close();
    }
  }
  close(): Promise<void> {
    return this.db.close();
  }
}

/** No stateDir: the same store, forgotten on exit. Keys sort as JS strings, which is LevelDB's byte order for every name AWS allows. */
class MemoryKv implements Kv {
  private readonly map = new Map<string, string>();
  private sorted: string[] | undefined;
  async get(keys: string[]): Promise<(string | undefined)[]> {
    return keys.map((k) => this.map.get(k));
  }
  async write(ops: KvOp[]): Promise<void> {
    for (const op of ops) {
      if (op.type === "put") {
        if (!this.map.has(op.key)) this.sorted = undefined;
        this.map.set(op.key, op.value);
      } else if (this.map.delete(op.key)) {
        this.sorted = undefined;
      }
    }
  }
  async *chunks(range: KvRange, values: boolean): AsyncGenerator<[string, string][]> {
    // The key list is sorted once per change of the key set, not per query.
    const keys = (this.sorted ??= [...this.map.keys()].sort());
    const from = lowerBound(keys, range.gte);
    const to = lowerBound(keys, range.lt);
    const step = range.reverse ? -1 : 1;
    let i = range.reverse ? to - 1 : from;
    while (range.reverse ? i >= from : i < to) {
      const chunk: [string, string][] = [];
      for (; chunk.length < CHUNK && (range.reverse ? i >= from : i < to); i += step) {
        const key = keys[i] as string;
        chunk.push([key, values ? (this.map.get(key) ?? "") : ""]);
      }
      yield chunk;
    }
  }
  async close(): Promise<void> {
    this.map.clear();
  }
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Writes one at a time; a write waits for the reads under way, reads wait for the writes queued
 * before them. A page and the counts beside it are then always from the same state.
 */
class ReadWriteLock {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly reading = new Set<Promise<unknown>>();

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(async () => {
      await Promise.allSettled([...this.reading]);
      return fn();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    // Wait until no write is queued; from the check to `reading.add` nothing awaits, so a write
    // queued later sees this read.
    for (let seen = this.tail; ; seen = this.tail) {
      await seen;
      if (seen === this.tail) break;
    }
    const run = fn();
    this.reading.add(run);
    try {
      return await run;
    } finally {
      this.reading.delete(run);
    }
  }
}
