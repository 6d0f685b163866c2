// One Lambda run: the same config file and the same engine as `secretbridge sync`. The config is
// packaged next to the handler (the CDK stack validates it at synth and bundles it); credentials
// come from the connection secret (connection.ts). Writes stop before the invocation deadline;
// when some are left, the run queues its own continuation (queue.ts) and goes on in a new
// invocation, up to a bound.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfigFile } from "../../config/load.js";
import { DEFAULT_TARGET, resolveConfig, resolveTargets, type ResolvedConfig } from "../../config/resolve.js";
import type { Config } from "../../config/schema.js";
import { SyncError } from "../../core/errors.js";
import { isWrite } from "../../core/model.js";
import type { PushedChange } from "../../core/push.js";
import { runMappings } from "../../engine/run.js";
import { emptyCounts, type RunReport } from "../../engine/report.js";
import { notifyAll, notifyRun, webhookCredentials } from "../../notify/index.js";
import { createLogger, type Logger } from "../../util/logger.js";
import { awsClient, buildNotifiers, wireTargets, type Wiring } from "../wire.js";
import { environmentWithConnection, readConnectionSecret } from "./connection.js";
import { enqueueContinuation, MAX_CONTINUATIONS_CEILING, type RunChain } from "./queue.js";

/** Time kept back from the deadline for the last writes, the report and the notification. */
export const DEADLINE_MARGIN_MS = 20_000;

/**
 * The function's own settings, set by the stack (infra/stack.ts). Everything about the sync
 * itself is in the config file.
 */
export const LAMBDA_ENV = {
  /** Path of the config file; default: secretbridge.yaml next to the handler (the packaged copy). */
  config: "SECRETBRIDGE_CONFIG",
  /** Name of the connection secret (credentials, connection.ts); unset: the function's own environment only. */
  connectionSecret: "CONNECTION_SECRET_NAME",
  /** Name of the secret holding the HMAC key of pushed requests; unset: the function URL answers 404. */
  webhookSecret: "WEBHOOK_SECRET_NAME",
  /** The stack's failure topic, used when the config names no SNS topic. */
  snsTopic: "SECRETBRIDGE_SNS_TOPIC_ARN",
  /**
   * The run queue (queue.ts): the admission function hands accepted pushes to it, the worker
   * queues its continuations in it. Unset on the worker: a run that reaches its deadline leaves
   * the rest to the next scheduled run.
   */
  queueUrl: "SECRETBRIDGE_QUEUE_URL",
  /** How many continuations one run may queue (default DEFAULT_MAX_CONTINUATIONS). */
  maxContinuations: "SECRETBRIDGE_MAX_CONTINUATIONS",
  /**
   * The target this worker runs, for a config with several (one worker and one run queue per
   * target); unset: the config's only one.
   */
  target: "SECRETBRIDGE_TARGET",
} as const;

/**
 * Enough for a 100,000-secret initial sync at the write quota in 5-minute invocations (about
 * 2,500 s of writes), with room for slow inventories; a run that needs more is stopped and
 * alarmed on rather than chained for ever.
 */
export const DEFAULT_MAX_CONTINUATIONS = 24;

/**
 * How an invocation's run went on: `done` (no write left for another invocation), `queued` (a continuation waits in the
 * run queue), or why it stopped with writes left: `bound-reached` (the run queued its last
 * allowed continuation), `stalled` (this invocation wrote nothing: the next would not either),
 * `send-failed` (the continuation could not be queued); or why it never would: `off` (a bound of
 * 0) or `no-queue` (the function has no run queue). Then the next scheduled run goes on.
 */
export type ContinuationStep = "done" | "queued" | "bound-reached" | "stalled" | "send-failed" | "off" | "no-queue";

export interface ContinuationSummary {
  /** The id of the message that started the run (a new id for a manual invoke). */
  chain: string;
  /** Invocations of this run before this one. */
  hop: number;
  /** Writes left for the next invocation (not started before the deadline). */
  remaining: number;
  next: ContinuationStep;
}

