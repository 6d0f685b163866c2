// Migrating to AWS Secrets Manager, against real OpenBao and moto: ABAC tag rules (required and
// immutable tags), shell secrets adopted when they hold a placeholder, and waves selected by
// custom_metadata, where leaving a wave never deletes a secret.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { awsWrites, peersForThisFile, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();

/** Sets a source secret's custom_metadata (a metadata write: no new version). */
async function setMetadata(s: Scenario, path: string, customMetadata: Record<string, string>): Promise<void> {
  const res = await peers.bao.api("POST", `${s.mount}/metadata/${path}`, { custom_metadata: customMetadata });
  assert.ok(res.status < 300, `metadata ${path}: ${res.status}`);
}

const RULES = "  requiredTags:\n    owner: { fromMetadata: owner }\n    environment: { value: prod }\n";

describe("required tags", () => {
  async function twoSecrets(onMissing: "fail" | "warn") {
    const s = await peers.scenario();
    await s.put("app/a", { v: peers.secret("a") });
    await s.put("app/b", { v: peers.secret("b") });
    await setMetadata(s, "app/a", { owner: "team-a" });
    await setMetadata(s, "app/b", { other: "x" });
    const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: `${RULES}  onMissingTag: ${onMissing}\n` })], await s.readOnlyToken());
    return { s, run };
  }

  test("onMissingTag fail: a secret without the owner in its custom_metadata is not written and is reported with its path and missing-tag", async () => {
    const { s, run } = await twoSecrets("fail");
    assert.equal(run.code, 1, run.stdout);
    const dest = await s.destination();
    assert.deepEqual([...dest.keys()], [`${s.prefix}/app/a`]);
    assert.equal(dest.get(`${s.prefix}/app/a`)?.owner, "team-a");
    assert.equal(dest.get(`${s.prefix}/app/a`)?.environment, "prod");
    assert.equal(run.recorder.count("aws", "CreateSecret"), 1);
    assert.match(run.stdout, /\[missing-tag\] app\/b: required tags missing: owner \(custom_metadata key "owner" is not set\); not written \(onMissingTag: fail\)/);
  });

  test("onMissingTag warn: the secret is written without the tag, and the run warns", async () => {
    const { s, run } = await twoSecrets("warn");
    assert.equal(run.code, 0, run.stdout);
    const b = (await s.destination()).get(`${s.prefix}/app/b`);
    assert.equal(b?.environment, "prod");
    assert.equal(b?.owner, undefined);
    assert.match(run.stdout + run.stderr, /app\/b: required tags missing: owner \(custom_metadata key "owner" is not set\); written without them \(onMissingTag: warn\)/);
  });
});

describe("immutable tags", () => {
  test("set on create and never rewritten: a custom_metadata change leaves them, the plan says so once, and a new version keeps them", async () => {
    const s = await peers.scenario();
    await s.put("app/a", { v: peers.secret("a1") });
    await setMetadata(s, "app/a", { owner: "team-a" });
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: `${RULES}  immutableTags: [owner]\n` });
    assert.equal((await s.cli(["sync", "-c", config], token)).code, 0);
    const name = `${s.prefix}/app/a`;
    assert.equal((await s.destination()).get(name)?.owner, "team-a");
    assert.equal((await s.destination()).get(name)?.["secretbridge:tag-keys"], "environment");

    await setMetadata(s, "app/a", { owner: "team-b" });
    const noted = await s.cli(["sync", "-c", config], token);
    assert.equal(noted.code, 0, noted.stdout);
    assert.match(noted.stdout, /immutable tags kept as set on create: owner \(the value they would get now differs; secretbridge never rewrites them\)/);
    assert.equal(noted.recorder.count("aws", "PutSecretValue"), 0);
    const after = (await s.destination()).get(name);
    assert.equal(after?.owner, "team-a");
    assert.equal(after?.["secretbridge:immutable-kept"], "owner");

    const quiet = await s.cli(["sync", "-c", config], token);
    assert.equal(awsWrites(quiet.recorder), 0);
    assert.doesNotMatch(quiet.stdout, /immutable tags kept/);

    await s.put("app/a", { v: peers.secret("a2") });
    const bumped = await s.cli(["sync", "-c", config], token);
    assert.equal(bumped.code, 0, bumped.stdout);
    assert.equal(bumped.recorder.count("aws", "PutSecretValue"), 1);
    assert.equal((await s.destination()).get(name)?.owner, "team-a");
    assert.match((await s.value("app/a")) ?? "", /CANARY-a2-/);
  });
});

