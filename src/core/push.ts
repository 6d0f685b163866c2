// What a push (webhook, audit stream, a pushed Lambda request) may ask for: every changed path is
// checked before anything is queued or read. One function for every runtime, so `serve` and the
// Lambda refuse and accept exactly the same changes.
import type { ResolvedMapping } from "./mapping.js";
import { displayPath, mountProblem, pathProblem } from "./paths.js";

/** One changed secret as a push names it: the mount and the path under it. */
export interface PushedChange {
  mount: string;
  path: string;
}

export interface PushScreen {
  /** In-scope changes, in order (duplicates kept: the engine reads each path once). */
  targets: PushedChange[];
  /** `.`, `..`, empty segments, control characters, lone surrogates, a mount no mount name can be: malformed input, refused as a whole. */
  invalidPaths: { path: string; problem: string }[];
  /** Mounts no mapping covers: a config mismatch, refused as a whole. */
  unknownMounts: string[];
}

/**
 * Screens a push against the resolved mappings. When `invalidPaths` or `unknownMounts` is not
 * empty the push is refused as a whole and `targets` is empty. A valid path of a known mount that
 * no mapping's scope covers is not this sync's business: dropped, never an error.
 */
export function screenPush(mappings: readonly ResolvedMapping[], changes: readonly PushedChange[]): PushScreen {
  const mounts = new Set(mappings.map((m) => m.source.mount));
  const invalidPaths: PushScreen["invalidPaths"] = [];
  const unknown = new Set<string>();
  for (const c of changes) {
    const problem = mountProblem(c.mount) ?? pathProblem(c.path);
    if (problem) invalidPaths.push({ path: displayPath(c.path), problem });
    else if (!mounts.has(c.mount)) unknown.add(displayPath(c.mount));
  }
  if (invalidPaths.length > 0 || unknown.size > 0) return { targets: [], invalidPaths, unknownMounts: [...unknown] };
  const targets = changes.filter((c) => mappings.some((m) => m.source.mount === c.mount && m.inScope(c.path)));
  return { targets: targets.map((c) => ({ mount: c.mount, path: c.path })), invalidPaths, unknownMounts: [] };
}
