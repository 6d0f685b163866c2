// The Vault/OpenBao source on its own, against a real OpenBao (one server for the file, a fresh
// mount per test): listing strategies and their call counts, scoping, deleted versions, denied
// subtrees, KV v1, exact-version reads, the root failures that must stop a run, and bootstrap.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SyncError } from "../../src/core/errors.js";
import type { SourceInventory } from "../../src/core/model.js";
import { bootstrapVault, resolveVaultConnection, VaultKvSource, type VaultSourceOptions } from "../../src/sources/vault/index.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { captureLogger } from "../helpers/logs.js";
import { canary, freePort, startOpenBao, uniqueMount, type OpenBaoPeer } from "../helpers/peers.js";

let bao: OpenBaoPeer;
const opened: VaultKvSource[] = [];
/** Every secret value written by a test; none may appear in a message we produce. */
const canaries: string[] = [];
/** Every SyncError / InventoryProblem message the source produced. */
const messages: string[] = [];

before(async () => {
  bao = await startOpenBao();
});
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await bao.stop();
});

function secretValue(label = "v"): string {
  const value = canary(label);
  canaries.push(value);
  return value;
}

async function root(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await bao.api(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

async function newMount(kvVersion: 1 | 2 = 2): Promise<string> {
  const mount = uniqueMount("sb");
  await bao.mountKv(mount, kvVersion);
  return mount;
}

async function put(mount: string, path: string, data: Record<string, unknown>, kvVersion: 1 | 2 = 2): Promise<void> {
  await root("POST", kvVersion === 2 ? `${mount}/data/${path}` : `${mount}/${path}`, kvVersion === 2 ? { data } : data);
}

type Listing = "scan" | "reference" | "vault";

/**
 * A token limited to one mount. `scan`: read + list + OpenBao's scan on detailed-metadata.
 * `reference`: read + list only (the reference walkthrough's policy). `vault`: detailed-metadata
 * denied, as on HashiCorp Vault where the endpoint does not exist.
 */
async function token(mount: string, listing: Listing = "scan", extraPolicy = ""): Promise<string> {
  const name = uniqueMount(`pol-${listing}`);
  const policy = [
    `path "${mount}/*" { capabilities = ["read", "list"] }`,
    listing === "scan" ? `path "${mount}/detailed-metadata/*" { capabilities = ["read", "list", "scan"] }` : "",
    listing === "vault" ? `path "${mount}/detailed-metadata/*" { capabilities = ["deny"] }` : "",
    extraPolicy,
  ].join("\n");
  await root("PUT", `sys/policies/acl/${name}`, { policy });
  const created = (await root("POST", "auth/token/create", { policies: [name], ttl: "1h" })) as { auth: { client_token: string } };
  return created.auth.client_token;
}

function source(options: Partial<VaultSourceOptions> & { mount: string; token: VaultSourceOptions["token"] }): VaultKvSource {
  const src = new VaultKvSource({ address: bao.url, maxAttempts: 1, ...options });
  opened.push(src);
  return src;
}

async function inventoryWith(mount: string, listing: Listing, extra: Partial<VaultSourceOptions> = {}): Promise<{ inv: SourceInventory; recorder: ApiCallRecorder }> {
  const recorder = new ApiCallRecorder();
  const inv = await source({ mount, token: await token(mount, listing), recorder, ...extra }).inventory();
  for (const p of inv.problems) messages.push(p.message);
  return { inv, recorder };
}

/** Runs `fn`, expects a SyncError, remembers its message for the leak check, returns it. */
async function syncError(fn: () => Promise<unknown>): Promise<SyncError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof SyncError, `expected a SyncError, got ${String(error)}`);
    messages.push(error.message);
    return error;
  }
  assert.fail("expected an error");
}

const paths = (inv: SourceInventory) => inv.secrets.map((s) => s.path);
const calls = (r: ApiCallRecorder) => r.byOperation();
const TREE = ["a", "a/b", "a/b/c", "d/e/f/g", "z"];

