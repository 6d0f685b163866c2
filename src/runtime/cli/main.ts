// The `secretbridge` command line: validate, plan, sync, bootstrap-vault. Parses input, wires the
// providers, runs the engine and renders the report; exit codes 0 / 1 / 2 as documented.
import { Command, CommanderError, Option } from "commander";
import cliProgress from "cli-progress";
import { literalCredentialWarnings } from "../../config/credentials.js";
import { loadConfigFile } from "../../config/load.js";
import { resolveConfig } from "../../config/resolve.js";
import { notifyRun } from "../../notify/index.js";
import { isSyncError, SyncError } from "../../core/errors.js";
import type { PolicyDocument } from "../../destinations/aws-common/iam.js";
import { iamPolicy, type IamScope } from "../../destinations/aws-secrets-manager/iam-policy.js";
import { runMappings } from "../../engine/run.js";
import { verify } from "../../engine/verify.js";
import { withWriteFields, type RunMode } from "../../engine/report.js";
import { bootstrapVault, readCaCert, vaultAddress, vaultCaCertFile, vaultNamespace } from "../../sources/vault/index.js";
import { ApiCallRecorder } from "../../util/api-calls.js";
import { SyncService } from "../service/service.js";
import { createLogger, routeStrayOutput, type Logger } from "../../util/logger.js";
import { createTerminalLogger } from "./terminal-logger.js";
import { composeIamPolicy, iamPolicyForConfig, type RuntimeIamInput } from "../iam-policy.js";
import { wire, type RunTarget } from "../wire.js";
import { processOutput, renderActions, renderError, renderJson, renderSummary, renderTarget, renderVerify, type Output } from "./output.js";
import { packageVersion } from "./version.js";

export const EXIT = { ok: 0, failures: 1, unusable: 2 } as const;

interface CommonOptions {
  config: string;
  json?: boolean;
  logLevel?: string;
  progress?: boolean;
  all?: boolean;
  forceDeletions?: boolean;
}

export interface CliContext {
  output?: Output;
  env?: NodeJS.ProcessEnv;
  /** Overrides TTY detection (tests). */
  isTTY?: boolean;
  logger?: Logger;
  /** Receives every API call the run makes (tests, benchmarks). */
  recorder?: ApiCallRecorder;
  /** Ends `serve` (tests); a real process uses SIGTERM / SIGINT. */
  stopSignal?: AbortSignal;
}

interface IamPolicyOptions {
  account: string;
  config?: string;
  region?: string;
  partition: string;
  prefix: string;
  kmsKeyArn?: string;
  replicaRegion: string[];
  snsTopicArn?: string;
  connectionSecret: string[];
  connectionSecretKey?: string;
  connectionSecretRegion?: string;
  kvV1?: boolean;
  deletion?: boolean;
  replicas?: boolean;
  resourcePolicy?: boolean;
  verify?: boolean;
}

function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  return env.SECRETBRIDGE_CONFIG ?? "secretbridge.yaml";
}

