// Migration on a Parameter Store destination, through the CLI against real OpenBao and moto: the
// cutover (release, then sync writes nothing to released parameters; adopt takes one back) and
// the ABAC tag rules (required tags fail and warn; immutable tags survive a custom_metadata change).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RunReport } from "../../src/engine/report.js";
import { peersForThisFile, type Scenario } from "../helpers/harness.js";
import { readParameter, SSM_TYPE, ssmEnv as ssmEnvAt, ssmWrites } from "../helpers/parameter-store.js";

const peers = peersForThisFile();

const ssmEnv = () => ssmEnvAt(peers.moto.url);
const rows = (run: { stdout: string }) => (JSON.parse(run.stdout) as RunReport).results.map((r) => [r.action.type, r.action.sourcePath, r.outcome]);

const parameter = (name: string) => readParameter(peers.moto.url, name);

async function setMetadata(s: Scenario, path: string, customMetadata: Record<string, string>): Promise<void> {
  assert.equal((await peers.bao.api("POST", `${s.mount}/metadata/${path}`, { custom_metadata: customMetadata })).status, 204);
}

describe("cutover on Parameter Store", () => {
  test("release removes only secretbridge's tags; sync then writes nothing to the released parameter, even when the source changes or is deleted; adopt takes one back", async () => {
    const s = await peers.scenario();
    await s.put("app/a", { v: peers.secret("a1") });
    await s.put("app/b", { v: peers.secret("b1") });
    await setMetadata(s, "app/a", { owner: "team-a" });
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: `${SSM_TYPE}  copyCustomMetadata: true\n  tags:\n    env: test\npolicies:\n  deletion: { strategy: delete }\n  blastRadius: { maxShare: 1 }\n` });
    const first = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const name = `/${s.prefix}/app/a`;
    const before = await parameter(name);

    const release = await s.cli(["release", "-c", config, "app/a", "--json"], token, ssmEnv());
    assert.equal(release.code, 0, release.stdout + release.stderr);
    assert.deepEqual(rows(release), [["release", "app/a", "done"]]);
    assert.equal(release.recorder.count("ssm", "PutParameter"), 0);
    const released = await parameter(name);
    assert.deepEqual(Object.keys(released?.tags ?? {}).sort(), ["env", "owner", "secretbridge:released-at", "secretbridge:released-by", "secretbridge:released-from"]);
    assert.deepEqual([released?.tags.env, released?.tags.owner, released?.tags["secretbridge:released-by"], released?.tags["secretbridge:released-from"]], ["test", "team-a", "it", "app/a"]);
    assert.deepEqual([released?.value, released?.version], [before?.value, before?.version]);

    await s.put("app/a", { v: peers.secret("a2") });
    const changed = await s.cli(["sync", "-c", config, "--json"], token, ssmEnv());
    assert.equal(changed.code, 0, changed.stdout + changed.stderr);
    assert.equal(ssmWrites(changed), 0, JSON.stringify([rows(changed), changed.recorder.byOperation()]));
    assert.deepEqual(rows(changed).find((r) => r[1] === "app/a"), ["released", "app/a", "done"]);
    assert.deepEqual(await parameter(name), released);

    const adopt = await s.cli(["adopt", "-c", config, "app/a", "--json"], token, ssmEnv());
    assert.equal(adopt.code, 0, adopt.stdout + adopt.stderr);
    assert.deepEqual(rows(adopt), [["reclaim", "app/a", "done"]]);
    assert.equal((await parameter(name))?.tags["secretbridge:released-at"], undefined);
    const back = await s.cli(["sync", "-c", config, "--json"], token, ssmEnv());
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.deepEqual(rows(back).find((r) => r[1] === "app/a")?.[2], "done");
    const managed = await parameter(name);
    assert.match(managed?.value ?? "", /CANARY-a2-/);
    assert.equal(managed?.tags["secretbridge:managed-by"], "secretbridge");
    assert.equal(managed?.tags["secretbridge:released-by"], undefined);

    // Released again, then its source is deleted under strategy delete: kept, and still reported.
    assert.equal((await s.cli(["release", "-c", config, "app/b"], token, ssmEnv())).code, 0);
    assert.equal((await peers.bao.api("DELETE", `${s.mount}/metadata/app/b`)).status, 204);
    const gone = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(gone.code, 0, gone.stdout + gone.stderr);
    assert.equal(ssmWrites(gone), 0);
    assert.match(gone.stdout, /^released +app\/b +\S+ +- +done +the source secret is gone; released at /m);
    assert.match((await parameter(`/${s.prefix}/app/b`))?.value ?? "", /CANARY-b1-/);
    const discover = await s.cli(["discover", "-c", config, "--json"], token, ssmEnv());
    assert.deepEqual(
      (JSON.parse(discover.stdout) as { rows: { path: string; state: string }[] }).rows.map((r) => [r.path, r.state]),
      [["app/a", "replicated"], ["app/b", "released"]],
    );
  });
});