describe("VaultKvSource inventory", () => {
  test("nested folders (a key that is also a folder) with OpenBao's recursive scan: one scan per top-level folder, no metadata reads", async () => {
    const mount = await newMount();
    for (const p of TREE) await put(mount, p, { v: secretValue() });
    await put(mount, "a/b", { v: secretValue() }); // version 2
    const { inv, recorder } = await inventoryWith(mount, "scan");
    assert.equal(inv.method, "detailed-metadata-scan");
    assert.deepEqual(paths(inv), TREE);
    assert.deepEqual(
      inv.secrets.map((s) => [s.path, s.version, s.state]),
      TREE.map((p) => [p, p === "a/b" ? 2 : 1, "present"]),
    );
    assert.deepEqual(inv.problems, []);
    // lookup-self, mount-info, the scan probe, one detailed LIST of the root (its secrets a and z,
    // its folders a/ and d/), one SCAN per top-level folder: a count set by the tree's top level,
    // not by the number of secrets.
    // The root's LIST is a short page, so one more asks for the rest of the folder (a policy
    // filter can shorten a page that is not the last).
    assert.deepEqual(calls(recorder), { "vault lookup-self": 1, "vault mount-info": 1, "vault list-detailed-metadata": 2, "vault scan-detailed-metadata": 3 });
    assert.equal(recorder.count("vault", "read-metadata"), 0);
    for (const s of inv.secrets) {
      assert.match(s.updatedTime ?? "", /^\d{4}-\d\d-\d\dT/);
      assert.match(s.versionCreatedTime ?? "", /^\d{4}-\d\d-\d\dT/);
      assert.equal(s.fingerprint, undefined);
    }
  });

  test("a top-level folder whose SCAN times out is listed and scanned one level down, not retried", async () => {
    const mount = await newMount();
    const tree = ["big/a/1", "big/a/2", "big/b/3", "big/c", "small/x", "top"];
    for (const p of tree) await put(mount, p, { v: secretValue() });
    // Only the scan of big/ is slow, past the source's timeout (as a 100,000-secret folder is).
    const proxy = new FaultProxy(bao.url, { slow: 1, slowMs: 2_000, only: (req) => /\/detailed-metadata\/big\/\?scan=true$/.test(req.url ?? "") });
    const address = await proxy.start();
    try {
      const recorder = new ApiCallRecorder();
      const inv = await source({ mount, token: await token(mount, "scan"), address, timeoutMs: 500, maxAttempts: 4, recorder }).inventory();
      assert.equal(inv.method, "detailed-metadata-scan");
      assert.deepEqual(paths(inv), tree);
      assert.deepEqual(inv.problems, []);
      const snapshot = recorder.snapshot();
      const timedOut = Object.entries(snapshot).filter(([k]) => /^vault scan-detailed-metadata .*timeout/i.test(k));
      assert.deepEqual(timedOut.map(([, n]) => n), [1], JSON.stringify(snapshot));
      // 200s: the probe, small/, then big/a/ and big/b/ after a detailed LIST of big/ (and of the root).
      assert.equal(recorder.count("vault", "scan-detailed-metadata", 200), 4, JSON.stringify(snapshot));
      assert.equal(recorder.count("vault", "list-detailed-metadata", 200), 2, JSON.stringify(snapshot));
    } finally {
      await proxy.stop();
    }
  });

  test("read + list only (reference policy) and Vault-style LIST + metadata give the same inventory", async () => {
    const mount = await newMount();
    for (const p of TREE) await put(mount, p, { v: secretValue() });
    await put(mount, "a/b", { v: secretValue() });
    await root("POST", `${mount}/metadata/z`, { custom_metadata: { owner: "team-z" } });
    const scan = await inventoryWith(mount, "scan");
    const reference = await inventoryWith(mount, "reference");
    const vault = await inventoryWith(mount, "vault");
    assert.deepEqual([scan.inv.method, reference.inv.method, vault.inv.method], ["detailed-metadata-scan", "detailed-metadata-list", "list-and-metadata"]);
    for (const r of [reference, vault]) {
      assert.deepEqual(r.inv.secrets, scan.inv.secrets);
      assert.deepEqual(r.inv.problems, []);
    }
    assert.deepEqual(scan.inv.secrets.find((s) => s.path === "z")?.customMetadata, { owner: "team-z" });
    // 6 folders: "", a/, a/b/, d/, d/e/, d/e/f/, each a short page and a request for the rest.
    // The scan probe answers 403 without `scan`.
    assert.deepEqual(calls(reference.recorder), {
      "vault list-detailed-metadata": 1 + 6 * 2,
      "vault lookup-self": 1,
      "vault mount-info": 1,
      "vault scan-detailed-metadata": 1,
    });
    assert.equal(reference.recorder.count("vault", "scan-detailed-metadata", 403), 1);
    assert.deepEqual(calls(vault.recorder), {
      "vault list-detailed-metadata": 1,
      "vault list-metadata": 6 * 2,
      "vault lookup-self": 1,
      "vault mount-info": 1,
      "vault read-metadata": 5,
      "vault scan-detailed-metadata": 1,
    });
    for (const r of [scan, reference, vault]) assert.equal(r.recorder.count("vault", "read-data"), 0);
  });

  test("a sub-path scopes the inventory; paths stay relative to the mount", async () => {
    const mount = await newMount();
    for (const p of ["team-a/prod/db", "team-a/prod/api/key", "team-a/dev/db", "team-b/prod/db", "team-a-prod"]) await put(mount, p, { v: secretValue() });
    for (const listing of ["scan", "reference", "vault"] as const) {
      const { inv } = await inventoryWith(mount, listing, { path: "/team-a/prod/" });
      assert.deepEqual(paths(inv), ["team-a/prod/api/key", "team-a/prod/db"], listing);
      const empty = await inventoryWith(mount, listing, { path: "team-c" });
      assert.deepEqual([empty.inv.secrets, empty.inv.problems], [[], []], listing);
    }
  });

  test("scan returns the whole tree in one call (OpenBao ignores after/limit on SCAN); detailed LIST pages", async () => {
    const mount = await newMount();
    const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    for (const k of keys) await put(mount, k, { v: secretValue() });
    for (const k of ["f/x", "f/y"]) await put(mount, k, { v: secretValue() });
    // The server behaviour the scan relies on: limit is not applied to SCAN.
    const raw = (await root("SCAN", `${mount}/detailed-metadata/?limit=2&after=k05`)) as { data: { keys: string[] } };
    assert.equal(raw.data.keys.length, 27);

    const scan = await inventoryWith(mount, "scan", { listPageSize: 3 });
    assert.deepEqual(paths(scan.inv), [...keys, "f/x", "f/y"].sort());
    assert.equal(scan.recorder.count("vault", "scan-detailed-metadata"), 2);

    const list = await inventoryWith(mount, "reference", { listPageSize: 3 });
    assert.deepEqual(paths(list.inv), paths(scan.inv));
    // Root: 25 secrets + "f/" = 26 keys = 9 pages of 3 (the last one short), then the rest
    // (nothing); f/: 1 short page and the rest.
    assert.equal(list.recorder.count("vault", "list-detailed-metadata"), 1 + 9 + 1 + 2);
  });

  test("soft-deleted, destroyed, metadata-only and scheduled-deletion current versions", async () => {
    const mount = await newMount();
    for (const p of ["live", "soft", "gone", "old-deleted"]) await put(mount, p, { v: secretValue() });
    await root("DELETE", `${mount}/data/soft`);
    await root("PUT", `${mount}/destroy/gone`, { versions: [1] });
    await root("DELETE", `${mount}/data/old-deleted`);
    await put(mount, "old-deleted", { v: secretValue() }); // v1 deleted, v2 (current) present
    await root("POST", `${mount}/metadata/later`, { delete_version_after: "1h" });
    await put(mount, "later", { v: secretValue() }); // deletion_time one hour ahead: still present
    await root("POST", `${mount}/metadata/meta-only`, { custom_metadata: { note: "no data yet" } });
    for (const listing of ["scan", "reference", "vault"] as const) {
      const { inv } = await inventoryWith(mount, listing);
      assert.deepEqual(
        inv.secrets.map((s) => [s.path, s.version, s.state]),
        [
          ["gone", 1, "destroyed"],
          ["later", 1, "present"],
          ["live", 1, "present"],
          ["meta-only", 0, "deleted"],
          ["old-deleted", 2, "present"],
          ["soft", 1, "deleted"],
        ],
        listing,
      );
    }
  });

  test("an empty mount is an empty inventory, not an error (LIST answers 404 with no errors)", async () => {
    const mount = await newMount();
    const listResponse = await bao.api("LIST", `${mount}/metadata/`);
    assert.deepEqual(listResponse, { status: 404, json: { errors: [] } });
    for (const listing of ["scan", "reference", "vault"] as const) {
      const { inv } = await inventoryWith(mount, listing);
      assert.deepEqual([inv.secrets, inv.problems], [[], []], listing);
    }
    const v1 = await newMount(1);
    const { inv } = await inventoryWith(v1, "reference");
    assert.deepEqual([inv.method, inv.secrets, inv.problems], ["kv-v1-list-and-read", [], []]);
  });

  test("a denied subtree or secret is a problem with its path; the rest is listed", async () => {
    const mount = await newMount();
    for (const p of ["open/a", "open/hidden", "secret-sub/b", "secret-sub/deeper/c", "top"]) await put(mount, p, { v: secretValue() });
    const deny = [
      `path "${mount}/metadata/secret-sub/*" { capabilities = ["deny"] }`,
      `path "${mount}/detailed-metadata/secret-sub/*" { capabilities = ["deny"] }`,
      `path "${mount}/data/secret-sub/*" { capabilities = ["deny"] }`,
    ].join("\n");
    for (const listing of ["scan", "reference", "vault"] as const) {
      const inv = await source({ mount, token: await token(mount, listing, deny) }).inventory();
      inv.problems.forEach((p) => messages.push(p.message));
      assert.deepEqual(paths(inv), ["open/a", "open/hidden", "top"], listing);
      assert.deepEqual(inv.problems.map((p) => [p.path, p.errorClass]), [["secret-sub/", "permission-denied"]], listing);
    }
    // Vault-style listing reads metadata per secret: one denied read is one problem.
    const oneDenied = await source({ mount, token: await token(mount, "vault", `path "${mount}/metadata/open/hidden" { capabilities = ["deny"] }`) }).inventory();
    oneDenied.problems.forEach((p) => messages.push(p.message));
    assert.deepEqual(paths(oneDenied), ["open/a", "secret-sub/b", "secret-sub/deeper/c", "top"]);
    assert.deepEqual(oneDenied.problems.map((p) => [p.path, p.errorClass]), [["open/hidden", "permission-denied"]]);

    // SCAN checks the policy on the requested path only (verified on OpenBao 2.7.2): a deny below
    // a scanned top-level folder does not hide its keys, and reading one of the values fails for
    // that secret, with its path.
    const deeper = ["metadata", "detailed-metadata", "data"].map((p) => `path "${mount}/${p}/secret-sub/deeper/*" { capabilities = ["deny"] }`).join("\n");
    const scanSource = source({ mount, token: await token(mount, "scan", deeper) });
    const scanned = await scanSource.inventory();
    assert.equal(scanned.method, "detailed-metadata-scan");
    assert.deepEqual(paths(scanned), ["open/a", "open/hidden", "secret-sub/b", "secret-sub/deeper/c", "top"]);
    assert.deepEqual(scanned.problems, []);
    const denied = await syncError(() => scanSource.readValue("secret-sub/deeper/c", 1));
    assert.equal(denied.errorClass, "permission-denied");
    assert.equal(denied.secretPath, "secret-sub/deeper/c");
    assert.match(denied.message, /^GET \S+\/data\/secret-sub\/deeper\/c\?version=1: HTTP 403: .*permission denied/);
  });

  test("readMetadata is the authority on one path: found (any state), null when the server says not found, that path's error when refused; one read each", async () => {
    const mount = await newMount();
    for (const p of ["live", "soft", "denied"]) await put(mount, p, { v: secretValue() });
    await root("DELETE", `${mount}/data/soft`);
    const recorder = new ApiCallRecorder();
    const src = source({ mount, recorder, token: await token(mount, "scan", `path "${mount}/metadata/denied" { capabilities = ["deny"] }`) });
    const read = await src.readMetadata(["live", "soft", "never-was", "denied"]);
    const shown = [...read].map(([path, fact]) => [path, "error" in fact ? fact.error.errorClass : fact.ok === null ? null : fact.ok.state]).sort();
    assert.deepEqual(shown, [["denied", "permission-denied"], ["live", "present"], ["never-was", null], ["soft", "deleted"]]);
    assert.equal(recorder.count("vault", "read-metadata"), 4);
    const v1 = await newMount(1);
    await put(v1, "x", { v: secretValue() }, 1);
    const v1read = await source({ mount: v1, token: await token(v1, "reference") }).readMetadata(["x", "y"]);
    const x = v1read.get("x");
    assert.deepEqual(x && "ok" in x && x.ok ? [x.ok.path, x.ok.version, x.ok.state] : x, ["x", null, "present"]);
    assert.deepEqual(v1read.get("y"), { ok: null });
  });

  test("a root that cannot be listed throws instead of reading as empty", async () => {
    const mount = await newMount();
    await put(mount, "x", { v: secretValue() });
    const rootDenied = `path "${mount}/metadata/" { capabilities = ["deny"] }\npath "${mount}/detailed-metadata/" { capabilities = ["deny"] }`;
    for (const listing of ["reference", "vault"] as const) {
      const t = await token(mount, listing, rootDenied);
      const e = await syncError(() => source({ mount, token: t }).inventory());
      assert.equal(e.errorClass, "permission-denied", listing);
    }
    const scopedDenied = `path "${mount}/metadata/team/*" { capabilities = ["deny"] }`;
    const e = await syncError(async () => source({ mount, token: await token(mount, "vault", scopedDenied), path: "team/x" }).inventory());
    assert.equal(e.errorClass, "permission-denied");
  });
});

