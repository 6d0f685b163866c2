// The Lambda's credentials: a Secrets Manager secret the operator writes after deploying (nothing
// secret is in the template or the package). Its fields become the environment the CLI would read
// (VAULT_TOKEN, VAULT_SECRET_ID, VAULT_ADDR, the notification signing key, the variables the
// webhook's headers and query parameters are read from), so the config file decides the auth
// method and the notification credentials exactly as it does for `secretbridge sync`.
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import { httpUrl, type Config } from "../../config/schema.js";
import { SyncError } from "../../core/errors.js";
import { DEFAULT_SIGNING_SECRET_ENV } from "../../notify/webhook-notifier.js";

/** What the connection secret may hold. Unknown keys are refused by name (a typo is not a token). */
export const connectionSecretSchema = z.strictObject({
  /** A Vault token, for a config without `source.auth`. */
  vaultToken: z.string().optional(),
  /** An AppRole secret id, for `source.auth.method: approle` (the role id is in the config). */
  secretId: z.string().min(1).optional(),
  /** The source address, when the config sets none (lets an operator move the server without a deploy). */
  vaultAddress: httpUrl("the token goes in vaultToken (or secretId)").optional(),
  /** The key that signs webhook notifications (`notifications.webhook`), when the config asks for signing. */
  notifySigningSecret: z.string().min(1).optional(),
  /**
   * Values of the variables `notifications.webhook.headersFromEnv` and `queryFromEnv` name
   * (variable name: value): the webhook's credentials, kept out of the packaged config.
   */
  notifyEnv: z.record(z.string(), z.string().min(1)).optional(),
  /** Earlier releases wrote `auth` into this secret; only its secretId is still read from here. */
  auth: z.looseObject({ secretId: z.string().min(1).optional() }).optional(),
});
export type ConnectionSecret = z.infer<typeof connectionSecretSchema>;

export async function readConnectionSecret(client: SecretsManagerClient, name: string): Promise<ConnectionSecret> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
  } catch (error) {
    const code = (error as { name?: string }).name ?? "Error";
    throw new SyncError("source-auth", `cannot read the Vault connection secret ${name}: ${code}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text ?? "");
  } catch {
    throw new SyncError("config-invalid", `the Vault connection secret ${name} is not JSON: expected {"vaultToken": "..."} or {"secretId": "..."}`);
  }
  const parsed = connectionSecretSchema.safeParse(json);
  if (!parsed.success) {
    // Key names and what is wrong; never a value.
    const problems = parsed.error.issues.map((i) => (i.code === "unrecognized_keys" ? `unknown key(s) ${i.keys.join(", ")}` : `${i.path.join(".") || "(top level)"}: ${i.message}`));
    throw new SyncError("config-invalid", `the Vault connection secret ${name} is invalid: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/**
 * The environment a run sees: the function's own, with the connection secret's credentials in
 * the variables the CLI reads. The secret wins over a variable of the same meaning, so rotating
 * it takes effect at the next invocation.
 */
export function environmentWithConnection(env: NodeJS.ProcessEnv, config: Config, secret: ConnectionSecret, name: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  const method = config.source.auth?.method ?? "token";
  if (method === "token" && !config.source.token && !config.source.tokenFile) {
    if (!secret.vaultToken) throw new SyncError("config-invalid", `the Vault connection secret ${name} has an empty vaultToken: put the read-only token into it`);
    delete out.BAO_TOKEN;
    out.VAULT_TOKEN = secret.vaultToken;
  }
  const secretId = secret.secretId ?? secret.auth?.secretId;
  if (method === "approle" && secretId) out.VAULT_SECRET_ID = secretId;
  if (secret.vaultAddress) {
    delete out.BAO_ADDR;
    out.VAULT_ADDR = secret.vaultAddress;
  }
  if (secret.notifySigningSecret && config.notifications.webhook) {
    out[config.notifications.webhook.signingSecretEnv ?? DEFAULT_SIGNING_SECRET_ENV] = secret.notifySigningSecret;
  }
  if (secret.notifyEnv) {
    // Only the variables the config reads the webhook's credentials from: a typo is named, and the
    // secret cannot set anything else in the function's environment (NODE_OPTIONS, AWS_*).
    const hook = config.notifications.webhook;
    const named = [...new Set([...Object.values(hook?.headersFromEnv ?? {}), ...Object.values(hook?.queryFromEnv ?? {})])].sort();
    for (const [variable, value] of Object.entries(secret.notifyEnv)) {
      if (!named.includes(variable)) {
        throw new SyncError(
          "config-invalid",
          `the Vault connection secret ${name}: notifyEnv.${variable} is not a variable notifications.webhook names in headersFromEnv or queryFromEnv (${named.length ? `it names ${named.join(", ")}` : "it names none"})`,
        );
      }
      out[variable] = value;
    }
  }
  return out;
}
