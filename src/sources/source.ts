// The contract every source system implements. Inventory (cheap, metadata only) is separate from
// value reads, which the engine asks for only for the secrets a plan creates or updates.
import type { Fact, InventoryProblem, SourceInventory, SourceListingMethod, SourceSecretMeta } from "../core/model.js";
import { displayPath } from "../core/paths.js";

/** The KV map of one secret version. Treat as radioactive: never log, never put in an error. */
export type SecretData = Record<string, unknown>;

export interface SourceIdentity {
  /** e.g. `vault` */
  kind: string;
  /** Server address as configured, e.g. `https://vault.example.com:8200`. */
  address: string;
  /** Mount (KV engine path) without slashes, e.g. `hybrid-aws-secrets`. */
  mount: string;
  /** Vault Enterprise / OpenBao namespace, when one is used. */
  namespace?: string;
}

export interface SourceCapabilities {
  kvVersion: 1 | 2;
  /** OpenBao's recursive `SCAN .../detailed-metadata/`: a no-change inventory in a few calls. */
  recursiveMetadataScan: boolean;
  /** The listing the inventory will use, as detected for this server and token. */
  listingMethod: SourceListingMethod;
}

export interface SecretSource {
  readonly identity: SourceIdentity;
  /**
   * Proves the server answers, is unsealed and accepts the credentials, and that the mount exists.
   * Throws SyncError with class source-unavailable / source-sealed / source-auth.
   */
  validate(): Promise<SourceCapabilities>;
  /** Lists every secret under the configured sub-path, recursively, with metadata only. */
  inventory(): Promise<SourceInventory>;
  /** Metadata of just these paths (push triggers); paths that do not exist are left out. */
  inventoryOf(paths: string[]): Promise<SourceInventory>;
  /**
   * One metadata read per path, the authority on whether it exists: the secret (its current
   * version may be deleted or destroyed), null when the source answers that there is no such
   * path, or why it could not be read (refused, any other answer) for that path only. A listing
   * can leave out a path that exists (a filtered listing); this read cannot. Throws only when the
   * source as a whole is unusable (a fatal class).
   */
  readMetadata(paths: string[]): Promise<Map<string, Fact<SourceSecretMeta | null>>>;
  /**
   * Reads one secret version's data. `version` is the KV v2 version the plan was made for, so the
   * value written always matches the version tagged; `null` on KV v1.
   * Throws SyncError (permission-denied, source-not-found, source-read-failed ...) with the path.
   */
  readValue(path: string, version: number | null): Promise<SecretData>;
  /**
   * Push triggers, where a changed path is nearly always written next: its inventory and its
   * current value from one read per path where the source can (KV v2: the data read names the
   * version, its creation time and custom metadata). `values` holds the version each value is of;
   * a path it leaves out (absent, deleted, unreadable) is inventoried as `inventoryOf` would.
   * Optional: without it the engine reads metadata, then the value.
   */
  inventoryWithValues?(paths: string[]): Promise<{ inventory: SourceInventory; values: Map<string, { version: number; data: SecretData }> }>;
  close(): Promise<void>;
}

/**
 * The inventory of named paths from their metadata reads (`readMetadata`): found paths are
 * secrets, absent ones are left out, unreadable ones are problems named by their path as shown
 * (escaped), as every other problem is. One function for every source's `inventoryOf`.
 */
export function inventoryFromMetadata(paths: readonly string[], read: ReadonlyMap<string, Fact<SourceSecretMeta | null>>, method: SourceListingMethod): SourceInventory {
  const secrets: SourceSecretMeta[] = [];
  const problems: InventoryProblem[] = [];
  for (const path of paths) {
    const fact = read.get(path);
    if (fact && "error" in fact) problems.push({ path: displayPath(path), ...fact.error });
    else if (fact?.ok) secrets.push(fact.ok);
  }
  return { secrets, problems, method };
}
