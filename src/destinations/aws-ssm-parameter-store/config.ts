// Parameter Store's own settings under `destination:` (type aws-ssm-parameter-store): where and as
// whom it writes, the key, the tier and rate limits. The settings every destination shares
// (prefix, name template, value shape, tags) are config/'s. Deletion is `policies.deletion`, where
// only retain and delete apply: Parameter Store deletes at once, with no recovery window, and its
// listing cannot show an orphan mark.
import { z } from "zod";
import { assumeRoleSchema } from "../aws-common/config.js";
import { DEFAULT_RATE_LIMITS, type ApiFamily } from "./quotas.js";

const perSecond = (family: ApiFamily, description: string) =>
  z.number().positive().max(10_000).optional().meta({ description, documentedDefault: `\`${DEFAULT_RATE_LIMITS[family]}\`` });

export const PARAMETER_STORE_TYPE = "aws-ssm-parameter-store";

export const parameterStoreConfigFields = {
  region: z.string().min(1).optional().meta({ description: "The AWS Region to write to; never a guess.", documentedDefault: "the AWS SDK's resolution ($AWS_REGION, profile ...)" }),
  profile: z.string().min(1).optional().describe("A named AWS profile."),
  assumeRole: assumeRoleSchema.optional(),
  kmsKeyId: z.string().min(1).optional().meta({ description: "KMS key (id, ARN or alias) for the SecureString parameters.", documentedDefault: "the account's `alias/aws/ssm`" }),
  tier: z
    .enum(["standard", "advanced", "auto"], { error: "must be standard, advanced or auto (advanced parameters are billed)" })
    .default("standard")
    .describe("standard: values up to 4 KB, free; advanced: up to 8 KB, billed per parameter and month; auto: standard unless a value needs advanced (each parameter it makes advanced costs money)."),
  maxAttempts: z.number().int().min(1).max(20).default(6).describe("Attempts per call on throttling, 5xx and network errors, where a retry is safe."),
  rateLimits: z
    .strictObject({
      write: perSecond("write", "PutParameter, LabelParameterVersion."),
      read: perSecond("read", "GetParameters, GetParameterHistory, GetParametersByPath."),
      list: perSecond("list", "DescribeParameters."),
      tag: perSecond("tag", "ListTagsForResource, AddTagsToResource, RemoveTagsFromResource."),
      delete: perSecond("delete", "DeleteParameter."),
    })
    .default({})
    .describe("Client-side requests per second per API family, per process."),
};

/** This provider's parsed settings (the shared destination settings left out). */
export type ParameterStoreConfig = z.output<z.ZodObject<typeof parameterStoreConfigFields>>;
