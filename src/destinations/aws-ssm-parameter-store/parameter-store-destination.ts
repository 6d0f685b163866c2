// AWS Systems Manager Parameter Store as a secretbridge destination: SecureString parameters named
// `/<destination name>`, encrypted with the configured KMS key. The inventory is one paged
// DescribeParameters listing (no per-parameter call, no value); what the planner needs (token,
// version, tags) travels in each parameter's description, written with the value (record.ts).
// PutParameter has no request token, so every value write first re-lists its one name: a write
// whose token is already current is done, and a retry never makes a second version.
import type { STSClient } from "@aws-sdk/client-sts";
import { targetOf } from "../aws-common/clients.js";
import pLimit from "p-limit";
import { FATAL_CLASSES, SyncError } from "../../core/errors.js";
import type { AppliedValueWrite, AppliedWrite, DestinationInventory, DestinationRef, DestinationSecretMeta } from "../../core/model.js";
import type { DestinationProfile } from "../../core/profile.js";
import { TAG } from "../../core/tags.js";
import type { RenderedValue } from "../../core/value.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import { TokenBucket } from "../../util/rate-limiter.js";
import { awsErrorCode, classifyAwsError } from "../aws-common/errors.js";
import type { DestinationTarget, SecretDestination, ValueRead } from "../destination.js";
import { parameterNameOf, parameterStoreProfile, PREVIOUS, tierFor, type Tier } from "./profile.js";
import { decodeRecord, encodeRecord, type WriteRecord } from "./record.js";
import { DEFAULT_RATE_LIMITS, familyOf, type RateLimits } from "./quotas.js";
import { type ParameterMetadata, type SsmApi, type SsmOperation, type SsmOperations } from "./ssm-api.js";

export interface ParameterStoreDestinationOptions {
  /** The SSM client: the provider builds it with the runtime's AWS client factory; tests point one at moto. */
  client: SsmApi;
  /** Names the account in `target()`; without it the account is shown as not asked. */
  identity?: STSClient;
  /** KMS key for new SecureString parameters; default the account's `alias/aws/ssm`. */
  kmsKeyId?: string;
  tier?: Tier;
  rateLimits?: RateLimits;
  recorder?: ApiCallRecorder;
  /** Attempts per call on throttling, 5xx and network errors (backoff with jitter); default 6. */
  maxAttempts?: number;
  /** Calls in flight at once for `describe`, `readValues` and tag fallbacks; default 8. */
  concurrency?: number;
}

/** GetParameters takes at most 10 names per call; DescribeParameters' Name filter at most 50 values. */
const READ_BATCH = 10;
const DESCRIBE_BATCH = 50;

export class ParameterStoreDestination implements SecretDestination {
  readonly profile: DestinationProfile;
  private readonly client: SsmApi;
  private readonly tier: Tier;
  private readonly kmsKeyId: string | undefined;
  private readonly maxAttempts: number;
  private readonly concurrency: number;
  private readonly recorder: ApiCallRecorder | undefined;
  private readonly limiters = new Map<string, TokenBucket>();
  private readonly rateLimits: RateLimits;

  private readonly identity: STSClient | undefined;

  constructor(options: ParameterStoreDestinationOptions) {
    this.tier = options.tier ?? "standard";
    this.profile = parameterStoreProfile(this.tier);
    this.kmsKeyId = options.kmsKeyId;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.recorder = options.recorder;
    this.rateLimits = { ...DEFAULT_RATE_LIMITS, ...(options.rateLimits ?? {}) };
    this.client = options.client;
    this.identity = options.identity;
  }

