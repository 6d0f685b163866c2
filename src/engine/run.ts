// One run, one way through: validate both sides, list both (metadata only), read the values the
// planner asks for, plan (pure), apply, report. The engine holds no policy: every decision is the
// planner's, every API order is the destination's. Nothing is written unless every inventory
// succeeded; per-secret failures never stop the rest. Notifications are the runtimes' to send.
import { randomUUID } from "node:crypto";
import { FATAL_CLASSES, isSyncError, scrubSecretMaterial, SyncError, type ErrorClass } from "../core/errors.js";
import type { ResolvedMapping } from "../core/mapping.js";
import { DEFAULT_TARGET, isWrite, type ActionResult, type DestinationInventory, type DestinationRef, type InventoryProblem, type Plan, type PlannedAction, type SourceInventory, type WriteAction } from "../core/model.js";
import { displayPath, pathProblem } from "../core/paths.js";
import { emptyFacts, planStep, sourceFactKey, valueFactsOf, type Facts, type FactsNeeded, type MappingInventory, type PlanOptions } from "../core/plan.js";
import { renderValue, secretStringFingerprint, valueLeaves, type RenderedValue } from "../core/value.js";
import type { DestinationProfile } from "../core/profile.js";
import { TAG } from "../core/tags.js";
import { appliedWrite } from "../core/writes.js";
import type { SecretDestination } from "../destinations/destination.js";
import type { SecretData, SecretSource } from "../sources/source.js";
import type { Logger } from "../util/logger.js";
import { collectFailures, emptyCounts, type RunMode, type RunReport } from "./report.js";

/** A resolved mapping and the source that reads its mount. */
export interface MappingSource {
  mapping: ResolvedMapping;
  source: SecretSource;
}

export interface RunOptions {
  mode: RunMode;
  /** The config's target this run writes to (its report, logs and notice name it); default DEFAULT_TARGET. */
  target?: string;
  /** Secrets processed at once. */
  concurrency: number;
  /** Lift the blast-radius guard for this run. */
  forceDeletions?: boolean;
  /** Deletions an operator approved after the guard held them (exactly these names). */
  approvedDeletions?: ReadonlySet<string>;
  /**
   * Epoch milliseconds after which no new write starts (Lambda: the invocation deadline less a
   * margin). Writes not started are reported as deferred; the next run picks them up.
   */
  deadline?: number;
  /** Push triggers: sync just these paths (never delete). */
  targets?: SecretChangeTarget[];
  /** Secrets this sync deleted without a recovery window lately, by mapping label (the blast-radius window counts them). */
  forceDeleted?: PlanOptions["forceDeleted"];
}

export interface RunDependencies {
  destination: SecretDestination;
  logger: Logger;
  /** Called after each write action finishes (progress bars). */
  onProgress?: (done: number, total: number) => void;
}

/** A path a push trigger says changed. */
export interface SecretChangeTarget {
  mount: string;
  path: string;
}

