// The run report: what every runtime (CLI, service, Lambda) prints, returns or notifies.
// Built from names, versions, classes and messages only.
import type { ErrorClass } from "../core/errors.js";
import type { ResolvedMapping } from "../core/mapping.js";
import { isValueWrite, type ActionResult, type AppliedWrite, type InventoryProblem, type PlannedAction, type SourceListingMethod } from "../core/model.js";
import type { DestinationProfile } from "../core/profile.js";
import { appliedWrite } from "../core/writes.js";

export type RunMode = "plan" | "sync";

export interface Failure {
  path: string;
  destinationName?: string;
  errorClass: ErrorClass;
  message: string;
}

export interface RunCounts {
  create: number;
  update: number;
  unchanged: number;
  conflict: number;
  skip: number;
  restore: number;
  adopt: number;
  drift: number;
  delete: number;
  orphan: number;
  released: number;
  release: number;
  reclaim: number;
  failed: number;
  deferred: number;
}

export function emptyCounts(): RunCounts {
  return { create: 0, update: 0, unchanged: 0, conflict: 0, skip: 0, restore: 0, adopt: 0, drift: 0, delete: 0, orphan: 0, released: 0, release: 0, reclaim: 0, failed: 0, deferred: 0 };
}

export interface RunReport {
  runId: string;
  syncName: string;
  /** The config's target (account, Region, prefixes) the run wrote to; DEFAULT_TARGET without `targets`. */
  target: string;
  mode: RunMode;
  /** Set by `release` and `adopt` (mode plan: --dry-run). */
  command?: "release" | "adopt";
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  sourceMethod?: SourceListingMethod;
  /** 0 all done; 1 one or more secrets failed; 2 the run could not start (nothing written). */
  exitCode: 0 | 1 | 2;
  /** Set when the run stopped before writing: source or destination unusable. */
  fatal?: { errorClass: ErrorClass; message: string };
  /** create/update count what was done (sync) or planned (plan); deferred: writes not started before the deadline. */
  counts: RunCounts;
  results: ActionResult[];
  problems: InventoryProblem[];
  failures: Failure[];
  /** Not failures (the exit code stays 0): the plan's own (a scope that lists nothing) and each action's. */
  warnings: string[];
  notifications?: { sent: string[]; failed: { kind: string; message: string }[] };
  /** Where the time went, in milliseconds. */
  timings: { validateMs?: number; inventoryMs?: number; planMs?: number; applyMs?: number };
}

export function collectFailures(results: ActionResult[], problems: InventoryProblem[]): Failure[] {
  const failures: Failure[] = problems.map((p) => ({ path: p.path, errorClass: p.errorClass, message: p.message }));
  for (const r of results) {
    const error = r.error ?? r.action.failure;
    if (!error) continue;
    failures.push({ path: r.action.sourcePath, destinationName: r.action.destinationName, errorClass: error.errorClass, message: error.message });
  }
  return failures;
}

/** A report as printed for machines: each value write with the tags and request token it writes. */
export type PrintedReport = Omit<RunReport, "results"> & { results: (Omit<ActionResult, "action"> & { action: PlannedAction | AppliedWrite })[] };

/**
 * The report with each value write's tags and request token derived (the plan keeps only what
 * they derive from): what `--json` prints, the same fields a plan held before.
 */
export function withWriteFields(report: RunReport, mappings: readonly ResolvedMapping[], profile: DestinationProfile): PrintedReport {
  const byLabel = new Map(mappings.map((m) => [m.label, m]));
  return {
    ...report,
    results: report.results.map((r) => {
      const mapping = byLabel.get(r.action.mapping);
      return isValueWrite(r.action) && mapping ? { ...r, action: appliedWrite(r.action, mapping, profile) } : r;
    }),
  };
}
