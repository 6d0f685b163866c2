// How secretbridge gets a Vault token: a static token (config, env, file), AppRole, or AWS IAM
// (a signed sts:GetCallerIdentity: no stored credential). A TokenKeeper owns the current token:
// it renews it at half its TTL and logs in again (same method) when renewal fails or the token's
// max TTL is near, so long runs and long-lived services never hold an expired one. A token file
// (a Vault Agent sink) is read again when it changes, so its new tokens reach every request.
import { statSync } from "node:fs";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { SyncError, type ErrorClass } from "../../core/errors.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import { awsIamLoginPayload, type AwsCredentials } from "./aws-iam-login.js";
import { readTokenFile } from "./credentials.js";
import { VaultHttp, type TokenSource, type VaultTlsOptions } from "./http.js";
import { withoutUserinfo } from "../../util/url.js";

export type VaultAuthConfig =
  | { method: "token"; token: string }
  | { method: "approle"; roleId: string; secretId: string; mountPath?: string }
  | { method: "aws"; role: string; mountPath?: string; serverIdHeader?: string; stsEndpoint?: string; stsRegion?: string; credentials?: () => Promise<AwsCredentials> };

export interface LoginResult {
  token: string;
  /** Seconds; 0 for tokens that never expire (root). */
  ttlSeconds: number;
  renewable: boolean;
  /**
   * Seconds left until the token's explicit max TTL (lookup-self `explicit_max_ttl`), when it has
   * one. A max TTL set on the role or mount (`token_max_ttl`) is not shown by lookup-self: the
   * keeper learns it when a renewal comes back shorter than it asked for.
   */
  maxTtlSeconds?: number;
}

interface AuthBody {
  auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
}

interface LookupBody {
  data?: { ttl?: number; renewable?: boolean; explicit_max_ttl?: number; issue_time?: string; expire_time?: string | null };
}

export interface VaultClientSettings {
  address: string;
  namespace?: string;
  tls?: VaultTlsOptions;
  recorder?: ApiCallRecorder;
  timeoutMs?: number;
}

/** Statuses that mean "these credentials are not accepted" rather than "try again". */
const REFUSED = [400, 401, 403, 404, 405];

export async function login(settings: VaultClientSettings, auth: VaultAuthConfig): Promise<LoginResult> {
  const http = new VaultHttp({ ...settings, maxAttempts: 3 });
  const unreachable = (error: unknown): never => {
    throw error instanceof SyncError ? error : new SyncError("source-unavailable", `${auth.method} login at ${withoutUserinfo(settings.address)} failed`);
  };
  try {
    if (auth.method === "token") {
      const res = await http.send<LookupBody>("lookup-self", "GET", "auth/token/lookup-self", { token: auth.token, accept: REFUSED }).catch(unreachable);
      if (res.status !== 200) throw refused(settings.address, auth, res.status);
      return { token: auth.token, ...limitsOf(res.body.data) };
    }
    let path: string;
    let body: unknown;
    if (auth.method === "approle") {
      path = `auth/${auth.mountPath ?? "approle"}/login`;
      body = { role_id: auth.roleId, secret_id: auth.secretId };
    } else {
      path = `auth/${auth.mountPath ?? "aws"}/login`;
      let credentials: AwsCredentials;
      try {
        credentials = await (auth.credentials ?? fromNodeProviderChain())();
      } catch (error) {
        throw new SyncError("source-auth", `aws login at ${withoutUserinfo(settings.address)}: no AWS credentials to sign with (${(error as Error).name || "error"})`);
      }
      body = await awsIamLoginPayload({
        credentials,
        role: auth.role,
        ...(auth.serverIdHeader ? { serverIdHeader: auth.serverIdHeader } : {}),
        ...(auth.stsEndpoint ? { stsEndpoint: auth.stsEndpoint } : {}),
        ...(auth.stsRegion ? { region: auth.stsRegion } : {}),
      });
    }
    const res = await http.send<AuthBody>("login", "POST", path, { body, token: null, accept: REFUSED }).catch(unreachable);
    if (res.status !== 200) throw refused(settings.address, auth, res.status);
    const token = res.body?.auth?.client_token;
    if (!token) throw new SyncError("source-auth", `${auth.method} login at ${withoutUserinfo(settings.address)} returned no token`);
    const result: LoginResult = { token, ttlSeconds: res.body.auth?.lease_duration ?? 0, renewable: res.body.auth?.renewable ?? false };
    // The login answer has no max TTL; lookup-self shows an explicit one. Best effort: a policy
    // without lookup-self only costs the keeper its early warning.
    const self = await http.send<LookupBody>("lookup-self", "GET", "auth/token/lookup-self", { token, accept: REFUSED }).catch(() => undefined);
    const maxTtlSeconds = self?.status === 200 ? limitsOf(self.body.data).maxTtlSeconds : undefined;
    return { ...result, ...(maxTtlSeconds !== undefined ? { maxTtlSeconds } : {}) };
  } finally {
    await http.close();
  }
}

