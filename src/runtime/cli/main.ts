// The `secretbridge` command line: validate, plan, sync, verify, discover, serve, bootstrap-vault.
// Parses input, wires the providers, runs the engine and renders the report; exit codes 0 / 1 / 2
// as documented. A config with `targets` runs them all at once (or those --target names), each
// with its own report; the exit code is the worst of them.
import { Command, CommanderError, Option } from "commander";
import cliProgress from "cli-progress";
import { literalCredentialWarnings } from "../../config/credentials.js";
import { loadConfigFile } from "../../config/load.js";
import { distinctDestinationProblems, resolveConfig, resolveTargets, type ResolvedConfig } from "../../config/resolve.js";
import { notifyRun } from "../../notify/index.js";
import { isSyncError, SyncError } from "../../core/errors.js";
import type { PolicyDocument } from "../../destinations/aws-common/iam.js";
import { iamPolicy, type IamScope } from "../../destinations/aws-secrets-manager/iam-policy.js";
import { runMappings } from "../../engine/run.js";
import { checklist, discover } from "../../engine/discover.js";
import { abacVerdicts, cloudTrailQueries, parseAbacPolicy, type AbacPrincipal } from "../../destinations/aws-secrets-manager/checklist.js";
import { cutover } from "../../engine/cutover.js";
import { waveSelection, type CutoverCommand, type NamedWave, type WaveSelect } from "../../core/cutover.js";
import { readFile, writeFile } from "node:fs/promises";
import { renderChecklistTable, renderDiscoverCsv, renderDiscoverJson, renderDiscoverSummary, renderDiscoverTable, type ChecklistEntry, type ChecklistReport } from "./discover-output.js";
import { renderDiscoverHtml } from "./discover-html.js";
import { verify } from "../../engine/verify.js";
import { withWriteFields, type PrintedReport, type RunMode } from "../../engine/report.js";
import { bootstrapVault, readCaCert, vaultAddress, vaultCaCertFile, vaultNamespace } from "../../sources/vault/index.js";
import { ApiCallRecorder } from "../../util/api-calls.js";
import { createLogger, routeStrayOutput, type Logger } from "../../util/logger.js";
import { createTerminalLogger } from "./terminal-logger.js";
import { composeIamPolicy, iamPolicyForConfig, memberRoleTemplate, type RuntimeIamInput } from "../iam-policy.js";
import { identifyTargets, wire, wireTargets, type RunTarget, type Wiring } from "../wire.js";
import {
  processOutput,
  renderActions,
  renderActionsChunks,
  renderError,
  renderJson,
  renderSummary,
  renderTarget,
  renderTargetBlockChunks,
  renderTargetFailure,
  renderTargetsJson,
  renderTargetsOutcome,
  renderVerify,
  worstExitCode,
  type Output,
  type TargetOutcome,
} from "./output.js";
import { packageVersion } from "./version.js";

export const EXIT = { ok: 0, failures: 1, unusable: 2 } as const;

interface CommonOptions {
  config: string;
  json?: boolean;
  logLevel?: string;
  progress?: boolean;
  all?: boolean;
  forceDeletions?: boolean;
  target?: string[];
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
  target?: string[];
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
  memberRoleTemplate?: string;
}

function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  return env.SECRETBRIDGE_CONFIG ?? "secretbridge.yaml";
}

/** An error as the one line and the JSON error object show it: its class and message. */
function failureOf(error: unknown): { class: string; message: string } {
  return isSyncError(error) ? { class: error.errorClass, message: error.message } : { class: "unexpected", message: error instanceof Error ? error.message : String(error) };
}

