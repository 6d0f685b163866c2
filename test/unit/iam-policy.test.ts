// The least-privilege IAM policy for one or several mappings. Besides the statement shapes, these
// tests evaluate requests against the policy with a small IAM evaluator (test/helpers), so "the
// policy blocks itself" is caught as a behaviour.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { isSyncError } from "../../src/core/errors.js";
import type { PolicyStatement } from "../../src/destinations/aws-common/iam.js";
import { iamPolicy as secretsManagerFragment, iamScopeOf, type IamPolicyInput as FragmentInput, type IamScope } from "../../src/destinations/aws-secrets-manager/iam-policy.js";
import { main } from "../../src/runtime/cli/main.js";
import { composeIamPolicy, iamMappingsOf, type RuntimeIamInput } from "../../src/runtime/iam-policy.js";
import { evaluate, list, type Context } from "../helpers/iam-evaluator.js";
import { resolveConfig } from "../../src/config/resolve.js";

type Statement = PolicyStatement;
type IamPolicyInput = FragmentInput & RuntimeIamInput;
/** A Secrets Manager sync's document, as `iam-policy` without -c composes it. */
const iamPolicy = (i: IamPolicyInput) => composeIamPolicy(i, secretsManagerFragment(i));
const ACCOUNT = "123456789012";
const scope = (prefix: string, extra: Partial<IamScope> = {}): IamScope => ({
  prefix,
  replicas: [],
  lifecycle: { delete: false, restore: false, tagOrphans: false },
  resourcePolicy: false,
  valueReads: false,
  ...extra,
});
const input = (scopes: IamScope[], extra: Partial<IamPolicyInput> = {}): IamPolicyInput => ({ account: ACCOUNT, region: "eu-west-1", scopes, ...extra });
const policyOf = (i: IamPolicyInput) => iamPolicy(i) as unknown as { Version: string; Statement: Statement[] };
const secret = (name: string, region = "eu-west-1", partition = "aws") => `arn:${partition}:secretsmanager:${region}:${ACCOUNT}:secret:${name}-AbCdEf`;
const key = (id: string, region = "eu-west-1") => `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`;
const KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
const OTHER_KEY_ID = "99999999-9999-4999-8999-999999999999";
const viaSecretsManager = (region = "eu-west-1", aliases: string[] = []): Context => ({
  "kms:ViaService": `secretsmanager.${region}.amazonaws.com`,
  "kms:ResourceAliases": aliases,
});

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isSyncError(error), `expected a SyncError, got ${String(error)}`);
    assert.equal(error.errorClass, "config-invalid");
    assert.match(error.message, message);
    return true;
  });
}

