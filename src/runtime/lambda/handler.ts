// The Lambda runtime: the same engine as `secretbridge sync`, configured from environment
// variables, with the Vault connection read from a Secrets Manager secret. It stops starting
// writes before the invocation deadline and reports what is left for the next run.
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Context } from "aws-lambda";
import { parseConfig } from "../../config/load.js";
import { SyncError } from "../../core/errors.js";
import { runMappings } from "../../engine/run.js";
import { emptyCounts, type RunReport } from "../../engine/report.js";
import { connectionFromSecret, type VaultConnectionSecret } from "../../sources/vault/auth.js";
import { createLogger, type Logger } from "../../util/logger.js";
import { SNSClient } from "@aws-sdk/client-sns";
import type { Config } from "../../config/schema.js";
import { notifyAll, notifyRun, SnsNotifier } from "../../notify/index.js";
import { awsClientConfig, wire } from "../wire.js";

/** Time kept back from the deadline for the last writes, the report and the notification. */
export const DEADLINE_MARGIN_MS = 20_000;

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
  /** Client used to read the connection secret (tests point it at moto). */
  secretsManager?: SecretsManagerClient;
}

async function readConnectionSecret(client: SecretsManagerClient, name: string): Promise<VaultConnectionSecret> {
  let text: string | undefined;
  try {
    text = (await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
  } catch (error) {
    const code = (error as { name?: string }).name ?? "Error";
    throw new SyncError("source-auth", `cannot read the Vault connection secret ${name}: ${code}`);
  }
  try {
    return JSON.parse(text ?? "") as VaultConnectionSecret;
  } catch {
    throw new SyncError("config-invalid", `the Vault connection secret ${name} is not JSON: expected {"vaultAddress": ..., "vaultToken": ...}`);
  }
}

function configFromEnvironment(env: NodeJS.ProcessEnv, address: string, token: string): unknown {
  const prefix = env.SECRETS_PREFIX ?? "hybrid-aws-secrets";
  return {
    name: env.SYNC_NAME ?? prefix,
    source: {
      address,
      token,
      mount: env.VAULT_MOUNT ?? prefix,
      ...(env.VAULT_PATH ? { path: env.VAULT_PATH } : {}),
      ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
      ...(env.VAULT_KV_VERSION ? { kvVersion: env.VAULT_KV_VERSION === "auto" ? "auto" : Number(env.VAULT_KV_VERSION) } : {}),
    },
    destination: {
      prefix,
      ...(env.KMS_KEY_ID ? { kmsKeyId: env.KMS_KEY_ID } : {}),
      ...(env.STATIC_TAGS ? { tags: JSON.parse(env.STATIC_TAGS) as unknown } : {}),
    },
    ...(env.SYNC_CONCURRENCY ? { sync: { concurrency: Number(env.SYNC_CONCURRENCY) } } : {}),
    notifications: env.SNS_TOPIC_ARN ? { sns: { topicArn: env.SNS_TOPIC_ARN } } : {},
  };
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

export async function runLambda(context: Pick<Context, "getRemainingTimeInMillis">, deps: HandlerDependencies = {}): Promise<LambdaSummary> {
  const env = deps.env ?? process.env;
  const logger = deps.logger ?? createLogger({ pretty: false, stream: process.stdout as never });
  const prefix = env.SECRETS_PREFIX ?? "hybrid-aws-secrets";
  const secretName = env.CONNECTION_SECRET_NAME ?? `${prefix}/vault-connection-secret`;
  const client = deps.secretsManager ?? new SecretsManagerClient(awsClientConfig(env, "Secrets Manager"));
  const startedAt = new Date().toISOString();
  let connection: Awaited<ReturnType<typeof connectionFromSecret>>;
  let config: Config;
  try {
    connection = await connectionFromSecret(await readConnectionSecret(client, secretName), env);
    config = parseConfig(configFromEnvironment(env, connection.address, connection.token), "Lambda environment");
  } catch (error) {
    // Before the engine runs there is no report yet; this failure must still be loud.
    const fatal = error instanceof SyncError ? error : new SyncError("config-invalid", "unexpected error while preparing the run");
    logger.error({ errorClass: fatal.errorClass }, fatal.message);
    const summary: LambdaSummary = {
      runId: "setup",
      exitCode: 2,
      counts: { ...emptyCounts(), failed: 1 },
      created: [],
      updated: [],
      failed: [{ path: secretName, errorClass: fatal.errorClass, message: fatal.message }],
      deferred: [],
      fatal: { errorClass: fatal.errorClass, message: fatal.message },
    };
    if (env.SNS_TOPIC_ARN) {
      const sns = new SnsNotifier({ topicArn: env.SNS_TOPIC_ARN, client: new SNSClient(awsClientConfig(env, "SNS", { region: env.SNS_TOPIC_ARN.split(":")[3] ?? "" })) });
      await notifyAll([sns], { syncName: env.SYNC_NAME ?? prefix, runId: "setup", startedAt, finishedAt: new Date().toISOString(), summary: { ...summary.counts }, failures: summary.failed }, logger);
    }
    if (!deps.secretsManager) client.destroy();
    return summary;
  }
  if (!deps.secretsManager) client.destroy();
  const wiring = await wire(config, { env });
  try {
    const report = await runMappings({ destination: wiring.destination, logger }, wiring.mappings, {
      mode: "sync",
      concurrency: config.sync.concurrency,
      deadline: Date.now() + context.getRemainingTimeInMillis() - DEADLINE_MARGIN_MS,
    });
    await notifyRun(wiring.notifiers, report, logger);
    const summary = summarize(report);
    logger.info({ summary }, "secretbridge run summary");
    return summary;
  } finally {
    await Promise.allSettled([wiring.close(), connection.close()]);
  }
}

/**
 * Lambda entry point. A run with failures throws after notifying, so the function's Errors metric
 * (and the alarm on it) sees it: the reference sample's failures were silent.
 */
export async function handler(_event: unknown, context: Context): Promise<LambdaSummary> {
  const summary = await runLambda(context);
  if (summary.exitCode !== 0) {
    const what = summary.fatal ? `[${summary.fatal.errorClass}] ${summary.fatal.message}` : `${summary.failed.length} secret(s) failed`;
    throw new Error(`secretbridge run ${summary.runId} failed: ${what}`);
  }
  return summary;
}
