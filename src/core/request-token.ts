// ClientRequestToken derivation. The same (sync, source, path, version, destination) always gives
// the same token, so a write retried after a crash or timeout is a no-op in AWS instead of a
// second version. The token is built from identifiers only, never from the value.
import { createHash } from "node:crypto";
import type { SourceRef } from "./tags.js";

export function requestTokenFor(
  syncName: string,
  source: SourceRef,
  sourcePath: string,
  version: number,
  destinationName: string,
  versionCreatedTime = "",
): string {
  // The version's creation time tells a re-created secret's version 1 from the first one, which
  // would otherwise share a token while having another value (AWS refuses that).
  return uuidLayout(
    JSON.stringify(["secretbridge/v1", syncName, source.address, source.namespace ?? "", source.mount, sourcePath, version, destinationName, versionCreatedTime]),
  );
}

/**
 * Token for repairing drift: derived from our own token and the outsider's version id, so a repair
 * retried after a crash is still one version.
 */
export function driftRepairTokenFor(ourToken: string, driftedVersionId: string): string {
  return uuidLayout(JSON.stringify(["secretbridge/drift-repair/v1", ourToken, driftedVersionId]));
}

function uuidLayout(input: string): string {
  const digest = createHash("sha256").update(input).digest("hex");
  // UUID layout (36 characters) is inside AWS's 32-64 range and reads as a version id.
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
}
