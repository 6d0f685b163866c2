// What a value write sets on a destination secret: its tag set and its request token, derived in
// one place from the mapping, the source secret and the few inputs the planner decided (the
// action's basis). The planner derives them to compare and to prove ownership; a plan keeps only
// the basis, and the tags and token are derived again when the write is applied or printed, so a
// run of 100,000 creates does not hold 100,000 tag sets and tokens.
import type { ResolvedMapping } from "./mapping.js";
import { isValueWrite, type AppliedWrite, type DeleteAction, type DerivedWriteFields, type OrphanAction, type SourceSecretMeta, type ValueWriteAction, type WriteAction, type WriteBasis } from "./model.js";
import type { DestinationProfile } from "./profile.js";
import { driftRepairTokenFor, kv1RequestTokenFor, requestTokenFor } from "./request-token.js";
import { DEFAULT_SOURCE_ID, isOurTagKey, MANAGED_BY_VALUE, TAG, tagKeysRecord, versionTagValue } from "./tags.js";

/** One source secret (or one key of it) written to one destination name by one mapping. */
export interface WriteSubject {
  mapping: ResolvedMapping;
  secret: Pick<SourceSecretMeta, "path" | "version" | "versionCreatedTime" | "customMetadata">;
  key?: string;
  name: string;
}

export interface TagPlan {
  tags: Record<string, string>;
  /** The record of other tag keys in `tags` (`secretbridge:tag-keys`). */
  record: string;
  warnings: string[];
}

/**
 * The tags a secret of this mapping must carry: ours (ownership, provenance, version), then the
 * static tags and copied custom_metadata, and the record of those other keys. A key someone else
 * set on the destination (`theirs`, with the value they set) is never overwritten, never recorded.
 */
export function tagPlan(subject: WriteSubject, profile: DestinationProfile, theirs: (key: string) => { value: string } | undefined = () => undefined): TagPlan {
  const { mapping: m, secret: s, key: secretKey, name } = subject;
  const version = versionTagValue(s.version);
  const own: Record<string, string> = {
    [TAG.managedBy]: MANAGED_BY_VALUE,
    [TAG.sync]: m.syncName,
    ...(m.source.id !== DEFAULT_SOURCE_ID ? { [TAG.sourceId]: m.source.id } : {}),
    [TAG.source]: m.source.address,
    ...(m.source.namespace ? { [TAG.namespace]: m.source.namespace } : {}),
    [TAG.mount]: m.source.mount,
    [TAG.path]: s.path,
    ...(secretKey !== undefined ? { [TAG.key]: secretKey } : {}),
    [TAG.sourceVersion]: version,
    ...(s.versionCreatedTime ? { [TAG.sourceCreated]: s.versionCreatedTime } : {}),
    ...profile.settingTags(m.destinationOptions),
    [TAG.legacyVersion]: version,
  };
  const warnings: string[] = [];
  // No prototype: a custom_metadata key named __proto__ is a key like any other.
  const other = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(m.staticTags)) {
    const set = theirs(key);
    if (set) {
      if (set.value !== value) warnings.push(`${name}: tag ${key} was set by someone else; left as is (not ${JSON.stringify(value)})`);
      continue;
    }
    other[key] = value;
  }
  if (m.copyCustomMetadata && s.customMetadata) {
    const dropped: string[] = [];
    for (const [key, value] of Object.entries(s.customMetadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (Object.hasOwn(own, key) || Object.hasOwn(other, key) || theirs(key)) continue;
      // +1: the record of our tag keys takes a place too.
      if (isOurTagKey(key) || profile.tagProblems({ [key]: String(value) }).length > 0 || Object.keys(own).length + Object.keys(other).length + 1 >= profile.maxTags) {
        dropped.push(key);
        continue;
      }
      other[key] = String(value);
    }
    if (dropped.length) warnings.push(`${s.path}: custom_metadata not copied to tags (${profile.kind} tag limits or reserved prefixes): ${dropped.join(", ")}`);
  }
  const record = tagKeysRecord(Object.keys(other), profile.maxTagValueLength);
  if (record.unrecorded.length) warnings.push(`${name}: tag keys ${record.unrecorded.join(", ")} could not be recorded (a space, or the record is full); secretbridge will never remove them`);
  return { tags: { ...other, ...own, [TAG.tagKeys]: record.value }, record: record.value, warnings };
}

