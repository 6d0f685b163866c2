// The planner: pure functions from the inventories of every mapping, the facts read for them and
// the destination's profile to one plan (a list of actions with reasons). It is the only place
// that decides: what to create, update, adopt or delete, what is ours, what is current, which
// names collide. When it needs values to decide (KV v1, per-key mode, adopt-if-equal) it says
// which (`factsNeeded`); the engine reads exactly those and calls it again.
import { createHash } from "node:crypto";
import type { ErrorClass } from "./errors.js";
import type { ResolvedMapping } from "./mapping.js";
import type { DestinationInventory, DestinationRef, DestinationSecretMeta, Plan, PlannedAction, SourceInventory, SourceSecretMeta } from "./model.js";
import { nameShapeProblem } from "./naming.js";
import { displayPath, pathProblem } from "./paths.js";
import type { LifecyclePolicies } from "./policies.js";
import type { DestinationProfile } from "./profile.js";
import { driftRepairTokenFor, legacyRequestTokenFor, requestTokenFor, type TokenInput } from "./request-token.js";
import { changedTagKeys, DEFAULT_SOURCE_ID, isOurTagKey, MANAGED_BY_VALUE, ownershipOf, recordedTagKeys, TAG, tagKeysRecord, versionTagValue } from "./tags.js";
import { renderValue, secretStringFingerprint } from "./value.js";

/** One mapping's view: its source listing and the destination secrets under its prefix. */
export interface MappingInventory {
  mapping: ResolvedMapping;
  source: SourceInventory;
  destination: DestinationInventory;
}

export interface PlanOptions {
  /** Lift the blast-radius guard for this run only. */
  forceDeletions?: boolean;
  /**
   * Destination names an operator approved after the guard held them: the guard is lifted for a
   * mapping whose every pending deletion is in this set (a name added since is not approved).
   */
  approvedDeletions?: ReadonlySet<string>;
  /**
   * The inventories cover only some paths (a push trigger): nothing can be concluded about
   * absences, so nothing is deleted or marked; the next full run does that.
   */
  targeted?: boolean;
}

export type Fact<T> = { ok: T } | { error: { errorClass: ErrorClass; message: string } };

/** What a source value read tells the planner: key names and fingerprints, never the value. */
export interface SourceValueFacts {
  keys: string[];
  /** In-memory fingerprint of each value as it would be written: by key, "" for the whole secret. */
  fingerprints: Record<string, string>;
}

export interface Facts {
  /** By `sourceFactKey(mapping label, path)`. */
  source: Map<string, Fact<SourceValueFacts>>;
  /** Fingerprint of the destination value, by name; a name not here was not read or has no string value. */
  destination: Map<string, Fact<string>>;
}

export interface FactsNeeded {
  source: { mapping: string; path: string; version: number | null }[];
  /** Existing secrets whose values to read (by their listed ARN); facts are kept by name. */
  destination: DestinationRef[];
}

export function emptyFacts(): Facts {
  return { source: new Map(), destination: new Map() };
}

export function sourceFactKey(mapping: string, path: string): string {
  return `${mapping}\u0000${path}`;
}

/** The facts a read value gives the planner for one mapping (computed by the engine, in memory). */
export function valueFactsOf(mapping: ResolvedMapping, data: Record<string, unknown>): SourceValueFacts {
  const keys = Object.keys(data).sort();
  const fingerprints: Record<string, string> = {};
  const shapes = mapping.granularity === "key" ? keys.map((key) => [key, { type: "key", key } as const] as const) : ([["", mapping.valueShape]] as const);
  for (const [key, shape] of shapes) {
    const rendered = renderValue(data, shape, "");
    // A value that cannot be rendered gets no fingerprint: it can never compare equal.
    if ("secretString" in rendered) fingerprints[key] = secretStringFingerprint(rendered.secretString);
  }
  return { keys, fingerprints };
}

/** A short, stable hash of a resource policy's text, kept in a tag to notice changes. */
export function policyHash(policy: string): string {
  return createHash("sha256").update(policy).digest("hex").slice(0, 16);
}

const destinationIndex = new WeakMap<DestinationInventory, Map<string, DestinationSecretMeta>>();
function byName(destination: DestinationInventory): Map<string, DestinationSecretMeta> {
  let index = destinationIndex.get(destination);
  if (!index) {
    index = new Map(destination.secrets.map((d) => [d.name, d]));
    destinationIndex.set(destination, index);
  }
  return index;
}

