// Several targets from one config, against real OpenBao and moto: two "accounts" (moto gives an
// assumed role's credentials the role's account) in two Regions, `--target`, one unreachable
// target failing alone, and `validate` refusing two targets that are one account after all.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ListSecretsCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { peersForThisFile, webhookReceiver, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();

const ROLE_ONE = "arn:aws:iam::111111111111:role/secretbridge-writer";
const ROLE_TWO = "arn:aws:iam::222222222222:role/secretbridge-writer";

/** Secret names in one account and Region, seen with that account's credentials (a role moto maps to it). */
async function namesIn(role: string | undefined, region: string): Promise<string[]> {
  const base = { endpoint: peers.moto.url, region, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } };
  let credentials = base.credentials;
  if (role) {
    const assumed = await new STSClient(base).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: "check" }));
    const c = assumed.Credentials;
    credentials = { accessKeyId: c?.AccessKeyId ?? "", secretAccessKey: c?.SecretAccessKey ?? "", ...(c?.SessionToken ? { sessionToken: c.SessionToken } : {}) } as typeof credentials;
  }
  const page = await new SecretsManagerClient({ ...base, credentials }).send(new ListSecretsCommand({ MaxResults: 100 }));
  return (page.SecretList ?? []).map((s) => s.Name ?? "").sort();
}

/** Two targets: account 111111111111 in us-east-1 and account 222222222222 in eu-west-1, and maybe a third. */
function twoAccounts(s: Scenario, extra = ""): string {
  return s.writeConfig({
    yaml: [
      "  region: us-east-1",
      "targets:",
      "  - name: one",
      `    destination: {assumeRole: {roleArn: '${ROLE_ONE}', externalId: ext-one}}`,
      "  - name: two",
      `    destination: {region: eu-west-1, assumeRole: {roleArn: '${ROLE_TWO}', externalId: ext-two}}`,
      extra,
    ].join("\n"),
  });
}

interface TargetEntry {
  target: { name: string; destination: { account: string | null; region: string | null; prefixes: string[] } };
  exitCode: number;
  counts?: { create: number };
  error?: { class: string; message: string };
  results?: { action: { type: string; destinationName: string; tags?: Record<string, string>; requestToken?: string; basis?: unknown } }[];
}