/** The request token of this subject's write, binding the record of tag keys it sets. */
export function writeTokenFor(subject: WriteSubject, record: string): string {
  const { mapping: m, secret, name } = subject;
  return secret.version === null
    ? kv1RequestTokenFor({ syncName: m.syncName, source: m.source, sourcePath: secret.path, destinationName: name, tagKeys: record })
    : requestTokenFor({
        syncName: m.syncName,
        source: m.source,
        sourcePath: secret.path,
        version: secret.version,
        destinationName: name,
        ...(secret.versionCreatedTime ? { versionCreatedTime: secret.versionCreatedTime } : {}),
        tagKeys: record,
      });
}

/**
 * The tags and request token of a planned value write, derived from its basis exactly as the
 * planner derived them: `mapping` is the resolved mapping the action names (`action.mapping`).
 */
export function writeFieldsOf(action: ValueWriteAction, mapping: ResolvedMapping, profile: DestinationProfile): DerivedWriteFields {
  const { basis } = action;
  const subject: WriteSubject = {
    mapping,
    secret: { path: action.sourcePath, version: action.sourceVersion, ...secretFieldsOf(basis) },
    ...(action.key !== undefined ? { key: action.key } : {}),
    name: action.destinationName,
  };
  const theirs = basis.theirs;
  const tagging = tagPlan(subject, profile, theirs && theirs.length > 0 ? (key) => (theirs.includes(key) ? { value: "" } : undefined) : undefined);
  const ours = writeTokenFor(subject, tagging.record);
  const requestToken = basis.replaces !== undefined ? driftRepairTokenFor(ours, basis.replaces) : ours;
  if (action.currentVersionId === undefined) return { tags: tagging.tags, requestToken };
  return {
    tags: { ...tagging.tags, [TAG.replacedVersion]: action.currentVersionId },
    requestToken,
    restoreVersionId: driftRepairTokenFor(ours, action.currentVersionId),
  };
}

/** The basis of a write of this subject: what `writeFieldsOf` needs beyond the action's own fields. */
export function basisOf(subject: WriteSubject, theirs: string[], replaces: string | undefined): WriteBasis {
  const { secret, mapping } = subject;
  return {
    ...(secret.versionCreatedTime ? { versionCreatedTime: secret.versionCreatedTime } : {}),
    ...(mapping.copyCustomMetadata && secret.customMetadata ? { customMetadata: secret.customMetadata } : {}),
    ...(theirs.length > 0 ? { theirs } : {}),
    ...(replaces !== undefined ? { replaces } : {}),
  };
}

function secretFieldsOf(basis: WriteBasis): Pick<SourceSecretMeta, "versionCreatedTime" | "customMetadata"> {
  return {
    ...(basis.versionCreatedTime !== undefined ? { versionCreatedTime: basis.versionCreatedTime } : {}),
    ...(basis.customMetadata !== undefined ? { customMetadata: basis.customMetadata } : {}),
  };
}

/**
 * A planned write as a destination applies it (and as `--json` shows it): a value write with its
 * tags and token derived and its basis left out; a delete or an orphan mark as planned.
 */
export function appliedWrite(action: WriteAction, mapping: ResolvedMapping, profile: DestinationProfile): AppliedWrite {
  if (!isValueWrite(action)) return action as DeleteAction | OrphanAction;
  const { basis: _basis, ...planned } = action;
  return { ...planned, ...writeFieldsOf(action, mapping, profile) };
}
