// Discovery for a migration: one row per source secret in scope, with its metadata, the name it
// maps to and how that destination secret stands today, the tags it would get, and a suggested
// strategy (retire, retain, relocate) with its reason. Pure: names, ownership and state come from
// the planner's actions (the one place that decides them), never from a second reading of tags.
import type { WaveSelect } from "./cutover.js";
import { matchesSelect, type ResolvedMapping } from "./mapping.js";
import { isValueWrite, type DestinationSecretMeta, type InventoryProblem, type Plan, type PlannedAction, type SourceSecretMeta } from "./model.js";
import { displayPath } from "./paths.js";
import { createTags } from "./plan.js";
import type { DestinationProfile } from "./profile.js";
import { ruleTagsOf } from "./tag-rules.js";
import { isOurTagKey } from "./tags.js";
import { tagPlanOfWrite, writeFieldsOf } from "./writes.js";

/** The tags a planned action sets: a value write's derived from its basis, a mark's as planned. */
function plannedTags(action: PlannedAction | undefined, m: ResolvedMapping, profile: DestinationProfile): Record<string, string> | undefined {
  if (action === undefined) return undefined;
  if (isValueWrite(action)) return writeFieldsOf(action, m, profile).tags;
  return "tags" in action ? action.tags : undefined;
}

/**
 * How the destination secret a source secret maps to stands today. replicated: ours, at the
 * source's version; stale: ours, but a sync would write it (an older version, tags, drift, pending
 * deletion); absent: no secret by that name; unmanaged: exists and is not ours; other-sync: owned
 * by another sync name; conflict: cannot be written (invalid name or tags, not writable, a name
 * collision, ownership not proven).
 */
export type DestinationState = "replicated" | "stale" | "absent" | "unmanaged" | "other-sync" | "conflict" | "released";
export const DESTINATION_STATES: readonly DestinationState[] = ["replicated", "stale", "absent", "unmanaged", "other-sync", "conflict", "released"];

export type Strategy = "retire" | "retain" | "relocate";
export const STRATEGIES: readonly Strategy[] = ["retire", "retain", "relocate"];

/** The rules behind the suggested strategy (config `discover:`). */
export interface DiscoverRules {
  /** Not updated for at least this many days suggests retire. */
  retireAfterDays: number;
  /** A custom_metadata key with this value (compared trimmed, case-insensitively) means retain. */
  retainWhen: Record<string, string>;
}

export const DEFAULT_DISCOVER_RULES: DiscoverRules = { retireAfterDays: 365, retainWhen: { migrate: "no" } };

/** One source secret in scope. Metadata and names only: never a value, never a custom_metadata value. */
export interface DiscoverRow {
  /** The mapping's config label (`source`, `mappings[1]`). */
  mapping: string;
  mount: string;
  /** Path relative to the mount, as shown (control characters escaped). */
  path: string;
  /** KV v2 current version; null on KV v1. */
  currentVersion: number | null;
  /** Versions the source still keeps; null when the metadata does not say. */
  versionCount: number | null;
  createdTime: string | null;
  updatedTime: string | null;
  /** Whole days from the last update to the report's time; null without an update time. */
  ageDays: number | null;
  customMetadataKeys: string[];
  /** The destination name (with granularity key: the name template with `{key}`); "" when the path is unusable. */
  destinationName: string;
  state: DestinationState;
  /** The planner's reason for that state. */
  stateReason: string;
  /** The tags other than secretbridge's own that a create would set (static tags, copied custom_metadata). */
  tags: Record<string, string>;
  /**
   * The required (ABAC) tag keys it would not get: the custom_metadata key a tag comes from is
   * absent or empty (an immutable tag the destination secret already carries is not missing).
   */
  missingTags: string[];
  strategy: Strategy;
  strategyReason: string;
  /** `--with-sizes` only: bytes of the value as the mapping would write it; null when it cannot be rendered. */
  sizeBytes?: number | null;
}

const DAY_MS = 86_400_000;

/** Whole days between an ISO time and `now`; null when there is no (valid) time. */
export function ageInDays(time: string | undefined, now: Date): number | null {
  if (time === undefined) return null;
  const at = Date.parse(time);
  if (Number.isNaN(at)) return null;
  return Math.floor((now.getTime() - at) / DAY_MS);
}

const normalised = (value: string) => value.trim().toLowerCase();

/**
 * The suggested strategy and why. An explicit retain mark in custom_metadata wins (a person
 * decided); then age (not updated for `retireAfterDays` days); everything else is relocated.
 */
