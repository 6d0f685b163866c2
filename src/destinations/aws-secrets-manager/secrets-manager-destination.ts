// AWS Secrets Manager as a secretbridge destination: inventory from paginated ListSecrets (names and
// tags, no per-secret calls, no values), create / put / tag for writes, BatchGetSecretValue for
// the rare value comparisons. Rate limits and call counting live in the client's middleware.
// Creates go by name; every other call names an existing secret by the full ARN its listing gave,
// since a name ending in "-" and six characters can be read as another secret's partial ARN.
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
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  TagResourceCommand,
  type DescribeSecretResponse,
  type SecretListEntry,
} from "@aws-sdk/client-secrets-manager";
import type { STSClient } from "@aws-sdk/client-sts";
import { targetOf } from "../aws-common/clients.js";
import pLimit from "p-limit";
import { FATAL_CLASSES, SyncError } from "../../core/errors.js";
import type { AppliedValueWrite, AppliedWrite, DestinationInventory, DestinationRef, DestinationSecretMeta } from "../../core/model.js";
import type { DestinationProfile } from "../../core/profile.js";
import { TAG } from "../../core/tags.js";
import type { RenderedValue } from "../../core/value.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import type { DestinationTarget, SecretDestination, ValueRead } from "../destination.js";
import { awsSecretsManagerProfile, type SecretsManagerListingData } from "./profile.js";
import { writeDataOf } from "./settings.js";
import type { RateLimits } from "./api-families.js";
import { awsErrorCode } from "../aws-common/errors.js";
import { batchEntryError, classifySecretsManagerError } from "./errors.js";
import { instrumentClient } from "./middleware.js";
import { listPartitioned, listSequential, type ListingMode, type ListingOutcome } from "./inventory.js";
import { stringInterner, type Interner } from "../../util/intern.js";

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
  /**
   * How the inventory pages ListSecrets: `partitioned` (default) lists the folders under the
   * prefix in parallel, planned from the first page, and is sequential by itself for an estate of
   * one page or one without folders; `sequential` pages one after another.
   */
  listing?: ListingMode;
  /** Partitions listed at once (the `list` rate limit still applies to every page); default 16. */
  listConcurrency?: number;
  /**
   * Answers "which account" (`target`). Default: one built from the Secrets Manager client's own
   * Region and credentials (an assumed role included), endpoint from the environment.
   */
  identity?: STSClient;
}

/** BatchGetSecretValue takes at most 20 secret ids per call. */
const BATCH_SIZE = 20;

interface CreateSecretRequest {
  name: string;
  value: RenderedValue;
  requestToken: string;
  tags: Record<string, string>;
  kmsKeyId?: string;
  description?: string;
  replicas?: { region: string; kmsKeyId?: string }[];
}

/** An existing secret: its name for messages, and the SecretId that reaches it (its full ARN when known). */
interface Target {
  name: string;
  id: string;
}

/** A listed secret's SecretId: the full ARN; only a secret known by name alone goes by its name. */
const secretIdOf = (secret: DestinationRef): string => secret.arn ?? secret.name;

const valueField = (value: RenderedValue) => ("secretBinary" in value ? { SecretBinary: value.secretBinary } : { SecretString: value.secretString });
const stringsOf = (value: RenderedValue) => ("secretString" in value ? [value.secretString] : []);

export class SecretsManagerDestination implements SecretDestination {
  readonly profile: DestinationProfile = awsSecretsManagerProfile;
  private readonly client: SecretsManagerClient;
  private readonly ownsClient: boolean;
  private readonly concurrency: number;
  private readonly identity: STSClient | undefined;
  private readonly listing: ListingMode;
  private readonly listConcurrency: number;
  /** How the last inventory was listed (mode, partitions, why it fell back), for benchmarks. */
  lastListing: ListingOutcome | undefined;

