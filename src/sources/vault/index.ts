// Vault / OpenBao KV source: the public surface of this folder.
export { VaultKvSource, type VaultSourceOptions } from "./vault-source.js";
export { VaultHttp, type VaultTlsOptions } from "./http.js";
export { resolveVaultConnection } from "./credentials.js";
export { bootstrapVault, readOnlyPolicy, type BootstrapResult } from "./bootstrap.js";
export { login, TokenKeeper, connectionFromSecret, type VaultAuthConfig, type VaultConnectionSecret } from "./auth.js";
