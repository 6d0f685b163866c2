// Turns a validated config into providers and run settings. Every runtime (CLI, service, Lambda)
// wires through here, so they all run the same engine the same way.
import { readFile } from "node:fs/promises";
import type { Config, MappingConfig } from "../config/schema.js";
import { SyncError } from "../core/errors.js";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { SecretsManagerDestination } from "../destinations/aws-secrets-manager/index.js";
import type { SecretDestination } from "../destinations/destination.js";
import type { Notifier } from "../notify/notifier.js";
import { SnsNotifier, WebhookNotifier } from "../notify/index.js";
import type { SecretSource } from "../sources/source.js";
import { login, resolveVaultConnection, TokenKeeper, VaultKvSource, type VaultAuthConfig, type VaultTlsOptions } from "../sources/vault/index.js";
import type { ApiCallRecorder } from "../util/api-calls.js";
import type { RunMode } from "../engine/report.js";
import type { MappingRun, RunSettings } from "../engine/run.js";

export interface Wiring {
  /** The first mapping's source and settings (single-mapping callers). */
  source: SecretSource;
  destination: SecretDestination;
  notifiers: Notifier[];
  settings: RunSettings;
  /** Every mapping, in config order. */
  mappings: MappingRun[];
  close(): Promise<void>;
}

export interface WireOptions {
  env?: NodeJS.ProcessEnv;
  recorder?: ApiCallRecorder;
  /** Lift the blast-radius guard for this run. */
  forceDeletions?: boolean;
}

/**
 * AWS client settings read from `env` the way the SDK reads process.env (region, endpoint,
 * static credentials), so an in-process caller (tests, the Lambda) can hand over its own
 * environment. With `env === process.env` this is exactly the SDK's own behaviour.
 */
export interface AssumeRoleSettings {
  roleArn: string;
  externalId?: string;
  sessionName?: string;
  durationSeconds?: number;
}

