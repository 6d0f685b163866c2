// Cutover against real OpenBao and moto: `release` hands secrets over (secretbridge's own tags go,
// the value, versions and every other tag stay), sync then never writes, marks or deletes them,
// `adopt` takes one back, and a release mark anyone can write only makes secretbridge do less.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, TagResourceCommand } from "@aws-sdk/client-secrets-manager";
import type { RunReport } from "../../src/engine/report.js";
import type { DiscoverReport } from "../../src/core/discover.js";
import type { ChecklistReport } from "../../src/runtime/cli/discover-output.js";
import { awsWrites, peersForThisFile, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function seeded(policyYaml = "", destinationYaml = ""): Promise<{ s: Scenario; token: string; config: string }> {
  const s = await peers.scenario();
  for (const i of [0, 1, 2, 3]) await s.put(`app/s${i}`, { v: peers.secret(`s${i}`) });
  const marked = await peers.bao.api("POST", `${s.mount}/metadata/app/s1`, { custom_metadata: { wave: "3", owner: "team-a" } });
  assert.equal(marked.status, 204);
  const token = await s.readOnlyToken();
  const config = s.writeConfig({ yaml: `  copyCustomMetadata: true\n  tags:\n    env: test\n${destinationYaml}policies:\n  deletion:\n    strategy: delete\n    recoveryWindowDays: 7\n  blastRadius:\n    maxShare: 1\n${policyYaml}` });
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
    assert.deepEqual(after, { env: "test", "secretbridge:released-at": after["secretbridge:released-at"], "secretbridge:released-by": "it", "secretbridge:released-from": "app/s0" });
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
    assert.match(gone.stdout, /^released +app\/s0 +\S+\/app\/s0 +- +done +the source secret is gone; released at \d{4}-[^:]+:\d\d:\d\d\.\d{3}Z: secretbridge no longer manages it/m);
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
    assert.deepEqual(Object.keys(tagsAfter.get(`${s.prefix}/app/s1`) ?? {}).sort(), ["env", "owner", "secretbridge:released-at", "secretbridge:released-by", "secretbridge:released-from", "wave"]);

    const nothing = await s.cli(["release", "-c", config, "app/none"], token);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stdout, /\[source-not-found\] app\/none: no mapping has it in scope in the source or the destination; nothing to release/);
  });
});

