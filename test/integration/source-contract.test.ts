// The SecretSource contract: one suite that every source must pass, the in-memory fake and the
// Vault/OpenBao source against a real OpenBao, on KV v2 and (where it applies) KV v1. What the
// engine and planner make of a source is tested elsewhere; this holds the fake to the real answers.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SyncError } from "../../src/core/errors.js";
import type { SourceSecretMeta } from "../../src/core/model.js";
import type { SecretData, SecretSource } from "../../src/sources/source.js";
import { encodePath, VaultKvSource } from "../../src/sources/vault/vault-source.js";
import { MemorySource } from "../fakes/memory-source.js";
import { startOpenBao, uniqueMount, type OpenBaoPeer } from "../helpers/peers.js";

/** One empty mount, a source reading it, and the hands of a Vault user writing to it. */
interface Mount {
  source: SecretSource;
  put(path: string, data: SecretData): Promise<void>;
  /** KV v2: marks the current version deleted. */
  softDelete(path: string): Promise<void>;
  /** KV v2: destroys one version's data. */
  destroy(path: string, version: number): Promise<void>;
  /** KV v2: the path's custom metadata (the path may have no version yet). */
  setCustomMetadata(path: string, metadata: Record<string, string>): Promise<void>;
  /** A source on this mount whose token may not read `path` (its metadata on v2, its data on v1). */
  denying(path: string): Promise<SecretSource>;
  /** A source on this mount whose token may not list the folder `folder` (`team/`) nor anything below it. */
  denyingList(folder: string): Promise<SecretSource>;
  /** Deletes the path for good: KV v2 its metadata and every version (`kv metadata delete`), KV v1 the secret. */
  remove(path: string): Promise<void>;
  /** KV v2: brings back the current version after a soft delete. */
  undelete(path: string, version: number): Promise<void>;
  /**
   * KV v2: a source on this mount whose listing is filtered (OpenBao's
   * `list_scan_response_keys_filter_path`) and whose token may not read these paths' metadata.
   */
  filtering(paths: string[]): Promise<SecretSource>;
  /** A source on this mount that lists only under `subPath` (`source.path`). */
  scoped(subPath: string): Promise<SecretSource>;
}

interface SourceTarget {
  /** A fresh, empty mount. */
  mount(): Promise<Mount>;
  /** A source configured (KV version: auto, the default) for a mount that does not exist. */
  missingMount(name: string): Promise<SecretSource>;
  stop(): Promise<void>;
}

/** The facts every source states the same way (times are the server's own clock). */
const facts = (m: SourceSecretMeta) => ({
  path: m.path,
  version: m.version,
  state: m.state,
  ...(m.customMetadata ? { customMetadata: m.customMetadata } : {}),
});

async function rejectsClass(promise: Promise<unknown>, errorClass: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SyncError, `a SyncError, not ${String(error)}`);
    assert.equal(error.errorClass, errorClass);
    assert.match(error.message, message);
    return true;
  });
}

