// Assertions on the synthesized CloudFormation template: every IAM statement, each explicit deny,
// the key, the schedule, the connection secret's encryption, the topic only with an email.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { deployConfigFromFile, deployConfigFromShortcuts, PACKAGED_CA, PACKAGED_CONFIG, type DeployConfig } from "../../infra/config.js";
import { configFromFileText } from "../../src/config/load.js";
import { SyncError } from "../../src/core/errors.js";
import { main } from "../../src/runtime/cli/main.js";
import { repoRoot } from "../helpers/peers.js";
import { settingsFromContext } from "../../infra/settings.js";
import { DEFAULT_SETTINGS, SECRET_SCOPED_ACTIONS, SecretBridgeStack, type SecretBridgeSettings } from "../../infra/stack.js";

const code = mkdtempSync(join(tmpdir(), "sb-cdk-"));
writeFileSync(join(code, "index.mjs"), "export const handler = async () => ({});\n");

export function synth(overrides: Partial<SecretBridgeSettings> = {}, deploy?: DeployConfig, env: { account?: string; region?: string } | null = { account: "123456789012", region: "eu-west-1" }): Template {
  const app = new App();
  const settings = { ...DEFAULT_SETTINGS, ...overrides };
  const stack = new SecretBridgeStack(app, "Test", settings, deploy ?? deployConfigFromShortcuts(settings, { addressFromEnvironment: settings.deployDemoVault }), code, env ? { env } : {});
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
      "ConsumeRunQueue",
      "DecryptTheConnectionSecrets",
      "DenyOtherKeys",
      "DenySecretActionsOutsideThePrefix",
      "DenyWritingTheConnectionSecret",
      "ListSecretsForInventory",
      "QueueRunContinuation",
      "ReadConnectionSecret",
      "UseTheReplicationKeyByAlias",
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
      SecretString: JSON.stringify({ vaultToken: "" }),
    });
  });

  test("KMS: the replicated secrets use the stack's key by its alias, the connection secret by ARN; deny on others; rotation on", () => {
    const use = s.get("UseTheReplicationKeyByAlias") as (Statement & { Condition?: unknown }) | undefined;
    assert.deepEqual(use?.Action, ["kms:Decrypt", "kms:GenerateDataKey"]);
    assert.deepEqual(use?.Resource, { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":kms:eu-west-1:123456789012:key/*"]] });
    assert.deepEqual(use?.Condition, {
      StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" },
      "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/hybrid-aws-secrets-encryption-key" },
    });
    const keyId = Object.keys(t.findResources("AWS::KMS::Key"))[0];
    const connection = s.get("DecryptTheConnectionSecrets") as (Statement & { Condition?: unknown }) | undefined;
    assert.deepEqual(connection?.Action, "kms:Decrypt");
    assert.deepEqual(connection?.Resource, { "Fn::GetAtt": [keyId, "Arn"] });
    const deny = s.get("DenyOtherKeys") as (Statement & { Condition?: unknown }) | undefined;
    assert.equal(deny?.Effect, "Deny");
    assert.equal(deny?.Action, "kms:*");
    assert.deepEqual(deny?.NotResource, { "Fn::GetAtt": [keyId, "Arn"] });
    assert.deepEqual(deny?.Condition, { "ForAllValues:StringNotEquals": { "kms:ResourceAliases": "alias/hybrid-aws-secrets-encryption-key" } });
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

  test("schedule: the reference sample's cron, queueing a full sync in the run queue's one message group", () => {
    const queues = t.findResources("AWS::SQS::Queue");
    const id = (prefix: string) => Object.keys(queues).find((k) => k.startsWith(prefix)) ?? "";
    t.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0,30 * * * ? *)",
      Targets: [
        Match.objectLike({
          Arn: { "Fn::GetAtt": [id("RunQueue"), "Arn"] },
          SqsParameters: { MessageGroupId: "secretbridge-runs" },
          InputTransformer: { InputPathsMap: { time: "$.time" }, InputTemplate: '{"secretbridge":"scheduled","time":<time>}' },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [id("ScheduleDeadLetterQueue"), "Arn"] } },
        }),
      ],
    });
    // FIFO, one group: one run at a time, in order; a batch the worker could not finish comes back
    // after 6 function timeouts, and after 3 tries goes to the dead-letter queue.
    t.hasResourceProperties("AWS::SQS::Queue", {
      FifoQueue: true,
      ContentBasedDeduplication: true,
      VisibilityTimeout: 1800,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [id("RunDeadLetterQueue"), "Arn"] }, maxReceiveCount: 3 },
    });
    t.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [id("RunQueue"), "Arn"] },
      FunctionName: { Ref: Match.stringLikeRegexp("ReplicationFunction") },
      BatchSize: 10,
    });
    assert.deepEqual(statements(t).get("ConsumeRunQueue")?.Resource, { "Fn::GetAtt": [id("RunQueue"), "Arn"] });
  });

  test("continuation: the worker may send only to its own run queue, and knows the queue and its bound", () => {
    const runQueue = Object.keys(t.findResources("AWS::SQS::Queue")).find((k) => k.startsWith("RunQueue")) ?? "";
    const sends = [...s.values()].filter((st) => [st.Action].flat().some((a) => a.startsWith("sqs:Send")));
    assert.deepEqual(sends, [{ Sid: "QueueRunContinuation", Effect: "Allow", Action: "sqs:SendMessage", Resource: { "Fn::GetAtt": [runQueue, "Arn"] } }]);
    t.hasResourceProperties("AWS::Lambda::Function", {
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: Match.objectLike({ SECRETBRIDGE_QUEUE_URL: { Ref: runQueue }, SECRETBRIDGE_MAX_CONTINUATIONS: "24" }) },
    });
    // Each hop is counted, with the writes it left, from the worker's summary line.
    t.hasResourceProperties("AWS::Logs::MetricFilter", {
      FilterPattern: '{ ($.msg = "secretbridge run summary") && ($.summary.continuation.next = "queued") }',
      MetricTransformations: [{ MetricNamespace: "secretbridge/Test", MetricName: "ContinuedRuns", MetricValue: "1" }],
    });
    t.hasResourceProperties("AWS::Logs::MetricFilter", {
      FilterPattern: '{ ($.msg = "secretbridge run summary") && ($.summary.continuation.remaining >= 0) }',
      MetricTransformations: [{ MetricNamespace: "secretbridge/Test", MetricName: "WritesLeft", MetricValue: "$.summary.continuation.remaining" }],
    });
    const bounded = synth({ maxContinuations: 0 });
    bounded.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ SECRETBRIDGE_MAX_CONTINUATIONS: "0" }) } });
  });

  test("the push admission function may send to the run queue too, and nothing else may", () => {
    const pushed = synth({ pushEndpoint: true });
    const senders = Object.values(pushed.findResources("AWS::IAM::Policy")).flatMap((p) =>
      ((p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement ?? []).filter((st) => [st.Action].flat().includes("sqs:SendMessage")).map((st) => st.Sid),
    );
    assert.deepEqual(senders.sort(), ["QueueRunContinuation", "QueueRuns"]);
  });

  test("function: Node 22, one run at a time, no async retries, environment, log retention", () => {
    t.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs22.x",
      ReservedConcurrentExecutions: 1,
      // The heap bounded to half the function's memory (512 MB by default).
      Environment: { Variables: { CONNECTION_SECRET_NAME: "hybrid-aws-secrets/vault-connection-secret", NODE_OPTIONS: "--enable-source-maps --max-old-space-size=256" } },
    });
    synth({ memoryMb: 2048 }).hasResourceProperties("AWS::Lambda::Function", {
      MemorySize: 2048,
      Environment: { Variables: { NODE_OPTIONS: "--enable-source-maps --max-old-space-size=1024" } },
    });
    t.hasResourceProperties("AWS::Lambda::EventInvokeConfig", { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 3600 });
    t.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 90 });
    t.resourceCountIs("AWS::Lambda::Url", 0);
  });

  test("no topic and no SNS permissions without an email; alarms on failed, crashed, delayed, dropped and undelivered runs", () => {
    t.resourceCountIs("AWS::SNS::Topic", 0);
    assert.ok(![...s.keys()].some((k) => k.includes("Topic") || k.includes("Publish")));
    // A failed run is counted from the worker's summary line (src/runtime/lambda/run.ts logSummary).
    t.hasResourceProperties("AWS::Logs::MetricFilter", {
      FilterPattern: '{ ($.msg = "secretbridge run summary") && ($.summary.exitCode > 0) }',
      MetricTransformations: [{ MetricNamespace: "secretbridge/Test", MetricName: "FailedRuns", MetricValue: "1" }],
    });
    const alarms = Object.values(t.findResources("AWS::CloudWatch::Alarm")).map((a) => (a as { Properties: { Namespace: string; MetricName: string; Threshold: number } }).Properties);
    assert.deepEqual(
      alarms.map((a) => [a.Namespace, a.MetricName, a.Threshold]).sort(),
      [
        ["AWS/Events", "FailedInvocations", 1],
        ["AWS/Lambda", "Errors", 1],
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", 660],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", 1],
        ["secretbridge/Test", "FailedRuns", 1],
      ],
    );
  });

  test("outputs", () => {
    const outputs = Object.keys(t.toJSON().Outputs as object).sort();
    assert.deepEqual(outputs, ["ConnectionSecretName", "FunctionName", "FunctionRoleArn", "KeyArn", "LogGroupName", "RunQueueUrl"]);
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
    t.hasResourceProperties("AWS::Lambda::Function", {
      VpcConfig: { SubnetIds: ["subnet-1"], SecurityGroupIds: [{ "Fn::GetAtt": [Match.stringLikeRegexp("FunctionSecurityGroup"), "GroupId"] }, "sg-0123456789abcdef0"] },
    });
    assert.ok(statements(t).has("ManageVpcNetworkInterfaces"));
    t.resourceCountIs("AWS::EC2::VPCEndpoint", 0);
  });

  test("a stack in one Region writing to another: its own secrets, key and queue are the stack's Region, the replicated secrets the config's", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-region-"));
    const path = join(dir, "cross.yaml");
    writeFileSync(path, "name: cross\nsource: { mount: kv }\ndestination: { prefix: apps, region: eu-west-1 }\n");
    const t = synth({ pushEndpoint: true }, deployConfigFromFile(path), { account: "123456789012", region: "ap-southeast-2" });
    const s = statements(t);
    const text = (sid: string) => JSON.stringify(s.get(sid));
    assert.match(text("ReadConnectionSecret"), /:secretsmanager:ap-southeast-2:123456789012:secret:hybrid-aws-secrets\/vault-connection-secret-\?{6}/);
    assert.doesNotMatch(text("ReadConnectionSecret"), /eu-west-1/);
    assert.match(text("DecryptTheConnectionSecrets"), /secretsmanager\.ap-southeast-2\.amazonaws\.com/);
    assert.match(text("WriteReplicatedSecretsUnderPrefix"), /:secretsmanager:eu-west-1:123456789012:secret:apps\/\*/);
    assert.doesNotMatch(text("WriteReplicatedSecretsUnderPrefix"), /ap-southeast-2/);
    // The deny outside the prefixes must not shut out the stack's own connection secret.
    assert.match(JSON.stringify(s.get("DenySecretActionsOutsideThePrefix")?.NotResource), /ap-southeast-2:123456789012:secret:hybrid-aws-secrets\/vault-connection-secret/);
    // The key policy and the admission function use the stack's Region too.
    assert.doesNotMatch(JSON.stringify(t.findResources("AWS::KMS::Key")), /eu-west-1/);
    assert.match(JSON.stringify(t.findResources("AWS::IAM::Policy")), /"kms:ViaService":"secretsmanager\.ap-southeast-2\.amazonaws\.com"/);
  });

  test("a custom prefix scopes every secret ARN and the key alias", () => {
    const t = synth({ secretsPrefix: "team-a" });
    const s = statements(t);
    assert.match(JSON.stringify(s.get("WriteReplicatedSecretsUnderPrefix")?.Resource), /secret:team-a\/\*/);
    t.hasResourceProperties("AWS::KMS::Alias", { AliasName: "alias/team-a-encryption-key" });
  });

  test("AWS IAM auth: the connection secret holds no credential, the packaged config names the role", () => {
    const settings = { ...DEFAULT_SETTINGS, vaultAuthMethod: "aws" as const, vaultAuthRole: "replicator" };
    const t = synth(settings);
    t.hasResourceProperties("AWS::SecretsManager::Secret", { SecretString: "{}" });
    const packaged = deployConfigFromShortcuts(settings).config;
    assert.deepEqual(packaged.source.auth, { method: "aws", role: "replicator", mountPath: "aws" });
    assert.equal(packaged.source.address, "https://vault.example.com:8200");
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
    assert.throws(() => ctx({ maxContinuations: "-1" }), /^Error: context maxContinuations: expected a whole number from 0 to 1000$/);
    assert.throws(() => ctx({ maxContinuations: "2.5" }), /^Error: context maxContinuations: expected a whole number from 0 to 1000$/);
  });
  test("maxContinuations: 24 by default, 0 turns continuations off", () => {
    assert.equal(ctx({}).maxContinuations, 24);
    assert.equal(ctx({ maxContinuations: "0" }).maxContinuations, 0);
  });
  test("lists from comma-separated strings", () => {
    const s = ctx({ vpcId: "vpc-1", subnetIds: "subnet-a, subnet-b", availabilityZones: "eu-west-1a,eu-west-1b" });
    assert.deepEqual(s.vpc?.privateSubnetIds, ["subnet-a", "subnet-b"]);
  });
});

