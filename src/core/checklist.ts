// The cutover checklist of a wave (`discover --checklist`): per destination secret of the selected
// source secrets, does it exist, does it carry the tags consumers' access depends on, is it at the
// source's version. Pure and vendor-neutral: state comes from the planner's actions, as in
// discover; who may read it (ABAC) and who already reads it (audit trail) are the destination's
// to add (`accessRows`, `usageQueries`), since they are that vendor's facts.
import { selectedPaths, type CutoverSelection } from "./cutover.js";
import { stateOf, type DestinationState } from "./discover.js";
import type { DestinationSecretMeta, Plan, PlannedAction } from "./model.js";
import type { MappingInventory } from "./plan.js";
import { ruleTagsOf } from "./tag-rules.js";
import { TAG, versionTagValue } from "./tags.js";

export interface ChecklistRow {
  mapping: string;
  path: string;
  destinationName: string;
  /** The destination's full identifier (AWS: the ARN) when it exists. */
  arn: string | null;
  exists: boolean;
  state: DestinationState;
  /** Every tag the destination secret carries now (what access rules are evaluated on). */
  tags: Record<string, string>;
  /** The ABAC tags it must carry before applications move, with their values (the mapping's tag rules). */
  requiredTags: Record<string, string>;
  /** Required tag keys that are absent or have another value on the destination, or that the source gives no value. */
  missingTags: string[];
  sourceVersion: string;
  /** The source version the destination records; null when it records none (absent, unmanaged, released). */
  replicatedVersion: string | null;
  versionMatches: boolean;
}

/**
 * The tags a secret must carry at cutover, and the required keys nothing gives a value: the tag
 * rules as the planner applies them (`ruleTagsOf`), an immutable tag as the destination keeps it.
 */
export function requiredTagsOf(input: MappingInventory, secret: MappingInventory["source"]["secrets"][number], existing: Readonly<Record<string, string>> | undefined): { tags: Record<string, string>; unset: string[] } {
  const rule = ruleTagsOf(input.mapping.tagRules, secret.customMetadata, existing);
  return { tags: { ...rule.tags }, unset: rule.missing.map((x) => x.key) };
}

/** One row per destination secret of each selected source secret that the source lists as present, in path order. */
export function checklistRows(inputs: MappingInventory[], plan: Plan, selection: CutoverSelection): ChecklistRow[] {
  const actions = new Map<string, PlannedAction>();
  for (const a of plan.actions) if (a.destinationName) actions.set(`${a.mapping}\u0000${a.destinationName}`, a);
  const rows: ChecklistRow[] = [];
  for (const input of inputs) {
    const m = input.mapping;
    const names = new Map<string, DestinationSecretMeta>(input.destination.secrets.map((d) => [d.name, d]));
    for (const path of selectedPaths(input, selection)) {
      const secret = input.source.secrets.find((s) => s.path === path && s.state === "present");
      if (!secret) continue;
      const keyed = m.granularity === "key" ? input.destination.secrets.filter((d) => d.tags[TAG.path] === path && m.produced(d)).map((d) => d.tags[TAG.key] ?? "") : [undefined];
      for (const key of keyed.length > 0 ? keyed : ["{key}"]) {
        const name = m.nameFor(path, key);
        const d = names.get(name);
        const exists = d !== undefined && d.deletedDate === undefined;
        const action = actions.get(`${m.label}\u0000${name}`);
        const required = requiredTagsOf(input, secret, exists ? d.tags : undefined);
        const requiredTags = required.tags;
        const replicatedVersion = exists ? (d.tags[TAG.sourceVersion] ?? null) : null;
        const sourceVersion = versionTagValue(secret.version);
        rows.push({
          mapping: m.label,
          path,
          destinationName: name,
          arn: exists ? (d.arn ?? null) : null,
          exists,
          tags: exists ? { ...d.tags } : {},
          state: action ? stateOf(action) : "absent",
          requiredTags,
          // A required key the source gives no value is still met by a value someone set on the secret (a shell's own tags).
          missingTags: [...Object.keys(requiredTags).filter((k) => !exists || d.tags[k] !== requiredTags[k]), ...required.unset.filter((k) => !exists || !d.tags[k])].sort(),
          sourceVersion,
          replicatedVersion,
          versionMatches: replicatedVersion === sourceVersion,
        });
      }
    }
  }
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.destinationName < b.destinationName ? -1 : a.destinationName > b.destinationName ? 1 : 0));
}
