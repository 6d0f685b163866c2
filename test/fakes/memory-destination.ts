// An in-memory AWS Secrets Manager for tests: the SecretDestination contract over a map of secrets,
// with the API behaviour a sync depends on (request-token idempotency, version stages, pending
// deletion, tag merging) and hooks to seed secrets as an outsider would, inject failures and count calls.
import { randomBytes, randomUUID } from "node:crypto";
import { FATAL_CLASSES, SyncError, type ErrorClass } from "../../src/core/errors.js";
import type { AppliedWrite, DestinationInventory, DestinationRef, DestinationSecretMeta } from "../../src/core/model.js";
import { writeDataOf, type SecretsManagerWriteData } from "../../src/destinations/aws-secrets-manager/settings.js";
import type { DestinationProfile } from "../../src/core/profile.js";
import { TAG } from "../../src/core/tags.js";
import type { RenderedValue } from "../../src/core/value.js";
import { awsSecretsManagerProfile } from "../../src/destinations/aws-secrets-manager/profile.js";
import type { DestinationTarget, SecretDestination, ValueRead } from "../../src/destinations/destination.js";

/** The Secrets Manager operations the fake answers, named as in the AWS API (and in `calls`). */
export type FakeOperation =
  | "ListSecrets"
  | "DescribeSecret"
  | "BatchGetSecretValue"
  | "CreateSecret"
  | "PutSecretValue"
  | "TagResource"
  | "UntagResource"
  | "DeleteSecret"
  | "RestoreSecret"
  | "PutResourcePolicy"
  | "DeleteResourcePolicy"
  | "ReplicateSecretToRegions"
  | "RemoveRegionsFromReplication";

export interface FakeVersion {
  versionId: string;
  value: RenderedValue;
  /** `AWSCURRENT` on the newest, `AWSPREVIOUS` on the one before, none on older ones. */
  stages: string[];
  createdDate: Date;
}

interface StoredSecret {
  name: string;
  arn: string;
  tags: Record<string, string>;
  /** In creation order. */
  versions: Map<string, FakeVersion>;
  createdDate: Date;
  lastChangedDate: Date;
  deletedDate?: Date;
  rotationEnabled: boolean;
  owningService?: string;
  /** Replica Region → its KMS key (undefined: the Region's default key). */
  replicas: Map<string, string | undefined>;
  resourcePolicy?: string;
  kmsKeyId?: string;
  description?: string;
}

/** A secret as an outsider (the console, another tool, an AWS service) would have made it. */
export interface SeedSecret {
  /** A string, or bytes for a binary secret; no value makes a secret with no version. */
  value?: string | Uint8Array;
  versionId?: string;
  tags?: Record<string, string>;
  /** Scheduled for deletion (at this date, or now). */
  deleted?: Date | true;
  rotationEnabled?: boolean;
  owningService?: string;
  replicas?: { region: string; kmsKeyId?: string }[];
  resourcePolicy?: string;
  kmsKeyId?: string;
  description?: string;
}

export interface MemoryDestinationOptions {
  /** Default: the AWS Secrets Manager profile, since the fake behaves as that service. */
  profile?: DestinationProfile;
  /** The primary Region (for ARNs and replica checks); default us-east-1. */
  region?: string;
  /** The clock for dates (created, changed, deleted, orphaned-at); default the wall clock. */
  now?: () => Date;
}

const ACCOUNT = "123456789012";
const PAGE_SIZE = 100;
const BATCH_SIZE = 20;
const NAME_RULE = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const MARKED_FOR_DELETION = "You can't perform this operation on the secret because it was marked for deletion.";
const PENDING_HINT = ": restore it (aws secretsmanager restore-secret) or let it be purged";

/**
 * An existing secret as a call addresses it: by its ARN when the plan had one (a secret deleted
 * and re-created under the same name has a new ARN, so the old one finds nothing), else by name.
 * Messages name it by `name`, as the real destination's do.
 */
interface Target {
  name: string;
  arn?: string;
}

