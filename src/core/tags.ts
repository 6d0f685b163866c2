// The tags secretbridge writes, in one place: ownership (which tool, which sync, which source),
// provenance (source address, mount, path), the source version the value came from, and the
// record of which other tag keys it set (so it can remove those, and only those, later).

export const TAG = {
  managedBy: "secretbridge:managed-by",
  sync: "secretbridge:sync",
  /** The source's stable id (`source.id`); absent for the default id and on secrets written before ids existed. */
  sourceId: "secretbridge:source-id",
  /** The source address as configured: informational only. */
  source: "secretbridge:source",
  namespace: "secretbridge:namespace",
  mount: "secretbridge:mount",
  path: "secretbridge:path",
  /** With one destination secret per key: which key of the source secret. */
  key: "secretbridge:key",
  sourceVersion: "secretbridge:source-version",
  /** When the source version was written: tells a re-created secret's version 1 from the old one. */
  sourceCreated: "secretbridge:source-version-created",
  /**
   * The version id a write replaced when its token derives from that id (a drift repair, a KV v1
   * write on an existing secret): the token can be recomputed, and ownership proven, after a hand
   * edit has pushed both versions out of the destination's labels. Forging it proves nothing.
   */
  replacedVersion: "secretbridge:replaced-version",
  /** Set by the "tag" deletion strategy: when the source was first seen missing. */
  orphanedAt: "secretbridge:orphaned-at",
  /**
   * Immutable tags the destination keeps although the source now says otherwise, space-separated:
   * the plan reports such a difference when this changes, once, not on every run.
   */
  immutableKept: "secretbridge:immutable-kept",
  /**
   * Set by `release`: when secretbridge stopped managing the secret. While it is there the secret
   * is never written, marked or deleted, whoever set it: a forged one only makes secretbridge do less.
   */
  releasedAt: "secretbridge:released-at",
  /** Set by `release` with `releasedAt`: the sync that released it (the one `adopt` may take it back for). */
  releasedBy: "secretbridge:released-by",
  /** Set by `release`: the source path it was written from, so it is still reported once that path is gone. */
  releasedFrom: "secretbridge:released-from",
  /** The keys of the other tags secretbridge set (static tags, custom metadata), space-separated. */
  tagKeys: "secretbridge:tag-keys",
  /** The reference sample's plain tag, kept for its users' tooling. */
  legacyVersion: "version",
} as const;

export const OUR_TAG_PREFIX = "secretbridge:";
export const MANAGED_BY_VALUE = "secretbridge";
/** Version tag value for KV v1, which has no versions (change detection compares values). */
export const KV1_VERSION_VALUE = "kv1";
/** `source.id` when the config sets none. */
export const DEFAULT_SOURCE_ID = "default";

/** Which source a secret came from: `id` decides (stable), the rest is provenance. */
export interface SourceRef {
  id: string;
  address: string;
  mount: string;
  namespace?: string;
}

export type Ownership = "ours" | "other-sync" | "unmanaged";

export function ownershipOf(tags: Record<string, string>, syncName: string): Ownership {
  if (tags[TAG.managedBy] !== MANAGED_BY_VALUE || tags[TAG.sync] === undefined) return "unmanaged";
  return tags[TAG.sync] === syncName ? "ours" : "other-sync";
}

export function versionTagValue(version: number | null): string {
  return version === null ? KV1_VERSION_VALUE : String(version);
}

/** Keys that are ours by name: the `secretbridge:` ones and the reference sample's `version`. */
export function isOurTagKey(key: string): boolean {
  return key.startsWith(OUR_TAG_PREFIX) || key === TAG.legacyVersion;
}

/**
 * The other tag keys we set, as recorded on the secret; undefined when there is no record (a
 * secret written by a release before 0.2). Keys with a space cannot be recorded: never removed.
 */
export function recordedTagKeys(tags: Record<string, string>): Set<string> | undefined {
  const record = tags[TAG.tagKeys];
  if (record === undefined) return undefined;
  return record === "" ? new Set() : new Set(record.split(" ").filter(Boolean));
}

/** The record's value: sorted keys that fit in `maxLength` characters; the rest are returned as unrecorded. */
export function tagKeysRecord(keys: string[], maxLength: number): { value: string; unrecorded: string[] } {
  if (keys.length === 0) return { value: "", unrecorded: [] };
  const recorded: string[] = [];
  const unrecorded: string[] = [];
  let length = 0;
  for (const key of keys.slice().sort()) {
    const cost = key.length + (recorded.length ? 1 : 0);
    if (key.includes(" ") || length + cost > maxLength) unrecorded.push(key);
    else {
      recorded.push(key);
      length += cost;
    }
  }
  return { value: recorded.join(" "), unrecorded };
}

/** Keys of `desired` whose value differs on the destination. */
export function changedTagKeys(current: Record<string, string>, desired: Record<string, string>): string[] {
  return Object.keys(desired).filter((k) => !Object.hasOwn(current, k) || current[k] !== desired[k]);
}