/** Runs every mapping: one inventory pass, one plan, one report. */
export async function runMappings(deps: RunDependencies, mappings: MappingSource[], options: RunOptions): Promise<RunReport> {
  const runId = randomUUID();
  const started = new Date();
  const syncName = mappings[0]?.mapping.syncName;
  if (syncName === undefined) throw new SyncError("config-invalid", "no mapping to run");
  const target = options.target ?? DEFAULT_TARGET;
  const log = deps.logger.child({ runId, sync: syncName, target, mode: options.mode });
  log.info({ mappings: mappings.map((m) => m.mapping.describe), targeted: options.targets ? options.targets.length : undefined }, "run started");

  const timings: RunReport["timings"] = {};
  const bySource = new Map(mappings.map((m) => [m.mapping.label, m]));
  const prefetched: Prefetched = new Map();
  let plan: Plan;
  try {
    const inputs = await inventories(deps, mappings, options, log, timings, prefetched);
    plan = await planWithFacts(deps.destination, inputs, bySource, options.concurrency, timings, {
      ...(options.forceDeletions ? { forceDeletions: true } : {}),
      ...(options.approvedDeletions ? { approvedDeletions: options.approvedDeletions } : {}),
      ...(options.targets ? { targeted: true } : {}),
      ...(options.forceDeleted ? { forceDeleted: options.forceDeleted } : {}),
      now: new Date(),
    });
  } catch (error) {
    const fatal = asSyncError(error, "source-unavailable", []);
    log.error({ errorClass: fatal.errorClass, err: fatal.toJSON() }, "run stopped before writing anything");
    return finish({ runId, syncName, target, mode: options.mode, started }, timings, undefined, [], [], { path: mappings[0]?.mapping.source.mount ?? "", errorClass: fatal.errorClass, message: fatal.message });
  }

  const applyStart = performance.now();
  if (options.mode === "plan") plan = await previewWriteWarnings(plan, deps.destination.profile, bySource, options.concurrency);
  const results = options.mode === "plan" ? plan.actions.map((action): ActionResult => ({ action, outcome: action.failure ? "failed" : "planned" })) : await applyPlan(plan, deps, bySource, options, log, prefetched);
  timings.applyMs = Math.round(performance.now() - applyStart);
  const report = finish({ runId, syncName, target, mode: options.mode, started }, timings, plan, results, plan.problems);
  for (const warning of report.warnings) log.warn(warning);
  for (const failure of report.failures) {
    log.warn({ path: failure.path, destinationName: failure.destinationName, errorClass: failure.errorClass }, failure.message);
  }
  log.info({ counts: report.counts, durationMs: report.durationMs, timings: report.timings, exitCode: report.exitCode }, "run finished");
  return report;
}

/**
 * Values a push run read with its inventory, by `sourceFactKey(mapping, path)`, with the version
 * each is of: the writes of that version use it instead of reading it again. Held for the run only.
 */
type Prefetched = Map<string, { version: number; data: SecretData }>;

/** Validates and lists both sides: each source once, each distinct destination prefix once. */
export async function inventories(deps: RunDependencies, mappings: MappingSource[], options: RunOptions, log: Logger, timings: RunReport["timings"], prefetched: Prefetched = new Map()): Promise<MappingInventory[]> {
  let t = performance.now();
  if (options.targets) return targetedInventories(deps, mappings, options.targets, timings, prefetched);
  await Promise.all([...mappings.map((m) => m.source.validate()), deps.destination.validate()]);
  timings.validateMs = Math.round(performance.now() - t);
  t = performance.now();
  const prefixes = [...new Set(mappings.map((m) => m.mapping.prefix))];
  const [sources, destinations] = await Promise.all([Promise.all(mappings.map((m) => m.source.inventory())), Promise.all(prefixes.map((p) => deps.destination.inventory(p)))]);
  const byPrefix = new Map(prefixes.map((p, i) => [p, destinations[i] as DestinationInventory]));
  timings.inventoryMs = Math.round(performance.now() - t);
  return mappings.map(({ mapping }, i) => {
    const source = sources[i] as SourceInventory;
    const destination = byPrefix.get(mapping.prefix) ?? { secrets: [] };
    shareListedStrings(source, destination);
    log.info(
      { mapping: mapping.label, mount: mapping.source.mount, sourceSecrets: source.secrets.length, destinationSecrets: destination.secrets.length, method: source.method, problems: source.problems.length },
      "inventories listed",
    );
    return { mapping, source, destination };
  });
}

/**
 * The two listings of one secret each hold its path and its version's creation time, the
 * destination in its tags: one copy of each is kept, the source's (10 MB of a 100,000-secret
 * run's live data). Only a tag value equal to the source's string is replaced, by that string:
 * every comparison gives what it gave.
 */
function shareListedStrings(source: SourceInventory, destination: DestinationInventory): void {
  if (source.secrets.length === 0 || destination.secrets.length === 0) return;
  const byPath = new Map(source.secrets.map((s) => [s.path, s]));
  for (const { tags } of destination.secrets) {
    const path = tags[TAG.path];
    const listed = path === undefined ? undefined : byPath.get(path);
    if (!listed) continue;
    tags[TAG.path] = listed.path;
    if (listed.versionCreatedTime !== undefined && tags[TAG.sourceCreated] === listed.versionCreatedTime) tags[TAG.sourceCreated] = listed.versionCreatedTime;
  }
}

