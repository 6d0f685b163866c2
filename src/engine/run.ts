// One run, one way through: validate both sides, list both (metadata only), plan, apply, report.
// Nothing is written unless both inventories succeeded; per-secret failures never stop the rest.
import { randomUUID } from "node:crypto";
import pLimit from "p-limit";
import { isSyncError, scrubSecretMaterial, SyncError, type ErrorClass } from "../core/errors.js";
import type { ActionResult, DestinationInventory, Plan, PlannedAction, SourceInventory } from "../core/model.js";
import { planSync, type PlanSettings } from "../core/plan.js";
import { ownershipOf } from "../core/tags.js";
import { renderSecretString, secretStringFingerprint, sizeProblem } from "../core/value.js";
import type { SecretDestination } from "../destinations/destination.js";
import type { Notifier } from "../notify/notifier.js";
import { notifyAll } from "../notify/index.js";
import type { SecretData, SecretSource } from "../sources/source.js";
import type { Logger } from "../util/logger.js";
import { collectFailures, type RunMode, type RunReport } from "./report.js";

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

export async function runSync(deps: RunDependencies, settings: RunSettings): Promise<RunReport> {
  const runId = randomUUID();
  const started = new Date();
  const log = deps.logger.child({ runId, sync: settings.syncName, mode: settings.mode });
  log.info({ mount: settings.source.mount, prefix: settings.prefix }, "run started");

  const timings: RunReport["timings"] = {};
  let plan: Plan;
  try {
    plan = await inventoryAndPlan(deps, settings, log, timings);
  } catch (error) {
    const fatal = asSyncError(error, "source-unavailable", []);
    log.error({ errorClass: fatal.errorClass, err: fatal.toJSON() }, "run stopped before writing anything");
    const report = finish(runId, settings, started, timings, undefined, [], [], { errorClass: fatal.errorClass, message: fatal.message });
    if (settings.mode === "sync") report.notifications = await notifyAll(deps.notifiers ?? [], toNotice(report), log);
    return report;
  }

  const applyStart = performance.now();
  const results = settings.mode === "plan" ? plannedResults(plan) : await applyPlan(plan, deps, settings, log);
  timings.applyMs = Math.round(performance.now() - applyStart);
  const report = finish(runId, settings, started, timings, plan, results, plan.problems);
  for (const failure of report.failures) {
    log.warn({ path: failure.path, destinationName: failure.destinationName, errorClass: failure.errorClass }, failure.message);
  }
  log.info({ counts: report.counts, durationMs: report.durationMs, exitCode: report.exitCode }, "run finished");
  if (settings.mode === "sync" && report.failures.length > 0) {
    report.notifications = await notifyAll(deps.notifiers ?? [], toNotice(report), log);
  }
  return report;
}

async function inventoryAndPlan(deps: RunDependencies, settings: RunSettings, log: Logger, timings: RunReport["timings"]): Promise<Plan> {
  let t = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = Math.round(now - t);
    t = now;
    return ms;
  };
  await Promise.all([deps.source.validate(), deps.destination.validate()]);
  timings.validateMs = lap();
  const [sourceInventory, destinationInventory] = await Promise.all([
    deps.source.inventory(),
    deps.destination.inventory(settings.prefix),
  ]);
  log.info(
    {
      sourceSecrets: sourceInventory.secrets.length,
      destinationSecrets: destinationInventory.secrets.length,
      method: sourceInventory.method,
      problems: sourceInventory.problems.length,
    },
    "inventories listed",
  );
  await addValueFingerprints(sourceInventory, destinationInventory, deps.destination, settings);
  timings.inventoryMs = lap();
  const plan = planSync(sourceInventory, destinationInventory, settings);
  timings.planMs = lap();
  return plan;
}

/**
 * KV v1 has no versions, so its secrets are compared by value: read the destination values of
 * the secrets we own that have a v1 counterpart (batched), and keep only an in-memory fingerprint.
 */
