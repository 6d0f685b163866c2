// Cutover against real OpenBao and moto: `release` hands secrets over (secretbridge's own tags go,
// the value, versions and every other tag stay), sync then never writes, marks or deletes them,
// `adopt` takes one back, and a release mark anyone can write only makes secretbridge do less.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, TagResourceCommand } from "@aws-sdk/client-secrets-manager";
import type { RunReport } from "../../src/engine/report.js";
import { awsWrites, peersForThisFile, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function seeded(policyYaml = ""): Promise<{ s: Scenario; token: string; config: string }> {
  const s = await peers.scenario();
  for (const i of [0, 1, 2, 3]) await s.put(`app/s${i}`, { v: peers.secret(`s${i}`) });
  const marked = await peers.bao.api("POST", `${s.mount}/metadata/app/s1`, { custom_metadata: { wave: "3", owner: "team-a" } });
  assert.equal(marked.status, 204);
  const token = await s.readOnlyToken();
  const config = s.writeConfig({ yaml: `  copyCustomMetadata: true\n  tags:\n    env: test\npolicies:\n  deletion:\n    strategy: delete\n    recoveryWindowDays: 7\n  blastRadius:\n    maxShare: 1\n${policyYaml}` });
  const first = await s.cli(["sync", "-c", config], token);
  assert.equal(first.code, 0, first.stdout);
  return { s, token, config };
}

const describeSecret = (s: Scenario, path: string) => peers.sm().send(new DescribeSecretCommand({ SecretId: `${s.prefix}/${path}` }));
const rows = (run: { stdout: string }) => (JSON.parse(run.stdout) as RunReport).results.map((r) => [r.action.type, r.action.sourcePath, r.outcome]);

describe("release", () => {
  test("removes only secretbridge's tags, keeps the value, versions and other tags; sync then writes nothing, even when the source changes or is deleted", async () => {
    const { s, token, config } = await seeded();
    const before = (await s.destination()).get(`${s.prefix}/app/s0`) ?? {};
    const value = await s.value("app/s0");
    const versions = await s.versionCount("app/s0");

    const dry = await s.cli(["release", "-c", config, "app/s0", "--dry-run"], token);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.equal(awsWrites(dry.recorder), 0);
    assert.match(dry.stdout, /^release +app\/s0 +\S+\/app\/s0 +1 +planned +proven ours: secretbridge stops managing it/m);
    assert.match(dry.stdout, /\nRelease \(dry run\) it: .* 1 to release/);

    const run = await s.cli(["release", "-c", config, "app/s0"], token);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.recorder.count("aws", "TagResource"), 1);
    assert.equal(run.recorder.count("aws", "UntagResource"), 1);
    assert.equal(run.recorder.count("aws", "PutSecretValue"), 0);
    const after = (await s.destination()).get(`${s.prefix}/app/s0`) ?? {};
    assert.match(after["secretbridge:released-at"] ?? "", ISO);
    assert.deepEqual(after, { env: "test", "secretbridge:released-at": after["secretbridge:released-at"], "secretbridge:released-by": "it" });
    assert.equal(before.env, "test");
    assert.equal(await s.value("app/s0"), value);
    assert.equal(await s.versionCount("app/s0"), versions);

    // The source changes: sync reports it released and writes nothing.
    await s.put("app/s0", { v: peers.secret("s0-changed") });
    const sync = await s.cli(["sync", "-c", config, "--json"], token);
    assert.equal(sync.code, 0, sync.stdout);
    assert.equal(awsWrites(sync.recorder), 0);
    assert.deepEqual(rows(sync).find((r) => r[1] === "app/s0"), ["released", "app/s0", "done"]);
    assert.equal((JSON.parse(sync.stdout) as RunReport).counts.released, 1);
    const verify = await s.cli(["verify", "-c", config], token);
    assert.match(verify.stdout, /\b1 released\b/);
    assert.equal(verify.code, 0, verify.stdout);

    // The source is deleted, with strategy delete: kept.
    assert.equal((await peers.bao.api("DELETE", `${s.mount}/metadata/app/s0`)).status, 204);
    const gone = await s.cli(["sync", "-c", config], token);
    assert.equal(gone.code, 0, gone.stdout);
    assert.equal(awsWrites(gone.recorder), 0);
    assert.equal((await describeSecret(s, "app/s0")).DeletedDate, undefined);
    assert.equal(await s.value("app/s0"), value);
  });

  test("--wave selects by custom_metadata; a secret not ours is refused, untouched, and the exit code is 1", async () => {
    const { s, token, config } = await seeded();
    const unmanaged = { Name: `${s.prefix}/app/s9`, SecretString: peers.secret("s9-aws"), Tags: [{ Key: "owner", Value: "someone" }] };
    await peers.sm().send(new CreateSecretCommand(unmanaged));
    await s.put("app/s9", { v: peers.secret("s9") });
    // Ours by tags only: a forged ownership claim on a secret secretbridge never wrote.
    await peers.sm().send(
      new CreateSecretCommand({
        Name: `${s.prefix}/app/s8`,
        SecretString: peers.secret("s8-aws"),
        Tags: [
          { Key: "secretbridge:managed-by", Value: "secretbridge" },
          { Key: "secretbridge:sync", Value: "it" },
          { Key: "secretbridge:path", Value: "app/s8" },
        ],
      }),
    );
    await s.put("app/s8", { v: peers.secret("s8") });
    const tagsBefore = await s.destination();

    const run = await s.cli(["release", "-c", config, "--wave", "wave=3", "app/s9", "app/s8", "--json"], token);
    assert.equal(run.code, 1, run.stdout);
    const report = JSON.parse(run.stdout) as RunReport;
    assert.deepEqual(
      report.results.map((r) => [r.action.type, r.action.sourcePath, r.outcome, r.action.failure?.errorClass]),
      [
        ["release", "app/s1", "done", undefined],
        ["conflict", "app/s8", "failed", "ownership-unproven"],
        ["conflict", "app/s9", "failed", "conflict-unmanaged"],
      ],
    );
    assert.equal(report.failures.find((f) => f.path === "app/s9")?.message, `${s.prefix}/app/s9: not released: secretbridge does not manage it (no version proves sync "it" wrote it); left untouched`);
    assert.equal(run.recorder.count("aws", "TagResource"), 1);
    assert.equal(run.recorder.count("aws", "UntagResource"), 1);
    const tagsAfter = await s.destination();
    for (const path of ["app/s8", "app/s9", "app/s0"]) assert.deepEqual(tagsAfter.get(`${s.prefix}/${path}`), tagsBefore.get(`${s.prefix}/${path}`), path);
    assert.deepEqual(Object.keys(tagsAfter.get(`${s.prefix}/app/s1`) ?? {}).sort(), ["env", "owner", "secretbridge:released-at", "secretbridge:released-by", "wave"]);

    const nothing = await s.cli(["release", "-c", config, "app/none"], token);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stdout, /\[source-not-found\] app\/none: no mapping has it in scope in the source or the destination; nothing to release/);
  });
});

