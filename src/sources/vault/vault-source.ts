// Vault / OpenBao KV (v1 and v2) as a secretbridge source. Inventory is metadata only and uses the
// cheapest listing the server and token allow:
//   1. OpenBao's recursive `SCAN <mount>/detailed-metadata/<folder>/`: one detailed LIST of the base
//      folder, then one SCAN per sub-folder (a handful of calls for any number of secrets);
//   2. OpenBao's `LIST <mount>/detailed-metadata/<folder>/`: one call per folder, metadata included;
//   3. Vault: `LIST <mount>/metadata/<folder>/` per folder plus `GET metadata` per secret;
//   4. KV v1 (no metadata): LIST per folder plus one value read per secret, kept as a fingerprint.
// Values are read only on request, at the exact version the plan was made for.
import pLimit from "p-limit";
import { FATAL_CLASSES, SyncError } from "../../core/errors.js";
import type { Fact, InventoryProblem, SourceInventory, SourceListingMethod, SourceSecretMeta } from "../../core/model.js";
import { valueFingerprint } from "../../core/value.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import type { Logger } from "../../util/logger.js";
import type { SecretData, SecretSource, SourceCapabilities, SourceIdentity } from "../source.js";
import { displayAddress, isTimeout, VaultHttp, type TokenSource, type VaultTlsOptions } from "./http.js";

export interface VaultSourceOptions {
  address: string;
  /** A fixed token, or where to get the current one (a TokenKeeper that logs in again). */
  token: string | TokenSource;
  namespace?: string;
  /** KV mount, without slashes. */
  mount: string;
  /** Optional sub-path under the mount; inventory paths stay relative to the mount. */
  path?: string;
  kvVersion?: 1 | 2 | "auto";
  tls?: VaultTlsOptions;
  /** Bounded concurrency for LIST / metadata / value reads. */
  concurrency?: number;
  timeoutMs?: number;
  maxAttempts?: number;
  recorder?: ApiCallRecorder;
  /**
   * Page size for LIST on detailed-metadata (default 1000). A policy `pagination_limit` below it
   * makes OpenBao refuse the LIST (403) rather than cut it short, so lower it to match.
   */
  listPageSize?: number;
  /** Where the one-time notice about a token whose TTL cannot be known goes. */
  logger?: Logger;
}

/** A folder name no one uses, so the capability probe never scans a real subtree. */
const SCAN_PROBE = ".secretbridge-scan-probe";

interface KeyInfo {
  current_version?: number;
  updated_time?: string;
  custom_metadata?: Record<string, string> | null;
  versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }>;
}

interface ListBody {
  data?: { keys?: string[]; key_info?: Record<string, KeyInfo> };
}

export class VaultKvSource implements SecretSource {
  readonly identity: SourceIdentity;
  private readonly http: VaultHttp;
  private readonly limit: ReturnType<typeof pLimit>;
  /** SCANs are heavy on the server (each walks a whole subtree): fewer at once than other reads. */
  private readonly scanLimit: ReturnType<typeof pLimit>;
  private readonly subPath: string;
  private capabilities?: SourceCapabilities;

  constructor(private readonly options: VaultSourceOptions) {
    this.http = new VaultHttp({
      address: options.address,
      token: options.token,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
      timeoutMs: options.timeoutMs ?? 10_000,
      maxAttempts: options.maxAttempts ?? 4,
      connections: options.concurrency ?? 16,
      ...(options.recorder ? { recorder: options.recorder } : {}),
    });
    this.limit = pLimit(options.concurrency ?? 16);
    this.scanLimit = pLimit(Math.min(4, options.concurrency ?? 16));
    this.subPath = (options.path ?? "").replace(/^\/+|\/+$/g, "");
    this.identity = {
      kind: "vault",
      address: options.address,
      mount: options.mount,
      ...(options.namespace ? { namespace: options.namespace } : {}),
    };
  }

