// AWS Secrets Manager's own settings under `destination:` (type aws-secrets-manager): where and as
// whom it writes, its key, replicas, resource policy and rate limits. The settings every
// destination shares (prefix, name template, value shape, tags) are config/'s.
import { z } from "zod";
import { assumeRoleSchema } from "../aws-common/config.js";
import { DEFAULT_RATE_LIMITS, type ApiFamily } from "./api-families.js";

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
const perSecond = (family: ApiFamily, max: number, description: string) =>
  z.number().positive().max(max).optional().meta({ description, documentedDefault: `\`${DEFAULT_RATE_LIMITS[family]}\`` });
export const rateLimitsSchema = z.strictObject({
  write: perSecond("write", 10_000, "CreateSecret, PutSecretValue, replication calls (AWS quota: 50/s combined, not adjustable)."),
  tag: perSecond("tag", 10_000, "TagResource, UntagResource (AWS: 50/s)."),
  list: perSecond("list", 10_000, "ListSecrets (AWS: 100/s)."),
  "batch-read": perSecond("batch-read", 10_000, "BatchGetSecretValue (AWS: 100/s)."),
  read: perSecond("read", 100_000, "GetSecretValue, DescribeSecret (AWS: 10,000/s)."),
  delete: perSecond("delete", 10_000, "DeleteSecret, RestoreSecret."),
  other: perSecond("other", 10_000, "Every other call (PutResourcePolicy, DeleteResourcePolicy ...)."),
});

const replicaRegionsSchema = z.array(
  z.strictObject({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "an AWS Region, e.g. eu-west-1").describe("The replica's Region, e.g. eu-central-1."),
    kmsKeyId: z.string().min(1).optional().describe("A KMS key in that Region for the replica."),
  }),
);

/** What a mapping may set for itself (`mappings[i]`), over the destination's value. */
export const secretsManagerMappingFields = {
  kmsKeyId: z.string().min(1).optional().meta({ description: "KMS key for this mapping's secrets, set when a secret is created.", documentedDefault: "`destination.kmsKeyId`" }),
  description: z.string().max(2048).optional().meta({ description: "Description of this mapping's secrets, set when a secret is created.", documentedDefault: "`destination.description`" }),
  replicaRegions: replicaRegionsSchema.optional().meta({ description: "Multi-Region replicas of this mapping's secrets; replaces the destination's when set.", documentedDefault: "`destination.replicaRegions`" }),
  resourcePolicy: resourcePolicySchema.optional().meta({ description: "Resource policy on this mapping's secrets.", documentedDefault: "`destination.resourcePolicy`" }),
};

/** This provider's own settings of `policies.deletion` (and a mapping's); the profile applies their defaults. */
export const secretsManagerDeletionFields = {
  recoveryWindowDays: z
    .number()
    .int()
    .min(7, "AWS allows 7-30 days")
    .max(30, "AWS allows 7-30 days")
    .optional()
    .meta({ description: "Days a deleted secret can still be restored.", documentedDefault: "`30`" }),
  forceDeleteWithoutRecovery: z.boolean().optional().meta({ description: "Delete at once, without a recovery window. Explicit only.", documentedDefault: "`false`" }),
};

export const secretsManagerConfigFields = {
  region: z.string().min(1).optional().meta({ description: "The AWS Region to write to.", documentedDefault: "the AWS SDK's resolution ($AWS_REGION, profile ...)" }),
  profile: z.string().min(1).optional().describe("A named AWS profile."),
  kmsKeyId: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Key id, key ARN, alias or alias ARN; set when a secret is created.", documentedDefault: "`aws/secretsmanager`" }),
  description: z.string().max(2048).default("Replicated by secretbridge; do not edit: changes are overwritten.").describe("Set when a secret is created."),
  maxAttempts: z.number().int().min(1).max(20).default(8).describe("AWS SDK standard retry mode: backoff with jitter on throttling and 5xx."),
  rateLimits: rateLimitsSchema.default({}).describe("Client-side requests per second per API family, per process."),
  resourcePolicy: resourcePolicySchema
    .optional()
    .describe("A policy document or its JSON text (up to 20,480 characters) on every replicated secret (e.g. member accounts reading from a central account); removed when unset again."),
  replicaRegions: replicaRegionsSchema.default([]).describe("Multi-Region replicas: added on create, added and removed later to match."),
  assumeRole: assumeRoleSchema.optional(),
};

/** This provider's parsed settings (the shared destination settings left out). */
export type SecretsManagerConfig = z.output<z.ZodObject<typeof secretsManagerConfigFields>>;
