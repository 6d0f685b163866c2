// One run, one way through: validate both sides, list both (metadata only), plan, apply, report.
// Nothing is written unless both inventories succeeded; per-secret failures never stop the rest.
import { randomUUID } from "node:crypto";
import pLimit from "p-limit";
import { isSyncError, scrubSecretMaterial, SyncError, type ErrorClass } from "../core/errors.js";
import type { ActionResult, DestinationInventory, Plan, PlannedAction, SourceInventory } from "../core/model.js";
import { keySecretsOf, planSync, type PlanSettings } from "../core/plan.js";
import { destinationNameFor } from "../core/naming.js";
import { scopeMatcher } from "../core/scope.js";
import { ownershipOf } from "../core/tags.js";
import { renderedSizeProblem, renderValue, secretStringFingerprint, type RenderedValue } from "../core/value.js";
import type { SecretDestination } from "../destinations/destination.js";
import type { Notifier } from "../notify/notifier.js";
import { notifyAll } from "../notify/index.js";
import type { SecretData, SecretSource } from "../sources/source.js";
import type { Logger } from "../util/logger.js";
import { collectFailures, emptyCounts, type RunMode, type RunReport } from "./report.js";
import { TAG } from "../core/tags.js";

/** Action types that call the destination. */
const WRITE_TYPES = new Set<PlannedAction["type"]>(["create", "update", "restore", "adopt", "delete", "orphan"]);

export interface RunSettings extends PlanSettings {
  mode: RunMode;
  /** Secrets processed at once. */
  concurrency: number;
  kmsKeyId?: string;
  description?: string;
  /**
   * Epoch milliseconds after which no new write starts (Lambda: the invocation deadline less a
   * margin). Writes not started are reported as deferred; the next run picks them up.
   */
  deadline?: number;
}

export interface RunDependencies {
  source: SecretSource;
  destination: SecretDestination;
  notifiers?: Notifier[];
  logger: Logger;
  /** Called after each write action finishes (progress bars). */
  onProgress?: (done: number, total: number) => void;
}

/** One mapping of a run: its source (a mount and sub-path) and its settings. */
export interface MappingRun {
  source: SecretSource;
  settings: RunSettings;
}

/** One mapping: the engine as most callers use it. */
export async function runSync(deps: RunDependencies, settings: RunSettings): Promise<RunReport> {
  return runMappings(deps, [{ source: deps.source, settings }]);
}

/**
 * Several mappings in one run: all are validated and listed before anything is written, names
 * claimed by two mappings are refused, and one report and one notification cover them all.
 */
export async function runMappings(deps: Omit<RunDependencies, "source">, mappings: MappingRun[], targets?: SecretChangeTarget[]): Promise<RunReport> {
  const runId = randomUUID();
  const started = new Date();
  const first = mappings[0]?.settings;
  if (!first) throw new SyncError("config-invalid", "no mapping to run");
  const log = deps.logger.child({ runId, sync: first.syncName, mode: first.mode });
  log.info({ mappings: mappings.map((m) => `${m.settings.source.mount}${m.settings.subPath ? `/${m.settings.subPath}` : ""} -> ${m.settings.prefix}/`) }, "run started");

  const timings: RunReport["timings"] = {};
  let plans: Plan[];
  try {
    plans = await inventoryAndPlan(deps, mappings, log, timings, targets);
  } catch (error) {
    const fatal = asSyncError(error, "source-unavailable", []);
    log.error({ errorClass: fatal.errorClass, err: fatal.toJSON() }, "run stopped before writing anything");
    const report = finish(runId, first, started, timings, undefined, [], [], { errorClass: fatal.errorClass, message: fatal.message });
    if (first.mode === "sync") report.notifications = await notifyAll(deps.notifiers ?? [], toNotice(report), log);
    return report;
  }
  refuseCrossMappingCollisions(plans);

  const applyStart = performance.now();
  const results: ActionResult[] = [];
  for (const [i, plan] of plans.entries()) {
    const mapping = mappings[i] as MappingRun;
    results.push(...(first.mode === "plan" ? plannedResults(plan) : await applyPlan(plan, { ...deps, source: mapping.source }, mapping.settings, log)));
  }
  timings.applyMs = Math.round(performance.now() - applyStart);
  const merged: Plan = {
    syncName: first.syncName,
    sourceMethod: plans[0]?.sourceMethod ?? "list-and-metadata",
    actions: plans.flatMap((p) => p.actions),
    problems: plans.flatMap((p) => p.problems),
  };
  const report = finish(runId, first, started, timings, merged, results, merged.problems);
  for (const warning of merged.actions.flatMap((a) => a.warnings ?? [])) log.warn(warning);
  for (const failure of report.failures) {
    log.warn({ path: failure.path, destinationName: failure.destinationName, errorClass: failure.errorClass }, failure.message);
  }
  log.info({ counts: report.counts, durationMs: report.durationMs, exitCode: report.exitCode }, "run finished");
  if (first.mode === "sync" && report.failures.length > 0) {
    report.notifications = await notifyAll(deps.notifiers ?? [], toNotice(report), log);
  }
  return report;
}