/** KV v2 and KV v1 run the same cases; those about versions and metadata only where they exist (v2). */
function contract(name: string, kvVersion: 1 | 2, makeTarget: () => Promise<SourceTarget>): void {
  describe(`SecretSource contract: ${name} (KV v${kvVersion})`, () => {
    let target: SourceTarget;
    const v2 = () => kvVersion === 2;
    before(async () => {
      target = await makeTarget();
    });
    after(async () => {
      await target?.stop();
    });

    test("inventory of a nested tree: every secret, recursively, sorted; folders are not secrets", async () => {
      const m = await target.mount();
      for (const path of ["top", "team/db", "team/db/child", "team/deep/er/key", "zeta/only"]) await m.put(path, { k: path });
      const inv = await m.source.inventory();
      assert.deepEqual(inv.problems, []);
      assert.deepEqual(
        inv.secrets.map((s) => s.path),
        ["team/db", "team/db/child", "team/deep/er/key", "top", "zeta/only"],
      );
      assert.equal(inv.method, v2() ? "detailed-metadata-scan" : "kv-v1-list-and-read");
      for (const s of inv.secrets) {
        assert.deepEqual([s.version, s.state], [v2() ? 1 : null, "present"], s.path);
        assert.equal(typeof s.fingerprint, v2() ? "undefined" : "string", s.path);
      }
    });

    test("an empty mount lists no secret and no problem", async () => {
      const m = await target.mount();
      assert.deepEqual(await m.source.inventory(), { secrets: [], problems: [], method: v2() ? "detailed-metadata-scan" : "kv-v1-list-and-read" });
    });

    test("a missing mount is source-not-found for the listing, the metadata reads and the value reads", async () => {
      const missing = uniqueMount("absent");
      const source = await target.missingMount(missing);
      const says = new RegExp(`^mount ${missing} does not exist on .*: check source.mount`);
      await rejectsClass(source.validate(), "source-not-found", says);
      await rejectsClass(source.inventory(), "source-not-found", says);
      await rejectsClass(source.inventoryOf(["a"]), "source-not-found", says);
      await rejectsClass(source.readMetadata(["a"]), "source-not-found", says);
      await rejectsClass(source.readValue("a", v2() ? 1 : null), "source-not-found", says);
    });

    test("a listing past one page: every secret of a large folder and of its sub-folder", async () => {
      const m = await target.mount();
      const root = Array.from({ length: 12 }, (_, i) => `s${String(i).padStart(2, "0")}`);
      const nested = Array.from({ length: 7 }, (_, i) => `sub/n${i}`);
      for (const path of [...root, ...nested]) await m.put(path, { k: "v" });
      const inv = await m.source.inventory();
      assert.deepEqual(inv.problems, []);
      assert.deepEqual(inv.secrets.map((s) => s.path), [...root, ...nested].sort());
    });

    test("paths with spaces and unicode are listed, read and looked up as written", async () => {
      const m = await target.mount();
      const paths = ["with space/naïve ключ", "emoji 🔑/a b", "日本語"];
      for (const path of paths) await m.put(path, { who: path });
      assert.deepEqual((await m.source.inventory()).secrets.map((s) => s.path), [...paths].sort());
      for (const path of paths) assert.deepEqual(await m.source.readValue(path, v2() ? 1 : null), { who: path });
      const read = await m.source.readMetadata(paths);
      assert.deepEqual([...read.keys()].sort(), [...paths].sort());
      for (const [path, fact] of read) assert.ok("ok" in fact && fact.ok?.path === path, `${path}: ${JSON.stringify(fact)}`);
    });

    test("readMetadata: found, absent (null) and refused (that path's permission-denied)", async () => {
      const m = await target.mount();
      await m.put("here", { k: "v" });
      await m.put("secret-denied", { k: "v" });
      const source = await m.denying("secret-denied");
      const read = await source.readMetadata(["here", "nope", "secret-denied"]);
      const here = read.get("here");
      assert.ok(here && "ok" in here && here.ok, JSON.stringify(here));
      assert.deepEqual(facts(here.ok), { path: "here", version: v2() ? 1 : null, state: "present" });
      assert.deepEqual(read.get("nope"), { ok: null });
      assert.deepEqual(read.get("secret-denied"), { error: { errorClass: "permission-denied", message: "secret-denied: metadata not readable (permission-denied)" } });
    });

    test("inventoryOf: present paths are secrets, absent ones are left out, refused ones are problems", async () => {
      const m = await target.mount();
      await m.put("team/a", { k: "v" });
      await m.put("team/denied", { k: "v" });
      const source = await m.denying("team/denied");
      const inv = await source.inventoryOf(["team/a", "team/missing", "team/denied"]);
      assert.deepEqual(inv.secrets.map(facts), [{ path: "team/a", version: v2() ? 1 : null, state: "present" }]);
      assert.deepEqual(inv.problems, [{ path: "team/denied", errorClass: "permission-denied", message: "team/denied: metadata not readable (permission-denied)" }]);
      assert.equal(inv.method, v2() ? "detailed-metadata-scan" : "kv-v1-list-and-read");
    });

    test("readValue of the latest value, and of a path that does not exist (source-not-found)", async () => {
      const m = await target.mount();
      await m.put("db", { user: "a", n: 1 });
      await m.put("db", { user: "b", n: 2 });
      assert.deepEqual(await m.source.readValue("db", v2() ? 2 : null), { user: "b", n: 2 });
      // KV v2 says which version; KV v1 has none, and gives the request that found nothing.
      await rejectsClass(m.source.readValue("absent", v2() ? 1 : null), "source-not-found", v2() ? /^absent: version 1 is deleted or destroyed/ : /^GET \S+\/absent: HTTP 404$/);
    });

    test("a sub-path scopes the inventory; paths stay relative to the mount", async () => {
      const m = await target.mount();
      for (const path of ["app/a", "app/deep/b", "app-other/c", "apps/d", "top"]) await m.put(path, { k: path });
      const inv = await (await m.scoped("app")).inventory();
      assert.deepEqual(inv.problems, []);
      assert.deepEqual(inv.secrets.map((s) => s.path), ["app/a", "app/deep/b"]);
    });

    test("a value change shows in the metadata alone: a new version on KV v2, a new fingerprint on KV v1; inventory and readMetadata agree", async () => {
      const m = await target.mount();
      await m.put("db", { password: "one" });
      await m.put("same", { password: "one" });
      const before = await m.source.inventory();
      await m.put("db", { password: "two" });
      const after = await m.source.inventory();
      const [db0, same0] = before.secrets;
      const [db1, same1] = after.secrets;
      const read = await m.source.readMetadata(["db", "same"]);
      assert.deepEqual(["db", "same"].map((path) => read.get(path)), after.secrets.map((ok) => ({ ok })));
      if (v2()) {
        assert.deepEqual([db0?.version, db1?.version, same0?.version, same1?.version], [1, 2, 1, 1]);
      } else {
        assert.match(db0?.fingerprint ?? "", /./);
        assert.notEqual(db1?.fingerprint, db0?.fingerprint);
        assert.equal(same1?.fingerprint, same0?.fingerprint);
        assert.equal(same0?.fingerprint, db0?.fingerprint, "the same value has the same fingerprint whatever its path");
      }
    });

    test("a folder the token may not list is one problem with its path; the rest is listed", async () => {
      const m = await target.mount();
      for (const path of ["open/a", "team/b", "team/deep/c", "top"]) await m.put(path, { k: path });
      const inv = await (await m.denyingList("team/")).inventory();
      assert.deepEqual(inv.secrets.map((s) => s.path), ["open/a", "top"]);
      assert.deepEqual(inv.problems, [{ path: "team/", errorClass: "permission-denied", message: "team/: listing denied by the token's policy; secrets below it are not replicated" }]);
    });

    test("a path deleted for good is neither listed nor found; written again, it is a new secret", async () => {
      const m = await target.mount();
      await m.put("gone", { n: 1 });
      await m.put("gone", { n: 2 });
      await m.put("stays", { n: 1 });
      await m.remove("gone");
      assert.deepEqual((await m.source.inventory()).secrets.map((s) => s.path), ["stays"]);
      assert.deepEqual((await m.source.readMetadata(["gone"])).get("gone"), { ok: null });
      await m.put("gone", { n: 3 });
      const back = (await m.source.inventory()).secrets.find((s) => s.path === "gone");
      assert.deepEqual(back && facts(back), { path: "gone", version: v2() ? 1 : null, state: "present" });
      assert.deepEqual(await m.source.readValue("gone", v2() ? 1 : null), { n: 3 });
    });

    test("a path that cannot go in a request (half a UTF-16 character) is that path's failure, shown escaped; the others are read", async () => {
      const m = await target.mount();
      await m.put("app/a", { k: "v" });
      const broken = "app/x\ud800";
      const failure = { errorClass: "source-read-failed", message: "app/x\\ud800: cannot be read (URIError); the rest of the run goes on" };
      const read = await m.source.readMetadata(["app/a", broken]);
      assert.deepEqual(read.get(broken), { error: failure });
      const inv = await m.source.inventoryOf(["app/a", broken]);
      assert.deepEqual(inv.secrets.map((s) => s.path), ["app/a"]);
      assert.deepEqual(inv.problems, [{ path: "app/x\\ud800", ...failure }]);
    });

    if (kvVersion === 2) {
      test("KV v2: versions and states: current, soft-deleted, destroyed; inventory and readMetadata agree", async () => {
        const m = await target.mount();
        await m.put("two", { n: 1 });
        await m.put("two", { n: 2 });
        await m.put("soft", { n: 1 });
        await m.softDelete("soft");
        await m.put("gone", { n: 1 });
        await m.destroy("gone", 1);
        await m.put("old-destroyed", { n: 1 });
        await m.put("old-destroyed", { n: 2 });
        await m.destroy("old-destroyed", 1);
        const expected = [
          { path: "gone", version: 1, state: "destroyed" },
          { path: "old-destroyed", version: 2, state: "present" },
          { path: "soft", version: 1, state: "deleted" },
          { path: "two", version: 2, state: "present" },
        ];
        const inv = await m.source.inventory();
        assert.deepEqual(inv.secrets.map(facts), expected);
        const read = await m.source.readMetadata(expected.map((e) => e.path));
        assert.deepEqual(
          expected.map((e) => {
            const fact = read.get(e.path);
            return fact && "ok" in fact && fact.ok ? facts(fact.ok) : fact;
          }),
          expected,
        );
        for (const s of inv.secrets) {
          assert.match(s.updatedTime ?? "", /^\d{4}-\d\d-\d\dT/, s.path);
          assert.match(s.versionCreatedTime ?? "", /^\d{4}-\d\d-\d\dT/, s.path);
        }
      });

      test("KV v2: readValue at a version; a soft-deleted or destroyed version is source-not-found", async () => {
        const m = await target.mount();
        await m.put("db", { n: "1" });
        await m.put("db", { n: "2" });
        await m.put("db", { n: "3" });
        await m.destroy("db", 1);
        await m.softDelete("db");
        assert.deepEqual(await m.source.readValue("db", 2), { n: "2" });
        await rejectsClass(m.source.readValue("db", 1), "source-not-found", /^db: version 1 is deleted or destroyed in the source/);
        await rejectsClass(m.source.readValue("db", 3), "source-not-found", /^db: version 3 is deleted or destroyed in the source/);
      });

      test("KV v2: custom_metadata is listed and read; metadata with no version is a secret in state deleted at version 0", async () => {
        const m = await target.mount();
        const custom = { owner: "team a", "ключ": "значение" };
        await m.put("app/cfg", { k: "v" });
        await m.setCustomMetadata("app/cfg", custom);
        await m.setCustomMetadata("app/empty", { owner: "nobody" });
        const expected = [
          { path: "app/cfg", version: 1, state: "present", customMetadata: custom },
          { path: "app/empty", version: 0, state: "deleted", customMetadata: { owner: "nobody" } },
        ];
        assert.deepEqual((await m.source.inventory()).secrets.map(facts), expected);
        const read = await m.source.readMetadata(["app/cfg", "app/empty"]);
        assert.deepEqual(
          ["app/cfg", "app/empty"].map((p) => {
            const fact = read.get(p);
            return fact && "ok" in fact && fact.ok ? facts(fact.ok) : fact;
          }),
          expected,
        );
      });
      test("KV v2: updated_time moves with a data or metadata write, not with a soft delete or a destroy; a version's created_time never moves", async () => {
        const m = await target.mount();
        const meta = async () => {
          const fact = (await m.source.readMetadata(["t"])).get("t");
          assert.ok(fact && "ok" in fact && fact.ok, JSON.stringify(fact));
          return { state: fact.ok.state, version: fact.ok.version, updated: Date.parse(fact.ok.updatedTime ?? ""), created: fact.ok.versionCreatedTime };
        };
        // Apart by more than a clock tick, so that a time that moved is later.
        const tick = () => new Promise((r) => setTimeout(r, 5));
        await m.put("t", { n: 1 });
        const written = await meta();
        await tick();
        await m.softDelete("t");
        const deleted = await meta();
        await tick();
        await m.destroy("t", 1);
        const destroyed = await meta();
        await tick();
        await m.setCustomMetadata("t", { owner: "me" });
        const described = await meta();
        await tick();
        await m.put("t", { n: 2 });
        const rewritten = await meta();

        assert.deepEqual(
          [written, deleted, destroyed].map((x) => [x.state, x.updated, x.created]),
          [
            ["present", written.updated, written.created],
            ["deleted", written.updated, written.created],
            ["destroyed", written.updated, written.created],
          ],
        );
        assert.ok(described.updated > written.updated, "a metadata write moves updated_time");
        assert.ok(rewritten.updated > described.updated, "a data write moves updated_time");
        assert.deepEqual([rewritten.state, rewritten.version], ["present", 2]);
        assert.notEqual(rewritten.created, written.created);
      });
      test("KV v2: an undeleted version is present again and readable", async () => {
        const m = await target.mount();
        await m.put("u", { n: "1" });
        await m.softDelete("u");
        await m.undelete("u", 1);
        const fact = (await m.source.readMetadata(["u"])).get("u");
        assert.deepEqual(fact && "ok" in fact && fact.ok ? facts(fact.ok) : fact, { path: "u", version: 1, state: "present" });
        assert.deepEqual(await m.source.readValue("u", 1), { n: "1" });
      });
      test("KV v2: a filtered listing leaves out the paths the token may not read; their metadata read is refused, never absent", async () => {
        const m = await target.mount();
        for (const path of ["a", "h1", "team/b", "team/h2"]) await m.put(path, { k: path });
        const source = await m.filtering(["h1", "team/h2"]);
        const inv = await source.inventory();
        assert.deepEqual(inv.secrets.map((s) => s.path), ["a", "team/b"]);
        assert.deepEqual(inv.problems, []);
        const read = await source.readMetadata(["h1", "team/h2", "a"]);
        assert.deepEqual(read.get("h1"), { error: { errorClass: "permission-denied", message: "h1: metadata not readable (permission-denied)" } });
        assert.deepEqual(read.get("team/h2"), { error: { errorClass: "permission-denied", message: "team/h2: metadata not readable (permission-denied)" } });
        const a = read.get("a");
        assert.deepEqual(a && "ok" in a && a.ok ? facts(a.ok) : a, { path: "a", version: 1, state: "present" });
      });
    }
  });
}

