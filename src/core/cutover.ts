// Cutover, secret by secret: `release` hands a destination secret over to its consumers (secretbridge
// stops managing it: its own tags go, the value, versions and every other tag stay), `adopt` takes a
// released one back. Pure: which secrets a selection names, and what may be done to each, decided on
// the same standing (`standingOf`) as every other action, so only a secret proven ours is released.
import { matchesSelect } from "./mapping.js";
import type { DestinationSecretMeta, Plan, PlannedAction } from "./model.js";
import { standingOf, type MappingInventory } from "./plan.js";
import type { DestinationProfile } from "./profile.js";
import { isOurTagKey, TAG } from "./tags.js";

/** A custom_metadata selection: key -> accepted values (every key must have one of its values). */
export type WaveSelect = Readonly<Record<string, readonly string[]>>;

/** Which source secrets a cutover command acts on: named paths, and those whose custom_metadata a wave selects. */
export interface CutoverSelection {
  paths: readonly string[];
  wave?: WaveSelect;
}

export type CutoverCommand = "release" | "adopt";

/** A named wave of the config (`waves:`). */
export interface NamedWave {
  name: string;
  select: WaveSelect;
}

/**
 * What `--wave` selects: a wave of the config by name, or `KEY=VALUE` (one custom_metadata key
 * and value; a wave name has no "="), or why not, naming the config's waves.
 */
export function waveSelection(text: string, waves: readonly NamedWave[] | undefined): { name: string | null; select: WaveSelect } | { problem: string } {
  const at = text.indexOf("=");
  if (at > 0) return { name: null, select: { [text.slice(0, at)]: [text.slice(at + 1)] } };
  if (at === 0) return { problem: `--wave ${JSON.stringify(text)} is neither a wave name of this config nor KEY=VALUE (a custom_metadata key and its value, e.g. wave=3)` };
  const wave = waves?.find((w) => w.name === text);
  if (wave) return { name: wave.name, select: wave.select };
  return {
    problem:
      waves && waves.length > 0
        ? `unknown wave ${JSON.stringify(text)}: this config's waves are ${waves.map((w) => w.name).join(", ")} (or select by custom_metadata with --wave KEY=VALUE)`
        : `unknown wave ${JSON.stringify(text)}: this config lists no waves (add waves: [{ name: ${JSON.stringify(text)}, select: { KEY: VALUE } }], or select by custom_metadata with --wave KEY=VALUE)`,
  };
}

/** The source paths of one mapping a selection names: listed ones that match, and named paths in scope even when the source no longer has them. */
export function selectedPaths(input: MappingInventory, selection: CutoverSelection): string[] {
  const m = input.mapping;
  const named = new Set(selection.paths);
  const out = new Set<string>();
  for (const s of input.source.secrets) {
    if (!m.inScope(s.path)) continue;
    if (named.has(s.path) || (selection.wave !== undefined && matchesSelect(selection.wave, s.customMetadata))) out.add(s.path);
  }
  for (const path of named) if (m.inScope(path)) out.add(path);
  return [...out].sort();
}

/**
 * The destination secrets one source path maps to: its name, or with one secret per key every
 * name the template gives for some key (found by name, since a released secret has no path tag).
 */
function secretsOf(input: MappingInventory, path: string): DestinationSecretMeta[] {
  const m = input.mapping;
  if (m.granularity !== "key") {
    const name = m.nameFor(path);
    return input.destination.secrets.filter((d) => d.name === name);
  }
  const [head = "", tail = ""] = m.nameFor(path, "\u0000").split("\u0000");
  return input.destination.secrets.filter((d) => d.tags[TAG.path] === path || (d.name.length > head.length + tail.length && d.name.startsWith(head) && d.name.endsWith(tail) && !d.name.slice(head.length, d.name.length - tail.length).includes("/")));
}

/** Our keys on a secret as `release` removes them: ours by name, except the release mark. */
function ourKeys(dest: DestinationSecretMeta): string[] {
  return Object.keys(dest.tags)
    .filter((k) => isOurTagKey(k) && k !== TAG.releasedAt && k !== TAG.releasedBy && k !== TAG.releasedFrom)
    .sort();
}

/**
 * The plan of a `release` or `adopt`: one action per destination secret the selection names, and a
 * refusal for each named path that maps to nothing. `now` is the release time recorded.
 */
export function planCutover(inputs: MappingInventory[], profile: DestinationProfile, command: CutoverCommand, selection: CutoverSelection, now: Date): Plan {
  const actions: PlannedAction[] = [];
  const found = new Set<string>();
  for (const input of inputs) {
    const m = input.mapping;
    for (const path of selectedPaths(input, selection)) {
      const listed = input.source.secrets.find((s) => s.path === path);
      const dests = secretsOf(input, path).filter((d) => !d.deletedDate);
      if (listed || dests.length > 0) found.add(path);
      const base = { mapping: m.label, sourcePath: path, sourceVersion: listed?.version ?? null };
      if (dests.length === 0) {
        if (listed) actions.push({ ...base, destinationName: m.nameFor(path, m.granularity === "key" ? "{key}" : undefined), type: "skip", reason: `not in ${profile.kind}`, failure: { errorClass: "source-not-found", message: `${path}: no secret in ${profile.kind} for it (${m.nameFor(path, m.granularity === "key" ? "{key}" : undefined)}); nothing to ${command}` } });
        continue;
      }
      for (const d of dests) actions.push(command === "release" ? releaseOne(base, d, input, profile, now) : adoptOne(base, d, input, profile));
    }
  }
  for (const path of selection.paths) {
    if (found.has(path)) continue;
    actions.push({
      mapping: "",
      sourcePath: path,
      destinationName: "",
      sourceVersion: null,
      type: "skip",
      reason: "no such secret in scope",
      failure: { errorClass: "source-not-found", message: `${path}: no mapping has it in scope in the source or the destination; nothing to ${command} (paths are relative to the mount, as plan shows them)` },
    });
  }
  return { syncName: inputs[0]?.mapping.syncName ?? "", sourceMethod: inputs[0]?.source.method ?? "list-and-metadata", actions, problems: inputs.flatMap((i) => i.source.problems), warnings: [] };
}

