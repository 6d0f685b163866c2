// A small IAM policy evaluator for tests: explicit Deny wins, then any Allow, else implicit deny;
// actions and resources matched with IAM's * and ? wildcards; the condition operators our
// policies use. Enough to show a policy allows what a run does and blocks itself nowhere.
import type { PolicyStatement } from "../../src/destinations/aws-common/iam.js";

type Statement = PolicyStatement;
export type Context = Record<string, string | string[]>;

export const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : ([] as string[]).concat(v));

function glob(pattern: string, value: string): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(value);
}

function conditionHolds(condition: Statement["Condition"], context: Context): boolean {
  for (const [operator, pairs] of Object.entries(condition ?? {})) {
    for (const [key, wanted] of Object.entries(pairs)) {
      const wants = list(wanted);
      const have = context[key];
      const values = list(have);
      switch (operator) {
        case "StringEquals":
          if (typeof have !== "string" || !wants.includes(have)) return false;
          break;
        case "ForAnyValue:StringEquals":
          if (!values.some((v) => wants.includes(v))) return false;
          break;
        case "ForAllValues:StringNotEquals":
          if (!values.every((v) => !wants.includes(v))) return false;
          break;
        default:
          throw new Error(`test evaluator: unsupported condition operator ${operator}`);
      }
    }
  }
  return true;
}

export function evaluate(policy: { Statement: Statement[] }, action: string, resource: string, context: Context = {}): "allow" | "deny" | "implicit-deny" {
  let allowed = false;
  for (const s of policy.Statement) {
    if (!list(s.Action).some((a) => glob(a, action))) continue;
    const inResource = s.Resource !== undefined ? list(s.Resource).some((r) => glob(r, resource)) : !list(s.NotResource).some((r) => glob(r, resource));
    if (!inResource || !conditionHolds(s.Condition, context)) continue;
    if (s.Effect === "Deny") return "deny";
    allowed = true;
  }
  return allowed ? "allow" : "implicit-deny";
}
