// An in-memory KV mount for tests: the SecretSource contract over a map of paths, with KV v2
// versions (soft delete, destroy, custom metadata, creation times) or KV v1 (no versions, an
// in-memory fingerprint), per-path and listing failure injection, paths a filtered listing hides
// while they still exist, and a record of value and metadata reads.
import { SyncError, type ErrorClass } from "../../src/core/errors.js";
import type { Fact, InventoryProblem, SourceInventory, SourceSecretMeta } from "../../src/core/model.js";
import { displayPath, hasLoneSurrogate } from "../../src/core/paths.js";
import { valueFingerprint } from "../../src/core/value.js";
import { inventoryFromMetadata, type SecretData, type SecretSource, type SourceCapabilities, type SourceIdentity } from "../../src/sources/source.js";

interface StoredVersion {
  data: SecretData;
  createdTime: string;
  deletionTime?: string;
  destroyed: boolean;
}

interface StoredPath {
  /** KV v2: versions by number (1, 2, ...). KV v1: only the latest, under 0. */
  versions: Map<number, StoredVersion>;
  currentVersion: number;
  updatedTime: string;
  customMetadata?: Record<string, string>;
}

export interface MemorySourceOptions {
  mount?: string;
  address?: string;
  kvVersion?: 1 | 2;
  /** Only paths under this sub-path are listed by `inventory()` (as `source.path` does). */
  path?: string;
  /** The clock for created / updated / deletion times; default the wall clock. */
  now?: () => Date;
  /** The mount does not exist: every call is source-not-found, as the Vault source says it (KV version auto). */
  mountMissing?: boolean;
}

export class MemorySource implements SecretSource {
  readonly identity: SourceIdentity;
  readonly kvVersion: 1 | 2;
  /** Paths whose value was read, in order (one entry per readValue call, failed ones included). */
  readonly reads: string[] = [];
  /** Paths whose metadata was read one by one (`readMetadata`), in order. */
  readonly metadataReads: string[] = [];
  /** How many times `inventory()` / `inventoryOf()` ran. */
  listings = 0;
  closed = false;
  private readonly paths = new Map<string, StoredPath>();
  private readonly subPath: string;
  private readonly now: () => Date;
  private readonly readFailures = new Map<string, ErrorClass>();
  private readonly folderFailures = new Map<string, ErrorClass>();
  private readonly hidden = new Map<string, "readable" | "denied">();
  private listingFailure?: ErrorClass;
  private validateFailure?: ErrorClass;
  private readonly mountMissing: boolean;

  constructor(options: MemorySourceOptions = {}) {
    this.kvVersion = options.kvVersion ?? 2;
    this.subPath = (options.path ?? "").replace(/^\/+|\/+$/g, "");
    this.now = options.now ?? (() => new Date());
    this.identity = { kind: "memory", address: options.address ?? "memory://source", mount: options.mount ?? "kv" };
    this.mountMissing = options.mountMissing ?? false;
  }

  // ---- writing, as a Vault user would ----------------------------------------------------------

  /** Writes a new version (KV v2: the next number; KV v1: replaces the value). Returns the version, null on v1. */
  put(path: string, data: SecretData, options: { createdTime?: string } = {}): number | null {
    const time = options.createdTime ?? this.now().toISOString();
    const stored = this.paths.get(path) ?? { versions: new Map<number, StoredVersion>(), currentVersion: 0, updatedTime: time };
    const version = this.kvVersion === 1 ? 0 : stored.currentVersion + 1;
    // Kept as given, not cloned: a value may be pathologically deep on purpose (structuredClone
    // would overflow on it), and nothing here mutates it.
    stored.versions.set(version, { data, createdTime: time, destroyed: false });
    stored.currentVersion = version;
    stored.updatedTime = time;
    this.paths.set(path, stored);
    return this.kvVersion === 1 ? null : version;
  }

  /**
   * KV v2: marks the version deleted (default the current one; `undelete` can bring it back).
   * KV v1: removes the secret, as a v1 delete does.
   */
  softDelete(path: string, version?: number): void {
    const stored = this.mustExist(path);
    if (this.kvVersion === 1) {
      this.paths.delete(path);
      return;
    }
    const v = stored.versions.get(version ?? stored.currentVersion);
    if (!v) throw new Error(`MemorySource: ${path} has no version ${version ?? stored.currentVersion}`);
    // OpenBao keeps updated_time on a delete (it moves with data and metadata writes only).
    v.deletionTime = this.now().toISOString();
  }

