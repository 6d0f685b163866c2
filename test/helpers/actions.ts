// Planned actions in tests: reading a field whatever the action's type, and building one by hand
// with only the fields a test sets (the planner always fills the rest).
import type { ActionType, CreateAction, DeleteAction, DriftAction, OrphanAction, Plan, PlannedAction, WriteAction } from "../../src/core/model.js";

type Fields<T> = Partial<Omit<T, "type">>;

/** Every field any action type can carry, each optional: what assertions read. */
export type AnyAction = PlannedAction & Fields<CreateAction> & Fields<DeleteAction> & Fields<OrphanAction> & Fields<DriftAction>;

/** The plan with its actions readable field by field. */
export function loose(plan: Plan): Omit<Plan, "actions"> & { actions: AnyAction[] } {
  return plan as Omit<Plan, "actions"> & { actions: AnyAction[] };
}

/** An action built by hand, as `apply` takes it; fields a test leaves out are absent. */
export function handBuilt(type: ActionType, base: Pick<PlannedAction, "mapping" | "sourcePath" | "destinationName" | "sourceVersion" | "reason">, fields: Fields<AnyAction> = {}): WriteAction {
  return { type, ...base, ...fields } as WriteAction;
}