describe("tag rules on Parameter Store", () => {
  const RULES = "  requiredTags:\n    owner: { fromMetadata: owner }\n    environment: { value: prod }\n";
  async function twoSecrets(onMissing: "fail" | "warn") {
    const s = await peers.scenario();
    await s.put("app/a", { v: peers.secret("ta") });
    await s.put("app/b", { v: peers.secret("tb") });
    await setMetadata(s, "app/a", { owner: "team-a" });
    await setMetadata(s, "app/b", { other: "x" });
    const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: `${SSM_TYPE}${RULES}  onMissingTag: ${onMissing}\n` })], await s.readOnlyToken(), ssmEnv());
    return { s, run };
  }

  test("onMissingTag fail: the parameter lacking its owner is not written, and is reported", async () => {
    const { s, run } = await twoSecrets("fail");
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(run.recorder.count("ssm", "PutParameter"), 1);
    assert.equal(await parameter(`/${s.prefix}/app/b`), undefined);
    const a = await parameter(`/${s.prefix}/app/a`);
    assert.deepEqual([a?.tags.owner, a?.tags.environment], ["team-a", "prod"]);
    assert.match(run.stdout, /\[missing-tag\] app\/b: required tags missing: owner \(custom_metadata key "owner" is not set\); not written \(onMissingTag: fail\)/);
  });

  test("onMissingTag warn: the parameter is written without the tag, and the run warns", async () => {
    const { s, run } = await twoSecrets("warn");
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const b = await parameter(`/${s.prefix}/app/b`);
    assert.deepEqual([b?.tags.owner, b?.tags.environment], [undefined, "prod"]);
    assert.match(run.stdout + run.stderr, /app\/b: required tags missing: owner \(custom_metadata key "owner" is not set\); written without them \(onMissingTag: warn\)/);
  });

  test("immutable tags survive a custom_metadata change and a new version", async () => {
    const s = await peers.scenario();
    await s.put("app/a", { v: peers.secret("i1") });
    await setMetadata(s, "app/a", { owner: "team-a" });
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: `${SSM_TYPE}${RULES}  immutableTags: [owner]\n` });
    assert.equal((await s.cli(["sync", "-c", config], token, ssmEnv())).code, 0);
    const name = `/${s.prefix}/app/a`;
    assert.equal((await parameter(name))?.tags.owner, "team-a");

    await setMetadata(s, "app/a", { owner: "team-b" });
    const noted = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(noted.code, 0, noted.stdout + noted.stderr);
    assert.match(noted.stdout, /immutable tags kept as set on create: owner \(the value they would get now differs; secretbridge never rewrites them\)/);
    assert.equal((await parameter(name))?.tags.owner, "team-a");
    const quiet = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(ssmWrites(quiet), 0, quiet.stdout);

    await s.put("app/a", { v: peers.secret("i2") });
    const bumped = await s.cli(["sync", "-c", config], token, ssmEnv());
    assert.equal(bumped.code, 0, bumped.stdout + bumped.stderr);
    assert.equal(bumped.recorder.count("ssm", "PutParameter"), 1);
    const after = await parameter(name);
    assert.equal(after?.tags.owner, "team-a");
    assert.match(after?.value ?? "", /CANARY-i2-/);
  });
});