  undelete(path: string, version?: number): void {
    const stored = this.mustExist(path);
    const v = stored.versions.get(version ?? stored.currentVersion);
    if (v) delete v.deletionTime;
  }

  /** KV v2: destroys the data of a version (default the current one) for good; the metadata stays. */
  destroy(path: string, version?: number): void {
    const stored = this.mustExist(path);
    const v = stored.versions.get(version ?? stored.currentVersion);
    if (!v) throw new Error(`MemorySource: ${path} has no version ${version ?? stored.currentVersion}`);
    // As a delete: updated_time stays.
    v.destroyed = true;
    v.data = {};
  }

  /** Deletes the metadata and every version (`kv metadata delete`): the path is gone; a new put starts at version 1. */
  remove(path: string): void {
    this.paths.delete(path);
  }

  /** Sets the path's custom metadata (KV v2); the path may have no version yet. */
  setCustomMetadata(path: string, metadata: Record<string, string> | undefined): void {
    const stored = this.paths.get(path) ?? { versions: new Map<number, StoredVersion>(), currentVersion: 0, updatedTime: this.now().toISOString() };
    // A metadata write moves updated_time, as a data write does.
    stored.updatedTime = this.now().toISOString();
    if (metadata === undefined) delete stored.customMetadata;
    else stored.customMetadata = { ...metadata };
    this.paths.set(path, stored);
  }

  /** The data of a version as stored (default the current one), for assertions. */
  data(path: string, version?: number): SecretData | undefined {
    const stored = this.paths.get(path);
    const v = stored?.versions.get(version ?? stored.currentVersion);
    return v ? structuredClone(v.data) : undefined;
  }

  // ---- failure injection ---------------------------------------------------------------------

  /** readValue of this path throws a SyncError of this class until `clearFailures()`. */
  failRead(path: string, errorClass: ErrorClass): void {
    this.readFailures.set(path, errorClass);
  }

  /**
   * Without a folder: inventory() and inventoryOf() throw a SyncError of this class. With a
   * folder (`team/`): the secrets below it are left out and reported as an inventory problem, as
   * a subtree the token may not list.
   */
  failListing(errorClass: ErrorClass, folder?: string): void {
    if (folder === undefined) this.listingFailure = errorClass;
    else this.folderFailures.set(folder.endsWith("/") ? folder : `${folder}/`, errorClass);
  }

  /**
   * The path still exists but `inventory()` leaves it out, as an OpenBao listing filtered by a
   * policy (`list_scan_response_keys_filter_path`) does. Its metadata read answers (`readable`)
   * or is refused with permission-denied (`denied`).
   */
  hideFromListing(path: string, metadata: "readable" | "denied"): void {
    this.hidden.set(path, metadata);
  }

  /** validate() throws a SyncError of this class (source-unavailable, source-sealed, source-auth ...). */
  failValidate(errorClass: ErrorClass): void {
    this.validateFailure = errorClass;
  }

  clearFailures(): void {
    this.readFailures.clear();
    this.folderFailures.clear();
    this.hidden.clear();
    this.listingFailure = undefined;
    this.validateFailure = undefined;
  }

  // ---- SecretSource --------------------------------------------------------------------------

  async validate(): Promise<SourceCapabilities> {
    this.throwIfMountMissing();
    if (this.validateFailure) throw new SyncError(this.validateFailure, `${this.identity.address}: injected ${this.validateFailure}`);
    // KV v2 answers as OpenBao with the scan allowed; KV v1 has no metadata, as with the Vault source.
    const listingMethod = this.listingMethod();
    return { kvVersion: this.kvVersion, recursiveMetadataScan: listingMethod === "detailed-metadata-scan", listingMethod };
  }

  async inventory(): Promise<SourceInventory> {
    this.listings += 1;
    this.throwIfMountMissing();
    this.throwListingFailure();
    const root = this.subPath ? `${this.subPath}/` : "";
    const problems: InventoryProblem[] = [];
    for (const [folder, errorClass] of this.folderFailures) {
      if (!folder.startsWith(root)) continue;
      // A refusal reads as the Vault source words it; any other class says which it was.
      const why = errorClass === "permission-denied" ? "listing denied by the token's policy" : `listing failed (${errorClass})`;
      problems.push({ path: folder, errorClass, message: `${folder}: ${why}; secrets below it are not replicated` });
    }
    const secrets = [...this.paths.keys()]
      .filter((path) => path.startsWith(root) && !this.hidden.has(path) && ![...this.folderFailures.keys()].some((folder) => path.startsWith(folder)))
      .sort()
      .map((path) => this.meta(path));
    return { secrets, problems, method: this.listingMethod() };
  }

