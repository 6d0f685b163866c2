// Secrets Manager operations grouped by the quota they share, with client-side rate defaults kept
// under AWS's published per-account, per-Region quotas.

export type ApiFamily = "write" | "tag" | "list" | "batch-read" | "read" | "other";

export type RateLimits = Partial<Record<ApiFamily, number>>;

/** Requests per second per process. AWS: write 50 (not adjustable), tag 50, list 100, batch 100, read 10,000. */
export const DEFAULT_RATE_LIMITS: Record<ApiFamily, number> = {
  write: 40,
  tag: 40,
  list: 80,
  "batch-read": 80,
  read: 2_000,
  other: 40,
};

const FAMILY_BY_OPERATION: Record<string, ApiFamily> = {
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
};

export function familyOf(operation: string): ApiFamily {
  return FAMILY_BY_OPERATION[operation] ?? "other";
}