export class MemoryDestination implements SecretDestination {
  readonly profile: DestinationProfile;
  /** Every operation attempted, in order, failed ones included (one entry per ListSecrets page and per BatchGetSecretValue batch). */
  readonly calls: string[] = [];
  private readonly store = new Map<string, StoredSecret>();
  private readonly region: string;
  private readonly now: () => Date;
  private readonly oneShot: { op: FakeOperation; error: SyncError | ErrorClass }[] = [];
  private readonly perName: { name: string; op: FakeOperation; errorClass: ErrorClass }[] = [];
  private validateFailure?: SyncError;
  closed = false;

  constructor(options: MemoryDestinationOptions = {}) {
    this.profile = options.profile ?? awsSecretsManagerProfile;
    this.region = options.region ?? "us-east-1";
    this.now = options.now ?? (() => new Date());
  }

  // ---- test hooks ----------------------------------------------------------------------------

  /** Creates a secret directly, as someone other than secretbridge would; records no call. */
  seed(name: string, secret: SeedSecret = {}): void {
    const now = this.now();
    const stored: StoredSecret = {
      name,
      arn: arnOf(this.region, name),
      tags: { ...(secret.tags ?? {}) },
      versions: new Map(),
      createdDate: now,
      lastChangedDate: now,
      rotationEnabled: secret.rotationEnabled ?? false,
      replicas: new Map((secret.replicas ?? []).map((r) => [r.region, r.kmsKeyId])),
      ...(secret.owningService ? { owningService: secret.owningService } : {}),
      ...(secret.resourcePolicy ? { resourcePolicy: secret.resourcePolicy } : {}),
      ...(secret.kmsKeyId ? { kmsKeyId: secret.kmsKeyId } : {}),
      ...(secret.description ? { description: secret.description } : {}),
      ...(secret.deleted ? { deletedDate: secret.deleted === true ? now : secret.deleted } : {}),
    };
    if (secret.value !== undefined) addVersion(stored, secret.versionId ?? randomUUID(), toRendered(secret.value), now);
    this.store.set(name, stored);
  }

  /** A new AWSCURRENT version written by an outsider (drift); returns its version id. Records no call. */
  outsiderPut(name: string, value: string | Uint8Array, versionId: string = randomUUID()): string {
    const secret = this.mustExist(name);
    addVersion(secret, versionId, toRendered(value), this.now());
    return versionId;
  }

  /** Outsider changes to the secret's own settings (rotation turned on, tags edited in the console ...). */
  outsiderEdit(name: string, edit: (secret: { tags: Record<string, string>; rotationEnabled: boolean; owningService?: string }) => void): void {
    edit(this.mustExist(name));
  }

  /** The recovery window has passed: secrets scheduled for deletion are gone. */
  purgeDeleted(): void {
    for (const [name, secret] of this.store) if (secret.deletedDate) this.store.delete(name);
  }

  /**
   * The next call of `op` (any secret) throws this error, once. A failed BatchGetSecretValue
   * batch is handled as the real destination does: a fatal class throws from readValues, any
   * other becomes an `{ error }` for each name of the batch.
   */
  failNext(op: FakeOperation, error: SyncError | ErrorClass): void {
    this.oneShot.push({ op, error });
  }

  /**
   * Every call of `op` concerning `name` fails with this class until `clearFailures()`. For
   * BatchGetSecretValue the name gets `{ error }` in the result and the others are read.
   */
  failOn(name: string, op: FakeOperation, errorClass: ErrorClass): void {
    this.perName.push({ name, op, errorClass });
  }

  /** `validate()` throws this until `clearFailures()` (e.g. destination-auth). */
  failValidate(error: SyncError | ErrorClass): void {
    this.validateFailure = typeof error === "string" ? new SyncError(error, `AWS Secrets Manager ListSecrets: injected ${error}`) : error;
  }

  clearFailures(): void {
    this.oneShot.length = 0;
    this.perName.length = 0;
    this.validateFailure = undefined;
  }

  /** Back to an empty destination: no secrets, no calls, no injected failures. */
  reset(): void {
    this.store.clear();
    this.calls.length = 0;
    this.clearFailures();
    this.closed = false;
  }

  names(): string[] {
    return [...this.store.keys()].sort();
  }