for (const kvVersion of [2, 1] as const) {
  contract("MemorySource", kvVersion, async () => ({
    mount: async () => {
      const source = new MemorySource({ kvVersion, mount: uniqueMount("mem") });
      // A sub-path is set when a fake is made: a scoped one is the same writes replayed into it.
      const writes: [string, SecretData][] = [];
      return {
        source,
        put: async (path, data) => {
          writes.push([path, data]);
          source.put(path, data);
        },
        softDelete: async (path) => source.softDelete(path),
        destroy: async (path, version) => source.destroy(path, version),
        setCustomMetadata: async (path, metadata) => source.setCustomMetadata(path, metadata),
        denying: async (path) => {
          source.hideFromListing(path, "denied");
          return source;
        },
        denyingList: async (folder) => {
          source.failListing("permission-denied", folder);
          return source;
        },
        filtering: async (paths) => {
          for (const path of paths) source.hideFromListing(path, "denied");
          return source;
        },
        remove: async (path) => source.remove(path),
        undelete: async (path, version) => source.undelete(path, version),
        scoped: async (subPath) => {
          const scoped = new MemorySource({ kvVersion, mount: source.identity.mount, path: subPath });
          for (const [path, data] of writes) scoped.put(path, data);
          return scoped;
        },
      };
    },
    missingMount: async (name) => new MemorySource({ kvVersion, mount: name, mountMissing: true }),
    stop: async () => undefined,
  }));
}