const CLAIMING = new Set<PlannedAction["type"]>(["create", "update", "restore", "adopt", "unchanged", "drift"]);

/** Two mappings that would write one destination name: the later one is refused, in the plan. */
function refuseCrossMappingCollisions(plans: Plan[]): void {
  const claimed = new Map<string, string>();
  for (const plan of plans) {
    plan.actions = plan.actions.map((action) => {
      if (!CLAIMING.has(action.type)) return action;
      const owner = claimed.get(action.destinationName);
      if (owner === undefined) {
        claimed.set(action.destinationName, action.sourcePath);
        return action;
      }
      return {
        sourcePath: action.sourcePath,
        destinationName: action.destinationName,
        sourceVersion: action.sourceVersion,
        type: "skip",
        reason: "name collision between mappings",
        failure: { errorClass: "invalid-name", message: `${action.sourcePath} maps to ${action.destinationName}, which another mapping already writes (from ${owner}): change a prefix or a name template` },
      };
    });
  }
}

/** A path a push trigger says changed. */
export interface SecretChangeTarget {
  mount: string;
  path: string;
}

/** The target paths that belong to one mapping (its mount, sub-path and globs). */
function targetsOf(mapping: MappingRun, targets: SecretChangeTarget[]): string[] {
  const scope = mapping.settings.subPath ? `${mapping.settings.subPath}/` : "";
  const inScope = scopeMatcher(mapping.settings.scope ?? {});
  return [...new Set(targets.filter((t) => t.mount === mapping.settings.source.mount && t.path.startsWith(scope) && inScope(t.path)).map((t) => t.path))];
}

async function inventoryAndPlan(
  deps: Omit<RunDependencies, "source">,
  allMappings: MappingRun[],
  log: Logger,
  timings: RunReport["timings"],
  targets?: SecretChangeTarget[],
): Promise<Plan[]> {
  if (targets) return targetedPlans(deps, allMappings, targets, timings);
  const mappings = allMappings;
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = Math.round(now - t);
    t = now;
    return ms;
  };
  await Promise.all([...mappings.map((m) => m.source.validate()), deps.destination.validate()]);
  timings.validateMs = lap();
  const prefixes = [...new Set(mappings.map((m) => m.settings.prefix))];
  const [sources, destinations] = await Promise.all([
    Promise.all(mappings.map((m) => m.source.inventory())),
    Promise.all(prefixes.map((p) => deps.destination.inventory(p))),
  ]);
  const byPrefix = new Map(prefixes.map((p, i) => [p, destinations[i] as DestinationInventory]));
  const plans: Plan[] = [];
  let planMs = 0;
  for (const [i, mapping] of mappings.entries()) {
    const sourceInventory = sources[i] as SourceInventory;
    // Each mapping gets its own copy: fingerprints are added per mapping.
    const destinationInventory: DestinationInventory = { secrets: (byPrefix.get(mapping.settings.prefix)?.secrets ?? []).map((d) => ({ ...d })) };
    log.info(
      {
        mount: mapping.settings.source.mount,
        sourceSecrets: sourceInventory.secrets.length,
        destinationSecrets: destinationInventory.secrets.length,
        method: sourceInventory.method,
        problems: sourceInventory.problems.length,
      },
      "inventories listed",
    );
    await addValueFingerprints(sourceInventory, destinationInventory, { ...deps, source: mapping.source }, mapping.settings);
    if (mapping.settings.granularity === "key") await addChangedKeys(sourceInventory, destinationInventory, mapping.source, mapping.settings);
    const planStart = performance.now();
    plans.push(planSync(sourceInventory, destinationInventory, mapping.settings));
    planMs += performance.now() - planStart;
  }
  timings.inventoryMs = Math.round(lap() - planMs);
  timings.planMs = Math.round(planMs);
  return plans;
}

