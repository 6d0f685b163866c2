// The config of `destination.type: aws-ssm-parameter-store`, to be registered beside the Secrets
// Manager destination's. Deletion defaults to retain: Parameter Store deletes at once, with no
// recovery window, and the listing cannot show an orphan mark, so `tag` is not offered.
import { z } from "zod";

export const parameterStoreDestinationSchema = z.strictObject({
  type: z.literal("aws-ssm-parameter-store"),
  /** Parameters are named `/<prefix>/<path>` (or the mapping's template under `/<prefix>/`). */
  prefix: z.string().min(1).default("hybrid-aws-secrets"),
  region: z.string().min(1).optional(),
  /** KMS key (id, ARN or alias) for the SecureString parameters; default the account's alias/aws/ssm. */
  kmsKeyId: z.string().min(1).optional(),
  /**
   * standard: values up to 4 KB, free. advanced: up to 8 KB, billed per parameter and month.
   * auto: standard unless a value needs advanced; each parameter it makes advanced costs money.
   */
  tier: z.enum(["standard", "advanced", "auto"], { error: "must be standard, advanced or auto (advanced parameters are billed)" }).default("standard"),
  deletion: z
    .strictObject({
      /** retain: report only. delete: DeleteParameter at once, no recovery window, behind the blast-radius guard. */
      strategy: z.enum(["retain", "delete"], { error: "must be retain or delete (Parameter Store has no recovery window and no orphan mark)" }).default("retain"),
    })
    .default({ strategy: "retain" }),
  rateLimits: z
    .strictObject({
      write: z.number().positive().optional(),
      read: z.number().positive().optional(),
      list: z.number().positive().optional(),
      tag: z.number().positive().optional(),
      delete: z.number().positive().optional(),
    })
    .optional(),
});

export type ParameterStoreDestinationConfig = z.infer<typeof parameterStoreDestinationSchema>;
