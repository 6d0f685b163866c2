// The data that flows through a run: inventories of both sides (metadata only), then a plan,
// then results. Plain data, so it can be printed, serialised and asserted on.
import type { ErrorClass } from "./errors.js";
import type { ValueShape } from "./value.js";

/** The name of a sync's one target when its config lists no `targets`: reports and notices name it. */
export const DEFAULT_TARGET = "default";

/** A KV secret as the source lists it: metadata only, never the value. */
export interface SourceSecretMeta {
  /** Path relative to the mount, e.g. `first-secret-for-replication` or `team/db/password`. */
  path: string;
  /** KV v2 current version; `null` on KV v1, which has no versions. */
  version: number | null;
  /** `present`, or why the current version is not replicable. */
  state: "present" | "deleted" | "destroyed";
  updatedTime?: string;
  /**
   * When the current version was written. A secret deleted and re-created starts again at
   * version 1; this tells the two version 1s apart.
   */
  versionCreatedTime?: string;
  customMetadata?: Record<string, string>;
  /** When the secret (its first version) was created; inventory only (`discover`). */
  createdTime?: string;
  /** How many versions the source still keeps (KV v2 `versions`); inventory only (`discover`). */
  versionCount?: number;
  /**
   * KV v1 only: an in-memory fingerprint of the value (v1 has no version to compare).
   * Never logged, tagged or serialised.
   */
  fingerprint?: string;
}

/** A subtree or secret that could not be listed; the rest of the inventory is still usable. */
export interface InventoryProblem {
  path: string;
  errorClass: ErrorClass;
  message: string;
}

/**
 * How the source was listed, cheapest first: OpenBao's recursive scan (one call), OpenBao's
 * detailed LIST (one call per folder), Vault's LIST + one metadata read per secret, KV v1.
 */
export type SourceListingMethod = "detailed-metadata-scan" | "detailed-metadata-list" | "list-and-metadata" | "kv-v1-list-and-read";

/** A fact read for the planner: its value, or why it could not be read (for that secret only). */
export type Fact<T> = { ok: T } | { error: { errorClass: ErrorClass; message: string } };

export interface SourceInventory {
  secrets: SourceSecretMeta[];
  problems: InventoryProblem[];
  method: SourceListingMethod;
}

/** A destination secret as the destination's listing gives it: name, tags and version ids, no value. */
export interface DestinationSecretMeta {
  name: string;
  arn?: string;
  tags: Record<string, string>;
  /** Set when the secret is scheduled for deletion. */
  deletedDate?: Date;
  /**
   * What else the destination's listing says about the secret (who else manages or rotates it),
   * in the provider's terms: only its profile reads it (`notWritable`).
   */
  provider?: ProviderData;
  /** The id of the version that holds the current value (from the listing). */
  currentVersionId?: string;
  /**
   * The destination's labelled versions as listed: version id -> its labels. The destination's
   * profile reads them (`writtenVersions`): they prove, or not, that secretbridge wrote the secret.
   * A listing may leave them out when the only labelled version is the current one.
   */
  versionStages?: Record<string, string[]>;
}

/** A destination secret to address: its name, and its full identifier (ARN) when a listing gave one. */
export type DestinationRef = Pick<DestinationSecretMeta, "name" | "arn">;

export interface DestinationInventory {
  secrets: DestinationSecretMeta[];
}

/**
 * create / update / unchanged: the usual. conflict: not ours to write. skip: not replicated (with a
 * reason, a failure when it is one). restore: a secret of ours pending deletion whose source came
 * back. adopt: take over an unmanaged secret (policy). drift: changed outside secretbridge and the
 * policy is to report it. delete / orphan: the source is gone and the deletion policy says so.
 */
export type ActionType = PlannedAction["type"];

