// The Vault/OpenBao source on its own, against a real OpenBao: listing strategies, scoping,
// deleted versions, denied subtrees, KV v1, and the root failures that must stop a run.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SyncError } from "../../src/core/errors.js";
import type { SourceInventory } from "../../src/core/model.js";
import { VaultKvSource, type VaultSourceOptions } from "../../src/sources/vault/index.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { Peers, type Scenario } from "../helpers/harness.js";
import { canary, startOpenBao } from "../helpers/peers.js";

let peers: Peers;
const opened: VaultKvSource[] = [];
before(async () => {
  peers = await Peers.start();
});
after(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await peers.stop();
});

function source(s: Scenario, token: string, extra: Partial<VaultSourceOptions> = {}): VaultKvSource {
  const src = new VaultKvSource({ address: peers.bao.url, token, mount: s.mount, maxAttempts: 1, ...extra });
  opened.push(src);
  return src;
}

const paths = (inv: { secrets: { path: string }[] }) => inv.secrets.map((x) => x.path);

describe("VaultKvSource", () => {
  test("all three listings give the same inventory, with the expected call pattern", async () => {
    const s = await peers.scenario();
    for (const p of ["a", "a/b", "a/b/c", "d/e/f/g", "z"]) await s.put(p, { v: canary() });
    await s.put("a/b", { v: canary() }); // version 2
    const results: SourceInventory[] = [];
    for (const listing of ["scan", "list", "vault"] as const) {
      const recorder = new ApiCallRecorder();
      const inv = await source(s, await s.readOnlyToken({ listing }), { recorder }).inventory();
      results.push(inv);
      assert.deepEqual(paths(inv), ["a", "a/b", "a/b/c", "d/e/f/g", "z"], listing);
      assert.equal(inv.secrets.find((x) => x.path === "a/b")?.version, 2);
      assert.equal(recorder.count("vault", "read-data"), 0);
    }
    assert.deepEqual(results.map((r) => r.method), ["detailed-metadata-scan", "detailed-metadata-list", "list-and-metadata"]);
    const strip = (r: (typeof results)[number]) => r.secrets.map(({ path, version, state }) => ({ path, version, state }));
    assert.deepEqual(strip(results[0]!), strip(results[1]!));
    assert.deepEqual(strip(results[1]!), strip(results[2]!));
  });

  test("a sub-path scopes the inventory; paths stay relative to the mount", async () => {
    const s = await peers.scenario();
    for (const p of ["team-a/db", "team-a/api/key", "team-b/db"]) await s.put(p, { v: canary() });
    for (const listing of ["scan", "list", "vault"] as const) {
      const inv = await source(s, await s.readOnlyToken({ listing }), { path: "team-a" }).inventory();
      assert.deepEqual(paths(inv), ["team-a/api/key", "team-a/db"], listing);
    }
  });

  test("detailed LIST pages through large folders", async () => {
    const s = await peers.scenario();
    for (let i = 0; i < 7; i++) await s.put(`k${i}`, { v: "x" });
    const recorder = new ApiCallRecorder();
    const inv = await source(s, await s.readOnlyToken({ listing: "list" }), { listPageSize: 3, recorder }).inventory();
    assert.equal(inv.secrets.length, 7);
    assert.equal(recorder.count("vault", "list-detailed-metadata"), 1 + 3); // probe + pages of 3, 3, 1
  });

  test("soft-deleted and destroyed current versions are reported as such", async () => {
    const s = await peers.scenario();
    for (const p of ["live", "soft", "gone"]) await s.put(p, { v: canary() });
    await peers.bao.api("DELETE", `${s.mount}/data/soft`);
    await peers.bao.api("PUT", `${s.mount}/destroy/gone`, { versions: [1] });
    const inv = await source(s, await s.readOnlyToken()).inventory();
    assert.deepEqual(inv.secrets.map((x) => [x.path, x.state]), [["gone", "destroyed"], ["live", "present"], ["soft", "deleted"]]);
  });

  test("a denied subtree is a problem with its path; the rest is listed", async () => {
    const s = await peers.scenario();
    for (const p of ["open/a", "locked/b", "locked/deeper/c", "top"]) await s.put(p, { v: canary() });
    const deny = `path "${s.mount}/metadata/locked/*" { capabilities = ["deny"] }\npath "${s.mount}/detailed-metadata/locked/*" { capabilities = ["deny"] }`;
    for (const listing of ["list", "vault"] as const) {
      const inv = await source(s, await s.readOnlyToken({ listing, extraPolicy: deny })).inventory();
      assert.deepEqual(paths(inv), ["open/a", "top"], listing);
      assert.deepEqual(inv.problems.map((p) => [p.path, p.errorClass]), [["locked/", "permission-denied"]], listing);
    }
  });

  test("readValue returns the exact version asked for", async () => {
    const s = await peers.scenario();
    const v1 = { pw: canary("v1") };
    const v2 = { pw: canary("v2") };
    await s.put("db", v1);
    await s.put("db", v2);
    const src = source(s, await s.readOnlyToken());
    assert.deepEqual(await src.readValue("db", 1), v1);
    assert.deepEqual(await src.readValue("db", 2), v2);
    await peers.bao.api("PUT", `${s.mount}/destroy/db`, { versions: [1] });
    await assert.rejects(src.readValue("db", 1), (e: unknown) => e instanceof SyncError && e.errorClass === "source-not-found" && !e.message.includes(v1.pw));
  });

  test("paths with spaces and unicode round-trip", async () => {
    const s = await peers.scenario();
    await s.put("team one/clé", { v: "x" });
    const src = source(s, await s.readOnlyToken({ listing: "vault" }));
    const inv = await src.inventory();
    assert.deepEqual(paths(inv), ["team one/clé"]);
    assert.deepEqual(await src.readValue("team one/clé", 1), { v: "x" });
  });

  test("KV v1: values fingerprinted in memory, version null", async () => {
    const s = await peers.scenario({ kvVersion: 1 });
    await s.put("a/b", { v: "1" });
    const src = source(s, await s.readOnlyToken());
    const first = await src.inventory();
    assert.equal(first.method, "kv-v1-list-and-read");
    assert.deepEqual(first.secrets.map((x) => [x.path, x.version]), [["a/b", null]]);
    await s.put("a/b", { v: "2" });
    const second = await source(s, await s.readOnlyToken()).inventory();
    assert.notEqual(first.secrets[0]?.fingerprint, second.secrets[0]?.fingerprint);
  });

  test("root failures throw with a class: bad token, missing mount, sealed, unreachable", async () => {
    const s = await peers.scenario();
    const klass = async (src: VaultKvSource) => {
      try {
        await src.inventory();
        return "no error";
      } catch (error) {
        return error instanceof SyncError ? error.errorClass : String(error);
      }
    };
    assert.equal(await klass(source(s, "bogus")), "source-auth");
    assert.equal(await klass(new VaultKvSource({ address: peers.bao.url, token: peers.bao.rootToken, mount: "does-not-exist", maxAttempts: 1 })), "source-not-found");
    assert.equal(
      await klass(new VaultKvSource({ address: peers.bao.url, token: peers.bao.rootToken, mount: "does-not-exist", kvVersion: 2, maxAttempts: 1 })),
      "source-not-found",
      "a missing mount must never read as an empty one",
    );
    assert.equal(await klass(new VaultKvSource({ address: "http://127.0.0.1:9", token: "t", mount: "m", maxAttempts: 1 })), "source-unavailable");

    const sealed = await startOpenBao();
    try {
      await sealed.api("PUT", "sys/seal");
      assert.equal(await klass(new VaultKvSource({ address: sealed.url, token: sealed.rootToken, mount: "secret", maxAttempts: 2 })), "source-sealed");
    } finally {
      await sealed.stop();
    }
  });
});

describe("TLS", () => {
  test("a custom CA is trusted when configured, and the connection is refused without it", async () => {
    const tlsBao = await startOpenBao({ tls: true });
    try {
      assert.match(tlsBao.url, /^https:/);
      assert.ok(tlsBao.caCertPem);
      const ok = new VaultKvSource({ address: tlsBao.url, token: tlsBao.rootToken, mount: "secret", tls: { caCertPem: tlsBao.caCertPem }, maxAttempts: 1 });
      const caps = await ok.validate();
      assert.equal(caps.kvVersion, 2);
      await ok.close();
      const untrusted = new VaultKvSource({ address: tlsBao.url, token: tlsBao.rootToken, mount: "secret", maxAttempts: 1 });
      await assert.rejects(untrusted.validate(), (e: unknown) => e instanceof SyncError && e.errorClass === "source-unavailable" && /certificate is not trusted: set source.tls.caCertFile/.test(e.message));
      await untrusted.close();
    } finally {
      await tlsBao.stop();
    }
  });
});
