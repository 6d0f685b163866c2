// What a value write sets on a destination secret: its tag set and its request token, derived in
// one place from the mapping, the source secret and the few inputs the planner decided (the
// action's basis). The planner derives them to compare and to prove ownership; a plan keeps only
// the basis, and the tags and token are derived again when the write is applied or printed, so a
// run of 100,000 creates does not hold 100,000 tag sets and tokens.
import type { ResolvedMapping } from "./mapping.js";
import { isValueWrite, type AppliedWrite, type DerivedWriteFields, type SourceSecretMeta, type ValueWriteAction, type WriteAction, type WriteBasis, type WriteTrust } from "./model.js";
import type { DestinationProfile } from "./profile.js";
import { driftRepairTokenFor, kv1RequestTokenFor, requestTokenFor } from "./request-token.js";
import { missingTagsText, ruleTagsOf } from "./tag-rules.js";
import { DEFAULT_SOURCE_ID, isOurTagKey, MANAGED_BY_VALUE, recordedTagKeys, TAG, tagKeysRecord, versionTagValue } from "./tags.js";

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
  /** Required tag keys the secret goes without: no value from the source, none kept, none someone else set. */
  missing: string[];
  /** With onMissingTag fail: why the secret must not be written (required tags without a value). */
  refused?: string;
  /** Said once, when it becomes true: immutable tags kept although the source now differs. */
  note?: string;
}

/**
 * Which tag keys other than ours on an existing secret secretbridge set, as far as it knows: the
 * keys of a record a proven version binds, of the record the tags show (a proof that bound none),
 * or none (not proven ours). undefined: a secret from before records (every configured key is ours).
 */
export function trustedKeysOf(trust: WriteTrust, destinationTags: Readonly<Record<string, string>> | undefined): Set<string> | undefined {
  if (trust.boundRecord !== undefined) return recordedTagKeys({ [TAG.tagKeys]: trust.boundRecord }) ?? new Set<string>();
  if (trust.listedRecord === true && destinationTags !== undefined) return recordedTagKeys(destinationTags);
  return new Set<string>();
}

/**
 * The tags a secret of this mapping must carry: ours (ownership, provenance, version), then the
 * static tags, required and kept immutable tags and copied custom_metadata, and the record of
 * those other keys. `destinationTags` are the existing secret's; a key on it that is not in
 * `recorded` (the keys secretbridge set, `trustedKeysOf`) is someone else's: never overwritten,
 * never recorded.
 */
