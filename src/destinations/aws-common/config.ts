// Settings every AWS destination takes the same way: where a destination assumes a role to write
// into another account.
import { z } from "zod";

/** Write into another account: every destination call uses this role's temporary credentials. */
export const assumeRoleSchema = z
  .strictObject({
    roleArn: z
      .string()
      .regex(/^arn:[a-z-]+:iam::\d{12}:role\/.+$/, "an IAM role ARN, e.g. arn:aws:iam::123456789012:role/secretbridge-writer")
      .describe("The role to assume, e.g. arn:aws:iam::123456789012:role/secretbridge-writer."),
    externalId: z.string().min(2).max(1224).optional().describe("The external ID the role's trust policy requires."),
    sessionName: z
      .string()
      .regex(/^[\w+=,.@-]{2,64}$/, "2-64 characters of letters, digits and +=,.@-")
      .optional()
      .meta({ description: "2-64 characters of letters, digits and +=,.@-.", documentedDefault: "`secretbridge`" }),
    durationSeconds: z.number().int().min(900).max(43_200).default(3600).describe("How long each set of temporary credentials lasts."),
  })
  .describe("Write into another account: every destination call uses this role's temporary credentials (see docs/mappings.md, Cross-account).");