/** Destination secrets this mapping wrote from one source path, one per key (granularity key). */
function keySecretsOf(mapping: ResolvedMapping, destination: DestinationInventory, path: string): DestinationSecretMeta[] {
  return destination.secrets.filter((d) => d.tags[TAG.path] === path && mapping.produced(d));
}

/** A key-granularity secret whose every key secret already carries the current version: its keys are known. */
function keysAreCurrent(secret: SourceSecretMeta, existing: DestinationSecretMeta[]): boolean {
  return (
    secret.version !== null &&
    existing.length > 0 &&
    existing.every((d) => d.tags[TAG.sourceVersion] === String(secret.version) && (d.tags[TAG.sourceCreated] ?? secret.versionCreatedTime) === secret.versionCreatedTime)
  );
}

/**
 * Which values the plan needs that `facts` does not hold yet: source values (key names of a
 * changed version, or a fingerprint to compare) and destination values (to compare). Empty when
 * the plan can be made.
 */
export function factsNeeded(inputs: MappingInventory[], facts: Facts): FactsNeeded {
  const source = new Map<string, FactsNeeded["source"][number]>();
  const destination = new Map<string, DestinationRef>();
  for (const { mapping: m, source: inventory, destination: dest } of inputs) {
    const names = byName(dest);
    const adoptIfEqual = m.policies.onConflict === "adopt-if-equal";
    const needSource = (s: SourceSecretMeta) => {
      const key = sourceFactKey(m.label, s.path);
      if (!facts.source.has(key)) source.set(key, { mapping: m.label, path: s.path, version: s.version });
    };
    const needDestination = (d: DestinationSecretMeta) => {
      if (!facts.destination.has(d.name)) destination.set(d.name, { name: d.name, ...(d.arn ? { arn: d.arn } : {}) });
    };
    for (const s of inventory.secrets) {
      if (s.state !== "present" || !m.inScope(s.path)) continue;
      if (m.granularity === "key") {
        const existing = keySecretsOf(m, dest, s.path);
        if (!keysAreCurrent(s, existing)) needSource(s);
        // KV v1 has no version: compare each key's value.
        if (s.version === null) for (const d of existing) if (!d.deletedDate) needDestination(d);
        const known = facts.source.get(sourceFactKey(m.label, s.path));
        if (adoptIfEqual && known && "ok" in known) {
          for (const key of known.ok.keys) {
            const d = names.get(m.nameFor(s.path, key));
            if (d && !d.deletedDate && ownershipOf(d.tags, m.syncName) === "unmanaged") needDestination(d);
          }
        }
        continue;
      }
      const d = names.get(m.nameFor(s.path));
      if (!d || d.deletedDate) continue;
      const compare = (s.version === null && m.produced(d)) || (adoptIfEqual && ownershipOf(d.tags, m.syncName) === "unmanaged");
      if (!compare) continue;
      needDestination(d);
      if (s.fingerprint === undefined || m.valueShape.type !== "json") needSource(s);
    }
  }
  return { source: [...source.values()], destination: [...destination.values()] };
}

interface Candidate {
  input: MappingInventory;
  secret: SourceSecretMeta;
  key?: string;
  name: string;
}

const byPathThenName = (a: PlannedAction, b: PlannedAction) =>
  a.sourcePath < b.sourcePath ? -1 : a.sourcePath > b.sourcePath ? 1 : a.destinationName < b.destinationName ? -1 : a.destinationName > b.destinationName ? 1 : 0;