/**
 * Push triggers: the changed paths each mapping covers, from their own reads (one data read,
 * which the write then uses, where the source can; else a metadata read) and one describe each,
 * never from a full listing. An invalid path is refused here, before any request; a path no
 * mapping covers is not this sync's business.
 */
async function targetedInventories(deps: RunDependencies, mappings: MappingSource[], targets: SecretChangeTarget[], timings: RunReport["timings"], prefetched: Prefetched): Promise<MappingInventory[]> {
  const started = performance.now();
  const inputs: MappingInventory[] = [];
  const invalid = [...new Set(targets.filter((t) => pathProblem(t.path) !== undefined).map((t) => t.path))];
  for (const [i, { mapping, source }] of mappings.entries()) {
    const paths = [...new Set(targets.filter((t) => t.mount === mapping.source.mount && mapping.inScope(t.path)).map((t) => t.path))];
    const problems = i === 0 ? invalid.map((path) => ({ path: displayPath(path), errorClass: "invalid-path" as const, message: `${displayPath(path)}: ${pathProblem(path) ?? ""}; not synced` })) : [];
    if (paths.length === 0) {
      inputs.push({ mapping, source: { secrets: [], problems, method: "list-and-metadata" }, destination: { secrets: [] } });
      continue;
    }
    const sourceInventory = await inventoryWithValues(source, paths, mapping.label, prefetched);
    sourceInventory.problems.push(...problems);
    // Only paths the source has are looked up in the destination: a forged or deleted path costs
    // one metadata read, nothing more. The describe follows the read, never beside it: one taken
    // before a slow read answers can miss a newer version another writer put meanwhile, and the
    // order guard would then let the older version overwrite it.
    const found = sourceInventory.secrets.map((s) => s.path);
    const destination =
      mapping.granularity === "key"
        ? await deps.destination.inventory(mapping.prefix)
        : found.length > 0
          ? await deps.destination.describe(found.map((p) => mapping.nameFor(p)))
          : { secrets: [] };
    inputs.push({ mapping, source: sourceInventory, destination });
  }
  timings.inventoryMs = Math.round(performance.now() - started);
  return inputs;
}

/** Pushed paths read with their values where the source can; any failure of that falls back to `inventoryOfEach`. */
async function inventoryWithValues(source: SecretSource, paths: string[], label: string, prefetched: Prefetched): Promise<SourceInventory> {
  if (source.inventoryWithValues) {
    try {
      const { inventory, values } = await source.inventoryWithValues(paths);
      for (const [path, value] of values) prefetched.set(sourceFactKey(label, path), value);
      return inventory;
    } catch (error) {
      if (isSyncError(error) && FATAL_CLASSES.has(error.errorClass)) throw error;
    }
  }
  return inventoryOfEach(source, paths);
}

/**
 * The metadata of pushed paths. A source reports a path it cannot read as that path's problem;
 * should it throw for the batch all the same (an input it did not expect), the paths are asked
 * again one by one, so what throws is that path's failure and the rest of the batch goes on. A
 * fatal class (the source is unusable) still stops the run.
 */
async function inventoryOfEach(source: SecretSource, paths: string[]): Promise<SourceInventory> {
  try {
    return await source.inventoryOf(paths);
  } catch (error) {
    if (isSyncError(error) && FATAL_CLASSES.has(error.errorClass)) throw error;
  }
  const one = async (path: string): Promise<SourceInventory | InventoryProblem> => {
    try {
      return await source.inventoryOf([path]);
    } catch (error) {
      const failure = asSyncError(error, "source-read-failed", [], displayPath(path));
      if (FATAL_CLASSES.has(failure.errorClass)) throw failure;
      return { path: displayPath(path), errorClass: failure.errorClass, message: failure.message };
    }
  };
  const parts = await Promise.all(paths.map(one));
  const inventories = parts.filter((p): p is SourceInventory => "secrets" in p);
  return {
    secrets: inventories.flatMap((i) => i.secrets),
    problems: [...inventories.flatMap((i) => i.problems), ...parts.filter((p): p is InventoryProblem => !("secrets" in p))],
    method: inventories[0]?.method ?? "list-and-metadata",
  };
}

