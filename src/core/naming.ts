// Where a destination secret name is computed, and the checks AWS would otherwise fail on later.

export const MAX_NAME_LENGTH = 512;
const NAME_CHARSET = /^[A-Za-z0-9/_+=.@-]+$/;
// AWS appends "-" plus six random characters to secret ARNs; a name that already ends that way
// makes partial-ARN lookups resolve to the wrong secret.
const ARN_SUFFIX_TRAP = /-[A-Za-z0-9]{6}$/;

export const DEFAULT_NAME_TEMPLATE = "{prefix}/{path}";
/** With one destination secret per key. */
export const DEFAULT_KEY_NAME_TEMPLATE = "{prefix}/{path}/{key}";
const PLACEHOLDERS = ["prefix", "mount", "path", "dir", "name", "key"] as const;

/**
 * The destination name of a source secret. Placeholders: {prefix}, {mount}, {path} (relative to
 * the mount), {dir} (the path's folder, empty at the top), {name} (its last segment). The default
 * `{prefix}/{path}` is the reference walkthrough's naming.
 */
export function destinationNameFor(prefix: string, sourcePath: string, template = DEFAULT_NAME_TEMPLATE, mount = "", key = ""): string {
  const cut = sourcePath.lastIndexOf("/");
  const values: Record<(typeof PLACEHOLDERS)[number], string> = {
    prefix,
    mount,
    path: sourcePath,
    dir: cut >= 0 ? sourcePath.slice(0, cut) : "",
    name: cut >= 0 ? sourcePath.slice(cut + 1) : sourcePath,
    key,
  };
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? values[key as keyof typeof values] : whole)).replace(/\/{2,}/g, "/");
}

/** Why a name template is unusable, or undefined. */
export function templateProblem(template: string): string | undefined {
  const unknown = [...template.matchAll(/\{(\w*)\}/g)].map((m) => m[1] ?? "").filter((k) => !(PLACEHOLDERS as readonly string[]).includes(k));
  if (unknown.length) return `unknown placeholder${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `{${k}}`).join(", ")}; use ${PLACEHOLDERS.map((k) => `{${k}}`).join(" ")}`;
  if (!template.includes("{path}") && !template.includes("{name}")) return "must contain {path} or {name}, or every secret would get the same name";
  if (!template.startsWith("{prefix}/")) return "must start with {prefix}/ so every name stays under the prefix secretbridge owns (and the IAM policy allows)";
  return undefined;
}

/** Returns why AWS would reject (or mishandle) this name, or undefined when it is fine. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "the name is empty";
  if (name.length > MAX_NAME_LENGTH) {
    return `the name is ${name.length} characters; AWS allows at most ${MAX_NAME_LENGTH}: shorten the source path or the prefix`;
  }
  if (!NAME_CHARSET.test(name)) {
    const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9/_+=.@-]/.test(c)))]
      .map((c) => JSON.stringify(c))
      .join(" ");
    return `the name contains characters AWS does not allow (${bad}); allowed: A-Z a-z 0-9 / _ + = . @ -: rename the source secret`;
  }
  if (name.includes("//")) return "the name contains an empty segment (//): check the prefix and the source path";
  if (ARN_SUFFIX_TRAP.test(name)) {
    return "the name ends with a hyphen and six characters, which AWS confuses with its ARN suffix: rename the source secret";
  }
  return undefined;
}
