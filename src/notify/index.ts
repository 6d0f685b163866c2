// Notifiers and the fan-out that never lets a failed notification change a run's result.
import type { Logger } from "../util/logger.js";
import { noticeFor, type FailureNotice, type Notifier, type ReportForNotice } from "./notifier.js";

export { NotificationGate, type GateCounts, type GateDecision, type NotificationGateOptions } from "./gate.js";
export { SnsNotifier, snsMessage, snsSubject, type SnsNotifierOptions } from "./sns-notifier.js";
export { WebhookNotifier, webhookCredentials, webhookSigningSecret, type WebhookCredentials, type WebhookNotifierOptions } from "./webhook-notifier.js";
export { noticeFor, type FailureNotice, type Notifier, type ReportForNotice } from "./notifier.js";

export interface NotifyOutcome {
  /** Kinds that delivered, in the order the notifiers were given. */
  sent: string[];
  failed: { kind: string; message: string }[];
}

/** Sends the notice through every notifier at once; failures are collected and logged, never thrown. */
export async function notifyAll(notifiers: Notifier[], notice: FailureNotice, logger?: Logger): Promise<NotifyOutcome> {
  const results = await Promise.allSettled(notifiers.map(async (n) => n.notify(notice)));
  const outcome: NotifyOutcome = { sent: [], failed: [] };
  results.forEach((result, i) => {
    const kind = notifiers[i]?.kind ?? "unknown";
    if (result.status === "fulfilled") {
      outcome.sent.push(kind);
      return;
    }
    const message = result.reason instanceof Error ? result.reason.message : String(result.reason);
    outcome.failed.push({ kind, message });
    try {
      logger?.error({ notifier: kind, err: { message } }, "failure notification not sent");
    } catch {
      // a broken logger must not turn a failed notification into a failed run
    }
  });
  return outcome;
}

/**
 * Sends one failure notice for a sync run that failed (fatal or per secret), and records the
 * outcome on the report. Used by the CLI and the Lambda, one process per run: they send on every
 * failing run. The service remembers what it sent and asks a NotificationGate first (gate.ts).
 * `plan` runs never notify.
 */
export async function notifyRun(notifiers: Notifier[], report: ReportForNotice, logger?: Logger): Promise<void> {
  if (report.mode !== "sync" || report.failures.length === 0) return;
  report.notifications = await notifyAll(notifiers, noticeFor(report, "failure"), logger);
}
