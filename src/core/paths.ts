// What a source path may look like before anything uses it in a request or a destination name.
// Paths come from listings, audit lines, webhooks and config; an HTTP client normalises `.` and
// `..` in URLs, so a path like `app/../other` would silently reach outside the mapping.

/** Longest path we accept (Vault's own limits are far above real paths; this bounds memory). */
export const MAX_PATH_LENGTH = 1024;

/**
 * Why a path relative to a mount is unusable, or undefined. Rejects empty paths and segments
 * (`a//b`, a leading or trailing `/`), `.` and `..` segments, control characters, and lone UTF-16
 * surrogates (half of a character: no request can carry it, so it could only fail later).
 */
// One pass for the common case (a valid path): an empty, "." or ".." segment, a control character
// or any surrogate (a well-formed pair is checked again below).
// eslint-disable-next-line no-control-regex
const SUSPECT = /(^|\/)\.{0,2}(\/|$)|[\u0000-\u001f\u007f\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when the text holds half a UTF-16 character, which no URL (and no UTF-8) can carry. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

export function pathProblem(path: string): string | undefined {
  if (path.length > MAX_PATH_LENGTH) return `the path is ${path.length} characters; at most ${MAX_PATH_LENGTH} are accepted`;
  if (path.length > 0 && !SUSPECT.test(path)) return undefined;
  if (path.length === 0) return "the path is empty";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "the path contains control characters";
  if (hasLoneSurrogate(path)) return "the path contains a lone UTF-16 surrogate (half of a character), which no request can carry";
  for (const segment of path.split("/")) {
    if (segment === "") return "the path has an empty segment (a leading, trailing or doubled /)";
    if (segment === "." || segment === "..") return `the path has a "${segment}" segment`;
  }
  return undefined;
}

/**
 * Why a mount name is unusable, or undefined: the path rules (no empty, `.` or `..` segments, no
 * control characters or lone surrogates), and none of the characters that change what a URL or
 * a Vault policy means or hide what it names (`?`, `#`, `%`, `\`, `"`, `*`, white space). One rule
 * for every place that takes a mount: the config, a pushed change, bootstrap-vault.
 */
export function mountProblem(mount: string): string | undefined {
  const problem = pathProblem(mount);
  if (problem) return problem.replace(/^the path/, "the mount");
  const bad = /[?#%\\"*\s]/.exec(mount);
  if (bad) return `the mount has ${JSON.stringify(bad[0])} in it; a mount name has none of ? # % \\ " * or white space`;
  return undefined;
}

/** A path safe to show in a message: control characters and lone surrogates escaped, long paths cut. */
export function displayPath(path: string): string {
  const shown = path.length > 200 ? `${path.slice(0, 200)}...` : path;
  // eslint-disable-next-line no-control-regex
  return shown.replace(/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