  constructor(options: SecretsManagerDestinationOptions = {}) {
    this.listing = options.listing ?? "partitioned";
    this.listConcurrency = Math.max(1, options.listConcurrency ?? 16);
    this.ownsClient = options.client === undefined;
    this.identity = options.identity;
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

  /**
   * The account from one sts:GetCallerIdentity with the credentials the writes use, and the
   * Region the client resolved. GetCallerIdentity needs no IAM permission (an explicit deny cannot
   * block it either), so the policies `iam-policy` generates have no statement for it.
   */
  async target(): Promise<DestinationTarget> {
    let region: string | null = null;
    try {
      region = await this.client.config.region();
    } catch {
      // No Region configured: shown as unknown here; the run itself says what to set.
    }
    // Every AWS client comes from the runtime's one factory: without the identity client it built,
    // the account is not asked (as for Parameter Store), not asked with a client made up here.
    if (!this.identity) return { service: "AWS Secrets Manager", account: null, accountUnknown: "not asked", region };
    return targetOf("AWS Secrets Manager", region, this.identity);
  }

  async validate(): Promise<void> {
    try {
      await this.client.send(new ListSecretsCommand({ MaxResults: 1 }));
    } catch (error) {
      throw classifySecretsManagerError(error, { what: "AWS Secrets Manager ListSecrets", scope: "destination" });
    }
  }

  async inventory(prefix: string): Promise<DestinationInventory> {
    const namePrefix = `${prefix}/`;
    const intern = stringInterner();
    const map = (entry: SecretListEntry) => toMeta(entry, intern);
    try {
      const { entries, outcome } =
        this.listing === "sequential"
          ? await listSequential(this.client, namePrefix, map)
          : await listPartitioned(this.client, namePrefix, map, this.listConcurrency);
      this.lastListing = outcome;
      return { secrets: entries };
    } catch (error) {
      throw classifySecretsManagerError(error, { what: `ListSecrets under ${namePrefix}`, scope: "destination" });
    }
  }

  async describe(names: string[]): Promise<DestinationInventory> {
    const limit = pLimit(this.concurrency);
    const found = await Promise.all(
      names.map((name) =>
        limit(async () => {
          const d = await this.describeByName(name, "destination");
          // DescribeSecret returns the facts of a ListSecrets entry under the same names, except the version map.
          return d && toMeta({ ...d, SecretVersionsToStages: d.VersionIdsToStages } as SecretListEntry);
        }),
      ),
    );
    return { secrets: found.filter((s): s is DestinationSecretMeta => s !== undefined) };
  }

  /**
   * DescribeSecret of a name no listing gave an ARN for (push targets, a refused create).
   * Undefined when it does not exist, or when the answer is another secret: a name ending in
   * "-" and six characters may be read as that secret's partial ARN.
   */
  private async describeByName(name: string, scope: "destination" | "secret"): Promise<DescribeSecretResponse | undefined> {
    try {
      const d = await this.client.send(new DescribeSecretCommand({ SecretId: name }));
      return d.Name === name ? d : undefined;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw classifySecretsManagerError(error, { what: `DescribeSecret ${name}`, scope, name });
    }
  }

  /**
   * One planned write, in the order AWS needs: create (with tags, key and replicas at once) then
   * its resource policy; for an existing secret restore, then the value (a drift repair marks its
   * version id first), policy, replicas, tags, and last the tags to remove. Value before tags: if
   * we stop in between, the stale version tag makes the next run repeat the put with the same
   * token, which AWS treats as a no-op.
   */
  async apply(action: AppliedWrite, value: () => Promise<RenderedValue>): Promise<void> {
    const name = action.destinationName;
    // A plan made from a listing carries the ARN of every existing secret; an action built
    // without one (by hand) goes by its name.
    const target: Target = { name, id: secretIdOf({ name, arn: action.arn }) };
    const options = writeDataOf(action);
    switch (action.type) {
      case "delete":
        return this.delete(target, options);
      case "orphan":
        return this.tag(target, { ...(action.tags ?? {}), [TAG.orphanedAt]: new Date().toISOString() });
      // The release mark first: a release that stops before the untag leaves a secret no sync writes.
      case "release":
      case "reclaim":
        if (action.type === "release" && Object.keys(action.tags).length > 0) await this.tag(target, action.tags);
        if (action.untag.length > 0) await this.removeTags(target, action.untag);
        return;
      case "create": {
        const arn = await this.create({
          name,
          value: await value(),
          requestToken: tokenOf(action),
          tags: action.tags ?? {},
          ...(options.kmsKeyId ? { kmsKeyId: options.kmsKeyId } : {}),
          ...(options.description ? { description: options.description } : {}),
          ...(options.replicas?.length ? { replicas: options.replicas } : {}),
        });
        // The secret now exists: later calls reach it by the ARN the create answered with.
        if (options.resourcePolicy) await this.setResourcePolicy({ name, id: arn ?? name }, options.resourcePolicy);
        return;
      }
      case "update":
      case "restore":
      case "adopt": {
        if (action.type === "restore") await this.restore(target);
        const tags = { ...(action.tags ?? {}) };
        if (action.restoreVersionId && action.currentVersionId) {
          // A write that replaces someone else's current version (drift repair, KV v1): its token
          // derives from ours and that version's id, which is tagged first, so the token can be
          // recomputed (and the secret proven ours) even if another hand edit follows at once.
          tags[TAG.replacedVersion] = action.currentVersionId;
          await this.tag(target, { [TAG.replacedVersion]: action.currentVersionId });
          await this.putValue(target, await value(), action.restoreVersionId);
        } else if (action.changes?.includes("value")) {
          await this.putValue(target, await value(), tokenOf(action));
        }
        if (action.changes?.includes("policy")) await this.setResourcePolicy(target, options.resourcePolicy ?? undefined);
        if (action.changes?.includes("replicas")) await this.setReplicas(target, options.replicas ?? []);
        if (Object.keys(tags).length > 0) await this.tag(target, tags);
        const untag = (action.untag ?? []).filter((key) => !Object.hasOwn(tags, key));
        if (untag.length) await this.removeTags(target, untag);
        return;
      }
      default:
        throw new SyncError("config-invalid", `${name}: a ${(action as { type: string }).type} action writes nothing`, name);
    }
  }

  /** Creates by name (unambiguous: nothing is looked up); returns the new secret's ARN. */
  private async create(request: CreateSecretRequest): Promise<string | undefined> {
    const secrets = stringsOf(request.value);
    try {
      const created = await this.client.send(
        new CreateSecretCommand({
          Name: request.name,
          ...valueField(request.value),
          ClientRequestToken: request.requestToken,
          Tags: Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value })),
          ...(request.kmsKeyId ? { KmsKeyId: request.kmsKeyId } : {}),
          ...(request.description ? { Description: request.description } : {}),
          ...(request.replicas?.length
            ? { AddReplicaRegions: request.replicas.map((r) => ({ Region: r.region, ...(r.kmsKeyId ? { KmsKeyId: r.kmsKeyId } : {}) })) }
            : {}),
        }),
      );
      return created.ARN;
    } catch (error) {
      if (error instanceof ResourceExistsException) {
        const pending = await this.pendingDeletionError(request.name, error);
        if (pending) throw pending;
      }
      throw classifySecretsManagerError(error, { what: `CreateSecret ${request.name}`, scope: "secret", name: request.name, secrets });
    }
  }

  /**
   * AWS refuses to create a name that is scheduled for deletion with InvalidRequestException
   * (classified directly); moto answers ResourceExistsException instead. One DescribeSecret,
   * only on this failure, tells the two "exists" cases apart on either.
   */
  private async pendingDeletionError(name: string, cause: unknown): Promise<SyncError | undefined> {
    try {
      const d = await this.describeByName(name, "secret");
      if (!d?.DeletedDate) return undefined;
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

  private async putValue({ name, id }: Target, value: RenderedValue, requestToken: string): Promise<void> {
    try {
      await this.client.send(
        new PutSecretValueCommand({
          SecretId: id,
          ...valueField(value),
          // Same token and value again is a no-op in AWS: a retried write makes no second version.
          ClientRequestToken: requestToken,
        }),
      );
    } catch (error) {
      throw classifySecretsManagerError(error, { what: `PutSecretValue ${name}`, scope: "secret", name, secrets: stringsOf(value) });
    }
  }

  private async tag({ name, id }: Target, tags: Record<string, string>): Promise<void> {
    try {
      await this.client.send(new TagResourceCommand({ SecretId: id, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
    } catch (error) {
      throw classifySecretsManagerError(error, { what: `TagResource ${name}`, scope: "secret", name });
    }
  }

  /**
   * String values in batches of 20, up to `concurrency` batches at once, each secret asked for by
   * its ARN, the map keyed by name. A secret that does not exist (deleted since the inventory,
   * or deleted and re-created: a new ARN) and a binary secret are left out of the map; a secret
   * AWS could not give us (access denied, KMS, pending deletion) is an error for that name, and
   * so is every name of a batch that failed as a whole without making the destination unusable.
   */
  async readValues(secrets: DestinationRef[]): Promise<Map<string, ValueRead>> {
    const out = new Map<string, ValueRead>();
    const chunks: DestinationRef[][] = [];
    for (let i = 0; i < secrets.length; i += BATCH_SIZE) chunks.push(secrets.slice(i, i + BATCH_SIZE));
    const limit = pLimit(this.concurrency);
    await Promise.all(
      chunks.map((chunk) =>
        limit(async () => {
          // Answers name the secret by the id it was asked for (errors) or by its name and ARN (values).
          const nameOf = new Map(chunk.flatMap((s) => [[secretIdOf(s), s.name] as const, [s.name, s.name] as const]));
          let res;
          try {
            res = await this.client.send(new BatchGetSecretValueCommand({ SecretIdList: chunk.map(secretIdOf) }));
          } catch (error) {
            const failure = classifySecretsManagerError(error, { what: `BatchGetSecretValue (${chunk.length} secrets from ${chunk[0]?.name ?? "?"})`, scope: "destination" });
            if (FATAL_CLASSES.has(failure.errorClass)) throw failure;
            for (const { name } of chunk) out.set(name, { error: new SyncError(failure.errorClass, `${name}: ${failure.message}`, name) });
            return;
          }
          for (const value of res.SecretValues ?? []) {
            const name = nameOf.get(value.ARN ?? "") ?? nameOf.get(value.Name ?? "");
            if (name && value.SecretString !== undefined) out.set(name, { value: value.SecretString });
          }
          for (const failed of res.Errors ?? []) {
            const name = nameOf.get(failed.SecretId ?? "");
            if (failed.ErrorCode === "ResourceNotFoundException" || !name) continue;
            const error = classifySecretsManagerError(batchEntryError(failed.ErrorCode, failed.Message), { what: `BatchGetSecretValue ${name}`, scope: "secret", name });
            out.set(name, { error });
          }
        }),
      ),
    );
    return out;
  }

  private async removeTags({ name, id }: Target, keys: string[]): Promise<void> {
    try {
      await this.client.send(new UntagResourceCommand({ SecretId: id, TagKeys: keys }));
    } catch (error) {
      throw classifySecretsManagerError(error, { what: `UntagResource ${name}`, scope: "secret", name });
    }
  }

  private async setReplicas({ name, id }: Target, replicas: { region: string; kmsKeyId?: string }[]): Promise<void> {
    try {
      const described = await this.client.send(new DescribeSecretCommand({ SecretId: id }));
      const current = new Set((described.ReplicationStatus ?? []).map((r) => r.Region).filter((r): r is string => Boolean(r)));
      const wanted = new Set(replicas.map((r) => r.region));
      const add = replicas.filter((r) => !current.has(r.region));
      const remove = [...current].filter((r) => !wanted.has(r));
      if (remove.length) await this.client.send(new RemoveRegionsFromReplicationCommand({ SecretId: id, RemoveReplicaRegions: remove }));
      if (add.length) {
        await this.client.send(
          new ReplicateSecretToRegionsCommand({
            SecretId: id,
            AddReplicaRegions: add.map((r) => ({ Region: r.region, ...(r.kmsKeyId ? { KmsKeyId: r.kmsKeyId } : {}) })),
          }),
        );
      }
    } catch (error) {
      throw classifySecretsManagerError(error, { what: `replica Regions of ${name}`, scope: "secret", name });
    }
  }

  private async setResourcePolicy({ name, id }: Target, policy: string | undefined): Promise<void> {
    try {
      if (policy === undefined) await this.client.send(new DeleteResourcePolicyCommand({ SecretId: id }));
      else await this.client.send(new PutResourcePolicyCommand({ SecretId: id, ResourcePolicy: policy, BlockPublicPolicy: true }));
    } catch (error) {
      throw classifySecretsManagerError(error, { what: `resource policy of ${name}`, scope: "secret", name });
    }
  }

  private async restore({ name, id }: Target): Promise<void> {
    try {
      await this.client.send(new RestoreSecretCommand({ SecretId: id }));
    } catch (error) {
      throw classifySecretsManagerError(error, { what: `RestoreSecret ${name}`, scope: "secret", name });
    }
  }

  private async delete({ name, id }: Target, options: { recoveryWindowDays?: number; forceDeleteWithoutRecovery?: boolean }): Promise<void> {
    try {
      let described;
      try {
        described = await this.client.send(new DescribeSecretCommand({ SecretId: id }));
      } catch (error) {
        // Already gone (a delete whose answer was lost, retried): done.
        if (error instanceof ResourceNotFoundException) return;
        throw error;
      }
      // Already scheduled for deletion (a retry, or a run whose answer was lost): the deletion
      // asked for is the outcome wanted, so this is a success that writes nothing and keeps the
      // first recovery window; AWS would refuse a second DeleteSecret anyway. Unless it must now
      // go at once.
      if (described.DeletedDate && !options.forceDeleteWithoutRecovery) return;
      const regions = (described.ReplicationStatus ?? []).map((r) => r.Region).filter((r): r is string => Boolean(r));
      if (regions.length > 0) await this.client.send(new RemoveRegionsFromReplicationCommand({ SecretId: id, RemoveReplicaRegions: regions }));
      await this.client.send(
        new DeleteSecretCommand({
          SecretId: id,
          ...(options.forceDeleteWithoutRecovery ? { ForceDeleteWithoutRecovery: true } : { RecoveryWindowInDays: options.recoveryWindowDays ?? 30 }),
        }),
      );
    } catch (error) {
      throw classifySecretsManagerError(error, { what: `DeleteSecret ${name}`, scope: "secret", name });
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/**
 * A listed secret as the planner reads it, and nothing more: at 100,000 secrets each byte of it is
 * 100 KB of the run's peak. `intern` shares the strings and label lists that repeat from entry to
 * entry (tag values, version labels). Built by assignment, not by spreading optional parts: an
 * object spread together holds about 250 bytes more than one with the same fields assigned.
 */
function toMeta(entry: SecretListEntry, intern: Interner = stringInterner()): DestinationSecretMeta {
  // Own properties whatever the key: assigning a tag named __proto__ would set the prototype.
  const tags: Record<string, string> = Object.fromEntries((entry.Tags ?? []).map((t) => [t.Key ?? "", intern(t.Value ?? "")]));
  const name = entry.Name ?? "";
  const listed = entry.SecretVersionsToStages ?? {};
  const ids = Object.keys(listed);
  const current = ids.find((id) => listed[id]?.includes("AWSCURRENT"));
  // Nearly every secret has one labelled version, the current one: its id says it all, and an
  // object keyed by a version id would be a hidden class of its own for each secret.
  const onlyCurrent = ids.length === 1 && current !== undefined && listed[current]?.length === 1;
  const meta: DestinationSecretMeta = entry.ARN && current !== undefined ? { name, arn: entry.ARN, tags, currentVersionId: current } : { name, tags };
  if (entry.ARN && !meta.arn) meta.arn = entry.ARN;
  if (current !== undefined && !meta.currentVersionId) meta.currentVersionId = current;
  if (entry.SecretVersionsToStages && !onlyCurrent) {
    const stages: Record<string, string[]> = {};
    for (const id of ids) stages[id] = labelsOf(listed[id] ?? [], intern);
    meta.versionStages = stages;
  }
  if (entry.DeletedDate) meta.deletedDate = entry.DeletedDate;
  const provider = listingData(entry);
  if (provider) meta.provider = provider;
  return meta;
}

/** One array per distinct list of version labels (nearly every secret's is `["AWSCURRENT"]`). */
function labelsOf(labels: string[], intern: Interner): string[] {
  const key = intern(labels.join("\u0000"));
  let shared = sharedLabels.get(key);
  if (!shared) {
    shared = labels.map(intern);
    if (sharedLabels.size < 256) sharedLabels.set(key, shared);
  }
  return shared;
}
const sharedLabels = new Map<string, string[]>();

/** The listing's facts only the profile reads: an AWS service owns the secret, or rotation is on. */
function listingData(entry: SecretListEntry): SecretsManagerListingData | undefined {
  if (!entry.RotationEnabled && !entry.OwningService) return undefined;
  return { ...(entry.RotationEnabled ? { rotationEnabled: true } : {}), ...(entry.OwningService ? { owningService: entry.OwningService } : {}) };
}

/**
 * The request token a value write carries: the one its plan derived, which is what proves the
 * version ours later. A random one would write a version no later run could prove, so none is made up.
 */
function tokenOf(action: AppliedValueWrite): string {
  if (!action.requestToken) throw new SyncError("config-invalid", `${action.destinationName}: a value write needs the request token its plan derives`, action.destinationName);
  return action.requestToken;
}
