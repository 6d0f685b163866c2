// The lifecycle of a replicated secret against real OpenBao and moto: deletion strategies and the
// blast-radius guard, restore from the recovery window, drift, adoption.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  ReplicateSecretToRegionsCommand,
} from "@aws-sdk/client-secrets-manager";
import { awsWrites, peersForThisFile, type Scenario } from "../helpers/harness.js";

// Real peers for this file; every byte the CLI emitted is scanned for canaries at the end.
const peers = peersForThisFile();

const policies = (yaml: string) => `policies:\n${yaml}`;
const describeSecret = (s: Scenario, path: string) => peers.sm().send(new DescribeSecretCommand({ SecretId: `${s.prefix}/${path}` }));

async function seeded(n: number, policyYaml: string): Promise<{ s: Scenario; token: string; config: string }> {
  const s = await peers.scenario();
  for (let i = 0; i < n; i++) await s.put(`app/s${i}`, { v: peers.secret(`s${i}`) });
  const token = await s.readOnlyToken();
  const config = s.writeConfig({ yaml: policies(policyYaml) });
  const first = await s.cli(["sync", "-c", config], token);
  assert.equal(first.code, 0, first.stdout);
  return { s, token, config };
}

describe("deletion", () => {
  test("retain (default): a source secret removed is reported and kept", async () => {
    const { s, token, config } = await seeded(3, "  drift: overwrite\n");
    await peers.bao.api("DELETE", `${s.mount}/metadata/app/s0`);
    const run = await s.cli(["sync", "-c", config], token);
    assert.equal(run.code, 0);
    assert.equal(awsWrites(run.recorder), 0);
    assert.match(run.stdout, /skip\s+app\/s0 .* the source secret no longer exists; kept \(deletion strategy: retain\)/);
    assert.equal((await describeSecret(s, "app/s0")).DeletedDate, undefined);
  });

  test("delete: replicas removed first, then scheduled with the recovery window; the source comes back and it is restored", async () => {
    const { s, token, config } = await seeded(10, "  deletion:\n    strategy: delete\n    recoveryWindowDays: 7\n  blastRadius:\n    maxShare: 0.1\n");
    await peers.sm().send(new ReplicateSecretToRegionsCommand({ SecretId: `${s.prefix}/app/s3`, AddReplicaRegions: [{ Region: "eu-west-1" }] }));
    await peers.bao.api("DELETE", `${s.mount}/metadata/app/s3`);

    const plan = await s.cli(["plan", "-c", config], token);
    assert.match(plan.stdout, /delete\s+app\/s3 .* scheduling deletion with a 7-day recovery window/);
    assert.equal(awsWrites(plan.recorder), 0);

    const run = await s.cli(["sync", "-c", config], token);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.recorder.count("aws", "RemoveRegionsFromReplication"), 1);
    assert.equal(run.recorder.count("aws", "DeleteSecret"), 1);
    const gone = await describeSecret(s, "app/s3");
    assert.ok(gone.DeletedDate instanceof Date);
    assert.deepEqual(gone.ReplicationStatus ?? [], []);
    assert.match(run.stdout, /Sync it: .* 1 deleted/);

    const back = { v: peers.secret("back") };
    await s.put("app/s3", back);
    const restored = await s.cli(["sync", "-c", config], token);
    assert.equal(restored.code, 0, restored.stdout);
    assert.equal(restored.recorder.count("aws", "RestoreSecret"), 1);
    assert.equal((await describeSecret(s, "app/s3")).DeletedDate, undefined);
    assert.equal(await s.value("app/s3"), JSON.stringify(back));
    assert.equal((await s.destination()).get(`${s.prefix}/app/s3`)?.version, "1");
  });

  test("tag: the destination is marked with the time the source was seen missing", async () => {
    const { s, token, config } = await seeded(10, "  deletion:\n    strategy: tag\n");
    await peers.bao.api("DELETE", `${s.mount}/data/app/s1`); // soft delete of the current version
    const run = await s.cli(["sync", "-c", config], token);
    assert.equal(run.code, 0, run.stdout);
    const mark = (await s.destination()).get(`${s.prefix}/app/s1`)?.["secretbridge:orphaned-at"] ?? "";
    assert.match(mark, /^\d{4}-\d\d-\d\dT/);
    assert.equal(run.recorder.count("aws", "DeleteSecret"), 0);
    const again = await s.cli(["sync", "-c", config], token);
    assert.equal(awsWrites(again.recorder), 0, "marked once, then left alone");
  });

  test("blast-radius guard: too many deletions at once delete nothing and exit 1; --force-deletions lifts it", async () => {
    const { s, token, config } = await seeded(10, "  deletion:\n    strategy: delete\n");
    for (const i of [0, 1, 2]) await peers.bao.api("DELETE", `${s.mount}/metadata/app/s${i}`);
    const guarded = await s.cli(["sync", "-c", config], token);
    assert.equal(guarded.code, 1);
    assert.equal(guarded.recorder.count("aws", "DeleteSecret"), 0);
    assert.match(guarded.stdout, /\[blast-radius\] .*app\/s0: not deleted: 3 of 10 managed secrets \(30%\) is over the blast-radius limit of 10%/);
    const forced = await s.cli(["sync", "-c", config, "--force-deletions"], token);
    assert.equal(forced.code, 0, forced.stdout);
    assert.equal(forced.recorder.count("aws", "DeleteSecret"), 3);
  });

  test("a token whose policy was revoked deletes nothing: exit 2 before any write", async () => {
    const { s, token, config } = await seeded(5, "  deletion:\n    strategy: delete\n  blastRadius:\n    maxShare: 1\n");
    await peers.bao.api("DELETE", `sys/policies/acl/ro-${s.mount}-scan`);
    const run = await s.cli(["sync", "-c", config, "--force-deletions"], token);
    assert.equal(run.code, 2, run.stdout);
    assert.equal(awsWrites(run.recorder), 0);
    assert.equal((await s.destination()).size, 5);
  });

  test("an unreadable subtree deletes nothing, even forced", async () => {
    const { s, config } = await seeded(5, "  deletion:\n    strategy: delete\n  blastRadius:\n    maxShare: 1\n");
    await s.put("other/x", { v: peers.secret("other") });
    const deny = ["metadata", "detailed-metadata", "data"].map((p) => `path "${s.mount}/${p}/app/*" { capabilities = ["deny"] }`).join("\n");
    const limited = await s.readOnlyToken({ listing: "list", extraPolicy: deny });
    const run = await s.cli(["sync", "-c", config, "--force-deletions"], limited);
    assert.equal(run.code, 1);
    assert.equal(run.recorder.count("aws", "DeleteSecret"), 0);
    assert.match(run.stdout, /the source listing was incomplete/);
    assert.equal((await s.destination()).size, 6);
  });
});

