// Names that end in a hyphen and six characters (`client-secret`, `app-config`, `jwt-secret`) are
// valid Secrets Manager names; only a lookup by partial ARN can mistake that ending for the random
// suffix AWS puts on ARNs. Against real OpenBao and moto, through the CLI: such names replicate
// like any other, creates go by name, and every call on an existing secret names its full ARN.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DescribeSecretCommand, GetResourcePolicyCommand, GetSecretValueCommand, ListSecretsCommand, ListSecretVersionIdsCommand } from "@aws-sdk/client-secrets-manager";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { peersForThisFile, type CliRun, type Scenario } from "../helpers/harness.js";

// Real peers for this file; every byte the CLI emitted is scanned for canaries at the end.
const peers = peersForThisFile();

/** One Secrets Manager request as it crossed the wire: the operation and the secret it named. */
interface SentCall {
  op: string;
  secretId?: string;
  name?: string;
  secretIds?: string[];
}

/** `sync` with its AWS traffic through a proxy that only records what each request names. */
async function syncRecorded(s: Scenario, config: string, token: string): Promise<{ run: CliRun; sent: SentCall[] }> {
  const sent: SentCall[] = [];
  const proxy = new FaultProxy(s.peers.moto.url, {
    onRequestBody: (req, body) => {
      const target = String(req.headers["x-amz-target"] ?? "");
      if (!target.startsWith("secretsmanager.")) return;
      const input = JSON.parse(body || "{}") as { SecretId?: string; Name?: string; SecretIdList?: string[] };
      sent.push({
        op: target.slice("secretsmanager.".length),
        ...(input.SecretId !== undefined ? { secretId: input.SecretId } : {}),
        ...(input.Name !== undefined ? { name: input.Name } : {}),
        ...(input.SecretIdList !== undefined ? { secretIds: input.SecretIdList } : {}),
      });
    },
  });
  const url = await proxy.start();
  try {
    const run = await s.cli(["sync", "-c", config], token, { AWS_ENDPOINT_URL: url });
    return { run, sent };
  } finally {
    await proxy.stop();
  }
}

/** Name → full ARN of every secret under the prefix, pending deletions included. */
async function arnsOf(s: Scenario): Promise<Map<string, string>> {
  const page = await peers.sm().send(new ListSecretsCommand({ IncludePlannedDeletion: true, Filters: [{ Key: "name", Values: [`${s.prefix}/`] }], MaxResults: 100 }));
  return new Map((page.SecretList ?? []).map((e) => [e.Name ?? "", e.ARN ?? ""]));
}

/** Each call on an existing secret, as `op name` (the ARN it sent, read back as the name it belongs to). */
function callsOnExisting(sent: SentCall[], arns: Map<string, string>, prefix: string): string[] {
  const byArn = new Map([...arns].map(([name, arn]) => [arn, name.slice(prefix.length + 1)]));
  return sent
    .filter((c) => c.secretId !== undefined || c.secretIds !== undefined)
    .flatMap((c) => (c.secretIds ?? [c.secretId ?? ""]).map((id) => `${c.op} ${byArn.get(id) ?? `NOT A FULL ARN: ${id}`}`));
}

const versionCount = async (s: Scenario, path: string) =>
  (await peers.sm().send(new ListSecretVersionIdsCommand({ SecretId: (await arnsOf(s)).get(`${s.prefix}/${path}`), IncludeDeprecated: true }))).Versions?.length ?? 0;

const DELETE_POLICY = "policies:\n  deletion:\n    strategy: delete\n    recoveryWindowDays: 7\n  blastRadius:\n    maxShare: 1\n";
const RESOURCE_POLICY =
  '  resourcePolicy:\n    Version: "2012-10-17"\n    Statement:\n      - Effect: Allow\n        Principal: { AWS: "arn:aws:iam::111111111111:root" }\n        Action: secretsmanager:GetSecretValue\n        Resource: "*"\n';

