// The contract every destination system implements: list (names and tags only), create, put a
// new value, set tags. Policy (what to write, whether we own it) is decided by the core planner.
import type { DestinationInventory } from "../core/model.js";

export interface CreateSecretRequest {
  name: string;
  /** Exactly one of secretString and secretBinary. */
  secretString?: string;
  secretBinary?: Uint8Array;
  requestToken: string;
  tags: Record<string, string>;
  kmsKeyId?: string;
  description?: string;
  replicas?: { region: string; kmsKeyId?: string }[];
}

export interface PutSecretValueRequest {
  name: string;
  secretString?: string;
  secretBinary?: Uint8Array;
  requestToken: string;
}

export interface SecretDestination {
  /**
   * Proves the destination answers and accepts the credentials.
   * Throws SyncError with class destination-unavailable / destination-auth.
   */
  validate(): Promise<void>;
  /** Every secret whose name starts with `prefix`, with tags; paginated, no per-secret calls. */
  inventory(prefix: string): Promise<DestinationInventory>;
  /** Metadata of just these names (push triggers); names that do not exist are left out. */
  describe(names: string[]): Promise<DestinationInventory>;
  create(request: CreateSecretRequest): Promise<void>;
  putValue(request: PutSecretValueRequest): Promise<void>;
  /** Adds or overwrites the given tags (others are left as they are). */
  tag(name: string, tags: Record<string, string>): Promise<void>;
  /** Current string values of the named secrets, batched (KV v1 comparison, verify). */
  readValues(names: string[]): Promise<Map<string, string>>;
  removeTags(name: string, keys: string[]): Promise<void>;
  /** Adds and removes replica Regions so the secret has exactly these. */
  setReplicas(name: string, replicas: { region: string; kmsKeyId?: string }[]): Promise<void>;
  /** Sets (or, with undefined, removes) the secret's resource policy. */
  setResourcePolicy(name: string, policy: string | undefined): Promise<void>;
  /** Cancels a scheduled deletion. */
  restore(name: string): Promise<void>;
  /** Deletes (removing replica Regions first: AWS refuses to delete a primary that has them). */
  delete(name: string, options: { recoveryWindowDays?: number; forceDeleteWithoutRecovery?: boolean }): Promise<void>;
  close(): Promise<void>;
}