type Base = Pick<PlannedAction, "mapping" | "sourcePath" | "sourceVersion">;

function withDest(base: Base, d: DestinationSecretMeta) {
  return { ...base, destinationName: d.name, ...(d.arn ? { arn: d.arn } : {}), ...(d.tags[TAG.key] !== undefined ? { key: d.tags[TAG.key] } : {}), ...(d.tags[TAG.sourceVersion] !== undefined ? { destinationVersion: d.tags[TAG.sourceVersion] } : {}) };
}

function releaseOne(base: Base, d: DestinationSecretMeta, input: MappingInventory, profile: DestinationProfile, now: Date): PlannedAction {
  const m = input.mapping;
  const at = withDest(base, d);
  const standing = standingOf(m, d, profile);
  if (standing.kind === "released") {
    // A release that stopped between its mark and the removal of our tags is finished.
    const left = d.tags[TAG.releasedBy] === m.syncName ? ourKeys(d) : [];
    if (left.length > 0) return { ...at, type: "release", tags: {}, untag: left, reason: `released at ${standing.at}; removing the secretbridge tags left: ${left.join(", ")}` };
    return { ...at, type: "released", reason: `already released${standing.at ? ` at ${standing.at}` : ""}` };
  }
  if (standing.kind === "ours") {
    return {
      ...at,
      type: "release",
      tags: { [TAG.releasedAt]: now.toISOString(), [TAG.releasedBy]: m.syncName, ...(d.tags[TAG.path] !== undefined ? { [TAG.releasedFrom]: d.tags[TAG.path] } : {}) },
      untag: ourKeys(d),
      reason: "proven ours: secretbridge stops managing it (its own tags go; the value, versions and other tags stay)",
    };
  }
  const why =
    standing.kind === "not-writable"
      ? { errorClass: "not-writable" as const, message: `${d.name}: not released: ${standing.message}` }
      : standing.kind === "unproven"
        ? { errorClass: "ownership-unproven" as const, message: `${d.name}: not released: it carries secretbridge's tags for sync "${m.syncName}", but none of its versions is one secretbridge wrote; left untouched` }
        : standing.kind === "other-sync"
          ? { errorClass: "conflict-other-sync" as const, message: `${d.name}: not released: managed by sync "${d.tags[TAG.sync] ?? ""}", not "${m.syncName}"; left untouched` }
          : { errorClass: "conflict-unmanaged" as const, message: `${d.name}: not released: secretbridge does not manage it (no version proves sync "${m.syncName}" wrote it); left untouched` };
  return { ...at, type: "conflict", reason: "not proven ours: not released", failure: why };
}

function adoptOne(base: Base, d: DestinationSecretMeta, input: MappingInventory, profile: DestinationProfile): PlannedAction {
  const m = input.mapping;
  const at = withDest(base, d);
  const releasedAt = d.tags[TAG.releasedAt];
  if (releasedAt === undefined) {
    const standing = standingOf(m, d, profile);
    if (standing.kind === "ours") return { ...at, type: "unchanged", reason: "not released: secretbridge manages it already" };
    if (d.tags[TAG.releasedBy] === m.syncName) return { ...at, type: "unchanged", reason: "taken back already: the next sync makes it provably secretbridge's again" };
    return { ...at, type: "conflict", reason: "not released", failure: { errorClass: "conflict-unmanaged", message: `${d.name}: not adopted: it was not released by sync "${m.syncName}" (no secretbridge:released-at); to take over a secret secretbridge never wrote, use policies.onConflict` } };
  }
  const notWritable = profile.notWritable(d);
  if (notWritable) return { ...at, type: "conflict", reason: "not writable", failure: { errorClass: "not-writable", message: `${d.name}: not adopted: ${notWritable}` } };
  // Released by this sync, or a mark on a secret a version still proves ours (set by hand): ours to clear.
  const ours = d.tags[TAG.releasedBy] === m.syncName || standingOf(m, { ...d, tags: withoutReleaseMark(d.tags) }, profile).kind === "ours";
  if (!ours) {
    const by = d.tags[TAG.releasedBy];
    return {
      ...at,
      type: "conflict",
      reason: "released by another sync",
      failure: { errorClass: "conflict-other-sync", message: `${d.name}: not adopted: ${by === undefined ? "its release mark was not set by secretbridge release" : `released by sync "${by}", not "${m.syncName}"`}; left untouched` },
    };
  }
  return { ...at, type: "reclaim", untag: [TAG.releasedAt], reason: `released at ${releasedAt}; taken back: the next sync makes it provably secretbridge's again` };
}

function withoutReleaseMark(tags: Record<string, string>): Record<string, string> {
  const copy = { ...tags };
  delete copy[TAG.releasedAt];
  return copy;
}