describe("drift", () => {
  test("overwrite (default): a value changed in AWS is put back, once, and stays", async () => {
    const { s, token, config } = await seeded(1, "  drift: overwrite\n");
    const outside = peers.secret("outside");
    const edit = await peers.sm().send(new PutSecretValueCommand({ SecretId: `${s.prefix}/app/s0`, SecretString: outside }));
    assert.equal(await s.versionCount("app/s0"), 2);
    const plan = await s.cli(["plan", "-c", config], token);
    assert.match(plan.stdout, /update\s+app\/s0 .* drift: the current version is /);
    const run = await s.cli(["sync", "-c", config], token);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.recorder.count("aws", "PutSecretValue"), 1);
    assert.notEqual(await s.value("app/s0"), outside);
    assert.match((await s.value("app/s0")) ?? "", /CANARY-s0-/);
    assert.equal(await s.versionCount("app/s0"), 3);
    // The repair's token derives from ours and the version it replaced, which is tagged: a later
    // hand edit can push both out of the labels and the secret is still proven ours.
    assert.equal((await s.destination()).get(`${s.prefix}/app/s0`)?.["secretbridge:replaced-version"], edit.VersionId);
    const again = await s.cli(["sync", "-c", config], token);
    assert.equal(awsWrites(again.recorder), 0);
  });

  test("report: drift is a failure naming the secret, and the value is left as is", async () => {
    const { s, token, config } = await seeded(1, "  drift: report\n");
    const outside = peers.secret("outside2");
    await peers.sm().send(new PutSecretValueCommand({ SecretId: `${s.prefix}/app/s0`, SecretString: outside }));
    const run = await s.cli(["sync", "-c", config], token);
    assert.equal(run.code, 1);
    assert.equal(awsWrites(run.recorder), 0);
    assert.match(run.stdout, /\[drift\] .*app\/s0 was changed outside secretbridge/);
    assert.equal(await s.value("app/s0"), outside);
  });
});

