// What the HTTP API and the status page may ask of the running service, and what the state store
// keeps: plain data in and out, names, classes and messages only (never a value).
import type { ErrorClass } from "../../core/errors.js";
import type { RunCounts } from "../../engine/report.js";
import type { RunTarget } from "../wire.js";
import { WEBHOOK_MAX_CHANGES } from "../webhook.js";
import type { LagMinute } from "./lag-history.js";

export type SecretState = "in-sync" | "pending" | "failed" | "drifted" | "conflict" | "held";

/** One destination secret as the service last saw it. */
export interface SecretStatus {
  /** Destination name (from the resolved mapping, never re-derived). */
  name: string;
  /** Source path relative to the mount. */
  path: string;
  /** The mapping's config label (`source`, `mappings[1]`). */
  mapping: string;
  /** The config's target, for a config with `targets` (the same name may be in several). */
  target?: string;
  state: SecretState;
  /** Source version the destination holds (or is pending). */
  version?: string;
  errorClass?: ErrorClass;
  /** Why it failed, as the report says it: a message a user can act on, never a value. */
  message?: string;
  /** ISO time of the last change of this row. */
  updatedAt: string;
}

export type RunKind = "full" | "targeted";

export interface RunStatus {
  runId: string;
  kind: RunKind;
  /** The config's target this run wrote to, for a config with `targets` (one run per target). */
  target?: string;
  /** What asked for it: `schedule`, `startup`, `api`, `audit`, `webhook`... (runs stored before it was kept have none). */
  trigger?: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  counts: RunCounts;
  /** Targeted runs: how many paths. */
  paths?: number;
  /** Set when the run stopped before writing (source or destination unusable). */
  fatal?: { errorClass: ErrorClass; message: string };
  /** The run's failures, first 50: path, class, message. */
  failures: { path: string; destinationName?: string; errorClass: ErrorClass; message: string }[];
}

export interface SecretQuery {
  /** 1-based. */
  page: number;
  /** 1-500. */
  pageSize: number;
  /** Case-insensitive substring of the destination name or the path. */
  filter?: string;
  state?: SecretState;
  /** One target's secrets only. */
  target?: string;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  pageSize: number;
}

/** Deletions the blast-radius guard held back, waiting for an operator's approval. */
export interface HeldDeletions {
  /** The config's target whose deletions these are, for a config with `targets`. */
  target?: string;
  /** Stable id of exactly this set (a hash of the sorted names): approving it approves these names only. */
  id: string;
  names: string[];
  reason: string;
  heldAt: string;
}

/** Changes one push may carry (a webhook body; the service looks at no more). */
export const MAX_CHANGES_PER_PUSH = WEBHOOK_MAX_CHANGES;

export interface PushResult {
  /** Changes queued for a targeted sync. */
  accepted: number;
  /** Mounts no mapping covers (webhook: 422 naming them). */
  unknownMounts: string[];
  /** Paths refused before any request: `.`, `..`, empty segments, control characters. */
  invalidPaths: { path: string; problem: string }[];
}

/** Names of a held set the overview carries at most; the count says how many there are. */
export const HELD_NAMES_SHOWN = 100;

/**
 * The status page's "at a glance": counts and settings only, never a list that grows with the
 * number of secrets, so it stays small at 100,000 of them.
 */
export interface Overview {
  syncName: string;
  version: string;
  ready: boolean;
  reason: string;
  running: boolean;
  pending: { full: boolean; paths: number };
  /** Where from and where to (no credentials); absent until the destination's identity was asked. */
  target?: RunTarget;
  /** The last full sync that did not stop (ISO). */
  lastGoodFullAt?: string;
  /** The next full sync the schedule (or a retry after a failed one) will run (ISO). */
  nextFullAt?: string;
  secrets: Record<SecretState, number>;
  /** Absent without an audit listener. */
  audit?: { connected: boolean; connections: number; changes: number };
  /** Absent without a token the service keeps (renews or logs in for). */
  token?: { method: string; usable: boolean; expiresAt?: string };
  held?: HeldView;
  mappings: MappingView[];
  /**
   * For a config with `targets`, one entry each (the top level then sums the secrets and has no
   * `target`, `lastGoodFullAt` or `held` of its own).
   */
  targets?: TargetOverview[];
  /** For a config with `targets`: the source every target reads (no credentials), once a target's identity was asked. */
  source?: RunTarget["source"];
}

/** A held set as the overview shows it: the first HELD_NAMES_SHOWN names and how many there are. */
export type HeldView = Omit<HeldDeletions, "names"> & { names: string[]; count: number };

export interface MappingView {
  label: string;
  mount: string;
  path: string;
  prefix: string;
  /** For a config with `targets`. */
  target?: string;
}

/** One target of a config with `targets`, as the overview shows it. */
export interface TargetOverview {
  name: string;
  ready: boolean;
  reason: string;
  /** Where it writes (no credentials); absent until the destination's identity was asked. */
  destination?: RunTarget["destination"];
  lastGoodFullAt?: string;
  secrets: Record<SecretState, number>;
  held?: HeldView;
}

export interface ServiceControl {
  readonly syncName: string;
  mappings(): MappingView[];
  /** /readyz: ready after a successful full sync while source and destination are usable; else why not. */
  readiness(): { ready: boolean; reason: string };
  metrics(): Promise<{ contentType: string; body: string }>;
  /**
   * `held`: the held set of `target` (for a config without `targets`, its only one). `targets`:
   * the config's target names, for a config with `targets`.
   */
  summary(target?: string): { ready: boolean; reason: string; running: boolean; pending: { full: boolean; paths: number }; held?: HeldDeletions; targets?: string[] };
  /** The newest runs first, of one kind and one target (of a config with `targets`) when asked. */
  runs(limit: number, kind?: RunKind, target?: string): RunStatus[];
  overview(): Promise<Overview>;
  /** The propagation lag of the last hour, by minute. */
  lag(): LagMinute[];
  /** Server-side paging and filtering (the store may answer asynchronously). */
  secrets(query: SecretQuery): Page<SecretStatus> | Promise<Page<SecretStatus>>;
  requestFull(reason: string): void;
  /** Changes from a push (webhook, audit stream), validated before anything is queued. */
  push(changes: { mount: string; path: string }[], origin: "webhook" | "audit"): PushResult;
  /** Approves exactly the held set with this id (of this target) for the next run; false when no such set is held. */
  approveDeletions(id: string, target?: string): boolean;
}
