// Name templates: which placeholders a template may use and the defaults. The name itself is
// computed by a resolved mapping (`nameFor` in mapping.ts), nowhere else; the destination's own
// name rules live in its profile.
import { pathProblem } from "./paths.js";

export const DEFAULT_NAME_TEMPLATE = "{prefix}/{path}";
/** With one destination secret per key. */
export const DEFAULT_KEY_NAME_TEMPLATE = "{prefix}/{path}/{key}";
const PLACEHOLDERS = ["prefix", "mount", "path", "dir", "name", "key"] as const;

export function defaultNameTemplate(granularity: "secret" | "key"): string {
  return granularity === "key" ? DEFAULT_KEY_NAME_TEMPLATE : DEFAULT_NAME_TEMPLATE;
}

/** Why a name template is unusable, or undefined. */
export function templateProblem(template: string): string | undefined {
  const unknown = [...template.matchAll(/\{(\w*)\}/g)].map((m) => m[1] ?? "").filter((k) => !(PLACEHOLDERS as readonly string[]).includes(k));
  if (unknown.length) return `unknown placeholder${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `{${k}}`).join(", ")}; use ${PLACEHOLDERS.map((k) => `{${k}}`).join(" ")}`;
  if (!template.includes("{path}") && !template.includes("{name}")) return "must contain {path} or {name}, or every secret would get the same name";
  if (!template.startsWith("{prefix}/")) return "must start with {prefix}/ so every name stays under the prefix secretbridge owns (and the IAM policy allows)";
  return undefined;
}

/**
 * Rules every destination name follows whatever the destination: the same segment rules as a
 * source path (no empty, `.` or `..` segment, no control character), so a name can never point
 * outside its prefix. The destination's profile adds its own rules.
 */
export function nameShapeProblem(name: string): string | undefined {
  const problem = pathProblem(name);
  return problem ? problem.replace("the path", "the name") : undefined;
}