describe("shell secrets (onConflict: adopt-if-placeholder)", () => {
  async function withShell(value: string | undefined) {
    const s = await peers.scenario();
    await s.put("payments/db", { password: peers.secret("db") });
    await peers.sm().send(
      new CreateSecretCommand({ Name: `${s.prefix}/payments/db`, ...(value !== undefined ? { SecretString: value } : {}), Tags: [{ Key: "owner", Value: "payments-team" }, { Key: "app", Value: "payments" }] }),
    );
    const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: "policies:\n  onConflict: adopt-if-placeholder\n" })], await s.readOnlyToken());
    return { s, run };
  }

  // A shell with a value is read once (counted) to compare; one listed without a version holds
  // none and is not read (moto stores an empty SecretString without a version, too).
  for (const [label, value, reads] of [["{}", "{}", 1], ["an empty string", "", 0], ["no value at all", undefined, 0]] as const) {
    test(`a shell holding ${label} is adopted and filled from the source, keeping the tags it had`, async () => {
      const { s, run } = await withShell(value);
      assert.equal(run.code, 0, run.stdout);
      assert.equal(run.recorder.count("aws", "BatchGetSecretValue"), reads, run.stdout);
      assert.equal(run.recorder.count("aws", "CreateSecret"), 0, run.stdout);
      assert.equal(run.recorder.count("aws", "PutSecretValue"), 1);
      assert.match(run.stdout, /adopt\s+payments\/db/);
      assert.match((await s.value("payments/db")) ?? "", /CANARY-db-/);
      const tags = (await s.destination()).get(`${s.prefix}/payments/db`);
      assert.equal(tags?.owner, "payments-team");
      assert.equal(tags?.app, "payments");
      assert.equal(tags?.["secretbridge:managed-by"], "secretbridge");
      assert.equal(tags?.["secretbridge:path"], "payments/db");
    });
  }

  test("a secret whose value is not a placeholder is left alone and reported", async () => {
    const real = peers.secret("real");
    const { s, run } = await withShell(real);
    assert.equal(run.code, 1);
    assert.equal(awsWrites(run.recorder), 0);
    assert.equal(await s.value("payments/db"), real);
    assert.match(run.stdout, /\[conflict-unmanaged\] \S+\/payments\/db exists without secretbridge ownership tags and its value is not a placeholder; left untouched \(conflict policy: adopt-if-placeholder\)/);
  });
});

describe("selection by custom_metadata", () => {
  test("a wave replicates only its secrets; a secret whose metadata moves it out of the wave is kept (deletion strategy delete), not deleted", async () => {
    const s = await peers.scenario();
    for (const [path, wave] of [["app/a", "3"], ["app/b", "2"], ["app/c", "3"], ["app/d", "3"]] as const) {
      await s.put(path, { v: peers.secret(path) });
      await setMetadata(s, path, { wave });
    }
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ sourceYaml: '  select: { wave: "3" }', yaml: "policies:\n  deletion: { strategy: delete }\n  blastRadius: { maxShare: 1, minCount: 100 }\n" });
    const first = await s.cli(["sync", "-c", config], token);
    assert.equal(first.code, 0, first.stdout);
    assert.deepEqual([...(await s.destination()).keys()].sort(), [`${s.prefix}/app/a`, `${s.prefix}/app/c`, `${s.prefix}/app/d`]);
    assert.equal(first.recorder.count("vault", "read-data"), 3);

    await setMetadata(s, "app/a", { wave: "4" });
    const moved = await s.cli(["sync", "-c", config], token);
    assert.equal(moved.code, 0, moved.stdout);
    assert.equal(awsWrites(moved.recorder), 0, moved.stdout);
    assert.deepEqual([...(await s.destination()).keys()].sort(), [`${s.prefix}/app/a`, `${s.prefix}/app/c`, `${s.prefix}/app/d`]);
    assert.match(moved.stdout, /no longer selected by the mapping's select \(custom_metadata\); kept: leaving a selection never deletes a secret/);

    // verify checks the wave as a set: the secret that left it is neither compared nor "extra".
    const verify = await s.cli(["verify", "-c", config, "--json"], token);
    assert.equal(verify.code, 0, verify.stdout);
    const report = JSON.parse(verify.stdout) as { entries: { sourcePath: string; verdict: string }[] };
    assert.deepEqual(report.entries.map((e) => [e.sourcePath, e.verdict]), [["app/c", "in-sync"], ["app/d", "in-sync"]]);
    assert.equal(verify.recorder.count("vault", "read-data"), 2);

    // Deleted in the source, it is deleted, whatever its metadata said.
    await peers.bao.api("DELETE", `${s.mount}/metadata/app/c`);
    const gone = await s.cli(["sync", "-c", config], token);
    assert.equal(gone.code, 0, gone.stdout);
    assert.equal(gone.recorder.count("aws", "DeleteSecret"), 1);
    assert.match(gone.stdout, /delete\s+app\/c/);
  });
});