describe("VaultKvSource KV v1 and reads", () => {
  test("KV v1: version null, an in-memory fingerprint that follows the value", async () => {
    const mount = await newMount(1);
    await put(mount, "a/b", { v: secretValue() }, 1);
    await put(mount, "a", { v: secretValue() }, 1);
    await put(mount, "c/d/e", { v: secretValue() }, 1);
    const first = await inventoryWith(mount, "reference");
    assert.equal(first.inv.method, "kv-v1-list-and-read");
    assert.deepEqual(first.inv.secrets.map((s) => [s.path, s.version, s.state]), [["a", null, "present"], ["a/b", null, "present"], ["c/d/e", null, "present"]]);
    for (const s of first.inv.secrets) assert.match(s.fingerprint ?? "", /^[0-9a-f]{64}$/);
    // Two LISTs per folder: OpenBao's KV v1 sends every key whatever the limit, and the request
    // for the rest brings nothing new.
    assert.deepEqual(calls(first.recorder), { "vault list-metadata": 4 * 2, "vault lookup-self": 1, "vault mount-info": 1, "vault read-data": 3 });

    const same = await inventoryWith(mount, "reference");
    assert.deepEqual(same.inv.secrets, first.inv.secrets);
    await put(mount, "a/b", { v: secretValue() }, 1);
    const changed = await inventoryWith(mount, "reference");
    const fp = (inv: SourceInventory, p: string) => inv.secrets.find((s) => s.path === p)?.fingerprint;
    assert.notEqual(fp(changed.inv, "a/b"), fp(first.inv, "a/b"));
    assert.equal(fp(changed.inv, "a"), fp(first.inv, "a"));
    assert.ok(!JSON.stringify(changed.inv).includes("CANARY"), "the inventory holds no value");

    const src = source({ mount, token: await token(mount, "reference") });
    const value = { v: secretValue(), n: 3 };
    await put(mount, "c/d/e", value, 1);
    assert.deepEqual(await src.readValue("c/d/e", null), value);
    const missing = await syncError(() => src.readValue("c/nope", null));
    assert.equal(missing.errorClass, "source-not-found");
  });

  test("readValue returns the exact version asked for; a deleted or destroyed version is source-not-found", async () => {
    const mount = await newMount();
    const v1 = { pw: secretValue("v1"), user: "app" };
    const v2 = { pw: secretValue("v2"), user: "app" };
    const v3 = { pw: secretValue("v3") };
    await put(mount, "team/db", v1);
    await put(mount, "team/db", v2);
    await put(mount, "team/db", v3);
    const recorder = new ApiCallRecorder();
    const src = source({ mount, token: await token(mount, "vault"), recorder });
    assert.deepEqual(await src.readValue("team/db", 1), v1);
    assert.deepEqual(await src.readValue("team/db", 2), v2);
    assert.deepEqual(await src.readValue("team/db", 3), v3);
    assert.equal(recorder.count("vault", "read-data", 200), 3);

    await root("PUT", `${mount}/destroy/team/db`, { versions: [1] });
    await root("POST", `${mount}/delete/team/db`, { versions: [2] });
    for (const version of [1, 2, 9]) {
      const e = await syncError(() => src.readValue("team/db", version));
      assert.equal(e.errorClass, "source-not-found", `version ${version}`);
      assert.equal(e.secretPath, "team/db");
      assert.match(e.message, new RegExp(`^team/db: version ${version} is deleted or destroyed`));
    }
    assert.deepEqual(await src.readValue("team/db", 3), v3);
  });

  test("paths with spaces and unicode round-trip", async () => {
    const mount = await newMount();
    const value = { v: secretValue() };
    await put(mount, "team%20one/cl%C3%A9", value);
    for (const listing of ["scan", "reference", "vault"] as const) {
      const src = source({ mount, token: await token(mount, listing) });
      assert.deepEqual(paths(await src.inventory()), ["team one/clé"], listing);
      assert.deepEqual(await src.readValue("team one/clé", 1), value, listing);
    }
  });
});

