// Parameter Store operations grouped by the throughput they share, with client-side defaults.
// AWS's default ("standard") throughput is shared by GetParameter, GetParameters and PutParameter
// per account and Region and is far below Secrets Manager's; higher throughput is a paid account
// setting. The defaults stay low so a sync never crowds out the applications reading parameters.
// Published default: 40/s shared by GetParameter, GetParameters and GetParametersByPath (reads get
// half of it). PutParameter's default was not confirmed in the sources at hand: writes stay at a
// conservative 3/s until it is; `destination.rateLimits` overrides any family.
import type { SsmOperation } from "./ssm-api.js";

export type ApiFamily = "write" | "read" | "list" | "tag" | "delete";

/** Requests per second per family; families left out keep their default. */
export type RateLimits = Partial<Record<ApiFamily, number>>;

export const DEFAULT_RATE_LIMITS: Readonly<Record<ApiFamily, number>> = {
  write: 3,
  read: 20,
  list: 10,
  tag: 5,
  delete: 3,
};

const FAMILY: Readonly<Record<SsmOperation, ApiFamily>> = {
  PutParameter: "write",
  LabelParameterVersion: "write",
  GetParameters: "read",
  GetParameterHistory: "read",
  GetParametersByPath: "read",
  DescribeParameters: "list",
  ListTagsForResource: "tag",
  AddTagsToResource: "tag",
  RemoveTagsFromResource: "tag",
  DeleteParameter: "delete",
};

export function familyOf(operation: SsmOperation): ApiFamily {
  return FAMILY[operation];
}