/** What every action says: which source secret, which destination secret, why. */
export interface ActionBase {
  /** The mapping (its config label) whose source the value is read from. */
  mapping: string;
  sourcePath: string;
  destinationName: string;
  /**
   * The existing destination secret's full identifier as its listing gave it (AWS: the ARN).
   * Every write on an existing secret addresses it by this: a name can be mistaken for another
   * secret's partial ARN, a full ARN cannot. Absent for a create, which goes by name.
   */
  arn?: string;
  sourceVersion: number | null;
  /** The source version recorded on the destination secret, when there is one. */
  destinationVersion?: string;
  reason: string;
  /** Set when this action is a failure the run must report (exit code 1). */
  failure?: { errorClass: ErrorClass; message: string };
  /** One destination secret per key: the key this action writes. */
  key?: string;
  /** Not failures, but worth a line in the report (e.g. metadata that did not fit in tags). */
  warnings?: string[];
}

/**
 * Data only the destination's provider reads (its write options: keys, replicas, policies ...),
 * computed by its profile from the mapping's provider settings; opaque to core and engine, the
 * way External Secrets Operator hands PushSecret metadata to one provider.
 */
export type ProviderData = Readonly<Record<string, unknown>>;

/** What an update brings up to date: the value, the tags, or a provider setting its profile names. A tags-only update reads no value. */
export type WriteChange = "value" | "tags" | (string & {});

/**
 * What a planned value write's tag set and request token are derived from when they are needed
 * (applying it, printing it: `writeFieldsOf` in core/writes.ts), instead of a full tag set and a
 * token held for every action of a run: a few references to strings the inventory holds anyway.
 */
/**
 * Which of an existing secret's tag keys secretbridge trusts as its own (`trustedKeysOf` in
 * core/writes.ts): a record a proven version binds, or the record its tags show (a proof that
 * bound none). Neither: none (a secret not proven ours, or a create).
 */
export interface WriteTrust {
  boundRecord?: string;
  listedRecord?: true;
}

export interface WriteBasis extends WriteTrust {
  /** The source version's creation time (a tag, and an input of the token). */
  versionCreatedTime?: string;
  /** The source secret's custom_metadata (the listed object, not a copy): copied tags and tag rules read it. */
  customMetadata?: Record<string, string>;
  /** The existing destination secret's tags (the listed object): immutable and someone else's tags are kept. */
  destinationTags?: Readonly<Record<string, string>>;
  /** KV v1 on an existing secret: the current version id the token derives from, so each write is a new version. */
  replaces?: string;
}

/** The fields of a planned action that writes the source value and tags (create, update, restore, adopt). */
export interface ValueWriteFields {
  /** The value as this action writes it: the mapping's shape, or one key's value (granularity key). */
  valueShape: ValueShape;
  /** What the tag set and request token derive from (`writeFieldsOf`). */
  basis: WriteBasis;
  /** What is out of date (a create writes everything). */
  changes?: WriteChange[];
  /** Tag keys to remove (e.g. the orphan mark when a source comes back). */
  untag?: string[];
  /**
   * A write that replaces a version someone else made current (drift repair, KV v1): the version
   * id it replaces. Its token derives from ours and this id, so a retry is a no-op.
   */
  currentVersionId?: string;
  /** The provider's own write options (create: all of them; update: those of the changed settings). */
  provider?: ProviderData;
}

/** What a value write sets, derived from its basis when it is applied or printed. */
export interface DerivedWriteFields {
  /** The complete tag set the write must leave on the destination secret. */
  tags: Record<string, string>;
  /** `ClientRequestToken` for the write: same source identity and version, same token. */
  requestToken: string;
  /** With `currentVersionId`: the token of the repairing write, derived from ours and the version it replaces. */
  restoreVersionId?: string;
}

