// The AWS half of the cutover checklist: which IAM principals' ABAC conditions a secret's tags
// satisfy (a policy file the user gives, evaluated on resource tags only), and the CloudTrail
// queries that show whether applications already read the secret.
import { SyncError } from "../../core/errors.js";

/** A principal as the policy file names it: its policy, and its principal tags for `${aws:PrincipalTag/...}`. */
export interface AbacPrincipal {
  name: string;
  tags: Record<string, string>;
  statements: AbacStatement[];
}

interface AbacStatement {
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string[];
  Condition: Record<string, Record<string, string[]>>;
}

/** The condition operators evaluated; any other makes the verdict "unknown" for that principal. */
export const SUPPORTED_OPERATORS = ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "StringEqualsIgnoreCase"] as const;
const TAG_KEY = /^(?:aws|secretsmanager):ResourceTag\/(.+)$/;
const READ_ACTION = "secretsmanager:GetSecretValue";

const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/**
 * The policy file: one IAM policy document (one principal, named "policy"), or
 * `{"principals": {"NAME": {"tags": {...}, "policy": {...}}}}`. `origin` names the file in errors.
 */
export function parseAbacPolicy(text: string, origin: string): AbacPrincipal[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new SyncError("config-invalid", `${origin}: not JSON (${error instanceof Error ? error.message : "parse error"}); give an IAM policy document or {"principals": {NAME: {"tags": {...}, "policy": {...}}}}`);
  }
  const statementsOf = (policy: unknown, who: string): AbacStatement[] => {
    const raw = (policy as { Statement?: unknown } | null)?.Statement;
    if (raw === undefined) throw new SyncError("config-invalid", `${origin}: ${who} has no Statement; give an IAM policy document`);
    return (Array.isArray(raw) ? raw : [raw]).map((st: Record<string, unknown>, i) => {
      if (st.Effect !== "Allow" && st.Effect !== "Deny") throw new SyncError("config-invalid", `${origin}: ${who} Statement[${i}] has Effect ${JSON.stringify(st.Effect)}, not Allow or Deny`);
      const condition: AbacStatement["Condition"] = {};
      for (const [op, pairs] of Object.entries((st.Condition ?? {}) as Record<string, Record<string, unknown>>)) {
        condition[op] = Object.fromEntries(Object.entries(pairs).map(([k, v]) => [k, list(v)]));
      }
      return { Effect: st.Effect, Action: list(st.Action), Resource: st.Resource === undefined ? ["*"] : list(st.Resource), Condition: condition };
    });
  };
  const principals = (doc as { principals?: unknown } | null)?.principals;
  if (principals !== undefined && principals !== null && typeof principals === "object") {
    return Object.entries(principals as Record<string, { tags?: Record<string, string>; policy?: unknown }>).map(([name, p]) => ({ name, tags: { ...(p.tags ?? {}) }, statements: statementsOf(p.policy, name) }));
  }
  return [{ name: "policy", tags: {}, statements: statementsOf(doc, "the policy") }];
}

function glob(pattern: string, value: string, caseless = false): boolean {
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`, caseless ? "is" : "s").test(value);
}

/** A condition value with `${aws:PrincipalTag/K}` filled from the principal's tags; undefined when a variable cannot be filled. */
function substitute(value: string, principal: AbacPrincipal): string | undefined {
  let unknown = false;
  const out = value.replace(/\$\{([^}]+)\}/g, (_, variable: string) => {
    const tag = /^aws:PrincipalTag\/(.+)$/.exec(variable);
    const filled = tag ? principal.tags[tag[1] ?? ""] : undefined;
    if (filled === undefined) unknown = true;
    return filled ?? "";
  });
  return unknown ? undefined : out;
}

type Outcome = boolean | { unknown: string };

function statementApplies(st: AbacStatement, arn: string, tags: Record<string, string>, principal: AbacPrincipal): Outcome {
  if (!st.Action.some((a) => glob(a, READ_ACTION, true))) return false;
  if (!st.Resource.some((r) => glob(r, arn))) return false;
  for (const [op, pairs] of Object.entries(st.Condition)) {
    if (!(SUPPORTED_OPERATORS as readonly string[]).includes(op)) return { unknown: `condition operator ${op} is not evaluated` };
    for (const [key, wanted] of Object.entries(pairs)) {
      const tagKey = TAG_KEY.exec(key)?.[1];
      if (tagKey === undefined) return { unknown: `condition key ${key} is not a resource tag` };
      const values = wanted.map((w) => substitute(w, principal));
      if (values.some((v) => v === undefined)) return { unknown: `a policy variable in ${key} is not among ${principal.name}'s tags` };
      const have = tags[tagKey];
      const match = (v: string) => (have === undefined ? false : op.endsWith("Like") ? glob(v, have) : op === "StringEqualsIgnoreCase" ? v.toLowerCase() === have.toLowerCase() : v === have);
      const any = (values as string[]).some(match);
      if (op.includes("Not") ? any : !any) return false;
    }
  }
  return true;
}

/** What each principal may do with `GetSecretValue` on this secret, judged by its resource tags: an explicit Deny wins, then any Allow. */
export function abacVerdicts(principals: AbacPrincipal[], arn: string, tags: Record<string, string>): { allowed: string[]; unknown: string[] } {
  const allowed: string[] = [];
  const unknown: string[] = [];
  for (const p of principals) {
    const outcomes = p.statements.map((st) => [st.Effect, statementApplies(st, arn, tags, p)] as const);
    const why = outcomes.find(([, o]) => typeof o === "object")?.[1];
    if (outcomes.some(([e, o]) => e === "Deny" && o === true)) continue;
    if (why && typeof why === "object") unknown.push(`${p.name} (${why.unknown})`);
    else if (outcomes.some(([e, o]) => e === "Allow" && o === true)) allowed.push(p.name);
  }
  return { allowed, unknown };
}

/** The CloudTrail queries that show who read this secret: event history by resource, and CloudTrail Lake SQL. */
export function cloudTrailQueries(arn: string, name: string): { lookupEvents: string; lakeSql: string } {
  // Event history is per Region: the secret's, from its ARN.
  const region = arn.split(":")[3] ?? "";
  return {
    lookupEvents: `aws cloudtrail lookup-events${region ? ` --region ${region}` : ""} --lookup-attributes AttributeKey=ResourceName,AttributeValue=${arn}`,
    lakeSql:
      `SELECT eventTime, eventName, userIdentity.arn, sourceIPAddress FROM <event-data-store-id> ` +
      `WHERE eventSource = 'secretsmanager.amazonaws.com' AND eventName = 'GetSecretValue' ` +
      `AND (element_at(requestParameters, 'secretId') = '${arn}' OR element_at(requestParameters, 'secretId') = '${name}') ORDER BY eventTime DESC`,
  };
}
