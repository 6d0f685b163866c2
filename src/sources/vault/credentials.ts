// Where the Vault address, namespace, CA certificate and token come from, in the order operators
// expect from the Vault and OpenBao CLIs: explicit config, then BAO_*, then VAULT_*, then (for
// the token) ~/.vault-token.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { SyncError } from "../../core/errors.js";
import { hasUserinfo } from "../../util/url.js";

export interface VaultConnectionInput {
  address?: string;
  token?: string;
  tokenFile?: string;
}

/** The configured value, else the first of `variables` that is set, and which one it was. */
function configuredOrEnv(configured: string | undefined, variables: readonly string[], env: NodeJS.ProcessEnv): { value: string; variable?: string } | undefined {
  // `||`, not `??`: an empty value (a blank config key, `export VAULT_ADDR=`) means "not set".
  if (configured) return { value: configured };
  const variable = variables.find((name) => env[name]);
  return variable ? { value: env[variable] ?? "", variable } : undefined;
}

/** Where the source's credentials go: never in its address. */
export const SOURCE_CREDENTIALS_GO = "the token goes in source.auth, source.tokenFile, $VAULT_TOKEN or the Lambda's connection secret";

/**
 * The configured address, else $BAO_ADDR, else $VAULT_ADDR; undefined when none is set. The one
 * place an address is resolved, so the one place it is refused when it holds a user name or
 * password: userinfo would travel into every tag, report, log line and health answer that names
 * the server. `configuredAs` names where `configured` came from, for the message.
 */
export function vaultAddress(configured: string | undefined, env: NodeJS.ProcessEnv = process.env, configuredAs = "source.address"): string | undefined {
  const found = configuredOrEnv(configured, ["BAO_ADDR", "VAULT_ADDR"], env);
  if (found && hasUserinfo(found.value)) {
    throw new SyncError("config-invalid", `${found.variable ? `$${found.variable}` : configuredAs} must not hold a user name or password (user:pass@host): ${SOURCE_CREDENTIALS_GO}`);
  }
  return found?.value;
}

/** The configured namespace, else $BAO_NAMESPACE, else $VAULT_NAMESPACE; undefined for the root namespace. */
export function vaultNamespace(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return configuredOrEnv(configured, ["BAO_NAMESPACE", "VAULT_NAMESPACE"], env)?.value;
}

/** The CA certificate file to trust: the configured one, else $BAO_CACERT, else $VAULT_CACERT; `from` names where it was set. */
export function vaultCaCertFile(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): { path: string; from: string } | undefined {
  const found = configuredOrEnv(configured, ["BAO_CACERT", "VAULT_CACERT"], env);
  return found && { path: found.value, from: found.variable ? `$${found.variable}` : "source.tls.caCertFile" };
}

/** The PEM text of a CA certificate file; config-invalid, naming where the file was set, when it cannot be read. */
export function readCaCert(file: { path: string; from: string }): string {
  try {
    return readFileSync(file.path, "utf8");
  } catch (error) {
    throw new SyncError("config-invalid", `${file.from}: cannot read ${file.path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

export function requireVaultAddress(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const address = vaultAddress(configured, env);
  if (!address) throw new SyncError("config-invalid", "source.address is not set: set it in the config, or export BAO_ADDR or VAULT_ADDR");
  return address;
}

/** The token in `source.tokenFile`, trimmed; config-invalid when the file cannot be read or is empty. */
export function readTokenFile(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, "utf8").trim();
  } catch (error) {
    throw new SyncError("config-invalid", `source.tokenFile: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
  if (!token) throw new SyncError("config-invalid", `source.tokenFile: ${path} is empty`);
  return token;
}

/**
 * The address and the token; `tokenFile` is set when the token came from that file, which
 * something else may rewrite (a Vault Agent sink), so the caller keeps reading it.
 */
export function resolveVaultConnection(input: VaultConnectionInput, env: NodeJS.ProcessEnv = process.env): { address: string; token: string; tokenFile?: string } {
  const address = requireVaultAddress(input.address, env);
  if (!input.token && input.tokenFile) return { address, token: readTokenFile(input.tokenFile), tokenFile: input.tokenFile };
  let token = input.token;
  if (!token) token = env.BAO_TOKEN || env.VAULT_TOKEN || undefined;
  if (!token) {
    const file = join(env.HOME ?? homedir(), ".vault-token");
    if (existsSync(file)) token = readFileSync(file, "utf8").trim() || undefined;
  }
  if (!token) {
    throw new SyncError(
      "config-invalid",
      "no Vault token: set source.tokenFile (or source.auth), or export BAO_TOKEN or VAULT_TOKEN, or log in so ~/.vault-token exists",
    );
  }
  return { address, token };
}