describe("iam-policy: KMS keys", () => {
  test("an alias name: the key it names is usable via Secrets Manager, by condition, and no Deny excludes it", () => {
    const p = policyOf(input([scope("team-a", { kmsKeyId: "alias/foo" })]));
    const byAlias = p.Statement.filter((s) => s.Effect === "Allow" && list(s.Action).includes("kms:Decrypt"));
    assert.equal(byAlias.length, 1);
    assert.deepEqual(list(byAlias[0]?.Resource), [`arn:aws:kms:eu-west-1:${ACCOUNT}:key/*`]);
    assert.deepEqual(list(byAlias[0]?.Condition?.["ForAnyValue:StringEquals"]?.["kms:ResourceAliases"]), ["alias/foo"]);
    assert.deepEqual(list(byAlias[0]?.Condition?.StringEquals?.["kms:ViaService"]), ["secretsmanager.eu-west-1.amazonaws.com"]);
    // An alias is not a resource of Decrypt / GenerateDataKey: it must never appear as one.
    for (const s of p.Statement) for (const r of [...list(s.Resource), ...list(s.NotResource)]) assert.ok(!r.includes("alias/"), `${s.Sid}: ${r}`);

    const aliased = key(KEY_ID);
    assert.equal(evaluate(p, "kms:Decrypt", aliased, viaSecretsManager("eu-west-1", ["alias/foo"])), "allow");
    assert.equal(evaluate(p, "kms:GenerateDataKey", aliased, viaSecretsManager("eu-west-1", ["alias/foo", "alias/other"])), "allow");
    // Other keys: still denied explicitly (the Deny carries the same alias condition, see iam-policy.ts).
    assert.equal(evaluate(p, "kms:Decrypt", key(OTHER_KEY_ID), viaSecretsManager("eu-west-1", ["alias/bar"])), "deny");
    assert.equal(evaluate(p, "kms:Decrypt", key(OTHER_KEY_ID), viaSecretsManager()), "deny");
    // The aliased key outside Secrets Manager: not allowed.
    assert.equal(evaluate(p, "kms:Decrypt", aliased, { "kms:ViaService": "s3.eu-west-1.amazonaws.com", "kms:ResourceAliases": ["alias/foo"] }), "implicit-deny");
  });

  test("an alias ARN is normalised to the alias name", () => {
    const p = policyOf(input([scope("team-a", { kmsKeyId: `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/foo` })]));
    assert.equal(evaluate(p, "kms:Decrypt", key(KEY_ID), viaSecretsManager("eu-west-1", ["alias/foo"])), "allow");
    const conditions = p.Statement.flatMap((s) => list(s.Condition?.["ForAnyValue:StringEquals"]?.["kms:ResourceAliases"]));
    assert.deepEqual(conditions, ["alias/foo"]);
  });

  test("a key ARN: allowed via Secrets Manager only; every other key denied", () => {
    const arn = key(KEY_ID);
    const p = policyOf(input([scope("team-a", { kmsKeyId: arn })]));
    assert.equal(evaluate(p, "kms:Decrypt", arn, viaSecretsManager()), "allow");
    assert.equal(evaluate(p, "kms:GenerateDataKey", arn, viaSecretsManager()), "allow");
    assert.equal(evaluate(p, "kms:Decrypt", arn, { "kms:ViaService": "s3.eu-west-1.amazonaws.com" }), "implicit-deny");
    assert.equal(evaluate(p, "kms:Decrypt", key(OTHER_KEY_ID), viaSecretsManager()), "deny");
    assert.equal(evaluate(p, "kms:ScheduleKeyDeletion", arn, viaSecretsManager()), "implicit-deny");
  });

  test("a key id becomes the key ARN in the mapping's Region and account", () => {
    const p = policyOf(input([scope("team-a", { kmsKeyId: KEY_ID })]));
    const use = p.Statement.find((s) => s.Effect === "Allow" && list(s.Action).includes("kms:Decrypt"));
    assert.deepEqual(list(use?.Resource), [key(KEY_ID)]);
    const mrk = "mrk-1234abcd12ab34cd56ef1234567890ab";
    const q = policyOf(input([scope("team-a", { kmsKeyId: mrk })]));
    assert.equal(evaluate(q, "kms:Decrypt", key(mrk), viaSecretsManager()), "allow");
  });

  test("the AWS managed key (or none): no KMS statement, and a CMK elsewhere does not deny it", () => {
    for (const kmsKeyId of [undefined, "aws/secretsmanager", "alias/aws/secretsmanager"]) {
      const p = policyOf(input([scope("team-a", kmsKeyId ? { kmsKeyId } : {})]));
      assert.ok(!p.Statement.some((s) => list(s.Action).some((a) => a.startsWith("kms:"))), String(kmsKeyId));
    }
    const mixed = policyOf(input([scope("team-a", { kmsKeyId: KEY_ID }), scope("team-b")]));
    const managed = key("00000000-0000-4000-8000-000000000000");
    assert.notEqual(evaluate(mixed, "kms:GenerateDataKey", managed, viaSecretsManager("eu-west-1", ["alias/aws/secretsmanager"])), "deny");
    assert.equal(evaluate(mixed, "kms:Decrypt", key(KEY_ID), viaSecretsManager()), "allow");
  });

  test("a key reference of none of the four forms is refused, naming it", () => {
    for (const bad of ["foo", "alias/", `arn:aws:kms:eu-west-1:${ACCOUNT}:key/`, "arn:aws:kms:eu-west-1:123:key/" + KEY_ID, "1234"]) {
      refused(() => iamPolicy(input([scope("team-a", { kmsKeyId: bad })])), new RegExp(`"${bad.replace(/[/.*]/g, "\\$&")}"`));
    }
    refused(() => iamPolicy(input([scope("team-a", { kmsKeyId: "foo" })])), /key id, key ARN, alias name \(alias\/\.\.\.\) or alias ARN/);
    // A key in another Region than the secrets it encrypts cannot work.
    refused(() => iamPolicy(input([scope("team-a", { kmsKeyId: key(KEY_ID, "us-east-1") })])), /us-east-1.*eu-west-1/);
  });
});