  async validate(): Promise<SourceCapabilities> {
    if (this.capabilities) return this.capabilities;
    const ttlKnown = await this.checkToken();
    const configured = this.options.kvVersion === 1 || this.options.kvVersion === 2 ? this.options.kvVersion : undefined;
    let kvVersion: 1 | 2;
    try {
      kvVersion = await this.detectKvVersion();
    } catch (error) {
      // A token that may not read the mount's info can still use a configured version.
      if (configured === undefined || !(error instanceof SyncError) || error.errorClass !== "source-not-found") throw error;
      kvVersion = configured;
    }
    if (configured !== undefined && configured !== kvVersion) {
      // A v1 mount read as v2 lists as empty: that must never look like "everything was deleted".
      throw new SyncError("config-invalid", `source.kvVersion is ${configured} but mount ${this.options.mount} is KV v${kvVersion}: fix source.kvVersion (or use auto)`);
    }
    const method = kvVersion === 1 ? "kv-v1-list-and-read" : await this.detectListing();
    this.capabilities = { kvVersion, recursiveMetadataScan: method === "detailed-metadata-scan", listingMethod: method };
    if (!ttlKnown) {
      this.options.logger?.info(
        { address: displayAddress(this.options.address), mount: this.options.mount },
        "the Vault token's TTL is unknown (its policy does not allow auth/token/lookup-self): secretbridge cannot tell when it expires and does not renew it",
      );
    }
    return this.capabilities;
  }

  /**
   * Proves the server accepts the token; false when it does but the token's TTL cannot be known.
   * lookup-self is the check, and tells the TTL. It is optional in the policy, and a valid token
   * without it is refused (403) just like a dead one, so then the list of mounts, which every
   * valid token may read, tells the two apart.
   */
  private async checkToken(): Promise<boolean> {
    const token = this.options.token;
    // A static token (config, environment, file) is nobody else's to renew: a periodic token (or
    // one with a TTL) past half its life is renewed here, once per run, so a scheduled CLI or
    // Lambda run keeps it alive. A logged-in token is renewed by its TokenKeeper.
    const isStatic = typeof token === "string" || !token.loggedIn;
    // The mount list below answers a request without a token too, so it proves nothing then.
    if (!(typeof token === "string" ? token : token.current())) {
      throw new SyncError("source-auth", `no token to send to ${displayAddress(this.options.address)} yet: the login has not succeeded`);
    }
    try {
      const self = await this.http.send<{ data?: TokenInfo }>("lookup-self", "GET", "auth/token/lookup-self", { accept: [403] });
      if (self.status === 200) {
        if (isStatic && needsRenewal(self.body?.data)) {
          await this.http.send("renew-self", "POST", "auth/token/renew-self", { body: {} }).catch(() => undefined);
        }
        return true;
      }
      // Not `accept`ed: a refusal here goes through the token source, which may have a new token.
      await this.http.send("list-mounts", "GET", "sys/internal/ui/mounts");
      return !isStatic;
    } catch (error) {
      if (error instanceof SyncError && (error.errorClass === "permission-denied" || error.errorClass === "source-auth")) {
        throw new SyncError("source-auth", `${displayAddress(this.options.address)} refused the token: it is invalid, expired or revoked (not a policy problem): log in again or replace it`);
      }
      throw error;
    }
  }

  private async detectKvVersion(): Promise<1 | 2> {
    let res;
    try {
      res = await this.http.send<{ data?: { type?: string; options?: { version?: string } | null } }>("mount-info", "GET", `sys/internal/ui/mounts/${this.options.mount}`);
    } catch (error) {
      if (error instanceof SyncError && (error.errorClass === "permission-denied" || error.errorClass === "source-not-found")) {
        throw new SyncError(
          "source-not-found",
          `mount ${this.options.mount} does not exist on ${displayAddress(this.options.address)}, or the token's policy allows nothing on it: check source.mount, and grant "read" and "list" on "${this.options.mount}/*"`,
        );
      }
      throw error;
    }
    const type = res.body.data?.type;
    if (type !== "kv" && type !== "generic") {
      throw new SyncError("config-invalid", `mount ${this.options.mount} is a ${type ?? "unknown"} engine, not KV: check source.mount`);
    }
    return res.body.data?.options?.version === "2" ? 2 : 1;
  }

  /** Picks the cheapest listing this server and token allow; see the module comment. */
  private async detectListing(): Promise<SourceListingMethod> {
    // SCAN has no pagination (it ignores after/limit), so probing the real tree would cost a full
    // scan. A child that does not exist is matched by the same policy globs and answers 200 with no
    // keys when scan works, 403 without the `scan` capability, 404/405 where SCAN or
    // detailed-metadata is unknown (Vault, old OpenBao).
    const base = this.subPath ? `${this.subPath}/` : "";
    const scan = await this.http.send<ListBody>("scan-detailed-metadata", "SCAN", `${this.options.mount}/detailed-metadata/${this.folderPath(`${base}${SCAN_PROBE}/`)}`, {
      accept: [400, 403, 404, 405, 501],
    });
    if (scan.status === 200) return "detailed-metadata-scan";
    const list = await this.http.send<{ errors?: string[] }>("list-detailed-metadata", "LIST", `${this.options.mount}/detailed-metadata/${this.folderPath(base)}?limit=1`, {
      accept: [400, 403, 404, 405, 501],
    });
    // An empty folder answers 404 with no errors; Vault answers 404 "unsupported path".
    if (list.status === 200 || (list.status === 404 && (list.body?.errors ?? []).length === 0)) return "detailed-metadata-list";
    return "list-and-metadata";
  }