export function awsClientConfig(env: NodeJS.ProcessEnv, region?: string, profile?: string, assumeRole?: AssumeRoleSettings) {
  const resolvedRegion = region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const endpoint = env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL;
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
    const stsEndpoint = env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL;
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

/** A static token, or a login (AppRole, AWS IAM) whose token is renewed while the run lasts. */
async function sourceConnection(config: Config, env: NodeJS.ProcessEnv, tls: VaultTlsOptions | undefined, recorder?: ApiCallRecorder) {
  const auth = config.source.auth;
  if (!auth) {
    const connection = resolveVaultConnection(
      {
        ...(config.source.address ? { address: config.source.address } : {}),
        ...(config.source.token ? { token: config.source.token } : {}),
        ...(config.source.tokenFile ? { tokenFile: config.source.tokenFile } : {}),
      },
      env,
    );
    return { connection, keeper: undefined };
  }
  const address = config.source.address ?? env.BAO_ADDR ?? env.VAULT_ADDR;
  if (!address) throw new SyncError("config-invalid", "source.address is not set: set it in the config, or export BAO_ADDR or VAULT_ADDR");
  const settings = {
    address,
    ...(config.source.namespace ? { namespace: config.source.namespace } : {}),
    ...(tls ? { tls } : {}),
    ...(recorder ? { recorder } : {}),
  };
  let method: VaultAuthConfig;
  if (auth.method === "approle") {
    let secretId = env.VAULT_SECRET_ID;
    if (auth.secretIdFile) {
      try {
        secretId = (await readFile(auth.secretIdFile, "utf8")).trim();
      } catch (error) {
        throw new SyncError("config-invalid", `source.auth.secretIdFile: cannot read ${auth.secretIdFile} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
      }
    }
    if (!secretId) throw new SyncError("config-invalid", "source.auth: AppRole needs secretIdFile or $VAULT_SECRET_ID");
    method = { method: "approle", roleId: auth.roleId, secretId, mountPath: auth.mountPath };
  } else {
    method = {
      method: "aws",
      role: auth.role,
      mountPath: auth.mountPath,
      ...(auth.serverIdHeader ? { serverIdHeader: auth.serverIdHeader } : {}),
      ...(auth.stsEndpoint ? { stsEndpoint: auth.stsEndpoint } : {}),
      ...(auth.stsRegion ? { stsRegion: auth.stsRegion } : {}),
    };
  }
  const result = await login(settings, method);
  return { connection: { address, token: result.token }, keeper: new TokenKeeper(settings, result) };
}

async function readCa(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new SyncError("config-invalid", `source.tls.caCertFile: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

export async function wire(config: Config, mode: RunMode, options: WireOptions = {}): Promise<Wiring> {
  const env = options.env ?? process.env;
  const tls = config.source.tls;
  const tlsOptions = tls
    ? {
        insecureSkipVerify: tls.insecureSkipVerify,
        ...(tls.caCertFile ? { caCertPem: await readCa(tls.caCertFile) } : {}),
        ...(tls.serverName ? { serverName: tls.serverName } : {}),
      }
    : undefined;
  const { connection, keeper } = await sourceConnection(config, env, tlsOptions, options.recorder);
  const mappingConfigs: MappingConfig[] = config.mappings ?? [
    { mount: config.source.mount ?? "", path: config.source.path, include: config.source.include, exclude: config.source.exclude },
  ];
  const sources = mappingConfigs.map(
    (m) =>
      new VaultKvSource({
        address: connection.address,
        token: connection.token,
        mount: m.mount,
        path: m.path,
        kvVersion: config.source.kvVersion,
        concurrency: config.source.concurrency,
        timeoutMs: Math.round(config.source.timeoutSeconds * 1000),
        maxAttempts: config.source.maxAttempts,
        ...(config.source.namespace ? { namespace: config.source.namespace } : {}),
        ...(tlsOptions ? { tls: tlsOptions } : {}),
        ...(options.recorder ? { recorder: options.recorder } : {}),
      }),
  );
  const awsConfig = awsClientConfig(env, config.destination.region, config.destination.profile, config.destination.assumeRole);
  const smClient = new SecretsManagerClient({ ...awsConfig, retryMode: "standard", maxAttempts: config.destination.maxAttempts });
  const destination = new SecretsManagerDestination({
    client: smClient,
    rateLimits: config.destination.rateLimits,
    ...(options.recorder ? { recorder: options.recorder } : {}),
  });
  const notifiers: Notifier[] = [];
  let snsClient: SNSClient | undefined;
  if (config.notifications.sns) {
    const topicArn = config.notifications.sns.topicArn;
    // Publish in the topic's own Region, whatever the destination's Region is.
    snsClient = new SNSClient({ ...awsClientConfig(env, topicArn.split(":")[3] || config.destination.region, config.destination.profile), maxAttempts: 3 });
    notifiers.push(new SnsNotifier({ topicArn, client: snsClient, ...(options.recorder ? { recorder: options.recorder } : {}) }));
  }
  if (config.notifications.webhook) {
    const hook = config.notifications.webhook;
    notifiers.push(new WebhookNotifier({ url: hook.url, headers: hook.headers, timeoutMs: Math.round(hook.timeoutSeconds * 1000) }));
  }
  const d = config.destination;
  const mappings: MappingRun[] = mappingConfigs.map((m, i) => {
    const shape = m.valueShape ?? d.valueShape ?? "json";
    const valueKey = m.valueKey ?? d.valueKey ?? "";
    const template = m.nameTemplate ?? d.nameTemplate;
    const kmsKeyId = m.kmsKeyId ?? d.kmsKeyId;
    const resourcePolicy = m.resourcePolicy ?? d.resourcePolicy;
    const settings: RunSettings = {
      mode,
      syncName: config.name,
      source: {
        address: connection.address,
        mount: m.mount,
        ...(config.source.namespace ? { namespace: config.source.namespace } : {}),
      },
      prefix: m.prefix ?? d.prefix,
      ...(m.path ? { subPath: m.path } : {}),
      staticTags: { ...d.tags, ...m.tags },
      policies: m.policies ?? config.policies,
      scope: { include: m.include ?? config.source.include, exclude: m.exclude ?? config.source.exclude },
      copyCustomMetadata: m.copyCustomMetadata ?? d.copyCustomMetadata,
      replicaRegions: m.replicaRegions ?? d.replicaRegions,
      ...(template ? { nameTemplate: template } : {}),
      ...(resourcePolicy ? { resourcePolicy } : {}),
      valueShape: shape === "json" ? { type: "json" } : { type: shape, key: valueKey },
      granularity: m.granularity ?? d.granularity ?? "secret",
      ...(options.forceDeletions ? { forceDeletions: true } : {}),
      concurrency: config.sync.concurrency,
      description: m.description ?? d.description,
      ...(kmsKeyId ? { kmsKeyId } : {}),
    };
    return { source: sources[i] as VaultKvSource, settings };
  });
  const first = mappings[0] as MappingRun;
  return {
    source: first.source,
    destination,
    notifiers,
    settings: first.settings,
    mappings,
    close: async () => {
      keeper?.close();
      await Promise.allSettled([...sources.map((x) => x.close()), destination.close()]);
      smClient.destroy();
      snsClient?.destroy();
    },
  };
}