const SSM_KEY = "arn:aws:kms:eu-west-1:123456789012:key/5555abcd-12ab-34cd-56ef-1234567890ab";

/** Configs the stack is synthesized from below: the examples and two that use most of the schema. */
const stackConfigDir = mkdtempSync(join(tmpdir(), "sb-iam-eq-"));
const stackConfigFile = (name: string, text: string) => {
  const path = join(stackConfigDir, name);
  writeFileSync(path, text);
  return path;
};
const stackConfigs: [string, string][] = [
  ["the two-mapping example", join(repoRoot, "examples", "multi-mapping.yaml")],
  ["the walkthrough example", join(repoRoot, "examples", "secretbridge.yaml")],
  [
    "deletion, replicas, a resource policy, adopt-if-equal and a topic",
    stackConfigFile(
      "full.yaml",
      [
        "name: full",
        "source: { mount: kv }",
        "destination:",
        "  prefix: apps",
        "  kmsKeyId: arn:aws:kms:eu-west-1:123456789012:key/0000abcd-12ab-34cd-56ef-1234567890ab",
        "  replicaRegions: [{ region: eu-central-1, kmsKeyId: alias/replica-key }]",
        '  resourcePolicy: { Version: "2012-10-17", Statement: [] }',
        "policies: { deletion: { strategy: delete }, onConflict: adopt-if-equal }",
        "notifications: { sns: { topicArn: arn:aws:sns:eu-west-1:123456789012:ops } }",
        "",
      ].join("\n"),
    ),
  ],
  [
    "per-mapping policies, KV v1 and the AWS managed key",
    stackConfigFile(
      "mixed.yaml",
      ["name: mixed", "source: { kvVersion: 1 }", "mappings:", "  - { mount: a, prefix: team-a, policies: { deletion: { strategy: tag } } }", "  - { mount: b, prefix: team-b, kmsKeyId: alias/aws/secretsmanager }", ""].join("\n"),
    ),
  ],
  [
    "a Parameter Store destination with a customer managed key",
    stackConfigFile(
      "ssm.yaml",
      ["name: params", "source: { mount: kv }", "destination:", "  type: aws-ssm-parameter-store", "  prefix: apps", `  kmsKeyId: ${SSM_KEY}`, "policies: { deletion: { strategy: delete } }", ""].join("\n"),
    ),
  ],
];