/** One OpenBao for the file, started by the first suite that needs it; each test uses a fresh mount. */
let bao: Promise<OpenBaoPeer> | undefined;
const openBao = (): Promise<OpenBaoPeer> => (bao ??= startOpenBao());
after(async () => {
  await (await bao)?.stop();
});

for (const kvVersion of [2, 1] as const) {
  contract("VaultKvSource on OpenBao", kvVersion, async () => {
    const peer = await openBao();
    const opened: VaultKvSource[] = [];
    const root = async (method: string, path: string, body?: unknown) => {
      const res = await peer.api(method, path, body);
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    };
    /** A token for the mount with read, list and OpenBao's scan, as a replicator is given, plus `extra`. */
    const tokenFor = async (mount: string, extra = "") => {
      const name = uniqueMount("pol");
      const policy = [`path "${mount}/*" { capabilities = ["read", "list"] }`, `path "${mount}/detailed-metadata/*" { capabilities = ["read", "list", "scan"] }`, extra].join("\n");
      await root("PUT", `sys/policies/acl/${name}`, { policy });
      const res = await peer.api("POST", "auth/token/create", { policies: [name], ttl: "1h" });
      return (res.json as { auth: { client_token: string } }).auth.client_token;
    };
    // A small page, so that a listing past one page is a test of paging and not of the page size.
    const open = (mount: string, token: string) => {
      const source = new VaultKvSource({ address: peer.url, token, mount, kvVersion, maxAttempts: 1, listPageSize: 5 });
      opened.push(source);
      return source;
    };
    return {
      mount: async () => {
        const mount = uniqueMount("sc");
        await peer.mountKv(mount, kvVersion);
        return {
          source: open(mount, await tokenFor(mount)),
          put: (path, data) => root("POST", kvVersion === 2 ? `${mount}/data/${encodePath(path)}` : `${mount}/${encodePath(path)}`, kvVersion === 2 ? { data } : data),
          softDelete: (path) => root("DELETE", `${mount}/data/${encodePath(path)}`),
          destroy: (path, version) => root("PUT", `${mount}/destroy/${encodePath(path)}`, { versions: [version] }),
          setCustomMetadata: (path, metadata) => root("POST", `${mount}/metadata/${encodePath(path)}`, { custom_metadata: metadata }),
          denying: async (path) => open(mount, await tokenFor(mount, `path "${mount}/${kvVersion === 2 ? "metadata/" : ""}${path}" { capabilities = ["deny"] }`)),
          denyingList: async (folder) => {
            const denied = kvVersion === 2 ? [`${mount}/metadata/${folder}*`, `${mount}/detailed-metadata/${folder}*`] : [`${mount}/${folder}*`];
            return open(mount, await tokenFor(mount, denied.map((path) => `path "${path}" { capabilities = ["deny"] }`).join("\n")));
          },
          filtering: async (paths) => {
            const policy = [
              `path "${mount}/detailed-metadata/*" {`,
              `  capabilities = ["read", "list", "scan"]`,
              `  list_scan_response_keys_filter_path = "{{ .path | replace \\"${mount}/detailed-metadata/\\" \\"${mount}/metadata/\\" }}{{ .key }}"`,
              `}`,
              `path "${mount}/metadata/*" {`,
              `  capabilities = ["read", "list"]`,
              `  list_scan_response_keys_filter_path = "{{ .path }}{{ .key }}"`,
              `}`,
              `path "${mount}/data/*" { capabilities = ["read"] }`,
              ...paths.map((path) => `path "${mount}/metadata/${path}" { capabilities = ["deny"] }`),
            ].join("\n");
            const name = uniqueMount("filtered");
            await root("PUT", `sys/policies/acl/${name}`, { policy });
            const res = await peer.api("POST", "auth/token/create", { policies: [name], ttl: "1h" });
            return open(mount, (res.json as { auth: { client_token: string } }).auth.client_token);
          },
          remove: (path) => root("DELETE", kvVersion === 2 ? `${mount}/metadata/${encodePath(path)}` : `${mount}/${encodePath(path)}`),
          undelete: (path, version) => root("POST", `${mount}/undelete/${encodePath(path)}`, { versions: [version] }),
          scoped: async (subPath) => {
            const source = new VaultKvSource({ address: peer.url, token: await tokenFor(mount), mount, path: subPath, kvVersion, maxAttempts: 1, listPageSize: 5 });
            opened.push(source);
            return source;
          },
        };
      },
      missingMount: async (name) => {
        const source = new VaultKvSource({ address: peer.url, token: peer.rootToken, mount: name, kvVersion: "auto", maxAttempts: 1 });
        opened.push(source);
        return source;
      },
      stop: async () => {
        await Promise.all(opened.map((s) => s.close()));
      },
    };
  });
}