describe("VaultKvSource failures at the root", () => {
  test("a bad token is source-auth (OpenBao answers 403 permission denied), not retried", async () => {
    const mount = await newMount();
    await put(mount, "x", { v: secretValue() });
    const raw = await bao.api("GET", "auth/token/lookup-self", undefined, "bogus");
    assert.deepEqual(raw, { status: 403, json: { errors: ["permission denied"] } });
    const recorder = new ApiCallRecorder();
    const src = source({ mount, token: "bogus", recorder, maxAttempts: 4 });
    const e = await syncError(() => src.inventory());
    assert.equal(e.errorClass, "source-auth");
    // A valid token whose policy lacks lookup-self is refused too: the mount list tells them apart.
    assert.deepEqual(recorder.snapshot(), { "vault list-mounts 403": 1, "vault lookup-self 403": 1 });
  });

  test("a mount that does not exist is source-not-found, never an empty inventory", async () => {
    for (const kvVersion of ["auto", 2] as const) {
      const e = await syncError(() => source({ mount: "does-not-exist", token: bao.rootToken, kvVersion }).inventory());
      assert.equal(e.errorClass, "source-not-found", String(kvVersion));
    }
    const pki = uniqueMount("pki");
    await root("POST", `sys/mounts/${pki}`, { type: "pki" });
    const e = await syncError(() => source({ mount: pki, token: bao.rootToken }).validate());
    assert.equal(e.errorClass, "config-invalid");
  });

  test("no server listening, or a server that never answers, is source-unavailable", async () => {
    const port = await freePort();
    const recorder = new ApiCallRecorder();
    const down = new VaultKvSource({ address: `http://127.0.0.1:${port}`, token: "t", mount: "m", maxAttempts: 2, recorder });
    opened.push(down);
    const e = await syncError(() => down.inventory());
    assert.equal(e.errorClass, "source-unavailable");
    assert.match(e.message, /ECONNREFUSED/);
    assert.deepEqual(recorder.snapshot(), { "vault lookup-self ECONNREFUSED": 2 });

    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s)).listen(0, "127.0.0.1");
    await once(silent, "listening");
    try {
      const address = silent.address() as { port: number };
      const slow = source({ mount: "m", token: "t", address: `http://127.0.0.1:${address.port}`, timeoutMs: 300 });
      const started = Date.now();
      const t = await syncError(() => slow.validate());
      assert.equal(t.errorClass, "source-unavailable");
      assert.match(t.message, /no answer within 300 ms/);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  test("a sealed server is source-sealed after a bounded number of attempts", async () => {
    const mount = await newMount();
    await put(mount, "x", { v: secretValue() });
    const unsealKey = /Unseal Key: (\S+)/.exec(bao.output())?.[1];
    assert.ok(unsealKey, "the dev server prints its unseal key");
    await root("PUT", "sys/seal");
    try {
      const raw = await bao.api("GET", "auth/token/lookup-self");
      assert.deepEqual(raw, { status: 503, json: { errors: ["Vault is sealed"] } });
      const recorder = new ApiCallRecorder();
      const e = await syncError(() => source({ mount, token: bao.rootToken, maxAttempts: 3, recorder }).inventory());
      assert.equal(e.errorClass, "source-sealed");
      assert.deepEqual(recorder.snapshot(), { "vault lookup-self 503": 3 });
    } finally {
      await root("PUT", "sys/unseal", { key: unsealKey });
      for (let i = 0; i < 50 && (await bao.api("GET", "sys/health")).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    }
    const back = await source({ mount, token: bao.rootToken }).inventory();
    assert.deepEqual(paths(back), ["x"]);
  });
});

describe("a token whose policy lacks auth/token/lookup-self", () => {
  /** An orphan with exactly `policy` (no default policy, so no lookup-self or renew-self). */
  async function tokenWith(policy: string): Promise<string> {
    const name = uniqueMount("pol-nolookup");
    await root("PUT", `sys/policies/acl/${name}`, { policy });
    const created = (await root("POST", "auth/token/create-orphan", { policies: [name], no_default_policy: true, ttl: "1h", renewable: true })) as { auth: { client_token: string } };
    return created.auth.client_token;
  }

  test("runs without TTL knowledge: lists, reads, never renews, and says once that the TTL is unknown", async () => {
    const mount = await newMount();
    const value = { pw: secretValue("nolookup") };
    await put(mount, "app/db", value);
    const t = await tokenWith(`path "${mount}/*" { capabilities = ["read", "list"] }\npath "${mount}/detailed-metadata/*" { capabilities = ["read", "list", "scan"] }`);
    assert.equal((await bao.api("GET", "auth/token/lookup-self", undefined, t)).status, 403, "the policy really denies lookup-self");
    const recorder = new ApiCallRecorder();
    const { logger, lines } = captureLogger();
    const src = source({ mount, token: t, recorder, logger });
    assert.equal((await src.validate()).listingMethod, "detailed-metadata-scan");
    assert.deepEqual(paths(await src.inventory()), ["app/db"]);
    assert.deepEqual(await src.readValue("app/db", 1), value);
    assert.deepEqual(await src.inventoryOf(["app/db"]).then(paths), ["app/db"]);
    assert.equal(recorder.count("vault", "renew-self"), 0);
    const notices = lines().filter((l) => /TTL/.test(String(l.msg)));
    assert.deepEqual(
      notices.map((l) => [l.level, l.msg]),
      [[30, `the Vault token's TTL is unknown (its policy does not allow auth/token/lookup-self): secretbridge cannot tell when it expires and does not renew it`]],
    );
  });

  test("no token yet (a login still failing) is source-auth: the mount list answers anyone without a token", async () => {
    const mount = await newMount();
    const recorder = new ApiCallRecorder();
    const e = await syncError(() => source({ mount, token: { current: () => "" }, recorder }).validate());
    assert.equal(e.errorClass, "source-auth");
    assert.equal(e.message, `no token to send to ${bao.url} yet: the login has not succeeded`);
    assert.deepEqual(recorder.snapshot(), {}, "nothing is sent without a token");
  });

  test("a valid token without the mount is told what to grant; a revoked one is told it is invalid", async () => {
    const mount = await newMount();
    await put(mount, "app/db", { pw: secretValue() });
    const other = await newMount();
    const elsewhere = await tokenWith(`path "${other}/*" { capabilities = ["read", "list"] }`);
    const denied = await syncError(() => source({ mount, token: elsewhere }).validate());
    assert.equal(denied.errorClass, "source-not-found");
    assert.equal(
      denied.message,
      `mount ${mount} does not exist on ${bao.url}, or the token's policy allows nothing on it: check source.mount, and grant "read" and "list" on "${mount}/*"`,
    );

    const revoked = await tokenWith(`path "${mount}/*" { capabilities = ["read", "list"] }`);
    assert.equal((await bao.api("POST", "auth/token/revoke", { token: revoked })).status, 204);
    const recorder = new ApiCallRecorder();
    const invalid = await syncError(() => source({ mount, token: revoked, recorder, maxAttempts: 4 }).validate());
    assert.equal(invalid.errorClass, "source-auth");
    assert.equal(invalid.message, `${bao.url} refused the token: it is invalid, expired or revoked (not a policy problem): log in again or replace it`);
    assert.equal(recorder.count("vault", "mount-info"), 0, "an invalid token is not asked about the mount");
  });
});

describe("bootstrapVault", () => {
  test("creates both engines, the policy and a token that reads only the replicated mount; twice is fine", async () => {
    const mount = uniqueMount("hybrid");
    const restrictedMount = uniqueMount("super");
    const policyName = uniqueMount("aws-replication-read-only");
    const first = await bootstrapVault({ address: bao.url, adminToken: bao.rootToken, mount, restrictedMount, policyName, sampleSecrets: true });
    assert.deepEqual(first.createdMounts, [mount, restrictedMount]);
    assert.deepEqual(first.sampleSecrets, [`${mount}/first-secret-for-replication`, `${mount}/second-secret-for-replication`, `${restrictedMount}/super-secret`]);
    assert.equal(first.mount, mount);
    assert.equal(first.policyName, policyName);
    const stored = (await root("GET", `sys/policies/acl/${policyName}`)) as { data: { policy: string } };
    assert.equal(stored.data.policy, first.policy);
    assert.match(first.policy, /capabilities = \["read", "list", "scan"\]/);

    const self = (await bao.api("GET", "auth/token/lookup-self", undefined, first.token)).json as { data: { policies: string[]; orphan: boolean; renewable: boolean } };
    assert.deepEqual([self.data.policies, self.data.orphan, self.data.renewable], [[policyName], true, true]);
    assert.equal((await bao.api("POST", "auth/token/renew-self", {}, first.token)).status, 200);

    const recorder = new ApiCallRecorder();
    const src = source({ mount, token: first.token, recorder });
    const inv = await src.inventory();
    assert.equal(inv.method, "detailed-metadata-scan");
    assert.deepEqual(inv.secrets.map((s) => [s.path, s.version]), [["first-secret-for-replication", 1], ["second-secret-for-replication", 1]]);
    assert.deepEqual(await src.readValue("first-secret-for-replication", 1), { secrets: "manager" });
    assert.equal((await bao.api("GET", `${restrictedMount}/data/super-secret`, undefined, first.token)).status, 403);
    assert.equal((await bao.api("LIST", `${restrictedMount}/metadata/`, undefined, first.token)).status, 403);
    assert.equal((await bao.api("POST", `${mount}/data/new`, { data: { a: "b" } }, first.token)).status, 403);
    const restricted = await syncError(() => source({ mount: restrictedMount, token: first.token }).inventory());
    assert.equal(restricted.errorClass, "source-not-found");

    const second = await bootstrapVault({ address: bao.url, adminToken: bao.rootToken, mount, restrictedMount, policyName, sampleSecrets: true });
    assert.deepEqual(second.createdMounts, []);
    assert.equal(second.policy, first.policy);
    assert.notEqual(second.token, first.token);
    const again = await source({ mount, token: second.token }).inventory();
    assert.deepEqual(again.secrets.map((s) => [s.path, s.version]), [["first-secret-for-replication", 1], ["second-secret-for-replication", 1]], "samples are not rewritten");
  });

  test("refuses a mount that exists with another KV version", async () => {
    const v1 = await newMount(1);
    const e = await syncError(() => bootstrapVault({ address: bao.url, adminToken: bao.rootToken, mount: v1, restrictedMount: uniqueMount("super"), policyName: uniqueMount("p") }));
    assert.equal(e.errorClass, "config-invalid");
    assert.match(e.message, new RegExp(`mount ${v1} already exists as kv v1`));
  });
});

describe("resolveVaultConnection", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-cred-"));
  test("address and token in the documented order", () => {
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, "  from-file\n");
    writeFileSync(join(dir, ".vault-token"), "from-home\n");
    const env = { HOME: dir, BAO_ADDR: "http://bao", VAULT_ADDR: "http://vault", BAO_TOKEN: "bao-t", VAULT_TOKEN: "vault-t" };
    assert.deepEqual(resolveVaultConnection({ address: "http://cfg", token: "cfg-t", tokenFile }, env), { address: "http://cfg", token: "cfg-t" });
    assert.deepEqual(resolveVaultConnection({ tokenFile }, env), { address: "http://bao", token: "from-file", tokenFile });
    assert.deepEqual(resolveVaultConnection({ address: "" }, env), { address: "http://bao", token: "bao-t" });
    assert.deepEqual(resolveVaultConnection({}, { ...env, BAO_ADDR: "", BAO_TOKEN: "" }), { address: "http://vault", token: "vault-t" });
    assert.deepEqual(resolveVaultConnection({}, { HOME: dir, VAULT_ADDR: "http://vault" }), { address: "http://vault", token: "from-home" });
  });
  test("a missing address or token says what to set", () => {
    const empty = mkdtempSync(join(tmpdir(), "sb-cred-empty-"));
    assert.throws(() => resolveVaultConnection({ token: "t" }, { HOME: empty }), (e: unknown) => e instanceof SyncError && e.errorClass === "config-invalid" && /BAO_ADDR or VAULT_ADDR/.test(e.message));
    assert.throws(() => resolveVaultConnection({ address: "http://a" }, { HOME: empty }), (e: unknown) => e instanceof SyncError && e.errorClass === "config-invalid" && /BAO_TOKEN or VAULT_TOKEN/.test(e.message));
    assert.throws(() => resolveVaultConnection({ address: "http://a", tokenFile: join(empty, "nope") }, { HOME: empty }), (e: unknown) => e instanceof SyncError && e.errorClass === "config-invalid" && /ENOENT/.test(e.message));
  });
});