export async function main(argv: string[], context: CliContext = {}): Promise<number> {
  const output = context.output ?? processOutput;
  const env = context.env ?? process.env;
  const isTTY = context.isTTY ?? Boolean(process.stderr.isTTY);
  let exitCode: number = EXIT.ok;
  // What plan or sync targets, once known: also part of the JSON error object of a run that stops.
  let target: RunTarget | undefined;

  // The runtime commands (plan, sync, serve) log. When stderr is not a TTY it carries one JSON
  // object per line, for log shippers: the logger's records, process warnings and library console
  // output routed through it. The error that ends a command is the one exception, on every
  // command: a readable line, printed whatever the log level (see the catch below).
  let unroute: (() => void) | undefined;
  const loggerFor = (opts: CommonOptions, command: "run" | "serve"): Logger => {
    // On a terminal, plan and sync print a report that holds every failure and warning, each
    // once: their log records would print each a second time (and tear the progress bar), so
    // they are off unless asked for. `serve` has no report: its terminal shows warnings. Log
    // shippers (not a TTY) get info, or warn beside --json.
    const fallback = isTTY ? (command === "serve" ? "warn" : "silent") : opts.json ? "warn" : "info";
    const level = opts.logLevel ?? env.SECRETBRIDGE_LOG_LEVEL ?? fallback;
    const logger = context.logger ?? (isTTY ? createTerminalLogger(level) : createLogger({ level }));
    unroute = routeStrayOutput(logger, { console: !isTTY });
    return logger;
  };

  const program = new Command()
    .name("secretbridge")
    .description("Replicate Vault / OpenBao KV secrets into AWS Secrets Manager.")
    .version(packageVersion(), "-V, --version", "print the version and exit")
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) })
    .showHelpAfterError();

  const withCommon = (cmd: Command) =>
    cmd
      .addOption(new Option("-c, --config <file>", "config file (YAML)").default(defaultConfigPath(env)))
      .addOption(new Option("--log-level <level>", "log level").choices(["trace", "debug", "info", "warn", "error", "silent"]));

  withCommon(program.command("validate").description("check the config file and exit (no network)")).action(async (opts: CommonOptions) => {
    const resolved = resolveConfig(await loadConfigFile(opts.config), env);
    for (const warning of literalCredentialWarnings(resolved.config)) output.err(`${opts.config}: warning: ${warning}`);
    output.out(`${opts.config}: valid. sync "${resolved.syncName}": ${resolved.mappings.map((m) => m.describe).join("; ")}`);
  });

  const runCommand = (mode: RunMode) => async (opts: CommonOptions) => {
    const logger = loggerFor(opts, "run");
    const config = await loadConfigFile(opts.config);
    const wiring = await wire(config, { env, logger, ...(context.recorder ? { recorder: context.recorder } : {}) });
    let bar: cliProgress.SingleBar | undefined;
    const showProgress = mode === "sync" && isTTY && !opts.json && opts.progress !== false;
    // Asked beside the run (the identity call can be slow where STS is out of reach) and printed as
    // soon as it is known: in any case before the plan, which is printed at the end. Never rejects.
    const targetKnown = wiring.target().then((known) => {
      target = known;
      if (!opts.json) output.out(renderTarget(known));
      return known;
    });
    try {
      const report = await runMappings(
        {
          destination: wiring.destination,
          logger,
          onProgress: showProgress
            ? (done, total) => {
                if (!bar && total >= 20) {
                  bar = new cliProgress.SingleBar({ stream: process.stderr, format: "writing {bar} {value}/{total} secrets" }, cliProgress.Presets.shades_classic);
                  bar.start(total, 0);
                }
                bar?.update(done);
              }
            : undefined,
        },
        wiring.mappings,
        { mode, concurrency: config.sync.concurrency, ...(opts.forceDeletions ? { forceDeletions: true } : {}) },
      );
      bar?.stop();
      const known = await targetKnown;
      await notifyRun(wiring.notifiers, report, logger);
      // A run that could not start is a setup error like any other: one line on stderr (and the
      // JSON error object), not a report of zero actions.
      if (report.fatal) throw new SyncError(report.fatal.errorClass, report.fatal.message);
      if (opts.json) output.out(renderJson(withWriteFields(report, wiring.mappings.map((m) => m.mapping), wiring.destination.profile), known));
      else output.out(`${renderActions(report, Boolean(opts.all))}\n${renderSummary(report)}`);
      exitCode = report.exitCode;
    } finally {
      bar?.stop();
      await targetKnown;
      await wiring.close();
    }
  };

  withCommon(program.command("plan").description("dry run: list both sides and print what sync would do; writes nothing"))
    .option("--json", "print the plan as JSON")
    .option("--all", "include unchanged secrets in the table")
    .option("--force-deletions", "plan as if the blast-radius guard were lifted")
    .action(runCommand("plan"));

  withCommon(program.command("sync").description("create and update destination secrets to match the source"))
    .option("--json", "print the run report as JSON")
    .option("--all", "include unchanged secrets in the table")
    .option("--no-progress", "no progress bar on a terminal")
    .option("--force-deletions", "lift the blast-radius guard for this run (deletions over the configured limit go ahead)")
    .action(runCommand("sync"));

  withCommon(program.command("verify").description("compare both sides by value (reads values on both sides; prints verdicts, never values)"))
    .option("--json", "print the verdicts as JSON")
    .action(async (opts: CommonOptions) => {
      const config = await loadConfigFile(opts.config);
      const wiring = await wire(config, { env, ...(context.recorder ? { recorder: context.recorder } : {}) });
      try {
        const report = await verify(wiring.mappings, wiring.destination, config.sync.concurrency);
        if (opts.json) output.out(JSON.stringify(report, null, 2));
        else output.out(renderVerify(report));
        exitCode = report.exitCode;
      } finally {
        await wiring.close();
      }
    });

  withCommon(program.command("serve").description("long-running service: scheduled full syncs, push triggers (audit stream, webhook), health, metrics, status API"))
    .addHelpText("after", "\nSecrets come from the environment: $SECRETBRIDGE_API_TOKEN (bearer token for /api/*), $SECRETBRIDGE_WEBHOOK_SECRET (HMAC key for /webhook), $SECRETBRIDGE_NOTIFY_SECRET (HMAC key signing outgoing webhook notices, unless notifications.webhook.signingSecretEnv names another variable).")
    .action(async (opts: CommonOptions) => {
      const logger = loggerFor(opts, "serve");
      const config = await loadConfigFile(opts.config, { secretIdFileMayComeLater: true });
      const recorder = context.recorder ?? new ApiCallRecorder();
      const wiring = await wire(config, { env, recorder, logger, deferLogin: true });
      const [host = "127.0.0.1", port = "8080"] = config.service.listen.split(/:(?=\d+$)/);
      const audit = config.service.auditListen?.split(/:(?=\d+$)/);
      const service = new SyncService({
        wiring,
        logger,
        recorder,
        listen: { host, port: Number(port) },
        ...(audit
          ? {
              audit: {
                host: audit[0] ?? "127.0.0.1",
                port: Number(audit[1]),
                allowFrom: config.service.auditAllowFrom,
                maxConnections: config.service.auditMaxConnections,
                maxLineBytes: config.service.auditMaxLineBytes,
                idleTimeoutMs: config.service.auditIdleTimeoutSeconds * 1000,
              },
            }
          : {}),
        schedule: config.service.schedule,
        coalesceMs: config.service.coalesceMs,
        concurrency: config.sync.concurrency,
        maxPendingPaths: config.service.maxPendingPaths,
        fullSyncMinIntervalMs: config.service.fullSyncMinIntervalSeconds * 1000,
        notifyRepeatAfterMs: config.notifications.repeatAfterMinutes * 60_000,
        ...(config.service.stateDir ? { stateDir: config.service.stateDir } : {}),
        ...(env.SECRETBRIDGE_API_TOKEN ? { apiToken: env.SECRETBRIDGE_API_TOKEN } : {}),
        ...(env.SECRETBRIDGE_WEBHOOK_SECRET ? { webhookSecret: env.SECRETBRIDGE_WEBHOOK_SECRET } : {}),
      });
      const ports = await service.start();
      const auditAt = ports.auditPort ? `${audit?.[0]}:${ports.auditPort}` : undefined;
      if (isTTY) output.err(`secretbridge serve: http on ${host}:${ports.httpPort}${auditAt ? `, audit stream on ${auditAt}` : ""}`);
      else logger.info({ http: `${host}:${ports.httpPort}`, ...(auditAt ? { audit: auditAt } : {}) }, "secretbridge serve: listening");
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
        context.stopSignal?.addEventListener("abort", stop);
      });
      await service.stop();
      await wiring.close();
    });

  program
    .command("bootstrap-vault")
    .description("enable the KV engines, write the read-only policy and create a read-only token (like the reference walkthrough)")
    .option("--address <url>", "Vault / OpenBao address (default $BAO_ADDR or $VAULT_ADDR)")
    .option("--namespace <ns>", "Vault Enterprise / OpenBao namespace (default $BAO_NAMESPACE or $VAULT_NAMESPACE)")
    .option("--mount <mount>", "KV v2 mount to replicate", "hybrid-aws-secrets")
    .option("--restricted-mount <mount>", "KV v2 mount the replication token must never read", "super-secret-engine")
    .option("--policy-name <name>", "name of the read-only policy", "aws-replication-read-only")
    .option("--sample-secrets", "write the walkthrough's sample secrets")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nThe admin token is read from $BAO_TOKEN or $VAULT_TOKEN (never from the command line, where it would land in shell history). A private CA is trusted from $BAO_CACERT or $VAULT_CACERT.",
    )
    .action(async (opts: { address?: string; namespace?: string; mount: string; restrictedMount: string; policyName: string; sampleSecrets?: boolean; json?: boolean }) => {
      const address = vaultAddress(opts.address, env, "--address");
      const adminToken = env.BAO_TOKEN || env.VAULT_TOKEN;
      if (!address) throw new SyncError("config-invalid", "--address (or $BAO_ADDR / $VAULT_ADDR) is required");
      if (!adminToken) throw new SyncError("config-invalid", "set $BAO_TOKEN or $VAULT_TOKEN to an admin token");
      const namespace = vaultNamespace(opts.namespace, env);
      const ca = vaultCaCertFile(undefined, env);
      const result = await bootstrapVault({
        address,
        adminToken,
        mount: opts.mount,
        restrictedMount: opts.restrictedMount,
        policyName: opts.policyName,
        sampleSecrets: Boolean(opts.sampleSecrets),
        ...(namespace ? { namespace } : {}),
        ...(ca ? { tls: { caCertPem: readCaCert(ca) } } : {}),
      });
      if (opts.json) {
        output.out(JSON.stringify(result, null, 2));
        return;
      }
      output.out(`Policy "${result.policyName}":\n${result.policy}\n`);
      output.out(`Read-only token (store it where secretbridge reads it, e.g. $VAULT_TOKEN or a token file):\n${result.token}`);
    });

  program
    .command("iam-policy")
    .description("print the least-privilege IAM policy (JSON) for a sync, for deployments without the CDK")
    .requiredOption("--account <id>", "AWS account id (12 digits) of the destination secrets")
    .option("-c, --config <file>", "config file: one policy for every mapping it lists (instead of --prefix and the feature flags)")
    .option("--region <region>", "AWS Region of the destination secrets (with -c, default: destination.region)")
    .option("--partition <partition>", "ARN partition (aws, aws-cn, aws-us-gov)", "aws")
    .option("--prefix <prefix>", "destination prefix", "hybrid-aws-secrets")
    .option("--kms-key-arn <key>", "key the secrets are encrypted with: key id, key ARN, alias/name or alias ARN")
    .option("--replica-region <region[=key]>", "a replica Region, with its key in that Region (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--sns-topic-arn <arn>", "failure notification topic")
    .option("--connection-secret <name>", "a secret to read but never write, e.g. the Lambda's connection secret (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--connection-secret-key <key>", "the key the --connection-secret secrets are encrypted with (kms:Decrypt via Secrets Manager)")
    .option("--connection-secret-region <region>", "the Region of the --connection-secret secrets: where the function runs (default: the destination Region)")
    .option("--kv-v1", "allow value reads under the prefix (KV v1 mounts, adopt-if-equal, granularity key)")
    .option("--deletion", "allow the delete strategy (DeleteSecret, RestoreSecret)")
    .option("--replicas", "allow managing replica Regions (also without --replica-region, e.g. to remove them)")
    .option("--resource-policy", "allow setting resource policies")
    .option("--verify", "also allow `secretbridge verify` (value reads under every prefix)")
    .action(async (opts: IamPolicyOptions, cmd: Command) => {
      const runtime: RuntimeIamInput = {
        snsTopicArns: opts.snsTopicArn ? [opts.snsTopicArn] : [],
        connectionSecretNames: opts.connectionSecret,
        ...(opts.connectionSecretKey ? { connectionSecretKmsKeyId: opts.connectionSecretKey } : {}),
        ...(opts.connectionSecretRegion ? { connectionSecretRegion: opts.connectionSecretRegion } : {}),
      };
      let policy: PolicyDocument;
      if (opts.config) {
        const describesScope = ["prefix", "kmsKeyArn", "replicaRegion", "kvV1", "deletion", "replicas", "resourcePolicy"].filter((o) => cmd.getOptionValueSource(o) === "cli");
        if (describesScope.length > 0) {
          const flags = describesScope.map((o) => `--${o.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
          throw new SyncError("config-invalid", `${flags.join(", ")} cannot be combined with -c: the config file describes the mappings`);
        }
        const resolved = resolveConfig(await loadConfigFile(opts.config), env);
        const region = opts.region ?? resolved.config.destination.region;
        if (!region) throw new SyncError("config-invalid", "--region is required: the config sets no destination.region");
        policy = iamPolicyForConfig(resolved, { account: opts.account, region, partition: opts.partition, verify: Boolean(opts.verify), ...runtime });
      } else {
        // Without a config: one Secrets Manager mapping described by the flags.
        if (!opts.region) throw new SyncError("config-invalid", "--region is required");
        const scope: IamScope = {
          prefix: opts.prefix,
          ...(opts.kmsKeyArn ? { kmsKeyId: opts.kmsKeyArn } : {}),
          replicas: opts.replicaRegion.map((r) => {
            const [replicaRegion = "", kmsKeyId] = r.split(/=(.*)/);
            return { region: replicaRegion, ...(kmsKeyId ? { kmsKeyId } : {}) };
          }),
          lifecycle: { delete: Boolean(opts.deletion), restore: Boolean(opts.deletion), tagOrphans: false },
          resourcePolicy: Boolean(opts.resourcePolicy),
          valueReads: Boolean(opts.kvV1) || Boolean(opts.verify),
          manageReplicas: Boolean(opts.replicas),
        };
        const target = { account: opts.account, region: opts.region, partition: opts.partition };
        policy = composeIamPolicy({ ...target, ...runtime }, iamPolicy({ ...target, scopes: [scope] }));
      }
      output.out(JSON.stringify(policy, null, 2));
    });

  // Whether the command asked for JSON on stdout; set before its action runs.
  let json = argv.includes("--json");
  program.hook("preAction", (_program, command) => {
    json = Boolean((command.opts() as { json?: boolean }).json);
  });

  try {
    await program.parseAsync(argv, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok;
      // Commander has printed the usage error on stderr already.
      if (json) output.out(renderError({ class: "usage", message: error.message.replace(/^error: /, "") }, EXIT.unusable));
      return EXIT.unusable;
    }
    const failure = isSyncError(error) ? { class: error.errorClass, message: error.message } : { class: "unexpected", message: error instanceof Error ? error.message : String(error) };
    // Always, whatever the log level and whether stderr is a terminal: the one line a user reads.
    output.err(`secretbridge: [${failure.class}] ${failure.message}`);
    if (json) output.out(renderError(failure, EXIT.unusable, target));
    return EXIT.unusable;
  } finally {
    unroute?.();
  }
}

