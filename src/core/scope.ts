// Which source paths a sync covers: include and exclude globs over the path relative to the mount
// (picomatch syntax: `team-a/**`, `**/db-*`). Excluded paths are out of scope on both sides: never
// written, and never deleted because they are "missing".
import picomatch from "picomatch";

export interface ScopeRules {
  include?: string[];
  exclude?: string[];
}

export function scopeMatcher(rules: ScopeRules): (path: string) => boolean {
  const include = rules.include?.length ? picomatch(rules.include, { dot: true }) : () => true;
  const exclude = rules.exclude?.length ? picomatch(rules.exclude, { dot: true }) : () => false;
  return (path) => include(path) && !exclude(path);
}