describe("iam-policy: several mappings, Regions and features", () => {
  test("two mappings: one Deny whose NotResource holds both prefixes; neither blocks the other", () => {
    const p = policyOf(input([scope("team-a", { kmsKeyId: "alias/a" }), scope("team-b", { kmsKeyId: KEY_ID })]));
    const denies = p.Statement.filter((s) => s.Effect === "Deny" && list(s.Action).includes("secretsmanager:PutSecretValue"));
    assert.equal(denies.length, 1);
    assert.deepEqual(list(denies[0]?.NotResource), [
      `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:team-a/*`,
      `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:team-b/*`,
    ]);
    for (const name of ["team-a/app/db", "team-b/x"]) {
      for (const action of ["secretsmanager:CreateSecret", "secretsmanager:PutSecretValue", "secretsmanager:TagResource"]) {
        assert.equal(evaluate(p, action, secret(name)), "allow", `${action} ${name}`);
      }
    }
    assert.equal(evaluate(p, "secretsmanager:PutSecretValue", secret("team-c/x")), "deny");
    assert.equal(evaluate(p, "secretsmanager:ListSecrets", "*"), "allow");
    // Both keys stay usable: the alias of one and the ARN of the other.
    assert.equal(evaluate(p, "kms:Decrypt", key(OTHER_KEY_ID), viaSecretsManager("eu-west-1", ["alias/a"])), "allow");
    assert.equal(evaluate(p, "kms:Decrypt", key(KEY_ID), viaSecretsManager()), "allow");
  });

  test("replica Regions: the secrets there are writable and their keys usable; the Deny spares them", () => {
    const p = policyOf(input([scope("team-a", { kmsKeyId: KEY_ID, replicas: [{ region: "us-east-1", kmsKeyId: OTHER_KEY_ID }, { region: "ap-southeast-2" }] })]));
    for (const region of ["eu-west-1", "us-east-1", "ap-southeast-2"]) {
      assert.equal(evaluate(p, "secretsmanager:CreateSecret", secret("team-a/x", region)), "allow", region);
    }
    assert.equal(evaluate(p, "secretsmanager:ReplicateSecretToRegions", secret("team-a/x")), "allow");
    assert.equal(evaluate(p, "secretsmanager:RemoveRegionsFromReplication", secret("team-a/x")), "allow");
    assert.equal(evaluate(p, "secretsmanager:CreateSecret", secret("team-a/x", "us-west-2")), "deny");
    const deny = p.Statement.find((s) => s.Effect === "Deny" && list(s.Action).includes("secretsmanager:CreateSecret"));
    assert.ok(list(deny?.NotResource).includes(`arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:team-a/*`));
    // The replica key is a key in the replica Region.
    assert.equal(evaluate(p, "kms:GenerateDataKey", key(OTHER_KEY_ID, "us-east-1"), viaSecretsManager("us-east-1")), "allow");
    assert.equal(evaluate(p, "kms:Encrypt", key(OTHER_KEY_ID, "us-east-1"), viaSecretsManager("us-east-1")), "allow");
    assert.equal(evaluate(p, "kms:Decrypt", key(KEY_ID), viaSecretsManager()), "allow");
    // ap-southeast-2 uses the AWS managed key: so no blanket "deny other keys".
    assert.notEqual(evaluate(p, "kms:GenerateDataKey", key("00000000-0000-4000-8000-000000000000", "ap-southeast-2"), viaSecretsManager("ap-southeast-2")), "deny");
  });

  test("only the lifecycle actions each mapping's policies use, on that mapping's secrets only", () => {
    const allowedOn = (policy: { Statement: Statement[] }, name: string) =>
      ["DeleteSecret", "RestoreSecret", "PutResourcePolicy", "DeleteResourcePolicy", "ReplicateSecretToRegions", "RemoveRegionsFromReplication", "GetSecretValue", "UpdateSecret", "RotateSecret"]
        .filter((a) => evaluate(policy, `secretsmanager:${a}`, secret(`${name}/x`)) === "allow")
        .sort();
    const deletes = scope("deletes", { lifecycle: { delete: true, restore: true, tagOrphans: false } });
    // One mapping that deletes, without replicas: no replica management.
    assert.deepEqual(allowedOn(policyOf(input([deletes])), "deletes"), ["DeleteSecret", "RestoreSecret"]);
    const p = policyOf(
      input([
        deletes,
        scope("tags", { lifecycle: { delete: false, restore: false, tagOrphans: true } }),
        scope("policies", { resourcePolicy: true }),
      ]),
    );
    assert.deepEqual(allowedOn(p, "deletes"), ["DeleteSecret", "RestoreSecret"]);
    assert.deepEqual(allowedOn(p, "tags"), []);
    assert.deepEqual(allowedOn(p, "policies"), ["DeleteResourcePolicy", "PutResourcePolicy"]);
    assert.equal(evaluate(p, "secretsmanager:TagResource", secret("tags/x")), "allow");
    assert.ok(!p.Statement.some((s) => list(s.Action).includes("secretsmanager:BatchGetSecretValue")));
  });

  test("value reads only for the mappings that compare values", () => {
    const p = policyOf(input([scope("v1", { valueReads: true }), scope("v2")]));
    assert.equal(evaluate(p, "secretsmanager:GetSecretValue", secret("v1/x")), "allow");
    assert.equal(evaluate(p, "secretsmanager:BatchGetSecretValue", "*"), "allow");
    assert.equal(evaluate(p, "secretsmanager:GetSecretValue", secret("v2/x")), "implicit-deny");
  });

  test("the connection secrets' key decrypts through Secrets Manager only, also when the secrets use an alias", () => {
    const p = policyOf(input([{ ...scope("team-a"), kmsKeyId: "alias/replication" }], { connectionSecretNames: ["ops/vault-connection", "ops/webhook-key"], connectionSecretKmsKeyId: key(KEY_ID) }));
    assert.equal(evaluate(p, "secretsmanager:GetSecretValue", secret("ops/webhook-key")), "allow");
    assert.equal(evaluate(p, "kms:Decrypt", key(KEY_ID), viaSecretsManager()), "allow");
    assert.equal(evaluate(p, "kms:GenerateDataKey", key(KEY_ID), viaSecretsManager()), "implicit-deny");
    assert.equal(evaluate(p, "kms:Decrypt", key(KEY_ID), { "kms:ViaService": "s3.eu-west-1.amazonaws.com" }), "implicit-deny");
    assert.equal(evaluate(p, "kms:Decrypt", key(OTHER_KEY_ID), viaSecretsManager()), "deny");
  });

  test("the connection secret is readable and never writable, even outside every prefix", () => {
    const p = policyOf(input([scope("team-a")], { connectionSecretNames: ["ops/vault-connection"] }));
    assert.equal(evaluate(p, "secretsmanager:GetSecretValue", secret("ops/vault-connection")), "allow");
    assert.equal(evaluate(p, "secretsmanager:PutSecretValue", secret("ops/vault-connection")), "deny");
    assert.equal(evaluate(p, "secretsmanager:GetSecretValue", secret("ops/other")), "deny");
  });

  test("SNS: publish to the configured topics only; a malformed topic ARN is refused", () => {
    const topic = `arn:aws:sns:eu-west-1:${ACCOUNT}:failures`;
    const p = policyOf(input([scope("team-a")], { snsTopicArns: [topic] }));
    assert.equal(evaluate(p, "sns:Publish", topic), "allow");
    assert.equal(evaluate(p, "sns:Publish", `arn:aws:sns:eu-west-1:${ACCOUNT}:other`), "deny");
    refused(() => iamPolicy(input([scope("team-a")], { snsTopicArns: ["arn:aws:sqs:eu-west-1:123456789012:q"] })), /arn:aws:sqs:eu-west-1:123456789012:q/);
  });

  test("the output does not depend on the order of mappings; resource lists are sorted and unique", () => {
    const a = scope("team-a", { kmsKeyId: "alias/a", lifecycle: { delete: true, restore: true, tagOrphans: false } });
    const b = scope("team-b", { kmsKeyId: KEY_ID, replicas: [{ region: "us-east-1" }] });
    const c = scope("team-a", { kmsKeyId: "alias/a" });
    assert.deepEqual(iamPolicy(input([a, b, c])), iamPolicy(input([c, b, a])));
    for (const s of policyOf(input([a, b, c])).Statement) {
      for (const resources of [list(s.Resource), list(s.NotResource)]) assert.deepEqual(resources, [...new Set(resources)].sort(), s.Sid);
    }
  });
});