export function tagPlan(subject: WriteSubject, profile: DestinationProfile, destinationTags: Readonly<Record<string, string>> | undefined, recorded: Set<string> | undefined): TagPlan {
  const { mapping: m, secret: s, key: secretKey, name } = subject;
  const dest = destinationTags;
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
  const rules = m.tagRules;
  const immutable = new Set(rules.immutable);
  // An immutable tag the secret has keeps its value: set on create, never rewritten or removed.
  const held = (key: string) => dest !== undefined && immutable.has(key) && Object.hasOwn(dest, key);
  const theirs = (key: string) => dest !== undefined && recorded !== undefined && !recorded.has(key) && Object.hasOwn(dest, key);
  const warnings: string[] = [];
  const rule = ruleTagsOf(rules, s.customMetadata, dest);
  // No prototype: a custom_metadata key named __proto__ is a key like any other.
  const other = Object.create(null) as Record<string, string>;
  const wanted = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(m.staticTags)) {
    if (Object.hasOwn(rules.required, key)) continue;
    if (held(key)) {
      wanted[key] = value;
      continue;
    }
    if (theirs(key)) {
      if (dest?.[key] !== value) warnings.push(`${name}: tag ${key} was set by someone else; left as is (not ${JSON.stringify(value)})`);
      continue;
    }
    other[key] = value;
  }
  // Required and kept immutable tags before copied custom_metadata, which gets what room is left.
  // A required key someone else set on the secret (a shell's own tags) satisfies the rule.
  const missing = rule.missing.filter((x) => !theirs(x.key));
  for (const [key, value] of Object.entries(rule.tags)) if (held(key) || !theirs(key)) other[key] = value;
  for (const key of immutable) if (held(key) && !Object.hasOwn(rules.required, key)) other[key] = dest?.[key] ?? "";
  if (m.copyCustomMetadata && s.customMetadata) {
    const dropped: string[] = [];
    for (const [key, value] of Object.entries(s.customMetadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (Object.hasOwn(own, key) || Object.hasOwn(rules.required, key) || Object.hasOwn(wanted, key)) continue;
      if (held(key)) {
        wanted[key] = String(value);
        continue;
      }
      if (Object.hasOwn(other, key) || theirs(key)) continue;
      // +1: the record of our tag keys takes a place too.
      if (isOurTagKey(key) || profile.tagProblems({ [key]: String(value) }).length > 0 || Object.keys(own).length + Object.keys(other).length + 1 >= profile.maxTags) {
        dropped.push(key);
        continue;
      }
      other[key] = String(value);
    }
    if (dropped.length) warnings.push(`${s.path}: custom_metadata not copied to tags (${profile.kind} tag limits or reserved prefixes): ${dropped.join(", ")}`);
  }
  const kept = rule.kept.map((k) => k.key);
  for (const key of immutable) if (held(key) && !Object.hasOwn(rules.required, key) && Object.hasOwn(wanted, key) && wanted[key] !== other[key]) kept.push(key);
  let refused: string | undefined;
  if (missing.length > 0) {
    if (rules.onMissing === "fail") refused = `${s.path}: ${missingTagsText(missing)}; not written (onMissingTag: fail)`;
    else warnings.push(`${s.path}: ${missingTagsText(missing)}; written without them (onMissingTag: warn)`);
  }
  const keptValue = kept.sort().join(" ");
  const note = keptValue !== "" && dest?.[TAG.immutableKept] !== keptValue ? `immutable tags kept as set on create: ${kept.join(", ")} (the value they would get now differs; secretbridge never rewrites them)` : undefined;
  // Immutable keys stay out of the record: a key in it is one secretbridge may remove later.
  const record = tagKeysRecord(Object.keys(other).filter((k) => !immutable.has(k)), profile.maxTagValueLength);
  if (record.unrecorded.length) warnings.push(`${name}: tag keys ${record.unrecorded.join(", ")} could not be recorded (a space, or the record is full); secretbridge will never remove them`);
  return {
    tags: { ...other, ...own, ...(keptValue !== "" ? { [TAG.immutableKept]: keptValue } : {}), [TAG.tagKeys]: record.value },
    record: record.value,
    missing: missing.map((x) => x.key),
    warnings,
    ...(refused !== undefined ? { refused } : {}),
    ...(note !== undefined ? { note } : {}),
  };
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
function writeSubjectOf(action: ValueWriteAction, mapping: ResolvedMapping): WriteSubject {
  return {
    mapping,
    secret: { path: action.sourcePath, version: action.sourceVersion, ...secretFieldsOf(action.basis) },
    ...(action.key !== undefined ? { key: action.key } : {}),
    name: action.destinationName,
  };
}

/** The tag plan of a planned value write, from its basis: what the planner decided the tags on. */
export function tagPlanOfWrite(action: ValueWriteAction, mapping: ResolvedMapping, profile: DestinationProfile): TagPlan {
  const { basis } = action;
  return tagPlan(writeSubjectOf(action, mapping), profile, basis.destinationTags, trustedKeysOf(basis, basis.destinationTags));
}

export function writeFieldsOf(action: ValueWriteAction, mapping: ResolvedMapping, profile: DestinationProfile): DerivedWriteFields {
  const { basis } = action;
  const subject = writeSubjectOf(action, mapping);
  const tagging = tagPlanOfWrite(action, mapping, profile);
  const ours = writeTokenFor(subject, tagging.record);
  const requestToken = basis.replaces !== undefined ? driftRepairTokenFor(ours, basis.replaces) : ours;
  if (action.currentVersionId === undefined) return { tags: tagging.tags, requestToken };
  return {
    tags: { ...tagging.tags, [TAG.replacedVersion]: action.currentVersionId },
    requestToken,
    restoreVersionId: driftRepairTokenFor(ours, action.currentVersionId),
  };
}

/**
 * The basis of a write of this subject: what `writeFieldsOf` needs beyond the action's own fields,
 * all of it references to what the inventories hold (no copies).
 */
export function basisOf(subject: WriteSubject, destinationTags: Readonly<Record<string, string>> | undefined, trust: WriteTrust, replaces: string | undefined): WriteBasis {
  const { secret } = subject;
  return {
    ...(secret.versionCreatedTime ? { versionCreatedTime: secret.versionCreatedTime } : {}),
    ...(secret.customMetadata ? { customMetadata: secret.customMetadata } : {}),
    ...(destinationTags !== undefined ? { destinationTags } : {}),
    ...(trust.boundRecord !== undefined ? { boundRecord: trust.boundRecord } : {}),
    ...(trust.listedRecord === true ? { listedRecord: true } : {}),
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
  if (!isValueWrite(action)) return action as Exclude<WriteAction, ValueWriteAction>;
  const { basis: _basis, ...planned } = action;
  return { ...planned, ...writeFieldsOf(action, mapping, profile) };
}