export function classify(secret: Pick<SourceSecretMeta, "updatedTime" | "customMetadata">, rules: DiscoverRules, now: Date): { strategy: Strategy; reason: string } {
  const metadata = secret.customMetadata ?? {};
  for (const [key, value] of Object.entries(rules.retainWhen)) {
    if (Object.hasOwn(metadata, key) && normalised(metadata[key] ?? "") === normalised(value)) {
      return { strategy: "retain", reason: `custom_metadata ${key} is ${JSON.stringify(value)}` };
    }
  }
  if (secret.updatedTime !== undefined && !Number.isNaN(Date.parse(secret.updatedTime))) {
    const elapsed = now.getTime() - Date.parse(secret.updatedTime);
    if (elapsed >= rules.retireAfterDays * DAY_MS) {
      return { strategy: "retire", reason: `not updated for ${Math.floor(elapsed / DAY_MS)} days (retireAfterDays: ${rules.retireAfterDays})` };
    }
    return { strategy: "relocate", reason: `updated ${Math.floor(elapsed / DAY_MS)} days ago, no retain mark` };
  }
  return { strategy: "relocate", reason: "no update time in the metadata, no retain mark" };
}

/** The destination state one planned action shows. */
export function stateOf(action: PlannedAction): DestinationState {
  switch (action.type) {
    case "create":
      return "absent";
    case "unchanged":
      return "replicated";
    case "update":
    case "restore":
    case "drift":
      return "stale";
    case "adopt":
      return "unmanaged";
    case "released":
      return "released";
    case "conflict":
      if (action.failure?.errorClass === "conflict-unmanaged") return "unmanaged";
      if (action.failure?.errorClass === "conflict-other-sync") return "other-sync";
      return "conflict";
    default:
      return "conflict";
  }
}

/** Worst first: one row stands for all of a key-granularity secret's destination secrets. */
const SEVERITY: readonly DestinationState[] = ["conflict", "other-sync", "unmanaged", "stale", "absent", "released", "replicated"];

export interface MappingListing {
  mapping: ResolvedMapping;
  secrets: readonly SourceSecretMeta[];
  /** The destination secrets listed for this mapping: an immutable tag one carries is kept, not missing. */
  destination?: readonly DestinationSecretMeta[];
}

/**
 * The rows of a plan made from these listings: one per present source secret in scope (and one
 * per unusable path the planner refused), in path order. `sizes` (by mapping label and path)
 * comes from `--with-sizes`.
 */
export function discoverRows(
  listings: readonly MappingListing[],
  plan: Plan,
  profile: DestinationProfile,
  rules: DiscoverRules,
  now: Date,
  sizes?: ReadonlyMap<string, number | null>,
  wave?: WaveSelect,
): DiscoverRow[] {
  const actionsOf = new Map<string, PlannedAction[]>();
  for (const action of plan.actions) {
    const key = rowKey(action.mapping, action.sourcePath);
    const list = actionsOf.get(key);
    if (list) list.push(action);
    else actionsOf.set(key, [action]);
  }
  const rows: DiscoverRow[] = [];
  for (const { mapping: m, secrets, destination = [] } of listings) {
    const tagsByName = new Map(destination.map((d) => [d.name, d.tags]));
    const present = new Set<string>();
    for (const secret of secrets) {
      // The planner names an unusable path as shown (escaped), any other by the path itself.
      const actions = actionsOf.get(rowKey(m.label, secret.path)) ?? actionsOf.get(rowKey(m.label, displayPath(secret.path))) ?? [];
      const invalid = actions.find((a) => a.failure?.errorClass === "invalid-path");
      if (!invalid && (secret.state !== "present" || !m.inScope(secret.path))) continue;
      if (wave && !matchesSelect(wave, secret.customMetadata)) continue;
      const action = actions.reduce<PlannedAction | undefined>((worst, a) => (worst === undefined || SEVERITY.indexOf(stateOf(a)) < SEVERITY.indexOf(stateOf(worst)) ? a : worst), undefined);
      const key = m.granularity === "key" ? "{key}" : undefined;
      const { strategy, reason } = classify(secret, rules, now);
      const tags = invalid ? {} : otherTags(plannedTags(action, m, profile) ?? createTags(m, secret, profile, key));
      const size = sizes?.get(rowKey(m.label, secret.path));
      present.add(secret.path);
      const destinationName = invalid ? "" : key !== undefined ? m.nameFor(secret.path, key) : (action?.destinationName ?? m.nameFor(secret.path));
      rows.push({
        mapping: m.label,
        mount: m.source.mount,
        path: invalid ? displayPath(secret.path) : secret.path,
        currentVersion: secret.version,
        versionCount: secret.versionCount ?? null,
        createdTime: secret.createdTime ?? null,
        updatedTime: secret.updatedTime ?? null,
        ageDays: ageInDays(secret.updatedTime, now),
        customMetadataKeys: Object.keys(secret.customMetadata ?? {}).sort(),
        destinationName,
        // A key-granularity secret whose keys are not known yet (nothing written, no value read) has no action: absent.
        state: action ? stateOf(action) : "absent",
        stateReason: action ? (action.failure?.message ?? action.reason) : "not in the destination yet",
        tags,
        // A planned write's own tag plan (a required key a shell already carries satisfies it); else the rules alone.
        missingTags: action && isValueWrite(action) ? tagPlanOfWrite(action, m, profile).missing : ruleTagsOf(m.tagRules, secret.customMetadata, tagsByName.get(destinationName)).missing.map((x) => x.key),
        strategy,
        strategyReason: reason,
        ...(sizes ? { sizeBytes: size ?? null } : {}),
      });
    }
    // A released secret whose source path is gone: the planner reports it, and so does the
    // inventory, so that a finished migration stays visible (not in a wave: no metadata selects it).
    for (const a of wave ? [] : plan.actions) {
      if (a.type !== "released" || a.mapping !== m.label || present.has(a.sourcePath)) continue;
      rows.push({
        mapping: m.label,
        mount: m.source.mount,
        path: a.sourcePath,
        currentVersion: null,
        versionCount: null,
        createdTime: null,
        updatedTime: null,
        ageDays: null,
        customMetadataKeys: [],
        destinationName: a.destinationName,
        state: "released",
        stateReason: a.reason,
        tags: otherTags(tagsByName.get(a.destinationName) ?? {}),
        missingTags: [],
        strategy: "relocate",
        strategyReason: "relocated: released to its consumers, and its source path no longer exists",
        ...(sizes ? { sizeBytes: null } : {}),
      });
    }
  }
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.mapping < b.mapping ? -1 : a.mapping > b.mapping ? 1 : 0));
}

