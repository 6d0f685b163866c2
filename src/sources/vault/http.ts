// A small Vault / OpenBao HTTP client on undici: token and namespace headers, custom CA and server
// name, a timeout per request, retries with exponential backoff and full jitter on transient
// failures, and one API-call record per attempt. Error messages carry the method, path, status
// and Vault's own error strings, never a request or response body. The token comes from a
// TokenSource read at each request, so a login done elsewhere (TokenKeeper) reaches every caller.
import { Agent, request, type Dispatcher } from "undici";
import { SyncError, type ErrorClass } from "../../core/errors.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";

export interface VaultTlsOptions {
  caCertPem?: string;
  insecureSkipVerify?: boolean;
  serverName?: string;
}

/**
 * Where requests get their token. `current()` is read for every request; `refresh(rejected)` is
 * asked once when a request with `rejected` is refused (403) and answers a token worth one more
 * attempt, or undefined when the refusal stands (the token is fine, the policy said no). It
 * throws when the token is dead and no new one can be had.
 */
export interface TokenSource {
  current(): string | undefined;
  refresh?(rejected: string): Promise<string | undefined>;
  /**
   * True when a login stands behind the token: its keeper knows its TTL, renews it and logs in
   * again. Otherwise it is a static token (config, environment, file) that each run renews.
   */
  readonly loggedIn?: boolean;
}

/** A fixed token (config, env): never refreshed. */
export function staticToken(token: string | undefined): TokenSource {
  return { current: () => token };
}

/** True when a URL carries a user name or password (`https://user:pass@host`), parsable or not. */
export function hasUserinfo(address: string): boolean {
  const parsed = URL.parse(address);
  return parsed ? parsed.username !== "" || parsed.password !== "" : /\/\/[^/]*@/.test(address);
}

/**
 * The address as messages show it: without the URL's userinfo (`https://user:pass@host`), which
 * would otherwise travel into every error, log line and report that names the server.
 */
export function displayAddress(address: string): string {
  try {
    const url = new URL(address);
    if (!url.username && !url.password) return address;
    url.username = "";
    url.password = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return address.replace(/\/\/[^/@]*@/, "//");
  }
}

export interface VaultHttpOptions {
  address: string;
  token?: string | TokenSource;
  namespace?: string;
  tls?: VaultTlsOptions;
  timeoutMs?: number;
  maxAttempts?: number;
  recorder?: ApiCallRecorder;
  /** Connections kept per origin; the source's concurrency is a good value. */
  connections?: number;
}

export interface VaultResponse<T = unknown> {
  status: number;
  body: T;
}

export type VaultOperation =
  | "health"
  | "lookup-self"
  | "renew-self"
  | "login"
  | "mount-info"
  | "list-mounts"
  | "scan-detailed-metadata"
  | "list-detailed-metadata"
  | "list-metadata"
  | "read-metadata"
  | "read-data"
  | "write";

/**
 * Statuses worth another attempt: rate limited, server errors, sealed/standby (503). 412 is the
 * one 4xx: Vault Enterprise answers it when a performance standby has not yet caught up with the
 * index the client asked for, and documents it as "retry".
 */
const RETRYABLE_STATUS = new Set([412, 429, 500, 502, 503, 504]);

/** Vault's error strings are short; a long one is not Vault's and is cut, never echoed whole. */
const MAX_ERROR_TEXT = 300;

export interface SendOptions {
  body?: unknown;
  accept?: number[];
  secretPath?: string;
  /** This token instead of the token source's; null: send none (logins). */
  token?: string | null;
  /** false: a request that timed out is not sent again (the caller has a cheaper way on). */
  retryTimeouts?: boolean;
}

export class VaultHttp {
  private readonly dispatcher: Dispatcher;
  private readonly base: string;
  /** `base` as messages show it. */
  private readonly shown: string;
  private readonly tokens: TokenSource;

