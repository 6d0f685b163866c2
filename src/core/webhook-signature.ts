// The signature of secretbridge's webhooks, incoming (`serve`'s /webhook, the Lambda's function
// URL) and outgoing (notifications): HMAC-SHA256 over "<timestamp>.<body>", sent as
// `x-secretbridge-signature: sha256=<hex>`. One definition for both directions.
import { createHmac } from "node:crypto";

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}