  async inventory(): Promise<SourceInventory> {
    const caps = await this.validate();
    const problems: InventoryProblem[] = [];
    let secrets: SourceSecretMeta[];
    switch (caps.listingMethod) {
      case "detailed-metadata-scan":
        secrets = await this.scanInventory(problems);
        break;
      case "detailed-metadata-list":
        secrets = await this.walk(problems, (folder) => this.listDetailed(folder));
        break;
      case "kv-v1-list-and-read":
        secrets = await this.walkV1(problems);
        break;
      default:
        secrets = await this.walk(problems, (folder) => this.listThenReadMetadata(folder, problems));
    }
    secrets.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { secrets, problems, method: caps.listingMethod };
  }

  async inventoryOf(paths: string[]): Promise<SourceInventory> {
    const caps = await this.validate();
    const read = await this.readMetadata(paths);
    const secrets: SourceSecretMeta[] = [];
    const problems: InventoryProblem[] = [];
    for (const path of paths) {
      const fact = read.get(path);
      if (fact && "error" in fact) problems.push({ path, ...fact.error });
      else if (fact?.ok) secrets.push(fact.ok);
    }
    return { secrets, problems, method: caps.listingMethod };
  }

  async readMetadata(paths: string[]): Promise<Map<string, Fact<SourceSecretMeta | null>>> {
    const caps = await this.validate();
    const out = new Map<string, Fact<SourceSecretMeta | null>>();
    await Promise.all(
      paths.map((path) =>
        this.limit(async () => {
          try {
            if (caps.kvVersion === 1) {
              const res = await this.http.send<{ data?: SecretData }>("read-data", "GET", `${this.options.mount}/${encodePath(path)}`, { secretPath: path, accept: [404] });
              out.set(path, { ok: res.status === 404 ? null : { path, version: null, state: "present", fingerprint: valueFingerprint(res.body?.data ?? {}) } });
              return;
            }
            const res = await this.http.send<{ data?: KeyInfo }>("read-metadata", "GET", `${this.options.mount}/metadata/${encodePath(path)}`, { secretPath: path, accept: [404] });
            out.set(path, { ok: res.status === 404 ? null : toMeta(path, res.body?.data ?? {}) });
          } catch (error) {
            // One path the server refuses (denied, a 4xx for this path) is that path's fact: it
            // could not be read, so nothing is concluded about it. Only a source that is unusable
            // as a whole stops the run.
            if (error instanceof SyncError && !FATAL_CLASSES.has(error.errorClass)) {
              const message = error.errorClass === "permission-denied" ? `${path}: metadata not readable (permission-denied)` : error.message;
              out.set(path, { error: { errorClass: error.errorClass, message } });
              return;
            }
            throw error;
          }
        }),
      ),
    );
    return out;
  }