/**
 * Plans, reads what the planner asks for, and plans again, until it asks for nothing more. A
 * value or metadata read that fails is a fact about that secret (planned as its refusal); a
 * fatal class (source or destination unusable) stops the run, which has written nothing yet.
 */
export async function planWithFacts(
  destination: SecretDestination,
  inputs: MappingInventory[],
  bySource: Map<string, MappingSource>,
  concurrency: number,
  timings: RunReport["timings"],
  planOptions: PlanOptions,
  /** metadata: read no value on either side (`discover`); what would need one is planned as its refusal. */
  reads: "values" | "metadata" = "values",
): Promise<Plan> {
  const facts = emptyFacts();
  let planMs = 0;
  let readMs = 0;
  try {
    // Each round's needs follow from the last round's facts (keys, then the values and absences
    // they lead to); a plan whose facts are still missing refuses what they would have allowed.
    for (let round = 0; ; round++) {
      let t = performance.now();
      const step = planStep(inputs, facts, destination.profile, planOptions);
      const { plan } = step;
      const needed = reads === "values" ? step.needed : { ...step.needed, source: [], destination: [] };
      planMs += performance.now() - t;
      if ((needed.source.length === 0 && needed.destination.length === 0 && needed.presence.length === 0) || round === MAX_FACT_ROUNDS) return plan;
      t = performance.now();
      await readFacts(destination, needed, facts, bySource, concurrency);
      readMs += performance.now() - t;
    }
  } finally {
    timings.planMs = Math.round(planMs);
    timings.inventoryMs = (timings.inventoryMs ?? 0) + Math.round(readMs);
  }
}

const MAX_FACT_ROUNDS = 4;

async function readFacts(destination: SecretDestination, needed: FactsNeeded, facts: Facts, bySource: Map<string, MappingSource>, concurrency: number): Promise<void> {
  const reads = needed.source.map((need) => async () => {
    const entry = bySource.get(need.mapping);
    if (!entry) return;
    const key = sourceFactKey(need.mapping, need.path);
    try {
      facts.source.set(key, { ok: valueFactsOf(entry.mapping, await entry.source.readValue(need.path, need.version)) });
    } catch (error) {
      const failure = asSyncError(error, "source-read-failed", [], need.path);
      if (FATAL_CLASSES.has(failure.errorClass)) throw failure;
      facts.source.set(key, { error: { errorClass: failure.errorClass, message: failure.message } });
    }
  });
  const byMapping = new Map<string, string[]>();
  for (const { mapping, path } of needed.presence) byMapping.set(mapping, [...(byMapping.get(mapping) ?? []), path]);
  const lookups = [...byMapping].map(async ([mapping, paths]) => {
    const entry = bySource.get(mapping);
    if (!entry) return;
    for (const [path, fact] of await entry.source.readMetadata(paths)) facts.presence.set(sourceFactKey(mapping, path), fact);
  });
  await Promise.all([pool(reads, concurrency), readDestinationValues(destination, needed.destination, facts), ...lookups]);
}

async function readDestinationValues(destination: SecretDestination, secrets: DestinationRef[], facts: Facts): Promise<void> {
  if (secrets.length === 0) return;
  const values = await destination.readValues(secrets);
  for (const { name } of secrets) {
    const read = values.get(name);
    if (!read) facts.destination.set(name, { ok: "" }); // absent or binary: nothing to compare with
    else if ("error" in read) facts.destination.set(name, { error: { errorClass: read.error.errorClass, message: read.error.message } });
    else facts.destination.set(name, { ok: secretStringFingerprint(read.value) });
  }
}

/** Runs tasks with at most `size` at once, from a fixed set of workers (flat memory however many tasks). */
export async function pool(tasks: (() => Promise<void>)[], size: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await (tasks[next++] as () => Promise<void>)();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(size, tasks.length)) }, worker));
}

