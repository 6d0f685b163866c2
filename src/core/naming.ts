// Where a destination secret name is computed, and the checks AWS would otherwise fail on later.

export const MAX_NAME_LENGTH = 512;
const NAME_CHARSET = /^[A-Za-z0-9/_+=.@-]+$/;
// AWS appends "-" plus six random characters to secret ARNs; a name that already ends that way
// makes partial-ARN lookups resolve to the wrong secret.
const ARN_SUFFIX_TRAP = /-[A-Za-z0-9]{6}$/;

/** `<prefix>/<path relative to the mount>`, as in the reference walkthrough. */
export function destinationNameFor(prefix: string, sourcePath: string): string {
  return `${prefix}/${sourcePath}`;
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
