// Turns a validated config into providers and run settings, per target: one source connection,
// and for each target its own destination client (and so its own rate limits). Every runtime (CLI,
// service, Lambda) wires through here, so they all run the same engine the same way.
import { readFile } from "node:fs/promises";
import { literalCredentialWarnings } from "../config/credentials.js";
import { resolveConfig, type ResolvedConfig } from "../config/resolve.js";
import type { DestinationConfig } from "../config/schema.js";
import type { Config } from "../config/schema.js";
import { SyncError } from "../core/errors.js";
import { SNSClient } from "@aws-sdk/client-sns";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import type { AwsService } from "../destinations/provider.js";
import { boundProvider } from "../destinations/registry.js";
import type { DestinationTarget, SecretDestination } from "../destinations/destination.js";
import type { Notifier } from "../notify/notifier.js";
import { SnsNotifier, WebhookNotifier, webhookCredentials, type WebhookCredentials } from "../notify/index.js";
import {
  readCaCert,
  requireVaultAddress,
  resolveVaultConnection,
  TokenKeeper,
  vaultCaCertFile,
  VaultKvSource,
  type TokenKeeperState,
  type VaultAuthConfig,
  type VaultTlsOptions,
} from "../sources/vault/index.js";
import { createLogger, type Logger } from "../util/logger.js";
import type { ApiCallRecorder } from "../util/api-calls.js";
import { withoutUserinfo } from "../util/url.js";
import type { MappingSource } from "../engine/run.js";

export interface Wiring {
  /** The config, resolved once: every mapping with its scope, names and settings. */
  resolved: ResolvedConfig;
  /** Every mapping with the source that reads it, in config order. */
  mappings: MappingSource[];
  destination: SecretDestination;
  notifiers: Notifier[];
  /** The source's auth: usable (for readiness), and with a login, the keeper's counts. */
  sourceHealth(): SourceHealth;
  /** What a run of this config targets: one identity call to the destination, nothing else. */
  target(): Promise<RunTarget>;
  close(): Promise<void>;
}

/**
 * Which source, mounts, account, Region and prefixes a run targets: printed before `plan` and
 * `sync` output (and in their JSON), so a valid but wrong Region or account is seen at once.
 */
export interface RunTarget {
  /** The config's target (DEFAULT_TARGET for a config without `targets`). */
  name: string;
  /** The address without credentials (userinfo is removed). */
  source: { address: string; namespace?: string; mounts: string[] };
  destination: DestinationTarget & { prefixes: string[] };
}

export interface WireOptions {
  env?: NodeJS.ProcessEnv;
  recorder?: ApiCallRecorder;
  /** Where Vault renewal and login failures are logged; default: JSON lines on stderr. */
  logger?: Logger;
  /**
   * Log in (AppRole, AWS IAM) in the background, retried with backoff, instead of before
   * returning: `serve` starts (and opens its audit listener) even while the source is down.
   */
  deferLogin?: boolean;
}

export interface AssumeRoleSettings {
  roleArn: string;
  externalId?: string;
  sessionName?: string;
  durationSeconds?: number;
}

/** The SDK's service ids of the clients we build; each has its own endpoint variable. */
export type { AwsService } from "../destinations/provider.js";

/**
 * The endpoint the SDK would use for this service from this environment: AWS_ENDPOINT_URL_<ID>
 * (the service id upper-cased, spaces as _), then AWS_ENDPOINT_URL, unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is set. Read from `env` rather than process.env so an
 * in-process caller (tests, the Lambda) can hand over its own environment.
 */
export function endpointFor(env: NodeJS.ProcessEnv, service: AwsService): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === "true") return undefined;
  return env[`AWS_ENDPOINT_URL_${service.toUpperCase().replace(/ /g, "_")}`] || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * AWS client settings read from `env` the way the SDK reads process.env (region, the service's
 * own endpoint, static credentials). With `env === process.env` this is the SDK's own behaviour.
 */