  /** As the Vault source's: one metadata read per path (a hidden path is found, or refused). */
  async inventoryOf(paths: string[]): Promise<SourceInventory> {
    this.listings += 1;
    return inventoryFromMetadata(paths, await this.readMetadata(paths), this.listingMethod());
  }

  /** One metadata read per path, as the Vault source's: found (any state), null when absent, or that path's error. */
  async readMetadata(paths: string[]): Promise<Map<string, Fact<SourceSecretMeta | null>>> {
    this.throwIfMountMissing();
    this.throwListingFailure();
    const out = new Map<string, Fact<SourceSecretMeta | null>>();
    for (const path of paths) {
      this.metadataReads.push(path);
      if (hasLoneSurrogate(path)) {
        // The Vault source cannot put such a path in a URL: that path's failure, never an absence.
        out.set(path, { error: { errorClass: "source-read-failed", message: `${displayPath(path)}: cannot be read (URIError); the rest of the run goes on` } });
      } else if (this.hidden.get(path) === "denied") {
        out.set(path, { error: { errorClass: "permission-denied", message: `${path}: metadata not readable (permission-denied)` } });
      } else out.set(path, { ok: this.paths.has(path) ? this.meta(path) : null });
    }
    return out;
  }

  async readValue(path: string, version: number | null): Promise<SecretData> {
    this.reads.push(path);
    this.throwIfMountMissing();
    const injected = this.readFailures.get(path);
    if (injected) throw new SyncError(injected, `${path}: injected ${injected}`, path);
    const stored = this.paths.get(path);
    // KV v1 has no versions to speak of: the Vault source gives the request that found nothing.
    if (!stored && this.kvVersion === 1) throw new SyncError("source-not-found", `GET ${this.identity.mount}/${path}: HTTP 404`, path);
    const v = stored?.versions.get(this.kvVersion === 1 ? 0 : (version ?? stored.currentVersion));
    if (!v || v.destroyed || (v.deletionTime !== undefined && Date.parse(v.deletionTime) <= this.now().getTime())) {
      throw new SyncError("source-not-found", `${path}: version ${version ?? "latest"} is deleted or destroyed in the source; the next run replans it`, path);
    }
    return v.data;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---- helpers -------------------------------------------------------------------------------

  private listingMethod(): SourceInventory["method"] {
    return this.kvVersion === 1 ? "kv-v1-list-and-read" : "detailed-metadata-scan";
  }

  private throwIfMountMissing(): void {
    if (!this.mountMissing) return;
    const { mount, address } = this.identity;
    throw new SyncError("source-not-found", `mount ${mount} does not exist on ${address}, or the token's policy allows nothing on it: check source.mount, and grant "read" and "list" on "${mount}/*"`);
  }

  private throwListingFailure(): void {
    if (this.listingFailure) throw new SyncError(this.listingFailure, `LIST ${this.identity.mount}/${this.subPath}: injected ${this.listingFailure}`);
  }

  /** Metadata as the Vault source maps it (its `toMeta`); KV v1 has a fingerprint instead of a version. */
  private meta(path: string): SourceSecretMeta {
    const stored = this.paths.get(path) as StoredPath;
    if (this.kvVersion === 1) {
      return { path, version: null, state: "present", fingerprint: valueFingerprint(stored.versions.get(0)?.data ?? {}) };
    }
    const current = stored.versions.get(stored.currentVersion);
    let state: SourceSecretMeta["state"] = "present";
    if (stored.currentVersion === 0) state = "deleted";
    else if (current?.destroyed) state = "destroyed";
    else if (current?.deletionTime && Date.parse(current.deletionTime) <= this.now().getTime()) state = "deleted";
    return {
      path,
      version: stored.currentVersion,
      state,
      updatedTime: stored.updatedTime,
      ...(current ? { versionCreatedTime: current.createdTime } : {}),
      ...(stored.customMetadata ? { customMetadata: { ...stored.customMetadata } } : {}),
    };
  }

  private mustExist(path: string): StoredPath {
    const stored = this.paths.get(path);
    if (!stored) throw new Error(`MemorySource: no secret at ${path}`);
    return stored;
  }
}
