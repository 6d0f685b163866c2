// One Lambda run: the same config file and the same engine as `secretbridge sync`. The config is
// packaged next to the handler (the CDK stack validates it at synth and bundles it); credentials
// come from the connection secret (connection.ts). Writes stop before the invocation deadline;
// what is left is reported for the next run.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Context } from "aws-lambda";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfigFile } from "../../config/load.js";
import type { Config } from "../../config/schema.js";
import { SyncError } from "../../core/errors.js";
import type { PushedChange } from "../../core/push.js";
import { runMappings } from "../../engine/run.js";
import { emptyCounts, type RunReport } from "../../engine/report.js";
import { notifyAll, notifyRun, webhookCredentials } from "../../notify/index.js";
import { createLogger, type Logger } from "../../util/logger.js";
import { awsClient, buildNotifiers, wire } from "../wire.js";
import { environmentWithConnection, readConnectionSecret } from "./connection.js";

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
  /** The run queue the admission function hands accepted pushes to (queue.ts). */
  queueUrl: "SECRETBRIDGE_QUEUE_URL",
} as const;

export interface LambdaSummary {
  runId: string;
  exitCode: number;
  counts: RunReport["counts"];
  created: string[];
  updated: string[];
  failed: { path: string; errorClass: string; message: string }[];
  deferred: string[];
  fatal?: RunReport["fatal"];
}

export interface HandlerDependencies {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Client used to read the connection and webhook secrets (tests point it at moto). */
  secretsManager?: SecretsManagerClient;
  /** Client the admission function queues pushes with. */
  sqs?: SQSClient;
}

/** What an invocation runs: everything, or the pushed paths only (screened against `config`, the config already loaded). */
export type LambdaTrigger = { kind: "scheduled" } | { kind: "push"; targets: PushedChange[]; config: Config };

export function configPath(env: NodeJS.ProcessEnv): string {
  return env[LAMBDA_ENV.config] || join(dirname(fileURLToPath(import.meta.url)), "secretbridge.yaml");
}

/** The packaged config, with the stack's failure topic when the config names none. */
export async function lambdaConfig(env: NodeJS.ProcessEnv): Promise<Config> {
  const config = await loadConfigFile(configPath(env));
  const topicArn = env[LAMBDA_ENV.snsTopic];
  if (!topicArn || config.notifications.sns) return config;
  return { ...config, notifications: { ...config.notifications, sns: { topicArn } } };
}

function summarize(report: RunReport): LambdaSummary {
  const names = (type: string, outcome: string) =>
    report.results.filter((r) => r.action.type === type && r.outcome === outcome).map((r) => r.action.destinationName);
  return {
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

/**
 * A failure before the engine ran (config, connection secret, login): no report exists, but the
 * failure must be as loud as a failed run. Notified through the config's notifiers, or the
 * stack's topic when the config could not be read.
 */
async function setupFailure(error: unknown, config: Config | undefined, env: NodeJS.ProcessEnv, logger: Logger, startedAt: string): Promise<LambdaSummary> {
  const fatal = error instanceof SyncError ? error : new SyncError("config-invalid", "unexpected error while preparing the run");
  logger.error({ errorClass: fatal.errorClass }, fatal.message);
  const where = env[LAMBDA_ENV.connectionSecret] ?? configPath(env);
  const summary: LambdaSummary = {
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
    const notice = { syncName: config?.name ?? "secretbridge", runId: "setup", startedAt, finishedAt: new Date().toISOString(), summary: { ...summary.counts }, failures: summary.failed };
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
  let wiring: Awaited<ReturnType<typeof wire>>;
  try {
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
    wiring = await wire(config, { env, logger });
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
    const summary = summarize(report);
    logSummary(logger, summary, trigger);
    return summary;
  } finally {
    await wiring.close();
  }
}