describe("static token renewal", () => {
  test("a periodic static token past half its period is renewed by the run's token check; a fresh one is not", async () => {
    const mount = uniqueMount("renew");
    await root("POST", `sys/mounts/${mount}`, { type: "kv", options: { version: "2" } });
    const name = uniqueMount("pol-renew");
    await root("PUT", `sys/policies/acl/${name}`, { policy: `path "${mount}/*" { capabilities = ["read", "list"] }\npath "auth/token/renew-self" { capabilities = ["update"] }` });
    const created = (await root("POST", "auth/token/create", { policies: [name], period: "6s" })) as { auth: { client_token: string } };
    const periodic = created.auth.client_token;
    const ttl = async () => ((await root("POST", "auth/token/lookup", { token: periodic })) as { data: { ttl: number } }).data.ttl;

    const fresh = new ApiCallRecorder();
    await source({ mount, token: periodic, recorder: fresh }).validate();
    assert.equal(fresh.count("vault", "renew-self"), 0, "more than half of the period left: no renewal");

    await new Promise((r) => setTimeout(r, 4000));
    assert.ok((await ttl()) <= 3, "the token is past half its period");
    const late = new ApiCallRecorder();
    await source({ mount, token: periodic, recorder: late }).validate();
    assert.equal(late.count("vault", "renew-self"), 1);
    assert.ok((await ttl()) >= 5, "renewed to a full period");
  });
});