// With the KV version configured, the source trusts it when the mount's type cannot be read (a
// token without access to sys/internal/ui/mounts), so a missing mount is found only by the reads
// themselves: a 404 naming no route. That must never read as "this secret does not exist", which
// is what confirms a deletion.
describe("VaultKvSource: a missing mount with the KV version configured", () => {
  for (const kvVersion of [2, 1] as const) {
    test(`KV v${kvVersion}: no path reads as absent; each is that path's source-not-found, and the listing stops`, async () => {
      const peer = await openBao();
      const mount = uniqueMount("absent");
      const source = new VaultKvSource({ address: peer.url, token: peer.rootToken, mount, kvVersion, maxAttempts: 1 });
      try {
        const route = kvVersion === 2 ? `${mount}/metadata/a` : `${mount}/a`;
        const expected = { error: { errorClass: "source-not-found", message: `GET ${route}: no handler for route "${route}". route entry not found.: check source.mount and source.kvVersion` } };
        assert.deepEqual([...(await source.readMetadata(["a"]))], [["a", expected]]);
        const of = await source.inventoryOf(["a"]);
        assert.deepEqual([of.secrets, of.problems], [[], [{ path: "a", ...expected.error }]]);
        await rejectsClass(source.inventory(), "source-not-found", /no handler for route .*: check source.mount and source.kvVersion$/);
        // A value read says the same, not that the secret's version was deleted.
        const data = kvVersion === 2 ? `${mount}/data/a` : `${mount}/a`;
        await rejectsClass(source.readValue("a", kvVersion === 2 ? 1 : null), "source-not-found", new RegExp(`^GET ${data}: .*no handler for route "${data}"`));
      } finally {
        await source.close();
      }
    });
  }
});
