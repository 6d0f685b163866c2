// ClientRequestToken derivation. The same (sync, source, path, version, destination) always gives
// the same token, so a write retried after a crash or timeout is a no-op in the destination
// instead of a second version. The token is built from identifiers only, never from the value.
import { createHash } from "node:crypto";
import type { SourceRef } from "./tags.js";

export interface TokenInput {
  syncName: string;
  source: SourceRef;
  sourcePath: string;
  version: number;
  destinationName: string;
  /** Tells a re-created secret's version 1 from the first one (same version, another value). */
  versionCreatedTime?: string;
}

/** The token of a write: derived from the source's stable id, so respelling its address changes nothing. */
export function requestTokenFor(input: TokenInput): string {
  const { syncName, source, sourcePath, version, destinationName, versionCreatedTime = "" } = input;
  return uuidLayout(JSON.stringify(["secretbridge/v2", syncName, source.id, source.namespace ?? "", source.mount, sourcePath, version, destinationName, versionCreatedTime]));
}

/**
 * The token releases before 0.2 derived from the source address (as recorded in the secret's
 * `secretbridge:source` tag). Only compared with, never written: it lets secrets written by those
 * releases be recognised as ours without a new version.
 */
export function legacyRequestTokenFor(input: TokenInput, recordedAddress: string): string {
  const { syncName, source, sourcePath, version, destinationName, versionCreatedTime = "" } = input;
  return uuidLayout(JSON.stringify(["secretbridge/v1", syncName, recordedAddress, source.namespace ?? "", source.mount, sourcePath, version, destinationName, versionCreatedTime]));
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
