// The signed webhook, shared by `serve` (POST /webhook) and the Lambda's function URL, so both
// accept and refuse exactly the same requests. The contract: POST a JSON body with `x-secretbridge-timestamp: <unix seconds>` and
// `x-secretbridge-signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>`.
// Anything else, a timestamp outside the window, a body over the limit, or a replay of a request
// already accepted inside its window (WebhookReplayCache) is refused.
import { timingSafeEqual } from "node:crypto";
import { displayPath } from "../core/paths.js";
import { signWebhook } from "../core/webhook-signature.js";
import type { PushedChange } from "../core/push.js";

export const WEBHOOK_MAX_BODY_BYTES = 64 * 1024;
export const WEBHOOK_WINDOW_SECONDS = 300;
/** Changes one webhook body may carry. */
export const WEBHOOK_MAX_CHANGES = 1000;

export { signWebhook };

export type WebhookVerdict = { ok: true } | { ok: false; status: 401 | 413; reason: string };

export function verifyWebhook(secret: string, headers: { timestamp?: string; signature?: string }, body: string, nowSeconds = Math.floor(Date.now() / 1000)): WebhookVerdict {
  if (Buffer.byteLength(body) > WEBHOOK_MAX_BODY_BYTES) return { ok: false, status: 413, reason: `body over ${WEBHOOK_MAX_BODY_BYTES} bytes` };
  const timestamp = Number(headers.timestamp);
  if (!headers.timestamp || !Number.isInteger(timestamp)) return { ok: false, status: 401, reason: "missing or malformed x-secretbridge-timestamp" };
  if (Math.abs(nowSeconds - timestamp) > WEBHOOK_WINDOW_SECONDS) return { ok: false, status: 401, reason: `timestamp outside the ${WEBHOOK_WINDOW_SECONDS} s window` };
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(headers.signature ?? "");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, status: 401, reason: "bad signature" };
  return { ok: true };
}

/**
 * Signatures of accepted webhook requests, kept until their timestamp leaves the window (after
 * that verifyWebhook refuses them anyway), so a captured request cannot be sent again. Bounded:
 * when every slot holds an unexpired signature, new requests are refused (429) instead of growing.
 * Call `remember` in the same tick as `check` (no await between) so two copies cannot both pass.
 */
export class WebhookReplayCache {
  /** signature -> last unix second at which its timestamp is still inside the window */
  private readonly seen = new Map<string, number>();
  /** No entry expires before this second, so a sweep before it would free nothing. */
  private earliestExpiry = Infinity;