describe("CDK stack for a Parameter Store config", () => {
  const s = statements(synth({}, deployConfigFromFile(stackConfigs.find(([what]) => what.startsWith("a Parameter Store"))?.[1] ?? "")));
  const parameters = { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":ssm:eu-west-1:123456789012:parameter/apps/*"]] };

  test("its FunctionPolicy has the ssm actions on the prefix ARN, the key via ssm, and no Secrets Manager write", () => {
    assert.deepEqual(s.get("ListParameters"), { Sid: "ListParameters", Effect: "Allow", Action: "ssm:DescribeParameters", Resource: "*" });
    assert.deepEqual(s.get("WriteParametersUnderThePrefix"), {
      Sid: "WriteParametersUnderThePrefix",
      Effect: "Allow",
      Action: ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource", "ssm:GetParameterHistory", "ssm:DeleteParameter"],
      Resource: parameters,
    });
    assert.deepEqual(s.get("UseTheParameterKeyThroughParameterStore")?.Resource, SSM_KEY);
    const secretsManagerAllows = [...s.values()].filter((st) => st.Effect === "Allow").flatMap((st) => ([] as string[]).concat(st.Action)).filter((a) => a.startsWith("secretsmanager:"));
    assert.deepEqual(secretsManagerAllows, ["secretsmanager:GetSecretValue"], "only the connection secret is read");
    assert.equal(s.get("ListSecretsForInventory"), undefined);
    assert.equal(s.get("WriteReplicatedSecretsUnderPrefix"), undefined);
  });
});