export async function applyPlan(plan: Plan, deps: RunDependencies, bySource: Map<string, MappingSource>, options: RunOptions, log: Logger, prefetched: Prefetched = new Map()): Promise<ActionResult[]> {
  const writes = plan.actions.filter((a): a is WriteAction => isWrite(a) && !a.failure);
  const outcomes = new Map<PlannedAction, ActionResult>();
  // A fixed pool of workers taking the next write: memory stays flat however long the plan is
  // (a queued closure per write took the 100,000-secret initial sync to a 620 MB peak RSS; 421 MB
  // with the pool).
  await pool(
    writes.map((action) => async () => {
      outcomes.set(action, options.deadline !== undefined && Date.now() >= options.deadline ? { action, outcome: "deferred" } : await applyAction(action, deps, bySource, log, prefetched));
      deps.onProgress?.(outcomes.size, writes.length);
    }),
    options.concurrency,
  );
  const deferred = [...outcomes.values()].filter((r) => r.outcome === "deferred").length;
  if (deferred > 0) log.warn({ deferred }, "deadline reached: writes not started are deferred to the next run");
  return plan.actions.map((action) => outcomes.get(action) ?? { action, outcome: action.failure ? "failed" : "done" });
}

/** The value a write would write, as the destination will take it: read, rendered, checked, and what the destination has to say about it. */
interface ValueToWrite {
  rendered: RenderedValue;
  warnings: string[];
}

/**
 * Reads and renders the source value of a write and checks it against the destination's profile;
 * `seen` gets what was read before anything can throw, so a failure's message can be scrubbed of it.
 */
async function valueToWrite(
  action: WriteAction,
  bySource: Map<string, MappingSource>,
  profile: DestinationProfile,
  seen: { data?: SecretData; secretString?: string } = {},
  prefetched: Prefetched = new Map(),
): Promise<ValueToWrite> {
  const entry = bySource.get(action.mapping);
  if (!entry) throw new SyncError("config-invalid", `no mapping ${action.mapping}`, action.sourcePath);
  // A push run's inventory may have read this very version already: its value is used, not read again.
  const held = prefetched.get(sourceFactKey(action.mapping, action.sourcePath));
  seen.data = held && held.version === action.sourceVersion ? held.data : await entry.source.readValue(action.sourcePath, action.sourceVersion);
  const rendered = renderValue(seen.data, ("valueShape" in action ? action.valueShape : undefined) ?? entry.mapping.valueShape, action.sourcePath);
  if ("problem" in rendered) throw new SyncError("invalid-value", rendered.problem, action.sourcePath);
  if ("secretString" in rendered) seen.secretString = rendered.secretString;
  const tooLarge = profile.valueProblem(rendered);
  if (tooLarge) throw new SyncError("too-large", `${action.sourcePath}: ${tooLarge}`, action.sourcePath);
  return { rendered, warnings: (profile.writeWarnings?.(rendered) ?? []).map((w) => `${action.destinationName}: ${w}`) };
}

/** An action with more warnings (a copy: the plan's own action is left as planned). */
function warned<A extends PlannedAction>(action: A, warnings: string[]): A {
  return warnings.length === 0 ? action : { ...action, warnings: [...(action.warnings ?? []), ...warnings] };
}

/** Whether applying this action writes a value (a tags-only update, a delete or a mark does not). */
function writesValue(action: PlannedAction): action is WriteAction {
  if (action.failure) return false;
  if (action.type === "create" || action.type === "restore" || action.type === "adopt") return true;
  return action.type === "update" && (action.changes === undefined || action.changes.includes("value"));
}

/**
 * A plan's writes with what the destination has to say about their values (a billed tier): only
 * for a destination whose profile warns by value, and then each planned value write reads its
 * source value once. A value that cannot be read here is the sync's to report.
 */