describe("waves from the config", () => {
  test("release, discover --checklist and discover pick a wave by name; --wave KEY=VALUE still selects by custom_metadata", async () => {
    const { s, token } = await seeded();
    assert.equal((await peers.bao.api("POST", `${s.mount}/metadata/app/s2`, { custom_metadata: { wave: "4", owner: "team-a" } })).status, 204);
    assert.equal((await peers.bao.api("POST", `${s.mount}/metadata/app/s3`, { custom_metadata: { wave: "4", owner: "team-b" } })).status, 204);
    const waves = 'waves:\n  - name: wave-3\n    select: { wave: "3" }\n  - name: team-a-late\n    select: { wave: ["4", "5"], owner: team-a }\n';
    const config = s.writeConfig({ yaml: `  copyCustomMetadata: true\n  tags:\n    env: test\n${waves}` });

    const inventory = await s.cli(["discover", "-c", config, "--wave", "team-a-late", "--json"], token);
    assert.equal(inventory.code, 0, inventory.stdout + inventory.stderr);
    const report = JSON.parse(inventory.stdout) as DiscoverReport;
    assert.deepEqual([report.wave, report.rows.map((r) => r.path), report.summary.total], ["team-a-late", ["app/s2"], 1]);
    const table = await s.cli(["discover", "-c", config, "--wave", "wave=4"], token);
    assert.match(table.stdout, /\nDiscover it \(wave wave=4\): 2 secrets;/);

    const checklist = await s.cli(["discover", "-c", config, "--checklist", "--wave", "team-a-late", "--json"], token);
    const listed = JSON.parse(checklist.stdout) as ChecklistReport;
    assert.deepEqual([listed.selection.wave, listed.rows.map((r) => r.path)], ["team-a-late", ["app/s2"]]);

    const release = await s.cli(["release", "-c", config, "--wave", "wave-3", "--json"], token);
    assert.equal(release.code, 0, release.stdout + release.stderr);
    assert.deepEqual(rows(release), [["release", "app/s1", "done"]]);
    const byValue = await s.cli(["release", "-c", config, "--wave", "owner=team-b", "--dry-run", "--json"], token);
    assert.deepEqual(rows(byValue), [["release", "app/s3", "planned"]]);

    const unknown = await s.cli(["release", "-c", config, "--wave", "wave-9"], token);
    assert.deepEqual([unknown.code, unknown.stderr], [2, 'secretbridge: [config-invalid] unknown wave "wave-9": this config\'s waves are wave-3, team-a-late (or select by custom_metadata with --wave KEY=VALUE)\n']);
    assert.deepEqual(unknown.recorder.byOperation(), {}, "refused before either side is asked");
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

describe("discover --checklist", () => {
  test("per secret of a wave: exists with the required tags, at the source's version, readers by ABAC, CloudTrail queries; exit 1 until all are ready", async () => {
    // The required (ABAC) tags are the tag rules: env static, owner and wave from custom_metadata.
    const rules = "  requiredTags:\n    env: { value: test }\n    owner: { fromMetadata: owner }\n    wave: { fromMetadata: wave }\n  onMissingTag: warn\n";
    const { s, token, config } = await seeded("", rules);
    // app/s2 joins the wave after its sync (its tags lack it) and gets a new version; app/s5 was
    // never synced; app/s3 joins the wave with no owner, which no sync can give it.
    assert.equal((await peers.bao.api("POST", `${s.mount}/metadata/app/s2`, { custom_metadata: { wave: "3", owner: "team-b" } })).status, 204);
    await s.put("app/s2", { v: peers.secret("s2-new") });
    await s.put("app/s5", { v: peers.secret("s5") });
    assert.equal((await peers.bao.api("POST", `${s.mount}/metadata/app/s5`, { custom_metadata: { wave: "3", owner: "team-a" } })).status, 204);
    assert.equal((await peers.bao.api("POST", `${s.mount}/metadata/app/s3`, { custom_metadata: { wave: "3" } })).status, 204);
    const policy = join(s.dir, "abac.json");
    const allow = (condition: Record<string, Record<string, string>>) => ({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "*", Condition: condition }] });
    writeFileSync(
      policy,
      JSON.stringify({
        principals: {
          "payments-app": { tags: { owner: "team-a" }, policy: allow({ StringEquals: { "aws:ResourceTag/owner": "${aws:PrincipalTag/owner}" } }) },
          "test-readers": { policy: allow({ StringLike: { "secretsmanager:ResourceTag/env": "te*" } }) },
          "by-date": { policy: allow({ DateGreaterThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } }) },
        },
      }),
    );

    const run = await s.cli(["discover", "-c", config, "--checklist", "--wave", "wave=3", "--abac-policy", policy, "--json"], token);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(run.recorder.count("vault", "read-data"), 0, "no source value read");
    assert.equal(run.recorder.count("aws", "GetSecretValue") + run.recorder.count("aws", "BatchGetSecretValue"), 0, "no destination value read");
    const report = JSON.parse(run.stdout) as ChecklistReport;
    const unknown = ["by-date (condition operator DateGreaterThan is not evaluated)"];
    assert.deepEqual(
      report.rows.map((r) => [r.path, r.destinationName, r.exists, r.state, r.requiredTags, r.missingTags, r.sourceVersion, r.replicatedVersion, r.versionMatches, r.readers, r.readersUnknown, r.ready]),
      [
        ["app/s1", `${s.prefix}/app/s1`, true, "replicated", { env: "test", owner: "team-a", wave: "3" }, [], "1", "1", true, ["payments-app", "test-readers"], unknown, true],
        ["app/s2", `${s.prefix}/app/s2`, true, "stale", { env: "test", owner: "team-b", wave: "3" }, ["owner", "wave"], "2", "1", false, ["test-readers"], unknown, false],
        ["app/s3", `${s.prefix}/app/s3`, true, "stale", { env: "test", wave: "3" }, ["owner", "wave"], "1", "1", true, ["test-readers"], unknown, false],
        ["app/s5", `${s.prefix}/app/s5`, false, "absent", { env: "test", owner: "team-a", wave: "3" }, ["env", "owner", "wave"], "1", null, false, [], [], false],
      ],
    );
    const arn = (await describeSecret(s, "app/s1")).ARN ?? "";
    assert.deepEqual(report.rows[0]?.cloudTrail, {
      lookupEvents: `aws cloudtrail lookup-events --region us-east-1 --lookup-attributes AttributeKey=ResourceName,AttributeValue=${arn}`,
      lakeSql:
        "SELECT eventTime, eventName, userIdentity.arn, sourceIPAddress FROM <event-data-store-id> WHERE eventSource = 'secretsmanager.amazonaws.com' AND eventName = 'GetSecretValue' " +
        `AND (element_at(requestParameters, 'secretId') = '${arn}' OR element_at(requestParameters, 'secretId') = '${s.prefix}/app/s1') ORDER BY eventTime DESC`,
    });
    assert.equal(report.rows[3]?.cloudTrail, null);

    // The same wave by paths, as a table; after a sync every row is ready but app/s3, which still
    // lacks its owner (exit 1); once the source gives it one and a sync sets it, exit 0.
    const synced = await s.cli(["sync", "-c", config], token);
    assert.equal(synced.code, 0, synced.stdout);
    const lacking = await s.cli(["discover", "-c", config, "--checklist", "app/s1", "app/s2", "app/s3", "app/s5"], token);
    assert.equal(lacking.code, 1, lacking.stdout + lacking.stderr);
    assert.match(lacking.stdout, /\nno +app\/s3 +\S+\/app\/s3 +yes +replicated +missing owner +ok \(1\)\n/);
    assert.match(lacking.stdout, /\nChecklist it: 3 of 4 ready\n/);
    assert.equal((await peers.bao.api("POST", `${s.mount}/metadata/app/s3`, { custom_metadata: { wave: "3", owner: "team-c" } })).status, 204);
    assert.equal((await s.cli(["sync", "-c", config], token)).code, 0);
    const table = await s.cli(["discover", "-c", config, "--checklist", "app/s1", "app/s2", "app/s3", "app/s5"], token);
    assert.equal(table.code, 0, table.stdout + table.stderr);
    assert.match(table.stdout, /^READY +PATH +DESTINATION +EXISTS +STATE +TAGS +VERSION\n/);
    assert.match(table.stdout, /\nyes +app\/s2 +\S+\/app\/s2 +yes +replicated +ok +ok \(2\)\n/);
    assert.match(table.stdout, /\nChecklist it: 4 of 4 ready\n/);
    assert.match(table.stdout, /\n {2}\S+\/app\/s5: aws cloudtrail lookup-events --region us-east-1 --lookup-attributes AttributeKey=ResourceName,AttributeValue=arn:aws:secretsmanager:us-east-1:\d+:secret:\S+\/app\/s5-\w{6}\n/);
  });
});
