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
import { displayPath, hasLoneSurrogate, pathProblem } from "../../core/paths.js";
import { valueFingerprint } from "../../core/value.js";
import type { ApiCallRecorder } from "../../util/api-calls.js";
import type { Logger } from "../../util/logger.js";
import { inventoryFromMetadata, type SecretData, type SecretSource, type SourceCapabilities, type SourceIdentity } from "../source.js";
import { isTimeout, VaultHttp, type TokenSource, type VaultTlsOptions } from "./http.js";
import { withoutUserinfo } from "../../util/url.js";

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
/** `limit` for the rest of a folder: more than any folder holds, and above any policy's `pagination_limit`, which refuses it. */
const REST_OF_FOLDER = 2_147_483_647;

export class VaultKvSource implements SecretSource {
  readonly identity: SourceIdentity;
  private readonly http: VaultHttp;
  private readonly limit: ReturnType<typeof pLimit>;
  /** SCANs are heavy on the server (each walks a whole subtree): fewer at once than other reads. */
  private readonly scanLimit: ReturnType<typeof pLimit>;
  private readonly subPath: string;
  /** The mount as it goes into a URL: each segment encoded, so no name can add a query or a dot segment. */
  private readonly mountPath: string;
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
    this.mountPath = encodePath(options.mount);
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
        { address: withoutUserinfo(this.options.address), mount: this.options.mount },
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
      throw new SyncError("source-auth", `no token to send to ${withoutUserinfo(this.options.address)} yet: the login has not succeeded`);
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
        throw new SyncError("source-auth", `${withoutUserinfo(this.options.address)} refused the token: it is invalid, expired or revoked (not a policy problem): log in again or replace it`);
      }
      throw error;
    }
  }

  private async detectKvVersion(): Promise<1 | 2> {
    let res;
    try {
      res = await this.http.send<{ data?: { type?: string; options?: { version?: string } | null } }>("mount-info", "GET", `sys/internal/ui/mounts/${this.mountPath}`);
    } catch (error) {
      if (error instanceof SyncError && (error.errorClass === "permission-denied" || error.errorClass === "source-not-found")) {
        throw new SyncError(
          "source-not-found",
          `mount ${this.options.mount} does not exist on ${withoutUserinfo(this.options.address)}, or the token's policy allows nothing on it: check source.mount, and grant "read" and "list" on "${this.options.mount}/*"`,
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
    const scan = await this.http.send<unknown>("scan-detailed-metadata", "SCAN", `${this.mountPath}/detailed-metadata/${this.folderPath(`${base}${SCAN_PROBE}/`)}`, {
      accept: [400, 403, 404, 405, 501],
    });
    if (scan.status === 200) return "detailed-metadata-scan";
    const list = await this.http.send<{ errors?: string[] }>("list-detailed-metadata", "LIST", `${this.mountPath}/detailed-metadata/${this.folderPath(base)}?limit=1`, {
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
        secrets = await this.walk(problems, (folder) => this.listDetailed(folder, problems));
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
    return inventoryFromMetadata(paths, await this.readMetadata(paths), caps.listingMethod);
  }

  async inventoryWithValues(paths: string[]): Promise<{ inventory: SourceInventory; values: Map<string, { version: number; data: SecretData }> }> {
    const caps = await this.validate();
    const values = new Map<string, { version: number; data: SecretData }>();
    if (caps.kvVersion === 1) return { inventory: await this.inventoryOf(paths), values };
    const found = new Map<string, Fact<SourceSecretMeta | null>>();
    const rest: string[] = [];
    await Promise.all(
      paths.map((path) =>
        this.limit(async () => {
          try {
            const res = await this.http.send<{ data?: { data?: unknown; metadata?: unknown } }>("read-data", "GET", `${this.mountPath}/data/${encodePath(path)}`, { secretPath: path, accept: [404] });
            const current = res.status === 200 ? currentVersionOf(path, res.body?.data) : undefined;
            if (!current) return void rest.push(path);
            found.set(path, { ok: current.meta });
            values.set(path, { version: current.meta.version as number, data: current.data });
          } catch (error) {
            if (error instanceof SyncError && FATAL_CLASSES.has(error.errorClass)) throw error;
            rest.push(path); // the metadata read says what this path's failure is
          }
        }),
      ),
    );
    // Absent, deleted, destroyed or anything unexpected: the metadata read is the authority on it.
    for (const [path, fact] of rest.length ? await this.readMetadata(rest) : []) found.set(path, fact);
    return { inventory: inventoryFromMetadata(paths, found, caps.listingMethod), values };
  }

  async readMetadata(paths: string[]): Promise<Map<string, Fact<SourceSecretMeta | null>>> {
    const caps = await this.validate();
    const out = new Map<string, Fact<SourceSecretMeta | null>>();
    await Promise.all(
      paths.map((path) =>
        this.limit(async () => {
          try {
            if (caps.kvVersion === 1) {
              const res = await this.http.send<{ data?: SecretData }>("read-data", "GET", `${this.mountPath}/${encodePath(path)}`, { secretPath: path, accept: [404] });
              // A 404 naming no route is a missing mount, never this path's absence.
              assertListable(res, `GET ${this.options.mount}/${displayPath(path)}`);
              out.set(path, { ok: res.status === 404 ? null : { path, version: null, state: "present", fingerprint: valueFingerprint(res.body?.data ?? {}) } });
              return;
            }
            const res = await this.http.send<{ data?: unknown }>("read-metadata", "GET", `${this.mountPath}/metadata/${encodePath(path)}`, { secretPath: path, accept: [404] });
            if (res.status === 404) {
              assertListable(res, `GET ${this.options.mount}/metadata/${displayPath(path)}`);
              out.set(path, { ok: null });
              return;
            }
            // Malformed metadata confirms nothing: it is that path's failure, never an absence.
            const meta = metaOf(path, res.body?.data);
            out.set(path, "message" in meta ? { error: { errorClass: meta.errorClass, message: meta.message } } : { ok: meta });
          } catch (error) {
            // One path the server refuses (denied, a 4xx for this path), or that cannot even be
            // put in a request, is that path's fact: it could not be read, so nothing is
            // concluded about it. Only a source that is unusable as a whole stops the run.
            if (error instanceof SyncError && FATAL_CLASSES.has(error.errorClass)) throw error;
            const failure = pathFailure(path, error);
            out.set(path, { error: { errorClass: failure.errorClass, message: failure.message } });
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
        const res = await this.http.send<{ data?: SecretData }>("read-data", "GET", `${this.mountPath}/${encodePath(path)}`, { secretPath: path });
        return res.body.data ?? {};
      }
      const query = version === null ? "" : `?version=${version}`;
      const res = await this.http.send<{ data?: { data?: SecretData | null } }>("read-data", "GET", `${this.mountPath}/data/${encodePath(path)}${query}`, {
        secretPath: path,
        accept: [404],
      });
      if (res.status === 404) assertListable(res, `GET ${this.options.mount}/data/${displayPath(path)}`, path);
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
    const listed = await this.listDetailed(folder, problems);
    const nested = await Promise.all(listed.folders.map((sub) => this.scanFolder(sub, problems)));
    return listed.secrets.concat(...nested);
  }

  private async scanFolder(folder: string, problems: InventoryProblem[]): Promise<SourceSecretMeta[]> {
    let answer: ListAnswer;
    try {
      const where = `SCAN ${this.options.mount}/detailed-metadata/${displayPath(folder)}`;
      const res = await this.scanLimit(() =>
        this.http.send<unknown>("scan-detailed-metadata", "SCAN", `${this.mountPath}/detailed-metadata/${this.folderPath(folder)}`, {
          accept: [404],
          retryTimeouts: false,
        }),
      );
      assertListable(res, where);
      answer = listAnswer(res.body, where);
    } catch (error) {
      if (isTimeout(error)) return this.scanBelow(folder, problems);
      if (!(error instanceof SyncError) || error.errorClass !== "permission-denied") throw error;
      problems.push({ path: folder, errorClass: "permission-denied", message: `${folder}: listing denied by the token's policy; secrets below it are not replicated` });
      return [];
    }
    return entriesOf(folder, answer, problems, "scan").secrets;
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
      // One by one: spreading a scan answer of 125,000 secrets or more into push overflows the stack.
      for (const secret of listed.secrets) out.push(secret);
      await Promise.all(listed.folders.map((f) => visit(f)));
    };
    await visit(root);
    return out;
  }

  private async listDetailed(folder: string, problems: InventoryProblem[]): Promise<{ secrets: SourceSecretMeta[]; folders: string[] }> {
    const answer = await this.listAll("detailed-metadata/", folder);
    return entriesOf(folder, answer, problems, "detailed-list");
  }

  /**
   * Every key of one folder, page by page, until the server says there is no more. Only a full
   * page promises nothing: a short or even empty page is not the end, because OpenBao 2.4+
   * removes the keys a token may not read from a page after paging it
   * (`list_scan_response_keys_filter_path`). So a short page is followed by one request for the
   * rest: everything after its last key, with a limit no page reaches. That is answered in full,
   * or refused (403) by a policy `pagination_limit` (a LIST without `limit` would be cut to that
   * limit silently); then paging goes on until a page brings no key not seen before. A server
   * that ignores `after` and `limit` (Vault, KV v1) sends everything each time.
   * Left over: under both a `pagination_limit` and a filter, a whole page of hidden keys ends the
   * listing there, as no answer names the hidden keys to page past.
   */
  private async listAll(kind: "detailed-metadata/" | "metadata/" | "", folder: string): Promise<ListAnswer> {
    const pageSize = this.options.listPageSize ?? 1000;
    const where = `LIST ${this.options.mount}/${kind}${displayPath(folder)}`;
    const seen = new Set<string>();
    const out: ListAnswer = { keys: [], info: kind === "detailed-metadata/" ? new Map() : undefined, repeated: [] };
    let mode: "page" | "rest" | "capped" = "page";
    let after: string | undefined;
    for (;;) {
      const limit = mode === "rest" ? REST_OF_FOLDER : pageSize;
      const query = `?limit=${limit}${after !== undefined ? `&after=${encodeURIComponent(after)}` : ""}`;
      const res = await this.limit(() =>
        this.http.send<unknown>(kind === "detailed-metadata/" ? "list-detailed-metadata" : "list-metadata", "LIST", `${this.mountPath}/${kind}${this.folderPath(folder)}${query}`, {
          accept: mode === "rest" ? [403, 404] : [404],
        }),
      );
      if (res.status === 403) {
        mode = "capped";
        continue;
      }
      assertListable(res, where);
      const page = listAnswer(res.body, where);
      out.repeated.push(...page.repeated);
      let fresh = 0;
      for (const key of page.keys) {
        if (seen.has(key)) continue;
        seen.add(key);
        fresh += 1;
        out.keys.push(key);
        if (out.info && page.info?.has(key)) out.info.set(key, page.info.get(key));
      }
      // The rest came whole.
      if (mode === "rest") break;
      // More than asked for, or a full page with nothing new: the server does not paginate, and
      // that was all. Under a policy's page limit, a page with nothing new is the end.
      if (page.keys.length > limit || (fresh === 0 && (mode === "capped" || page.keys.length === limit))) break;
      if (mode === "page" && page.keys.length < limit) mode = "rest";
      after = page.keys[page.keys.length - 1] ?? after;
      // The next page starts after this key, which must go in the request: a real server never
      // names one with half a character, so the listing cannot be trusted past it.
      if (after !== undefined && hasLoneSurrogate(after)) {
        throw new SyncError("source-read-failed", `${where}: the answer is malformed (the key "${displayPath(after)}" holds half a UTF-16 character, and the next page starts after it): is the address a Vault or OpenBao server?`);
      }
    }
    return out;
  }

  private async listThenReadMetadata(folder: string, problems: InventoryProblem[]): Promise<{ secrets: SourceSecretMeta[]; folders: string[] }> {
    const { paths, folders } = namesOf(folder, await this.listAll("metadata/", folder), problems);
    const secrets = await Promise.all(
      paths.map(async (path) => {
        try {
          const res = await this.limit(() =>
            this.http.send<{ data?: unknown }>("read-metadata", "GET", `${this.mountPath}/metadata/${encodePath(path)}`, { secretPath: path }),
          );
          const meta = metaOf(path, res.body?.data);
          if ("message" in meta) {
            problems.push(meta);
            return undefined;
          }
          return meta;
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
      const { paths, folders } = namesOf(folder, await this.listAll("", folder), problems);
      const secrets = await Promise.all(
        paths.map(async (path): Promise<SourceSecretMeta | undefined> => {
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
 * Vault answers 404 with an empty `errors` array for an empty folder or a path with no secret, and
 * 404 with an error ("no handler for route", "unsupported path") when the mount or endpoint does
 * not exist. Only the first is "empty" or "absent": the second must never read as "every secret is
 * gone", nor as "this secret is gone".
 */
function assertListable(res: { status: number; body: unknown }, where: string, secretPath?: string): void {
  if (res.status !== 404) return;
  const errors = (res.body as { errors?: unknown[] } | null)?.errors ?? [];
  if (errors.length > 0) {
    throw new SyncError("source-not-found", `${where}: ${errors.map(String).join("; ")}: check source.mount and source.kvVersion`, secretPath);
  }
}

/** One LIST or SCAN answer, checked: the keys in the server's order and, when detailed, each key's metadata as sent. */
interface ListAnswer {
  keys: string[];
  info: Map<string, unknown> | undefined;
  /** Keys the answer named more than once. */
  repeated: string[];
}

/**
 * The keys (and key_info) of a LIST or SCAN answer. An answer that is not a list of names is not
 * a listing at all: the run stops (nothing is written on a listing that cannot be read).
 */
function listAnswer(body: unknown, where: string): ListAnswer {
  const malformed = (what: string) => new SyncError("source-read-failed", `${where}: the answer is malformed (${what}): is the address a Vault or OpenBao server?`);
  if (body === null || body === undefined) return { keys: [], info: undefined, repeated: [] };
  if (!isRecord(body)) throw malformed("not a JSON object");
  const data = body.data;
  if (data === null || data === undefined) return { keys: [], info: undefined, repeated: [] };
  if (!isRecord(data)) throw malformed("data is not an object");
  const keys = data.keys ?? [];
  if (!Array.isArray(keys)) throw malformed("keys is not a list");
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const key of keys) {
    if (typeof key !== "string" || key === "") throw malformed("keys holds something that is not a name");
    if (seen.has(key)) repeated.push(key);
    seen.add(key);
  }
  let info: Map<string, unknown> | undefined;
  if (data.key_info !== undefined && data.key_info !== null) {
    if (!isRecord(data.key_info)) throw malformed("key_info is not an object");
    info = new Map(Object.entries(data.key_info));
  }
  return { keys: [...seen], info, repeated: [...new Set(repeated)] };
}

/**
 * Sorts a folder's keys into secret paths and sub-folders. A LIST names one level (`name` or
 * `name/`), a SCAN names paths below the folder. A key that cannot be one of those, or a folder
 * that cannot go in a request (`..`, control characters ...), is a problem of its own, so the
 * listing is not trusted for deletions; the rest is used.
 */
function namesOf(folder: string, answer: ListAnswer, problems: InventoryProblem[], style: "list" | "scan" = "list"): { paths: string[]; folders: string[] } {
  const paths: string[] = [];
  const folders: string[] = [];
  for (const key of answer.repeated) {
    problems.push({ path: displayPath(`${folder}${key}`), errorClass: "source-read-failed", message: `${displayPath(`${folder}${key}`)}: the server listed it twice in one answer; no deletion is trusted to this listing` });
  }
  for (const key of answer.keys) {
    const isFolder = key.endsWith("/");
    const name = isFolder ? key.slice(0, -1) : key;
    if (isFolder && style === "scan") continue;
    const full = `${folder}${name}`;
    const problem = style === "list" && name.includes("/") ? `a LIST answer names one level, and ${JSON.stringify(displayPath(key))} is not a name in ${displayPath(folder) || "the mount's root"}` : isFolder ? pathProblem(full) : undefined;
    if (problem) {
      problems.push({ path: displayPath(full), errorClass: "invalid-path", message: `${displayPath(full)}: ${problem}; not listed, and no deletion is trusted to this listing` });
      continue;
    }
    if (isFolder) folders.push(`${full}/`);
    else paths.push(full);
  }
  return { paths, folders };
}

/** A detailed LIST or SCAN: each secret with its metadata; a key whose metadata is malformed is that key's problem. */
function entriesOf(folder: string, answer: ListAnswer, problems: InventoryProblem[], style: "detailed-list" | "scan"): { secrets: SourceSecretMeta[]; folders: string[] } {
  const { paths, folders } = namesOf(folder, answer, problems, style === "scan" ? "scan" : "list");
  const secrets: SourceSecretMeta[] = [];
  for (const path of paths) {
    const meta = metaOf(path, answer.info?.get(path.slice(folder.length)));
    if ("message" in meta) problems.push(meta);
    else secrets.push(meta);
  }
  return { secrets, folders };
}

/**
 * A secret's metadata as the server sent it (detailed listing or metadata read), checked field by
 * field: a field of the wrong type is that secret's problem, never a guess. A missing
 * `current_version` would otherwise read as "no version", which is a deletion.
 */
function metaOf(path: string, info: unknown): SourceSecretMeta | InventoryProblem {
  const bad = (what: string): InventoryProblem => ({
    path: displayPath(path),
    errorClass: "source-read-failed",
    message: `${displayPath(path)}: the server's metadata for it is malformed (${what}); not synced, and no deletion is trusted to this listing`,
  });
  if (!isRecord(info)) return bad(info === undefined ? "no metadata" : "not an object");
  const version = info.current_version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) return bad("current_version is not a whole number");
  const versions = info.versions ?? {};
  if (!isRecord(versions)) return bad("versions is not an object");
  const current = versions[String(version)];
  if (current !== undefined && !isRecord(current)) return bad(`version ${version} is not an object`);
  const created = current?.created_time;
  const deletion = current?.deletion_time;
  const destroyed = current?.destroyed;
  if (created !== undefined && typeof created !== "string") return bad("created_time is not a string");
  if (deletion !== undefined && typeof deletion !== "string") return bad("deletion_time is not a string");
  if (destroyed !== undefined && typeof destroyed !== "boolean") return bad("destroyed is not true or false");
  if (info.updated_time !== undefined && typeof info.updated_time !== "string") return bad("updated_time is not a string");
  if (info.created_time !== undefined && typeof info.created_time !== "string") return bad("created_time is not a string");
  const custom = info.custom_metadata;
  if (custom !== undefined && custom !== null && (!isRecord(custom) || Object.values(custom).some((v) => typeof v !== "string"))) {
    return bad("custom_metadata is not a map of strings");
  }
  let state: SourceSecretMeta["state"] = "present";
  // current_version 0: metadata written without any data version; there is nothing to replicate.
  if (version === 0) state = "deleted";
  else if (destroyed) state = "destroyed";
  else if (deletion && Date.parse(deletion) <= Date.now()) state = "deleted";
  // Held for every listed secret of a run: assigned field by field, and the times that are equal
  // (a secret's update is its current version's creation) kept as one string, not two or three.
  // One literal for the usual case: objects given their fields one by one after a busy listing
  // (each listed version id is a new property name) ended up with a hidden class of their own.
  const versionCount = Object.keys(versions).length;
  const updatedTime = info.updated_time === created ? created : info.updated_time;
  const createdTime = info.created_time === created ? created : info.created_time;
  const meta: SourceSecretMeta =
    created && updatedTime && createdTime ? { path, version, state, versionCreatedTime: created, updatedTime, createdTime, versionCount } : { path, version, state, versionCount };
  if (created && !meta.versionCreatedTime) meta.versionCreatedTime = created;
  if (updatedTime && !meta.updatedTime) meta.updatedTime = updatedTime;
  if (createdTime && !meta.createdTime) meta.createdTime = createdTime;
  if (custom) meta.customMetadata = custom as Record<string, string>;
  return meta;
}

/**
 * A KV v2 data read of the latest version: its metadata checked as a metadata read's would be,
 * and its value; undefined for anything but a present version with a map of data.
 */
function currentVersionOf(path: string, answer: { data?: unknown; metadata?: unknown } | undefined): { meta: SourceSecretMeta; data: SecretData } | undefined {
  const md = answer?.metadata;
  if (!isRecord(answer?.data) || !isRecord(md) || typeof md.version !== "number") return undefined;
  const { version, custom_metadata, ...current } = md;
  const meta = metaOf(path, { current_version: version, versions: { [String(version)]: current }, ...(custom_metadata !== undefined ? { custom_metadata } : {}) });
  if ("message" in meta || meta.state !== "present") return undefined;
  return { meta, data: answer.data };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What one path's failure says: its class, and for anything that is not ours, only the error's name. */
function pathFailure(path: string, error: unknown): InventoryProblem {
  const shown = displayPath(path);
  if (error instanceof SyncError) {
    return { path: shown, errorClass: error.errorClass, message: error.errorClass === "permission-denied" ? `${shown}: metadata not readable (permission-denied)` : error.message };
  }
  return { path: shown, errorClass: "source-read-failed", message: `${shown}: cannot be read (${error instanceof Error ? error.name : "error"}); the rest of the run goes on` };
}

/** Encodes each path segment (spaces, unicode) and keeps the slashes. Throws URIError on a lone surrogate, which pathProblem refuses first. */
export function encodePath(path: string): string {
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