export interface CreateAction extends ActionBase, ValueWriteFields {
  type: "create";
}
export interface UpdateAction extends ActionBase, ValueWriteFields {
  type: "update";
}
/** A secret of ours pending deletion whose source came back. */
export interface RestoreAction extends ActionBase, ValueWriteFields {
  type: "restore";
}
/** Take over a secret not proven ours (conflict policy). */
export interface AdoptAction extends ActionBase, ValueWriteFields {
  type: "adopt";
}
/** The source is gone and the deletion strategy deletes. */
export interface DeleteAction extends ActionBase {
  type: "delete";
  /** Gone at once (no recovery window): the destination will not list it again. */
  immediate: boolean;
  /** How the provider deletes (its recovery window, or none), as its profile put it. */
  provider?: ProviderData;
}
/** The source is gone and the deletion strategy marks it: the tags to add (the orphan mark). */
export interface OrphanAction extends ActionBase {
  type: "orphan";
  tags: Record<string, string>;
}
/**
 * `release`: secretbridge stops managing the secret: its own tags go (`untag`), the release mark
 * comes (`tags`); the value, its versions and every other tag stay.
 */
export interface ReleaseAction extends ActionBase {
  type: "release";
  tags: Record<string, string>;
  untag: string[];
}
/** `adopt`: a released secret is taken back: the release time goes, and the next sync proves it ours again. */
export interface ReclaimAction extends ActionBase {
  type: "reclaim";
  untag: string[];
}
/** Changed outside secretbridge and the policy is to report it. */
export interface DriftAction extends ActionBase {
  type: "drift";
  /** The version id that is current now, and the token a repair would write with. */
  currentVersionId: string;
  restoreVersionId: string;
}
/**
 * unchanged: up to date. conflict: not ours to write. skip: not replicated (with a reason, a
 * failure when it is one). released: released by `release` (or marked so by anyone): never touched.
 */
export interface NoWriteAction extends ActionBase {
  type: "unchanged" | "conflict" | "skip" | "released";
  /** unchanged by the drift policy "skip": what a repair would have used. */
  currentVersionId?: string;
  restoreVersionId?: string;
}

/** A planned action that writes to the destination. */
export type WriteAction = CreateAction | UpdateAction | RestoreAction | AdoptAction | DeleteAction | OrphanAction | ReleaseAction | ReclaimAction;
export type ValueWriteAction = CreateAction | UpdateAction | RestoreAction | AdoptAction;

type WithDerived<T> = T extends ValueWriteAction ? Omit<T, "basis"> & DerivedWriteFields : never;
/** A value write as a destination applies it: its tags and request token derived. */
export type AppliedValueWrite = WithDerived<ValueWriteAction>;
/** What `apply` takes: a planned write, with a value write's tags and token derived. */
export type AppliedWrite = AppliedValueWrite | DeleteAction | OrphanAction | ReleaseAction | ReclaimAction;

/** One planned action: each type carries only its own fields. */
export type PlannedAction = WriteAction | DriftAction | NoWriteAction;

const WRITE_TYPES: ReadonlySet<ActionType> = new Set<ActionType>(["create", "update", "restore", "adopt", "delete", "orphan", "release", "reclaim"]);
const VALUE_WRITE_TYPES: ReadonlySet<ActionType> = new Set<ActionType>(["create", "update", "restore", "adopt"]);

/** Whether this action writes to the destination. */
export function isWrite(action: PlannedAction): action is WriteAction {
  return WRITE_TYPES.has(action.type);
}

/** Whether this action writes the source value and tags (its tags and token derive from its basis). */
export function isValueWrite(action: PlannedAction): action is ValueWriteAction {
  return VALUE_WRITE_TYPES.has(action.type);
}

export interface Plan {
  syncName: string;
  /** How each mapping's source was listed (the first mapping's when they agree). */
  sourceMethod: SourceListingMethod;
  actions: PlannedAction[];
  /** Inventory-level problems (denied subtrees ...) carried into the report. */
  problems: InventoryProblem[];
  /** Not failures, but worth a line in the report: e.g. a mapping whose scope lists nothing. */
  warnings: string[];
}

/** `deferred`: a write not started because the run's deadline came first (the next run does it). */
export type ActionOutcome = "done" | "failed" | "planned" | "deferred";

export interface ActionResult {
  action: PlannedAction;
  outcome: ActionOutcome;
  error?: { errorClass: ErrorClass; message: string };
  /** A write that was done: when the destination accepted its last call (epoch ms). */
  acceptedAt?: number;
}