  constructor(private readonly options: VaultHttpOptions) {
    this.base = options.address.replace(/\/+$/, "");
    this.shown = displayAddress(this.base);
    this.tokens = typeof options.token === "object" ? options.token : staticToken(options.token);
    const tls = options.tls;
    this.dispatcher = new Agent({
      connections: options.connections ?? 32,
      connect: {
        timeout: options.timeoutMs ?? 10_000,
        ...(tls?.caCertPem ? { ca: tls.caCertPem } : {}),
        ...(tls?.serverName ? { servername: tls.serverName } : {}),
        ...(tls?.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
      },
    });
  }

  get address(): string {
    return this.base;
  }

  /**
   * Sends one request. 2xx and the statuses in `accept` are returned; anything else throws a
   * classified SyncError. `secretPath` is attached to errors so the report names the secret.
   * A 403 with the token source's token is retried once with the token `refresh` answers (it
   * expired between the keeper's checks); an explicit `token` (or null: none) is never refreshed.
   */
  async send<T = unknown>(operation: VaultOperation, method: string, path: string, options: SendOptions = {}): Promise<VaultResponse<T>> {
    if (options.token !== undefined) return this.exchange<T>(operation, method, path, options, options.token ?? undefined);
    const token = this.tokens.current();
    try {
      return await this.exchange<T>(operation, method, path, options, token);
    } catch (error) {
      if (!token || !this.tokens.refresh || !(error instanceof SyncError) || error.errorClass !== "permission-denied") throw error;
      const fresh = await this.tokens.refresh(token);
      if (!fresh || fresh === token) throw error;
      return this.exchange<T>(operation, method, path, options, fresh);
    }
  }

  private async exchange<T>(operation: VaultOperation, method: string, path: string, options: SendOptions, token: string | undefined): Promise<VaultResponse<T>> {
    const maxAttempts = Math.max(1, this.options.maxAttempts ?? 4);
    // LIST and SCAN are not HTTP methods every proxy or load balancer passes; Vault and OpenBao
    // accept the same requests as GET with list=true / scan=true.
    let wireMethod = method;
    let wirePath = path.replace(/^\/+/, "");
    if (method === "LIST" || method === "SCAN") {
      wirePath += `${wirePath.includes("?") ? "&" : "?"}${method === "LIST" ? "list" : "scan"}=true`;
      wireMethod = "GET";
    }
    const url = `${this.base}/v1/${wirePath}`;
    const headers: Record<string, string> = {
      ...(token ? { "x-vault-token": token } : {}),
      ...(this.options.namespace ? { "x-vault-namespace": this.options.namespace } : {}),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      "x-vault-request": "true",
    };
    const payload = options.body !== undefined ? JSON.stringify(options.body) : undefined;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    let lastError: SyncError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(backoffMs(attempt));
      let status: number;
      let text: string;
      try {
        const res = await request(url, {
          method: wireMethod as Dispatcher.HttpMethod,
          headers,
          ...(payload !== undefined ? { body: payload } : {}),
          dispatcher: this.dispatcher,
          // headers/body timeouts only bound the gaps; the signal bounds the whole exchange.
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal: AbortSignal.timeout(timeoutMs),
        });
        status = res.statusCode;
        text = await res.body.text();
      } catch (error) {
        const code = networkErrorCode(error);
        this.options.recorder?.record("vault", operation, code);
        const plainHttp = speaksNoTls(error, code);
        const tlsProblem = plainHttp || /CERT|SSL|TLS|SELF_SIGNED|HOSTNAME|VERIFY|SIGNATURE/i.test(code);
        const message = plainHttp
          ? `${method} ${path}: the server at ${this.shown} does not speak TLS: use http:// or enable TLS on the server (${code})`
          : `${method} ${path}: cannot reach ${this.shown} (${code})${
              tlsProblem
                ? ": the server's certificate is not trusted: set source.tls.caCertFile (or serverName)"
                : /timeout/i.test(code)
                  ? `: no answer within ${timeoutMs} ms`
                  : ": check the address and the network"
            }`;
        lastError = new SyncError("source-unavailable", message, options.secretPath, { cause: error, retryable: !tlsProblem });
        if (tlsProblem || (options.retryTimeouts === false && isTimeout(lastError))) break;
        continue;
      }
      this.options.recorder?.record("vault", operation, status);
      if ((status >= 200 && status < 300) || options.accept?.includes(status)) {
        return { status, body: parseJson<T>(text, method, path, options.secretPath) };
      }
      lastError = classify(method, path, status, vaultErrors(text), options.secretPath);
      if (!RETRYABLE_STATUS.has(status)) break;
    }
    throw lastError ?? new SyncError("source-unavailable", `${method} ${path}: no attempt made`);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/** True for an error raised because a request got no (complete) answer in time. */
export function isTimeout(error: unknown): boolean {
  return error instanceof SyncError && error.errorClass === "source-unavailable" && /timeout/i.test(networkErrorCode(error.cause ?? {}));
}

/**
 * True when a TLS handshake got a plain-HTTP answer (`https://` to a server without TLS): OpenSSL
 * reads the HTTP bytes as a TLS record and reports a bad version or an impossible record length.
 */
function speaksNoTls(error: unknown, code: string): boolean {
  if (code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "ERR_SSL_PACKET_LENGTH_TOO_LONG") return true;
  const e = error as { message?: unknown; cause?: { message?: unknown } };
  return code === "EPROTO" && /wrong version number|packet length too long/i.test(`${String(e.message ?? "")} ${String(e.cause?.message ?? "")}`);
}

/** A short, stable name for a failed exchange: ECONNREFUSED, ENOTFOUND, TimeoutError, UND_ERR_... */
function networkErrorCode(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  if (typeof e.code === "string" && e.code) return e.code;
  if (typeof e.cause?.code === "string" && e.cause.code) return e.cause.code;
  if (typeof e.name === "string" && e.name && e.name !== "Error") return e.name;
  return "network-error";
}

function parseJson<T>(text: string, method: string, path: string, secretPath?: string): T {
  if (!text) return null as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    // V8's SyntaxError quotes the input, which may be a secret: say only what happened.
    throw new SyncError("source-read-failed", `${method} ${path}: the response is not JSON (is the address a Vault server?)`, secretPath);
  }
}

function backoffMs(attempt: number): number {
  // Full jitter: uniform in [0, min(cap, base * 2^n)].
  const ceiling = Math.min(5_000, 100 * 2 ** (attempt - 1));
  return Math.random() * ceiling;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Vault's `errors` array; only ever from error responses, which never carry secret data. */
function vaultErrors(text: string): string[] {
  try {
    const parsed = JSON.parse(text) as { errors?: unknown };
    if (Array.isArray(parsed.errors)) {
      return parsed.errors
        .map((e) => String(e).replace(/\s+/g, " ").trim())
        .filter(Boolean)
        .map((e) => (e.length > MAX_ERROR_TEXT ? `${e.slice(0, MAX_ERROR_TEXT)}...` : e));
    }
  } catch {
    // not JSON
  }
  return [];
}

function classify(method: string, path: string, status: number, errors: string[], secretPath?: string): SyncError {
  const detail = errors.length ? `: ${errors.join("; ")}` : "";
  let errorClass: ErrorClass = "source-read-failed";
  let hint = "";
  if (status === 403) {
    errorClass = "permission-denied";
    hint = " (the token's policy does not allow this path, or the token is invalid or expired)";
  } else if (status === 401) {
    errorClass = "source-auth";
  } else if (status === 404) {
    errorClass = "source-not-found";
  } else if (status === 503 && errors.some((e) => /sealed/i.test(e))) {
    errorClass = "source-sealed";
    hint = ": unseal it, then run again";
  } else if (status >= 500 || status === 429) {
    errorClass = "source-unavailable";
  }
  return new SyncError(errorClass, `${method} ${path}: HTTP ${status}${detail}${hint}`, secretPath, {
    retryable: RETRYABLE_STATUS.has(status),
  });
}