  async readValue(path: string, version: number | null): Promise<SecretData> {
    const caps = await this.validate();
    return this.limit(async () => {
      if (caps.kvVersion === 1) {
        const res = await this.http.send<{ data?: SecretData }>("read-data", "GET", `${this.options.mount}/${encodePath(path)}`, { secretPath: path });
        return res.body.data ?? {};
      }
      const query = version === null ? "" : `?version=${version}`;
      const res = await this.http.send<{ data?: { data?: SecretData | null } }>("read-data", "GET", `${this.options.mount}/data/${encodePath(path)}${query}`, {
        secretPath: path,
        accept: [404],
      });
      const data = res.body?.data?.data;
      if (res.status === 404 || data === null || data === undefined) {
        throw new SyncError("source-not-found", `${path}: version ${version ?? "latest"} is deleted or destroyed in the source; the next run replans it`, path);
      }
      return data;
    });
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  // ---- listing strategies ------------------------------------------------------------------

  private folderPath(relative: string): string {
    return encodePath(relative);
  }

  /**
   * OpenBao's SCAN is recursive but not paginated (2.7.2 ignores `after`/`limit` on it), and its
   * one answer grows with the tree: 100,000 secrets are a 46 MB answer after 16 s, past any sane
   * request timeout and held in memory whole. So the tree is cut at the top: one detailed LIST of
   * the base folder (paginated: its own secrets and its sub-folders), then one SCAN per
   * sub-folder, a few at a time. A sub-folder whose SCAN times out is cut again the same way.
   * SCAN checks the policy on the requested path only, so a `deny` deeper than a sub-folder does
   * not hide its keys (it does for LIST): such secrets are listed and their value reads fail per
   * secret. A denied sub-folder is an inventory problem, as with LIST.
   */
  private async scanInventory(problems: InventoryProblem[]): Promise<SourceSecretMeta[]> {
    return this.scanBelow(this.subPath ? `${this.subPath}/` : "", problems);
  }

  private async scanBelow(folder: string, problems: InventoryProblem[]): Promise<SourceSecretMeta[]> {
    const listed = await this.listDetailed(folder);
    const nested = await Promise.all(listed.folders.map((sub) => this.scanFolder(sub, problems)));
    return listed.secrets.concat(...nested);
  }

  private async scanFolder(folder: string, problems: InventoryProblem[]): Promise<SourceSecretMeta[]> {
    try {
      const res = await this.scanLimit(() =>
        this.http.send<ListBody>("scan-detailed-metadata", "SCAN", `${this.options.mount}/detailed-metadata/${this.folderPath(folder)}`, {
          accept: [404],
          retryTimeouts: false,
        }),
      );
      assertListable(res, this.options.mount, `detailed-metadata/${folder}`);
      const keys = res.body?.data?.keys ?? [];
      const info = res.body?.data?.key_info ?? {};
      return keys.filter((k) => !k.endsWith("/")).map((k) => toMeta(`${folder}${k}`, info[k] ?? {}));
    } catch (error) {
      if (isTimeout(error)) return this.scanBelow(folder, problems);
      if (!(error instanceof SyncError) || error.errorClass !== "permission-denied") throw error;
      problems.push({ path: folder, errorClass: "permission-denied", message: `${folder}: listing denied by the token's policy; secrets below it are not replicated` });
      return [];
    }
  }

  /**
   * Breadth-first walk from the sub-path. `listFolder` returns the secrets in a folder and its
   * sub-folders; a denied folder becomes a problem and the walk goes on.
   */
  private async walk(
    problems: InventoryProblem[],
    listFolder: (folder: string) => Promise<{ secrets: SourceSecretMeta[]; folders: string[] }>,
  ): Promise<SourceSecretMeta[]> {
    const out: SourceSecretMeta[] = [];
    const root = this.subPath ? `${this.subPath}/` : "";
    const visit = async (folder: string): Promise<void> => {
      let listed;
      try {
        listed = await listFolder(folder);
      } catch (error) {
        // The root must list, or the run would mistake "unreadable" for "empty".
        if (folder === root || !(error instanceof SyncError) || error.errorClass !== "permission-denied") throw error;
        problems.push({ path: folder, errorClass: "permission-denied", message: `${folder}: listing denied by the token's policy; secrets below it are not replicated` });
        return;
      }
      out.push(...listed.secrets);
      await Promise.all(listed.folders.map((f) => visit(f)));
    };
    await visit(root);
    return out;
  }

  private async listDetailed(folder: string): Promise<{ secrets: SourceSecretMeta[]; folders: string[] }> {
    const secrets: SourceSecretMeta[] = [];
    const folders: string[] = [];
    const pageSize = this.options.listPageSize ?? 1000;
    let after: string | undefined;
    for (;;) {
      const query = `?limit=${pageSize}${after ? `&after=${encodeURIComponent(after)}` : ""}`;
      const res = await this.limit(() =>
        this.http.send<ListBody>("list-detailed-metadata", "LIST", `${this.options.mount}/detailed-metadata/${this.folderPath(folder)}${query}`, {
          accept: [404],
        }),
      );
      assertListable(res, this.options.mount, `detailed-metadata/${folder}`);
      const keys = res.body?.data?.keys ?? [];
      const info = res.body?.data?.key_info ?? {};
      for (const key of keys) {
        if (key.endsWith("/")) folders.push(`${folder}${key}`);
        else secrets.push(toMeta(`${folder}${key}`, info[key] ?? {}));
      }
      if (keys.length < pageSize) break;
      after = keys[keys.length - 1];
    }
    return { secrets, folders };
  }

  private async listKeys(prefix: "metadata/" | "", folder: string): Promise<string[]> {
    const res = await this.limit(() =>
      this.http.send<ListBody>("list-metadata", "LIST", `${this.options.mount}/${prefix}${this.folderPath(folder)}`, { accept: [404] }),
    );
    assertListable(res, this.options.mount, `${prefix}${folder}`);
    return res.body?.data?.keys ?? [];
  }

  private async listThenReadMetadata(folder: string, problems: InventoryProblem[]): Promise<{ secrets: SourceSecretMeta[]; folders: string[] }> {
    const keys = await this.listKeys("metadata/", folder);
    const folders = keys.filter((k) => k.endsWith("/")).map((k) => `${folder}${k}`);
    const secrets = await Promise.all(
      keys
        .filter((k) => !k.endsWith("/"))
        .map(async (k) => {
          const path = `${folder}${k}`;
          try {
            const res = await this.limit(() =>
              this.http.send<{ data?: KeyInfo }>("read-metadata", "GET", `${this.options.mount}/metadata/${encodePath(path)}`, { secretPath: path }),
            );
            return toMeta(path, res.body?.data ?? {});
          } catch (error) {
            if (error instanceof SyncError && (error.errorClass === "permission-denied" || error.errorClass === "source-not-found")) {
              problems.push({ path, errorClass: error.errorClass, message: `${path}: metadata not readable (${error.errorClass})` });
              return undefined;
            }
            throw error;
          }
        }),
    );
    return { secrets: secrets.filter((s): s is SourceSecretMeta => s !== undefined), folders };
  }

  /** KV v1 has no metadata: list, then read each value and keep only an in-memory fingerprint. */
  private async walkV1(problems: InventoryProblem[]): Promise<SourceSecretMeta[]> {
    return this.walk(problems, async (folder) => {
      const keys = await this.listKeys("", folder);
      const folders = keys.filter((k) => k.endsWith("/")).map((k) => `${folder}${k}`);
      const secrets = await Promise.all(
        keys
          .filter((k) => !k.endsWith("/"))
          .map(async (k): Promise<SourceSecretMeta | undefined> => {
            const path = `${folder}${k}`;
            try {
              const data = await this.readValue(path, null);
              return { path, version: null, state: "present", fingerprint: valueFingerprint(data) };
            } catch (error) {
              if (error instanceof SyncError && error.errorClass === "permission-denied") {
                problems.push({ path, errorClass: "permission-denied", message: `${path}: read denied by the token's policy` });
                return undefined;
              }
              throw error;
            }
          }),
      );
      return { secrets: secrets.filter((s): s is SourceSecretMeta => s !== undefined), folders };
    });
  }
}

/**
 * Vault answers 404 with an empty `errors` array for an empty folder, and 404 with an error
 * ("no handler for route", "unsupported path") when the mount or endpoint does not exist. Only the
 * first is "empty": the second must never read as "every secret is gone".
 */
function assertListable(res: { status: number; body: unknown }, mount: string, path: string): void {
  if (res.status !== 404) return;
  const errors = (res.body as { errors?: unknown[] } | null)?.errors ?? [];
  if (errors.length > 0) {
    throw new SyncError("source-not-found", `LIST ${mount}/${path}: ${errors.map(String).join("; ")}: check source.mount and source.kvVersion`);
  }
}

function toMeta(path: string, info: KeyInfo): SourceSecretMeta {
  const version = info.current_version ?? 0;
  const current = info.versions?.[String(version)];
  let state: SourceSecretMeta["state"] = "present";
  // current_version 0: metadata written without any data version; there is nothing to replicate.
  if (version === 0) state = "deleted";
  else if (current?.destroyed) state = "destroyed";
  else if (current?.deletion_time && Date.parse(current.deletion_time) <= Date.now()) state = "deleted";
  return {
    path,
    version,
    state,
    ...(info.updated_time ? { updatedTime: info.updated_time } : {}),
    ...(current?.created_time ? { versionCreatedTime: current.created_time } : {}),
    ...(info.custom_metadata ? { customMetadata: info.custom_metadata } : {}),
  };
}

/** Encodes each path segment (spaces, unicode) and keeps the slashes. */
function encodePath(path: string): string {
  return path
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
}

interface TokenInfo {
  ttl?: number;
  renewable?: boolean;
  period?: number;
  creation_ttl?: number;
}

/** Renewable, expiring, and with less than half of its period (or creation TTL) left. */
export function needsRenewal(info: TokenInfo | undefined): boolean {
  if (!info?.renewable || !info.ttl || info.ttl <= 0) return false;
  const life = info.period || info.creation_ttl || 0;
  return life > 0 && info.ttl < life / 2;
}