describe("the stack's IAM is `iam-policy -c` of the same config file", () => {
  const KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

  /** The template's intrinsics, with the one deploy-time value (the stack key's ARN) given. */
  function concrete(value: unknown, keyId: string): unknown {
    if (Array.isArray(value)) return value.map((v) => concrete(v, keyId));
    if (typeof value !== "object" || value === null) return value;
    const o = value as Record<string, unknown>;
    if (o.Ref === "AWS::Partition") return "aws";
    if (Array.isArray(o["Fn::GetAtt"]) && o["Fn::GetAtt"][0] === keyId) return KEY;
    if (Array.isArray(o["Fn::Join"])) return ((o["Fn::Join"][1] as unknown[]).map((v) => concrete(v, keyId)) as string[]).join(o["Fn::Join"][0] as string);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, concrete(v, keyId)]));
  }

  for (const [what, path] of stackConfigs) {
    test(what, async () => {
      const t = synth({}, deployConfigFromFile(path));
      const keyId = Object.keys(t.findResources("AWS::KMS::Key"))[0] ?? "";
      const policy = Object.values(t.findResources("AWS::IAM::Policy"))[0] as { Properties: { PolicyDocument: { Statement: Statement[] } } };
      // What only the Lambda needs: its log group and its run queue (and ENIs in a VPC).
      const fromStack = (concrete(policy.Properties.PolicyDocument.Statement, keyId) as Statement[]).filter((st) => !["WriteLogs", "ConsumeRunQueue", "QueueRunContinuation"].includes(st.Sid));

      const out: string[] = [];
      const code = await main(
        ["iam-policy", "-c", path, "--account", "123456789012", "--region", "eu-west-1", "--connection-secret", "hybrid-aws-secrets/vault-connection-secret", "--connection-secret-key", KEY],
        { env: {}, output: { out: (text) => out.push(text), err: (text) => out.push(text) } },
      );
      assert.equal(code, 0, out.join(""));
      const fromCli = (JSON.parse(out.join("")) as { Statement: Statement[] }).Statement;
      // CloudFormation lists one-element arrays as scalars; so does iam-policy. The order inside a
      // list means nothing to IAM, and the key's ARN sorts differently as a token at synth.
      const sorted = (v: unknown): unknown =>
        Array.isArray(v) ? (v.every((x) => typeof x === "string") ? [...(v as string[])].sort() : v.map(sorted)) : typeof v === "object" && v !== null ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sorted(x)])) : v;
      assert.deepEqual(sorted(fromStack), sorted(fromCli));
    });
  }

  test("synth without an account or Region: no us-east-1 and no account id in the policy users copy", () => {
    // The configs that name a key ARN carry its account id themselves.
    for (const [, path] of stackConfigs.filter(([w]) => w !== "deletion, replicas, a resource policy, adopt-if-equal and a topic" && w !== "a Parameter Store destination with a customer managed key")) {
      const t = synth({}, deployConfigFromFile(path), null);
      const text = JSON.stringify(Object.values(t.findResources("AWS::IAM::Policy")));
      assert.ok(!text.includes("us-east-1"), path);
      assert.ok(!/\d{12}/.test(text), path);
      assert.match(text, /AWS::AccountId/);
    }
  });
});

describe("the deploy config (what the function runs)", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-deploy-"));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  test("settings the Lambda cannot honour are refused by key", () => {
    const cases: [string, RegExp][] = [
      ["source: { mount: kv, token: s.abc }", /source.token: a token in the file would be packaged/],
      ["source: { mount: kv, tokenFile: /run/t }", /source.tokenFile: the function reads its token from the connection secret/],
      ["source: { mount: kv, auth: { method: approle, roleId: r, secretIdFile: sid } }", /source.auth.secretIdFile/],
      ["source: { mount: kv }\ndestination: { profile: prod }", /destination.profile/],
      ["source: { mount: kv, kvVersion: 3 }", /source.kvVersion: must be 1, 2 or auto/],
    ];
    for (const [yaml, message] of cases) {
      const path = write("bad.yaml", `name: bad\n${yaml}\n`);
      assert.throws(() => deployConfigFromFile(path), (e: unknown) => e instanceof SyncError && e.errorClass === "config-invalid" && message.test(e.message), yaml);
    }
    assert.throws(() => deployConfigFromFile(join(dir, "missing.yaml")), /context configFile: cannot read .*missing.yaml: ENOENT/);
  });

  test("a CA next to the config is packaged beside it, and the packaged text names the packaged copy (comments dropped)", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    writeFileSync(join(dir, "corp-ca.pem"), pem);
    const path = write("tls.yaml", "name: tls\n# our private CA\nsource:\n  mount: kv\n  tls:\n    caCertFile: corp-ca.pem\n");
    const deploy = deployConfigFromFile(path);
    assert.equal(deploy.files[PACKAGED_CA], pem);
    assert.doesNotMatch(deploy.files[PACKAGED_CONFIG] ?? "", /# our private CA/);
    assert.match(deploy.files[PACKAGED_CONFIG] ?? "", /caCertFile: vault-ca.pem/);
    const packaged = mkdtempSync(join(tmpdir(), "sb-pkg-"));
    writeFileSync(join(packaged, PACKAGED_CONFIG), deploy.files[PACKAGED_CONFIG] ?? "");
    assert.equal(configFromFileText(deploy.files[PACKAGED_CONFIG] ?? "", join(packaged, PACKAGED_CONFIG)).source.tls?.caCertFile, join(packaged, PACKAGED_CA));
    const missing = write("tls2.yaml", "name: tls\nsource:\n  mount: kv\n  tls:\n    caCertFile: nope.pem\n");
    assert.throws(() => deployConfigFromFile(missing), /source.tls.caCertFile: cannot read .*nope.pem: ENOENT/);
  });

  test("the context shortcuts write a config the CLI's loader accepts, with the stack's key by alias", () => {
    const deploy = deployConfigFromShortcuts({ ...DEFAULT_SETTINGS, secretsPrefix: "team-a", vaultMount: "kv", vaultPath: "prod" });
    const again = configFromFileText(deploy.files[PACKAGED_CONFIG] ?? "", "x.yaml");
    assert.equal(again.destination.kmsKeyId, "alias/team-a-encryption-key");
    assert.equal(again.source.mount, "kv");
    assert.equal(again.source.path, "prod");
    assert.throws(() => deployConfigFromShortcuts({ ...DEFAULT_SETTINGS, vaultAuthMethod: "approle" }), /context vaultAuthRole: AppRole needs the role id/);
  });
});

/** What ships: the function's package as the synthesized cloud assembly holds it (what `cdk deploy` uploads). */
function shipped(deploy: DeployConfig): Record<string, string> {
  const app = new App({ context: { "aws:cdk:enable-asset-metadata": true } });
  new SecretBridgeStack(app, "Shipped", DEFAULT_SETTINGS, deploy, code, { env: { account: "123456789012", region: "eu-west-1" } });
  const assembly = app.synth();
  const { Resources } = assembly.getStackByName("Shipped").template as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };
  const fn = Object.values(Resources).find((r) => r.Type === "AWS::Lambda::Function");
  const dir = join(assembly.directory, fn?.Metadata?.["aws:asset:path"] ?? "no-asset-path");
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), "utf8")]));
}