export interface LambdaSummary {
  /** The target this run wrote to (the stack's metric filters take it as the Target dimension). */
  target: string;
  runId: string;
  exitCode: number;
  counts: RunReport["counts"];
  created: string[];
  updated: string[];
  failed: { path: string; errorClass: string; message: string }[];
  deferred: string[];
  fatal?: RunReport["fatal"];
  continuation?: ContinuationSummary;
}

export interface HandlerDependencies {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Client used to read the connection and webhook secrets (tests point it at moto). */
  secretsManager?: SecretsManagerClient;
  /** Client the admission function queues pushes with. */
  sqs?: SQSClient;
}

/**
 * What an invocation runs: everything, or the pushed paths only (screened against `config`, the
 * config already loaded), as part of `chain` (default: a new run).
 */
export type LambdaTrigger = { kind: "scheduled"; chain?: RunChain } | { kind: "push"; targets: PushedChange[]; config: Config; chain?: RunChain };

/** The function's continuation bound, or a config-invalid error naming the variable. */
export function maxContinuations(env: NodeJS.ProcessEnv): number {
  const raw = env[LAMBDA_ENV.maxContinuations];
  if (raw === undefined || raw === "") return DEFAULT_MAX_CONTINUATIONS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > MAX_CONTINUATIONS_CEILING) {
    throw new SyncError("config-invalid", `${LAMBDA_ENV.maxContinuations} must be a whole number from 0 to ${MAX_CONTINUATIONS_CEILING}`);
  }
  return n;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  return env[LAMBDA_ENV.config] || join(dirname(fileURLToPath(import.meta.url)), "secretbridge.yaml");
}

/**
 * The target this worker runs, resolved once: the one SECRETBRIDGE_TARGET names (resolveTargets,
 * so it is what the CLI runs for `--target NAME`), or the config's only one.
 */
export function lambdaTarget(config: Config, env: NodeJS.ProcessEnv): ResolvedConfig {
  const name = env[LAMBDA_ENV.target];
  if (name === undefined || name === "") return resolveConfig(config, env);
  const all = resolveTargets(config, env);
  const found = all.find((t) => t.target === name);
  if (!found) throw new SyncError("config-invalid", `${LAMBDA_ENV.target} names target ${name}, which the packaged config does not list (it lists ${all.map((t) => t.target).join(", ")})`);
  return found;
}

/** The packaged config, with the stack's failure topic when the config names none. */
export async function lambdaConfig(env: NodeJS.ProcessEnv): Promise<Config> {
  const config = await loadConfigFile(configPath(env));
  const topicArn = env[LAMBDA_ENV.snsTopic];
  if (!topicArn || config.notifications.sns) return config;
  return { ...config, notifications: { ...config.notifications, sns: { topicArn } } };
}

function summarize(report: RunReport, target: string): LambdaSummary {
  const names = (type: string, outcome: string) =>
    report.results.filter((r) => r.action.type === type && r.outcome === outcome).map((r) => r.action.destinationName);
  return {
    target,
    runId: report.runId,
    exitCode: report.exitCode,
    counts: report.counts,
    created: names("create", "done"),
    updated: names("update", "done"),
    failed: report.failures.map((f) => ({ path: f.path, errorClass: f.errorClass, message: f.message })),
    deferred: report.results.filter((r) => r.outcome === "deferred").map((r) => r.action.destinationName),
    ...(report.fatal ? { fatal: report.fatal } : {}),
  };
}

export function secretsManagerFor(deps: HandlerDependencies, env: NodeJS.ProcessEnv): { client: SecretsManagerClient; release(): void } {
  if (deps.secretsManager) return { client: deps.secretsManager, release: () => undefined };
  const client = awsClient(SecretsManagerClient, env, "Secrets Manager");
  return { client, release: () => client.destroy() };
}

