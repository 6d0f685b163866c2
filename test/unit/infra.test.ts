// Assertions on the synthesized CloudFormation template: every IAM statement, each explicit deny,
// the key, the schedule, the connection secret's encryption, the topic only with an email.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { settingsFromContext } from "../../infra/settings.js";
import { DEFAULT_SETTINGS, SECRET_SCOPED_ACTIONS, SecretBridgeStack, type SecretBridgeSettings } from "../../infra/stack.js";

const code = mkdtempSync(join(tmpdir(), "sb-cdk-"));
writeFileSync(join(code, "index.mjs"), "export const handler = async () => ({});\n");

function synth(overrides: Partial<SecretBridgeSettings> = {}): Template {
  const app = new App();
  const stack = new SecretBridgeStack(app, "Test", { ...DEFAULT_SETTINGS, ...overrides }, code, { env: { account: "123456789012", region: "eu-west-1" } });
  return Template.fromStack(stack);
}

type Statement = { Sid: string; Effect: string; Action: string | string[]; Resource?: unknown; NotResource?: unknown };

function statements(t: Template): Map<string, Statement> {
  const policies = t.findResources("AWS::IAM::Policy");
  const all = Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
  return new Map(all.map((s) => [s.Sid, s]));
}

const prefixArn = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":secretsmanager:eu-west-1:123456789012:secret:hybrid-aws-secrets/*"]] };

describe("CDK stack (defaults = the reference sample's cdk.json)", () => {
  const t = synth();
  const s = statements(t);

  test("exactly the expected statements, no others", () => {
    assert.deepEqual([...s.keys()].sort(), [
      "DenyOtherKeys",
      "DenySecretActionsOutsideThePrefix",
      "DenyWritingTheConnectionSecret",
      "ListSecretsForInventory",
      "ReadConnectionSecret",
      "UseOnlyTheReplicationKey",
      "WriteLogs",
      "WriteReplicatedSecretsUnderPrefix",
    ]);
    assert.equal(Object.keys(t.findResources("AWS::IAM::ManagedPolicy")).length, 0);
    const role = Object.values(t.findResources("AWS::IAM::Role"))[0] as { Properties: { ManagedPolicyArns?: unknown } };
    assert.equal(role.Properties.ManagedPolicyArns, undefined, "no managed policies (AWSLambdaBasicExecutionRole is logs:* on *)");
  });

  test("ListSecrets is the only action on *", () => {
    for (const st of s.values()) {
      if (st.Effect === "Allow" && st.Resource === "*") assert.deepEqual(st.Action, "secretsmanager:ListSecrets");
    }
  });

  test("writes only under the prefix", () => {
    assert.deepEqual(s.get("WriteReplicatedSecretsUnderPrefix"), {
      Sid: "WriteReplicatedSecretsUnderPrefix",
      Effect: "Allow",
      Action: [
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
        "secretsmanager:DescribeSecret",
      ],
      Resource: prefixArn,
    });
  });

  test("no wildcard action and no write permission on a wildcard resource anywhere", () => {
    for (const st of s.values()) {
      if (st.Effect !== "Allow") continue;
      const actions = ([] as string[]).concat(st.Action);
      for (const a of actions) assert.ok(!a.endsWith(":*") && a !== "*", `${st.Sid} allows ${a}`);
      if (st.Resource === "*") assert.ok(actions.every((a) => a === "secretsmanager:ListSecrets"), st.Sid);
    }
  });

  test("explicit deny of every secret-scoped action outside the prefix (ListSecrets stays usable)", () => {
    const deny = s.get("DenySecretActionsOutsideThePrefix");
    assert.equal(deny?.Effect, "Deny");
    assert.deepEqual(deny?.Action, SECRET_SCOPED_ACTIONS);
    assert.deepEqual(deny?.NotResource, prefixArn);
    assert.ok(!SECRET_SCOPED_ACTIONS.includes("secretsmanager:ListSecrets"));
  });

  test("the connection secret is readable, never writable, and encrypted with the key", () => {
    assert.deepEqual(s.get("ReadConnectionSecret")?.Action, "secretsmanager:GetSecretValue");
    const deny = s.get("DenyWritingTheConnectionSecret");
    assert.equal(deny?.Effect, "Deny");
    for (const a of ["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret", "secretsmanager:DeleteSecret", "secretsmanager:TagResource"]) {
      assert.ok((deny?.Action as string[]).includes(a), a);
    }
    t.hasResourceProperties("AWS::SecretsManager::Secret", {
      Name: "hybrid-aws-secrets/vault-connection-secret",
      KmsKeyId: { "Fn::GetAtt": [Match.stringLikeRegexp("SecretsKey"), "Arn"] },
      SecretString: JSON.stringify({ vaultAddress: "https://vault.example.com:8200", vaultToken: "" }),
    });
  });

  test("KMS: only its key, explicit deny on others; key rotation on; alias", () => {
    const use = s.get("UseOnlyTheReplicationKey");
    assert.deepEqual(use?.Action, ["kms:Decrypt", "kms:GenerateDataKey"]);
    const keyId = Object.keys(t.findResources("AWS::KMS::Key"))[0];
    assert.deepEqual(use?.Resource, { "Fn::GetAtt": [keyId, "Arn"] });
    assert.deepEqual((use as { Condition?: unknown }).Condition, { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } });
    assert.deepEqual(s.get("DenyOtherKeys")?.NotResource, { "Fn::GetAtt": [keyId, "Arn"] });
    const deny = s.get("DenyOtherKeys");
    assert.equal(deny?.Effect, "Deny");
    assert.equal(deny?.Action, "kms:*");
    t.hasResourceProperties("AWS::KMS::Key", { EnableKeyRotation: true });
    t.hasResourceProperties("AWS::KMS::Alias", { AliasName: "alias/hybrid-aws-secrets-encryption-key" });
    t.resourceCountIs("AWS::KMS::Key", 1);
  });

  test("key policy: the account administers the key; data-key use only via Secrets Manager; no service principal without a topic", () => {
    const key = Object.values(t.findResources("AWS::KMS::Key"))[0] as {
      Properties: { KeyPolicy: { Statement: { Principal: unknown; Action: unknown; Condition?: unknown }[] } };
    };
    const root = { AWS: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::123456789012:root"]] } };
    const via = { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } };
    assert.deepEqual(
      key.Properties.KeyPolicy.Statement.map((st) => [st.Principal, st.Action, st.Condition]),
      [
        [root, "kms:*", undefined],
        [root, ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], via],
        [root, ["kms:CreateGrant", "kms:DescribeKey"], via],
      ],
    );
  });

  test("schedule: the reference sample's cron, targeting the function without retries", () => {
    t.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0,30 * * * ? *)",
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0 } })],
    });
  });

  test("function: Node 22, one run at a time, environment, log retention", () => {
    t.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs22.x",
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({
          SECRETS_PREFIX: "hybrid-aws-secrets",
          VAULT_MOUNT: "hybrid-aws-secrets",
          CONNECTION_SECRET_NAME: "hybrid-aws-secrets/vault-connection-secret",
        }),
      },
    });
    t.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
  });

  test("no topic and no SNS permissions without an email; an alarm on errors", () => {
    t.resourceCountIs("AWS::SNS::Topic", 0);
    assert.ok(![...s.keys()].some((k) => k.includes("Topic") || k.includes("Publish")));
    t.hasResourceProperties("AWS::CloudWatch::Alarm", { MetricName: "Errors", Threshold: 1 });
  });

  test("outputs", () => {
    const outputs = Object.keys(t.toJSON().Outputs as object).sort();
    assert.deepEqual(outputs, ["ConnectionSecretName", "FunctionName", "FunctionRoleArn", "KeyArn"]);
  });
});

