// The webhook contract: POST a JSON body with `x-secretbridge-timestamp: <unix seconds>` and
// `x-secretbridge-signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>`.
// Anything else, an old timestamp (replay) or a body over the limit is refused.
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