/**
 * Push triggers: plan only the changed paths, from their own metadata (one metadata read and one
 * DescribeSecret each), never from a full listing. Absences are left to the next full run.
 */
async function targetedPlans(deps: Omit<RunDependencies, "source">, mappings: MappingRun[], targets: SecretChangeTarget[], timings: RunReport["timings"]): Promise<Plan[]> {
  const started = performance.now();
  const plans: Plan[] = [];
  for (const mapping of mappings) {
    const paths = targetsOf(mapping, targets);
    const settings = { ...mapping.settings, targeted: true };
    if (paths.length === 0) {
      plans.push({ syncName: settings.syncName, sourceMethod: "list-and-metadata", actions: [], problems: [] });
      continue;
    }
    const sourceInventory = await mapping.source.inventoryOf(paths);
    const destinationInventory =
      settings.granularity === "key"
        ? await deps.destination.inventory(settings.prefix)
        : await deps.destination.describe(paths.map((p) => destinationNameFor(settings.prefix, p, settings.nameTemplate, settings.source.mount)));
    await addValueFingerprints(sourceInventory, destinationInventory, { ...deps, source: mapping.source }, settings);
    if (settings.granularity === "key") await addChangedKeys(sourceInventory, destinationInventory, mapping.source, settings);
    plans.push(planSync(sourceInventory, destinationInventory, settings));
  }
  timings.inventoryMs = Math.round(performance.now() - started);
  return plans;
}

/**
 * One destination secret per key: a version that is already replicated keeps its keys (a new key
 * needs a new version), so only secrets whose version changed are read, for their key names.
 */
async function addChangedKeys(source: SourceInventory, destination: DestinationInventory, reader: SecretSource, settings: RunSettings): Promise<void> {
  const limit = pLimit(settings.concurrency);
  await Promise.all(
    source.secrets
      .filter((s) => s.state === "present")
      .map((s) =>
        limit(async () => {
          const existing = keySecretsOf(destination, settings, s.path);
          const current =
            s.version !== null &&
            existing.length > 0 &&
            existing.every((d) => d.tags[TAG.sourceVersion] === String(s.version) && (d.tags[TAG.sourceCreated] ?? s.versionCreatedTime) === s.versionCreatedTime);
          if (current) return;
          try {
            s.keys = Object.keys(await reader.readValue(s.path, s.version));
          } catch (error) {
            // Unreadable now: reported, and (as a listing problem) it also blocks deletions.
            const failure = asSyncError(error, "source-read-failed", [], s.path);
            source.problems.push({ path: s.path, errorClass: failure.errorClass, message: failure.message });
          }
        }),
      ),
  );
}

/**
 * KV v1 has no versions, so its secrets are compared by value: read the destination values of
 * the secrets we own that have a v1 counterpart (batched), and keep only an in-memory fingerprint.
 */
async function addValueFingerprints(
  source: SourceInventory,
  destination: DestinationInventory,
  deps: RunDependencies,
  settings: RunSettings,
): Promise<void> {
  const shape = settings.valueShape ?? { type: "json" };
  const sourceByName = new Map(
    source.secrets.filter((s) => s.state === "present").map((s) => [destinationNameFor(settings.prefix, s.path, settings.nameTemplate, settings.source.mount), s]),
  );
  const adoptIfEqual = settings.policies?.onConflict === "adopt-if-equal";
  const compare = destination.secrets.filter((d) => {
    const s = sourceByName.get(d.name);
    if (!s || d.deletedDate) return false;
    const owner = ownershipOf(d.tags, settings.syncName);
    return (s.version === null && owner === "ours") || (adoptIfEqual && owner === "unmanaged");
  });
  if (compare.length === 0) return;
  const values = await deps.destination.readValues(compare.map((d) => d.name));
  for (const d of compare) {
    const value = values.get(d.name);
    if (value !== undefined) d.fingerprint = secretStringFingerprint(value);
    const s = sourceByName.get(d.name);
    // adopt-if-equal on KV v2 (and any non-JSON value shape): the source value is needed too,
    // only for these few candidates, compared as it would be written.
    if (s && (s.fingerprint === undefined || shape.type !== "json")) {
      try {
        const rendered = renderValue(await deps.source.readValue(s.path, s.version), shape, s.path);
        s.fingerprint = "secretString" in rendered ? secretStringFingerprint(rendered.secretString) : `unrenderable:${s.path}`;
      } catch {
        // Unreadable: no fingerprint, so the planner cannot call the values equal (conflict or
        // update, whose own read then reports the error with its path).
        delete s.fingerprint;
      }
    }
  }
}