/** TTL, renewability and the time left to an explicit max TTL, from a lookup-self answer. */
function limitsOf(data: LookupBody["data"]): Omit<LoginResult, "token"> {
  const ttlSeconds = data?.ttl ?? 0;
  const explicitMax = data?.explicit_max_ttl ?? 0;
  const base = { ttlSeconds, renewable: data?.renewable ?? false };
  const issued = Date.parse(data?.issue_time ?? "");
  const expires = Date.parse(data?.expire_time ?? "");
  if (explicitMax <= 0 || Number.isNaN(issued) || Number.isNaN(expires)) return base;
  // Server-side times only (expire_time - ttl is the server's "now"), so clock skew does not count.
  const ageSeconds = (expires - ttlSeconds * 1000 - issued) / 1000;
  return { ...base, maxTtlSeconds: Math.max(0, Math.floor(explicitMax - ageSeconds)) };
}

/** A refusal names the method and the status, never the credential or Vault's echo of it. */
function refused(address: string, auth: VaultAuthConfig, status: number): SyncError {
  const hint =
    status === 404 || status === 405
      ? `: is the ${auth.method} auth method enabled at auth/${auth.method === "token" ? "token" : (auth.mountPath ?? auth.method)}?`
      : auth.method === "approle"
        ? ": check source.auth.roleId and the secret id (secretIdFile or $VAULT_SECRET_ID): wrong, expired or used up"
        : auth.method === "aws"
          ? ": check source.auth.role and that the role is bound to this IAM principal"
          : "";
  return new SyncError("source-auth", `${withoutUserinfo(address)} refused the ${auth.method} credentials (HTTP ${status})${hint}`);
}

/** Fraction of the TTL left below which the keeper logs in again instead of renewing. */
const LOGIN_MARGIN = 0.2;
/** How long a "this token is still valid" answer is trusted when a request was refused. */
const VALIDITY_CACHE_MS = 1_000;
const MAX_RETRY_MS = 30_000;

export interface AuthFailure {
  errorClass: ErrorClass;
  message: string;
}

export interface TokenKeeperState {
  /** False once the token is past its expiry and no new one could be had. */
  usable: boolean;
  /** "token" for a token the keeper can renew but not replace. */
  method: VaultAuthConfig["method"];
  /** The last renewal or login failure, until a renewal or login succeeds. */
  lastError?: AuthFailure;
  /** Logins done by the keeper (the first one too, with TokenKeeper.login). */
  logins: number;
  renewals: number;
  /** When the current token expires (ISO), unless it never does. */
  expiresAt?: string;
}

export type KeeperEvent =
  | { type: "renewed"; method: VaultAuthConfig["method"]; ttlSeconds: number }
  | { type: "logged-in"; method: VaultAuthConfig["method"]; ttlSeconds: number; reason: string }
  | { type: "token-file-read"; file: string; reason: "file changed" | "token refused" };

export interface TokenKeeperOptions {
  /**
   * How to log in again, with the same method as the first login. Without it the keeper can only
   * renew (a static token).
   */
  relogin?: { method: Exclude<VaultAuthConfig["method"], "token">; login: () => Promise<LoginResult> };
  /** Every failed renewal or login, with its class; the keeper retries on its own. */
  onError?: (error: SyncError, context: { operation: "renew" | "login"; method: VaultAuthConfig["method"]; retryInMs?: number }) => void;
  onEvent?: (event: KeeperEvent) => void;
}

/**
 * Owns the current token (sources read it through the TokenSource interface). Renews it at half
 * its TTL, asking for the login's TTL again; logs in again when a renewal fails, when a renewal
 * comes back shorter than asked (a max TTL is capping it), when less than 20% of the TTL is left,
 * or when a request was refused with a token that lookup-self says is dead. Failed logins are
 * reported and retried with backoff. Timers are unref'd so they never keep a process alive.
 */