describe("adopt", () => {
  test("takes a released secret back: the next sync proves it ours by the version it wrote, or writes the equal value once with its token", async () => {
    const { s, token, config } = await seeded();
    const released = await s.cli(["release", "-c", config, "app/s0", "app/s2"], token);
    assert.equal(released.code, 0, released.stdout);
    // After the release someone writes app/s2's value again, twice: the version secretbridge wrote
    // is no longer labelled, so nothing proves the secret ours; its value is still the source's.
    const s2 = await s.value("app/s2");
    for (const _ of [1, 2]) await peers.sm().send(new PutSecretValueCommand({ SecretId: `${s.prefix}/app/s2`, SecretString: s2 }));
    const versions = { s0: await s.versionCount("app/s0"), s2: await s.versionCount("app/s2") };

    const notYet = await s.cli(["sync", "-c", config], token);
    assert.equal(awsWrites(notYet.recorder), 0);

    const adopt = await s.cli(["adopt", "-c", config, "app/s0", "app/s2", "app/s3"], token);
    assert.equal(adopt.code, 0, adopt.stdout);
    assert.equal(adopt.recorder.count("aws", "UntagResource"), 2);
    assert.equal(adopt.recorder.count("aws", "TagResource"), 0);
    assert.match(adopt.stdout, /^unchanged +app\/s3 .* not released: secretbridge manages it already$/m);
    assert.equal((await s.destination()).get(`${s.prefix}/app/s0`)?.["secretbridge:released-at"], undefined);

    const sync = await s.cli(["sync", "-c", config, "--json"], token);
    assert.equal(sync.code, 0, sync.stdout);
    assert.deepEqual(
      rows(sync).filter((r) => r[1] === "app/s0" || r[1] === "app/s2"),
      [
        ["update", "app/s0", "done"],
        ["adopt", "app/s2", "done"],
      ],
    );
    assert.equal(sync.recorder.count("aws", "PutSecretValue"), 1, "only app/s2 gets a version: app/s0 still holds the one secretbridge wrote");
    assert.equal(await s.versionCount("app/s0"), versions.s0);
    assert.equal(await s.versionCount("app/s2"), versions.s2 + 1);
    const tags = await s.destination();
    for (const path of ["app/s0", "app/s2"]) {
      assert.equal(tags.get(`${s.prefix}/${path}`)?.["secretbridge:managed-by"], "secretbridge", path);
      assert.equal(tags.get(`${s.prefix}/${path}`)?.["secretbridge:released-by"], undefined, path);
    }
    const again = await s.cli(["sync", "-c", config], token);
    assert.equal(awsWrites(again.recorder), 0, "provably ours: nothing left to do");
  });
});

describe("a forged release mark", () => {
  test("on a secret of ours stops every write (update and delete) and is reported; adopt clears it because a version proves the secret ours", async () => {
    const { s, token, config } = await seeded();
    await peers.sm().send(new TagResourceCommand({ SecretId: `${s.prefix}/app/s0`, Tags: [{ Key: "secretbridge:released-at", Value: "forged" }] }));
    await peers.sm().send(new TagResourceCommand({ SecretId: `${s.prefix}/app/s1`, Tags: [{ Key: "secretbridge:released-at", Value: "forged" }] }));
    const changed = { v: peers.secret("s0-changed") };
    await s.put("app/s0", changed);
    assert.equal((await peers.bao.api("DELETE", `${s.mount}/metadata/app/s1`)).status, 204);

    const sync = await s.cli(["sync", "-c", config], token);
    assert.equal(sync.code, 0, sync.stdout);
    assert.equal(awsWrites(sync.recorder), 0);
    assert.match(sync.stdout, /^released +app\/s0 +\S+ +2 +done +released at forged: secretbridge no longer manages it \(run secretbridge adopt to take it back\)$/m);
    assert.match(sync.stdout, /^released +app\/s1 +\S+ +1 +done +the source secret no longer exists; not deleted: released at forged/m);
    assert.equal((await describeSecret(s, "app/s1")).DeletedDate, undefined);

    const adopt = await s.cli(["adopt", "-c", config, "app/s0"], token);
    assert.equal(adopt.code, 0, adopt.stdout);
    const back = await s.cli(["sync", "-c", config], token);
    assert.equal(back.code, 0, back.stdout);
    assert.equal(back.recorder.count("aws", "PutSecretValue"), 1);
    assert.equal(await s.value("app/s0"), JSON.stringify(changed));
  });
});