function plannedResults(plan: Plan): ActionResult[] {
  return plan.actions.map((action) => ({ action, outcome: action.failure ? "failed" : "planned" }));
}

async function applyPlan(plan: Plan, deps: RunDependencies, settings: RunSettings, log: Logger): Promise<ActionResult[]> {
  const writes = plan.actions.filter((a) => WRITE_TYPES.has(a.type));
  const outcomes = new Map<PlannedAction, ActionResult>();
  // A fixed pool of workers taking the next write: memory stays flat however long the plan is
  // (a queued closure per write took the 100,000-secret initial sync to a 620 MB peak RSS; 421 MB
  // with the pool).
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < writes.length) {
      const action = writes[next++] as PlannedAction;
      if (settings.deadline !== undefined && Date.now() >= settings.deadline) {
        outcomes.set(action, { action, outcome: "deferred" });
      } else {
        outcomes.set(action, await applyAction(action, deps, settings, log));
      }
      deps.onProgress?.(outcomes.size, writes.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(settings.concurrency, writes.length)) }, worker));
  const deferred = [...outcomes.values()].filter((r) => r.outcome === "deferred").length;
  if (deferred > 0) log.warn({ deferred }, "deadline reached: writes not started are deferred to the next run");
  return plan.actions.map(
    (action) => outcomes.get(action) ?? { action, outcome: action.failure ? "failed" : "done" },
  );
}

function stringLeaves(data: unknown, out: string[] = []): string[] {
  if (typeof data === "string") out.push(data);
  else if (typeof data === "number" || typeof data === "boolean") out.push(String(data));
  else if (data && typeof data === "object") for (const v of Object.values(data)) stringLeaves(v, out);
  return out;
}