describe("credentials never ship in the function's package", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-ship-"));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const CANARY = `CANARY-ship-${Math.random().toString(36).slice(2)}`;
  const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const leaks = (files: Record<string, string>) => Object.keys(files).filter((name) => files[name]?.includes(CANARY));

  /** Synth refuses the file with `message`; had it accepted it, the failure names the packaged files holding the credential. */
  function assertRefused(path: string, message: RegExp): void {
    let deploy: DeployConfig;
    try {
      deploy = deployConfigFromFile(path);
    } catch (error) {
      assert.ok(error instanceof SyncError && error.errorClass === "config-invalid", String(error));
      assert.match(error.message, message);
      assert.ok(!error.message.includes(CANARY), "the refusal never echoes the credential");
      return;
    }
    assert.fail(`synth accepted ${path}; the package ships the credential in ${JSON.stringify(leaks(shipped(deploy)))}`);
  }

  test("a credential header written in the file is refused at synth", () => {
    const path = write(
      "header.yaml",
      ["name: hdr", "source: { mount: kv }", "notifications:", "  webhook:", "    url: https://hooks.example.com/secretbridge", `    headers: { X-Team: ops, Authorization: "Bearer ${CANARY}" }`, ""].join("\n"),
    );
    assertRefused(
      path,
      /header\.yaml cannot run in the Lambda:\n {2}- notifications\.webhook\.headers\.Authorization: a credential header with its value in the file, which would be packaged into the function's code; name an environment variable in notifications\.webhook\.headersFromEnv instead and put the value in the connection secret's notifyEnv$/,
    );
  });

  test("a credential in the webhook URL's query string is refused at synth", () => {
    const path = write("query.yaml", ["name: query", "source: { mount: kv }", "notifications:", "  webhook:", `    url: https://hooks.example.com/secretbridge?channel=ops&token=${CANARY}`, ""].join("\n"));
    assertRefused(
      path,
      /query\.yaml cannot run in the Lambda:\n {2}- notifications\.webhook\.url: query parameter "token" looks like a credential, which would be packaged into the function's code; name an environment variable in notifications\.webhook\.queryFromEnv instead and put the value in the connection secret's notifyEnv$/,
    );
  });

  test("a CA file that also holds a private key is refused at synth, naming the key and the file", () => {
    write("ca-and-key.pem", `${CERT}-----BEGIN EC PRIVATE KEY-----\n${CANARY}\n-----END EC PRIVATE KEY-----\n`);
    const path = write("ca-key.yaml", ["name: cakey", "source:", "  mount: kv", "  tls: { caCertFile: ca-and-key.pem }", ""].join("\n"));
    assertRefused(
      path,
      /ca-key\.yaml: source\.tls\.caCertFile: .*ca-and-key\.pem holds a private key \(EC PRIVATE KEY\), which would be packaged into the function's code; point caCertFile at a file with the CA certificate only$/,
    );
  });

  test("comments are not packaged: the package holds the validated config, serialised", () => {
    const path = write("commented.yaml", ["name: commented", "source:", "  mount: kv", `  # token: ${CANARY}   (the old one, kept for later)`, "destination: { prefix: apps } # eu-west-1", ""].join("\n"));
    const deploy = deployConfigFromFile(path);
    const files = shipped(deploy);
    assert.deepEqual(leaks(files), []);
    assert.equal(files[PACKAGED_CONFIG], deploy.files[PACKAGED_CONFIG]);
    assert.doesNotMatch(files[PACKAGED_CONFIG] ?? "", /#/);
    assert.deepEqual(configFromFileText(files[PACKAGED_CONFIG] ?? "", join(dir, "pkg", PACKAGED_CONFIG)), deploy.config);
  });

  test("headers and query parameters named by environment variable ship as the variables' names only", () => {
    const path = write(
      "from-env.yaml",
      [
        "name: from-env",
        "source: { mount: kv }",
        "notifications:",
        "  webhook:",
        "    url: https://hooks.example.com/secretbridge?channel=ops",
        "    headers: { X-Team: ops }",
        "    headersFromEnv: { Authorization: HOOK_AUTH }",
        "    queryFromEnv: { token: HOOK_TOKEN }",
        "",
      ].join("\n"),
    );
    const deploy = deployConfigFromFile(path);
    assert.deepEqual(deploy.config.notifications.webhook?.headersFromEnv, { Authorization: "HOOK_AUTH" });
    assert.deepEqual(deploy.config.notifications.webhook?.queryFromEnv, { token: "HOOK_TOKEN" });
    const packaged = shipped(deploy)[PACKAGED_CONFIG] ?? "";
    assert.deepEqual(configFromFileText(packaged, join(dir, "pkg", PACKAGED_CONFIG)).notifications.webhook, deploy.config.notifications.webhook);
  });

  test("every config loads back from its package as it was validated (the CA path names the packaged copy), with no comment", () => {
    writeFileSync(join(dir, "corp-ca.pem"), CERT);
    const configs = [
      ...stackConfigs.map(([, path]) => path),
      write("tls.yaml", ["name: tls", "# our private CA", "source:", "  mount: kv", "  tls:", "    caCertFile: corp-ca.pem", "    serverName: vault.internal", ""].join("\n")),
      write(
        "webhook.yaml",
        ["name: hook", "source: { mount: kv, auth: { method: approle, roleId: '0123' } }", "notifications:", "  webhook: { url: 'https://hooks.example.com/x?channel=ops', headersFromEnv: { X-Api-Key: HOOK_KEY }, signingSecretEnv: HOOK_SIGNING }", ""].join("\n"),
      ),
    ];
    const packages: [string, () => DeployConfig][] = [
      ...configs.map((path): [string, () => DeployConfig] => [path, () => deployConfigFromFile(path)]),
      ["context shortcuts", () => deployConfigFromShortcuts({ ...DEFAULT_SETTINGS, vaultMount: "kv", vaultPath: "prod", vaultNamespace: "team-a" })],
      ["context shortcuts, AWS IAM", () => deployConfigFromShortcuts({ ...DEFAULT_SETTINGS, vaultAuthMethod: "aws", vaultAuthRole: "replicator", vaultIamServerIdHeader: "vault.internal" })],
    ];
    for (const [what, make] of packages) {
      const deploy = make();
      const packaged = deploy.files[PACKAGED_CONFIG] ?? "";
      assert.doesNotMatch(packaged, /^\s*#/m, `${what}: a comment is packaged`);
      const at = join(dir, "pkg", PACKAGED_CONFIG);
      const ca = deploy.config.source.tls?.caCertFile;
      const expected = ca ? { ...deploy.config, source: { ...deploy.config.source, tls: { ...deploy.config.source.tls, caCertFile: join(dir, "pkg", PACKAGED_CA) } } } : deploy.config;
      assert.deepEqual(configFromFileText(packaged, at), expected, what);
    }
  });
});

describe("push endpoint, VPC endpoints and the demo server", () => {
  test("pushEndpoint: a public function URL on an admission function that can only read the signing key and queue runs", () => {
    const t = synth({ pushEndpoint: true });
    const functions = t.findResources("AWS::Lambda::Function");
    const admissionId = Object.keys(functions).find((k) => k.startsWith("PushAdmissionFunction")) ?? "";
    t.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE", TargetFunctionArn: { "Fn::GetAtt": [admissionId, "Arn"] } });
    t.resourceCountIs("AWS::Lambda::Url", 1);
    t.hasResourceProperties("AWS::SecretsManager::Secret", {
      Name: "hybrid-aws-secrets/webhook-signing-key",
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true },
      KmsKeyId: { "Fn::GetAtt": [Match.stringLikeRegexp("SecretsKey"), "Arn"] },
    });
    const signing = Object.values(t.findResources("AWS::SecretsManager::Secret")).find((r) => (r as { Properties: { Name: string } }).Properties.Name.endsWith("webhook-signing-key")) as { Properties: Record<string, unknown> };
    assert.equal(signing.Properties.SecretString, undefined, "no key material in the template");
    const queueId = Object.keys(t.findResources("AWS::SQS::Queue")).find((k) => k.startsWith("RunQueue")) ?? "";
    t.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.admit",
      Environment: { Variables: { WEBHOOK_SECRET_NAME: "hybrid-aws-secrets/webhook-signing-key", SECRETBRIDGE_QUEUE_URL: { Ref: queueId }, NODE_OPTIONS: "--enable-source-maps" } },
      ReservedConcurrentExecutions: 10,
      Timeout: 10,
    });
    // The worker keeps its slot and never sees the signing key.
    t.hasResourceProperties("AWS::Lambda::Function", { Handler: "index.handler", ReservedConcurrentExecutions: 1, Environment: { Variables: Match.not(Match.objectLike({ WEBHOOK_SECRET_NAME: Match.anyValue() })) } });
    const policies = t.findResources("AWS::IAM::Policy");
    const admission = Object.entries(policies).find(([k]) => k.startsWith("PushAdmissionPolicy"))?.[1] as { Properties: { PolicyDocument: { Statement: (Statement & { Condition?: unknown })[] } } };
    const signingId = Object.keys(t.findResources("AWS::SecretsManager::Secret")).find((k) => k.startsWith("WebhookSigningSecret")) ?? "";
    const keyId = Object.keys(t.findResources("AWS::KMS::Key"))[0] ?? "";
    assert.deepEqual(
      admission.Properties.PolicyDocument.Statement.map((st) => [st.Sid, st.Action, st.Resource, st.Condition]).filter(([sid]) => sid !== "WriteLogs"),
      [
        ["ReadSigningKey", "secretsmanager:GetSecretValue", { Ref: signingId }, undefined],
        ["DecryptSigningKey", "kms:Decrypt", { "Fn::GetAtt": [keyId, "Arn"] }, { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } }],
        ["QueueRuns", "sqs:SendMessage", { "Fn::GetAtt": [queueId, "Arn"] }, undefined],
      ],
    );
    const worker = Object.entries(policies).find(([k]) => k.startsWith("FunctionPolicy"))?.[1] as { Properties: { PolicyDocument: { Statement: Statement[] } } };
    assert.ok(!JSON.stringify(worker.Properties.PolicyDocument).includes("webhook-signing-key"), "the worker cannot read the signing key");
    t.hasOutput("PushUrl", {});
    t.hasOutput("PushAdmissionFunctionName", {});
    t.hasOutput("WebhookSecretName", {});
  });

  test("vpcEndpoints: Secrets Manager, KMS, SNS and STS inside the VPC, reachable only from the function", () => {
    const t = synth({ vpcEndpoints: true, vpc: { vpcId: "vpc-123", availabilityZones: ["eu-west-1a"], privateSubnetIds: ["subnet-1"] } });
    t.resourceCountIs("AWS::EC2::VPCEndpoint", 4);
    const services = Object.values(t.findResources("AWS::EC2::VPCEndpoint")).map((r) => JSON.stringify((r as { Properties: { ServiceName: unknown } }).Properties.ServiceName));
    for (const service of ["secretsmanager", "kms", "sns", "sts"]) assert.ok(services.some((n) => n.includes(`.${service}`)), service);
    t.hasResourceProperties("AWS::EC2::VPCEndpoint", { PrivateDnsEnabled: true, SubnetIds: ["subnet-1"] });
    t.hasResourceProperties("AWS::EC2::SecurityGroupIngress", { FromPort: 443, ToPort: 443, SourceSecurityGroupId: { "Fn::GetAtt": [Match.stringLikeRegexp("FunctionSecurityGroup"), "GroupId"] } });
  });

  test("deployDemoVault: OpenBao on EC2 in its own VPC, private, wired as the source; the function in isolated subnets with endpoints", () => {
    const t = synth({ deployDemoVault: true });
    t.resourceCountIs("AWS::EC2::Instance", 1);
    t.resourceCountIs("AWS::EC2::NatGateway", 0);
    t.resourceCountIs("AWS::EC2::VPCEndpoint", 4);
    t.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ VAULT_ADDR: { "Fn::Join": ["", ["http://", { "Fn::GetAtt": [Match.stringLikeRegexp("DemoVault"), "PrivateIp"] }, ":8200"]] } }) },
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
    });
    const instance = Object.values(t.findResources("AWS::EC2::Instance"))[0] as { Properties: Record<string, unknown> };
    assert.equal(instance.Properties.KeyName, undefined);
    const ingress = Object.values(t.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>).flatMap((r) =>
      r.Type === "AWS::EC2::SecurityGroup" ? ((r.Properties.SecurityGroupIngress as unknown[] | undefined) ?? []) : r.Type === "AWS::EC2::SecurityGroupIngress" ? [r.Properties] : [],
    ) as { CidrIp?: string; FromPort?: number }[];
    assert.ok(ingress.length > 0);
    assert.ok(ingress.every((rule) => rule.CidrIp !== "0.0.0.0/0" && rule.FromPort !== 22), "nothing open to the internet, no SSH");
    const userData = JSON.stringify(instance.Properties.UserData);
    assert.match(userData, /MOUNT='hybrid-aws-secrets'/);
    assert.match(userData, /secrets enable -path=.*-version=2 kv/);
    assert.match(userData, /releases\/download\/v\d+\.\d+\.\d+\/openbao_/);
    // The packaged config has no address: it comes from the demo (env, then the connection secret).
    assert.equal(deployConfigFromShortcuts(DEFAULT_SETTINGS, { addressFromEnvironment: true }).config.source.address, undefined);
    t.hasOutput("DemoVaultInstanceId", {});
    // The server writes the connection secret through the same endpoints (private DNS covers the VPC).
    t.hasResourceProperties("AWS::EC2::SecurityGroupIngress", { FromPort: 443, SourceSecurityGroupId: { "Fn::GetAtt": [Match.stringLikeRegexp("DemoVault"), "GroupId"] } });

    const open = synth({ deployDemoVault: true, vaultInboundCidr: "198.51.100.0/24", demoKeyName: "ops" });
    open.hasResourceProperties("AWS::EC2::SecurityGroup", { SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: "198.51.100.0/24", FromPort: 8200, ToPort: 8200 })]) });
    open.hasResourceProperties("AWS::EC2::Instance", { KeyName: "ops" });
  });

  test("context: demo-only keys need the demo; flags are true or false", () => {
    const ctx = (values: Record<string, unknown>) => settingsFromContext((k) => values[k]);
    assert.throws(() => ctx({ vaultInboundCidr: "10.0.0.0/8" }), /context vaultInboundCidr: only used with deployDemoVault=true/);
    assert.throws(() => ctx({ pushEndpoint: "yes" }), /context pushEndpoint: expected true or false/);
    assert.throws(() => ctx({ deployDemoVault: "true", vpcId: "vpc-1", subnetIds: "s", availabilityZones: "a" }), /the demo creates its own VPC/);
    assert.equal(ctx({ pushEndpoint: "true", deployDemoVault: true }).pushEndpoint, true);
  });
});