/** What `--wave` selects in this config, or a usage error (exit 2) naming its waves. */
function pickWave(text: string | undefined, waves: readonly NamedWave[] | undefined): WaveSelect | undefined {
  if (text === undefined) return undefined;
  const wave = waveSelection(text, waves);
  if ("problem" in wave) throw new SyncError("config-invalid", wave.problem);
  return wave.select;
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
    .description("Replicate Vault / OpenBao KV secrets into AWS Secrets Manager or Systems Manager Parameter Store.")
    .version(packageVersion(), "-V, --version", "print the version and exit")
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) })
    .showHelpAfterError();

  const withCommon = (cmd: Command) =>
    cmd
      .addOption(new Option("-c, --config <file>", "config file (YAML)").default(defaultConfigPath(env)))
      .addOption(new Option("--log-level <level>", "log level").choices(["trace", "debug", "info", "warn", "error", "silent"]));

  /**
   * The targets a command runs: every one, or those --target names. An unknown name is a usage
   * error that lists the config's names.
   */
  const pickTargets = (all: ResolvedConfig[], names: string[] | undefined): ResolvedConfig[] => {
    if (!names || names.length === 0) return all;
    const known = all.map((t) => t.target);
    const unknown = [...new Set(names.filter((n) => !known.includes(n)))];
    if (unknown.length > 0) {
      const message = `unknown target${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => JSON.stringify(n)).join(", ")}: this config's targets are ${known.join(", ")}`;
      output.err(`error: ${message}`);
      throw new CommanderError(EXIT.unusable, "secretbridge.unknownTarget", message);
    }
    return all.filter((t) => names.includes(t.target));
  };
  /** A target that could not run: one line on stderr (whatever the log level), as a command that cannot start. */
  const sayTargetFailed = (name: string, failure: { class: string; message: string }) => output.err(`secretbridge: target ${name}: [${failure.class}] ${failure.message}`);
  const targetOption = () => new Option("--target <name>", "run only this target of the config (repeatable); default: every target").argParser((v: string, all: string[] = []) => [...all, v]);

  withCommon(program.command("validate").description("check the config file and exit (no network; with several targets, one identity call each to compare their accounts)")).action(async (opts: CommonOptions) => {
    const config = await loadConfigFile(opts.config);
    const targets = resolveTargets(config, env);
    for (const warning of literalCredentialWarnings(config)) output.err(`${opts.config}: warning: ${warning}`);
    if (!config.targets) {
      output.out(`${opts.config}: valid. sync "${config.name}": ${targets.flatMap((t) => t.mappings.map((m) => m.describe)).join("; ")}`);
      return;
    }
    if (targets.length > 1) await refuseSamePlace(targets, opts.config);
    output.out(`${opts.config}: valid. sync "${config.name}": ${targets.map((t) => `target ${t.target}: ${t.mappings.map((m) => m.describe).join("; ")}`).join("; ")}`);
  });

  /**
   * Two targets the config cannot tell apart may still be one account: each destination's identity
   * call says. A target whose account cannot be read is said so, and compared with none.
   */
  const refuseSamePlace = async (targets: ResolvedConfig[], origin: string): Promise<void> => {
    const found = await identifyTargets(targets, env);
    const places = found.flatMap(({ resolved, destination: d }, i) => {
      if (d.account === null) {
        output.err(`${origin}: warning: target ${resolved.target}: account unknown (${d.accountUnknown ?? "?"}); not compared with the other targets`);
        return [];
      }
      return [{ label: `targets[${i}] (${resolved.target})`, name: resolved.target, where: `${d.service}, Region ${d.region ?? "unknown"}, account ${d.account}`, prefixes: resolved.mappings.map((m) => m.prefix) }];
    });
    const clashes = distinctDestinationProblems(places);
    if (clashes.length > 0) throw new SyncError("config-invalid", `${origin} is invalid:\n${clashes.map((c) => `  - ${c}`).join("\n")}`);
  };

  /** The one target a command of one target (iam-policy) works on: the config's only one, or the one --target names. */
  const oneTarget = async (file: string, names: string[] | undefined): Promise<ResolvedConfig> => {
    const config = await loadConfigFile(file);
    if (!config.targets && !names?.length) return resolveConfig(config, env);
    const all = resolveTargets(config, env);
    const picked = pickTargets(all, names);
    if (picked.length === 1 && picked[0]) return picked[0];
    throw new SyncError(
      "config-invalid",
      names?.length
        ? `iam-policy prints the policy of one target; --target names ${picked.length}`
        : `this config lists ${all.length} targets (${all.map((t) => t.target).join(", ")}); iam-policy prints the policy of one: add --target NAME`,
    );
  };

  const runCommand = (mode: RunMode) => async (opts: CommonOptions) => {
    const logger = loggerFor(opts, "run");
    const config = await loadConfigFile(opts.config);
    const targets = pickTargets(resolveTargets(config, env), opts.target);
    const wired = await wireTargets(config, targets, { env, logger, ...(context.recorder ? { recorder: context.recorder } : {}) });
    try {
      if (config.targets) await runTargets(mode, opts, wired.targets, config.sync.concurrency, logger);
      else await runOne(mode, opts, wired.targets[0] as Wiring, config.sync.concurrency, logger);
    } finally {
      await wired.close();
    }
  };

  /** A config without `targets`: its target printed as soon as known, a report, a progress bar on a terminal. */
  const runOne = async (mode: RunMode, opts: CommonOptions, wiring: Wiring, concurrency: number, logger: Logger) => {
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
        { mode, target: wiring.resolved.target, concurrency, ...(opts.forceDeletions ? { forceDeletions: true } : {}) },
      );
      bar?.stop();
      const known = await targetKnown;
      await notifyRun(wiring.notifiers, report, logger);
      // A run that could not start is a setup error like any other: one line on stderr (and the
      // JSON error object), not a report of zero actions.
      if (report.fatal) throw new SyncError(report.fatal.errorClass, report.fatal.message);
      if (opts.json) output.out(renderJson(withWriteFields(report, wiring.mappings.map((m) => m.mapping), wiring.destination.profile), known));
      else {
        // In pieces: the table of an initial sync of 100,000 secrets is 100,000 lines.
        for (const piece of renderActionsChunks(report, Boolean(opts.all))) output.out(piece);
        output.out(renderSummary(report));
      }
      exitCode = report.exitCode;
    } finally {
      bar?.stop();
      await targetKnown;
    }
  };

  /**
   * A config with `targets`: every target at once, each with its own destination client, rate
   * limits, plan, report and notice. One that cannot run (unreachable, denied) is its own entry
   * and its own line on stderr; the others go on. The exit code is the worst of them.
   */
  const runTargets = async (mode: RunMode, opts: CommonOptions, wirings: Wiring[], concurrency: number, logger: Logger) => {
    const outcomes = await Promise.all(
      wirings.map(async (wiring): Promise<TargetOutcome> => {
        const run = async () => {
          try {
            const report = await runMappings({ destination: wiring.destination, logger }, wiring.mappings, {
              mode,
              target: wiring.resolved.target,
              concurrency,
              ...(opts.forceDeletions ? { forceDeletions: true } : {}),
            });
            await notifyRun(wiring.notifiers, report, logger);
            return report.fatal ? { error: { class: report.fatal.errorClass, message: report.fatal.message } } : { report };
          } catch (error) {
            return { error: failureOf(error) };
          }
        };
        const [known, result] = await Promise.all([wiring.target(), run()]);
        return { target: known, ...result };
      }),
    );
    for (const o of outcomes) if ("error" in o) sayTargetFailed(o.target.name, o.error);
    if (opts.json) {
      const printed = outcomes.map((o, i): TargetOutcome<PrintedReport> => {
        const wiring = wirings[i];
        return "report" in o && wiring ? { ...o, report: withWriteFields(o.report, wiring.mappings.map((m) => m.mapping), wiring.destination.profile) } : o;
      });
      output.out(renderTargetsJson(wirings[0]?.resolved.syncName ?? "", mode, printed));
    }
    else {
      // Block after block, each in pieces of lines, an empty line between them.
      for (const outcome of outcomes) {
        for (const piece of renderTargetBlockChunks(outcome, Boolean(opts.all))) output.out(piece);
        output.out("");
      }
      output.out(renderTargetsOutcome(outcomes));
    }
    exitCode = worstExitCode(outcomes);
  };

  withCommon(program.command("plan").description("dry run: list both sides and print what sync would do; writes nothing"))
    .option("--json", "print the plan as JSON")
    .option("--all", "include unchanged secrets in the table")
    .option("--force-deletions", "plan as if the blast-radius guard were lifted")
    .addOption(targetOption())
    .action(runCommand("plan"));

  withCommon(program.command("sync").description("create and update destination secrets to match the source"))
    .option("--json", "print the run report as JSON")
    .option("--all", "include unchanged secrets in the table")
    .option("--no-progress", "no progress bar on a terminal")
    .option("--force-deletions", "lift the blast-radius guard for this run (deletions over the configured limit go ahead)")
    .addOption(targetOption())
    .action(runCommand("sync"));

  withCommon(program.command("verify").description("compare both sides by value (reads values on both sides; prints verdicts, never values)"))
    .option("--json", "print the verdicts as JSON")
    .addOption(targetOption())
    .action(async (opts: CommonOptions) => {
      const config = await loadConfigFile(opts.config);
      const targets = pickTargets(resolveTargets(config, env), opts.target);
      const wired = await wireTargets(config, targets, { env, ...(context.recorder ? { recorder: context.recorder } : {}) });
      try {
        if (!config.targets) {
          const wiring = wired.targets[0] as Wiring;
          const report = await verify(wiring.mappings, wiring.destination, config.sync.concurrency);
          if (opts.json) output.out(JSON.stringify(report, null, 2));
          else output.out(renderVerify(report));
          exitCode = report.exitCode;
          return;
        }
        const reports = await Promise.all(
          wired.targets.map(async (w) => {
            try {
              return { target: w.resolved.target, ...(await verify(w.mappings, w.destination, config.sync.concurrency)), error: undefined };
            } catch (error) {
              const failure = failureOf(error);
              sayTargetFailed(w.resolved.target, failure);
              return { target: w.resolved.target, error: failure, exitCode: 2 as const };
            }
          }),
        );
        exitCode = Math.max(0, ...reports.map((r) => r.exitCode));
        if (opts.json) output.out(JSON.stringify({ syncName: config.name, exitCode, targets: reports }, null, 2));
        else output.out(reports.map((r) => `Target ${r.target}\n${r.error ? renderTargetFailure(r.target, r.error) : renderVerify(r)}`).join("\n\n"));
      } finally {
        await wired.close();
      }
    });

  withCommon(program.command("discover").description("inventory for a migration: every source secret in scope, its destination state and a suggested strategy (metadata only; reads no value)"))
    .argument("[paths...]", "with --checklist: the source paths of the wave (relative to the mount)")
    .option("--checklist", "cutover checklist of a wave (the paths, or --wave): exists with the required tags, at the source's version, readable by whom (--abac-policy), CloudTrail queries")
    .option("--wave <NAME|KEY=VALUE>", "only the secrets of a wave: one the config's waves name, or every source secret whose custom_metadata has KEY set to VALUE")
    .option("--abac-policy <file>", "with --checklist: an IAM policy (or {principals: {NAME: {tags, policy}}}) whose aws:ResourceTag conditions are evaluated on each secret's tags")
    .option("--json", "print the report as JSON")
    .option("--csv", "print the report as CSV (RFC 4180)")
    .option("--html <file>", "also write the report as a single self-contained HTML file")
    .option("--with-sizes", "read each source value to report its size in bytes (and nothing else)")
    .option("--as-of <time>", "count ages up to this ISO 8601 time instead of now (e.g. a planned cutover date)")
    .action(async (paths: string[], opts: CommonOptions & { csv?: boolean; html?: string; withSizes?: boolean; asOf?: string; checklist?: boolean; wave?: string; abacPolicy?: string }) => {
      if (opts.checklist) return checklistCommand(paths, opts);
      if (paths.length > 0 || opts.abacPolicy !== undefined) {
        throw new SyncError("config-invalid", "paths and --abac-policy are for --checklist; add --checklist, or drop them for the whole inventory (--wave selects a wave of it)");
      }
      if (opts.json && opts.csv) throw new SyncError("config-invalid", "--json and --csv cannot be combined: pick one for stdout");
      const asOf = opts.asOf === undefined ? new Date() : new Date(opts.asOf);
      if (Number.isNaN(asOf.getTime()) || (opts.asOf !== undefined && !/^\d{4}-\d\d-\d\d/.test(opts.asOf))) {
        throw new SyncError("config-invalid", `--as-of ${JSON.stringify(opts.asOf)} is not an ISO 8601 date or time, e.g. 2027-03-31 or 2027-03-31T12:00:00Z`);
      }
      const logger = loggerFor({ ...opts, json: opts.json || opts.csv }, "run");
      const config = await loadConfigFile(opts.config);
      const wave = pickWave(opts.wave, config.waves);
      const recorder = context.recorder ?? new ApiCallRecorder();
      const wiring = await wire(config, { env, logger, recorder });
      try {
        const report = await discover({ destination: wiring.destination, logger }, wiring.mappings, {
          rules: config.discover,
          asOf,
          withSizes: Boolean(opts.withSizes),
          concurrency: config.sync.concurrency,
          ...(wave ? { wave: { text: opts.wave ?? "", select: wave } } : {}),
        });
        report.apiCalls = recorder.byOperation();
        if (opts.html) {
          const file = opts.html;
          await writeFile(file, renderDiscoverHtml(report)).catch((error: unknown) => {
            const code = (error as { code?: string }).code ?? (error instanceof Error ? error.name : "error");
            throw new SyncError("config-invalid", `--html ${file}: cannot write the report there (${code}); name a file in a directory you can write to`);
          });
          output.err(`HTML report written to ${file}`);
        }
        if (opts.json) output.out(renderDiscoverJson(report));
        else if (opts.csv) output.out(renderDiscoverCsv(report));
        else output.out(`${renderDiscoverTable(report)}\n${renderDiscoverSummary(report)}`);
        exitCode = report.exitCode;
      } finally {
        await wiring.close();
      }
    });

  /** `discover --checklist`: one row per secret of the wave, ready or not; exit 1 when one is not. */
  const checklistCommand = async (paths: string[], opts: CommonOptions & { wave?: string; abacPolicy?: string; csv?: boolean; html?: string; withSizes?: boolean }) => {
    if (opts.csv || opts.html || opts.withSizes) throw new SyncError("config-invalid", "--checklist prints a table or --json; --csv, --html and --with-sizes are for the inventory");
    if (paths.length === 0 && opts.wave === undefined) throw new SyncError("config-invalid", "--checklist: name the source paths of the wave, or select them with --wave NAME or --wave KEY=VALUE");
    let principals: AbacPrincipal[] | undefined;
    if (opts.abacPolicy !== undefined) {
      const file = opts.abacPolicy;
      const text = await readFile(file, "utf8").catch((error: unknown) => {
        throw new SyncError("config-invalid", `--abac-policy ${file}: cannot read it (${(error as { code?: string }).code ?? "error"})`);
      });
      principals = parseAbacPolicy(text, `--abac-policy ${file}`);
    }
    const logger = loggerFor(opts, "run");
    const config = await loadConfigFile(opts.config);
    const wave = pickWave(opts.wave, config.waves);
    const wiring = await wire(config, { env, logger, ...(context.recorder ? { recorder: context.recorder } : {}) });
    try {
      const selection = { paths, ...(wave ? { wave } : {}) };
      const { rows, problems } = await checklist({ destination: wiring.destination, logger }, wiring.mappings, selection, config.sync.concurrency);
      const aws = wiring.destination.profile.kind === "aws-secrets-manager";
      const entries: ChecklistEntry[] = rows.map((r) => {
        const access = principals && r.arn ? abacVerdicts(principals, r.arn, r.tags) : { allowed: [], unknown: [] };
        const readers = principals ? access.allowed : null;
        const ready = r.exists && r.missingTags.length === 0 && r.versionMatches && (readers === null || readers.length > 0);
        return { ...r, readers, readersUnknown: access.unknown, cloudTrail: aws && r.arn ? cloudTrailQueries(r.arn, r.destinationName) : null, ready };
      });
      const report: ChecklistReport = {
        format: "secretbridge-checklist/1",
        syncName: config.name,
        selection: { paths, wave: opts.wave ?? null },
        abacPolicy: opts.abacPolicy ?? null,
        rows: entries,
        problems,
        exitCode: problems.length === 0 && entries.every((e) => e.ready) ? 0 : 1,
      };
      output.out(opts.json ? JSON.stringify(report, null, 2) : renderChecklistTable(report));
      exitCode = report.exitCode;
    } finally {
      await wiring.close();
    }
  };

  /**
   * `release` and `adopt` on the secrets the paths or --wave select, in every target (or those
   * --target names). Exit 0: all done; 1: some secret refused or failed (each untouched); 2: could not start.
   */
  const cutoverCommand = (command: CutoverCommand) => async (paths: string[], opts: CommonOptions & { wave?: string; dryRun?: boolean }) => {
    if (paths.length === 0 && opts.wave === undefined) {
      throw new SyncError("config-invalid", `${command}: name the source paths to ${command} (relative to the mount, as plan shows them), or select them with --wave NAME (a wave of the config) or --wave KEY=VALUE`);
    }
    const logger = loggerFor(opts, "run");
    const config = await loadConfigFile(opts.config);
    const wave = pickWave(opts.wave, config.waves);
    const targets = pickTargets(resolveTargets(config, env), opts.target);
    const wired = await wireTargets(config, targets, { env, logger, ...(context.recorder ? { recorder: context.recorder } : {}) });
    try {
      const reports = [];
      for (const wiring of wired.targets) {
        reports.push(
          await cutover({ destination: wiring.destination, logger }, wiring.mappings, {
            command,
            selection: { paths, ...(wave ? { wave } : {}) },
            dryRun: Boolean(opts.dryRun),
            concurrency: config.sync.concurrency,
            target: wiring.resolved.target,
          }),
        );
      }
      for (const report of reports) if (report.fatal) throw new SyncError(report.fatal.errorClass, report.fatal.message);
      if (opts.json) output.out(JSON.stringify(reports.length === 1 ? reports[0] : { syncName: config.name, targets: reports }, null, 2));
      else output.out(reports.map((r) => `${renderActions(r, true)}\n${renderSummary(r, Boolean(config.targets))}`).join("\n\n"));
      exitCode = Math.max(0, ...reports.map((r) => r.exitCode));
    } finally {
      await wired.close();
    }
  };

  withCommon(program.command("release").description("cutover: stop managing these secrets (removes secretbridge's own tags, records secretbridge:released-at; keeps the value, versions and every other tag)"))
    .argument("[paths...]", "source paths, relative to the mount (as plan shows them)")
    .option("--wave <NAME|KEY=VALUE>", "also the secrets of a wave: one the config's waves name, or every source secret whose custom_metadata has KEY set to VALUE")
    .option("--dry-run", "print what would be released; write nothing")
    .option("--json", "print the report as JSON")
    .addOption(targetOption())
    .action(cutoverCommand("release"));

  withCommon(program.command("adopt").description("take released secrets back: removes secretbridge:released-at; the next sync makes each provably secretbridge's again"))
    .argument("[paths...]", "source paths, relative to the mount (as plan shows them)")
    .option("--wave <NAME|KEY=VALUE>", "also the secrets of a wave: one the config's waves name, or every source secret whose custom_metadata has KEY set to VALUE")
    .option("--dry-run", "print what would be taken back; write nothing")
    .option("--json", "print the report as JSON")
    .addOption(targetOption())
    .action(cutoverCommand("adopt"));

  withCommon(program.command("serve").description("long-running service: scheduled full syncs, push triggers (audit stream, webhook), health, metrics, status API"))
    .addOption(targetOption())
    .addHelpText("after", "\nSecrets come from the environment: $SECRETBRIDGE_API_TOKEN (bearer token for /api/*), $SECRETBRIDGE_WEBHOOK_SECRET (HMAC key for /webhook), $SECRETBRIDGE_NOTIFY_SECRET (HMAC key signing outgoing webhook notices, unless notifications.webhook.signingSecretEnv names another variable).")
    .action(async (opts: CommonOptions) => {
      const logger = loggerFor(opts, "serve");
      const config = await loadConfigFile(opts.config, { secretIdFileMayComeLater: true });
      const recorder = context.recorder ?? new ApiCallRecorder();
      // Every target (or those --target names) on one source connection, each with its own destination client.
      const wired = await wireTargets(config, pickTargets(resolveTargets(config, env), opts.target), { env, recorder, logger, deferLogin: true });
      const [host = "127.0.0.1", port = "8080"] = config.service.listen.split(/:(?=\d+$)/);
      const audit = config.service.auditListen?.split(/:(?=\d+$)/);
      // Loaded by serve alone: the metrics registry, the state store and the HTTP server stay out
      // of every other command's memory.
      const { SyncService } = await import("../service/service.js");
      const service = new SyncService({
        ...(config.targets ? { targets: wired.targets } : { wiring: wired.targets[0] as Wiring }),
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
      await wired.close();
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
    .addOption(new Option("--target <name>", "with -c: the target whose policy is printed (required when the config lists several)").argParser((v: string, all: string[] = []) => [...all, v]))
    .option("--partition <partition>", "ARN partition (aws, aws-cn, aws-us-gov)", "aws")
    .option("--prefix <prefix>", "destination prefix", "hybrid-aws-secrets")
    .option("--kms-key-arn <key>", "key the secrets are encrypted with: key id, key ARN, alias/name or alias ARN")
    .option("--replica-region <region[=key]>", "a replica Region, with its key in that Region (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--sns-topic-arn <arn>", "failure notification topic")
    .option("--connection-secret <name>", "a secret to read but never write, e.g. the Lambda's connection secret (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--connection-secret-key <key>", "the key the --connection-secret secrets are encrypted with (kms:Decrypt via Secrets Manager)")
    .option("--connection-secret-region <region>", "the Region of the --connection-secret secrets: where the function runs (default: the destination Region)")
    .option("--kv-v1", "allow value reads under the prefix (KV v1 mounts, adopt-if-equal, adopt-if-placeholder, granularity key)")
    .option("--deletion", "allow the delete strategy (DeleteSecret, RestoreSecret)")
    .option("--replicas", "allow managing replica Regions (also without --replica-region, e.g. to remove them)")
    .option("--resource-policy", "allow setting resource policies")
    .option("--verify", "also allow `secretbridge verify` (value reads under every prefix)")
    .option("--member-role-template <worker-role-arn>", "with -c and --target: print a CloudFormation template of the target's role in its member account, trusting this worker role with the target's external ID")
    .action(async (opts: IamPolicyOptions, cmd: Command) => {
      if (opts.memberRoleTemplate !== undefined) {
        if (!opts.config) throw new SyncError("config-invalid", "--member-role-template needs -c: the role's permissions are the config's target's");
        const resolved = await oneTarget(opts.config, opts.target);
        output.out(JSON.stringify(memberRoleTemplate(resolved, opts.memberRoleTemplate, { account: opts.account, ...(opts.region ? { region: opts.region } : {}) }), null, 2));
        return;
      }
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
        const resolved = await oneTarget(opts.config, opts.target);
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
    const failure = failureOf(error);
    // Always, whatever the log level and whether stderr is a terminal: the one line a user reads.
    output.err(`secretbridge: [${failure.class}] ${failure.message}`);
    if (json) output.out(renderError(failure, EXIT.unusable, target));
    return EXIT.unusable;
  } finally {
    unroute?.();
  }
}

