// `release` and `adopt`: list both sides as `plan` does (metadata only), plan the cutover (pure,
// `core/cutover.ts`) and carry it out through the destination's own `apply`, one tag write and
// one untag per secret. No value is read or written on either side.
import { randomUUID } from "node:crypto";
import { SyncError } from "../core/errors.js";
import { planCutover, type CutoverCommand, type CutoverSelection } from "../core/cutover.js";
import { DEFAULT_TARGET, type ActionResult, type Plan } from "../core/model.js";
import type { RunReport } from "./report.js";
import { applyPlan, asSyncError, finish, inventories, type MappingSource, type RunDependencies } from "./run.js";

export interface CutoverOptions {
  command: CutoverCommand;
  selection: CutoverSelection;
  /** Plan only: print what would be done, write nothing. */
  dryRun: boolean;
  concurrency: number;
  target?: string;
  /** The release time recorded; default now. */
  now?: Date;
}

export async function cutover(deps: RunDependencies, mappings: MappingSource[], options: CutoverOptions): Promise<RunReport> {
  const runId = randomUUID();
  const started = new Date();
  const syncName = mappings[0]?.mapping.syncName;
  if (syncName === undefined) throw new SyncError("config-invalid", "no mapping to run");
  const target = options.target ?? DEFAULT_TARGET;
  const mode = options.dryRun ? "plan" : "sync";
  const log = deps.logger.child({ runId, sync: syncName, target, mode: options.command });
  const timings: RunReport["timings"] = {};
  const header = { runId, syncName, target, mode, started } as const;
  let plan: Plan;
  try {
    const inputs = await inventories(deps, mappings, { mode: "plan", concurrency: options.concurrency }, log, timings);
    const t = performance.now();
    plan = planCutover(inputs, deps.destination.profile, options.command, options.selection, options.now ?? new Date());
    timings.planMs = Math.round(performance.now() - t);
  } catch (error) {
    const fatal = asSyncError(error, "source-unavailable", []);
    return { ...finish(header, timings, undefined, [], [], { path: mappings[0]?.mapping.source.mount ?? "", errorClass: fatal.errorClass, message: fatal.message }), command: options.command };
  }
  // An incomplete listing is reported, but what it did list is acted on: a release only removes
  // tags from secrets proven ours, so a missing path can only mean one secret fewer released.
  const bySource = new Map(mappings.map((m) => [m.mapping.label, m]));
  const t = performance.now();
  const results = options.dryRun
    ? plan.actions.map((action): ActionResult => ({ action, outcome: action.failure ? "failed" : "planned" }))
    : await applyPlan(plan, deps, bySource, { mode: "sync", concurrency: options.concurrency }, log);
  timings.applyMs = Math.round(performance.now() - t);
  const report = { ...finish(header, timings, plan, results, plan.problems), command: options.command };
  log.info({ counts: report.counts, exitCode: report.exitCode }, `${options.command} finished`);
  return report;
}