  has(name: string): boolean {
    return this.store.has(name);
  }

  /** Versions oldest first, with their stages and values (copies). */
  versions(name: string): FakeVersion[] {
    return [...(this.store.get(name)?.versions.values() ?? [])].map((v) => ({ ...v, stages: [...v.stages], value: copyValue(v.value) }));
  }

  /** The AWSCURRENT value: the string, or the bytes of a binary secret; undefined when there is none. */
  value(name: string): string | Uint8Array | undefined {
    const current = currentVersion(this.store.get(name));
    if (!current) return undefined;
    return "secretString" in current.value ? current.value.secretString : new Uint8Array(current.value.secretBinary);
  }

  tags(name: string): Record<string, string> | undefined {
    const secret = this.store.get(name);
    return secret ? { ...secret.tags } : undefined;
  }

  /** Everything else the API would show for the secret (DescribeSecret, GetResourcePolicy). */
  details(name: string):
    | { arn: string; replicas: { region: string; kmsKeyId?: string }[]; resourcePolicy?: string; kmsKeyId?: string; description?: string; deletedDate?: Date; rotationEnabled: boolean; owningService?: string }
    | undefined {
    const s = this.store.get(name);
    if (!s) return undefined;
    return {
      arn: s.arn,
      replicas: [...s.replicas].map(([region, kmsKeyId]) => ({ region, ...(kmsKeyId ? { kmsKeyId } : {}) })),
      rotationEnabled: s.rotationEnabled,
      ...(s.resourcePolicy !== undefined ? { resourcePolicy: s.resourcePolicy } : {}),
      ...(s.kmsKeyId ? { kmsKeyId: s.kmsKeyId } : {}),
      ...(s.description ? { description: s.description } : {}),
      ...(s.deletedDate ? { deletedDate: s.deletedDate } : {}),
      ...(s.owningService ? { owningService: s.owningService } : {}),
    };
  }

  // ---- SecretDestination -----------------------------------------------------------------------

  async validate(): Promise<void> {
    this.calls.push("ListSecrets");
    if (this.validateFailure) throw this.validateFailure;
    this.takeOneShot("ListSecrets", "AWS Secrets Manager ListSecrets");
  }

  async inventory(prefix: string): Promise<DestinationInventory> {
    const namePrefix = `${prefix}/`;
    // Pending deletions are listed too (IncludePlannedDeletion), as the real inventory asks.
    const matching = [...this.store.values()].filter((s) => s.name.startsWith(namePrefix));
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
    for (let page = 0; page < pages; page++) {
      this.calls.push("ListSecrets");
      this.takeOneShot("ListSecrets", `ListSecrets under ${namePrefix}`);
    }
    return { secrets: matching.map(toMeta) };
  }

  async describe(names: string[]): Promise<DestinationInventory> {
    const secrets: DestinationSecretMeta[] = [];
    for (const name of names) {
      const secret = this.enter("DescribeSecret", { name });
      if (secret) secrets.push(toMeta(secret));
    }
    return { secrets };
  }

  async readValues(secrets: DestinationRef[]): Promise<Map<string, ValueRead>> {
    const out = new Map<string, ValueRead>();
    for (let i = 0; i < secrets.length; i += BATCH_SIZE) {
      const chunk = secrets.slice(i, i + BATCH_SIZE);
      this.calls.push("BatchGetSecretValue");
      try {
        this.takeOneShot("BatchGetSecretValue", `BatchGetSecretValue (${chunk.length} secrets from ${chunk[0]?.name ?? "?"})`);
      } catch (error) {
        // As the real destination: a whole batch failing is fatal only when the destination is.
        const failure = error as SyncError;
        if (FATAL_CLASSES.has(failure.errorClass)) throw failure;
        for (const { name } of chunk) out.set(name, { error: new SyncError(failure.errorClass, `${name}: ${failure.message}`, name) });
        continue;
      }
      for (const target of chunk) {
        const name = target.name;
        const injected = this.perName.find((f) => f.name === name && f.op === "BatchGetSecretValue");
        if (injected) {
          out.set(name, { error: new SyncError(injected.errorClass, `BatchGetSecretValue ${name}: injected ${injected.errorClass}`, name) });
          continue;
        }
        const secret = this.find(target);
        if (!secret) continue;
        if (secret.deletedDate) {
          out.set(name, { error: awsError("BatchGetSecretValue", name, "InvalidRequestException", MARKED_FOR_DELETION, "pending-deletion", PENDING_HINT) });
          continue;
        }
        const current = currentVersion(secret);
        if (current && "secretString" in current.value) out.set(name, { value: current.value.secretString });
      }
    }
    return out;
  }

