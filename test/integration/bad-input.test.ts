// Bad-input corpus, runtime half: what users put in Vault and in their config meets the real
// peers. Each case: the exact error class and message, no stack trace, nothing half-written, and
// the rest of the run still done where that is safe.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { awsWrites, peersForThisFile, type Scenario, type CliRun } from "../helpers/harness.js";

// Real peers for this file; every byte the CLI emitted is scanned for canaries at the end.
const peers = peersForThisFile();

function noStack(run: CliRun): void {
  for (const text of [run.stdout, run.stderr]) assert.ok(!/\n\s+at .+:\d+:\d+/.test(text), `stack trace in output:\n${text}`);
}

async function syncWith(s: Scenario, yaml = "", token?: string): Promise<CliRun> {
  const run = await s.cli(["sync", "-c", s.writeConfig({ yaml })], token ?? (await s.readOnlyToken()));
  noStack(run);
  return run;
}

describe("bad input at run time", () => {
  test("names AWS rejects, next to good ones (a name ending in a hyphen and six characters is good)", async () => {
    const s = await peers.scenario();
    await s.put("good", { v: peers.secret("good") });
    await s.put("emoji-😀", { v: "x" });
    await s.put("semi;colon", { v: "x" });
    await s.put("ends-Ab12Cd", { v: "x" });
    await s.put(`${"long/".repeat(110)}x`, { v: "x" });
    const run = await syncWith(s);
    assert.equal(run.code, 1);
    assert.deepEqual([...(await s.destination()).keys()].sort(), [`${s.prefix}/ends-Ab12Cd`, `${s.prefix}/good`]);
    assert.match(run.stdout, /\[invalid-name\] emoji-😀: the name contains characters AWS does not allow \("😀"\)/u);
    assert.match(run.stdout, /\[invalid-name\] semi;colon: the name contains characters AWS does not allow \(";"\)/);
    assert.doesNotMatch(run.stdout, /\[invalid-name\] ends-Ab12Cd/);
    assert.match(run.stdout, /\[invalid-name\] (long\/)+x: the name is \d+ characters; AWS allows at most 512/);
  });

  test("paths with spaces and unicode letters: reported by name, never half-written", async () => {
    const s = await peers.scenario();
    await s.put("team one/db", { v: "x" });
    await s.put("équipe/db", { v: "x" });
    const run = await syncWith(s);
    assert.equal(run.code, 1);
    assert.equal((await s.destination()).size, 0);
    assert.match(run.stdout, /\[invalid-name\] team one\/db: .*\(" "\)/);
    assert.match(run.stdout, /\[invalid-name\] équipe\/db: .*\("é"\)/);
  });

  test("a value over 65,536 bytes and a secret with 400 keys (OpenBao refuses JSON with more than ~1,000 strings)", async () => {
    const s = await peers.scenario();
    await s.put("huge", { blob: "x".repeat(70_000) });
    const many = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, "v"]));
    await s.put("many-keys", many);
    await s.put("fine", { v: peers.secret("fine2") });
    const run = await syncWith(s);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /\[too-large\] huge: the value is 70011 bytes as JSON; AWS Secrets Manager allows at most 65536/);
    assert.equal((await s.value("many-keys"))?.length, JSON.stringify(Object.fromEntries(Object.entries(many).sort(([a], [b]) => (a < b ? -1 : 1)))).length);
    assert.deepEqual([...(await s.destination()).keys()].sort(), [`${s.prefix}/fine`, `${s.prefix}/many-keys`]);
  });

  test("an empty secret replicates as {} ", async () => {
    const s = await peers.scenario();
    await s.put("empty", {});
    const run = await syncWith(s);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(await s.value("empty"), "{}");
  });

  test("non-UTF-8 / binary content: string shape refuses a non-string, binary shape refuses bad base64", async () => {
    const s = await peers.scenario();
    await s.put("nested", { v: { deep: true } as unknown as string });
    await s.put("raw", { v: "\u0000\u0001\ufffd\ud7ff" });
    const run = await syncWith(s, "  valueShape: string\n  valueKey: v\n");
    assert.equal(run.code, 1);
    assert.match(run.stdout, /\[invalid-value\] nested: key "v" is a object, not a string/);
    assert.equal(await s.value("raw"), "\u0000\u0001\ufffd\ud7ff");
    const bin = await peers.scenario();
    await bin.put("cert", { v: "%%%not-base64%%%" });
    const binRun = await syncWith(bin, "  valueShape: binary\n  valueKey: v\n");
    assert.match(binRun.stdout, /\[invalid-value\] cert: key "v" is not valid base64/);
    assert.equal((await bin.destination()).size, 0);
  });

  test("deeply nested paths replicate", async () => {
    const s = await peers.scenario();
    const deep = Array.from({ length: 25 }, (_, i) => `d${i}`).join("/");
    await s.put(deep, { v: peers.secret("deep") });
    const run = await syncWith(s);
    assert.equal(run.code, 0, run.stdout);
    assert.ok((await s.destination()).has(`${s.prefix}/${deep}`));
  });

  test("two source paths mapped to one name by a template", async () => {
    const s = await peers.scenario();
    await s.put("eu/db", { v: "x" });
    await s.put("us/db", { v: "y" });
    const run = await syncWith(s, '  nameTemplate: "{prefix}/{name}"\n');
    assert.equal(run.code, 1);
    assert.deepEqual([...(await s.destination()).keys()], [], "neither side is written, whatever the listing order");
    assert.match(run.stdout, /\[invalid-name\] us\/db and eu\/db both map to/);
    assert.match(run.stdout, /\[invalid-name\] eu\/db and us\/db both map to/);
  });

  test("a KV v1 mount configured as v2: exit 2, nothing written", async () => {
    const s = await peers.scenario({ kvVersion: 1 });
    await s.put("a", { v: "x" });
    const v2 = await s.cli(["sync", "-c", s.writeConfig({ sourceYaml: "  kvVersion: 2" })], await s.readOnlyToken());
    noStack(v2);
    assert.equal(v2.code, 2, v2.stdout);
    assert.equal(awsWrites(v2.recorder), 0);
    assert.match(v2.stderr, /^secretbridge: \[config-invalid\] source\.kvVersion is 2 but mount .* is KV v1: fix source\.kvVersion \(or use auto\)/);
  });

  test("a KV v2 mount configured as v1: exit 2, nothing written", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: "x" });
    const v1 = await s.cli(["sync", "-c", s.writeConfig({ sourceYaml: "  kvVersion: 1" })], await s.readOnlyToken());
    noStack(v1);
    assert.equal(v1.code, 2);
    assert.equal(awsWrites(v1.recorder), 0);
    assert.match(v1.stderr, /^secretbridge: \[config-invalid\] source\.kvVersion is 1 but mount .* is KV v2/);
  });

  test("a mount that does not exist: exit 2 naming it", async () => {
    const s = await peers.scenario();
    const run = await s.cli(["sync", "-c", s.writeConfig({ mount: "no-such-mount" })], peers.bao.rootToken);
    noStack(run);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^secretbridge: \[source-not-found\] mount no-such-mount does not exist/);
  });

  test("a token without list permission: exit 2, nothing written", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("nolist") });
    await peers.bao.api("PUT", `sys/policies/acl/read-only-${s.mount}`, { policy: `path "${s.mount}/data/*" { capabilities = ["read"] }` });
    const t = await peers.bao.api("POST", "auth/token/create", { policies: [`read-only-${s.mount}`], ttl: "1h" });
    const token = (t.json as { auth: { client_token: string } }).auth.client_token;
    const run = await s.cli(["sync", "-c", s.writeConfig()], token);
    noStack(run);
    assert.equal(run.code, 2);
    assert.equal(awsWrites(run.recorder), 0);
    assert.match(run.stderr, /^secretbridge: \[(permission-denied|source-not-found)\] /);
  });
});
