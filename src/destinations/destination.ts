// The contract every destination system implements: list (names and tags only), read values for
// the few comparisons a plan needs, and carry out one planned write in the system's own API order.
// What to write, and whether a secret is ours, is decided by the core planner from the inventory
// and the destination's profile; a destination never decides policy.
import type { SyncError } from "../core/errors.js";
import type { AppliedWrite, DestinationInventory, DestinationRef } from "../core/model.js";
import type { DestinationProfile } from "../core/profile.js";
import type { RenderedValue } from "../core/value.js";

/**
 * Where a destination writes, as far as it can tell: shown before a run, so a valid but wrong
 * account or Region is seen before anything is written.
 */
export interface DestinationTarget {
  /** The service, for people: `AWS Secrets Manager`. */
  service: string;
  /** The account the credentials write into; null when it could not be read (`accountUnknown` says why). */
  account: string | null;
  accountUnknown?: string;
  region: string | null;
}

/** One value read: the string, or why it could not be read (for that secret only). */
export type ValueRead = { value: string } | { error: SyncError };

export interface SecretDestination {
  /** Name rules, value and tag limits: what the planner checks before anything is written. */
  readonly profile: DestinationProfile;
  /**
   * Proves the destination answers and accepts the credentials.
   * Throws SyncError with class destination-unavailable / destination-auth.
   */
  validate(): Promise<void>;
  /**
   * Every secret whose name starts with `prefix/`, with tags; paginated, no per-secret calls. The
   * objects are the run's: it may replace a tag value by an equal string (one copy in memory).
   */
  inventory(prefix: string): Promise<DestinationInventory>;
  /** Metadata of just these names (push triggers); names that do not exist are left out. */
  describe(names: string[]): Promise<DestinationInventory>;
  /**
   * Current string values of these secrets, batched (KV v1 comparison, adopt-if-equal, adopt-if-placeholder, verify),
   * by name. Each is read by its ARN when it has one (as listed), else by its name. A secret
   * that cannot be read is an error for that name only; names that do not exist and binary
   * values are left out. Throws only when the destination as a whole is unusable (a fatal class).
   */
  readValues(secrets: DestinationRef[]): Promise<Map<string, ValueRead>>;
  /**
   * Carries out one write action of a plan (create, update, restore, adopt, delete, orphan) in
   * this destination's API order. `value` renders the source value; it is called only when the
   * action writes a value. Retried or repeated with the same action, the result is the same
   * (request tokens make value writes exactly-once). Throws SyncError naming the secret.
   */
  apply(action: AppliedWrite, value: () => Promise<RenderedValue>): Promise<void>;
  /** Where this destination writes. Never throws: what could not be found out is part of the answer. */
  target(): Promise<DestinationTarget>;
  close(): Promise<void>;
}