  async apply(action: AppliedWrite, value: () => Promise<RenderedValue>): Promise<void> {
    const name = action.destinationName;
    const t: Target = { name, ...(action.arn ? { arn: action.arn } : {}) };
    const tags = "tags" in action ? action.tags : {};
    switch (action.type) {
      case "create": {
        const arn = this.createSecret(name, await value(), action.requestToken ?? randomUUID(), tags, writeDataOf(action));
        const policy = writeDataOf(action).resourcePolicy;
        if (policy) this.setResourcePolicy({ name, arn }, policy);
        return;
      }
      case "delete": {
        // As the real destination (this mirrors its apply, call for call): DescribeSecret first.
        // Gone already, or already scheduled for deletion and not to be forced: done, nothing
        // written. Then the replica Regions, which must go before the primary.
        const secret = this.enter("DescribeSecret", t);
        if (!secret) return;
        if (secret.deletedDate && !writeDataOf(action).forceDeleteWithoutRecovery) return;
        if (secret.replicas.size > 0) this.removeRegions(t, [...secret.replicas.keys()]);
        this.deleteSecret(t, writeDataOf(action));
        return;
      }
      case "orphan":
        this.tagResource(t, { ...tags, [TAG.orphanedAt]: this.now().toISOString() });
        return;
      case "update":
      case "restore":
      case "adopt": {
        if (action.type === "restore") this.restoreSecret(t);
        const finalTags = { ...tags };
        if (action.restoreVersionId && action.currentVersionId) {
          // A write replacing someone else's current version (drift repair, KV v1): the replaced
          // id is tagged first, as the real destination does; it stays in the final tag set.
          finalTags[TAG.replacedVersion] = action.currentVersionId;
          this.tagResource(t, { [TAG.replacedVersion]: action.currentVersionId });
          this.putSecretValue(t, await value(), action.restoreVersionId);
        } else if (action.changes?.includes("value")) {
          this.putSecretValue(t, await value(), action.requestToken ?? randomUUID());
        }
        if (action.changes?.includes("policy")) this.setResourcePolicy(t, writeDataOf(action).resourcePolicy);
        if (action.changes?.includes("replicas")) this.setReplicas(t, writeDataOf(action).replicas ?? []);
        if (Object.keys(finalTags).length > 0) this.tagResource(t, finalTags);
        const untag = (action.untag ?? []).filter((key) => !Object.hasOwn(finalTags, key));
        if (untag.length > 0) this.untagResource(t, untag);
        return;
      }
      default:
        // unchanged, conflict, skip, drift: a plan never sends these to apply.
        throw new SyncError("config-invalid", `${name}: a ${(action as { type: string }).type} action writes nothing`, name);
    }
  }