describe("names that end in a hyphen and six characters", () => {
  test("app/client-secret, svc/app-config, api/jwt-secret: created with values, tags, policy and replica; one change updates exactly that one; a deletion deletes exactly it; it comes back restored", async () => {
    const s = await peers.scenario();
    const paths = ["app/client-secret", "svc/app-config", "api/jwt-secret"];
    const values = new Map(paths.map((p) => [p, { v: peers.secret(p) }]));
    for (const [p, v] of values) await s.put(p, v);
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: `  replicaRegions:\n    - region: eu-west-1\n${RESOURCE_POLICY}${DELETE_POLICY}` });

    const first = await syncRecorded(s, config, token);
    assert.equal(first.run.code, 0, first.run.stdout);
    assert.match(first.run.stdout, /Sync it: 3 created, 0 updated, 0 unchanged, 0 conflicts, 0 skipped, 0 failures/);
    const dest = await s.destination();
    assert.deepEqual([...dest.keys()].sort(), ["api/jwt-secret", "app/client-secret", "svc/app-config"].map((p) => `${s.prefix}/${p}`));
    for (const p of paths) {
      const tags = dest.get(`${s.prefix}/${p}`) ?? {};
      assert.deepEqual(
        [tags["secretbridge:path"], tags["secretbridge:sync"], tags["secretbridge:source-version"], tags.version, tags["secretbridge:replicas"]],
        [p, "it", "1", "1", "eu-west-1"],
      );
      assert.equal(await s.value(p), JSON.stringify(values.get(p)));
      const arn = (await arnsOf(s)).get(`${s.prefix}/${p}`);
      assert.match((await peers.sm().send(new GetResourcePolicyCommand({ SecretId: arn }))).ResourcePolicy ?? "", /111111111111/);
    }
    const arns = await arnsOf(s);
    // Creates go by name; the policy is put on the ARN each create returned.
    assert.deepEqual(first.sent.filter((c) => c.op === "CreateSecret").map((c) => c.name).sort(), [...arns.keys()].sort());
    assert.deepEqual(callsOnExisting(first.sent, arns, s.prefix).sort(), paths.map((p) => `PutResourcePolicy ${p}`).sort());

    const changed = { v: peers.secret("app-config-2") };
    await s.put("svc/app-config", changed);
    const second = await syncRecorded(s, config, token);
    assert.equal(second.run.code, 0, second.run.stdout);
    assert.match(second.run.stdout, /Sync it: 0 created, 1 updated, 2 unchanged/);
    assert.deepEqual(callsOnExisting(second.sent, arns, s.prefix), ["PutSecretValue svc/app-config", "TagResource svc/app-config"]);
    assert.equal(await s.value("svc/app-config"), JSON.stringify(changed));
    assert.equal((await s.destination()).get(`${s.prefix}/svc/app-config`)?.version, "2");
    assert.deepEqual(await Promise.all(paths.map((p) => versionCount(s, p))), [1, 2, 1]);

    await peers.bao.api("DELETE", `${s.mount}/metadata/api/jwt-secret`);
    const third = await syncRecorded(s, config, token);
    assert.equal(third.run.code, 0, third.run.stdout);
    assert.match(third.run.stdout, /Sync it: .* 1 deleted/);
    // The replica goes first (AWS refuses to delete a primary that has one), then the deletion.
    assert.deepEqual(callsOnExisting(third.sent, arns, s.prefix), ["DescribeSecret api/jwt-secret", "RemoveRegionsFromReplication api/jwt-secret", "DeleteSecret api/jwt-secret"]);
    const deleted = await Promise.all(paths.map(async (p) => (await peers.sm().send(new DescribeSecretCommand({ SecretId: arns.get(`${s.prefix}/${p}`) }))).DeletedDate !== undefined));
    assert.deepEqual(deleted, [false, false, true]);

    const back = { v: peers.secret("jwt-back") };
    await s.put("api/jwt-secret", back);
    const fourth = await syncRecorded(s, config, token);
    assert.equal(fourth.run.code, 0, fourth.run.stdout);
    assert.deepEqual(callsOnExisting(fourth.sent, arns, s.prefix).slice(0, 2), ["RestoreSecret api/jwt-secret", "PutSecretValue api/jwt-secret"]);
    assert.ok(callsOnExisting(fourth.sent, arns, s.prefix).every((c) => c.endsWith(" api/jwt-secret")), JSON.stringify(fourth.sent));
    assert.equal(await s.value("api/jwt-secret"), JSON.stringify(back));
  });

  test("a name that is another secret's partial ARN: each call reaches its own secret by full ARN", async () => {
    const s = await peers.scenario();
    await s.put("app", { v: peers.secret("app") });
    await s.put("app-config", { v: peers.secret("app-config") });
    const token = await s.readOnlyToken();
    const config = s.writeConfig({ yaml: DELETE_POLICY });
    assert.equal((await syncRecorded(s, config, token)).run.code, 0);

    // `<prefix>/app-<suffix of app's ARN>`: its partial ARN is, character for character, the full
    // ARN of `<prefix>/app`. moto resolves that partial ARN to `<prefix>/app`, as AWS may: the trap
    // is real. (moto looks names up exactly, so a plain name never collides there; the full ARN is
    // what keeps AWS from guessing.)
    const appArn = (await arnsOf(s)).get(`${s.prefix}/app`) ?? "";
    const suffix = appArn.slice(appArn.lastIndexOf("-") + 1);
    const twin = `app-${suffix}`;
    await s.put(twin, { v: peers.secret("twin") });
    assert.equal((await syncRecorded(s, config, token)).run.code, 0);
    const arns = await arnsOf(s);
    assert.equal(arns.size, 3);
    const trap = await peers.sm().send(new DescribeSecretCommand({ SecretId: appArn.slice(0, appArn.indexOf(":secret:") + ":secret:".length) + `${s.prefix}/${twin}` }));
    assert.equal(trap.Name, `${s.prefix}/app`);

    const changed = { v: peers.secret("twin-2") };
    await s.put(twin, changed);
    const update = await syncRecorded(s, config, token);
    assert.equal(update.run.code, 0, update.run.stdout);
    assert.deepEqual(callsOnExisting(update.sent, arns, s.prefix), [`PutSecretValue ${twin}`, `TagResource ${twin}`]);
    assert.equal(await s.value(twin), JSON.stringify(changed));
    assert.deepEqual(await Promise.all(["app", "app-config", twin].map((p) => versionCount(s, p))), [1, 1, 2]);

    await peers.bao.api("DELETE", `${s.mount}/metadata/${twin}`);
    const removal = await syncRecorded(s, config, token);
    assert.equal(removal.run.code, 0, removal.run.stdout);
    assert.deepEqual(callsOnExisting(removal.sent, arns, s.prefix), [`DescribeSecret ${twin}`, `DeleteSecret ${twin}`]);
    const pending = await peers.sm().send(new ListSecretsCommand({ IncludePlannedDeletion: true, Filters: [{ Key: "name", Values: [`${s.prefix}/`] }] }));
    assert.deepEqual(
      (pending.SecretList ?? []).map((e) => [e.Name, e.DeletedDate !== undefined]).sort(),
      [
        [`${s.prefix}/app`, false],
        [`${s.prefix}/app-config`, false],
        [`${s.prefix}/${twin}`, true],
      ].sort(),
    );
    const read = await peers.sm().send(new GetSecretValueCommand({ SecretId: arns.get(`${s.prefix}/app`) }));
    assert.match(read.SecretString ?? "", /CANARY-app-/);
  });
});
