// Planned actions in tests: reading a field whatever the action's type, and building one by hand
// with only the fields a test sets (the planner always fills the rest).
import type { ResolvedMapping } from "../../src/core/mapping.js";
import type { DestinationProfile } from "../../src/core/profile.js";
import { appliedWrite } from "../../src/core/writes.js";
import { isValueWrite, type ActionType, type AppliedWrite, type CreateAction, type DeleteAction, type DerivedWriteFields, type DriftAction, type OrphanAction, type Plan, type PlannedAction } from "../../src/core/model.js";

type Fields<T> = Partial<Omit<T, "type">>;

/** Every field any action type can carry, each optional: what assertions read. */
export type AnyAction = PlannedAction & Fields<CreateAction> & Fields<DeleteAction> & Fields<OrphanAction> & Fields<DriftAction> & Partial<DerivedWriteFields>;

/**
 * The plan with its actions readable field by field, each value write with the tags and request
 * token it writes derived as the engine derives them when applying it (and `--json` prints them).
 */
export function applied(plan: Plan, mappings: readonly ResolvedMapping[], profile: DestinationProfile): Omit<Plan, "actions"> & { actions: AnyAction[] } {
  const byLabel = new Map(mappings.map((m) => [m.label, m]));
  const actions = plan.actions.map((a) => {
    const mapping = byLabel.get(a.mapping);
    return isValueWrite(a) && mapping ? appliedWrite(a, mapping, profile) : a;
  });
  return { ...plan, actions: actions as AnyAction[] };
}

/** The plan with its actions readable field by field. */
export function loose(plan: Plan): Omit<Plan, "actions"> & { actions: AnyAction[] } {
  return plan as Omit<Plan, "actions"> & { actions: AnyAction[] };
}

/** An action built by hand, as `apply` takes it (tags and token given); fields a test leaves out are absent. */
export function handBuilt(type: ActionType, base: Pick<PlannedAction, "mapping" | "sourcePath" | "destinationName" | "sourceVersion" | "reason">, fields: Fields<AnyAction> = {}): AppliedWrite {
  return { type, ...base, ...fields } as AppliedWrite;
}
