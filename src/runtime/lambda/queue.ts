// The one queue every run goes through. The schedule (EventBridge) and the admission function
// (a signed function URL request) each put a message into an SQS FIFO queue with a single message
// group; one worker consumes it. So runs never overlap, a flood of requests at the function URL
// cannot take the worker's place (unsigned requests never reach the queue), and a scheduled run
// that waits or is dropped shows in the queue's metrics, which the stack alarms on.
import { createHash } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { z } from "zod";
import type { PushedChange } from "../../core/push.js";

/** The only message group: SQS hands its messages to one worker invocation at a time, in order. */
export const RUN_MESSAGE_GROUP = "secretbridge-runs";

/** A queued run: a full sync (the schedule, a manual send) or the changes a signed push named. */
export const queuedRunSchema = z.discriminatedUnion("secretbridge", [
  z.strictObject({ secretbridge: z.literal("scheduled"), time: z.string().max(64).optional() }),
  z.strictObject({
    secretbridge: z.literal("push"),
    changes: z.array(z.strictObject({ mount: z.string().min(1).max(1024), path: z.string().max(2048) })).min(1).max(1000),
  }),
]);
export type QueuedRun = z.infer<typeof queuedRunSchema>;

/** What one worker invocation runs for a batch of messages: one full sync, or the pushed paths. */
export type BatchRun = { kind: "scheduled" } | { kind: "push"; changes: PushedChange[] } | { kind: "none" };

export interface QueueRecord {
  messageId: string;
  body: string;
}

/**
 * Folds a batch into one run: any full sync covers every push beside it; pushes are merged. A
 * message that is not a queued run (someone else with sqs:SendMessage, a hand-written test) is
 * reported by id and dropped: it must not block the group behind it.
 */
export function runForBatch(records: readonly QueueRecord[]): { run: BatchRun; rejected: { messageId: string; problem: string }[] } {
  const rejected: { messageId: string; problem: string }[] = [];
  let scheduled = false;
  const changes: PushedChange[] = [];
  for (const record of records) {
    let json: unknown;
    try {
      json = JSON.parse(record.body);
    } catch {
      rejected.push({ messageId: record.messageId, problem: "the message is not JSON" });
      continue;
    }
    const parsed = queuedRunSchema.safeParse(json);
    if (!parsed.success) {
      // Field names and what is wrong; never the content.
      rejected.push({ messageId: record.messageId, problem: parsed.error.issues.map((i) => `${i.path.join(".") || "(message)"}: ${i.message}`).join("; ").slice(0, 300) });
      continue;
    }
    if (parsed.data.secretbridge === "scheduled") scheduled = true;
    else changes.push(...parsed.data.changes);
  }
  const run: BatchRun = scheduled ? { kind: "scheduled" } : changes.length > 0 ? { kind: "push", changes } : { kind: "none" };
  return { run, rejected };
}

/**
 * Queues the changes of an admitted push. The deduplication id is the request's signature, so a
 * replay SQS sees within its 5-minute window (the webhook's own window) is dropped by SQS, even
 * when it reaches another execution environment of the admission function.
 */
export async function enqueuePush(sqs: SQSClient, queueUrl: string, signature: string, changes: readonly PushedChange[]): Promise<void> {
  const body: QueuedRun = { secretbridge: "push", changes: changes.map((c) => ({ mount: c.mount, path: c.path })) };
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(body),
      MessageGroupId: RUN_MESSAGE_GROUP,
      MessageDeduplicationId: createHash("sha256").update(signature).digest("hex"),
    }),
  );
}