  constructor(
    readonly maxEntries = 10_000,
    private readonly windowSeconds = WEBHOOK_WINDOW_SECONDS,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  check(signature: string, nowSeconds: number): "fresh" | "replay" | "full" {
    const expiry = this.seen.get(signature);
    if (expiry !== undefined && expiry >= nowSeconds) return "replay";
    if (expiry !== undefined) this.seen.delete(signature);
    if (this.seen.size >= this.maxEntries) this.sweep(nowSeconds);
    return this.seen.size >= this.maxEntries ? "full" : "fresh";
  }

  remember(signature: string, timestamp: number): void {
    const expiry = timestamp + this.windowSeconds;
    this.seen.set(signature, expiry);
    this.earliestExpiry = Math.min(this.earliestExpiry, expiry);
  }

  /** Forgets every signature, as a fresh process would (tests of a new Lambda environment). */
  clearForTests(): void {
    this.seen.clear();
    this.earliestExpiry = Infinity;
  }

  private sweep(nowSeconds: number): void {
    if (nowSeconds <= this.earliestExpiry) return;
    let earliest = Infinity;
    for (const [signature, expiry] of this.seen) {
      if (expiry < nowSeconds) this.seen.delete(signature);
      else earliest = Math.min(earliest, expiry);
    }
    this.earliestExpiry = earliest;
  }
}

/** An answer to a webhook request: a status and a JSON body that names positions, never content. */
export interface WebhookReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export const webhookRefusal = (status: number, message: string, extra: Record<string, unknown> = {}): WebhookReply => ({ status, body: { error: message, ...extra } });

/** The webhook body: {"changes": [{"mount": string, "path": string}, ...]}, 1-1000 entries. Messages name positions, never content. */
export function parseChanges(body: unknown): { ok: true; changes: PushedChange[] } | { ok: false; problem: string } {
  const shape = 'expected {"changes": [{"mount": "...", "path": "..."}]}';
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { ok: false, problem: shape };
  const list = (body as { changes?: unknown }).changes;
  if (!Array.isArray(list)) return { ok: false, problem: `changes must be an array; ${shape}` };
  if (list.length === 0) return { ok: false, problem: "changes is empty" };
  if (list.length > WEBHOOK_MAX_CHANGES) return { ok: false, problem: `more than ${WEBHOOK_MAX_CHANGES} changes; send them in several requests` };
  const changes: PushedChange[] = [];
  for (const [i, c] of list.entries()) {
    if (typeof c !== "object" || c === null || Array.isArray(c)) return { ok: false, problem: `changes[${i}] must be an object {"mount", "path"}` };
    const { mount, path } = c as { mount?: unknown; path?: unknown };
    if (typeof mount !== "string" || mount === "") return { ok: false, problem: `changes[${i}].mount must be a non-empty string` };
    if (typeof path !== "string") return { ok: false, problem: `changes[${i}].path must be a string` };
    changes.push({ mount, path });
  }
  return { ok: true, changes };
}

export type WebhookAdmission =
  | { ok: true; changes: PushedChange[]; signature: string; timestamp: number }
  | { ok: false; reply: WebhookReply };

/**
 * Signature, window, replay, then the body's shape: a request that passes carries well-formed
 * changes (still to be screened against the mappings). Call `replays.remember(signature,
 * timestamp)` once the request is accepted, in the same tick as this call in a concurrent server.
 */
export function admitWebhook(
  secret: string,
  request: { timestamp?: string; signature?: string; body: string },
  replays: WebhookReplayCache,
  nowSeconds = Math.floor(Date.now() / 1000),
): WebhookAdmission {
  const timestamp = request.timestamp ?? "";
  const signature = request.signature ?? "";
  const verdict = verifyWebhook(secret, { timestamp, signature }, request.body, nowSeconds);
  if (!verdict.ok) return { ok: false, reply: webhookRefusal(verdict.status, verdict.reason) };
  const seen = replays.check(signature, nowSeconds);
  if (seen === "replay") return { ok: false, reply: webhookRefusal(409, "this signed request was already accepted") };
  if (seen === "full") return { ok: false, reply: { ...webhookRefusal(429, "too many webhook requests inside the replay window"), headers: { "retry-after": "60" } } };
  let json: unknown;
  try {
    json = JSON.parse(request.body) as unknown;
  } catch {
    return { ok: false, reply: webhookRefusal(400, "the body is not JSON") };
  }
  const parsed = parseChanges(json);
  if (!parsed.ok) return { ok: false, reply: webhookRefusal(400, parsed.problem) };
  return { ok: true, changes: parsed.changes, signature, timestamp: Number(timestamp) };
}

/**
 * The refusal for a screened push, or undefined when it is accepted. Invalid paths come first:
 * they are malformed input; unknown mounts are a config mismatch.
 */
export function screenRefusal(screen: { invalidPaths: { path: string; problem: string }[]; unknownMounts: string[] }): WebhookReply | undefined {
  if (screen.invalidPaths.length > 0) return webhookRefusal(400, "invalid-path", { paths: screen.invalidPaths.map((p) => ({ path: displayPath(p.path), problem: p.problem })) });
  if (screen.unknownMounts.length > 0) return webhookRefusal(422, "unknown-mount", { mounts: screen.unknownMounts.map(displayPath) });
  return undefined;
}