/** Plans every mapping of a run together: one plan, collisions refused on every side. */
export function planRun(inputs: MappingInventory[], facts: Facts, profile: DestinationProfile, options: PlanOptions = {}): Plan {
  const actions: PlannedAction[] = [];
  const candidates: Candidate[] = [];
  const presentByMapping = new Map<MappingInventory, Set<string>>();
  const deleted: { input: MappingInventory; secret: SourceSecretMeta }[] = [];

  for (const input of inputs) {
    const m = input.mapping;
    const present = new Set<string>();
    presentByMapping.set(input, present);
    for (const secret of [...input.source.secrets].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
      const badPath = pathProblem(secret.path);
      if (badPath) {
        actions.push({
          type: "skip",
          mapping: m.label,
          sourcePath: displayPath(secret.path),
          destinationName: "",
          sourceVersion: secret.version,
          reason: "invalid source path",
          failure: { errorClass: "invalid-path", message: `${displayPath(secret.path)}: ${badPath}; secretbridge never uses it in a request or a name` },
        });
        continue;
      }
      if (!m.inScope(secret.path)) continue;
      if (secret.state !== "present") {
        deleted.push({ input, secret });
        continue;
      }
      let keys: (string | undefined)[] = [undefined];
      if (m.granularity === "key") {
        const existing = keySecretsOf(m, input.destination, secret.path);
        const fact = facts.source.get(sourceFactKey(m.label, secret.path));
        if (fact && "error" in fact) {
          // Unreadable now: one failure, and its secrets are kept (absence proves nothing).
          for (const d of existing) present.add(d.name);
          actions.push({ type: "skip", mapping: m.label, sourcePath: secret.path, destinationName: m.nameFor(secret.path, "{key}"), sourceVersion: secret.version, reason: "value not readable", failure: fact.error });
          continue;
        }
        keys = (fact ? fact.ok.keys : existing.map((d) => d.tags[TAG.key] ?? "")).slice().sort();
      }
      for (const key of keys) {
        const name = m.nameFor(secret.path, key);
        present.add(name);
        candidates.push({ input, secret, ...(key !== undefined ? { key } : {}), name });
      }
    }
  }

  const claims = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const group = claims.get(c.name);
    if (group) group.push(c);
    else claims.set(c.name, [c]);
  }
  const labelled = inputs.length > 1;
  const who = (c: Candidate) => `${c.secret.path}${c.key !== undefined ? ` (key ${c.key})` : ""}${labelled ? ` (${c.input.mapping.label})` : ""}`;
  for (const [name, group] of claims) {
    if (group.length === 1) {
      const c = group[0] as Candidate;
      const otherProducer = (d: DestinationSecretMeta) => (inputs.length === 1 ? undefined : inputs.find((i) => i.mapping !== c.input.mapping && i.mapping.produced(d))?.mapping);
      actions.push(planOne(c, facts, profile, otherProducer));
      continue;
    }
    for (const c of group) {
      const others = group.filter((o) => o !== c).map(who).join(", ");
      actions.push({
        ...baseOf(c),
        type: "skip",
        reason: "name collision",
        failure: { errorClass: "invalid-name", message: `${who(c)} and ${others} both map to ${name}: none of them is written; rename one in the source or change a name template` },
      });
    }
  }

  const absences = options.targeted ? [] : inputs.flatMap((input) => planAbsences(input, presentByMapping.get(input) ?? new Set(), deleted, options));
  actions.push(...absences);
  // A secret deleted in the source is reported once: by its absence action when there is one.
  const covered = new Set(absences.map((a) => a.destinationName));
  for (const { input, secret } of deleted) {
    const m = input.mapping;
    const names = m.granularity === "key" ? keySecretsOf(m, input.destination, secret.path).map((d) => d.name) : [m.nameFor(secret.path)];
    if (names.some((n) => covered.has(n))) continue;
    actions.push({
      type: "skip",
      mapping: m.label,
      sourcePath: secret.path,
      destinationName: names[0] ?? m.nameFor(secret.path, m.granularity === "key" ? "{key}" : undefined),
      sourceVersion: secret.version,
      reason: `current version ${secret.version ?? ""} is ${secret.state} in the source`.replace("  ", " "),
    });
  }
  actions.sort(byPathThenName);
  return {
    syncName: inputs[0]?.mapping.syncName ?? "",
    sourceMethod: inputs[0]?.source.method ?? "list-and-metadata",
    actions,
    problems: inputs.flatMap((i) => i.source.problems),
    // A push lists only the paths it names, so an empty scope says nothing there.
    warnings: options.targeted ? [] : inputs.flatMap(emptyScopeWarning),
  };
}

/**
 * A mount or sub-path with a typo lists as empty instead of failing, and "(no secrets in scope)"
 * with exit 0 hides it. Not a failure (a new mount may be empty), but said in the report, naming
 * the mapping and the keys to check. An incomplete listing already fails with its reasons.
 */
