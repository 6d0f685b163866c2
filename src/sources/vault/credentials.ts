// Where the Vault address and token come from, in the order operators expect from the Vault and
// OpenBao CLIs: explicit config, then BAO_*, then VAULT_*, then ~/.vault-token.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { SyncError } from "../../core/errors.js";

export interface VaultConnectionInput {
  address?: string;
  token?: string;
  tokenFile?: string;
}

/** The configured address, else $BAO_ADDR, else $VAULT_ADDR; undefined when none is set. */
export function vaultAddress(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  // `||`, not `??`: an empty value (a blank config key, `export VAULT_ADDR=`) means "not set".
  return configured || env.BAO_ADDR || env.VAULT_ADDR || undefined;
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
