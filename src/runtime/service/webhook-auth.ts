// The webhook contract: POST a JSON body with `x-secretbridge-timestamp: <unix seconds>` and
// `x-secretbridge-signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>`.
// Anything else, a timestamp outside the window, a body over the limit, or a replay of a request
// already accepted inside its window (WebhookReplayCache) is refused.
import { createHmac, timingSafeEqual } from "node:crypto";

export const WEBHOOK_MAX_BODY_BYTES = 64 * 1024;
export const WEBHOOK_WINDOW_SECONDS = 300;

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

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