describe("TLS", () => {
  test("a custom CA is trusted when configured, and the connection is refused without it", async () => {
    const tlsBao = await startOpenBao({ tls: true });
    try {
      assert.match(tlsBao.url, /^https:/);
      assert.ok(tlsBao.caCertPem);
      const ok = source({ address: tlsBao.url, token: tlsBao.rootToken, mount: "secret", tls: { caCertPem: tlsBao.caCertPem } });
      assert.equal((await ok.validate()).kvVersion, 2);
      const skip = source({ address: tlsBao.url, token: tlsBao.rootToken, mount: "secret", tls: { insecureSkipVerify: true } });
      assert.equal((await skip.validate()).kvVersion, 2);
      const recorder = new ApiCallRecorder();
      const untrusted = source({ address: tlsBao.url, token: tlsBao.rootToken, mount: "secret", maxAttempts: 3, recorder });
      const e = await syncError(() => untrusted.validate());
      assert.equal(e.errorClass, "source-unavailable");
      assert.match(e.message, /certificate is not trusted: set source.tls.caCertFile/);
      assert.equal(recorder.count("vault", "lookup-self"), 1, "a certificate problem is not retried");
    } finally {
      await tlsBao.stop();
    }
  });

  test("https:// against a plain-HTTP server says the server does not speak TLS (not caCertFile), without the URL's userinfo", async () => {
    const recorder = new ApiCallRecorder();
    const address = bao.url.replace("http://", "https://reader:CANARY-userinfo@");
    const e = await syncError(() => source({ address, token: bao.rootToken, mount: "secret", maxAttempts: 3, recorder }).validate());
    assert.equal(e.errorClass, "source-unavailable");
    assert.equal(
      e.message,
      `GET auth/token/lookup-self: the server at https://127.0.0.1:${bao.port} does not speak TLS: use http:// or enable TLS on the server (ERR_SSL_WRONG_VERSION_NUMBER)`,
    );
    assert.equal(recorder.count("vault", "lookup-self"), 1, "not retried: another attempt cannot change the answer");
  });
});

describe("no secret material in messages", () => {
  test("no error or problem message carries a value written by these tests", () => {
    assert.ok(canaries.length > 20 && messages.length > 15, `${canaries.length} canaries, ${messages.length} messages`);
    for (const message of messages) {
      for (const value of canaries) assert.ok(!message.includes(value), `a message leaks a canary: ${message}`);
      assert.ok(!message.includes("CANARY"), message);
    }
  });
});
