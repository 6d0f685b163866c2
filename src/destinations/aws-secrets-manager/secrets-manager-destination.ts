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
import { SyncError } from "../../core/errors.js";
import type { DestinationInventory, DestinationSecretMeta } from "../../core/model.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import type { CreateSecretRequest, PutSecretValueRequest, SecretDestination } from "../destination.js";
import type { RateLimits } from "./api-families.js";
import { classifyAwsError } from "./errors.js";
import { instrumentClient } from "./middleware.js";

export interface SecretsManagerDestinationOptions {
  /** A configured client; default: one built from the environment (region, profile, AWS_ENDPOINT_URL). */
  client?: SecretsManagerClient;
  region?: string;
  profile?: string;
  /** SDK attempts per call (standard retry mode: exponential backoff with jitter). */
  maxAttempts?: number;
  rateLimits?: RateLimits;
  recorder?: ApiCallRecorder;
}

const BATCH_SIZE = 20;

export class SecretsManagerDestination implements SecretDestination {
  private readonly client: SecretsManagerClient;
  private readonly ownsClient: boolean;

  constructor(options: SecretsManagerDestinationOptions = {}) {
    this.ownsClient = options.client === undefined;
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
      throw classifyAwsError(error, "AWS Secrets Manager ListSecrets", "destination");
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
            IncludePlannedDeletion: true,
            // The name filter is a prefix match (and, in AWS, also matches words inside names):
            // keep only exact prefix matches below.
            Filters: [{ Key: "name", Values: [namePrefix] }],
            ...(NextToken ? { NextToken } : {}),
          }),
        );
      } catch (error) {
        throw classifyAwsError(error, `ListSecrets under ${namePrefix}`, "destination");
      }
      for (const entry of page.SecretList ?? []) {
        if (entry.Name?.startsWith(namePrefix)) secrets.push(toMeta(entry));
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return { secrets };
  }

  async describe(names: string[]): Promise<DestinationInventory> {
    const secrets: DestinationSecretMeta[] = [];
    for (const name of names) {
      try {
        const d = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
        // DescribeSecret returns the same facts as a ListSecrets entry, under the same names.
        secrets.push(toMeta({ ...d, SecretVersionsToStages: d.VersionIdsToStages } as SecretListEntry));
      } catch (error) {
        if ((error as { name?: string }).name === "ResourceNotFoundException") continue;
        throw classifyAwsError(error, `DescribeSecret ${name}`, "destination");
      }
    }
    return { secrets };
  }

  async create(request: CreateSecretRequest): Promise<void> {
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
      throw classifyAwsError(error, `CreateSecret ${request.name}`, "secret", request.secretString ? [request.secretString] : []);
    }
  }

  async putValue(request: PutSecretValueRequest): Promise<void> {
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: request.name,
          ...(request.secretBinary ? { SecretBinary: request.secretBinary } : { SecretString: request.secretString ?? "" }),
          ClientRequestToken: request.requestToken,
        }),
      );
    } catch (error) {
      throw classifyAwsError(error, `PutSecretValue ${request.name}`, "secret", request.secretString ? [request.secretString] : []);
    }
  }

  async tag(name: string, tags: Record<string, string>): Promise<void> {
    try {
      await this.client.send(new TagResourceCommand({ SecretId: name, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
    } catch (error) {
      throw classifyAwsError(error, `TagResource ${name}`, "secret");
    }
  }

  /** Batches of 20; a secret the batch could not read is an error naming it. */
  async readValues(names: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (let i = 0; i < names.length; i += BATCH_SIZE) {
      const chunk = names.slice(i, i + BATCH_SIZE);
      let res;
      try {
        res = await this.client.send(new BatchGetSecretValueCommand({ SecretIdList: chunk }));
      } catch (error) {
        throw classifyAwsError(error, `BatchGetSecretValue (${chunk.length} secrets)`, "destination");
      }
      for (const value of res.SecretValues ?? []) {
        if (value.Name && value.SecretString !== undefined) out.set(value.Name, value.SecretString);
      }
      const failed = res.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0];
        throw new SyncError(
          "permission-denied",
          `BatchGetSecretValue could not read ${failed.length} secret(s), e.g. ${first?.SecretId ?? "?"}: ${first?.ErrorCode ?? "error"}`,
        );
      }
    }
    return out;
  }

  async removeTags(name: string, keys: string[]): Promise<void> {
    try {
      await this.client.send(new UntagResourceCommand({ SecretId: name, TagKeys: keys }));
    } catch (error) {
      throw classifyAwsError(error, `UntagResource ${name}`, "secret");
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
      throw classifyAwsError(error, `replica Regions of ${name}`, "secret");
    }
  }

  async setResourcePolicy(name: string, policy: string | undefined): Promise<void> {
    try {
      if (policy === undefined) await this.client.send(new DeleteResourcePolicyCommand({ SecretId: name }));
      else await this.client.send(new PutResourcePolicyCommand({ SecretId: name, ResourcePolicy: policy, BlockPublicPolicy: true }));
    } catch (error) {
      throw classifyAwsError(error, `resource policy of ${name}`, "secret");
    }
  }

  async restore(name: string): Promise<void> {
    try {
      await this.client.send(new RestoreSecretCommand({ SecretId: name }));
    } catch (error) {
      throw classifyAwsError(error, `RestoreSecret ${name}`, "secret");
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
      throw classifyAwsError(error, `DeleteSecret ${name}`, "secret");
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