describe("the Deploy on AWS page (docs/deploy-aws.md) names what the template holds", () => {
  const section = readFileSync(join(repoRoot, "docs", "deploy-aws.md"), "utf8");
  const t = synth({ pushEndpoint: true, notificationEmail: "ops@example.com", deployDemoVault: true });
  const template = t.toJSON() as { Outputs: Record<string, unknown>; Resources: Record<string, { Type: string }> };

  test("the outputs it lists are exactly the template's (every option on)", () => {
    const paragraph = section.slice(section.indexOf("Outputs:"), section.indexOf("\n\n", section.indexOf("Outputs:")));
    const named = [...paragraph.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(named)].sort(), Object.keys(template.Outputs).sort());
  });

  test("every resource of the 'What the stack creates' table is in the template, and every statement id it names is in a policy", () => {
    const table = section.slice(section.indexOf("## What the stack creates"), section.indexOf("**The role is the config's policy.**"));
    const ids = Object.keys(template.Resources);
    const named = [...table.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1] ?? "");
    assert.ok(named.length >= 12, `names found: ${named.join(", ")}`);
    const sids = [...statements(t).keys()];
    for (const name of named) {
      assert.ok(ids.some((id) => id.startsWith(name)) || sids.includes(name), `${name} is named in docs/deploy-aws.md but is neither a resource nor a statement of the template`);
    }
  });
});

