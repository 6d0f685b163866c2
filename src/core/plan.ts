// The planner: pure functions from the inventories of every mapping, the facts read for them and
// the destination's profile to one plan (a list of actions with reasons). It is the only place
// that decides: what to create, update, adopt or delete, what is ours, what is current, which
// names collide. When it needs facts to decide (values for KV v1, per-key mode, adopt-if-equal;
// a metadata read to confirm an absence or a competing path) it says which (`factsNeeded`); the
// engine reads exactly those and calls it again. Nothing destructive rests on a belief: every
// action on an existing secret goes through `standingOf` (writable? ours by a version id?), and a
// deletion or an overwrite of a name another path may claim waits for the source to confirm.
import type { ResolvedMapping } from "./mapping.js";
import type { ActionBase, DestinationInventory, DestinationRef, DestinationSecretMeta, Fact, Plan, PlannedAction, SourceInventory, SourceSecretMeta, ProviderData, UpdateAction, ValueWriteFields, WriteChange, WriteTrust } from "./model.js";
import { isWrite } from "./model.js";
import { nameShapeProblem } from "./naming.js";
import { proveOwnership, type Proof, type TokenCandidate } from "./ownership.js";
import { displayPath, pathProblem } from "./paths.js";
import type { LifecyclePolicies } from "./policies.js";
import type { DestinationProfile } from "./profile.js";
import { driftRepairTokenFor } from "./request-token.js";
import { changedTagKeys, isOurTagKey, ownershipOf, TAG } from "./tags.js";
import { renderValue, secretStringFingerprint } from "./value.js";
import { basisOf, tagPlan, trustedKeysOf, writeTokenFor, type TagPlan, type WriteSubject } from "./writes.js";

export type { Fact } from "./model.js";

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
  /** When the plan is made: the blast-radius window ends here. Default: now. */
  now?: Date;
  /**
   * Deletions of this sync the destination no longer lists (deleted without a recovery window),
   * remembered by the runtime (the service's state store): destination name and when, by mapping
   * label. The blast-radius guard counts those inside its window with the pending ones.
   */
  forceDeleted?: ReadonlyMap<string, { name: string; at: Date }[]>;
}

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
  /**
   * One metadata read of a path, by `sourceFactKey`: the secret as the source has it (its state may
   * be deleted or destroyed), null when the source has no such path, or why it could not be read.
   */
  presence: Map<string, Fact<SourceSecretMeta | null>>;
}

export interface FactsNeeded {
  source: { mapping: string; path: string; version: number | null }[];
  /** Existing secrets whose values to read (by their listed ARN); facts are kept by name. */
  destination: DestinationRef[];
  /** Paths whose metadata to read one by one: an absence to confirm, or a path that may claim a name. */
  presence: { mapping: string; path: string }[];
}