/** The client the run queue is written with: the one given (tests), or one for the function's own Region. */
export function sqsFor(deps: HandlerDependencies, env: NodeJS.ProcessEnv): { client: SQSClient; release(): void } {
  if (deps.sqs) return { client: deps.sqs, release: () => undefined };
  const client = awsClient(SQSClient, env, "SQS");
  return { client, release: () => client.destroy() };
}

/**
 * A failure before the engine ran (config, connection secret, login): no report exists, but the
 * failure must be as loud as a failed run. Notified through the config's notifiers, or the
 * stack's topic when the config could not be read.
 */
async function setupFailure(error: unknown, config: Config | undefined, env: NodeJS.ProcessEnv, logger: Logger, startedAt: string): Promise<LambdaSummary> {
  const target = env[LAMBDA_ENV.target] || DEFAULT_TARGET;
  const fatal = error instanceof SyncError ? error : new SyncError("config-invalid", "unexpected error while preparing the run");
  logger.error({ errorClass: fatal.errorClass }, fatal.message);
  const where = env[LAMBDA_ENV.connectionSecret] ?? configPath(env);
  const summary: LambdaSummary = {
    target,
    runId: "setup",
    exitCode: 2,
    counts: { ...emptyCounts(), failed: 1 },
    created: [],
    updated: [],
    failed: [{ path: where, errorClass: fatal.errorClass, message: fatal.message }],
    deferred: [],
    fatal: { errorClass: fatal.errorClass, message: fatal.message },
  };
  const topicArn = env[LAMBDA_ENV.snsTopic];
  const notifications: Pick<Config["notifications"], "sns" | "webhook"> = config?.notifications ?? (topicArn ? { sns: { topicArn } } : {});
  // What the environment lacks is left out: an unsigned notice, or one without a header, beats none.
  const webhook = notifications.webhook ? webhookCredentials(notifications.webhook, env, { lenient: true }) : undefined;
  const { notifiers, close } = buildNotifiers(notifications, config?.destination ?? {}, env, webhook);
  if (notifiers.length > 0) {
    const notice = { syncName: config?.name ?? "secretbridge", ...(env[LAMBDA_ENV.target] ? { target } : {}), runId: "setup", startedAt, finishedAt: new Date().toISOString(), summary: { ...summary.counts }, failures: summary.failed };
    await notifyAll(notifiers, notice, logger);
  }
  close();
  return summary;
}

/** The log line of LAMBDA_SUMMARY_MESSAGE: the stack counts failed runs from it (a metric filter on summary.exitCode). */
export const LAMBDA_SUMMARY_MESSAGE = "secretbridge run summary";

function logSummary(logger: Logger, summary: LambdaSummary, trigger: LambdaTrigger): void {
  (summary.exitCode === 0 ? logger.info.bind(logger) : logger.error.bind(logger))({ summary, trigger: trigger.kind }, LAMBDA_SUMMARY_MESSAGE);
}

/** A run that could have gone on in a new invocation and did not: a failed run. */
function stopsShort(next: ContinuationStep): boolean {
  return next === "bound-reached" || next === "stalled" || next === "send-failed";
}

/** The log line of a run going on in a new invocation (the stack counts hops from the summary line's `continuation.next`). */
export const CONTINUED_MESSAGE = "secretbridge run continues in a new invocation";

const STOPPED: Record<Exclude<ContinuationStep, "done" | "queued">, string> = {
  "bound-reached": `the run has used every continuation it may queue (${LAMBDA_ENV.maxContinuations}); the next scheduled run goes on`,
  stalled: "this invocation wrote nothing before its deadline, so another would not either: raise the function's timeout",
  "send-failed": "the continuation could not be queued; the next scheduled run goes on",
  off: `continuations are off (${LAMBDA_ENV.maxContinuations}=0); the next scheduled run goes on`,
  "no-queue": `${LAMBDA_ENV.queueUrl} is not set; the next scheduled run goes on`,
};

/**
 * Carries a run that reached its deadline on: queues the next invocation, or says why not. A run
 * that stops with writes left while it could have gone on is a failed run (exit code 1, so the
 * FailureAlarm fires); with continuations off or no run queue the rest waits for the schedule, as
 * it always did, and that is no failure.
 */
