// Secrets Manager operations grouped by the request quota they share, with client-side rate
// defaults kept under AWS's published per-account, per-Region quotas (a process that stays under
// its quota rarely sees ThrottlingException, so retries stay for real faults).

export type ApiFamily = "write" | "tag" | "list" | "batch-read" | "read" | "delete" | "other";

/** Requests per second per family; families left out keep their default. */
export type RateLimits = Partial<Record<ApiFamily, number>>;

/**
 * AWS's quotas (requests per second, per account and Region) at the time of writing. `write` is
 * one combined, non-adjustable quota for PutSecretValue, UpdateSecret, UpdateSecretVersionStage
 * and the replication APIs; we count CreateSecret in it too, to stay on the safe side.
 */
export const AWS_QUOTAS: Readonly<Record<ApiFamily, number>> = {
  write: 50,
  tag: 50,
  list: 100,
  "batch-read": 100,
  read: 10_000,
  delete: 50,
  other: 50,
};

/**
 * Client-side defaults, about 80% of each quota so a second process (or a person at the console)
 * still has headroom. `read` is far below its quota: a sync reads few values, and thousands per
 * second would only hide a bug.
 */
export const DEFAULT_RATE_LIMITS: Readonly<Record<ApiFamily, number>> = {
  write: 40,
  tag: 40,
  list: 80,
  "batch-read": 80,
  read: 2_000,
  delete: 40,
  other: 40,
};

const FAMILY_BY_OPERATION: Readonly<Record<string, ApiFamily>> = {
  CreateSecret: "write",
  PutSecretValue: "write",
  UpdateSecret: "write",
  UpdateSecretVersionStage: "write",
  ReplicateSecretToRegions: "write",
  RemoveRegionsFromReplication: "write",
  StopReplicationToReplica: "write",
  TagResource: "tag",
  UntagResource: "tag",
  ListSecrets: "list",
  BatchGetSecretValue: "batch-read",
  GetSecretValue: "read",
  DescribeSecret: "read",
  DeleteSecret: "delete",
  RestoreSecret: "delete",
};

/** The family of an operation name such as `ListSecrets` (without `Command`); unknown ones are `other`. */
export function familyOf(operation: string): ApiFamily {
  return FAMILY_BY_OPERATION[operation] ?? "other";
}