describe("iam-policy: input checks", () => {
  test("an account id that is not 12 digits is refused", () => {
    for (const account of ["123", "12345678901a", "1234567890123", ""]) {
      refused(() => iamPolicy(input([scope("team-a")], { account })), /--account must be an AWS account id of 12 digits/);
    }
  });

  test("Region, partition and prefix are checked", () => {
    refused(() => iamPolicy(input([scope("team-a")], { region: "Europe" })), /Region/);
    refused(() => iamPolicy(input([scope("team-a")], { partition: "aws-mars" })), /aws, aws-cn or aws-us-gov/);
    refused(() => iamPolicy(input([scope("team-a")], { partition: "aws-cn" })), /eu-west-1.*aws-cn|aws-cn.*eu-west-1/);
    refused(() => iamPolicy(input([scope("team-*")])), /team-\*/);
    refused(() => iamPolicy(input([scope("team-a", { replicas: [{ region: "nowhere" }] })])), /nowhere/);
    refused(() => iamPolicy(input([])), /mapping/);
  });

  test("partition aws-cn: every ARN is in aws-cn", () => {
    const p = policyOf(
      input([scope("team-a", { kmsKeyId: KEY_ID, replicas: [{ region: "cn-northwest-1" }] })], {
        partition: "aws-cn",
        region: "cn-north-1",
        snsTopicArns: [`arn:aws-cn:sns:cn-north-1:${ACCOUNT}:t`],
      }),
    );
    const arns = p.Statement.flatMap((s) => [...list(s.Resource), ...list(s.NotResource)]).filter((r) => r !== "*");
    assert.ok(arns.length > 4);
    for (const arn of arns) assert.match(arn, /^arn:aws-cn:/);
    assert.ok(arns.includes(`arn:aws-cn:kms:cn-north-1:${ACCOUNT}:key/${KEY_ID}`));
    assert.equal(evaluate(p, "secretsmanager:CreateSecret", secret("team-a/x", "cn-northwest-1", "aws-cn")), "allow");
  });

  test("unresolved deployment-time values (CDK tokens) pass when the caller says so", () => {
    const token = (s: string) => `\${Token[${s}]}`;
    const isUnresolved = (v: string) => v.includes("${Token[");
    const tokens = { account: token("AWS.AccountId.1"), region: token("AWS.Region.2"), partition: token("AWS.Partition.3") };
    refused(() => iamPolicy(input([scope("team-a")], tokens)), /--account must be an AWS account id of 12 digits/);
    const p = policyOf(input([scope("team-a", { kmsKeyId: token("SecretsKey.Arn") })], { ...tokens, isUnresolved }));
    const use = p.Statement.find((s) => s.Sid === "UseOnlyTheReplicationKey");
    assert.deepEqual(list(use?.Resource), [token("SecretsKey.Arn")]);
    assert.deepEqual(list(use?.Condition?.StringEquals?.["kms:ViaService"]), [`secretsmanager.${tokens.region}.amazonaws.com`]);
  });
});