export class TokenKeeper implements TokenSource {
  private timer: NodeJS.Timeout | undefined;
  private held: LoginResult;
  /** ms since the epoch; Infinity for a token that never expires. */
  private expiresAt = Infinity;
  private maxExpiresAt: number | undefined;
  /** The TTL asked for at each renewal: the login's own. */
  private requestedTtl = 0;
  /** Why a login is owed (a capped or failed renewal, a failed login); cleared by a login. */
  private loginDue: string | undefined;
  private failures = 0;
  private lastError: SyncError | undefined;
  private inflight: Promise<void> | undefined;
  private validity: { token: string; at: number; answer: Promise<boolean> } | undefined;
  private closed = false;
  /** The token file and what its last read saw (inode, size, mtime), for a keeper made by `fromFile`. */
  private file: { path: string; signature: string | undefined } | undefined;
  private loginCount = 0;
  private renewalCount = 0;
  private readonly method: VaultAuthConfig["method"];

  constructor(
    private readonly settings: VaultClientSettings,
    initial: LoginResult,
    private readonly options: TokenKeeperOptions = {},
  ) {
    this.method = options.relogin?.method ?? "token";
    this.held = initial;
    this.adopt(initial);
    this.plan();
  }

  /**
   * Logs in (AppRole, AWS IAM, or checks a token) and keeps the token from then on, logging in the
   * same way again when needed. `auth` may be a function so a secret id file is read at each login.
   */
  static async login(
    settings: VaultClientSettings,
    auth: VaultAuthConfig | (() => Promise<VaultAuthConfig>),
    options: Omit<TokenKeeperOptions, "relogin"> = {},
  ): Promise<TokenKeeper> {
    const resolve = typeof auth === "function" ? auth : async () => auth;
    const first = await resolve();
    const result = await login(settings, first);
    const relogin = first.method === "token" ? undefined : { method: first.method, login: async () => login(settings, await resolve()) };
    const keeper = new TokenKeeper(settings, result, { ...options, ...(relogin ? { relogin } : {}) });
    if (relogin) keeper.loginCount = 1;
    return keeper;
  }

  /**
   * A keeper whose first login happens in the background and is retried with backoff until it
   * succeeds (`serve`: the service, its audit listener and its health endpoints come up before
   * the secrets server does). Until then it holds no token and `state().usable` is false.
   */
  static deferred(
    settings: VaultClientSettings,
    method: Exclude<VaultAuthConfig["method"], "token">,
    auth: () => Promise<VaultAuthConfig>,
    options: Omit<TokenKeeperOptions, "relogin"> = {},
  ): TokenKeeper {
    const keeper = new TokenKeeper(settings, { token: "", ttlSeconds: 0, renewable: false }, { ...options, relogin: { method, login: async () => login(settings, await auth()) } });
    keeper.expiresAt = 0;
    keeper.relogin("first login").catch(() => undefined); // failures are reported and retried by relogin itself
    return keeper;
  }

  /**
   * A static token in a file that something else rewrites: a Vault Agent sink replaces it (temp
   * file + rename) whenever it logs in again, and may revoke the old token. The file is checked
   * (one stat) at every request and read again when it changed, and when a request was refused
   * (that request is then retried once with the new token). The keeper neither renews nor
   * replaces the token otherwise: its TTL is the file writer's business (a run renews it like
   * any static token). Throws config-invalid when the file cannot be read or is empty.
   */
  static fromFile(settings: VaultClientSettings, path: string, options: Omit<TokenKeeperOptions, "relogin"> = {}): TokenKeeper {
    const signature = fileSignature(path);
    const keeper = new TokenKeeper(settings, { token: readTokenFile(path), ttlSeconds: 0, renewable: false }, options);
    keeper.file = { path, signature };
    return keeper;
  }

  get token(): string {
    return this.held.token;
  }

  get renewals(): number {
    return this.renewalCount;
  }

  get logins(): number {
    return this.loginCount;
  }

  /** TokenSource: a login stands behind the token (AppRole, AWS IAM), not a static token. */
  get loggedIn(): boolean {
    return this.options.relogin !== undefined;
  }