describe("a config with targets in two accounts and two Regions: one lane per target", () => {
  const ROLE_ONE = "arn:aws:iam::111111111111:role/secretbridge-writer";
  const ROLE_TWO = "arn:aws:iam::222222222222:role/team/secretbridge-writer";
  const WORKER = "arn:aws:iam::123456789012:role/Test-FunctionRole";
  const fleet = (extra = "") =>
    stackConfigFile(
      `fleet${extra ? "-extra" : ""}.yaml`,
      [
        "name: fleet",
        "source: { mount: kv }",
        "destination: { prefix: apps }",
        "targets:",
        `  - { name: one, destination: { region: us-east-1, assumeRole: { roleArn: '${ROLE_ONE}', externalId: ext-one } } }`,
        `  - { name: two, destination: { region: eu-west-1, prefix: team, assumeRole: { roleArn: '${ROLE_TWO}', externalId: ext-two } } }`,
        extra,
        "",
      ].join("\n"),
    );
  const t = synth({}, deployConfigFromFile(fleet()));
  type Resource = { Properties: Record<string, unknown> };
  const props = (type: string) => Object.values(t.findResources(type)).map((r) => (r as Resource).Properties);

  test("a worker per target, each running its target with a reserved concurrency of 1", () => {
    const workers = props("AWS::Lambda::Function").filter((p) => p.Handler === "index.handler");
    assert.deepEqual(
      workers.map((p) => [(p.Environment as { Variables: Record<string, unknown> }).Variables.SECRETBRIDGE_TARGET, p.ReservedConcurrentExecutions]),
      [
        ["one", 1],
        ["two", 1],
      ],
    );
    // Each consumes its own FIFO run queue.
    const mappings = props("AWS::Lambda::EventSourceMapping").map((p) => JSON.stringify([p.FunctionName, p.EventSourceArn]));
    assert.equal(new Set(mappings).size, 2);
    assert.equal(props("AWS::SQS::Queue").filter((p) => p.FifoQueue === true && p.ContentBasedDeduplication === true).length, 2);
    assert.deepEqual(Object.keys((t.toJSON() as { Outputs: Record<string, unknown> }).Outputs).sort(), [
      "ConnectionSecretName",
      "FunctionNameone",
      "FunctionNametwo",
      "FunctionRoleArn",
      "KeyArn",
      "LogGroupNameone",
      "LogGroupNametwo",
      "RunQueueUrlone",
      "RunQueueUrltwo",
    ]);
  });

  test("a schedule per target queues a full sync of that target in its own message group", () => {
    const rules = props("AWS::Events::Rule").map((p) => (p.Targets as { SqsParameters: { MessageGroupId: string }; InputTransformer: { InputTemplate: string } }[])[0]);
    assert.deepEqual(
      rules.map((r) => [r?.SqsParameters.MessageGroupId, JSON.parse((r?.InputTransformer.InputTemplate ?? "").replace("<time>", '"t"')) as unknown]),
      [
        ["secretbridge-runs.one", { secretbridge: "scheduled", target: "one", time: "t" }],
        ["secretbridge-runs.two", { secretbridge: "scheduled", target: "two", time: "t" }],
      ],
    );
  });

  test("failure, delayed and dropped alarms per target, named for it; the failure metric has the target as its dimension", () => {
    const alarms = props("AWS::CloudWatch::Alarm");
    assert.deepEqual(alarms.map((a) => a.AlarmName).sort(), [
      "Test-one-FailureAlarm",
      "Test-one-RunDelayedAlarm",
      "Test-one-RunDroppedAlarm",
      "Test-one-ScheduleUndeliveredAlarm",
      "Test-one-WorkerErrorAlarm",
      "Test-two-FailureAlarm",
      "Test-two-RunDelayedAlarm",
      "Test-two-RunDroppedAlarm",
      "Test-two-ScheduleUndeliveredAlarm",
      "Test-two-WorkerErrorAlarm",
    ]);
    const failure = alarms.filter((a) => (a.AlarmName as string).endsWith("-FailureAlarm"));
    assert.deepEqual(
      failure.map((a) => [a.MetricName, a.Dimensions, (a.AlarmDescription as string).slice(0, 12)]),
      [
        ["FailedRuns", [{ Name: "Target", Value: "one" }], "[target one]"],
        ["FailedRuns", [{ Name: "Target", Value: "two" }], "[target two]"],
      ],
    );
    const filters = props("AWS::Logs::MetricFilter").map((p) => (p.MetricTransformations as { MetricName: string; Dimensions?: unknown }[])[0]);
    assert.equal(filters.length, 6);
    for (const f of filters) assert.deepEqual(f?.Dimensions, [{ Key: "Target", Value: "$.summary.target" }], f?.MetricName);
  });

  test("the worker may assume exactly the two targets' roles, and writes no secret itself", () => {
    const s = statements(t);
    assert.deepEqual(s.get("AssumeTargetRoles"), { Sid: "AssumeTargetRoles", Effect: "Allow", Action: "sts:AssumeRole", Resource: [ROLE_ONE, ROLE_TWO] });
    const allowed = [...s.values()].filter((st) => st.Effect === "Allow").flatMap((st) => ([] as string[]).concat(st.Action));
    assert.deepEqual(allowed.filter((a) => a.startsWith("secretsmanager:") || a.startsWith("ssm:")), ["secretsmanager:GetSecretValue"], "only the connection secret is read");
    assert.deepEqual(allowed.filter((a) => a.startsWith("sts:")), ["sts:AssumeRole"]);
  });

  test("the member-account role template: the worker's role trusted with the target's external id, and the target's `iam-policy` as its policy", async () => {
    const cli = async (args: string[]) => {
      const out: string[] = [];
      const code = await main(args, { env: {}, output: { out: (text) => out.push(text), err: (text) => out.push(text) } });
      return { code, text: out.join("") };
    };
    const template = await cli(["iam-policy", "-c", fleet(), "--target", "two", "--account", "222222222222", "--member-role-template", WORKER]);
    assert.equal(template.code, 0, template.text);
    const policy = await cli(["iam-policy", "-c", fleet(), "--target", "two", "--account", "222222222222"]);
    assert.equal(policy.code, 0, policy.text);
    const doc = JSON.parse(template.text) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    assert.deepEqual(Object.keys(doc.Resources), ["WriterRole"]);
    const role = doc.Resources.WriterRole;
    assert.equal(role?.Type, "AWS::IAM::Role");
    assert.equal(role?.Properties.RoleName, "secretbridge-writer");
    assert.equal(role?.Properties.Path, "/team/");
    assert.deepEqual(role?.Properties.AssumeRolePolicyDocument, {
      Version: "2012-10-17",
      Statement: [{ Sid: "TheSecretbridgeWorker", Effect: "Allow", Principal: { AWS: WORKER }, Action: "sts:AssumeRole", Condition: { StringEquals: { "sts:ExternalId": "ext-two" } } }],
    });
    assert.deepEqual(role?.Properties.Policies, [{ PolicyName: "secretbridge-two", PolicyDocument: JSON.parse(policy.text) as unknown }]);
    // The target's own account, Region and prefix.
    assert.match(policy.text, /arn:aws:secretsmanager:eu-west-1:222222222222:secret:team\/\*/);

    const wrongAccount = await cli(["iam-policy", "-c", fleet(), "--target", "one", "--account", "222222222222", "--member-role-template", WORKER]);
    assert.equal(wrongAccount.code, 2);
    assert.match(wrongAccount.text, /target one: --account 222222222222 is not the account of its role arn:aws:iam::111111111111:role\/secretbridge-writer; the member role is created in 111111111111/);
  });

  test("a target without a role, or a push endpoint, is refused at synth by name", () => {
    assert.throws(
      () => synth({}, deployConfigFromFile(fleet("  - { name: three, destination: { region: eu-central-1 } }"))),
      (e: unknown) => e instanceof SyncError && e.message === "target three: a deployment with several targets writes through one role per target; set destination.assumeRole (roleArn, externalId) for it",
    );
    assert.throws(
      () => synth({ pushEndpoint: true }, deployConfigFromFile(fleet())),
      (e: unknown) => e instanceof SyncError && e.errorClass === "config-invalid" && /^context pushEndpoint: the push endpoint queues into one run queue/.test(e.message),
    );
  });
});
