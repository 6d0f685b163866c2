// The one queue every run of a target goes through. The schedule (EventBridge) and the admission
// function (a signed function URL request) each put a message into an SQS FIFO queue with a single
// message group; one worker consumes it (a config with several targets deploys one queue and one
// worker per target, infra/stack.ts). So runs never overlap, a flood of requests at the function URL
// cannot take the worker's place (unsigned requests never reach the queue), and a scheduled run
// that waits or is dropped shows in the queue's metrics, which the stack alarms on. A run that
// reaches its invocation's deadline queues its own continuation in the same group (see
// enqueueContinuation), so a long run goes on at once, still one invocation at a time.
import { createHash } from "node:crypto";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { z } from "zod";
import { targetNamePattern } from "../../config/schema.js";
import type { PushedChange } from "../../core/push.js";

/** The default message group: SQS hands its messages to one worker invocation at a time, in order. */
export const RUN_MESSAGE_GROUP = "secretbridge-runs";

/**
 * The message group of a target's runs. Runs of one target never overlap because they share a
 * group; a config with several targets gives each its own group (and so its own writer); a config
 * without targets uses the default group.
 */
export function runMessageGroup(target?: string): string {
  return target === undefined ? RUN_MESSAGE_GROUP : `${RUN_MESSAGE_GROUP}.${target}`;
}

/** The most continuations one run may queue, whatever the function's setting says. */
export const MAX_CONTINUATIONS_CEILING = 1000;

// The config's own rule for a target name: any target the config can name can be queued.
const targetName = z.string().regex(targetNamePattern, "a target name as the config allows it");

/**
 * A queued run: a full sync (the schedule, a manual send), the changes a signed push named, or
 * the continuation of a run that reached its deadline (`chain`: the id of the message that
 * started the run, `hop`: how many invocations came before this one).
 */
export const queuedRunSchema = z.discriminatedUnion("secretbridge", [
  z.strictObject({ secretbridge: z.literal("scheduled"), time: z.string().max(64).optional(), target: targetName.optional() }),
  z.strictObject({
    secretbridge: z.literal("push"),
    changes: z.array(z.strictObject({ mount: z.string().min(1).max(1024), path: z.string().max(2048) })).min(1).max(1000),
  }),
  z.strictObject({
    secretbridge: z.literal("continue"),
    chain: z.string().regex(/^[A-Za-z0-9-]{1,100}$/, "1-100 letters, digits or -"),
    hop: z.number().int().min(1).max(MAX_CONTINUATIONS_CEILING),
    target: targetName.optional(),
  }),
]);
export type QueuedRun = z.infer<typeof queuedRunSchema>;

/** Which run an invocation belongs to: the message that started it, and the invocations before this one. */
export interface RunChain {
  id: string;
  hop: number;
}

/**
 * What one worker invocation runs for a batch of messages: one full sync, or the pushed paths,
 * as part of `chain` (a continuation in the batch: that run's; otherwise a new run).
 */
export type BatchRun = { kind: "scheduled"; chain: RunChain } | { kind: "push"; changes: PushedChange[]; chain: RunChain } | { kind: "none" };

export interface QueueRecord {
  messageId: string;
  body: string;
}

/**
 * Folds a batch into one run: any full sync covers every push beside it; pushes are merged. A
 * continuation is a full sync that carries its run on: a schedule that fired while the run was
 * going (queued behind the invocation, received with its continuation) joins it instead of
 * starting a second pass, and a redelivered message received with the continuation it already
 * queued is that continuation. A message that is not a queued run (someone else with
 * sqs:SendMessage, a hand-written test) is reported by id and dropped: it must not block the
 * group behind it. So is a message naming a target other than `target`, the one this worker runs:
 * it would be written by the wrong target's writer.
 */
export function runForBatch(records: readonly QueueRecord[], target?: string): { run: BatchRun; rejected: { messageId: string; problem: string }[] } {
  const rejected: { messageId: string; problem: string }[] = [];
  let scheduled = false;
  let chain: RunChain | undefined;
  let continued: RunChain | undefined;
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
    const message = parsed.data;
    if ("target" in message && message.target !== undefined && message.target !== target) {
      const runs = target === undefined ? "this worker's config has no targets" : `this worker runs target ${target}`;
      rejected.push({ messageId: record.messageId, problem: `it names target ${message.target}, and ${runs}` });
      continue;
    }
    if (message.secretbridge === "continue") {
      if (!continued || message.hop > continued.hop) continued = { id: message.chain, hop: message.hop };
      scheduled = true;
      continue;
    }
    chain ??= { id: record.messageId, hop: 0 };
    if (message.secretbridge === "scheduled") scheduled = true;
    else changes.push(...message.changes);
  }
  const ofRun = continued ?? chain;
  const run: BatchRun = !ofRun ? { kind: "none" } : scheduled ? { kind: "scheduled", chain: ofRun } : { kind: "push", changes, chain: ofRun };
  return { run, rejected };
}

/**
 * Queues the next invocation of a run that reached its deadline with writes left. The
 * deduplication id is the run and the hop, so a second send of the same continuation (the
 * invocation ran again after a redelivery, or the send was retried) within SQS's 5-minute
 * window is dropped by SQS; a later duplicate waits in the group behind the first and is folded
 * into the same batch (runForBatch), so it never makes a second writer.
 */
export async function enqueueContinuation(sqs: SQSClient, queueUrl: string, chain: RunChain, target?: string): Promise<void> {
  const next = chain.hop + 1;
  const body: QueuedRun = { secretbridge: "continue", chain: chain.id, hop: next, ...(target !== undefined ? { target } : {}) };
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(body),
      MessageGroupId: runMessageGroup(target),
      MessageDeduplicationId: createHash("sha256").update(`continue:${chain.id}:${next}`).digest("hex"),
    }),
  );
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
      MessageGroupId: runMessageGroup(),
      MessageDeduplicationId: createHash("sha256").update(signature).digest("hex"),
    }),
  );
}
