// The tags secretbridge writes, in one place: ownership (which tool, which sync), provenance
// (source address, mount, path) and the source version the value came from.

export const TAG = {
  managedBy: "secretbridge:managed-by",
  sync: "secretbridge:sync",
  source: "secretbridge:source",
  namespace: "secretbridge:namespace",
  mount: "secretbridge:mount",
  path: "secretbridge:path",
  /** With one destination secret per key: which key of the source secret. */
  key: "secretbridge:key",
  sourceVersion: "secretbridge:source-version",
  /** When the source version was written: tells a re-created secret's version 1 from the old one. */
  sourceCreated: "secretbridge:source-version-created",
  /** Set when a drift repair had to write a new version: the version id that is ours now. */
  versionId: "secretbridge:version-id",
  /** Short hash of the resource policy secretbridge set, to notice a changed policy without reading it. */
  resourcePolicy: "secretbridge:resource-policy",
  /** The replica Regions secretbridge set up (sorted, comma-separated). */
  replicas: "secretbridge:replicas",
  /** Set by the "tag" deletion strategy: when the source was first seen missing. */
  orphanedAt: "secretbridge:orphaned-at",
  /** The reference sample's plain tag, kept for its users' tooling. */
  legacyVersion: "version",
} as const;

export const MANAGED_BY_VALUE = "secretbridge";
/** Version tag value for KV v1, which has no versions (change detection compares values). */
export const KV1_VERSION_VALUE = "kv1";

export const MAX_TAGS = 50;
export const MAX_TAG_KEY = 127;
export const MAX_TAG_VALUE = 255;
const TAG_CHARSET = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export interface SourceRef {
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

/** The complete tag set a replicated secret must carry. Static tags never override ours. */
export function desiredTags(
  syncName: string,
  source: SourceRef,
  sourcePath: string,
  version: number | null,
  staticTags: Record<string, string> = {},
  versionCreatedTime?: string,
): Record<string, string> {
  const v = versionTagValue(version);
  return {
    ...staticTags,
    [TAG.managedBy]: MANAGED_BY_VALUE,
    [TAG.sync]: syncName,
    [TAG.source]: source.address,
    ...(source.namespace ? { [TAG.namespace]: source.namespace } : {}),
    [TAG.mount]: source.mount,
    [TAG.path]: sourcePath,
    [TAG.sourceVersion]: v,
    ...(versionCreatedTime ? { [TAG.sourceCreated]: versionCreatedTime } : {}),
    [TAG.legacyVersion]: v,
  };
}

/** Keys of `desired` whose value differs on the destination. */
export function changedTagKeys(current: Record<string, string>, desired: Record<string, string>): string[] {
  return Object.keys(desired).filter((k) => current[k] !== desired[k]);
}

export function tagProblems(tags: Record<string, string>): string[] {
  const problems: string[] = [];
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS) problems.push(`${keys.length} tags; AWS allows at most ${MAX_TAGS} per secret`);
  for (const [key, value] of Object.entries(tags)) {
    if (key.length > MAX_TAG_KEY) problems.push(`tag key ${JSON.stringify(key.slice(0, 40))}... is longer than ${MAX_TAG_KEY} characters`);
    if (value.length > MAX_TAG_VALUE) problems.push(`tag ${key} would be ${value.length} characters; AWS allows at most ${MAX_TAG_VALUE}`);
    if (key.toLowerCase().startsWith("aws:")) problems.push(`tag key ${key} uses the reserved aws: prefix`);
    if (!TAG_CHARSET.test(key)) problems.push(`tag key ${JSON.stringify(key)} has characters AWS does not allow in tags`);
    if (!TAG_CHARSET.test(value)) problems.push(`tag ${key} has characters AWS does not allow in tag values (letters, digits, spaces and _ . : / = + - @)`);
  }
  return problems;
}

/**
 * Adds the source's custom_metadata as tags, under ours and the static ones, within AWS's limits.
 * Entries that do not fit (count, length, characters, reserved prefixes) are returned as dropped
 * so the plan can report them.
 */
export function withCustomMetadata(tags: Record<string, string>, custom: Record<string, string> | undefined): { tags: Record<string, string>; dropped: string[] } {
  if (!custom) return { tags, dropped: [] };
  const out = { ...tags };
  const dropped: string[] = [];
  for (const [key, value] of Object.entries(custom).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (key in out) continue;
    const reserved = key.toLowerCase().startsWith("aws:") || key.startsWith("secretbridge:");
    if (reserved || tagProblems({ [key]: String(value) }).length > 0 || Object.keys(out).length >= MAX_TAGS) {
      dropped.push(key);
      continue;
    }
    out[key] = String(value);
  }
  return { tags: out, dropped };
}