describe("conflicts", () => {
  async function withForeign(value: string, sourceValue: Record<string, string>, policy: string) {
    const s = await peers.scenario();
    await s.put("shared", sourceValue);
    await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}/shared`, SecretString: value, Tags: [{ Key: "team", Value: "dba" }] }));
    const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: policies(`  onConflict: ${policy}\n`) })], await s.readOnlyToken());
    return { s, run };
  }

  test("adopt-if-equal takes ownership of an equal value: the same value written once with secretbridge's token, so a version id proves it", async () => {
    const v = { k: peers.secret("equal") };
    const { s, run } = await withForeign(JSON.stringify(v), v, "adopt-if-equal");
    assert.equal(run.code, 0, run.stdout);
    assert.equal(run.recorder.count("aws", "PutSecretValue"), 1);
    const tags = (await s.destination()).get(`${s.prefix}/shared`);
    assert.equal(tags?.["secretbridge:sync"], "it");
    assert.equal(tags?.team, "dba");
    assert.equal(await s.versionCount("shared"), 2);
    assert.equal(await s.value("shared"), JSON.stringify(v));
  });

  test("adopt-if-equal leaves a different value alone and reports it", async () => {
    const foreign = peers.secret("foreign");
    const { s, run } = await withForeign(foreign, { k: peers.secret("mine") }, "adopt-if-equal");
    assert.equal(run.code, 1);
    assert.equal(awsWrites(run.recorder), 0);
    assert.equal(await s.value("shared"), foreign);
    assert.match(run.stdout, /\[conflict-unmanaged\] .*its value differs from the source/);
  });

  test("adopt overwrites and takes ownership", async () => {
    const mine = { k: peers.secret("adopted") };
    const { s, run } = await withForeign(peers.secret("old"), mine, "adopt");
    assert.equal(run.code, 0, run.stdout);
    assert.equal(await s.value("shared"), JSON.stringify(mine));
    assert.equal((await s.destination()).get(`${s.prefix}/shared`)?.["secretbridge:managed-by"], "secretbridge");
  });
});

describe("verify", () => {
  test("per-secret verdicts by value, never values; exit 1 when anything is off", async () => {
    const { s, token, config } = await seeded(3, "  drift: report\n");
    const clean = await s.cli(["verify", "-c", config], token);
    assert.equal(clean.code, 0, clean.stdout);
    assert.match(clean.stdout, /Verify it: 3 in sync, 0 differ, 0 missing, 0 not ours, 0 extra, 0 unreadable/);
    assert.equal(clean.recorder.count("aws", "BatchGetSecretValue"), 1);

    await peers.sm().send(new PutSecretValueCommand({ SecretId: `${s.prefix}/app/s1`, SecretString: peers.secret("tampered") }));
    await s.put("app/new", { v: peers.secret("new") });
    await peers.bao.api("DELETE", `${s.mount}/metadata/app/s2`);
    const off = await s.cli(["verify", "-c", config, "--json"], token);
    assert.equal(off.code, 1);
    const report = JSON.parse(off.stdout) as { entries: { sourcePath: string; verdict: string }[] };
    assert.deepEqual(
      report.entries.map((e) => [e.sourcePath, e.verdict]),
      [
        ["app/new", "missing"],
        ["app/s0", "in-sync"],
        ["app/s1", "differs"],
        ["app/s2", "extra"],
      ],
    );
    assert.equal(awsWrites(off.recorder), 0);
  });
});

describe("cross-account", () => {
  test("an assumed role (with external id) signs every destination call", async () => {
    const { SecretsManagerClient, ListSecretsCommand } = await import("@aws-sdk/client-secrets-manager");
    const { STSClient, GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
    const { awsClientConfig } = await import("../../src/runtime/wire.js");
    const { SecretsManagerDestination } = await import("../../src/destinations/aws-secrets-manager/index.js");
    await peers.moto.reset();
    const cfg = awsClientConfig(peers.moto.awsEnv, "Secrets Manager", {
      assumeRole: {
        roleArn: "arn:aws:iam::111122223333:role/secretbridge-writer",
        externalId: "ext-id-123",
        sessionName: "secretbridge-test",
      },
    });
    const client = new SecretsManagerClient(cfg);
    const keys: string[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const auth = String((args.request as { headers: Record<string, string> }).headers.authorization ?? "");
        keys.push(/Credential=([^/]+)\//.exec(auth)?.[1] ?? "unsigned");
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "captureAccessKey" },
    );
    const d = new SecretsManagerDestination({ client });
    await d.validate();
    await client.send(new CreateSecretCommand({ Name: "x/a", SecretString: "v", ClientRequestToken: "77777777-7777-7777-7777-777777777777" }));
    await d.inventory("x");
    await client.send(new ListSecretsCommand({}));
    assert.equal(keys.length, 4);
    assert.equal(new Set(keys).size, 1);
    assert.notEqual(keys[0], "testing", "the base credentials must never sign a destination call");
    const who = await new STSClient(cfg).send(new GetCallerIdentityCommand({}));
    assert.match(who.Arn ?? "", /assumed-role\/secretbridge-writer\/secretbridge-test$/);
    assert.equal(who.Account, "111122223333");
  });
});

describe("metadata and replicas", () => {
  test("custom_metadata becomes tags; what does not fit is reported, not fatal", async () => {
    const s = await peers.scenario();
    await s.put("db", { v: peers.secret("meta") });
    const custom = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`k${String(i).padStart(2, "0")}`, `v${i}`]));
    await peers.bao.api("POST", `${s.mount}/metadata/db`, { custom_metadata: { ...custom, owner: "payments", "bad;key": "x" } });
    const token = await s.readOnlyToken();
    const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: "  copyCustomMetadata: true\n" })], token);
    assert.equal(run.code, 0, run.stdout);
    const tags = (await s.destination()).get(`${s.prefix}/db`) ?? {};
    assert.equal(Object.keys(tags).length, 50);
    assert.equal(tags.k00, "v0");
    assert.equal(tags["secretbridge:sync"], "it");
    assert.match(run.stdout, /Warnings:\n {2}- db: custom_metadata not copied to tags .*: bad;key, .*owner/);
    // A metadata value change (same keys, no new version) is a tags-only update.
    await peers.bao.api("POST", `${s.mount}/metadata/db`, { custom_metadata: { ...custom, owner: "payments", "bad;key": "x", k00: "changed" } });
    const again = await s.cli(["sync", "-c", s.writeConfig({ yaml: "  copyCustomMetadata: true\n" })], token);
    assert.equal(again.recorder.count("aws", "PutSecretValue"), 0);
    assert.equal((await s.destination()).get(`${s.prefix}/db`)?.k00, "changed");
  });

  test("replica Regions are added on create, then added and removed to match the config", async () => {
    const s = await peers.scenario();
    await s.put("db", { v: peers.secret("replica") });
    const token = await s.readOnlyToken();
    const regions = (yaml: string) => s.writeConfig({ yaml: `  replicaRegions:\n${yaml}` });
    const status = async () => ((await describeSecret(s, "db")).ReplicationStatus ?? []).map((r) => [r.Region, r.KmsKeyId]).sort();

    const first = await s.cli(["sync", "-c", regions("    - region: eu-west-1\n      kmsKeyId: alias/eu-key\n")], token);
    assert.equal(first.code, 0, first.stdout);
    // moto 5.2.5 records every replica with its default key whatever KmsKeyId is sent; that the
    // key is sent is checked in aws-destination.test.ts.
    assert.deepEqual(await status(), [["eu-west-1", "alias/aws/secretsmanager"]]);
    assert.equal((await s.destination()).get(`${s.prefix}/db`)?.["secretbridge:replicas"], "eu-west-1");

    const second = await s.cli(["sync", "-c", regions("    - region: us-west-2\n")], token);
    assert.equal(second.code, 0, second.stdout);
    assert.match(second.stdout, /replica Regions: eu-west-1 -> us-west-2/);
    assert.deepEqual((await status()).map(([r]) => r), ["us-west-2"]);
    assert.equal(second.recorder.count("aws", "PutSecretValue"), 0);

    const none = await s.cli(["sync", "-c", s.writeConfig()], token);
    assert.equal(none.code, 0, none.stdout);
    assert.deepEqual(await status(), []);
    assert.equal((await s.destination()).get(`${s.prefix}/db`)?.["secretbridge:replicas"], undefined);
    const quiet = await s.cli(["sync", "-c", s.writeConfig()], token);
    assert.equal(awsWrites(quiet.recorder), 0);
  });
});

describe("mapping", () => {
  test("two mappings in one run: each mount to its prefix, with its own settings; one report", async () => {
    const a = await peers.scenario();
    const b = await peers.scenario();
    await a.put("db", { v: peers.secret("ma") });
    await b.put("api/key", { token: peers.secret("mb") });
    const both = `path "${a.mount}/*" { capabilities = ["read", "list"] }\npath "${b.mount}/*" { capabilities = ["read", "list"] }`;
    await peers.bao.api("PUT", "sys/policies/acl/two-mounts", { policy: both });
    const token = ((await peers.bao.api("POST", "auth/token/create", { policies: ["two-mounts"], ttl: "1h" })).json as { auth: { client_token: string } }).auth.client_token;
    const config = a.writeConfig({
      yaml: [
        "mappings:",
        `  - mount: ${a.mount}`,
        `    prefix: team-a-${a.mount}`,
        "    tags: { team: a }",
        `  - mount: ${b.mount}`,
        `    prefix: team-b-${b.mount}`,
        "    kmsKeyId: alias/team-b-key",
        "    description: team b secrets",
        "    nameTemplate: \"{prefix}/svc-{name}\"",
        "    valueShape: string",
        "    valueKey: token",
        "",
      ].join("\n"),
    });
    const run = await a.cli(["sync", "-c", config], token);
    assert.equal(run.code, 0, run.stdout);
    assert.match(run.stdout, /Sync it: 2 created/);
    const first = await peers.destination(`team-a-${a.mount}`);
    assert.equal(first.get(`team-a-${a.mount}/db`)?.team, "a");
    const second = await peers.destination(`team-b-${b.mount}`);
    assert.deepEqual([...second.keys()], [`team-b-${b.mount}/svc-key`]);
    const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    const described = await peers.sm().send(new DescribeSecretCommand({ SecretId: `team-b-${b.mount}/svc-key` }));
    assert.deepEqual([described.KmsKeyId, described.Description], ["alias/team-b-key", "team b secrets"]);
    const plain = await peers.sm().send(new GetSecretValueCommand({ SecretId: `team-b-${b.mount}/svc-key` }));
    assert.match(plain.SecretString ?? "", /^CANARY-mb-/, "the string shape writes the key's value itself, not JSON");
    const again = await a.cli(["sync", "-c", config], token);
    assert.equal(awsWrites(again.recorder), 0);
  });

  test("two mappings over one mount into one prefix (one sub-path inside the other) are refused before anything runs", async () => {
    const s = await peers.scenario();
    await s.put("team/db", { v: peers.secret("x1") });
    const yaml = ["mappings:", `  - mount: ${s.mount}`, `  - mount: ${s.mount}`, "    path: team", '    nameTemplate: "{prefix}/{path}"', ""].join("\n");
    const run = await s.cli(["plan", "-c", s.writeConfig({ yaml })], await s.readOnlyToken());
    assert.equal(run.code, 2);
    // The one readable line a command that cannot start ends with, whatever the log level.
    assert.match(run.stderr, /^secretbridge: \[config-invalid\] .*\n.*mappings\[0\] \(.* -> dest-.*\/\) and mappings\[1\] \(.*\/team -> dest-.*\/\) overlap/);
    assert.equal(run.recorder.count("aws", "ListSecrets"), 0);
  });

  test("a name template that maps two secrets to one name: the plan refuses both", async () => {
    const s = await peers.scenario();
    await s.put("eu/db", { v: peers.secret("c1") });
    await s.put("us/db", { v: peers.secret("c2") });
    const run = await s.cli(["plan", "-c", s.writeConfig({ yaml: '  nameTemplate: "{prefix}/{name}"\n' })], await s.readOnlyToken());
    assert.equal(run.code, 1);
    assert.match(run.stdout, /\[invalid-name\] us\/db and eu\/db both map to dest-.*\/db: none of them is written; rename one in the source/);
  });

  test("binary values from a base64 field are written as SecretBinary", async () => {
    const s = await peers.scenario();
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    await s.put("cert", { der: bytes.toString("base64"), note: peers.secret("bin") });
    await s.put("broken", { der: "not base64!" });
    const run = await s.cli(["sync", "-c", s.writeConfig({ yaml: "  valueShape: binary\n  valueKey: der\n" })], await s.readOnlyToken());
    assert.equal(run.code, 1);
    assert.match(run.stdout, /\[invalid-value\] broken: key "der" is not valid base64/);
    const { GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
    const got = await peers.sm().send(new GetSecretValueCommand({ SecretId: `${s.prefix}/cert` }));
    assert.deepEqual(Buffer.from(got.SecretBinary ?? new Uint8Array()), bytes);
    assert.equal(got.SecretString, undefined);
  });

  test("a resource policy is set on create, replaced when changed, removed when dropped", async () => {
    const s = await peers.scenario();
    await s.put("shared", { v: peers.secret("policy") });
    const token = await s.readOnlyToken();
    const policy = (account: string) =>
      `  resourcePolicy:\n    Version: "2012-10-17"\n    Statement:\n      - Effect: Allow\n        Principal: { AWS: "arn:aws:iam::${account}:root" }\n        Action: secretsmanager:GetSecretValue\n        Resource: "*"\n`;
    const { GetResourcePolicyCommand } = await import("@aws-sdk/client-secrets-manager");
    const current = async () => (await peers.sm().send(new GetResourcePolicyCommand({ SecretId: `${s.prefix}/shared` }))).ResourcePolicy ?? "";
    assert.equal((await s.cli(["sync", "-c", s.writeConfig({ yaml: policy("111111111111") })], token)).code, 0);
    assert.match(await current(), /111111111111/);
    const changed = await s.cli(["sync", "-c", s.writeConfig({ yaml: policy("222222222222") })], token);
    assert.match(changed.stdout, /resource policy out of date/);
    assert.equal(changed.recorder.count("aws", "PutSecretValue"), 0);
    assert.match(await current(), /222222222222/);
    const same = await s.cli(["sync", "-c", s.writeConfig({ yaml: policy("222222222222") })], token);
    assert.equal(awsWrites(same.recorder) + same.recorder.count("aws", "PutResourcePolicy"), 0);
    const dropped = await s.cli(["sync", "-c", s.writeConfig()], token);
    assert.equal(dropped.recorder.count("aws", "DeleteResourcePolicy"), 1);
    assert.equal(await current(), "");
  });
});

describe("granularity key", () => {
  test("one destination secret per key; no-change reads no value; keys added and removed follow new versions", async () => {
    const s = await peers.scenario();
    await s.put("db", { username: "app", password: peers.secret("pw1"), port: 5432 });
    for (let i = 0; i < 10; i++) await s.put(`other/s${i}`, { v: peers.secret(`o${i}`) });
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: "  granularity: key\npolicies:\n  deletion:\n    strategy: delete\n  blastRadius:\n    maxShare: 0.2\n" });
    const first = await s.cli(["sync", "-c", config], token);
    assert.equal(first.code, 0, first.stdout);
    const names = [...(await s.destination()).keys()].filter((n) => n.includes("/db/")).sort();
    assert.deepEqual(names, ["password", "port", "username"].map((k) => `${s.prefix}/db/${k}`));
    assert.equal(await s.value("db/port"), "5432");
    assert.equal(await s.value("db/username"), "app");
    assert.equal((await s.destination()).get(`${s.prefix}/db/password`)?.["secretbridge:key"], "password");

    const again = await s.cli(["sync", "-c", config], token);
    assert.equal(awsWrites(again.recorder), 0);
    assert.equal(again.recorder.count("vault", "read-data"), 0);

    const pw2 = peers.secret("pw2");
    await s.put("db", { username: "app", password: pw2, host: "db.internal" });
    const third = await s.cli(["sync", "-c", config], token);
    assert.equal(third.code, 0, third.stdout);
    assert.match(third.stdout, /1 created, 2 updated, 10 unchanged, .* 1 deleted/);
    assert.equal(await s.value("db/password"), pw2);
    assert.equal(await s.value("db/host"), "db.internal");
    assert.ok((await describeSecret(s, "db/port")).DeletedDate instanceof Date);
  });
});