  /** One call: rate-limited by its quota family, counted, retried only when retrying is safe. */
  private async call<O extends SsmOperation>(operation: O, input: SsmOperations[O]["input"], retry = true): Promise<SsmOperations[O]["output"]> {
    const family = familyOf(operation);
    let limiter = this.limiters.get(family);
    if (!limiter) this.limiters.set(family, (limiter = new TokenBucket({ ratePerSecond: this.rateLimits[family] ?? 1 })));
    for (let attempt = 1; ; attempt++) {
      await limiter.take();
      try {
        const out = await this.client.call(operation, input);
        this.recorder?.record("ssm", operation, 200);
        return out;
      } catch (error) {
        const status = (error as { httpStatus?: number }).httpStatus;
        this.recorder?.record("ssm", operation, status ?? awsErrorCode(error));
        const transient = awsErrorCode(error) === "ThrottlingException" || (status !== undefined && status >= 500) || status === undefined;
        if (!retry || !transient || attempt >= this.maxAttempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2000, 50 * 2 ** attempt)));
      }
    }
  }

  async target(): Promise<DestinationTarget> {
    const service = "AWS Systems Manager Parameter Store";
    const region = await this.client.region();
    if (!this.identity) return { service, account: null, accountUnknown: "not asked", region };
    return targetOf(service, region, this.identity);
  }

  async validate(): Promise<void> {
    try {
      await this.call("DescribeParameters", { MaxResults: 1 });
    } catch (error) {
      throw classifyAwsError(error, { what: "Parameter Store DescribeParameters", scope: "destination" });
    }
  }

  async inventory(prefix: string): Promise<DestinationInventory> {
    const path = parameterNameOf(prefix);
    const listed: ParameterMetadata[] = [];
    let NextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.call("DescribeParameters", {
          ParameterFilters: [{ Key: "Path", Option: "Recursive", Values: [path] }],
          MaxResults: 50,
          ...(NextToken ? { NextToken } : {}),
        });
      } catch (error) {
        throw classifyAwsError(error, { what: `DescribeParameters under ${path}/`, scope: "destination" });
      }
      // The filter is not the only guard on what counts as under the prefix.
      for (const p of page.Parameters ?? []) if (p.Name?.startsWith(`${path}/`)) listed.push(p);
      NextToken = page.NextToken;
    } while (NextToken);
    const released = await this.released({ Key: "Path", Option: "Recursive", Values: [path] }, `under ${path}/`);
    return { secrets: await this.toMetas(listed, released) };
  }

  /**
   * The parameters that carry a release mark. A release only retags (it writes no value, so the
   * description keeps the record of the last write, tags included): these parameters' real tags
   * are listed, since the record's are no longer theirs. One paged listing, filtered by the tag
   * secretbridge release writes (an ISO 8601 time, so it starts with a digit).
   */
  private async released(scope: { Key: string; Option: string; Values: string[] }, what: string): Promise<Set<string>> {
    const names = new Set<string>();
    let NextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.call("DescribeParameters", {
          ParameterFilters: [scope, { Key: `tag:${TAG.releasedAt}`, Option: "BeginsWith", Values: RELEASE_TIME_STARTS }],
          MaxResults: 50,
          ...(NextToken ? { NextToken } : {}),
        });
      } catch (error) {
        throw classifyAwsError(error, { what: `DescribeParameters (released) ${what}`, scope: "destination" });
      }
      for (const p of page.Parameters ?? []) if (p.Name !== undefined) names.add(p.Name);
      NextToken = page.NextToken;
    } while (NextToken);
    return names;
  }

  async describe(names: string[]): Promise<DestinationInventory> {
    const listed: ParameterMetadata[] = [];
    const released = new Set<string>();
    for (let i = 0; i < names.length; i += DESCRIBE_BATCH) {
      const chunk = names.slice(i, i + DESCRIBE_BATCH).map(parameterNameOf);
      listed.push(...(await this.listNames(chunk, "destination")));
      for (const name of await this.released({ Key: "Name", Option: "Equals", Values: chunk }, chunk[0] ?? "")) released.add(name);
    }
    return { secrets: await this.toMetas(listed, released) };
  }

  /**
   * These names' listing entries. Paged like the inventory: with filters, DescribeParameters may
   * answer fewer than MaxResults (even none) with a NextToken, and a name missing from the first
   * page may be on the next.
   */
  private async listNames(parameterNames: string[], scope: "destination" | "secret"): Promise<ParameterMetadata[]> {
    const listed: ParameterMetadata[] = [];
    let NextToken: string | undefined;
    try {
      do {
        const page = await this.call("DescribeParameters", {
          ParameterFilters: [{ Key: "Name", Option: "Equals", Values: parameterNames }],
          MaxResults: 50,
          ...(NextToken ? { NextToken } : {}),
        });
        for (const p of page.Parameters ?? []) if (p.Name !== undefined && parameterNames.includes(p.Name)) listed.push(p);
        NextToken = page.NextToken;
      } while (NextToken);
      return listed;
    } catch (error) {
      throw classifyAwsError(error, { what: `DescribeParameters ${parameterNames[0] ?? ""}`, scope, ...(parameterNames.length === 1 ? { name: parameterNames[0] } : {}) });
    }
  }

  /** Listing entries to inventory entries; tags are listed per parameter only where no record holds them (or a release changed them since). */
  private async toMetas(listed: ParameterMetadata[], released: ReadonlySet<string>): Promise<DestinationSecretMeta[]> {
    const limit = pLimit(this.concurrency);
    return Promise.all(
      listed.map((p) =>
        limit(async () => {
          const parameterName = p.Name ?? "";
          const listed = decodeRecord(p.Description);
          const realTags = listed?.tags && !released.has(parameterName) ? undefined : await this.listTags(parameterName);
          // A hand write that replaced the description too: the history still holds our last
          // write's record (one call, only for a parameter whose tags say it is ours).
          const record = listed ?? (realTags?.[TAG.managedBy] !== undefined ? await this.lastRecord(parameterName) : undefined);
          const tags = realTags ?? listed?.tags ?? {};
          // Proven current only when the record was written with the version that is current now.
          // A later version written by hand (which keeps the description) leaves the record naming
          // an earlier version of ours: Parameter Store keeps it in the history, like AWSPREVIOUS.
          const current = record !== undefined && record.version === p.Version;
          const currentVersionId = current ? record.token : `parameter-version-${p.Version ?? 0}`;
          return {
            name: parameterName.slice(1),
            tags,
            currentVersionId,
            ...(record && !current ? { versionStages: { [record.token]: [PREVIOUS] } } : {}),
          };
        }),
      ),
    );
  }

  /** The record of the latest version whose own description names it, from the parameter's history. */
  private async lastRecord(parameterName: string): Promise<WriteRecord | undefined> {
    let found: WriteRecord | undefined;
    let NextToken: string | undefined;
    try {
      do {
        const page = await this.call("GetParameterHistory", { Name: parameterName, WithDecryption: false, MaxResults: 50, ...(NextToken ? { NextToken } : {}) });
        for (const version of page.Parameters ?? []) {
          const record = decodeRecord(version.Description);
          if (record && record.version === version.Version && (found === undefined || record.version > found.version)) found = record;
        }
        NextToken = page.NextToken;
      } while (NextToken);
    } catch (error) {
      throw classifyAwsError(error, { what: `GetParameterHistory ${parameterName}`, scope: "secret", name: parameterName.slice(1) });
    }
    return found;
  }

  private async listTags(parameterName: string): Promise<Record<string, string>> {
    try {
      const { TagList } = await this.call("ListTagsForResource", { ResourceType: "Parameter", ResourceId: parameterName });
      return Object.fromEntries((TagList ?? []).map((t) => [t.Key, t.Value]));
    } catch (error) {
      throw classifyAwsError(error, { what: `ListTagsForResource ${parameterName}`, scope: "secret", name: parameterName.slice(1) });
    }
  }

  /**
   * create / update / adopt / restore write the value with its record, and the tags: in the order
   * that lets a run that stops in between be finished by the next (see `write`); delete deletes
   * at once. Parameter Store has no recovery window, so `restore` is an update, and the
   * `tag` deletion strategy (a mark the listing cannot show) is not offered.
   */
  async apply(action: AppliedWrite, value: () => Promise<RenderedValue>): Promise<void> {
    const name = action.destinationName;
    const parameterName = parameterNameOf(name);
    switch (action.type) {
      case "delete":
        try {
          await this.call("DeleteParameter", { Name: parameterName });
        } catch (error) {
          // Already gone (a delete whose answer was lost): done.
          if (awsErrorCode(error) === "ParameterNotFound") return;
          throw classifyAwsError(error, { what: `DeleteParameter ${parameterName}`, scope: "secret", name });
        }
        return;
      case "create":
      case "update":
      case "restore":
      case "adopt":
        return this.write(action, parameterName, value);
      case "release":
        return this.retag(name, parameterName, action.tags, action.untag);
      case "reclaim":
        return this.reclaim(name, parameterName, action.untag);
      default:
        throw new SyncError("config-invalid", `${name}: a ${action.type} action writes nothing in Parameter Store`, name);
    }
  }

  private async write(action: AppliedValueWrite, parameterName: string, value: () => Promise<RenderedValue>): Promise<void> {
    const name = action.destinationName;
    const token = action.restoreVersionId ?? action.requestToken;
    if (token === undefined) throw new SyncError("config-invalid", `${name}: a Parameter Store write needs the token its plan derives`, name);
    const tags = action.tags;
    for (let attempt = 1; ; attempt++) {
      // What is there now: a write whose token and tags are already current is done (a retry, a
      // repeated run, an answer that was lost).
      const [current] = await this.listNames([parameterName], "secret");
      const record = current && decodeRecord(current.Description);
      const written = current !== undefined && record !== undefined && record.token === token && record.version === current.Version;
      if (written && sameTags(record.tags, tags)) return;
      if (written && record.tags === undefined) {
        // Tags too long for the record live only as real tags (the inventory lists those): this
        // value is written already, so only the tags are brought up to date.
        await this.retag(name, parameterName, tags, action.untag ?? []);
        return;
      }
      if (!current && action.type !== "create") {
        // Gone since the plan was made (deleted by hand, or by another run): an update never
        // creates; the next run plans a create, which checks the name again.
        throw new SyncError("destination-write-failed", `PutParameter ${parameterName}: ParameterNotFound: the parameter no longer exists; the next run creates it`, name);
      }
      if (current && record === undefined && (action.type === "update" || action.type === "restore") && action.currentVersionId === undefined) {
        // No ARN tells a parameter from one re-created under its name: a parameter of ours always
        // carries a record (a hand edit keeps it; one that replaced it is a repair, which names
        // the version it replaces), so one without was made by someone else since the plan.
        throw new SyncError("conflict-unmanaged", `${name}: the parameter ${parameterName} holds no record of a write of this sync (re-created by someone else since the plan?); it is left untouched`, name);
      }
      if (current && action.type === "create") {
        // Not ours (or not this write's): a create never overwrites what is there.
        throw new SyncError("conflict-unmanaged", `${name}: the parameter ${parameterName} already exists and was not written by this sync; it is left untouched`, name);
      }
      const description = encodeRecord({ token, version: (current?.Version ?? 0) + 1, tags });
      // Where the record holds the tags (the inventory reads them there), the real tags go first:
      // a run that stops in between leaves the old record, so the next run writes again. Where
      // the tags do not fit, the real tags are what the inventory reads: the value goes first, so
      // a run that stops in between leaves this write's token current (the proof that the
      // parameter is ours) and the next run only retags. Tags first there would leave tags that
      // name a version no write of ours made: unproven ownership, and the parameter stuck.
      const tagsInRecord = decodeRecord(description)?.tags !== undefined;
      if (current && tagsInRecord) await this.retag(name, parameterName, tags, action.untag ?? []);
      const rendered = await value();
      if (!("secretString" in rendered)) throw new SyncError("invalid-value", `${name}: Parameter Store holds text only; this value is binary`, name);
      const bytes = Buffer.byteLength(rendered.secretString, "utf8");
      // auto never turns an advanced parameter back to standard (AWS refuses that).
      const tier = current?.Tier === "Advanced" && this.tier !== "standard" ? "Advanced" : tierFor(bytes, this.tier);
      if (tier === undefined) throw new SyncError("too-large", `${name}: ${this.profile.valueProblem(rendered) ?? "too large"}`, name);
      try {
        await this.call(
          "PutParameter",
          {
            Name: parameterName,
            Value: rendered.secretString,
            Type: "SecureString",
            ...(this.kmsKeyId ? { KeyId: this.kmsKeyId } : {}),
            Description: description,
            Tier: tier,
            ...(current ? { Overwrite: true } : { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value: String(Value) })) }),
          },
          // Never retried blindly: the loop re-lists first, so a write that landed is not repeated.
          false,
        );
      } catch (error) {
        const failure = classifyAwsError(error, { what: `PutParameter ${parameterName}`, scope: "secret", name, secrets: [rendered.secretString] });
        if (awsErrorCode(error) === "ParameterAlreadyExists" && action.type === "create") {
          // Created by someone else since the listing (or by our own write whose answer was lost): look again.
          if (attempt < this.maxAttempts) continue;
        }
        // A lost answer (reset, timeout, 5xx) may hide a write that landed: the loop re-lists first.
        if (!failure.retryable || attempt >= this.maxAttempts) throw failure;
        continue;
      }
      if (current && !tagsInRecord) await this.retag(name, parameterName, tags, action.untag ?? []);
      return;
    }
  }

  /**
   * Takes a released parameter back. Where the record of the last write holds its tags (what the
   * inventory reads once the release mark is gone), the real tags are put back to those, the
   * release tags removed with the mark: the record and the real tags agree again, as before the
   * release. Where it holds none, the real tags are the inventory's and only the mark goes (the
   * next write removes the rest, as on any destination).
   */
  private async reclaim(name: string, parameterName: string, untag: string[]): Promise<void> {
    const [current] = await this.listNames([parameterName], "secret");
    const recorded = current && decodeRecord(current.Description)?.tags;
    if (recorded === undefined) return this.retag(name, parameterName, {}, untag);
    const now = await this.listTags(parameterName);
    const stale = Object.keys(now).filter((k) => !Object.hasOwn(recorded, k) && (untag.includes(k) || k === TAG.releasedBy || k === TAG.releasedFrom));
    // The mark goes last: a reclaim that stops in between is still released, and is run again.
    await this.tagParameter(name, parameterName, recorded);
    const marks = stale.filter((k) => k !== TAG.releasedAt);
    if (marks.length) await this.untagParameter(name, parameterName, marks);
    if (stale.includes(TAG.releasedAt)) await this.untagParameter(name, parameterName, [TAG.releasedAt]);
  }

  private async retag(name: string, parameterName: string, tags: Record<string, string>, untag: string[]): Promise<void> {
    await this.tagParameter(name, parameterName, tags);
    const remove = untag.filter((k) => !Object.hasOwn(tags, k));
    if (remove.length) await this.untagParameter(name, parameterName, remove);
  }

  private async tagParameter(name: string, parameterName: string, tags: Record<string, string>): Promise<void> {
    if (Object.keys(tags).length === 0) return;
    try {
      await this.call("AddTagsToResource", { ResourceType: "Parameter", ResourceId: parameterName, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) });
    } catch (error) {
      throw classifyAwsError(error, { what: `AddTagsToResource ${parameterName}`, scope: "secret", name });
    }
  }

  private async untagParameter(name: string, parameterName: string, keys: string[]): Promise<void> {
    try {
      await this.call("RemoveTagsFromResource", { ResourceType: "Parameter", ResourceId: parameterName, TagKeys: keys });
    } catch (error) {
      throw classifyAwsError(error, { what: `RemoveTagsFromResource ${parameterName}`, scope: "secret", name });
    }
  }

  /** Decrypted values, 10 names per GetParameters call; names that do not exist are left out. */
  async readValues(secrets: DestinationRef[]): Promise<Map<string, ValueRead>> {
    const out = new Map<string, ValueRead>();
    const chunks: DestinationRef[][] = [];
    for (let i = 0; i < secrets.length; i += READ_BATCH) chunks.push(secrets.slice(i, i + READ_BATCH));
    const limit = pLimit(this.concurrency);
    await Promise.all(
      chunks.map((chunk) =>
        limit(async () => {
          try {
            const res = await this.call("GetParameters", { Names: chunk.map((s) => parameterNameOf(s.name)), WithDecryption: true });
            for (const p of res.Parameters ?? []) if (p.Name && p.Value !== undefined) out.set(p.Name.slice(1), { value: p.Value });
          } catch (error) {
            const failure = classifyAwsError(error, { what: `GetParameters (${chunk.length} from ${chunk[0]?.name ?? "?"})`, scope: "destination" });
            if (FATAL_CLASSES.has(failure.errorClass)) throw failure;
            for (const { name } of chunk) out.set(name, { error: new SyncError(failure.errorClass, `${name}: ${failure.message}`, name) });
          }
        }),
      ),
    );
    return out;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** What an ISO 8601 release time starts with (the values of one `BeginsWith` tag filter). */
const RELEASE_TIME_STARTS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

function sameTags(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  if (a === undefined) return false;
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === b[k]);
}