export function awsClientConfig(env: NodeJS.ProcessEnv, service: AwsService, options: { region?: string; profile?: string; assumeRole?: AssumeRoleSettings } = {}) {
  const { profile, assumeRole } = options;
  const resolvedRegion = options.region || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  const endpoint = endpointFor(env, service);
  const staticCredentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {};
  if (assumeRole) {
    const stsEndpoint = endpointFor(env, "STS");
    const credentials = fromTemporaryCredentials({
      params: {
        RoleArn: assumeRole.roleArn,
        RoleSessionName: assumeRole.sessionName ?? "secretbridge",
        DurationSeconds: assumeRole.durationSeconds ?? 3600,
        ...(assumeRole.externalId ? { ExternalId: assumeRole.externalId } : {}),
      },
      ...(staticCredentials.credentials ? { masterCredentials: staticCredentials.credentials } : {}),
      clientConfig: { ...(resolvedRegion ? { region: resolvedRegion } : {}), ...(stsEndpoint ? { endpoint: stsEndpoint } : {}), ...(profile ? { profile } : {}) },
    });
    return { ...(resolvedRegion ? { region: resolvedRegion } : {}), ...(endpoint ? { endpoint } : {}), credentials };
  }
  return {
    ...(resolvedRegion ? { region: resolvedRegion } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(profile ? { profile } : {}),
    ...staticCredentials,
  };
}

/**
 * Every AWS SDK client secretbridge builds (destination, identity, SNS, SQS, the Lambda's
 * Secrets Manager) is built here, from `env` as `awsClientConfig` reads it, plus the client's own
 * settings (`extra`: attempts, timeouts, or a Region and credentials shared with another client).
 */
export function awsClient<C>(
  Client: new (config: ReturnType<typeof awsClientConfig> & Record<string, unknown>) => C,
  env: NodeJS.ProcessEnv,
  service: AwsService,
  options: Parameters<typeof awsClientConfig>[2] = {},
  extra: Record<string, unknown> = {},
): C {
  return new Client({ ...awsClientConfig(env, service, options), ...extra });
}

/**
 * A static token, or one held by a TokenKeeper: a login (AppRole, AWS IAM) or a token file. The
 * sources read the keeper's current token at every request; the keeper renews a login's token and
 * logs in again (same method; the secret id file is read again each time) when renewal fails or
 * the max TTL is near, and reads a token file again when it changes or a request is refused.
 * Its failures are logged with their class; the secret id never is.
 */
async function sourceConnection(
  config: Config,
  address: string | undefined,
  namespace: string | undefined,
  env: NodeJS.ProcessEnv,
  tls: VaultTlsOptions | undefined,
  recorder: ApiCallRecorder | undefined,
  log: Logger,
  deferLogin = false,
): Promise<{ address: string; token: string | TokenKeeper; keeper?: TokenKeeper }> {
  const auth = config.source.auth;
  const settings = {
    address: requireVaultAddress(address, env),
    ...(namespace ? { namespace } : {}),
    ...(tls ? { tls } : {}),
    ...(recorder ? { recorder } : {}),
  };
  const keeperOptions: Parameters<typeof TokenKeeper.login>[2] = {
    onError: (error, context) =>
      log.error(
        { errorClass: error.errorClass, operation: context.operation, method: context.method, ...(context.retryInMs !== undefined ? { retryInMs: context.retryInMs } : {}) },
        `Vault ${context.operation === "renew" ? "token renewal" : "login"} failed: ${error.message}`,
      ),
    onEvent: (event) => {
      if (event.type === "logged-in") log.info({ method: event.method, ttlSeconds: event.ttlSeconds, reason: event.reason }, "logged in to Vault again");
      else if (event.type === "token-file-read") log.info({ file: event.file, reason: event.reason }, "picked up a new Vault token from source.tokenFile");
      else log.debug({ method: event.method, ttlSeconds: event.ttlSeconds }, "Vault token renewed");
    },
  };
  if (!auth) {
    const connection = resolveVaultConnection(
      {
        address: settings.address,
        ...(config.source.token ? { token: config.source.token } : {}),
        ...(config.source.tokenFile ? { tokenFile: config.source.tokenFile } : {}),
      },
      env,
    );
    if (!connection.tokenFile) return connection;
    const keeper = TokenKeeper.fromFile(settings, connection.tokenFile, keeperOptions);
    return { address: settings.address, token: keeper, keeper };
  }
  const method = async (): Promise<VaultAuthConfig> => {
    if (auth.method === "aws") {
      return {
        method: "aws",
        role: auth.role,
        mountPath: auth.mountPath,
        ...(auth.serverIdHeader ? { serverIdHeader: auth.serverIdHeader } : {}),
        ...(auth.stsEndpoint ? { stsEndpoint: auth.stsEndpoint } : {}),
        ...(auth.stsRegion ? { stsRegion: auth.stsRegion } : {}),
      };
    }
    let secretId = env.VAULT_SECRET_ID;
    if (auth.secretIdFile) {
      try {
        secretId = (await readFile(auth.secretIdFile, "utf8")).trim();
      } catch (error) {
        throw new SyncError("config-invalid", `source.auth.secretIdFile: cannot read ${auth.secretIdFile} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
      }
    }
    if (!secretId) throw new SyncError("config-invalid", "source.auth: AppRole needs secretIdFile or $VAULT_SECRET_ID");
    return { method: "approle", roleId: auth.roleId, secretId, mountPath: auth.mountPath };
  };
  const keeper = deferLogin ? TokenKeeper.deferred(settings, auth.method, method, keeperOptions) : await TokenKeeper.login(settings, method, keeperOptions);
  return { address: settings.address, token: keeper, keeper };
}

/** Whether the source's token can be used now, for readiness; with a keeper, its counts. */
export interface SourceHealth {
  usable: boolean;
  /** Why not usable, or the last auth failure not yet recovered from. */
  reason?: string;
  auth?: TokenKeeperState;
}

function sourceHealth(keeper: TokenKeeper | undefined): SourceHealth {
  if (!keeper) return { usable: true };
  const state = keeper.state();
  const reason = state.lastError
    ? `${state.lastError.errorClass}: ${state.lastError.message}`
    : state.usable
      ? undefined
      : state.logins === 0 && state.method !== "token"
        ? "not logged in to Vault yet"
        : "the Vault token has expired";
  return { usable: state.usable, ...(reason ? { reason } : {}), auth: state };
}

/**
 * The notifiers a config names. `wire` uses it, and so does a runtime that must report a failure
 * from before wiring (the Lambda's setup), so both notify the same way. `close` frees the clients.
 */
export function buildNotifiers(
  notifications: Pick<Config["notifications"], "sns" | "webhook">,
  d: { region?: string | undefined; profile?: string | undefined },
  env: NodeJS.ProcessEnv,
  webhook: WebhookCredentials | undefined,
  recorder?: ApiCallRecorder,
): { notifiers: Notifier[]; close(): void } {
  const notifiers: Notifier[] = [];
  let snsClient: SNSClient | undefined;
  if (notifications.sns) {
    const topicArn = notifications.sns.topicArn;
    // Publish in the topic's own Region, whatever the destination's Region is.
    const region = topicArn.split(":")[3] || d.region;
    snsClient = awsClient(SNSClient, env, "SNS", { ...(region ? { region } : {}), ...(d.profile ? { profile: d.profile } : {}) }, { maxAttempts: 3 });
    notifiers.push(new SnsNotifier({ topicArn, client: snsClient, ...(recorder ? { recorder } : {}) }));
  }
  if (notifications.webhook) {
    const hook = notifications.webhook;
    notifiers.push(
      new WebhookNotifier({
        url: hook.url,
        headers: { ...hook.headers, ...webhook?.headers },
        query: webhook?.query ?? {},
        timeoutMs: Math.round(hook.timeoutSeconds * 1000),
        ...(webhook?.signingSecret ? { signingSecret: webhook.signingSecret } : {}),
      }),
    );
  }
  return { notifiers, close: () => snsClient?.destroy() };
}

/** A destination built from its parsed settings with the runtime's one AWS client factory. */
function buildDestination(d: DestinationConfig, env: NodeJS.ProcessEnv, recorder: ApiCallRecorder | undefined) {
  return boundProvider(d).build({
    client: (Client, service, where, extra) => awsClient(Client, env, service, where, extra),
    ...(recorder ? { recorder } : {}),
  });
}

/** Builds the providers for a config of one target, resolved once; serve and the Lambda wire through here. */
export async function wire(config: Config, options: WireOptions = {}): Promise<Wiring> {
  const wired = await wireTargets(config, [resolveConfig(config, options.env ?? process.env)], options);
  const [only] = wired.targets as [Wiring];
  return { ...only, close: wired.close };
}

/** Targets wired on one source connection; closing this closes every target, the connection and the notifiers. */
export interface TargetsWiring {
  targets: Wiring[];
  close(): Promise<void>;
}

/**
 * Builds the providers for the given targets of a config (resolveTargets, maybe a selection): one
 * source connection (one login) for all, and per target its mappings' sources and its own
 * destination client. The notifiers are shared: each notice names its target.
 */
export async function wireTargets(config: Config, targets: ResolvedConfig[], options: WireOptions = {}): Promise<TargetsWiring> {
  const env = options.env ?? process.env;
  const first = targets[0];
  if (!first) throw new SyncError("config-invalid", "no target to run");
  // Read before any connection is made: a missing key stops here with nothing to close.
  const webhook = config.notifications.webhook ? webhookCredentials(config.notifications.webhook, env) : undefined;
  const warnings = literalCredentialWarnings(config);
  const log = options.logger ?? createLogger();
  for (const warning of warnings) log.warn(warning);
  const tls = config.source.tls;
  const ca = vaultCaCertFile(tls?.caCertFile, env);
  const tlsOptions =
    tls || ca
      ? {
          insecureSkipVerify: tls?.insecureSkipVerify ?? false,
          ...(ca ? { caCertPem: readCaCert(ca) } : {}),
          ...(tls?.serverName ? { serverName: tls.serverName } : {}),
        }
      : undefined;
  const namespace = first.sourceNamespace;
  const connection = await sourceConnection(config, first.sourceAddress, namespace, env, tlsOptions, options.recorder, log, options.deferLogin);
  const keeper = connection.keeper;
  const { notifiers, close: closeNotifiers } = buildNotifiers(config.notifications, config.destination, env, webhook, options.recorder);
  const wiringOf = (resolved: ResolvedConfig): Wiring => {
    const mappings: MappingSource[] = resolved.mappings.map((mapping) => ({
      mapping,
      source: new VaultKvSource({
        address: connection.address,
        token: connection.token,
        mount: mapping.source.mount,
        path: mapping.subPath,
        kvVersion: config.source.kvVersion,
        concurrency: config.source.concurrency,
        timeoutMs: Math.round(config.source.timeoutSeconds * 1000),
        maxAttempts: config.source.maxAttempts,
        ...(namespace ? { namespace } : {}),
        ...(tlsOptions ? { tls: tlsOptions } : {}),
        ...(options.recorder ? { recorder: options.recorder } : {}),
        logger: log,
      }),
    }));
    const built = buildDestination(resolved.config.destination, env, options.recorder);
    const destination = built.destination;
    return {
      resolved,
      mappings,
      destination,
      notifiers,
      sourceHealth: () => sourceHealth(keeper),
      target: async () => ({
        name: resolved.target,
        source: {
          address: withoutUserinfo(connection.address),
          ...(resolved.sourceNamespace ? { namespace: resolved.sourceNamespace } : {}),
          mounts: [...new Set(resolved.mappings.map((m) => m.sourceScope))],
        },
        destination: { ...(await destination.target()), prefixes: [...new Set(resolved.mappings.map((m) => `${m.prefix}/`))] },
      }),
      close: async () => {
        await Promise.allSettled([...mappings.map((x) => x.source.close()), destination.close()]);
        built.close();
      },
    };
  };
  const wired = targets.map(wiringOf);
  return {
    targets: wired,
    close: async () => {
      keeper?.close();
      await Promise.allSettled(wired.map((w) => w.close()));
      closeNotifiers();
    },
  };
}

/**
 * Where each target writes as its destination's identity call says (account, Region), without a
 * source connection: what `validate` compares. Never rejects: an account that cannot be read is
 * `account: null` with the reason.
 */
export async function identifyTargets(targets: ResolvedConfig[], env: NodeJS.ProcessEnv): Promise<{ resolved: ResolvedConfig; destination: DestinationTarget }[]> {
  return Promise.all(
    targets.map(async (resolved) => {
      const built = buildDestination(resolved.config.destination, env, undefined);
      try {
        return { resolved, destination: await built.destination.target() };
      } finally {
        await built.destination.close();
        built.close();
      }
    }),
  );
}
