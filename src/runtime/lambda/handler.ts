// The Lambda entry points, one bundle for both functions of the stack:
// - `handler`, the worker: consumes the run queue (queue.ts) and runs a full sync (run.ts) or a
//   targeted sync of pushed paths, queueing its own continuation when the deadline leaves writes
//   undone; a manual invocation runs a full sync.
// - `admit`, the admission function behind the function URL (push.ts): checks the signature and
//   queues the changes; it never reads Vault or writes a secret.
import type { Context, LambdaFunctionURLEvent, SQSEvent } from "aws-lambda";
import { screenPush, type PushedChange } from "../../core/push.js";
import { createLogger } from "../../util/logger.js";
import { boundHeapGrowth } from "../heap.js";
import { handlePush, isFunctionUrlEvent, type FunctionUrlResult } from "./push.js";
import { runForBatch } from "./queue.js";
import { LAMBDA_ENV, lambdaConfig, lambdaTarget, runLambda, type HandlerDependencies, type LambdaSummary } from "./run.js";

// On a cold start, before any run: a 100,000-secret sync's heap stays near its live data.
boundHeapGrowth();

export { CONTINUED_MESSAGE, DEADLINE_MARGIN_MS, LAMBDA_ENV, LAMBDA_SUMMARY_MESSAGE, runLambda, type HandlerDependencies, type LambdaSummary, type LambdaTrigger } from "./run.js";
export { handlePush, resetPushState, type FunctionUrlResult } from "./push.js";

export function isQueueEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) && records.length > 0 && records.every((r) => (r as { eventSource?: unknown }).eventSource === "aws:sqs");
}

/**
 * One batch of the run queue, folded into one run. A run that reports failures still consumes
 * its messages (the failures are notified, and the stack's metric filter counts the run): putting
 * them back would block the one message group behind a failure that the next run reports anyway.
 */
export async function consumeBatch(event: SQSEvent, context: Pick<Context, "getRemainingTimeInMillis">, deps: HandlerDependencies = {}): Promise<LambdaSummary | undefined> {
  const env = deps.env ?? process.env;
  const logger = deps.logger ?? createLogger({ stream: process.stdout as never });
  const { run, rejected } = runForBatch(
    event.Records.map((r) => ({ messageId: r.messageId, body: r.body })),
    env[LAMBDA_ENV.target] || undefined,
  );
  for (const r of rejected) logger.warn({ messageId: r.messageId, problem: r.problem }, "dropped a message that is not a queued run");
  if (run.kind === "none") return undefined;
  if (run.kind === "scheduled") return runLambda(context, { ...deps, logger }, { kind: "scheduled", chain: run.chain });
  // Screened again against the config this worker runs: the queue may hold changes admitted under
  // an earlier deploy, or written by someone else allowed to send to it. Each change on its own,
  // so one that no longer fits does not hold back the others.
  const config = await lambdaConfig(env);
  const { mappings } = lambdaTarget(config, env);
  const targets: PushedChange[] = [];
  let refused = 0;
  for (const change of run.changes) {
    const screen = screenPush(mappings, [change]);
    if (screen.invalidPaths.length > 0 || screen.unknownMounts.length > 0) refused++;
    targets.push(...screen.targets);
  }
  if (refused > 0) logger.warn({ refused }, "queued changes no longer pass the push screen (invalid path or unknown mount); the next full sync covers what remains");
  if (targets.length === 0) return undefined;
  return runLambda(context, { ...deps, logger }, { kind: "push", targets, config, chain: run.chain });
}

/**
 * The worker. A queue batch is consumed as above; any other event (a manual invoke, an older
 * stack's schedule) runs a full sync that throws when it fails, so the caller and the function's
 * Errors metric see it. A function URL request is answered as `admit` answers it.
 */
export async function handler(event: unknown, context: Context): Promise<LambdaSummary | FunctionUrlResult | undefined> {
  if (isFunctionUrlEvent(event)) return handlePush(event, {});
  if (isQueueEvent(event)) return consumeBatch(event, context);
  const summary = await runLambda(context);
  if (summary.exitCode !== 0) {
    const what = summary.fatal ? `[${summary.fatal.errorClass}] ${summary.fatal.message}` : `${summary.failed.length} secret(s) failed`;
    throw new Error(`secretbridge run ${summary.runId} failed: ${what}`);
  }
  return summary;
}

/** The admission function behind the function URL. Never throws: every answer is a status code. */
export async function admit(event: LambdaFunctionURLEvent): Promise<FunctionUrlResult> {
  return handlePush(event, {});
}