describe("CDK stack with options", () => {
  test("an email creates the encrypted topic, its subscription, publish only to it, and a deny on others", () => {
    const t = synth({ notificationEmail: "ops@example.com" });
    const s = statements(t);
    t.resourceCountIs("AWS::SNS::Topic", 1);
    t.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "ops@example.com" });
    t.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    assert.deepEqual(s.get("PublishFailures")?.Action, "sns:Publish");
    const topicId = Object.keys(t.findResources("AWS::SNS::Topic"))[0];
    assert.deepEqual(s.get("PublishFailures")?.Resource, { Ref: topicId });
    assert.equal(s.get("DenyOtherTopics")?.Effect, "Deny");
    assert.deepEqual(s.get("DenyOtherTopics")?.NotResource, { Ref: topicId });
    // The topic is encrypted with the stack's key: publishing may use it, via SNS only.
    const keyId = Object.keys(t.findResources("AWS::KMS::Key"))[0];
    const topicKey = s.get("UseTheTopicKey") as (Statement & { Condition?: unknown }) | undefined;
    assert.deepEqual(topicKey?.Action, ["kms:Decrypt", "kms:GenerateDataKey"]);
    assert.deepEqual(topicKey?.Resource, { "Fn::GetAtt": [keyId, "Arn"] });
    assert.deepEqual(topicKey?.Condition, { StringEquals: { "kms:ViaService": "sns.eu-west-1.amazonaws.com" } });
    const key = Object.values(t.findResources("AWS::KMS::Key"))[0] as { Properties: { KeyPolicy: { Statement: { Principal: unknown }[] } } };
    assert.ok(key.Properties.KeyPolicy.Statement.some((st) => JSON.stringify(st.Principal) === JSON.stringify({ Service: "cloudwatch.amazonaws.com" })));
    t.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp("FailureTopic") })] });
    t.hasOutput("TopicArn", {});
  });

  test("a separate environment key encrypts the function's environment", () => {
    const t = synth({ separateEnvironmentKey: true });
    t.resourceCountIs("AWS::KMS::Key", 2);
    t.hasResourceProperties("AWS::KMS::Alias", { AliasName: "alias/hybrid-aws-secrets-lambda-environment-key" });
    t.hasResourceProperties("AWS::Lambda::Function", { KmsKeyArn: Match.anyValue() });
    const s = statements(t);
    assert.deepEqual(s.get("DecryptEnvironment")?.Action, "kms:Decrypt");
    // Both keys are spared by the deny of other keys.
    const keyIds = Object.keys(t.findResources("AWS::KMS::Key")).sort();
    const spared = (s.get("DenyOtherKeys")?.NotResource as { "Fn::GetAtt": [string, string] }[]).map((r) => r["Fn::GetAtt"][0]).sort();
    assert.deepEqual(spared, keyIds);
  });

  test("VPC settings attach the function to the given subnets and security groups", () => {
    const t = synth({ vpc: { vpcId: "vpc-123", availabilityZones: ["eu-west-1a"], privateSubnetIds: ["subnet-1"], securityGroupIds: ["sg-0123456789abcdef0"] } });
    t.hasResourceProperties("AWS::Lambda::Function", { VpcConfig: { SubnetIds: ["subnet-1"], SecurityGroupIds: ["sg-0123456789abcdef0"] } });
    assert.ok(statements(t).has("ManageVpcNetworkInterfaces"));
  });

  test("a custom prefix scopes every secret ARN and the key alias", () => {
    const t = synth({ secretsPrefix: "team-a" });
    const s = statements(t);
    assert.match(JSON.stringify(s.get("WriteReplicatedSecretsUnderPrefix")?.Resource), /secret:team-a\/\*/);
    t.hasResourceProperties("AWS::KMS::Alias", { AliasName: "alias/team-a-encryption-key" });
  });

  test("AWS IAM auth: the connection secret holds no credential", () => {
    const t = synth({ vaultAuthMethod: "aws", vaultAuthRole: "replicator" });
    t.hasResourceProperties("AWS::SecretsManager::Secret", {
      SecretString: JSON.stringify({ vaultAddress: "https://vault.example.com:8200", auth: { method: "aws", role: "replicator" } }),
    });
  });
});

