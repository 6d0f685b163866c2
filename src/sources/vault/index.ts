// Vault / OpenBao KV source: the public surface of this folder.
export { VaultKvSource, type VaultSourceOptions } from "./vault-source.js";
export { VaultHttp, staticToken, type TokenSource, type VaultHttpOptions, type VaultOperation, type VaultResponse, type VaultTlsOptions } from "./http.js";
export { readCaCert, resolveVaultConnection, requireVaultAddress, vaultAddress, vaultCaCertFile, vaultNamespace, type VaultConnectionInput } from "./credentials.js";
export { bootstrapVault, readOnlyPolicy, type BootstrapOptions, type BootstrapResult } from "./bootstrap.js";
export {
  login,
  TokenKeeper,
  type KeeperEvent,
  type LoginResult,
  type TokenKeeperOptions,
  type TokenKeeperState,
  type VaultAuthConfig,
} from "./auth.js";