function emptyScopeWarning({ mapping: m, source }: MappingInventory): string[] {
  if (source.problems.length > 0) return [];
  if (source.secrets.length === 0) return [`${m.label}: ${m.sourceScope} lists no secrets: check ${m.label}.mount and ${m.label}.path for a typo`];
  if (source.secrets.some((s) => m.inScope(s.path))) return [];
  const n = source.secrets.length;
  return [`${m.label}: ${m.sourceScope} lists ${n} secret${n === 1 ? "" : "s"}, but none is in scope of the include/exclude globs`];
}

function baseOf(c: Candidate) {
  return {
    mapping: c.input.mapping.label,
    sourcePath: c.secret.path,
    destinationName: c.name,
    sourceVersion: c.secret.version,
    ...(c.key !== undefined ? { key: c.key } : {}),
  };
}

interface TagPlan {
  tags: Record<string, string>;
  /** The other tag keys we recorded before; undefined for a secret written before records existed. */
  recorded: Set<string> | undefined;
  warnings: string[];
}

/**
 * The tags a secret of this mapping must carry: ours (ownership, provenance, version), then the
 * static tags and copied custom_metadata, and the record of those other keys. A key someone else
 * set on the destination (not in our record) is theirs: never overwritten, never recorded.
 */
function tagPlan(c: Candidate, profile: DestinationProfile, dest: DestinationSecretMeta | undefined): TagPlan {
  const m = c.input.mapping;
  const s = c.secret;
  const version = versionTagValue(s.version);
  const own: Record<string, string> = {
    [TAG.managedBy]: MANAGED_BY_VALUE,
    [TAG.sync]: m.syncName,
    ...(m.source.id !== DEFAULT_SOURCE_ID ? { [TAG.sourceId]: m.source.id } : {}),
    [TAG.source]: m.source.address,
    ...(m.source.namespace ? { [TAG.namespace]: m.source.namespace } : {}),
    [TAG.mount]: m.source.mount,
    [TAG.path]: s.path,
    ...(c.key !== undefined ? { [TAG.key]: c.key } : {}),
    [TAG.sourceVersion]: version,
    ...(s.versionCreatedTime ? { [TAG.sourceCreated]: s.versionCreatedTime } : {}),
    ...(m.replicaRegions.length ? { [TAG.replicas]: m.replicaRegions.map((r) => r.region).sort().join(",") } : {}),
    ...(m.resourcePolicy ? { [TAG.resourcePolicy]: policyHash(m.resourcePolicy) } : {}),
    [TAG.legacyVersion]: version,
  };
  const ours = dest !== undefined && ownershipOf(dest.tags, m.syncName) === "ours";
  const recorded = dest === undefined || !ours ? new Set<string>() : recordedTagKeys(dest.tags);
  const theirs = (key: string) => dest !== undefined && recorded !== undefined && !recorded.has(key) && Object.hasOwn(dest.tags, key);
  const warnings: string[] = [];
  // No prototype: a custom_metadata key named __proto__ is a key like any other.
  const other = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(m.staticTags)) {
    if (theirs(key)) {
      if (dest?.tags[key] !== value) warnings.push(`${c.name}: tag ${key} was set by someone else; left as is (not ${JSON.stringify(value)})`);
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
  if (record.unrecorded.length) warnings.push(`${c.name}: tag keys ${record.unrecorded.join(", ")} could not be recorded (a space, or the record is full); secretbridge will never remove them`);
  return { tags: { ...other, ...own, [TAG.tagKeys]: record.value }, recorded, warnings };
}

/** Keys on the destination that we set and no longer want (ours by name, or in our record). */
function unwantedTagKeys(dest: DestinationSecretMeta, tags: Record<string, string>, recorded: Set<string> | undefined): string[] {
  const keep = new Set<string>([TAG.versionId, TAG.orphanedAt]);
  return Object.keys(dest.tags)
    .filter((k) => !Object.hasOwn(tags, k) && !keep.has(k) && (isOurTagKey(k) || recorded?.has(k)))
    .sort();
}

/**
 * One source secret (or key) against the destination secret of its name. `otherProducer` names
 * another mapping of the run whose ownership tags claim that secret.
 */
function planOne(c: Candidate, facts: Facts, profile: DestinationProfile, otherProducer: (d: DestinationSecretMeta) => ResolvedMapping | undefined): PlannedAction {
  const m = c.input.mapping;
  const { secret, name } = c;
  const base = baseOf(c);
  const skip = (reason: string, failure?: PlannedAction["failure"]): PlannedAction => ({ ...base, type: "skip", reason, ...(failure ? { failure } : {}) });
  const conflict = (reason: string, failure: NonNullable<PlannedAction["failure"]>): PlannedAction => ({ ...base, type: "conflict", reason, failure });

  const badName = nameShapeProblem(name) ?? profile.nameProblem(name);
  if (badName) return skip("invalid destination name", { errorClass: "invalid-name", message: `${secret.path}: ${badName}` });
  const dest = byName(c.input.destination).get(name);
  const tagging = tagPlan(c, profile, dest);
  const badTags = profile.tagProblems(tagging.tags);
  if (badTags.length > 0) return skip("tags the destination would reject", { errorClass: "invalid-tags", message: `${secret.path}: ${badTags.join("; ")}` });
  const tags = tagging.tags;
  const tokenInput: TokenInput | undefined =
    secret.version === null
      ? undefined
      : { syncName: m.syncName, source: m.source, sourcePath: secret.path, version: secret.version, destinationName: name, ...(secret.versionCreatedTime ? { versionCreatedTime: secret.versionCreatedTime } : {}) };
  const requestToken = tokenInput ? requestTokenFor(tokenInput) : undefined;
  const valueShape = c.key !== undefined ? ({ type: "key", key: c.key } as const) : m.valueShape;
  const write = { tags, valueShape, ...(requestToken ? { requestToken } : {}), ...(tagging.warnings.length ? { warnings: tagging.warnings } : {}) };
  const replicas = [...m.replicaRegions].sort((a, b) => (a.region < b.region ? -1 : 1));

  if (!dest) {
    return {
      ...base,
      ...write,
      ...(replicas.length ? { replicas } : {}),
      ...(m.kmsKeyId ? { kmsKeyId: m.kmsKeyId } : {}),
      ...(m.description ? { description: m.description } : {}),
      ...(m.resourcePolicy ? { changes: ["policy"] as NonNullable<PlannedAction["changes"]>, resourcePolicy: m.resourcePolicy } : {}),
      type: "create",
      reason: "not in the destination yet",
    };
  }
  const destinationVersion = dest.tags[TAG.sourceVersion];
  const withDest = { ...base, ...(dest.arn ? { arn: dest.arn } : {}), ...(destinationVersion !== undefined ? { destinationVersion } : {}) };
  const owner = ownershipOf(dest.tags, m.syncName);
  // Ours, unless its tags say another mapping of this run wrote it. (Tags that match no mapping,
  // e.g. a provenance tag edited by hand, are ours to repair: the name is this mapping's.)
  const producer = owner === "ours" && !m.produced(dest) ? otherProducer(dest) : undefined;
  const producedHere = owner === "ours" && producer === undefined;

  if (dest.deletedDate) {
    if (producedHere) {
      return { ...withDest, ...write, type: "restore", reason: "the source secret is back: restore it from its recovery window", changes: ["value", "tags"], untag: [TAG.orphanedAt] };
    }
    return conflict("scheduled for deletion in the destination", {
      errorClass: "pending-deletion",
      message: `${name} is scheduled for deletion in ${profile.kind}: ${profile.pendingDeletionHint}, then sync again`,
    });
  }
  const notWritable = profile.notWritable(dest);
  if (notWritable) return conflict("not writable", { errorClass: "not-writable", message: notWritable });
  if (owner === "other-sync") {
    return conflict("managed by another sync", {
      errorClass: "conflict-other-sync",
      message: `${name} is managed by sync "${dest.tags[TAG.sync]}", not "${m.syncName}"; it is left untouched: make the prefixes of the two syncs disjoint`,
    });
  }
  const sourceFact = facts.source.size ? facts.source.get(sourceFactKey(m.label, secret.path)) : undefined;
  const destFact = facts.destination.size ? facts.destination.get(name) : undefined;
  if (sourceFact && "error" in sourceFact) return skip("value not readable", sourceFact.error);
  if (destFact && "error" in destFact) return skip("destination value not readable", destFact.error);
  const sourceFingerprint =
    m.granularity === "secret" && m.valueShape.type === "json" && secret.fingerprint !== undefined ? secret.fingerprint : sourceFact?.ok.fingerprints[c.key ?? ""];
  const destFingerprint = destFact?.ok;
  const sameValue = sourceFingerprint !== undefined && destFingerprint !== undefined && sourceFingerprint === destFingerprint;

  if (owner === "unmanaged") return planUnmanaged(c, dest, withDest, write, sameValue);
  if (producer) {
    return conflict("written by another mapping", {
      errorClass: "conflict-other-mapping",
      message: `${name} was written by ${producer.label} (${producer.describe}) from ${dest.tags[TAG.path] ?? "?"}, not by ${m.label} (${m.describe}); it is left untouched: give the mappings names that cannot meet`,
    });
  }
  const untag = unwantedTagKeys(dest, tags, tagging.recorded);
  const untagging = (extra: string[] = []) => {
    const keys = [...new Set([...untag, ...extra])].filter((k) => Object.hasOwn(dest.tags, k) && !Object.hasOwn(tags, k));
    return keys.length ? { untag: keys } : {};
  };

  if (dest.tags[TAG.orphanedAt] !== undefined) {
    return { ...withDest, ...write, ...untagging([TAG.orphanedAt]), type: "update", reason: "the source secret is back: clear the orphan mark", changes: ["value", "tags"] };
  }
  const recreated =
    secret.version !== null && secret.versionCreatedTime !== undefined && dest.tags[TAG.sourceCreated] !== undefined && dest.tags[TAG.sourceCreated] !== secret.versionCreatedTime;
  const valueChanged = secret.version === null ? !sameValue : destinationVersion !== String(secret.version) || recreated;
  const replicasStale = (dest.tags[TAG.replicas] ?? "") !== (tags[TAG.replicas] ?? "");
  if (valueChanged) {
    const reason =
      secret.version === null
        ? "value differs (KV v1 comparison)"
        : destinationVersion === String(secret.version) && recreated
          ? `source re-created: version ${secret.version} written ${secret.versionCreatedTime ?? ""}`
          : `source version ${secret.version}, destination has ${destinationVersion ?? "no version tag"}`;
    // A normal write makes our own token current again, so a past version-id mark goes.
    return {
      ...withDest,
      ...write,
      ...untagging([TAG.versionId]),
      type: "update",
      reason,
      changes: replicasStale ? ["value", "tags", "replicas"] : ["value", "tags"],
      ...(replicasStale ? { replicas } : {}),
    };
  }

  // Same source version: is the value in the destination still the one we wrote? (metadata only)
  // The token of the write that made the current version, as this release derives it or as the
  // secret's own tags say it was derived (another source id, or a release before source ids,
  // which used the address in its `secretbridge:source` tag). Computed only when needed.
  const current = dest.currentVersionId;
  let writtenWith: string | undefined;
  if (tokenInput && current !== undefined && current !== requestToken && current !== dest.tags[TAG.versionId]) {
    const recordedId = dest.tags[TAG.sourceId] ?? DEFAULT_SOURCE_ID;
    const recordedAddress = dest.tags[TAG.source];
    const candidates = [
      ...(recordedId !== m.source.id ? [requestTokenFor({ ...tokenInput, source: { ...m.source, id: recordedId } })] : []),
      ...(recordedAddress !== undefined ? [legacyRequestTokenFor(tokenInput, recordedAddress)] : []),
    ];
    writtenWith = candidates.find((t) => t === current);
  }
  const ours = current === undefined || current === requestToken || current === dest.tags[TAG.versionId] || writtenWith !== undefined;
  if (requestToken && !ours && current !== undefined) {
    const drift = { ...withDest, currentVersionId: current, restoreVersionId: driftRepairTokenFor(requestToken, current) };
    if (m.policies.drift === "overwrite") {
      return { ...drift, ...write, type: "update", reason: `drift: the current version is ${current}, not the version secretbridge wrote; restoring`, changes: ["value", "tags"] };
    }
    if (m.policies.drift === "report") {
      return {
        ...drift,
        type: "drift",
        reason: "changed outside secretbridge (drift policy: report)",
        failure: { errorClass: "drift", message: `${name} was changed outside secretbridge (current version ${current}); left as is by the drift policy "report"` },
      };
    }
    return { ...drift, type: "unchanged", reason: "changed outside secretbridge; ignored (drift policy: skip)" };
  }
  // A value recognised by a token derived from the secret's own tags (source id, or address for
  // releases before source ids): record its version id before a tag write changes those tags.
  const keepVersion: Record<string, string> = writtenWith !== undefined ? { [TAG.versionId]: writtenWith } : {};
  const writeTags = { ...write, tags: { ...tags, ...keepVersion } };
  if (replicasStale) {
    return {
      ...withDest,
      ...writeTags,
      ...untagging(),
      replicas,
      type: "update",
      reason: `replica Regions: ${dest.tags[TAG.replicas] || "none"} -> ${tags[TAG.replicas] || "none"}`,
      changes: ["replicas", "tags"],
    };
  }
  if ((dest.tags[TAG.resourcePolicy] ?? "") !== (tags[TAG.resourcePolicy] ?? "")) {
    return {
      ...withDest,
      ...writeTags,
      ...untagging(),
      type: "update",
      reason: tags[TAG.resourcePolicy] ? "resource policy out of date" : "resource policy no longer configured: removing it",
      changes: ["policy", "tags"],
      resourcePolicy: m.resourcePolicy ?? null,
    };
  }
  // The record of our tag keys is written along with other tag changes, never on its own: a
  // secret written before records existed needs no write for it.
  const compared = tagging.recorded === undefined ? Object.fromEntries(Object.entries(tags).filter(([k]) => k !== TAG.tagKeys)) : tags;
  const stale = [...changedTagKeys(dest.tags, compared), ...untag.map((k) => `-${k}`)];
  if (stale.length > 0) return { ...withDest, ...writeTags, ...untagging(), type: "update", reason: `tags out of date: ${stale.join(", ")}`, changes: ["tags"] };
  return { ...withDest, type: "unchanged", reason: "up to date", ...(tagging.warnings.length ? { warnings: tagging.warnings } : {}) };
}

function planUnmanaged(
  c: Candidate,
  dest: DestinationSecretMeta,
  withDest: Omit<PlannedAction, "type" | "reason">,
  write: Pick<PlannedAction, "tags" | "requestToken" | "valueShape" | "warnings">,
  sameValue: boolean,
): PlannedAction {
  const m = c.input.mapping;
  const name = dest.name;
  const onConflict = m.policies.onConflict;
  if (onConflict === "adopt") {
    return { ...withDest, ...write, type: "adopt", reason: "exists unmanaged; taking ownership and writing the source value (conflict policy: adopt)", changes: ["value", "tags"] };
  }
  if (onConflict === "adopt-if-equal") {
    if (sameValue) {
      // The value stays as it is: its version id is recorded as ours, so it is not drift later.
      const tags = { ...(write.tags ?? {}), ...(dest.currentVersionId ? { [TAG.versionId]: dest.currentVersionId } : {}) };
      return { ...withDest, ...write, tags, type: "adopt", reason: "exists unmanaged with the same value; taking ownership (conflict policy: adopt-if-equal)", changes: ["tags"] };
    }
    return {
      ...withDest,
      type: "conflict",
      reason: "exists unmanaged with a different value (conflict policy: adopt-if-equal)",
      failure: { errorClass: "conflict-unmanaged", message: `${name} exists without secretbridge ownership tags and its value differs from the source; left untouched (conflict policy: adopt-if-equal)` },
    };
  }
  return {
    ...withDest,
    type: "conflict",
    reason: "exists and is not managed by secretbridge",
    failure: {
      errorClass: "conflict-unmanaged",
      message: `${name} exists without secretbridge ownership tags; it is left untouched: delete or rename it, set policies.onConflict to adopt, or tag it ${TAG.managedBy}=${MANAGED_BY_VALUE} and ${TAG.sync}=${m.syncName} to hand it over`,
    },
  };
}

/**
 * Destination secrets this mapping wrote whose source is gone (missing, soft-deleted or
 * destroyed), handled by the deletion strategy, behind the blast-radius guard. A listing with
 * problems (a denied subtree) or an empty listing never counts as "everything was deleted".
 */
function planAbsences(
  input: MappingInventory,
  present: Set<string>,
  deleted: { input: MappingInventory; secret: SourceSecretMeta }[],
  options: PlanOptions,
): PlannedAction[] {
  const m = input.mapping;
  const policies: LifecyclePolicies = m.policies;
  const ours = input.destination.secrets.filter((d) => m.produced(d));
  const gone = ours.filter((d) => !present.has(d.name) && !d.deletedDate);
  if (gone.length === 0) return [];

  const strategy = policies.deletion.strategy;
  const base = (d: DestinationSecretMeta) => ({
    mapping: m.label,
    sourcePath: d.tags[TAG.path] ?? "",
    destinationName: d.name,
    ...(d.arn ? { arn: d.arn } : {}),
    sourceVersion: null,
    ...(d.tags[TAG.key] !== undefined ? { key: d.tags[TAG.key] } : {}),
    ...(d.tags[TAG.sourceVersion] !== undefined ? { destinationVersion: d.tags[TAG.sourceVersion] } : {}),
  });
  const deletedPaths = new Set(deleted.filter((x) => x.input === input).map((x) => x.secret.path));
  const why = (d: DestinationSecretMeta) => (deletedPaths.has(d.tags[TAG.path] ?? "") ? "the source's current version is deleted or destroyed" : "the source secret no longer exists");

  if (strategy === "retain") {
    return gone.map((d) => ({ ...base(d), type: "skip", reason: `${why(d)}; kept (deletion strategy: retain)` }));
  }
  const already = (d: DestinationSecretMeta) => strategy === "tag" && d.tags[TAG.orphanedAt] !== undefined;
  const pending = gone.filter((d) => !already(d));
  const kept = gone.filter(already).map((d): PlannedAction => ({ ...base(d), type: "unchanged", reason: `${why(d)}; already marked orphaned` }));

  const refuse = (reason: string): PlannedAction[] => [
    ...kept,
    ...pending.map((d): PlannedAction => ({
      ...base(d),
      type: "skip",
      reason: `${why(d)}; not ${strategy === "delete" ? "deleted" : "marked"}: ${reason}`,
      failure: { errorClass: "blast-radius", message: `${d.name}: not ${strategy === "delete" ? "deleted" : "marked orphaned"}: ${reason}` },
    })),
  ];
  if (input.source.problems.length > 0) {
    return refuse(`the source listing was incomplete (${input.source.problems.length} unreadable path(s)), so absence proves nothing`);
  }
  const listedPresent = input.source.secrets.filter((s) => s.state === "present" && m.inScope(s.path)).length;
  if (listedPresent === 0 && !options.forceDeletions && !pending.every((d) => options.approvedDeletions?.has(d.name))) {
    return refuse("the source listing came back empty; run with --force-deletions if that is really so");
  }
  const share = pending.length / ours.length;
  const { maxShare, maxCount, minCount } = policies.blastRadius;
  const approved = options.approvedDeletions !== undefined && pending.every((d) => options.approvedDeletions?.has(d.name));
  const tripped = pending.length > minCount && (share > maxShare || (maxCount !== undefined && pending.length > maxCount));
  if (!options.forceDeletions && !approved && tripped) {
    const limit = maxCount !== undefined ? `${Math.round(maxShare * 100)}% or ${maxCount} secrets` : `${Math.round(maxShare * 100)}%`;
    return refuse(`${pending.length} of ${ours.length} managed secrets (${Math.round(share * 100)}%) is over the blast-radius limit of ${limit}; check the source, then run with --force-deletions`);
  }
  return [
    ...kept,
    ...pending.map((d): PlannedAction =>
      strategy === "tag"
        ? { ...base(d), type: "orphan", reason: `${why(d)}; marking it orphaned (deletion strategy: tag)`, tags: { [TAG.orphanedAt]: "" } }
        : {
            ...base(d),
            type: "delete",
            reason: `${why(d)}; ${policies.deletion.forceDeleteWithoutRecovery ? "deleting without recovery" : `scheduling deletion with a ${policies.deletion.recoveryWindowDays}-day recovery window`}`,
            deletion: policies.deletion.forceDeleteWithoutRecovery ? { forceDeleteWithoutRecovery: true } : { recoveryWindowDays: policies.deletion.recoveryWindowDays },
          },
    ),
  ];
}

export function countActions(plan: Plan): Record<string, number> {
  const counts: Record<string, number> = { create: 0, update: 0, unchanged: 0, conflict: 0, skip: 0 };
  for (const action of plan.actions) counts[action.type] = (counts[action.type] ?? 0) + 1;
  return counts;
}
