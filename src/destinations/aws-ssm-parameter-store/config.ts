// Parameter Store's own settings under `destination:` (type aws-ssm-parameter-store): where and as
// whom it writes, the key, the tier and rate limits. The settings every destination shares
// (prefix, name template, value shape, tags) are config/'s. Deletion is `policies.deletion`, where
// only retain and delete apply: Parameter Store deletes at once, with no recovery window, and its
// listing cannot show an orphan mark.
import { z } from "zod";
import { assumeRoleSchema } from "../aws-common/config.js";

export const PARAMETER_STORE_TYPE = "aws-ssm-parameter-store";

export const parameterStoreConfigFields = {
  /** Default: the SDK's own resolution ($AWS_REGION, profile ...); never a guess. */
  region: z.string().min(1).optional(),
  profile: z.string().min(1).optional(),
  assumeRole: assumeRoleSchema.optional(),
  /** KMS key (id, ARN or alias) for the SecureString parameters; default the account's alias/aws/ssm. */
  kmsKeyId: z.string().min(1).optional(),
  /**
   * standard: values up to 4 KB, free. advanced: up to 8 KB, billed per parameter and month.
   * auto: standard unless a value needs advanced; each parameter it makes advanced costs money.
   */
  tier: z.enum(["standard", "advanced", "auto"], { error: "must be standard, advanced or auto (advanced parameters are billed)" }).default("standard"),
  /** Attempts per call on throttling, 5xx and network errors, where a retry is safe. */
  maxAttempts: z.number().int().min(1).max(20).default(6),
  rateLimits: z
    .strictObject({
      write: z.number().positive().max(10_000).optional(),
      read: z.number().positive().max(10_000).optional(),
      list: z.number().positive().max(10_000).optional(),
      tag: z.number().positive().max(10_000).optional(),
      delete: z.number().positive().max(10_000).optional(),
    })
    .default({}),
};

/** This provider's parsed settings (the shared destination settings left out). */
export type ParameterStoreConfig = z.output<z.ZodObject<typeof parameterStoreConfigFields>>;
