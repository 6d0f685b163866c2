// ClientRequestToken derivation. The same (sync, source, path, version, destination) always gives
// the same token, so a write retried after a crash or timeout is a no-op in the destination
// instead of a second version. The token is built from identifiers only, never from the value.
// It is also the proof of ownership: a destination gives a version written with a token that
// token as its id, and only a value writer can set one, while anyone allowed to tag can forge a
// tag. So the inputs a tag names (path, version, the record of tag keys) are checked by
// recomputing the token and finding it among the secret's version ids (see ownership.ts).
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
  /**
   * The record of the other tag keys this write sets (`secretbridge:tag-keys`). Bound to the
   * version, so a record extended by someone else proves nothing and removes nothing.
   */
  tagKeys: string;
}

/** The token of a write: derived from the source's stable id, so respelling its address changes nothing. */
export function requestTokenFor(input: TokenInput): string {
  const { syncName, source, sourcePath, version, destinationName, versionCreatedTime = "", tagKeys } = input;
  return uuidLayout(
    JSON.stringify(["secretbridge/v3", syncName, source.id, source.namespace ?? "", source.mount, sourcePath, version, destinationName, versionCreatedTime, tagKeys]),
  );
}

/**
 * The token of the release before tag-key records were bound to versions (same inputs, no
 * record). Only compared with, never written: its secrets are ours, but their record is not proven.
 */
export function previousRequestTokenFor(input: Omit<TokenInput, "tagKeys">): string {
  const { syncName, source, sourcePath, version, destinationName, versionCreatedTime = "" } = input;
  return uuidLayout(JSON.stringify(["secretbridge/v2", syncName, source.id, source.namespace ?? "", source.mount, sourcePath, version, destinationName, versionCreatedTime]));
}

/**
 * The token releases before 0.2 derived from the source address (as recorded in the secret's
 * `secretbridge:source` tag). Only compared with, never written: it lets secrets written by those
 * releases be recognised as ours without a new version.
 */
export function legacyRequestTokenFor(input: Omit<TokenInput, "tagKeys">, recordedAddress: string): string {
  const { syncName, source, sourcePath, version, destinationName, versionCreatedTime = "" } = input;
  return uuidLayout(JSON.stringify(["secretbridge/v1", syncName, recordedAddress, source.namespace ?? "", source.mount, sourcePath, version, destinationName, versionCreatedTime]));
}

/**
 * KV v1 has no versions: the token of a create. A later write on the secret derives its token
 * from this one and the version id it replaces (`driftRepairTokenFor`), so each write is a new
 * version and a retry is still one.
 */
export function kv1RequestTokenFor(input: Omit<TokenInput, "version" | "versionCreatedTime">): string {
  const { syncName, source, sourcePath, destinationName, tagKeys } = input;
  return uuidLayout(JSON.stringify(["secretbridge/kv1/v1", syncName, source.id, source.namespace ?? "", source.mount, sourcePath, destinationName, tagKeys]));
}

/**
 * Token for a write that replaces a version someone else made current (drift repair, and every
 * KV v1 write on an existing secret): derived from our own token and that version's id, so a
 * repair retried after a crash is still one version.
 */
export function driftRepairTokenFor(ourToken: string, driftedVersionId: string): string {
  return uuidLayout(JSON.stringify(["secretbridge/drift-repair/v1", ourToken, driftedVersionId]));
}

function uuidLayout(input: string): string {
  const digest = createHash("sha256").update(input).digest("hex");
  // UUID layout (36 characters) is inside AWS's 32-64 range and reads as a version id.
  return `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
}