  /** TokenSource: the token every request sends (from a token file that changed, its new one). */
  current(): string {
    this.readTokenFile("file changed");
    return this.held.token;
  }

  /**
   * TokenSource: a request with `rejected` was refused (403). A token file is read again: a new
   * token there is worth one more attempt. Otherwise a token that lookup-self still accepts means
   * the policy said no (undefined: no retry); a dead one is replaced by a login now. Throws the
   * login's error when no new token can be had.
   */
  async refresh(rejected: string): Promise<string | undefined> {
    if (rejected !== this.held.token) return this.held.token;
    if (this.file) {
      this.readTokenFile("token refused");
      return this.held.token !== rejected ? this.held.token : undefined;
    }
    if (!this.options.relogin) return undefined;
    if (await this.stillValid(rejected)) return undefined;
    if (rejected === this.held.token) await this.relogin("token refused");
    return this.held.token;
  }

  state(): TokenKeeperState {
    const usable = this.expiresAt === Infinity || Date.now() < this.expiresAt;
    return {
      usable,
      method: this.method,
      ...(this.lastError ? { lastError: { errorClass: this.lastError.errorClass, message: this.lastError.message } } : {}),
      logins: this.loginCount,
      renewals: this.renewalCount,
      ...(this.expiresAt !== Infinity ? { expiresAt: new Date(this.expiresAt).toISOString() } : {}),
    };
  }

  /** Renews now (renew-self, asking for the login's TTL again); returns the new TTL in seconds. */
  async renew(): Promise<number> {
    const http = new VaultHttp({ ...this.settings, maxAttempts: 3 });
    try {
      const body = this.requestedTtl > 0 ? { increment: this.requestedTtl } : {};
      const res = await http.send<AuthBody>("renew-self", "POST", "auth/token/renew-self", { body, token: this.held.token });
      const ttl = res.body?.auth?.lease_duration ?? 0;
      this.held = { ...this.held, token: res.body?.auth?.client_token ?? this.held.token, ttlSeconds: ttl, renewable: res.body?.auth?.renewable ?? false };
      this.expiresAt = ttl > 0 ? Date.now() + ttl * 1000 : Infinity;
      this.renewalCount += 1;
      this.failures = 0;
      this.lastError = undefined;
      // Shorter than asked: a max TTL caps it, and the next renewal would be shorter still.
      if (ttl < this.requestedTtl) this.loginDue ??= "max TTL reached";
      this.options.onEvent?.({ type: "renewed", method: this.method, ttlSeconds: ttl });
      this.plan();
      return ttl;
    } finally {
      await http.close();
    }
  }