async function addValueFingerprints(
  source: SourceInventory,
  destination: DestinationInventory,
  dest: SecretDestination,
  settings: RunSettings,
): Promise<void> {
  const unversioned = new Set(source.secrets.filter((s) => s.version === null).map((s) => `${settings.prefix}/${s.path}`));
  if (unversioned.size === 0) return;
  const owned = destination.secrets.filter(
    (d) => unversioned.has(d.name) && !d.deletedDate && ownershipOf(d.tags, settings.syncName) === "ours",
  );
  if (owned.length === 0) return;
  const values = await dest.readValues(owned.map((d) => d.name));
  for (const d of owned) {
    const value = values.get(d.name);
    if (value !== undefined) d.fingerprint = secretStringFingerprint(value);
  }
}

function plannedResults(plan: Plan): ActionResult[] {
  return plan.actions.map((action) => ({ action, outcome: action.failure ? "failed" : "planned" }));
}

async function applyPlan(plan: Plan, deps: RunDependencies, settings: RunSettings, log: Logger): Promise<ActionResult[]> {
  const limit = pLimit(settings.concurrency);
  const writes = plan.actions.filter((a) => a.type === "create" || a.type === "update");
  let done = 0;
  const outcomes = new Map<PlannedAction, ActionResult>();
  await Promise.all(
    writes.map((action) =>
      limit(async () => {
        if (settings.deadline !== undefined && Date.now() >= settings.deadline) {
          outcomes.set(action, { action, outcome: "deferred" });
        } else {
          outcomes.set(action, await applyAction(action, deps, settings, log));
        }
        deps.onProgress?.(++done, writes.length);
      }),
    ),
  );
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
  const tags = action.tags ?? {};
  const needsValue = action.type === "create" || action.changes?.includes("value") === true;
  let data: SecretData | undefined;
  let secretString: string | undefined;
  try {
    if (needsValue) {
      data = await deps.source.readValue(action.sourcePath, action.sourceVersion);
      secretString = renderSecretString(data);
      const tooLarge = sizeProblem(secretString);
      if (tooLarge) throw new SyncError("too-large", `${action.sourcePath}: ${tooLarge}`, action.sourcePath);
    }
    // KV v1 has no version to derive a token from; its value comparison already makes a retry a
    // no-op, so a fresh token is safe there.
    const requestToken = action.requestToken ?? randomUUID();
    if (action.type === "create" && secretString !== undefined) {
      await deps.destination.create({
        name: action.destinationName,
        secretString,
        requestToken,
        tags,
        ...(settings.kmsKeyId ? { kmsKeyId: settings.kmsKeyId } : {}),
        ...(settings.description ? { description: settings.description } : {}),
      });
    } else {
      // Value first, tags second: if we stop in between, the stale version tag makes the next run
      // retry the put with the same token, which AWS treats as a no-op.
      if (secretString !== undefined) {
        await deps.destination.putValue({ name: action.destinationName, secretString, requestToken });
      }
      await deps.destination.tag(action.destinationName, tags);
    }
    log.info(
      { path: action.sourcePath, destinationName: action.destinationName, version: action.sourceVersion, action: action.type },
      action.type === "create" ? "created" : "updated",
    );
    return { action, outcome: "done" };
  } catch (error) {
    const secrets = [...stringLeaves(data), ...(secretString ? [secretString] : [])];
    const failure = asSyncError(error, "destination-write-failed", secrets, action.sourcePath);
    return { action, outcome: "failed", error: { errorClass: failure.errorClass, message: failure.message } };
  }
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
  const counts = { create: 0, update: 0, unchanged: 0, conflict: 0, skip: 0, failed: failures.length, deferred: 0 };
  for (const r of results) {
    if (r.outcome === "deferred") {
      counts.deferred += 1;
      continue;
    }
    if (r.outcome === "failed" && (r.action.type === "create" || r.action.type === "update")) continue;
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
