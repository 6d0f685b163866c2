// Failure and recovered notices to any HTTP endpoint as a JSON POST (chat bridges, incident tools,
// CI). Signed like incoming webhooks when a key is set, so the receiver can check the sender. Only
// a 2xx answer counts as delivered; redirects are not followed, so headers that carry a key are
// never sent to a second host.
import { SyncError } from "../core/errors.js";
// The one implementation of the signing scheme, shared with the service's incoming /webhook.
import { signWebhook } from "../core/webhook-signature.js";
import type { FailureNotice, Notifier } from "./notifier.js";

/** Signing key variable used when the config names none. */
export const DEFAULT_SIGNING_SECRET_ENV = "SECRETBRIDGE_NOTIFY_SECRET";

export interface WebhookNotifierOptions {
  url: string;
  headers?: Record<string, string>;
  /** Query parameters added to `url` (values from the environment); never shown in messages. */
  query?: Record<string, string>;
  /** Whole request, connect to last byte; default 10 s. */
  timeoutMs?: number;
  /**
   * HMAC key: each request carries `x-secretbridge-timestamp` and `x-secretbridge-signature:
   * sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, exactly as incoming webhooks. Unset: unsigned.
   */
  signingSecret?: string;
  /** Milliseconds since the epoch, for the timestamp; default Date.now (tests). */
  now?: () => number;
}

export class WebhookNotifier implements Notifier {
  readonly kind = "webhook";

  constructor(private readonly options: WebhookNotifierOptions) {}

  async notify(notice: FailureNotice): Promise<void> {
    const target = new URL(this.options.url);
    for (const [name, value] of Object.entries(this.options.query ?? {})) target.searchParams.set(name, value);
    const where = `${target.origin}${target.pathname}`; // never echo query strings: they often hold keys
    const body = JSON.stringify(notice);
    const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "secretbridge", ...this.options.headers };
    if (this.options.signingSecret) {
      // Set last, so a configured header of the same name cannot replace the signature.
      const timestamp = Math.floor((this.options.now ?? Date.now)() / 1000);
      for (const name of Object.keys(headers)) if (/^x-secretbridge-(timestamp|signature)$/i.test(name)) delete headers[name];
      headers["x-secretbridge-timestamp"] = String(timestamp);
      headers["x-secretbridge-signature"] = signWebhook(this.options.signingSecret, timestamp, body);
    }
    let res: Response;
    try {
      res = await fetch(target, {
        method: "POST",
        headers,
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer(); // drain, so the connection is reused or closed cleanly
    } catch (error) {
      const e = error as { name?: string; cause?: { code?: string } };
      const why = e.name === "TimeoutError" ? `no answer within ${this.options.timeoutMs ?? 10_000} ms` : `unreachable (${e.cause?.code ?? e.name ?? "error"})`;
      throw new SyncError("notification-failed", `webhook ${where} ${why}`, undefined, { cause: error });
    }
    if (res.status < 200 || res.status > 299) {
      throw new SyncError("notification-failed", `webhook ${where} answered HTTP ${res.status}${res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : ""}`);
    }
  }
}

/**
 * The signing key for `notifications.webhook`, from the environment (never from the config file).
 * A variable the config names must be set: a missing one is config-invalid rather than silently
 * unsigned notices. Without `signingSecretEnv`, $SECRETBRIDGE_NOTIFY_SECRET signs when it is set.
 * It is a separate key from the incoming webhook's $SECRETBRIDGE_WEBHOOK_SECRET on purpose: with
 * one key, a notice captured by its receiver would carry a valid signature for the service's own
 * /webhook.
 */
export function webhookSigningSecret(hook: { signingSecretEnv?: string | undefined }, env: NodeJS.ProcessEnv): string | undefined {
  const name = hook.signingSecretEnv ?? DEFAULT_SIGNING_SECRET_ENV;
  const secret = env[name];
  if (secret) return secret;
  if (hook.signingSecretEnv) {
    throw new SyncError("config-invalid", `notifications.webhook.signingSecretEnv: $${name} is not set (it holds the key that signs webhook notifications)`);
  }
  return undefined;
}

/** What a webhook notifier sends that the config file does not hold, read from the environment. */
export interface WebhookCredentials {
  signingSecret?: string;
  /** notifications.webhook.headersFromEnv, resolved: header name to value. */
  headers: Record<string, string>;
  /** notifications.webhook.queryFromEnv, resolved: parameter to value. */
  query: Record<string, string>;
}

/** Bytes a header value cannot hold (tab is allowed). */
// eslint-disable-next-line no-control-regex -- control characters are what it matches
const HEADER_VALUE_CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

type WebhookFromEnv = { signingSecretEnv?: string | undefined; headersFromEnv?: Record<string, string>; queryFromEnv?: Record<string, string> };

/**
 * The signing key and the header and query values `notifications.webhook` names by environment
 * variable. A variable the config names must be set (config-invalid otherwise, naming the key and
 * the variable, never a value); a header value must be one line. `lenient` leaves out what is
 * missing instead: a notice about a failed setup is better sent without them than not at all.
 */
export function webhookCredentials(hook: WebhookFromEnv, env: NodeJS.ProcessEnv, options: { lenient?: boolean } = {}): WebhookCredentials {
  const problems: string[] = [];
  const read = (key: string, variable: string, header: boolean): string | undefined => {
    const value = env[variable];
    if (!value) {
      problems.push(`notifications.webhook.${key}: $${variable} is not set (in the Lambda: notifyEnv.${variable} in the connection secret)`);
      return undefined;
    }
    if (header && HEADER_VALUE_CONTROL.test(value)) {
      problems.push(`notifications.webhook.${key}: $${variable} holds a line break or control character; a header value is one line`);
      return undefined;
    }
    return value;
  };
  const resolve = (field: "headersFromEnv" | "queryFromEnv") => {
    const out: Record<string, string> = {};
    for (const [name, variable] of Object.entries(hook[field] ?? {})) {
      const value = read(`${field}.${name}`, variable, field === "headersFromEnv");
      if (value !== undefined) out[name] = value;
    }
    return out;
  };
  const headers = resolve("headersFromEnv");
  const query = resolve("queryFromEnv");
  let signingSecret: string | undefined;
  try {
    signingSecret = webhookSigningSecret(hook, env);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0 && !options.lenient) throw new SyncError("config-invalid", problems.join("; "));
  return { ...(signingSecret ? { signingSecret } : {}), headers, query };
}
