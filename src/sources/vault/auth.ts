// How secretbridge gets a Vault token: a static token (config, env, file), AppRole, or AWS IAM
// (a signed sts:GetCallerIdentity: no stored credential). A TokenKeeper renews a renewable token
// at half its TTL, so long runs and long-lived services never hold an expired one.
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { SyncError } from "../../core/errors.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import { awsIamLoginPayload, type AwsCredentials } from "./aws-iam-login.js";
import { VaultHttp, type VaultTlsOptions } from "./http.js";

export type VaultAuthConfig =
  | { method: "token"; token: string }
  | { method: "approle"; roleId: string; secretId: string; mountPath?: string }
  | { method: "aws"; role: string; mountPath?: string; serverIdHeader?: string; stsEndpoint?: string; stsRegion?: string; credentials?: () => Promise<AwsCredentials> };

/** The connection secret's shape (reference walkthrough), extended with auth methods. */
export interface VaultConnectionSecret {
  vaultAddress?: string;
  vaultToken?: string;
  vaultNamespace?: string;
  auth?: { method?: string; role?: string; roleId?: string; secretId?: string; mountPath?: string; serverIdHeader?: string };
}

export interface LoginResult {
  token: string;
  /** Seconds; 0 for tokens that never expire (root). */
  ttlSeconds: number;
  renewable: boolean;
}

interface AuthBody {
  auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
  data?: { ttl?: number; renewable?: boolean };
}

export interface VaultClientSettings {
  address: string;
  namespace?: string;
  tls?: VaultTlsOptions;
  recorder?: ApiCallRecorder;
  timeoutMs?: number;
}

export async function login(settings: VaultClientSettings, auth: VaultAuthConfig): Promise<LoginResult> {
  const http = new VaultHttp({ ...settings, maxAttempts: 3 });
  try {
    if (auth.method === "token") {
      const res = await http.send<AuthBody>("lookup-self", "GET", "auth/token/lookup-self", { token: auth.token }).catch((error: unknown) => {
        throw refused(settings.address, "token", error);
      });
      return { token: auth.token, ttlSeconds: res.body.data?.ttl ?? 0, renewable: res.body.data?.renewable ?? false };
    }
    let path: string;
    let body: unknown;
    if (auth.method === "approle") {
      path = `auth/${auth.mountPath ?? "approle"}/login`;
      body = { role_id: auth.roleId, secret_id: auth.secretId };
    } else {
      path = `auth/${auth.mountPath ?? "aws"}/login`;
      const credentials = await (auth.credentials ?? fromNodeProviderChain())();
      body = await awsIamLoginPayload({
        credentials,
        role: auth.role,
        ...(auth.serverIdHeader ? { serverIdHeader: auth.serverIdHeader } : {}),
        ...(auth.stsEndpoint ? { stsEndpoint: auth.stsEndpoint } : {}),
        ...(auth.stsRegion ? { region: auth.stsRegion } : {}),
      });
    }
    const res = await http.send<AuthBody>("login", "POST", path, { body, token: null }).catch((error: unknown) => {
      throw refused(settings.address, auth.method, error);
    });
    const token = res.body.auth?.client_token;
    if (!token) throw new SyncError("source-auth", `${auth.method} login at ${settings.address} returned no token`);
    return { token, ttlSeconds: res.body.auth?.lease_duration ?? 0, renewable: res.body.auth?.renewable ?? false };
  } finally {
    await http.close();
  }
}

function refused(address: string, method: string, error: unknown): SyncError {
  if (error instanceof SyncError && (error.errorClass === "permission-denied" || error.errorClass === "source-auth" || error.errorClass === "source-read-failed")) {
    return new SyncError("source-auth", `${address} refused the ${method} credentials (${error.message.replace(/^[A-Z]+ \S+: /, "")})`);
  }
  return error instanceof SyncError ? error : new SyncError("source-unavailable", `${method} login at ${address} failed`);
}

/**
 * Keeps a renewable token alive: renews it (renew-self) when half its TTL has passed, and tells
 * the owner the token to use. Timers are unref'd so they never keep a process alive.
 */
export class TokenKeeper {
  private timer: NodeJS.Timeout | undefined;
  private current: LoginResult;
  renewals = 0;

  constructor(
    private readonly settings: VaultClientSettings,
    initial: LoginResult,
    private readonly onToken: (token: string) => void = () => undefined,
    private readonly onError: (error: SyncError) => void = () => undefined,
  ) {
    this.current = initial;
    this.schedule();
  }

  get token(): string {
    return this.current.token;
  }

  /** Renews now; returns the new TTL in seconds. */
  async renew(): Promise<number> {
    const http = new VaultHttp({ ...this.settings, token: this.current.token, maxAttempts: 3 });
    try {
      const res = await http.send<AuthBody>("renew-self", "POST", "auth/token/renew-self", { body: {} });
      const ttl = res.body.auth?.lease_duration ?? 0;
      this.current = { token: res.body.auth?.client_token ?? this.current.token, ttlSeconds: ttl, renewable: res.body.auth?.renewable ?? false };
      this.renewals += 1;
      this.onToken(this.current.token);
      this.schedule();
      return ttl;
    } finally {
      await http.close();
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.current.renewable || this.current.ttlSeconds <= 0) return;
    this.timer = setTimeout(() => {
      this.renew().catch((error: unknown) => this.onError(error instanceof SyncError ? error : new SyncError("source-auth", "token renewal failed")));
    }, (this.current.ttlSeconds * 1000) / 2);
    this.timer.unref();
  }

  close(): void {
    clearTimeout(this.timer);
  }
}

/** Turns the Lambda's connection secret into an address and a logged-in token. */
export async function connectionFromSecret(
  secret: VaultConnectionSecret,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ address: string; token: string; close(): Promise<void> }> {
  const address = env.VAULT_ADDRESS ?? secret.vaultAddress;
  if (!address) throw new SyncError("config-invalid", "the Vault connection secret has no vaultAddress (and VAULT_ADDRESS is not set)");
  const method = secret.auth?.method ?? "token";
  const namespace = env.VAULT_NAMESPACE ?? secret.vaultNamespace;
  const settings: VaultClientSettings = { address, ...(namespace ? { namespace } : {}) };
  let auth: VaultAuthConfig;
  if (method === "token") {
    if (!secret.vaultToken) throw new SyncError("config-invalid", "the Vault connection secret has an empty vaultToken: put the read-only token into it");
    auth = { method: "token", token: secret.vaultToken };
  } else if (method === "approle") {
    if (!secret.auth?.roleId || !secret.auth.secretId) throw new SyncError("config-invalid", "AppRole auth needs auth.roleId and auth.secretId in the connection secret");
    auth = { method: "approle", roleId: secret.auth.roleId, secretId: secret.auth.secretId, ...(secret.auth.mountPath ? { mountPath: secret.auth.mountPath } : {}) };
  } else if (method === "aws") {
    const serverIdHeader = env.VAULT_IAM_SERVER_ID_HEADER ?? secret.auth?.serverIdHeader;
    auth = {
      method: "aws",
      role: secret.auth?.role ?? "secretbridge",
      ...(secret.auth?.mountPath ? { mountPath: secret.auth.mountPath } : {}),
      ...(serverIdHeader ? { serverIdHeader } : {}),
    };
  } else {
    throw new SyncError("config-invalid", `the Vault connection secret names auth method "${method}"; expected token, approle or aws`);
  }
  const result = await login(settings, auth);
  const keeper = new TokenKeeper(settings, result);
  return {
    address,
    token: result.token,
    close: async () => keeper.close(),
  };
}
