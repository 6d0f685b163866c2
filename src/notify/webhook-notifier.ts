// Failure notices to any HTTP endpoint as a JSON POST (chat bridges, incident tools, CI).
import { SyncError } from "../core/errors.js";
import type { FailureNotice, Notifier } from "./notifier.js";

export class WebhookNotifier implements Notifier {
  readonly kind = "webhook";

  constructor(private readonly options: { url: string; headers?: Record<string, string>; timeoutMs?: number }) {}

  async notify(notice: FailureNotice): Promise<void> {
    const target = new URL(this.options.url);
    const where = `${target.origin}${target.pathname}`; // never echo query strings: they often hold keys
    let res: Response;
    try {
      res = await fetch(this.options.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "secretbridge", ...this.options.headers },
        body: JSON.stringify(notice),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      await res.arrayBuffer();
    } catch (error) {
      throw new SyncError("notification-failed", `webhook ${where} unreachable: ${(error as Error).name}`);
    }
    if (!res.ok) throw new SyncError("notification-failed", `webhook ${where} answered HTTP ${res.status}`);
  }
}