  /** Logs in again now (once, however many callers ask at the same time). */
  relogin(reason: string): Promise<void> {
    const relogin = this.options.relogin;
    if (!relogin) return Promise.reject(new SyncError("source-auth", `the token at ${withoutUserinfo(this.settings.address)} cannot be replaced: no login method is configured`));
    this.inflight ??= (async () => {
      try {
        const result = await relogin.login();
        this.held = result;
        this.adopt(result);
        this.loginCount += 1;
        this.failures = 0;
        this.lastError = undefined;
        this.options.onEvent?.({ type: "logged-in", method: this.method, ttlSeconds: result.ttlSeconds, reason });
        this.plan();
      } catch (error) {
        const failure = error instanceof SyncError ? error : new SyncError("source-auth", `${this.method} login at ${withoutUserinfo(this.settings.address)} failed`);
        this.loginDue = reason;
        this.failures += 1;
        const retryInMs = Math.min(MAX_RETRY_MS, 1000 * 2 ** (this.failures - 1));
        this.fail(failure, "login", retryInMs);
        this.plan(retryInMs);
        throw failure;
      }
    })().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /**
   * Reads the token file when it changed since the last read (always, for a refused token) and
   * takes a new token from it. A file that is missing or empty for a moment (a writer that does
   * not rename) keeps the held token; the next request looks again.
   */
  private readTokenFile(reason: "file changed" | "token refused"): void {
    const file = this.file;
    if (!file) return;
    const signature = fileSignature(file.path);
    if (reason === "file changed" && signature === file.signature) return;
    let token: string;
    try {
      token = readTokenFile(file.path);
    } catch {
      return;
    }
    file.signature = signature;
    if (token === this.held.token) return;
    this.held = { token, ttlSeconds: 0, renewable: false };
    this.adopt(this.held);
    this.failures = 0;
    this.lastError = undefined;
    this.options.onEvent?.({ type: "token-file-read", file: file.path, reason });
  }

  /** Takes a login's token: its expiry, its max TTL if known, the TTL to ask for from now on. */
  private adopt(result: LoginResult): void {
    const now = Date.now();
    this.expiresAt = result.ttlSeconds > 0 ? now + result.ttlSeconds * 1000 : Infinity;
    this.maxExpiresAt = result.maxTtlSeconds !== undefined ? now + result.maxTtlSeconds * 1000 : undefined;
    this.requestedTtl = result.ttlSeconds;
    this.loginDue = undefined;
    this.validity = undefined;
  }

  /** Why the next step must be a login rather than a renewal, if it must. */
  private loginReason(now: number): string | undefined {
    if (!this.options.relogin) return undefined;
    if (this.loginDue) return this.loginDue;
    if (this.expiresAt === Infinity) return undefined;
    if (!this.held.renewable) return "token not renewable";
    if (this.maxExpiresAt !== undefined && this.maxExpiresAt - now < this.requestedTtl * 1000) return "max TTL near";
    if (this.expiresAt - now < LOGIN_MARGIN * this.requestedTtl * 1000) return "expiry near";
    return undefined;
  }

  /** Arms the timer: half the TTL for a renewal, 80% for a login of a non-renewable token. */
  private plan(delayMs?: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed) return;
    let delay = delayMs;
    if (delay === undefined) {
      if (this.expiresAt === Infinity) return;
      const ttlMs = this.held.ttlSeconds * 1000;
      if (this.held.renewable) delay = ttlMs / 2;
      else if (this.options.relogin) delay = ttlMs * (1 - LOGIN_MARGIN);
      else return;
    }
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    if (!this.loginReason(Date.now())) {
      try {
        await this.renew();
      } catch (error) {
        const failure =
          error instanceof SyncError && (error.errorClass === "permission-denied" || error.errorClass === "source-auth")
            ? new SyncError("source-auth", `token renewal at ${withoutUserinfo(this.settings.address)} refused (${error.message.replace(/^[A-Z]+ \S+: /, "").replace(/ \(.*$/, "")})`)
            : error instanceof SyncError
              ? error
              : new SyncError("source-auth", `token renewal at ${withoutUserinfo(this.settings.address)} failed`);
        if (!this.options.relogin) {
          this.failures += 1;
          const retryInMs = Math.min(MAX_RETRY_MS, 1000 * 2 ** (this.failures - 1));
          // Nothing else to try: retry the renewal while the token may still be alive.
          this.fail(failure, "renew", Date.now() < this.expiresAt ? retryInMs : undefined);
          if (Date.now() < this.expiresAt) this.plan(retryInMs);
          return;
        }
        this.fail(failure, "renew");
        this.loginDue = "renewal failed";
      }
    }
    const reason = this.loginReason(Date.now());
    if (reason && !this.closed) await this.relogin(reason).catch(() => undefined);
  }

  private fail(error: SyncError, operation: "renew" | "login", retryInMs?: number): void {
    this.lastError = error;
    this.options.onError?.(error, { operation, method: this.method, ...(retryInMs !== undefined ? { retryInMs } : {}) });
  }

  /** lookup-self with `token`: still valid? One answer per token and second, shared by concurrent callers. */
  private stillValid(token: string): Promise<boolean> {
    const known = this.validity;
    // Not trusted in the token's last second: "valid" could be stale by the time it is used.
    const now = Date.now();
    if (known && known.token === token && now - known.at < VALIDITY_CACHE_MS && this.expiresAt - now > VALIDITY_CACHE_MS) return known.answer;
    const answer = (async () => {
      const http = new VaultHttp({ ...this.settings, maxAttempts: 3 });
      try {
        const res = await http.send<LookupBody>("lookup-self", "GET", "auth/token/lookup-self", { token, accept: [401, 403] });
        return res.status === 200;
      } finally {
        await http.close();
      }
    })();
    this.validity = { token, at: now, answer };
    return answer;
  }
}

/** What tells a rewritten file from the one last read: inode (a rename), size and mtime. */
function fileSignature(path: string): string | undefined {
  try {
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : undefined;
  } catch {
    return undefined; // unreadable for now (a permission change): the read that follows says so
  }
}