async function carryOn(report: RunReport, chain: RunChain, target: string | undefined, deps: HandlerDependencies, env: NodeJS.ProcessEnv, logger: Logger): Promise<ContinuationSummary> {
  const remaining = report.counts.deferred;
  const at = { chain: chain.id, hop: chain.hop, remaining };
  if (remaining === 0) return { ...at, next: "done" };
  const queueUrl = env[LAMBDA_ENV.queueUrl];
  const progressed = report.results.some((r) => isWrite(r.action) && r.outcome !== "deferred" && !r.action.failure);
  const bound = maxContinuations(env);
  let next: ContinuationStep = !queueUrl ? "no-queue" : bound === 0 ? "off" : !progressed ? "stalled" : chain.hop >= bound ? "bound-reached" : "queued";
  if (next === "queued" && queueUrl) {
    const sqs = sqsFor(deps, env);
    try {
      await enqueueContinuation(sqs.client, queueUrl, chain, target);
      logger.info({ continuation: { ...at, nextHop: chain.hop + 1 } }, CONTINUED_MESSAGE);
    } catch (error) {
      logger.error({ errorClass: "destination-unavailable", error: (error as { name?: string }).name ?? "Error" }, "cannot queue the run's continuation");
      next = "send-failed";
    } finally {
      sqs.release();
    }
  }
  if (next !== "queued") logger[stopsShort(next) ? "error" : "warn"]({ continuation: { ...at, next } }, `run stopped with ${remaining} write(s) left: ${STOPPED[next]}`);
  return { ...at, next };
}

/** One run: full (scheduled) or targeted (pushed), with the packaged config. Never throws. */
export async function runLambda(
  context: Pick<Context, "getRemainingTimeInMillis">,
  deps: HandlerDependencies = {},
  trigger: LambdaTrigger = { kind: "scheduled" },
): Promise<LambdaSummary> {
  const baseEnv = deps.env ?? process.env;
  const logger = deps.logger ?? createLogger({ stream: process.stdout as never });
  const startedAt = new Date().toISOString();
  let config: Config | undefined;
  let env = baseEnv;
  let wiring: Wiring;
  const chain = trigger.chain ?? { id: randomUUID(), hop: 0 };
  try {
    maxContinuations(baseEnv);
    config = trigger.kind === "push" ? trigger.config : await lambdaConfig(baseEnv);
    const secretName = baseEnv[LAMBDA_ENV.connectionSecret];
    if (secretName) {
      const sm = secretsManagerFor(deps, baseEnv);
      try {
        env = environmentWithConnection(baseEnv, config, await readConnectionSecret(sm.client, secretName), secretName);
      } finally {
        sm.release();
      }
    }
    const wired = await wireTargets(config, [lambdaTarget(config, env)], { env, logger });
    wiring = { ...(wired.targets[0] as Wiring), close: wired.close };
  } catch (error) {
    const summary = await setupFailure(error, config, env, logger, startedAt);
    logSummary(logger, summary, trigger);
    return summary;
  }
  try {
    const report = await runMappings({ destination: wiring.destination, logger }, wiring.mappings, {
      mode: "sync",
      target: wiring.resolved.target,
      concurrency: config.sync.concurrency,
      deadline: Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
      ...(trigger.kind === "push" ? { targets: trigger.targets } : {}),
    });
    await notifyRun(wiring.notifiers, report, logger);
    // The queue is the stack's: written with the function's own environment, not the connection's.
    const continuation = await carryOn(report, chain, baseEnv[LAMBDA_ENV.target] || undefined, deps, baseEnv, logger);
    const summary = { ...summarize(report, wiring.resolved.target), continuation };
    if (stopsShort(continuation.next)) summary.exitCode = Math.max(summary.exitCode, 1);
    logSummary(logger, summary, trigger);
    return summary;
  } finally {
    await wiring.close();
  }
}