describe("CDK settings from context", () => {
  const ctx = (values: Record<string, unknown>) => settingsFromContext((k) => values[k]);
  test("defaults are the reference sample's", () => {
    const s = ctx({});
    assert.equal(s.secretsPrefix, "hybrid-aws-secrets");
    assert.equal(s.notificationEmail, "");
    assert.equal(s.lambdaCronSchedule, "cron(0,30 * * * ? *)");
  });
  test("bad values name the key", () => {
    assert.throws(() => ctx({ lambdaCronSchedule: "every 5 minutes" }), /context lambdaCronSchedule: expected cron\(\.\.\.\) or rate\(\.\.\.\)/);
    assert.throws(() => ctx({ vaultAuthMethod: "ldap" }), /context vaultAuthMethod/);
    assert.throws(() => ctx({ notificationEmail: "nope" }), /context notificationEmail/);
    assert.throws(() => ctx({ vpcId: "vpc-1" }), /needs subnetIds and availabilityZones/);
    assert.throws(() => ctx({ timeoutSeconds: "-3" }), /context timeoutSeconds/);
  });
  test("lists from comma-separated strings", () => {
    const s = ctx({ vpcId: "vpc-1", subnetIds: "subnet-a, subnet-b", availabilityZones: "eu-west-1a,eu-west-1b" });
    assert.deepEqual(s.vpc?.privateSubnetIds, ["subnet-a", "subnet-b"]);
  });
});

describe("iam-policy (JSON for deployments without the CDK)", () => {
  test("the same statements as the stack, with concrete ARNs", async () => {
    const { iamPolicy } = await import("../../src/destinations/aws-secrets-manager/iam-policy.js");
    const policy = iamPolicy({
      region: "eu-west-1",
      account: "123456789012",
      scopes: [
        {
          prefix: "hybrid-aws-secrets",
          kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
          replicas: [],
          lifecycle: { delete: false, restore: false, tagOrphans: false },
          resourcePolicy: false,
          valueReads: false,
        },
      ],
      snsTopicArns: ["arn:aws:sns:eu-west-1:123456789012:t"],
      // The stack's topic is encrypted with its key.
      snsTopicKmsKeyIds: ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
      connectionSecretName: "hybrid-aws-secrets/vault-connection-secret",
    });
    const bySid = new Map(policy.Statement.map((s) => [s.Sid, s]));
    const stack = statements(synth({ notificationEmail: "ops@example.com" }));
    const sids = (m: Map<string, unknown>) => [...m.keys()].filter((k) => k !== "WriteLogs").sort();
    assert.deepEqual(sids(bySid), sids(stack));
    for (const sid of bySid.keys()) {
      assert.deepEqual(bySid.get(sid)?.Action, stack.get(sid)?.Action, sid);
      assert.equal(bySid.get(sid)?.Effect, stack.get(sid)?.Effect, sid);
    }
    assert.equal(bySid.get("WriteReplicatedSecretsUnderPrefix")?.Resource, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hybrid-aws-secrets/*");
    assert.equal(bySid.get("ReadConnectionSecret")?.Resource, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hybrid-aws-secrets/vault-connection-secret-??????");
  });
});