async function applyAction(action: PlannedAction, deps: RunDependencies, settings: RunSettings, log: Logger): Promise<ActionResult> {
  const name = action.destinationName;
  const dest = deps.destination;
  let data: SecretData | undefined;
  let secretString: string | undefined;
  const readSource = async (): Promise<RenderedValue> => {
    data = await deps.source.readValue(action.sourcePath, action.sourceVersion);
    const shape = action.key !== undefined ? ({ type: "key", key: action.key } as const) : (settings.valueShape ?? { type: "json" });
    const rendered = renderValue(data, shape, action.sourcePath);
    if ("problem" in rendered) throw new SyncError("invalid-value", rendered.problem, action.sourcePath);
    if ("secretString" in rendered) secretString = rendered.secretString;
    const tooLarge = renderedSizeProblem(rendered);
    if (tooLarge) throw new SyncError("too-large", `${action.sourcePath}: ${tooLarge}`, action.sourcePath);
    return rendered;
  };
  try {
    switch (action.type) {
      case "delete":
        await dest.delete(name, action.deletion ?? {});
        break;
      case "orphan":
        await dest.tag(name, { [TAG.orphanedAt]: new Date().toISOString() });
        break;
      case "create":
        await dest.create({
          name,
          ...(await readSource()),
          requestToken: action.requestToken ?? randomUUID(),
          tags: action.tags ?? {},
          ...(settings.kmsKeyId ? { kmsKeyId: settings.kmsKeyId } : {}),
          ...(settings.description ? { description: settings.description } : {}),
          ...(action.replicas?.length ? { replicas: action.replicas } : {}),
        });
        if (action.changes?.includes("policy")) await dest.setResourcePolicy(name, settings.resourcePolicy);
        break;
      default: {
        // update, restore, adopt
        if (action.type === "restore") await dest.restore(name);
        const tags = { ...(action.tags ?? {}) };
        if (action.restoreVersionId && action.currentVersionId) {
          await repairDrift(action, tags, readSource, dest);
        } else if (action.changes?.includes("value")) {
          // Value first, tags second: if we stop in between, the stale version tag makes the next
          // run repeat the put with the same token, which AWS treats as a no-op.
          // KV v1 has no version to derive a token from; its value comparison already makes a
          // retry a no-op, so a fresh token is safe there.
          await dest.putValue({ name, ...(await readSource()), requestToken: action.requestToken ?? randomUUID() });
        }
        if (action.changes?.includes("policy")) await dest.setResourcePolicy(name, settings.resourcePolicy);
        if (action.changes?.includes("replicas")) await dest.setReplicas(name, action.replicas ?? []);
        await dest.tag(name, tags);
        const untag = (action.untag ?? []).filter((key) => !(key in tags));
        if (untag.length) await dest.removeTags(name, untag);
      }
    }
    log.info({ path: action.sourcePath, destinationName: name, version: action.sourceVersion, action: action.type }, PAST[action.type] ?? action.type);
    return { action, outcome: "done" };
  } catch (error) {
    const secrets = [...stringLeaves(data), ...(secretString ? [secretString] : [])];
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
};

/**
 * Puts the source value back as AWSCURRENT after an outside change, as a new version whose token
 * is derived from ours and the outsider's version id. The version-id tag is written first: if we
 * stop before the put, the next run derives the same token and the put still happens once.
 */
async function repairDrift(action: PlannedAction, tags: Record<string, string>, readSource: () => Promise<RenderedValue>, dest: SecretDestination): Promise<void> {
  const token = action.restoreVersionId ?? "";
  tags[TAG.versionId] = token;
  await dest.tag(action.destinationName, { [TAG.versionId]: token });
  await dest.putValue({ name: action.destinationName, ...(await readSource()), requestToken: token });
}

/** Turns anything thrown into a SyncError whose message cannot carry the values at hand. */
function asSyncError(error: unknown, fallback: ErrorClass, secrets: string[], path?: string): SyncError {
  if (isSyncError(error)) {
    const message = scrubSecretMaterial(error.message, secrets);
    return message === error.message ? error : new SyncError(error.errorClass, message, error.secretPath ?? path);
  }
  const name = error instanceof Error ? error.name : "Error";
  const text = error instanceof Error ? error.message : String(error);
  return new SyncError(fallback, `${path ? `${path}: ` : ""}${name}: ${scrubSecretMaterial(text, secrets)}`, path);
}

function finish(
  runId: string,
  settings: RunSettings,
  started: Date,
  timings: RunReport["timings"],
  plan: Plan | undefined,
  results: ActionResult[],
  problems: Plan["problems"],
  fatal?: { errorClass: ErrorClass; message: string },
): RunReport {
  const finished = new Date();
  const failures = fatal ? [{ path: settings.source.mount, errorClass: fatal.errorClass, message: fatal.message }] : collectFailures(results, problems);
  const counts = emptyCounts();
  counts.failed = failures.length;
  for (const r of results) {
    if (r.outcome === "deferred") {
      counts.deferred += 1;
      continue;
    }
    if (r.outcome === "failed" && WRITE_TYPES.has(r.action.type)) continue;
    counts[r.action.type] += 1;
  }
  const exitCode = fatal ? 2 : failures.length > 0 ? 1 : 0;
  return {
    runId,
    syncName: settings.syncName,
    mode: settings.mode,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    ...(plan ? { sourceMethod: plan.sourceMethod } : {}),
    exitCode,
    ...(fatal ? { fatal } : {}),
    counts,
    results,
    problems,
    failures,
    timings,
  };
}

function toNotice(report: RunReport) {
  return {
    syncName: report.syncName,
    runId: report.runId,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    summary: { ...report.counts },
    failures: report.failures.map((f) => ({
      path: f.path,
      ...(f.destinationName ? { destinationName: f.destinationName } : {}),
      errorClass: f.errorClass,
      message: f.message,
    })),
  };
}
