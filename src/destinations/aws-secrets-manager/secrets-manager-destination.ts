// AWS Secrets Manager as a secretbridge destination: inventory from paginated ListSecrets (names and
// tags, no per-secret calls, no values), create / put / tag for writes, BatchGetSecretValue for
// the rare value comparisons. Rate limits and call counting live in the client's middleware.
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteResourcePolicyCommand,
  DeleteSecretCommand,
  PutResourcePolicyCommand,
  DescribeSecretCommand,
  RemoveRegionsFromReplicationCommand,
  ReplicateSecretToRegionsCommand,
  RestoreSecretCommand,
  UntagResourceCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  TagResourceCommand,
  type SecretListEntry,
} from "@aws-sdk/client-secrets-manager";
import pLimit from "p-limit";
import { SyncError } from "../../core/errors.js";
import type { DestinationInventory, DestinationSecretMeta } from "../../core/model.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import type { CreateSecretRequest, PutSecretValueRequest, SecretDestination } from "../destination.js";
import type { RateLimits } from "./api-families.js";
import { awsErrorCode, classifyAwsError } from "./errors.js";
import { instrumentClient } from "./middleware.js";

export interface SecretsManagerDestinationOptions {
  /**
   * A configured client (its middleware gets the rate limiter and the call counter added, once).
   * Default: one built by the SDK from the environment: region, profile, credentials and
   * AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SECRETS_MANAGER.
   */
  client?: SecretsManagerClient;
  region?: string;
  profile?: string;
  /** SDK attempts per call when this class builds the client (standard retry mode: exponential backoff with jitter); default 8. */
  maxAttempts?: number;
  rateLimits?: RateLimits;
  recorder?: ApiCallRecorder;
  /** Calls in flight at once for `describe` and `readValues` (the rate limiter still applies); default 8. */
  concurrency?: number;
}

/** BatchGetSecretValue takes at most 20 secret ids per call. */
const BATCH_SIZE = 20;

export class SecretsManagerDestination implements SecretDestination {
  private readonly client: SecretsManagerClient;
  private readonly ownsClient: boolean;
  private readonly concurrency: number;

  constructor(options: SecretsManagerDestinationOptions = {}) {
    this.ownsClient = options.client === undefined;
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.client =
      options.client ??
      new SecretsManagerClient({
        retryMode: "standard",
        maxAttempts: options.maxAttempts ?? 8,
        ...(options.region ? { region: options.region } : {}),
        ...(options.profile ? { profile: options.profile } : {}),
      });
    instrumentClient(this.client, {
      ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
      ...(options.recorder ? { recorder: options.recorder } : {}),
    });
  }

  async validate(): Promise<void> {
    try {
      await this.client.send(new ListSecretsCommand({ MaxResults: 1 }));
    } catch (error) {
      throw classifyAwsError(error, { what: "AWS Secrets Manager ListSecrets", scope: "destination" });
    }
  }