export function emptyFacts(): Facts {
  return { source: new Map(), destination: new Map(), presence: new Map() };
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

const destinationIndex = new WeakMap<DestinationInventory, Map<string, DestinationSecretMeta>>();
function byName(destination: DestinationInventory): Map<string, DestinationSecretMeta> {
  let index = destinationIndex.get(destination);
  if (!index) {
    index = new Map(destination.secrets.map((d) => [d.name, d]));
    destinationIndex.set(destination, index);
  }
  return index;
}

const sourceIndex = new WeakMap<SourceInventory, Map<string, SourceSecretMeta>>();
function listedByPath(source: SourceInventory): Map<string, SourceSecretMeta> {
  let index = sourceIndex.get(source);
  if (!index) {
    index = new Map(source.secrets.map((s) => [s.path, s]));
    sourceIndex.set(source, index);
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

/** Our tags on it, but no version id proves it: the conflict policy treats it as not ours. */
function unproven(m: ResolvedMapping, d: DestinationSecretMeta, profile: DestinationProfile): boolean {
  if (d.tags[TAG.releasedAt] !== undefined) return false;
  const owner = ownershipOf(d.tags, m.syncName);
  return owner === "unmanaged" || (owner === "ours" && proveOwnership(m, d, profile) === undefined);
}

/** Whether the destination secret holds any value: a shell created without one has no version. */
function hasValue(d: DestinationSecretMeta, profile: DestinationProfile): boolean {
  const { current, previous } = profile.writtenVersions(d);
  return current !== undefined || previous.length > 0;
}

/** Values to read before planning: source values (key names of a changed version, or a fingerprint to compare) and destination values (to compare). */
function valueFactsNeeded(inputs: MappingInventory[], facts: Facts, profile: DestinationProfile): Pick<FactsNeeded, "source" | "destination"> {
  const source = new Map<string, FactsNeeded["source"][number]>();
  const destination = new Map<string, DestinationRef>();
  for (const { mapping: m, source: inventory, destination: dest } of inputs) {
    const names = byName(dest);
    const adoptIfEqual = (d: DestinationSecretMeta) => conflictPolicyOf(m, d) === "adopt-if-equal";
    // A shell the listing shows without any version holds no value: nothing to read.
    const adoptIfPlaceholder = (d: DestinationSecretMeta) => conflictPolicyOf(m, d) === "adopt-if-placeholder" && hasValue(d, profile) && unproven(m, d, profile);
    const needSource = (s: SourceSecretMeta) => {
      const key = sourceFactKey(m.label, s.path);
      if (!facts.source.has(key)) source.set(key, { mapping: m.label, path: s.path, version: s.version });
    };
    const needDestination = (d: DestinationSecretMeta) => {
      if (!facts.destination.has(d.name)) destination.set(d.name, { name: d.name, ...(d.arn ? { arn: d.arn } : {}) });
    };
    for (const s of inventory.secrets) {
      if (s.state !== "present" || !m.inScope(s.path) || !m.selects(s)) continue;
      if (m.granularity === "key") {
        const existing = keySecretsOf(m, dest, s.path);
        if (!keysAreCurrent(s, existing)) needSource(s);
        // KV v1 has no version: compare each key's value.
        if (s.version === null) for (const d of existing) if (!d.deletedDate) needDestination(d);
        const known = facts.source.get(sourceFactKey(m.label, s.path));
        if (known && "ok" in known) {
          for (const key of known.ok.keys) {
            const d = names.get(m.nameFor(s.path, key));
            if (d && !d.deletedDate && ((adoptIfEqual(d) && unproven(m, d, profile)) || adoptIfPlaceholder(d))) needDestination(d);
          }
        }
        continue;
      }
      const d = names.get(m.nameFor(s.path));
      if (!d || d.deletedDate) continue;
      if (adoptIfPlaceholder(d)) needDestination(d);
      const compare = (s.version === null && m.produced(d)) || (adoptIfEqual(d) && unproven(m, d, profile));
      if (!compare) continue;
      needDestination(d);
      if (s.fingerprint === undefined || m.valueShape.type !== "json") needSource(s);
    }
  }
  return { source: [...source.values()], destination: [...destination.values()] };
}

/** The metadata reads the plan is waiting for, collected while planning. */
class Needs {
  readonly presence = new Map<string, { mapping: string; path: string }>();
  path(mapping: string, path: string): void {
    this.presence.set(sourceFactKey(mapping, path), { mapping, path });
  }
}

/**
 * One source secret (or key) claiming a destination name. Always the same four fields, key
 * undefined for a whole secret: an object literal with a spread in it gets a hidden class of its
 * own, and 100,000 candidates with one each held 18 MB of V8 maps at the peak of a plan.
 */
interface Candidate {
  input: MappingInventory;
  secret: SourceSecretMeta;
  key: string | undefined;
  name: string;
}

const byPathThenName = (a: PlannedAction, b: PlannedAction) =>
  a.sourcePath < b.sourcePath ? -1 : a.sourcePath > b.sourcePath ? 1 : a.destinationName < b.destinationName ? -1 : a.destinationName > b.destinationName ? 1 : 0;

/**
 * One planning pass: the plan as far as the facts at hand allow, and the facts it still needs.
 * A decision waiting for a fact is planned as its refusal, so a plan is never more permissive
 * than its facts; the engine reads what is needed and plans again.
 */
export function planStep(inputs: MappingInventory[], facts: Facts, profile: DestinationProfile, options: PlanOptions = {}): { plan: Plan; needed: FactsNeeded } {
  const needs = new Needs();
  const actions: PlannedAction[] = [];
  const candidates: Candidate[] = [];
  const presentByMapping = new Map<MappingInventory, Set<string>>();
  const deleted: { input: MappingInventory; secret: SourceSecretMeta }[] = [];
  const deselectedByMapping = new Map<MappingInventory, Map<string, SourceSecretMeta>>();

  for (const input of inputs) {
    const m = input.mapping;
    const present = new Set<string>();
    presentByMapping.set(input, present);
    const deselected = new Map<string, SourceSecretMeta>();
    deselectedByMapping.set(input, deselected);
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
      if (!m.selects(secret)) {
        deselected.set(secret.path, secret);
        continue;
      }
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
        // The listed secret's own copy of the name when there is one: a plan of 100,000 secrets
        // holds one string per name, not two.
        const computed = m.nameFor(secret.path, key);
        const name = byName(input.destination).get(computed)?.name ?? computed;
        present.add(name);
        candidates.push({ input, secret, key, name });
      }
    }
  }

  // A name's one claimant, or all of them when several collide (no array per name: 100,000 of them).
  const claims = new Map<string, Candidate | Candidate[]>();
  for (const c of candidates) {
    const group = claims.get(c.name);
    if (group === undefined) claims.set(c.name, c);
    else if (Array.isArray(group)) group.push(c);
    else claims.set(c.name, [group, c]);
  }
  const labelled = inputs.length > 1;
  const who = (c: Candidate) => `${c.secret.path}${c.key !== undefined ? ` (key ${c.key})` : ""}${labelled ? ` (${c.input.mapping.label})` : ""}`;
  for (const [name, group] of claims) {
    if (!Array.isArray(group)) {
      const c = group;
      const otherProducer = (d: DestinationSecretMeta) => (inputs.length === 1 ? undefined : inputs.find((i) => i.mapping !== c.input.mapping && i.mapping.produced(d))?.mapping);
      actions.push(planOne(c, facts, profile, otherProducer, needs));
      continue;
    }
    for (const c of group) {
      const others = group.filter((o) => o !== c).map(who).join(", ");
      actions.push({ ...baseOf(c), type: "skip", reason: "name collision", failure: collision(who(c), others, name) });
    }
  }

  const absences = options.targeted
    ? []
    : inputs.flatMap((input) => [
        ...planAbsences(input, presentByMapping.get(input) ?? new Set(), deselectedByMapping.get(input) ?? new Map(), deleted, facts, profile, options, needs),
        ...releasedAbsences(input, presentByMapping.get(input) ?? new Set()),
      ]);
  // One by one: spreading 125,000 absences or more into push overflows the stack.
  for (const action of absences) actions.push(action);
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
  const plan: Plan = {
    syncName: inputs[0]?.mapping.syncName ?? "",
    sourceMethod: inputs[0]?.source.method ?? "list-and-metadata",
    actions,
    problems: inputs.flatMap((i) => i.source.problems),
    // A push lists only the paths it names, so an empty scope says nothing there.
    warnings: options.targeted ? [] : inputs.flatMap(emptyScopeWarning),
  };
  return { plan, needed: { ...valueFactsNeeded(inputs, facts, profile), presence: [...needs.presence.values()] } };
}

/** Plans every mapping of a run together: one plan, collisions refused on every side. */
export function planRun(inputs: MappingInventory[], facts: Facts, profile: DestinationProfile, options: PlanOptions = {}): Plan {
  return planStep(inputs, facts, profile, options).plan;
}

/** The facts the plan needs that `facts` does not hold yet; empty when the plan can be made. */
export function factsNeeded(inputs: MappingInventory[], facts: Facts, profile: DestinationProfile, options: PlanOptions = {}): FactsNeeded {
  return planStep(inputs, facts, profile, options).needed;
}

function collision(who: string, others: string, name: string): NonNullable<PlannedAction["failure"]> {
  return { errorClass: "invalid-name", message: `${who} and ${others} both map to ${name}: none of them is written; rename one in the source or change a name template` };
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

// ---- what secretbridge may do to an existing secret ---------------------------------------------

/**
 * An existing destination secret as this mapping stands to it, decided here once for every action
 * (update, restore, adopt, untag, mark, delete): not writable at all; another sync's or another
 * mapping's; not ours (no ownership tags); ours by its tags but not by any version id (a tag
 * writer can forge tags, not version ids); or ours, with the proof.
 */
type Standing =
  | { kind: "released"; at: string }
  | { kind: "not-writable"; message: string }
  | { kind: "other-sync" }
  | { kind: "other-mapping"; producer: ResolvedMapping }
  | { kind: "unmanaged" }
  | { kind: "unproven" }
  | { kind: "ours"; proof: Proof };

export function standingOf(
  m: ResolvedMapping,
  dest: DestinationSecretMeta,
  profile: DestinationProfile,
  otherProducer: (d: DestinationSecretMeta) => ResolvedMapping | undefined = () => undefined,
  planned: TokenCandidate[] = [],
): Standing {
  // Released: whoever set the mark (release, or anyone allowed to tag), secretbridge does nothing.
  const releasedAt = dest.tags[TAG.releasedAt];
  if (releasedAt !== undefined) return { kind: "released", at: releasedAt };
  const notWritable = profile.notWritable(dest);
  if (notWritable) return { kind: "not-writable", message: notWritable };
  const owner = ownershipOf(dest.tags, m.syncName);
  if (owner === "other-sync") return { kind: "other-sync" };
  if (owner === "unmanaged") {
    // Released by this sync and taken back: its ownership tags are gone, a version id may still prove it.
    const proof = reclaimed(m, dest) ? proveOwnership(m, dest, profile, planned) : undefined;
    return proof ? { kind: "ours", proof } : { kind: "unmanaged" };
  }
  // Ours, unless its tags say another mapping of this run wrote it. (Tags that match no mapping,
  // e.g. a provenance tag edited by hand, are ours to repair if a version id proves it.)
  const producer = m.produced(dest) ? undefined : otherProducer(dest);
  if (producer) return { kind: "other-mapping", producer };
  const proof = proveOwnership(m, dest, profile, planned);
  return proof ? { kind: "ours", proof } : { kind: "unproven" };
}

/**
 * The conflict policy for a secret not proven ours. A secret this sync released and `adopt` took
 * back (released-by this sync, no release time) is adopted only if its value is the source's,
 * whatever the policy says short of `adopt`: a forged released-by tag can make secretbridge write
 * no more than adopt-if-equal would.
 */
function conflictPolicyOf(m: ResolvedMapping, dest: DestinationSecretMeta): LifecyclePolicies["onConflict"] {
  return reclaimed(m, dest) && m.policies.onConflict !== "adopt" ? "adopt-if-equal" : m.policies.onConflict;
}

/** Released by this sync and taken back by `adopt`: the next sync makes it provably ours again. */
function reclaimed(m: ResolvedMapping, dest: DestinationSecretMeta): boolean {
  return dest.tags[TAG.releasedBy] === m.syncName && dest.tags[TAG.releasedAt] === undefined;
}

/** A released secret as a plan reports it: never written, marked or deleted. */
function releasedReason(at: string): string {
  return `released${at ? ` at ${at}` : ""}: secretbridge no longer manages it (run secretbridge adopt to take it back)`;
}

function unprovenMessage(name: string, m: ResolvedMapping): string {
  return (
    `${name} carries secretbridge's ownership tags for sync "${m.syncName}", but none of its current or previous versions is one secretbridge wrote ` +
    `(anyone allowed to tag it can set those tags); it is left untouched: if its value is yours, set policies.onConflict to adopt-if-equal for one run ` +
    `(the equal value is written once more with secretbridge's request token), otherwise remove its secretbridge: tags`
  );
}

/**
 * The existing secret's tags say another path of this mapping wrote it, so that path may claim the
 * name too. A full sync refuses two claimants; a run that does not list that path (a push, or a
 * listing that hides it) asks the source: the name is free only when the other path is confirmed
 * gone. Undefined: not contested (or free).
 */
function contested(c: Candidate, dest: DestinationSecretMeta, facts: Facts, needs: Needs): PlannedAction | undefined {
  const m = c.input.mapping;
  const other = dest.tags[TAG.path];
  if (other === undefined || other === c.secret.path || !m.produced(dest)) return undefined;
  const listed = listedByPath(c.input.source).get(other);
  let state: SourceSecretMeta["state"] | "absent" | undefined = listed?.state;
  let unreadable: string | undefined;
  if (!listed) {
    const fact = facts.presence.get(sourceFactKey(m.label, other));
    if (fact === undefined) {
      needs.path(m.label, other);
      unreadable = "not read yet";
    } else if ("error" in fact) unreadable = fact.error.errorClass;
    else state = fact.ok === null ? "absent" : fact.ok.state;
  }
  const base = baseOf(c);
  if (unreadable !== undefined) {
    return {
      ...base,
      type: "skip",
      reason: "another source path may claim the name",
      failure: { errorClass: "unreadable", message: `${c.secret.path}: not written to ${c.name}: it was written from ${other}, whose metadata could not be read (${unreadable}), so ${other} may still claim the name` },
    };
  }
  if (state === "present") return { ...base, type: "skip", reason: "name collision", failure: collision(c.secret.path, other, c.name) };
  return undefined;
}

// ---- one source secret (or key) against the destination --------------------------------------

/** Which tag keys other than ours secretbridge may treat as its own on an existing secret. */
interface Trust {
  /** Keys it set, as far as it knows: never "someone else's". undefined: a secret from before records (every configured key is written). */
  recorded: Set<string> | undefined;
  /** Keys it may remove: only those in a record that a proven version binds. */
  removable: Set<string>;
  /** What a write's basis keeps of this trust, to derive the same tags when it is applied (`trustedKeysOf`). */
  basis: WriteTrust;
}

const NO_TRUST: Trust = { recorded: trustedKeysOf({}, undefined), removable: new Set(), basis: {} };

/** Trust from a bound record, by its text: the same few records come up for every secret of a run. */
const boundTrust = new Map<string, Trust>();

function trustOf(dest: DestinationSecretMeta, proof: Proof | undefined): Trust {
  if (!proof) return NO_TRUST;
  if (proof.record !== undefined) {
    let trust = boundTrust.get(proof.record);
    if (!trust) {
      const basis: WriteTrust = { boundRecord: proof.record };
      const keys = trustedKeysOf(basis, dest.tags) ?? new Set<string>();
      trust = { recorded: keys, removable: keys, basis };
      if (boundTrust.size < 1000) boundTrust.set(proof.record, trust);
    }
    return trust;
  }
  // Written by a release that bound no record: its record is taken as it stands for what to
  // write, but proves nothing, so nothing outside our prefix is removed on its word.
  return listedTrust(dest);
}

/** The record the secret's tags show, taken as it stands: nothing is removable on its word. */
function listedTrust(dest: DestinationSecretMeta): Trust {
  const basis: WriteTrust = { listedRecord: true };
  return { recorded: trustedKeysOf(basis, dest.tags), removable: new Set(), basis };
}

/** A subject's tags on this destination secret (none: a create), trusting the keys `trust` names. */
function tagsFor(subject: WriteSubject, profile: DestinationProfile, dest: DestinationSecretMeta | undefined, trust: Trust): TagPlan {
  return tagPlan(subject, profile, dest?.tags, trust.recorded);
}

/**
 * Keys on the destination that we set and no longer want: ours by name, or in a record a proven
 * version binds. Keys only an unbound record names are left, with a warning.
 */
const KEPT_TAGS: ReadonlySet<string> = new Set<string>([TAG.replacedVersion, TAG.orphanedAt]);

function unwantedTagKeys(dest: DestinationSecretMeta, tags: Record<string, string>, trust: Trust, warnings: string[]): string[] {
  const unwanted = Object.keys(dest.tags).filter((k) => !Object.hasOwn(tags, k) && !KEPT_TAGS.has(k));
  if (unwanted.length === 0) return unwanted;
  const unbound = unwanted.filter((k) => !isOurTagKey(k) && !trust.removable.has(k) && trust.recorded?.has(k));
  if (unbound.length) {
    warnings.push(`${dest.name}: tag ${unbound.join(", ")} left in place: recorded by a release that did not bind its record to a version, so the record proves nothing; remove it by hand if it is yours`);
  }
  return unwanted.filter((k) => isOurTagKey(k) || trust.removable.has(k)).sort();
}

/**
 * One source secret (or key) against the destination secret of its name. `otherProducer` names
 * another mapping of the run whose ownership tags claim that secret.
 */
function planOne(c: Candidate, facts: Facts, profile: DestinationProfile, otherProducer: (d: DestinationSecretMeta) => ResolvedMapping | undefined, needs: Needs): PlannedAction {
  const m = c.input.mapping;
  const { secret, name } = c;
  const base = baseOf(c);
  const skip = (reason: string, failure?: PlannedAction["failure"]): PlannedAction => ({ ...base, type: "skip", reason, ...(failure ? { failure } : {}) });
  const conflict = (reason: string, failure: NonNullable<PlannedAction["failure"]>): PlannedAction => ({ ...base, type: "conflict", reason, failure });

  const badName = nameShapeProblem(name) ?? profile.nameProblem(name);
  if (badName) return skip("invalid destination name", { errorClass: "invalid-name", message: `${secret.path}: ${badName}` });
  const dest = byName(c.input.destination).get(name);
  const valueShape = c.key !== undefined ? ({ type: "key", key: c.key } as const) : m.valueShape;
  const subject: WriteSubject = { mapping: m, secret, ...(c.key !== undefined ? { key: c.key } : {}), name };
  const tokenFor = (record: string): string => writeTokenFor(subject, record);

  if (!dest) {
    const tagging = tagsFor(subject, profile, undefined, NO_TRUST);
    const badTags = profile.tagProblems(tagging.tags);
    if (badTags.length > 0) return skip("tags the destination would reject", { errorClass: "invalid-tags", message: `${secret.path}: ${badTags.join("; ")}` });
    if (tagging.refused !== undefined) return skip("required tags missing", { errorClass: "missing-tag", message: tagging.refused });
    return {
      ...base,
      valueShape,
      basis: basisOf(subject, undefined, NO_TRUST.basis, undefined),
      ...(tagging.warnings.length ? { warnings: tagging.warnings } : {}),
      ...createDataOf(m, profile),
      type: "create",
      reason: "not in the destination yet",
    };
  }

  // An existing secret: what may be done to it is decided by its standing, on confirmed facts.
  let standing = standingOf(m, dest, profile, otherProducer);
  if (standing.kind === "released") {
    return { ...base, ...(dest.arn ? { arn: dest.arn } : {}), type: "released", reason: releasedReason(standing.at) };
  }
  if (standing.kind === "not-writable") return conflict("not writable", { errorClass: "not-writable", message: standing.message });
  if (standing.kind === "ours" || standing.kind === "unproven") {
    const claim = contested(c, dest, facts, needs);
    if (claim) return claim;
  }
  let trust = trustOf(dest, standing.kind === "ours" ? standing.proof : undefined);
  let tagging = tagsFor(subject, profile, dest, trust);
  // Not proven current from its tags: maybe by the token this plan derives (a run that stopped
  // between the value and the tags, or tags edited by hand).
  // A secret taken back by `adopt` still holds the version secretbridge wrote, unless it changed since.
  if (standing.kind === "unproven" || (standing.kind === "unmanaged" && reclaimed(m, dest)) || (standing.kind === "ours" && !standing.proof.current)) {
    // The record such a write bound is the one its tags show, if any: the token checks it.
    const recorded = standing.kind !== "ours" ? tagsFor(subject, profile, dest, listedTrust(dest)).record : tagging.record;
    const again = standingOf(m, dest, profile, otherProducer, [{ token: tokenFor(recorded), record: recorded }]);
    if (again.kind === "ours" && (standing.kind !== "ours" || again.proof.current)) {
      standing = again;
      trust = trustOf(dest, again.proof);
      tagging = tagsFor(subject, profile, dest, trust);
    }
  }
  const badTags = profile.tagProblems(tagging.tags);
  if (badTags.length > 0) return skip("tags the destination would reject", { errorClass: "invalid-tags", message: `${secret.path}: ${badTags.join("; ")}` });
  // onMissingTag fail: whatever would be written (created, updated, adopted, restored) is not.
  const refused = tagging.refused;
  const guarded = (action: PlannedAction): PlannedAction => (refused !== undefined && isWrite(action) ? skip("required tags missing", { errorClass: "missing-tag", message: refused }) : action);
  const destinationVersion = dest.tags[TAG.sourceVersion];
  const withDest = { ...base, ...(dest.arn ? { arn: dest.arn } : {}), ...(destinationVersion !== undefined ? { destinationVersion } : {}) };
  const current = profile.writtenVersions(dest).current;
  // A write on an existing KV v1 secret replaces the version that is current, so its token
  // derives from it. The plan keeps the basis; the tags and token are derived again when applied.
  const kv1Replaces = secret.version === null ? current : undefined;
  let derived: string | undefined;
  const token = (): string => (derived ??= tokenFor(tagging.record));
  const write = () => ({ valueShape, basis: basisOf(subject, dest.tags, trust.basis, kv1Replaces), ...(tagging.warnings.length ? { warnings: tagging.warnings } : {}) });
  const replacing = (): Partial<ValueWriteFields> => (kv1Replaces !== undefined ? { currentVersionId: kv1Replaces } : {});

  if (dest.deletedDate) {
    if (standing.kind === "ours") {
      return guarded({ ...withDest, ...write(), ...replacing(), type: "restore", reason: "the source secret is back: restore it from its recovery window", changes: ["value", "tags"], untag: [TAG.orphanedAt] });
    }
    return conflict("scheduled for deletion in the destination", {
      errorClass: "pending-deletion",
      message: `${name} is scheduled for deletion in ${profile.kind}: ${profile.pendingDeletionHint}, then sync again`,
    });
  }
  if (standing.kind === "other-sync") {
    return conflict("managed by another sync", {
      errorClass: "conflict-other-sync",
      message: `${name} is managed by sync "${dest.tags[TAG.sync]}", not "${m.syncName}"; it is left untouched: make the prefixes of the two syncs disjoint`,
    });
  }
  if (standing.kind === "other-mapping") {
    const producer = standing.producer;
    return conflict("written by another mapping", {
      errorClass: "conflict-other-mapping",
      message: `${name} was written by ${producer.label} (${producer.describe}) from ${dest.tags[TAG.path] ?? "?"}, not by ${m.label} (${m.describe}); it is left untouched: give the mappings names that cannot meet`,
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

  if (standing.kind === "unmanaged" || standing.kind === "unproven") {
    // No value at all (the listing shows no version) is a placeholder too.
    const placeholder = !hasValue(dest, profile) || (destFingerprint !== undefined && m.policies.placeholderValues.some((p) => secretStringFingerprint(p) === destFingerprint));
    return guarded(planNotProven(c, dest, standing.kind, withDest, () => ({ ...write(), ...replacing() }), { sameValue, placeholder }));
  }
  return guarded(planOurs(c, dest, standing.proof, trust, tagging, { withDest, write, replacing, token, sameValue }, profile));
}

/**
 * Why the destination's version is newer than the one the source inventory read, if it is: a
 * higher version number created no earlier. Push runs race (a Lambda invocation and the service,
 * two invocations for one path): the one whose metadata read is older must not write last. A
 * secret deleted and re-created in the source starts again at version 1 but is created later, so
 * it is not older. Without both creation times nothing is concluded (tags of older releases).
 */
function newerThanSource(secret: SourceSecretMeta, dest: DestinationSecretMeta): string | undefined {
  const destVersion = Number(dest.tags[TAG.sourceVersion]);
  const destCreated = Date.parse(dest.tags[TAG.sourceCreated] ?? "");
  const sourceCreated = Date.parse(secret.versionCreatedTime ?? "");
  if (secret.version === null || !Number.isSafeInteger(destVersion) || Number.isNaN(destCreated) || Number.isNaN(sourceCreated)) return undefined;
  if (destVersion <= secret.version || destCreated < sourceCreated) return undefined;
  return `the destination holds version ${destVersion} (created ${dest.tags[TAG.sourceCreated] ?? ""}), newer than version ${secret.version} read from the source: left as is`;
}

interface OursContext {
  withDest: Omit<ActionBase, "reason">;
  /** The fields of any write: value shape and the basis its tags and token derive from. */
  write: () => Pick<ValueWriteFields, "valueShape" | "basis"> & Pick<ActionBase, "warnings">;
  /** KV v1: the fields of a write that replaces the current version. */
  replacing: () => Partial<ValueWriteFields>;
  token: () => string;
  sameValue: boolean;
}

/** A mapping's create options, made once per mapping and shared by its creates (100,000 of them in an initial sync). */
const createData = new WeakMap<ResolvedMapping, { provider?: ProviderData }>();
function createDataOf(m: ResolvedMapping, profile: DestinationProfile): { provider?: ProviderData } {
  let data = createData.get(m);
  if (!data) createData.set(m, (data = providerData(profile.createData(m.destinationOptions))));
  return data;
}

/** Provider data on an action only when there is some. */
function providerData(data: ProviderData): { provider?: ProviderData } {
  return Object.keys(data).length > 0 ? { provider: data } : {};
}

/** A secret this mapping is proven to have written: bring it up to date. */
function planOurs(c: Candidate, dest: DestinationSecretMeta, proof: Proof, trust: Trust, tagging: TagPlan, x: OursContext, profile: DestinationProfile): PlannedAction {
  const m = c.input.mapping;
  const { secret } = c;
  const { withDest, write, replacing, token } = x;
  const tags = tagging.tags;
  const warnings = [...tagging.warnings];
  const untag = unwantedTagKeys(dest, tags, trust, warnings);
  const withWarnings = warnings.length ? { warnings } : {};
  const untagging = (extra: string[] = []) => {
    const keys = [...new Set([...untag, ...extra])].filter((k) => Object.hasOwn(dest.tags, k) && !Object.hasOwn(tags, k));
    return keys.length ? { untag: keys } : {};
  };
  // Proven current by this source version's own token: the value is that version's, whatever the
  // tags say (a run stopped before its tags, a secret taken back by adopt after release).
  const destinationVersion = proof.fromPlan && proof.current && secret.version !== null ? String(secret.version) : dest.tags[TAG.sourceVersion];
  // Provider settings out of date (replicas, a policy ...): brought up to date by any write.
  const settings = profile.settingUpdates(m.destinationOptions, dest.tags);
  const settingChanges = settings.map((u) => u.change);
  const settingData = providerData(Object.assign({}, ...settings.map((u) => u.provider)) as ProviderData);
  const valueWrite = (reason: string, extra: Partial<ValueWriteFields> = {}): UpdateAction => ({
    ...withDest,
    ...write(),
    ...withWarnings,
    // A KV v2 write under our own token makes it current again: a past replaced-version mark goes.
    ...untagging(secret.version === null ? [] : [TAG.replacedVersion]),
    ...replacing(),
    type: "update",
    reason: tagging.note ? `${reason}; ${tagging.note}` : reason,
    changes: ["value", "tags", ...settingChanges],
    ...settingData,
    ...extra,
  });

  if (dest.tags[TAG.orphanedAt] !== undefined) {
    return { ...withDest, ...write(), ...withWarnings, ...untagging([TAG.orphanedAt]), ...replacing(), type: "update", reason: "the source secret is back: clear the orphan mark", changes: ["value", "tags"] };
  }
  // The path whose value the proving version holds: the tags' (their token says so), unless the
  // proof is this path's own token.
  const writtenFrom = proof.fromPlan ? secret.path : dest.tags[TAG.path];
  if (writtenFrom !== undefined && writtenFrom !== secret.path) {
    return valueWrite(`written from ${writtenFrom}, which the source no longer has; now written from ${secret.path}`);
  }
  const newer = newerThanSource(secret, dest);
  if (newer) return { ...withDest, type: "unchanged", reason: newer, ...withWarnings };
  const recreated =
    secret.version !== null && secret.versionCreatedTime !== undefined && dest.tags[TAG.sourceCreated] !== undefined && dest.tags[TAG.sourceCreated] !== secret.versionCreatedTime;
  const valueChanged = secret.version === null ? !x.sameValue : destinationVersion !== String(secret.version) || recreated;
  if (valueChanged) {
    const reason =
      secret.version === null
        ? "value differs (KV v1 comparison)"
        : destinationVersion === String(secret.version) && recreated
          ? `source re-created: version ${secret.version} written ${secret.versionCreatedTime ?? ""}`
          : `source version ${secret.version}, destination has ${destinationVersion ?? "no version tag"}`;
    return valueWrite(reason);
  }

  // Same source version: is the value in the destination still the one we wrote? (metadata only)
  if (secret.version !== null && !proof.current) {
    const current = profile.writtenVersions(dest).current ?? "";
    const drift = { ...withDest, currentVersionId: current, restoreVersionId: driftRepairTokenFor(token(), current) };
    if (m.policies.drift === "overwrite") {
      // The repair's token and the replaced-version tag derive from `currentVersionId` (writeFieldsOf).
      return {
        ...withDest,
        currentVersionId: current,
        ...write(),
        ...withWarnings,
        type: "update",
        reason: `drift: the current version is ${current}, not the version secretbridge wrote; restoring`,
        changes: ["value", "tags"],
      };
    }
    if (m.policies.drift === "report") {
      return {
        ...drift,
        type: "drift",
        reason: "changed outside secretbridge (drift policy: report)",
        failure: { errorClass: "drift", message: `${dest.name} was changed outside secretbridge (current version ${current}); left as is by the drift policy "report"` },
      };
    }
    return { ...drift, type: "unchanged", reason: "changed outside secretbridge; ignored (drift policy: skip)" };
  }
  // The record of our tag keys is bound to the version that proves the secret: changing which
  // keys we set means a new version (the same value) whose token binds the new record.
  if (proof.record !== undefined && proof.record !== tagging.record) {
    return valueWrite(`tag keys changed (${proof.record || "none"} -> ${tagging.record || "none"}): the value is written again so its version binds the new record`);
  }
  let update: UpdateAction | undefined;
  const tagsOnly = () => ({ ...withDest, ...write(), ...withWarnings, ...untagging() });
  if (settings.length > 0) {
    update = { ...tagsOnly(), ...settingData, type: "update", reason: settings.map((u) => u.reason).join("; "), changes: [...settingChanges, "tags"] };
  } else {
    // The record of our tag keys is written along with other tag changes, never on its own: a
    // secret written before records existed needs no write for it.
    const compared = dest.tags[TAG.tagKeys] === undefined ? Object.fromEntries(Object.entries(tags).filter(([k]) => k !== TAG.tagKeys)) : tags;
    const stale = [...changedTagKeys(dest.tags, compared), ...untag.map((k) => `-${k}`)];
    // The kept-immutable mark alone changing is the note itself, said once.
    const others = stale.filter((k) => k !== TAG.immutableKept && k !== `-${TAG.immutableKept}`);
    const reason = others.length > 0 ? `tags out of date: ${others.join(", ")}` : (tagging.note ?? `tags out of date: ${stale.join(", ")}`);
    if (stale.length > 0) update = { ...tagsOnly(), type: "update", reason: others.length > 0 && tagging.note ? `${reason}; ${tagging.note}` : reason, changes: ["tags"] };
  }
  if (!update) return { ...withDest, type: "unchanged", reason: "up to date", ...withWarnings };
  // A tag write must not leave a secret we can no longer prove is ours (its proof rests on a tag
  // this write changes: the address of a release before source ids, a source id set since): then
  // the value is written again with this release's token, once.
  const after = { ...dest.tags, ...tags };
  for (const k of update.untag ?? []) delete after[k];
  if (proveOwnership(m, { ...dest, tags: after }, profile) === undefined) {
    return valueWrite(`${update.reason}; the value is written again with this release's request token, since the tag change would leave no version that proves the secret is ours`, {
      changes: [...new Set<WriteChange>(["value", ...(update.changes ?? [])])],
    });
  }
  return update;
}

/**
 * A name held by a secret not proven ours: no ownership tags, or ours by tags only. Only the
 * conflict policy may take it over, and a takeover always writes the value with our token, so
 * from then on a version id proves it.
 */
function planNotProven(
  c: Candidate,
  dest: DestinationSecretMeta,
  kind: "unmanaged" | "unproven",
  withDest: Omit<ActionBase, "reason">,
  write: () => Pick<ValueWriteFields, "valueShape" | "basis"> & Partial<ValueWriteFields> & Pick<ActionBase, "warnings">,
  value: { sameValue: boolean; placeholder: boolean },
): PlannedAction {
  const m = c.input.mapping;
  const name = dest.name;
  const onConflict = conflictPolicyOf(m, dest);
  const taken = reclaimed(m, dest);
  const what = taken ? "was released and taken back by adopt" : kind === "unmanaged" ? "exists unmanaged" : "carries our tags but no version proves it is ours";
  // The mark adopt leaves goes with the write that makes the secret ours again.
  const marks = [TAG.releasedBy, TAG.releasedFrom].filter((k) => dest.tags[k] !== undefined);
  const untagMark = marks.length > 0 ? { untag: marks } : {};
  if (onConflict === "adopt") {
    return { ...withDest, ...write(), ...untagMark, type: "adopt", reason: `${what}; taking ownership and writing the source value (conflict policy: adopt)`, changes: ["value", "tags"] };
  }
  const refused: NonNullable<PlannedAction["failure"]> =
    kind === "unproven"
      ? { errorClass: "ownership-unproven", message: unprovenMessage(name, m) }
      : taken
        ? { errorClass: "conflict-unmanaged", message: `${name} was taken back by adopt, but its value differs from the source's (one of them changed since it was released); left untouched: set policies.onConflict to adopt for one run to write the source's value over it, or release it again` }
        : onConflict === "adopt-if-equal"
        ? { errorClass: "conflict-unmanaged", message: `${name} exists without secretbridge ownership tags and its value differs from the source; left untouched (conflict policy: adopt-if-equal)` }
        : {
            errorClass: "conflict-unmanaged",
            message: `${name} exists without secretbridge ownership tags; it is left untouched: delete or rename it, set policies.onConflict to adopt, or set it to adopt-if-equal if its value is the source's`,
          };
  if (onConflict === "adopt-if-placeholder") {
    if (value.placeholder) {
      return {
        ...withDest,
        ...write(),
        type: "adopt",
        reason: `${kind === "unmanaged" ? "exists unmanaged" : "carries our tags but no version proves it is ours,"} holding a placeholder value; adopting it and filling it from the source, its own tags kept (conflict policy: adopt-if-placeholder)`,
        changes: ["value", "tags"],
      };
    }
    return {
      ...withDest,
      type: "conflict",
      reason: `${what}, holding a value that is not a placeholder (conflict policy: adopt-if-placeholder)`,
      failure: kind === "unproven" ? refused : { errorClass: "conflict-unmanaged", message: `${name} exists without secretbridge ownership tags and its value is not a placeholder; left untouched (conflict policy: adopt-if-placeholder)` },
    };
  }
  if (onConflict === "adopt-if-equal") {
    if (value.sameValue) {
      return {
        ...withDest,
        ...write(),
        ...untagMark,
        type: "adopt",
        reason: `${what} with the same value; taking ownership: the value is written once more with secretbridge's request token, so a version id proves it (conflict policy: adopt-if-equal)`,
        changes: ["value", "tags"],
      };
    }
    return { ...withDest, type: "conflict", reason: `${what}, with a different value (conflict policy: adopt-if-equal)`, failure: refused };
  }
  return { ...withDest, type: "conflict", reason: kind === "unmanaged" ? "exists and is not managed by secretbridge" : "ownership not proven", failure: refused };
}

// ---- absences -----------------------------------------------------------------------------------

/**
 * Secrets this mapping released whose source path is gone: reported, never touched. Their
 * ownership tags went with the release, so only the release tags say where they came from.
 */
function releasedAbsences(input: MappingInventory, present: Set<string>): PlannedAction[] {
  const m = input.mapping;
  const out: PlannedAction[] = [];
  for (const d of input.destination.secrets) {
    const at = d.tags[TAG.releasedAt];
    const path = d.tags[TAG.releasedFrom];
    if (at === undefined || path === undefined || d.tags[TAG.releasedBy] !== m.syncName || present.has(d.name) || m.produced(d) || !m.inScope(path)) continue;
    if (m.granularity !== "key" && m.nameFor(path) !== d.name) continue;
    out.push({ mapping: m.label, sourcePath: path, destinationName: d.name, ...(d.arn ? { arn: d.arn } : {}), sourceVersion: null, type: "released", reason: `the source secret is gone; ${releasedReason(at)}` });
  }
  return out;
}

function windowText(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000]] as const) {
    if (ms % size === 0 && (unit !== "d" || ms / size > 1)) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

/**
 * Destination secrets this mapping wrote whose source is gone (missing, soft-deleted or
 * destroyed), handled by the deletion strategy. Each must be proven ours and writable, and the
 * blast-radius guard must pass; then the absence is confirmed by the source: its listing's
 * metadata (deleted or destroyed), the value read (a key gone from a secret), or a metadata read
 * of the path. A listing with problems (a denied subtree) or an empty listing never counts as
 * "everything was deleted".
 */
function planAbsences(
  input: MappingInventory,
  present: Set<string>,
  deselected: Map<string, SourceSecretMeta>,
  deleted: { input: MappingInventory; secret: SourceSecretMeta }[],
  facts: Facts,
  profile: DestinationProfile,
  options: PlanOptions,
  needs: Needs,
): PlannedAction[] {
  const m = input.mapping;
  const policies: LifecyclePolicies = m.policies;
  const produced = input.destination.secrets.filter((d) => m.produced(d));
  const missing = produced.filter((d) => !present.has(d.name) && !d.deletedDate);
  // Listed, but its custom_metadata no longer matches the selection: out of reach, not gone.
  const kept: PlannedAction[] = [];
  const gone = missing.filter((d) => {
    const listed = deselected.get(d.tags[TAG.path] ?? "");
    if (listed === undefined) return true;
    kept.push({
      mapping: m.label,
      sourcePath: listed.path,
      destinationName: d.name,
      ...(d.arn ? { arn: d.arn } : {}),
      sourceVersion: listed.version,
      ...(d.tags[TAG.sourceVersion] !== undefined ? { destinationVersion: d.tags[TAG.sourceVersion] } : {}),
      ...(d.tags[TAG.key] !== undefined ? { key: d.tags[TAG.key] } : {}),
      type: "skip",
      reason: "no longer selected by the mapping's select (custom_metadata); kept: leaving a selection never deletes a secret",
    });
    return false;
  });
  if (gone.length === 0) return kept;

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
  const listedGone = new Set(deleted.filter((x) => x.input === input).map((x) => x.secret.path));
  const why = (d: DestinationSecretMeta) => (listedGone.has(d.tags[TAG.path] ?? "") ? "the source's current version is deleted or destroyed" : "the source secret no longer exists");

  if (strategy === "retain") {
    return [...kept, ...gone.map((d): PlannedAction => ({ ...base(d), type: "skip", reason: `${why(d)}; kept (deletion strategy: retain)` }))];
  }
  const verb = strategy === "delete" ? "deleted" : "marked orphaned";
  const refusal = (d: DestinationSecretMeta, reason: string, failure: NonNullable<PlannedAction["failure"]>): PlannedAction => ({
    ...base(d),
    type: "skip",
    reason: `${why(d)}; not ${strategy === "delete" ? "deleted" : "marked"}: ${reason}`,
    failure: { errorClass: failure.errorClass, message: `${d.name}: not ${verb}: ${failure.message}` },
  });

  const out: PlannedAction[] = [...kept];
  const pending: DestinationSecretMeta[] = [];
  const proven = new Map<DestinationSecretMeta, boolean>();
  for (const d of gone) {
    const standing = standingOf(m, d, profile);
    proven.set(d, standing.kind === "ours");
    if (standing.kind === "released") out.push({ ...base(d), type: "released", reason: `${why(d)}; not ${verb}: ${releasedReason(standing.at)}` });
    else if (standing.kind === "not-writable") out.push(refusal(d, "not writable", { errorClass: "not-writable", message: standing.message }));
    else if (standing.kind !== "ours") out.push(refusal(d, "ownership not proven", { errorClass: "ownership-unproven", message: unprovenMessage(d.name, m) }));
    else if (strategy === "tag" && d.tags[TAG.orphanedAt] !== undefined) out.push({ ...base(d), type: "unchanged", reason: `${why(d)}; already marked orphaned` });
    else pending.push(d);
  }
  if (pending.length === 0) return out;

  const refuse = (reason: string): PlannedAction[] => [...out, ...pending.map((d) => refusal(d, reason, { errorClass: "blast-radius", message: reason }))];
  if (input.source.problems.length > 0) {
    return refuse(`the source listing was incomplete (${input.source.problems.length} unreadable path(s)), so absence proves nothing`);
  }
  const listedPresent = input.source.secrets.filter((s) => s.state === "present" && m.inScope(s.path) && m.selects(s)).length;
  if (listedPresent === 0 && !options.forceDeletions && !pending.every((d) => options.approvedDeletions?.has(d.name))) {
    return refuse("the source listing came back empty; run with --force-deletions if that is really so");
  }
  // The guard weighs what would go against what is live, counting this sync's recent deletions
  // (still listed, pending deletion; or remembered by the runtime) with this run's.
  const isProven = (d: DestinationSecretMeta) => {
    let known = proven.get(d);
    if (known === undefined) proven.set(d, (known = proveOwnership(m, d, profile) !== undefined));
    return known;
  };
  const { maxShare, maxCount, minCount, window } = policies.blastRadius;
  const now = (options.now ?? new Date()).getTime();
  // A date ahead of our clock (the destination's clock runs ahead) is inside the window.
  const inWindow = (at: Date) => window > 0 && now - at.getTime() < window;
  const recent =
    produced.filter((d) => d.deletedDate !== undefined && inWindow(d.deletedDate) && isProven(d)).length +
    (options.forceDeleted?.get(m.label) ?? []).filter((x) => inWindow(x.at)).length;
  const live = produced.filter((d) => !d.deletedDate && isProven(d)).length;
  const count = pending.length + recent;
  const total = live + recent;
  const share = total > 0 ? count / total : 1;
  const approved = options.approvedDeletions !== undefined && pending.every((d) => options.approvedDeletions?.has(d.name));
  const tripped = count > minCount && (share > maxShare || (maxCount !== undefined && count > maxCount));
  if (!options.forceDeletions && !approved && tripped) {
    const limit = maxCount !== undefined ? `${Math.round(maxShare * 100)}% or ${maxCount} secrets` : `${Math.round(maxShare * 100)}%`;
    const recently = recent > 0 ? `, ${recent} of them deleted in the last ${windowText(window)},` : "";
    return refuse(`${count} of ${total} managed secrets (${Math.round(share * 100)}%)${recently} is over the blast-radius limit of ${limit}; check the source, then run with --force-deletions`);
  }

  const listed = listedByPath(input.source);
  const deletion = profile.deletionOf(policies.deletion);
  for (const d of pending) {
    const path = d.tags[TAG.path] ?? "";
    // Confirmed by the listing's own metadata (deleted or destroyed), or by the value read that
    // gave a listed secret's keys (a key gone); else by a metadata read of the path.
    let confirmed = listedGone.has(path) || listed.get(path)?.state === "present";
    let reason = why(d);
    if (!confirmed) {
      const fact = facts.presence.get(sourceFactKey(m.label, path));
      if (fact === undefined) {
        needs.path(m.label, path);
        out.push(refusal(d, "absence not confirmed yet", { errorClass: "unreadable", message: `${path} is missing from the source listing and its metadata was not read yet` }));
        continue;
      }
      if ("error" in fact) {
        out.push(refusal(d, "the source could not confirm the absence", { errorClass: "unreadable", message: `${path} is missing from the source listing and its metadata could not be read (${fact.error.errorClass}); it may still exist` }));
        continue;
      }
      if (fact.ok !== null && fact.ok.state === "present") {
        out.push({ ...base(d), type: "skip", reason: `missing from the source listing, but its metadata read shows version ${fact.ok.version ?? "kv1"}: kept` });
        continue;
      }
      confirmed = true;
      reason = fact.ok === null ? "the source secret no longer exists (confirmed by a metadata read)" : `the source's current version is ${fact.ok.state} (confirmed by a metadata read)`;
    }
    out.push(
      strategy === "tag"
        ? { ...base(d), type: "orphan", reason: `${reason}; marking it orphaned (deletion strategy: tag)`, tags: { [TAG.orphanedAt]: "" } }
        : {
            ...base(d),
            type: "delete",
            reason: `${reason}; ${deletion.describe}`,
            immediate: deletion.immediate,
            ...providerData(deletion.provider),
          },
    );
  }
  return out;
}

export function countActions(plan: Plan): Record<string, number> {
  const counts: Record<string, number> = { create: 0, update: 0, unchanged: 0, conflict: 0, skip: 0 };
  for (const action of plan.actions) counts[action.type] = (counts[action.type] ?? 0) + 1;
  return counts;
}

/**
 * The tags a create of this source secret (or one of its keys) would carry, as `planStep` builds
 * them: what `discover` shows as the tags a secret would get, whatever its state today.
 */
export function createTags(m: ResolvedMapping, secret: SourceSecretMeta, profile: DestinationProfile, key?: string): Record<string, string> {
  return tagsFor({ mapping: m, secret, ...(key !== undefined ? { key } : {}), name: m.nameFor(secret.path, key) }, profile, undefined, NO_TRUST).tags;
}