  async target(): Promise<DestinationTarget> {
    return { service: "in-memory Secrets Manager", account: "000000000000", region: "test-region-1" };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---- the API operations, with AWS's rules --------------------------------------------------

  /** Returns the ARN of the secret (the new one, or the one a retried create already made). */
  private createSecret(name: string, value: RenderedValue, token: string, tags: Record<string, string>, action: SecretsManagerWriteData): string {
    this.enter("CreateSecret", { name });
    checkToken("CreateSecret", name, token);
    if (!NAME_RULE.test(name)) {
      throw awsError("CreateSecret", name, "ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!", "invalid-name");
    }
    this.checkValue("CreateSecret", name, value);
    this.checkTags("CreateSecret", name, {}, tags);
    const existing = this.store.get(name);
    if (existing) {
      if (existing.deletedDate) {
        throw awsError("CreateSecret", name, "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.", "pending-deletion", PENDING_HINT);
      }
      const same = existing.versions.get(token);
      // A retry of a create that already happened: AWS answers success and changes nothing.
      if (same && sameValue(same.value, value)) return existing.arn;
      if (same) throw tokenInUse("CreateSecret", existing, token);
      throw awsError("CreateSecret", name, "ResourceExistsException", `The operation failed because the secret ${name} already exists.`, "destination-write-failed", ": a secret with this name or this request token already exists");
    }
    for (const r of action.replicas ?? []) {
      if (r.region === this.region) throw awsError("CreateSecret", name, "InvalidParameterException", "Invalid replica region.", "destination-write-failed");
    }
    const now = this.now();
    const secret: StoredSecret = {
      name,
      arn: arnOf(this.region, name),
      tags: { ...tags },
      versions: new Map(),
      createdDate: now,
      lastChangedDate: now,
      rotationEnabled: false,
      replicas: new Map((action.replicas ?? []).map((r) => [r.region, r.kmsKeyId])),
      ...(action.kmsKeyId ? { kmsKeyId: action.kmsKeyId } : {}),
      ...(action.description ? { description: action.description } : {}),
    };
    addVersion(secret, token, value, now);
    this.store.set(name, secret);
    return secret.arn;
  }

  private putSecretValue(t: Target, value: RenderedValue, token: string): void {
    const name = t.name;
    const secret = this.writable("PutSecretValue", t);
    checkToken("PutSecretValue", name, token);
    this.checkValue("PutSecretValue", name, value);
    const same = secret.versions.get(token);
    if (same) {
      // Same token and value: the write already happened (a retry). Another value: refused.
      if (sameValue(same.value, value)) return;
      throw tokenInUse("PutSecretValue", secret, token);
    }
    addVersion(secret, token, value, this.now());
  }

  private tagResource(t: Target, tags: Record<string, string>): void {
    const secret = this.writable("TagResource", t);
    this.checkTags("TagResource", t.name, secret.tags, tags);
    Object.assign(secret.tags, tags);
    secret.lastChangedDate = this.now();
  }

  private untagResource(t: Target, keys: string[]): void {
    const secret = this.writable("UntagResource", t);
    for (const key of keys) delete secret.tags[key];
    secret.lastChangedDate = this.now();
  }

  private deleteSecret(t: Target, options: { recoveryWindowDays?: number; forceDeleteWithoutRecovery?: boolean }): void {
    const name = t.name;
    this.enter("DeleteSecret", t);
    const window = options.recoveryWindowDays;
    if (window !== undefined && options.forceDeleteWithoutRecovery) {
      throw awsError("DeleteSecret", name, "InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.", "destination-write-failed");
    }
    if (window !== undefined && (window < 7 || window > 30)) {
      throw awsError("DeleteSecret", name, "InvalidParameterException", "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).", "destination-write-failed");
    }
    const secret = this.find(t);
    if (!secret) {
      // AWS answers success to a forced delete of a name that does not exist.
      if (options.forceDeleteWithoutRecovery) return;
      throw notFound("DeleteSecret", name);
    }
    if (secret.replicas.size > 0) {
      throw awsError("DeleteSecret", name, "InvalidParameterException", `You can't delete secret ${name} that still has replica regions [${[...secret.replicas.keys()].join(",")}]`, "destination-write-failed");
    }
    if (options.forceDeleteWithoutRecovery) {
      this.store.delete(name);
      return;
    }
    if (secret.deletedDate) throw awsError("DeleteSecret", name, "InvalidRequestException", MARKED_FOR_DELETION, "pending-deletion", PENDING_HINT);
    // DeletedDate in ListSecrets is when the deletion was asked for (the purge is a window later).
    secret.deletedDate = this.now();
    secret.lastChangedDate = secret.deletedDate;
  }

  private restoreSecret(t: Target): void {
    const secret = this.enter("RestoreSecret", t);
    if (!secret) throw notFound("RestoreSecret", t.name);
    delete secret.deletedDate;
    secret.lastChangedDate = this.now();
  }

  /** A policy text is put; null (or none) removes the policy. */
  private setResourcePolicy(t: Target, policy: string | null | undefined): void {
    if (typeof policy === "string") this.putResourcePolicy(t, policy);
    else this.deleteResourcePolicy(t);
  }

  private putResourcePolicy(t: Target, policy: string): void {
    const name = t.name;
    const secret = this.writable("PutResourcePolicy", t);
    try {
      JSON.parse(policy);
    } catch {
      throw awsError("PutResourcePolicy", name, "MalformedPolicyDocumentException", "The policy document is not valid JSON.", "destination-write-failed");
    }
    secret.resourcePolicy = policy;
  }

  private deleteResourcePolicy(t: Target): void {
    const secret = this.writable("DeleteResourcePolicy", t);
    delete secret.resourcePolicy;
  }

  /** Makes the secret have exactly these replica Regions: removals first, then additions. */
  private setReplicas(t: Target, replicas: { region: string; kmsKeyId?: string }[]): void {
    const name = t.name;
    const secret = this.enter("DescribeSecret", t);
    if (!secret) throw notFound("DescribeSecret", name);
    const wanted = new Set(replicas.map((r) => r.region));
    const remove = [...secret.replicas.keys()].filter((r) => !wanted.has(r));
    const add = replicas.filter((r) => !secret.replicas.has(r.region));
    if (remove.length > 0) this.removeRegions(t, remove);
    if (add.length > 0) {
      const target = this.writable("ReplicateSecretToRegions", t);
      for (const r of add) {
        if (r.region === this.region) throw awsError("ReplicateSecretToRegions", name, "InvalidParameterException", "Invalid replica region.", "destination-write-failed");
      }
      for (const r of add) target.replicas.set(r.region, r.kmsKeyId);
    }
  }

  private removeRegions(t: Target, regions: string[]): void {
    const secret = this.enter("RemoveRegionsFromReplication", t);
    if (!secret) throw notFound("RemoveRegionsFromReplication", t.name);
    for (const region of regions) secret.replicas.delete(region);
  }

  // ---- helpers -------------------------------------------------------------------------------

  /** Records the call and throws an injected failure for it; returns the secret if it exists. */
  private enter(op: FakeOperation, t: Target): StoredSecret | undefined {
    const name = t.name;
    this.calls.push(op);
    this.takeOneShot(op, `${op} ${name}`, name);
    const injected = this.perName.find((f) => f.name === name && f.op === op);
    if (injected) throw new SyncError(injected.errorClass, `${op} ${name}: injected ${injected.errorClass}`, name);
    return this.find(t);
  }

  /** The secret a SecretId reaches: by ARN when given (exactly that secret), else by name. */
  private find(t: Target): StoredSecret | undefined {
    const secret = this.store.get(t.name);
    return t.arn === undefined || secret?.arn === t.arn ? secret : undefined;
  }

  /** A write on an existing secret: it must exist and not be scheduled for deletion (AWS refuses tags too). */
  private writable(op: FakeOperation, t: Target): StoredSecret {
    const name = t.name;
    const secret = this.enter(op, t);
    if (!secret) throw notFound(op, name);
    if (secret.deletedDate) throw awsError(op, name, "InvalidRequestException", MARKED_FOR_DELETION, "pending-deletion", PENDING_HINT);
    return secret;
  }

  private takeOneShot(op: FakeOperation, what: string, name?: string): void {
    const i = this.oneShot.findIndex((f) => f.op === op);
    if (i < 0) return;
    const error = this.oneShot.splice(i, 1)[0]?.error ?? "destination-write-failed";
    throw typeof error === "string" ? new SyncError(error, `${what}: injected ${error}`, name) : error;
  }

  private mustExist(name: string): StoredSecret {
    const secret = this.store.get(name);
    if (!secret) throw new Error(`MemoryDestination: no secret ${name}`);
    return secret;
  }

  private checkValue(op: FakeOperation, name: string, value: RenderedValue): void {
    const problem = this.profile.valueProblem(value);
    if (problem) throw awsError(op, name, "ValidationException", `1 validation error detected: ${problem}`, "too-large");
  }

  private checkTags(op: FakeOperation, name: string, existing: Record<string, string>, added: Record<string, string>): void {
    const problems = this.profile.tagProblems(added);
    const total = Object.keys({ ...existing, ...added }).length;
    if (total > this.profile.maxTags) problems.push(`${total} tags; AWS allows at most ${this.profile.maxTags} per secret`);
    if (problems.length > 0) throw awsError(op, name, "ValidationException", `tags: ${problems.join("; ")}`, "invalid-tags");
  }
}

function toMeta(secret: StoredSecret): DestinationSecretMeta {
  const current = currentVersion(secret);
  return {
    ...(current ? { currentVersionId: current.versionId } : {}),
    // SecretVersionsToStages as ListSecrets gives it: only versions that carry a label.
    versionStages: Object.fromEntries([...secret.versions.values()].filter((v) => v.stages.length > 0).map((v) => [v.versionId, [...v.stages]])),
    name: secret.name,
    arn: secret.arn,
    tags: { ...secret.tags },
    ...(secret.deletedDate ? { deletedDate: secret.deletedDate } : {}),
    ...(secret.rotationEnabled || secret.owningService
      ? { provider: { ...(secret.rotationEnabled ? { rotationEnabled: true } : {}), ...(secret.owningService ? { owningService: secret.owningService } : {}) } }
      : {}),
  };
}

function currentVersion(secret: StoredSecret | undefined): FakeVersion | undefined {
  return [...(secret?.versions.values() ?? [])].find((v) => v.stages.includes("AWSCURRENT"));
}

/** The new version takes AWSCURRENT; the old current one becomes AWSPREVIOUS; older ones lose their stages. */
function addVersion(secret: StoredSecret, versionId: string, value: RenderedValue, now: Date): void {
  for (const v of secret.versions.values()) {
    if (v.stages.includes("AWSCURRENT")) v.stages = ["AWSPREVIOUS"];
    else v.stages = v.stages.filter((s) => s !== "AWSPREVIOUS");
  }
  secret.versions.set(versionId, { versionId, value: copyValue(value), stages: ["AWSCURRENT"], createdDate: now });
  secret.lastChangedDate = now;
}

function checkToken(op: FakeOperation, name: string, token: string): void {
  if (token.length < 32 || token.length > 64) {
    throw awsError(op, name, "InvalidParameterException", "ClientRequestToken must be 32-64 characters long.", "destination-write-failed");
  }
}

function tokenInUse(op: FakeOperation, secret: StoredSecret, token: string): SyncError {
  return awsError(
    op,
    secret.name,
    "ResourceExistsException",
    `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${secret.arn}.`,
    "destination-write-failed",
    ": a secret with this name or this request token already exists",
  );
}

function notFound(op: FakeOperation, name: string): SyncError {
  return awsError(op, name, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.", "destination-write-failed");
}

/** Errors read as the real destination's do: `<op> <name>: <AWS code>: <AWS message><hint>`. */
function awsError(op: FakeOperation, name: string, code: string, message: string, errorClass: ErrorClass, hint = ""): SyncError {
  return new SyncError(errorClass, `${op} ${name}: ${code}: ${message}${hint}`, name);
}

function sameValue(a: RenderedValue, b: RenderedValue): boolean {
  if ("secretString" in a) return "secretString" in b && a.secretString === b.secretString;
  return "secretBinary" in b && Buffer.from(a.secretBinary).equals(Buffer.from(b.secretBinary));
}

function copyValue(value: RenderedValue): RenderedValue {
  return "secretString" in value ? { secretString: value.secretString } : { secretBinary: new Uint8Array(value.secretBinary) };
}

function toRendered(value: string | Uint8Array): RenderedValue {
  return typeof value === "string" ? { secretString: value } : { secretBinary: new Uint8Array(value) };
}

/** AWS appends "-" and six random characters to the name. */
function arnOf(region: string, name: string): string {
  const suffix = randomBytes(6)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "x")
    .slice(0, 6);
  return `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}-${suffix}`;
}