describe("targets", () => {
  test("one sync writes each target's secrets into its own account and Region, and each report names its target", async () => {
    const s = await peers.scenario();
    await s.put("app/db", { password: peers.secret("db") });
    await s.put("web", { key: peers.secret("web") });
    const token = await s.readOnlyToken();
    const run = await s.cli(["sync", "-c", twoAccounts(s), "--json"], token);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const expected = [`${s.prefix}/app/db`, `${s.prefix}/web`];
    assert.deepEqual(await namesIn(ROLE_ONE, "us-east-1"), expected);
    assert.deepEqual(await namesIn(ROLE_TWO, "eu-west-1"), expected);
    // Nothing in the caller's own account, nor in the other Region of either account.
    assert.deepEqual(await namesIn(undefined, "us-east-1"), []);
    assert.deepEqual(await namesIn(ROLE_ONE, "eu-west-1"), []);
    assert.deepEqual(await namesIn(ROLE_TWO, "us-east-1"), []);

    const doc = JSON.parse(run.stdout) as { syncName: string; mode: string; exitCode: number; targets: TargetEntry[] };
    assert.equal(doc.exitCode, 0);
    assert.equal(doc.mode, "sync");
    assert.deepEqual(
      doc.targets.map((t) => [t.target.name, t.target.destination.account, t.target.destination.region, t.exitCode, t.counts?.create]),
      [
        ["one", "111111111111", "us-east-1", 0, 2],
        ["two", "222222222222", "eu-west-1", 0, 2],
      ],
    );
    // Each target's own writes: two creates in each account, no more.
    assert.equal(run.recorder.count("aws", "CreateSecret"), 4);
    // Each create printed with the tags and request token it wrote (derived for printing, the plan holds neither).
    for (const t of doc.targets) {
      assert.deepEqual(
        t.results?.map((r) => [r.action.type, r.action.destinationName, r.action.tags?.["secretbridge:path"], /^[0-9a-f-]{36}$/.test(r.action.requestToken ?? ""), r.action.basis]),
        [
          ["create", `${s.prefix}/app/db`, "app/db", true, undefined],
          ["create", `${s.prefix}/web`, "web", true, undefined],
        ],
      );
    }

    const again = await s.cli(["sync", "-c", twoAccounts(s)], token);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /^Target one\nSource: [^\n]+\nDestination: AWS Secrets Manager, account 111111111111, Region us-east-1, prefix [^\n]+\n/m);
    assert.match(again.stdout, /^Target two\nSource: [^\n]+\nDestination: AWS Secrets Manager, account 222222222222, Region eu-west-1, prefix /m);
    assert.match(again.stdout, /^Sync it \(target one\): 0 created, 0 updated, 2 unchanged, 0 conflicts, 0 skipped, 0 failures/m);
    assert.match(again.stdout, /^Sync it \(target two\): 0 created, 0 updated, 2 unchanged, 0 conflicts, 0 skipped, 0 failures/m);
    assert.match(again.stdout, /^Targets: one exit 0, two exit 0; exit 0$/m);

    // verify compares each target's secrets with the source, by value, in its own account.
    const verified = await s.cli(["verify", "-c", twoAccounts(s), "--json"], token);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const verdicts = JSON.parse(verified.stdout) as { exitCode: number; targets: { target: string; counts: Record<string, number> }[] };
    assert.deepEqual(
      verdicts.targets.map((t) => [t.target, t.counts["in-sync"], t.counts.missing]),
      [
        ["one", 2, 0],
        ["two", 2, 0],
      ],
    );
  });

  test("--target runs only the targets it names; an unknown name is a usage error listing the names", async () => {
    const s = await peers.scenario();
    await s.put("app", { v: peers.secret("app") });
    const token = await s.readOnlyToken();
    const config = twoAccounts(s);
    const run = await s.cli(["sync", "-c", config, "--target", "two", "--json"], token);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(await namesIn(ROLE_ONE, "us-east-1"), []);
    assert.deepEqual(await namesIn(ROLE_TWO, "eu-west-1"), [`${s.prefix}/app`]);
    assert.deepEqual((JSON.parse(run.stdout) as { targets: TargetEntry[] }).targets.map((t) => t.target.name), ["two"]);

    const unknown = await s.cli(["plan", "-c", config, "--target", "one", "--target", "three", "--json"], token);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'error: unknown target "three": this config\'s targets are one, two\n');
    assert.deepEqual(JSON.parse(unknown.stdout), { error: { class: "usage", message: 'unknown target "three": this config\'s targets are one, two' }, exitCode: 2 });
    assert.equal(unknown.recorder.count("aws", "ListSecrets"), 0);
  });

  test("a target that cannot be reached fails alone: the others complete, the exit code, the JSON and the notice name it", async () => {
    const s = await peers.scenario();
    await s.put("app", { v: peers.secret("app") });
    const token = await s.readOnlyToken();
    const hook = await webhookReceiver();
    // moto answers every call in a Region it does not know with HTTP 500.
    const config = twoAccounts(s, `  - name: nowhere\n    destination: {region: moon-central-1}\nnotifications:\n  webhook: {url: '${hook.url}'}`);
    const run = await s.cli(["sync", "-c", config, "--json"], token);
    await hook.close();
    // One notice, from the one target with a failure, naming it.
    assert.deepEqual(
      hook.received.map((body) => JSON.parse(body) as { target: string; failures: { errorClass: string }[] }).map((n) => [n.target, n.failures.map((f) => f.errorClass)]),
      [["nowhere", ["destination-unavailable"]]],
    );
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.deepEqual(await namesIn(ROLE_ONE, "us-east-1"), [`${s.prefix}/app`]);
    assert.deepEqual(await namesIn(ROLE_TWO, "eu-west-1"), [`${s.prefix}/app`]);
    const doc = JSON.parse(run.stdout) as { exitCode: number; targets: TargetEntry[] };
    assert.equal(doc.exitCode, 2);
    assert.deepEqual(
      doc.targets.map((t) => [t.target.name, t.exitCode, t.error?.class]),
      [
        ["one", 0, undefined],
        ["two", 0, undefined],
        ["nowhere", 2, "destination-unavailable"],
      ],
    );
    const failed = doc.targets[2];
    assert.equal(failed?.target.destination.region, "moon-central-1");
    assert.match(run.stderr, /^secretbridge: target nowhere: \[destination-unavailable\] /m);

    const human = await s.cli(["sync", "-c", config], token);
    assert.equal(human.code, 2);
    assert.match(human.stdout, /^Target nowhere could not run: \[destination-unavailable\] /m);
    assert.match(human.stdout, /^Targets: one exit 0, two exit 0, nowhere exit 2 \[destination-unavailable\]; exit 2$/m);
  });

  test("validate refuses two targets that are one account, Region and prefix, as the identity call shows", async () => {
    const s = await peers.scenario();
    const token = await s.readOnlyToken();
    // The environment's credentials are moto's default account, 123456789012: the role is the same account.
    const config = s.writeConfig({
      yaml: ["  region: us-east-1", "targets:", "  - name: own", "  - name: role", "    destination: {assumeRole: {roleArn: 'arn:aws:iam::123456789012:role/writer'}}"].join("\n"),
    });
    const run = await s.cli(["validate", "-c", config], token);
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      `secretbridge: [config-invalid] ${config} is invalid:\n  - targets[0] (own) and targets[1] (role) write to the same place: AWS Secrets Manager, Region us-east-1, account 123456789012, prefix ${s.prefix}/; give them different prefixes, Regions or accounts\n`,
    );
    const distinct = await s.cli(["validate", "-c", twoAccounts(s)], token);
    assert.equal(distinct.code, 0, distinct.stderr);
    assert.equal(distinct.stdout.trim().endsWith(`valid. sync "it": target one: ${s.mount} -> ${s.prefix}/; target two: ${s.mount} -> ${s.prefix}/`), true, distinct.stdout);
  });

  test("a target can be another destination type: one sync fills Secrets Manager and Parameter Store with the same prefix", async () => {
    const s = await peers.scenario();
    const value = { v: peers.secret("both") };
    await s.put("app", value);
    const config = s.writeConfig({ yaml: ["targets:", "  - name: secrets", "  - name: parameters", "    destination: {type: aws-ssm-parameter-store}"].join("\n") });
    const run = await s.cli(["sync", "-c", config], await s.readOnlyToken());
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(await namesIn(undefined, "us-east-1"), [`${s.prefix}/app`]);
    const ssm = new SSMClient({ endpoint: peers.moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
    const parameter = await ssm.send(new GetParameterCommand({ Name: `/${s.prefix}/app`, WithDecryption: true }));
    assert.equal(parameter.Parameter?.Value, JSON.stringify(value));
    assert.match(run.stdout, /^Target parameters\nSource: [^\n]+\nDestination: AWS Systems Manager Parameter Store, /m);
    assert.match(run.stdout, /^Sync it \(target parameters\): 1 created, /m);
  });

  test("a config without targets reports its one target as default", async () => {
    const s = await peers.scenario();
    await s.put("app", { v: peers.secret("solo") });
    const run = await s.cli(["plan", "-c", s.writeConfig(), "--json"], await s.readOnlyToken());
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { target: { name: string }; targets?: unknown };
    assert.equal(doc.target.name, "default");
    assert.equal(doc.targets, undefined);
  });
});
