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
): string {
  const digest = createHash("sha256")
    .update(
      JSON.stringify(["secretbridge/v1", syncName, source.address, source.namespace ?? "", source.mount, sourcePath, version, destinationName]),
    )
    .digest("hex");
  // UUID layout (36 characters) is inside AWS's 32-64 range and reads as a version id.
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
}