/** Key of a row and its actions: mapping label and path. */
export function rowKey(mapping: string, path: string): string {
  return `${mapping}\u0000${path}`;
}

function otherTags(tags: Record<string, string>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const key of Object.keys(tags).sort()) if (!isOurTagKey(key)) out[key] = tags[key] ?? "";
  return out;
}

/** The report as `--json` prints it; `format` changes only when a field changes meaning or goes away. */
export interface DiscoverReport {
  format: "secretbridge-discover/1";
  syncName: string;
  generatedAt: string;
  /** The time ages are counted to (`--as-of`, default now). */
  asOf: string;
  /** `--wave` as given: the rows are that wave's secrets only; null for the whole inventory. */
  wave: string | null;
  rules: DiscoverRules;
  withSizes: boolean;
  summary: {
    total: number;
    byStrategy: Record<Strategy, number>;
    byState: Record<DestinationState, number>;
    /** Rows lacking each required tag key (every key the tag rules require, 0 when none lacks it). */
    byMissingTag: Record<string, number>;
  };
  rows: DiscoverRow[];
  /** Paths or subtrees that could not be listed: the inventory is incomplete (exit code 1). */
  problems: InventoryProblem[];
  warnings: string[];
  /** Where the time went, in milliseconds (as a run report's timings). */
  timings: Record<string, number>;
  /** Calls made to each side, by provider and operation (what the inventory cost). */
  apiCalls?: Record<string, number>;
  exitCode: 0 | 1;
}

/** Counts per strategy, state and missing tag; `requiredKeys` (the tag rules' keys) are counted even at 0. */
export function summarise(rows: readonly DiscoverRow[], requiredKeys: readonly string[] = []): DiscoverReport["summary"] {
  const byStrategy = Object.fromEntries(STRATEGIES.map((s) => [s, 0])) as Record<Strategy, number>;
  const byState = Object.fromEntries(DESTINATION_STATES.map((s) => [s, 0])) as Record<DestinationState, number>;
  const missing = new Map<string, number>(requiredKeys.map((k) => [k, 0]));
  for (const row of rows) {
    byStrategy[row.strategy] += 1;
    byState[row.state] += 1;
    for (const key of row.missingTags) missing.set(key, (missing.get(key) ?? 0) + 1);
  }
  // fromEntries defines own properties: a tag key named __proto__ is a key like any other.
  const byMissingTag = Object.fromEntries([...missing.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { total: rows.length, byStrategy, byState, byMissingTag };
}
