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

export function resolveVaultConnection(input: VaultConnectionInput, env: NodeJS.ProcessEnv = process.env): { address: string; token: string } {
  const address = requireVaultAddress(input.address, env);
  let token = input.token;
  if (!token && input.tokenFile) {
    try {
      token = readFileSync(input.tokenFile, "utf8").trim();
    } catch (error) {
      throw new SyncError("config-invalid", `source.tokenFile: cannot read ${input.tokenFile} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
    }
    if (!token) throw new SyncError("config-invalid", `source.tokenFile: ${input.tokenFile} is empty`);
  }
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
