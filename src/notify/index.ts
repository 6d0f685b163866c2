// Notifiers and the fan-out that never lets a failed notification change a run's result.
import type { Logger } from "../util/logger.js";
import type { FailureNotice, Notifier } from "./notifier.js";

export { SnsNotifier } from "./sns-notifier.js";
export { WebhookNotifier } from "./webhook-notifier.js";
export type { FailureNotice, Notifier } from "./notifier.js";

export async function notifyAll(
  notifiers: Notifier[],
  notice: FailureNotice,
  logger?: Logger,
): Promise<{ sent: string[]; failed: { kind: string; message: string }[] }> {
  const sent: string[] = [];
  const failed: { kind: string; message: string }[] = [];
  await Promise.all(
    notifiers.map(async (n) => {
      try {
        await n.notify(notice);
        sent.push(n.kind);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        failed.push({ kind: n.kind, message });
        logger?.error({ notifier: n.kind, err: { message } }, "failure notification not sent");
      }
    }),
  );
  return { sent, failed };
}
