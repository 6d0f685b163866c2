// Failure notices to any HTTP endpoint as a JSON POST (chat bridges, incident tools, CI). Only a
// 2xx answer counts as delivered; redirects are not followed, so headers that carry a key are
// never sent to a second host.
import { SyncError } from "../core/errors.js";
import type { FailureNotice, Notifier } from "./notifier.js";

export interface WebhookNotifierOptions {
  url: string;
  headers?: Record<string, string>;
  /** Whole request, connect to last byte; default 10 s. */
  timeoutMs?: number;
}

export class WebhookNotifier implements Notifier {
  readonly kind = "webhook";

  constructor(private readonly options: WebhookNotifierOptions) {}

  async notify(notice: FailureNotice): Promise<void> {
    const target = new URL(this.options.url);
    const where = `${target.origin}${target.pathname}`; // never echo query strings: they often hold keys
    let res: Response;
    try {
      res = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "secretbridge", ...this.options.headers },
        body: JSON.stringify(notice),
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
