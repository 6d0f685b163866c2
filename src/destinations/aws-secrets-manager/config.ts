// AWS Secrets Manager's own settings under `destination:` (type aws-secrets-manager): where and as
// whom it writes, its key, replicas, resource policy and rate limits. The settings every
// destination shares (prefix, name template, value shape, tags) are config/'s.
import { z } from "zod";
import { assumeRoleSchema } from "../aws-common/config.js";

export const SECRETS_MANAGER_TYPE = "aws-secrets-manager";

export const resourcePolicySchema = z
  .union([z.string().min(2), z.record(z.string(), z.unknown())], { error: "a JSON policy document (object) or its text" })
  .transform((p, ctx) => {
    let text = typeof p === "string" ? p : JSON.stringify(p);
    try {
      text = JSON.stringify(JSON.parse(text));
    } catch {
      ctx.addIssue({ code: "custom", message: "is not valid JSON" });
      return z.NEVER;
    }
    if (text.length > 20_480) ctx.addIssue({ code: "custom", message: `is ${text.length} characters; AWS allows 20,480` });
    return text;
  });

/** Requests per second by API family (see api-families.ts); unset families use the defaults. */
export const rateLimitsSchema = z.strictObject({
  write: z.number().positive().max(10_000).optional(),
  tag: z.number().positive().max(10_000).optional(),
  list: z.number().positive().max(10_000).optional(),
  "batch-read": z.number().positive().max(10_000).optional(),
  read: z.number().positive().max(100_000).optional(),
  delete: z.number().positive().max(10_000).optional(),
  other: z.number().positive().max(10_000).optional(),
});

const replicaRegionsSchema = z.array(
  z.strictObject({ region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS Region, e.g. eu-west-1"), kmsKeyId: z.string().min(1).optional() }),
);

/** What a mapping may set for itself (`mappings[i]`), over the destination's value. */
export const secretsManagerMappingFields = {
  kmsKeyId: z.string().min(1).optional(),
  description: z.string().max(2048).optional(),
  replicaRegions: replicaRegionsSchema.optional(),
  resourcePolicy: resourcePolicySchema.optional(),
};

/** This provider's own settings of `policies.deletion` (and a mapping's); the profile applies their defaults. */
export const secretsManagerDeletionFields = {
  /** 7-30 days; AWS's default 30. */
  recoveryWindowDays: z.number().int().min(7, "AWS allows 7-30 days").max(30, "AWS allows 7-30 days").optional(),
  /** Delete at once, without a recovery window. Explicit only. */
  forceDeleteWithoutRecovery: z.boolean().optional(),
};

export const secretsManagerConfigFields = {
  /** Default: the SDK's own resolution ($AWS_REGION, profile ...). */
  region: z.string().min(1).optional(),
  profile: z.string().min(1).optional(),
  kmsKeyId: z.string().min(1).optional(),
  description: z.string().max(2048).default("Replicated by secretbridge; do not edit: changes are overwritten."),
  maxAttempts: z.number().int().min(1).max(20).default(8),
  rateLimits: rateLimitsSchema.default({}),
  /** Resource policy on every replicated secret (e.g. member accounts reading from a central account). */
  resourcePolicy: resourcePolicySchema.optional(),
  /** Multi-Region replicas of every replicated secret, each with its own KMS key if given. */
  replicaRegions: replicaRegionsSchema.default([]),
  assumeRole: assumeRoleSchema.optional(),
};

/** This provider's parsed settings (the shared destination settings left out). */
export type SecretsManagerConfig = z.output<z.ZodObject<typeof secretsManagerConfigFields>>;
