// Lifecycle policies: what to do when a source secret is gone, when a destination secret was
// changed outside secretbridge, and when a name is taken by a secret that is not ours. Each has a
// safe default; every decision shows up in `plan` before `sync` acts on it.

import type { ProviderData } from "./model.js";

export type DeletionStrategy = "retain" | "tag" | "delete";
export type DriftPolicy = "overwrite" | "report" | "skip";
export type ConflictPolicy = "fail" | "adopt" | "adopt-if-equal" | "adopt-if-placeholder";

export interface LifecyclePolicies {
  deletion: {
    strategy: DeletionStrategy;
    /** The destination's own deletion settings as configured (e.g. a recovery window): only its profile reads them. */
    settings: ProviderData;
  };
  /**
   * A run that would delete or orphan more than this share (0-1) or this number of the secrets it
   * manages deletes nothing, unless forced or approved for that run. At most `minCount` deletions
   * never trip it (one deletion in a small estate is not a blast). Deletions of this sync's secrets
   * within the last `window` milliseconds (still pending in the destination) count with the run's,
   * so a slow trickle is held as a burst is; 0 counts the run's alone. The share is of the live
   * secrets (and those recent deletions), never of secrets already pending deletion.
   */
  blastRadius: { maxShare: number; maxCount?: number; minCount: number; window: number };
  drift: DriftPolicy;
  onConflict: ConflictPolicy;
  /**
   * With adopt-if-placeholder: the values a "shell" secret holds before its real value exists
   * (created empty by infrastructure code). A secret with no value at all is one too.
   */
  placeholderValues: readonly string[];
}

export const DEFAULT_PLACEHOLDER_VALUES: readonly string[] = ["", "{}"];

export const DEFAULT_POLICIES: LifecyclePolicies = {
  deletion: { strategy: "retain", settings: {} },
  blastRadius: { maxShare: 0.1, minCount: 2, window: 24 * 60 * 60 * 1000 },
  drift: "overwrite",
  onConflict: "fail",
  placeholderValues: DEFAULT_PLACEHOLDER_VALUES,
};