  async inventory(prefix: string): Promise<DestinationInventory> {
    const namePrefix = `${prefix}/`;
    const secrets: DestinationSecretMeta[] = [];
    let NextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListSecretsCommand({
            MaxResults: 100,
            // Secrets pending deletion are listed too: the planner must not try to recreate them.
            IncludePlannedDeletion: true,
            // A case-sensitive prefix match on the name (AWS and moto alike); the check below
            // keeps the filter from being the only guard on what counts as ours.
            Filters: [{ Key: "name", Values: [namePrefix] }],
            ...(NextToken ? { NextToken } : {}),
          }),
        );
      } catch (error) {
        throw classifyAwsError(error, { what: `ListSecrets under ${namePrefix}`, scope: "destination" });
      }
      for (const entry of page.SecretList ?? []) {
        if (entry.Name?.startsWith(namePrefix)) secrets.push(toMeta(entry));
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return { secrets };
  }

  async describe(names: string[]): Promise<DestinationInventory> {
    const limit = pLimit(this.concurrency);
    const found = await Promise.all(
      names.map((name) =>
        limit(async () => {
          try {
            const d = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
            // DescribeSecret returns the facts of a ListSecrets entry under the same names, except the version map.
            return toMeta({ ...d, SecretVersionsToStages: d.VersionIdsToStages } as SecretListEntry);
          } catch (error) {
            if (awsErrorCode(error) === "ResourceNotFoundException") return undefined;
            throw classifyAwsError(error, { what: `DescribeSecret ${name}`, scope: "destination", name });
          }
        }),
      ),
    );
    return { secrets: found.filter((s): s is DestinationSecretMeta => s !== undefined) };
  }

  async create(request: CreateSecretRequest): Promise<void> {
    const secrets = request.secretString ? [request.secretString] : [];
    try {
      await this.client.send(
        new CreateSecretCommand({
          Name: request.name,
          ...(request.secretBinary ? { SecretBinary: request.secretBinary } : { SecretString: request.secretString ?? "" }),
          ClientRequestToken: request.requestToken,
          Tags: Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value })),
          ...(request.kmsKeyId ? { KmsKeyId: request.kmsKeyId } : {}),
          ...(request.description ? { Description: request.description } : {}),
          ...(request.replicas?.length
            ? { AddReplicaRegions: request.replicas.map((r) => ({ Region: r.region, ...(r.kmsKeyId ? { KmsKeyId: r.kmsKeyId } : {}) })) }
            : {}),
        }),
      );
    } catch (error) {
      if (awsErrorCode(error) === "ResourceExistsException") {
        const pending = await this.pendingDeletionError(request.name, error);
        if (pending) throw pending;
      }
      throw classifyAwsError(error, { what: `CreateSecret ${request.name}`, scope: "secret", name: request.name, secrets });
    }
  }

  /**
   * AWS refuses to create a name that is scheduled for deletion with InvalidRequestException
   * (classified directly); moto answers ResourceExistsException instead. One DescribeSecret,
   * only on this failure, tells the two "exists" cases apart on either.
   */
  private async pendingDeletionError(name: string, cause: unknown): Promise<SyncError | undefined> {
    try {
      const d = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
      if (!d.DeletedDate) return undefined;
      return new SyncError(
        "pending-deletion",
        `CreateSecret ${name}: ${awsErrorCode(cause)}: the secret is scheduled for deletion (DeletedDate ${d.DeletedDate.toISOString()}): restore it (aws secretsmanager restore-secret) or let it be purged`,
        name,
        { cause },
      );
    } catch {
      return undefined; // the original error says enough
    }
  }

  async putValue(request: PutSecretValueRequest): Promise<void> {
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: request.name,
          ...(request.secretBinary ? { SecretBinary: request.secretBinary } : { SecretString: request.secretString ?? "" }),
          // Same token and value again is a no-op in AWS: a retried write makes no second version.
          ClientRequestToken: request.requestToken,
        }),
      );
    } catch (error) {
      const secrets = request.secretString ? [request.secretString] : [];
      throw classifyAwsError(error, { what: `PutSecretValue ${request.name}`, scope: "secret", name: request.name, secrets });
    }
  }

  async tag(name: string, tags: Record<string, string>): Promise<void> {
    try {
      await this.client.send(new TagResourceCommand({ SecretId: name, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
    } catch (error) {
      throw classifyAwsError(error, { what: `TagResource ${name}`, scope: "secret", name });
    }
  }

  /**
   * String values in batches of 20, up to `concurrency` batches at once. A name that does not
   * exist (deleted since the inventory) and a binary secret are left out of the map; any other
   * per-secret error in a batch (access denied, KMS, pending deletion) is thrown as a SyncError
   * naming the first such secret, since a comparison with a value we could not read would lie.
   */
  async readValues(names: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const chunks: string[][] = [];
    for (let i = 0; i < names.length; i += BATCH_SIZE) chunks.push(names.slice(i, i + BATCH_SIZE));
    const limit = pLimit(this.concurrency);
    await Promise.all(
      chunks.map((chunk) =>
        limit(async () => {
          let res;
          try {
            res = await this.client.send(new BatchGetSecretValueCommand({ SecretIdList: chunk }));
          } catch (error) {
            throw classifyAwsError(error, { what: `BatchGetSecretValue (${chunk.length} secrets from ${chunk[0] ?? "?"})`, scope: "destination" });
          }
          for (const value of res.SecretValues ?? []) {
            if (value.Name && value.SecretString !== undefined) out.set(value.Name, value.SecretString);
          }
          const failed = (res.Errors ?? []).filter((e) => e.ErrorCode !== "ResourceNotFoundException");
          const first = failed[0];
          if (first) {
            const name = first.SecretId ?? "?";
            const more = failed.length > 1 ? ` (and ${failed.length - 1} more in the same batch)` : "";
            throw classifyAwsError(Object.assign(new Error(first.Message ?? ""), { name: first.ErrorCode ?? "Error" }), {
              what: `BatchGetSecretValue ${name}${more}`,
              scope: "secret",
              name,
            });
          }
        }),
      ),
    );
    return out;
  }

  async removeTags(name: string, keys: string[]): Promise<void> {
    try {
      await this.client.send(new UntagResourceCommand({ SecretId: name, TagKeys: keys }));
    } catch (error) {
      throw classifyAwsError(error, { what: `UntagResource ${name}`, scope: "secret", name });
    }
  }

  async setReplicas(name: string, replicas: { region: string; kmsKeyId?: string }[]): Promise<void> {
    try {
      const described = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
      const current = new Set((described.ReplicationStatus ?? []).map((r) => r.Region).filter((r): r is string => Boolean(r)));
      const wanted = new Set(replicas.map((r) => r.region));
      const add = replicas.filter((r) => !current.has(r.region));
      const remove = [...current].filter((r) => !wanted.has(r));
      if (remove.length) await this.client.send(new RemoveRegionsFromReplicationCommand({ SecretId: name, RemoveReplicaRegions: remove }));
      if (add.length) {
        await this.client.send(
          new ReplicateSecretToRegionsCommand({
            SecretId: name,
            AddReplicaRegions: add.map((r) => ({ Region: r.region, ...(r.kmsKeyId ? { KmsKeyId: r.kmsKeyId } : {}) })),
          }),
        );
      }
    } catch (error) {
      throw classifyAwsError(error, { what: `replica Regions of ${name}`, scope: "secret", name });
    }
  }

  async setResourcePolicy(name: string, policy: string | undefined): Promise<void> {
    try {
      if (policy === undefined) await this.client.send(new DeleteResourcePolicyCommand({ SecretId: name }));
      else await this.client.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: policy, BlockPublicPolicy: true }));
    } catch (error) {
      throw classifyAwsError(error, { what: `resource policy of ${name}`, scope: "secret", name });
    }
  }

  async restore(name: string): Promise<void> {
    try {
      await this.client.send(new RestoreSecretCommand({ SecretId: name }));
    } catch (error) {
      throw classifyAwsError(error, { what: `RestoreSecret ${name}`, scope: "secret", name });
    }
  }

  async delete(name: string, options: { recoveryWindowDays?: number; forceDeleteWithoutRecovery?: boolean }): Promise<void> {
    try {
      const described = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
      const regions = (described.ReplicationStatus ?? []).map((r) => r.Region).filter((r): r is string => Boolean(r));
      if (regions.length > 0) await this.client.send(new RemoveRegionsFromReplicationCommand({ SecretId: name, RemoveReplicaRegions: regions }));
      await this.client.send(
        new DeleteSecretCommand({
          SecretId: name,
          ...(options.forceDeleteWithoutRecovery ? { ForceDeleteWithoutRecovery: true } : { RecoveryWindowInDays: options.recoveryWindowDays ?? 30 }),
        }),
      );
    } catch (error) {
      throw classifyAwsError(error, { what: `DeleteSecret ${name}`, scope: "secret", name });
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

function toMeta(entry: SecretListEntry): DestinationSecretMeta {
  const current = Object.entries(entry.SecretVersionsToStages ?? {}).find(([, stages]) => stages.includes("AWSCURRENT"))?.[0];
  return {
    ...(current ? { currentVersionId: current } : {}),
    name: entry.Name ?? "",
    ...(entry.ARN ? { arn: entry.ARN } : {}),
    tags: Object.fromEntries((entry.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""])),
    ...(entry.LastChangedDate ? { lastChangedDate: entry.LastChangedDate } : {}),
    ...(entry.DeletedDate ? { deletedDate: entry.DeletedDate } : {}),
    ...(entry.RotationEnabled ? { rotationEnabled: true } : {}),
    ...(entry.OwningService ? { owningService: entry.OwningService } : {}),
  };
}