const TWO_MAPPINGS = `
name: prod
source:
  address: https://vault.example.com:8200
destination:
  region: eu-west-1
  kmsKeyId: alias/secretbridge
notifications:
  sns:
    topicArn: arn:aws:sns:eu-west-1:123456789012:secretbridge-failures
mappings:
  - mount: team-a
    prefix: team-a
    policies:
      deletion:
        strategy: delete
  - mount: team-b
    prefix: team-b
    kmsKeyId: arn:aws:kms:eu-west-1:123456789012:key/${KEY_ID}
    replicaRegions:
      - region: us-east-1
        kmsKeyId: alias/secretbridge-replica
`;

describe("iam-policy -c: one policy for every mapping of a config", () => {
  test("iamMappingsOf: one scope per mapping, inheriting from destination and the top-level policies", () => {
    const scopesOf = (text: string) => iamMappingsOf(resolveConfig(parseConfigText(text), {})).map(iamScopeOf);
    assert.deepEqual(scopesOf(TWO_MAPPINGS), [
      scope("team-a", { kmsKeyId: "alias/secretbridge", lifecycle: { delete: true, restore: true, tagOrphans: false } }),
      scope("team-b", { kmsKeyId: key(KEY_ID), replicas: [{ region: "us-east-1", kmsKeyId: "alias/secretbridge-replica" }] }),
    ]);
    const single = scopesOf("name: p\nsource:\n  mount: kv\n  kvVersion: 1\ndestination:\n  prefix: team-c\npolicies:\n  deletion:\n    strategy: tag\n");
    assert.deepEqual(single, [scope("team-c", { valueReads: true, lifecycle: { delete: false, restore: false, tagOrphans: true } })]);
  });

  test("the command prints the policy of every mapping; scope flags and -c do not mix; bad values exit 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-iam-"));
    const file = join(dir, "secretbridge.yaml");
    writeFileSync(file, TWO_MAPPINGS);
    const run = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(["iam-policy", ...args], { output: { out: (t) => out.push(t), err: (t) => err.push(t) } });
      return { code, out: out.join(""), err: err.join("") };
    };
    const ok = await run(["--account", ACCOUNT, "-c", file]);
    assert.equal(ok.code, 0, ok.err);
    const p = JSON.parse(ok.out) as { Statement: Statement[] };
    assert.equal(evaluate(p, "secretsmanager:DeleteSecret", secret("team-a/x")), "allow");
    assert.equal(evaluate(p, "secretsmanager:DeleteSecret", secret("team-b/x")), "implicit-deny");
    assert.equal(evaluate(p, "secretsmanager:CreateSecret", secret("team-b/x", "us-east-1")), "allow");
    assert.equal(evaluate(p, "kms:Decrypt", key(OTHER_KEY_ID), viaSecretsManager("eu-west-1", ["alias/secretbridge"])), "allow");
    assert.equal(evaluate(p, "sns:Publish", "arn:aws:sns:eu-west-1:123456789012:secretbridge-failures"), "allow");

    const mixed = await run(["--account", ACCOUNT, "-c", file, "--prefix", "x", "--deletion"]);
    assert.equal(mixed.code, 2);
    assert.match(mixed.err, /--prefix, --deletion cannot be combined with -c/);
    const badAccount = await run(["--account", "123", "-c", file]);
    assert.equal(badAccount.code, 2);
    assert.match(badAccount.err, /\[config-invalid\] --account must be an AWS account id of 12 digits, got "123"/);
    const badKey = await run(["--account", ACCOUNT, "--region", "eu-west-1", "--kms-key-arn", "my-key"]);
    assert.equal(badKey.code, 2);
    assert.match(badKey.err, /kmsKeyId "my-key" is not a KMS key id, key ARN, alias name/);
    const noRegion = await run(["--account", ACCOUNT]);
    assert.equal(noRegion.code, 2);
    assert.match(noRegion.err, /--region is required/);
  });
});