async function previewWriteWarnings(plan: Plan, profile: DestinationProfile, bySource: Map<string, MappingSource>, concurrency: number): Promise<Plan> {
  if (!profile.writeWarnings) return plan;
  const warnings = new Map<PlannedAction, string[]>();
  await pool(
    plan.actions.filter(writesValue).map((action) => async () => {
      try {
        warnings.set(action, (await valueToWrite(action, bySource, profile)).warnings);
      } catch {
        // Unreadable or too large: the sync reports it as that write's failure.
      }
    }),
    concurrency,
  );
  return { ...plan, actions: plan.actions.map((a) => warned(a, warnings.get(a) ?? [])) };
}

async function applyAction(action: WriteAction, deps: RunDependencies, bySource: Map<string, MappingSource>, log: Logger, prefetched: Prefetched): Promise<ActionResult> {
  const seen: { data?: SecretData; secretString?: string } = {};
  let warnings: string[] = [];
  const readValue = async (): Promise<RenderedValue> => {
    const value = await valueToWrite(action, bySource, deps.destination.profile, seen, prefetched);
    warnings = value.warnings;
    return value.rendered;
  };
  try {
    const entry = bySource.get(action.mapping);
    if (!entry) throw new SyncError("config-invalid", `no mapping ${action.mapping}`, action.sourcePath);
    await deps.destination.apply(appliedWrite(action, entry.mapping, deps.destination.profile), readValue);
    // Taken here, not when the run ends: the lag a write had is the lag when it landed.
    const acceptedAt = Date.now();
    log.info({ path: action.sourcePath, destinationName: action.destinationName, version: action.sourceVersion, action: action.type }, PAST[action.type] ?? action.type);
    return { action: warned(action, warnings), outcome: "done", acceptedAt };
  } catch (error) {
    const { data, secretString } = seen;
    const secrets = [...valueLeaves(data), ...(secretString ? [secretString] : [])];
    const failure = asSyncError(error, "destination-write-failed", secrets, action.sourcePath);
    return { action, outcome: "failed", error: { errorClass: failure.errorClass, message: failure.message } };
  }
}

const PAST: Partial<Record<PlannedAction["type"], string>> = {
  create: "created",
  update: "updated",
  restore: "restored",
  adopt: "adopted",
  delete: "deleted",
  orphan: "marked orphaned",
  release: "released",
  reclaim: "taken back",
};

/** Turns anything thrown into a SyncError whose message cannot carry the values at hand. */
export function asSyncError(error: unknown, fallback: ErrorClass, secrets: string[], path?: string): SyncError {
  if (isSyncError(error)) {
    const message = scrubSecretMaterial(error.message, secrets);
    return message === error.message ? error : new SyncError(error.errorClass, message, error.secretPath ?? path);
  }
  const name = error instanceof Error ? error.name : "Error";
  const text = error instanceof Error ? error.message : String(error);
  return new SyncError(fallback, `${path ? `${path}: ` : ""}${name}: ${scrubSecretMaterial(text, secrets)}`, path);
}

export function finish(
  { runId, syncName, target, mode, started }: { runId: string; syncName: string; target: string; mode: RunMode; started: Date },
  timings: RunReport["timings"],
  plan: Plan | undefined,
  results: ActionResult[],
  problems: Plan["problems"],
  fatal?: { path: string; errorClass: ErrorClass; message: string },
): RunReport {
  const finished = new Date();
  const failures = fatal ? [{ path: fatal.path, errorClass: fatal.errorClass, message: fatal.message }] : collectFailures(results, problems);
  const counts = emptyCounts();
  counts.failed = failures.length;
  for (const r of results) {
    if (r.outcome === "deferred") {
      counts.deferred += 1;
      continue;
    }
    if (r.outcome === "failed" && isWrite(r.action)) continue;
    counts[r.action.type] += 1;
  }
  const exitCode = fatal ? 2 : failures.length > 0 ? 1 : 0;
  return {
    runId,
    syncName,
    target,
    mode,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    ...(plan ? { sourceMethod: plan.sourceMethod } : {}),
    exitCode,
    ...(fatal ? { fatal: { errorClass: fatal.errorClass, message: fatal.message } } : {}),
    counts,
    results,
    problems,
    failures,
    warnings: [...(plan?.warnings ?? []), ...results.flatMap((r) => r.action.warnings ?? [])],
    timings,
  };
}