const PARAMETER_STORE = `
name: params
source:
  address: https://vault.example.com:8200
destination:
  type: aws-ssm-parameter-store
  region: eu-west-1
  kmsKeyId: ${KEY_ID}
mappings:
  - mount: team-a
    prefix: team-a
    policies:
      deletion:
        strategy: delete
  - mount: team-b
    prefix: team-b
    policies:
      onConflict: adopt-if-equal
`;

describe("iam-policy -c for a Parameter Store config", () => {
  const run = async (text: string, args: string[]) => {
    const file = join(mkdtempSync(join(tmpdir(), "sb-iam-ssm-")), "ssm.yaml");
    writeFileSync(file, text);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["iam-policy", "-c", file, "--account", ACCOUNT, ...args], { output: { out: (t) => out.push(t), err: (t) => err.push(t) } });
    assert.equal(code, 0, err.join(""));
    return JSON.parse(out.join("")) as { Version: string; Statement: Statement[] };
  };
  const parameters = (prefix: string) => `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/${prefix}/*`;
  const WRITES = ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource", "ssm:GetParameterHistory"];

  test("the Parameter Store actions on each prefix, value reads and deletes only where used, the key via ssm only; no Secrets Manager action", async () => {
    const p = await run(PARAMETER_STORE, []);
    assert.deepEqual(p, {
      Version: "2012-10-17",
      Statement: [
        { Sid: "ListParameters", Effect: "Allow", Action: "ssm:DescribeParameters", Resource: "*" },
        { Sid: "WriteParametersUnderThePrefix", Effect: "Allow", Action: [...WRITES, "ssm:DeleteParameter"], Resource: parameters("team-a") },
        { Sid: "WriteParametersUnderThePrefix2", Effect: "Allow", Action: [...WRITES, "ssm:GetParameters"], Resource: parameters("team-b") },
        {
          Sid: "UseTheParameterKeyThroughParameterStore",
          Effect: "Allow",
          Action: ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
          Resource: key(KEY_ID),
          Condition: { StringEquals: { "kms:ViaService": "ssm.eu-west-1.amazonaws.com" } },
        },
        { Sid: "DenyOtherKeys", Effect: "Deny", Action: "kms:*", NotResource: key(KEY_ID) },
      ],
    });
    assert.equal(evaluate(p, "ssm:DeleteParameter", `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/team-b/x`), "implicit-deny");
    assert.equal(evaluate(p, "ssm:PutParameter", `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/team-c/x`), "implicit-deny");
  });

  test("the runtime's connection secret stays readable and never writable; the AWS managed key: no KMS statement", async () => {
    const text = PARAMETER_STORE.replace(`  kmsKeyId: ${KEY_ID}\n`, "").replace("  - mount: team-b\n    prefix: team-b\n    policies:\n      onConflict: adopt-if-equal\n", "");
    const p = await run(text, ["--connection-secret", "hybrid-aws-secrets/vault-connection-secret"]);
    const connection = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:hybrid-aws-secrets/vault-connection-secret-??????`;
    assert.deepEqual(
      p.Statement.map((s) => s.Sid),
      ["ListParameters", "WriteParametersUnderThePrefix", "ReadConnectionSecret", "DenyWritingTheConnectionSecret", "DenySecretActionsOutsideThePrefix"],
    );
    assert.deepEqual(p.Statement.find((s) => s.Sid === "DenySecretActionsOutsideThePrefix")?.NotResource, connection);
    const secretsManagerAllows = p.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => list(s.Action)).filter((a) => a.startsWith("secretsmanager:"));
    assert.deepEqual(secretsManagerAllows, ["secretsmanager:GetSecretValue"]);
    assert.equal(evaluate(p, "secretsmanager:GetSecretValue", connection.replace("??????", "AbCdEf")), "allow");
    assert.equal(evaluate(p, "secretsmanager:CreateSecret", secret("team-a/x")), "deny");
  });
});
