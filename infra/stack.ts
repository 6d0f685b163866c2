// The serverless deployment: the secretbridge worker Lambda running a packaged config file, fed by
// one SQS FIFO run queue that an EventBridge schedule (and, optionally, a signed push endpoint's
// admission function) writes to; its own KMS key, an optional failure topic, the Vault connection
// secret, alarms on failed, delayed and dropped runs, and a role derived from the config by the
// same function as `secretbridge iam-policy -c` (with explicit denies everywhere else). A config
// with `targets` gets that worker, queue, schedule and alarms once per target, and a role that may
// only assume the targets' member-account roles (iam-policy --member-role-template).
// Optional: a VPC with interface endpoints, and a demo OpenBao server.
import { CfnOutput, Duration, RemovalPolicy, SecretValue, Stack, Token, type StackProps } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { resolveConfig, resolveTargets, type ResolvedConfig } from "../src/config/resolve.js";
import { SyncError } from "../src/core/errors.js";
import { SECRET_SCOPED_ACTIONS, type PolicyDocument } from "../src/destinations/aws-common/iam.js";
import { runMessageGroup } from "../src/runtime/lambda/queue.js";
import { DEFAULT_MAX_CONTINUATIONS, LAMBDA_ENV, LAMBDA_SUMMARY_MESSAGE } from "../src/runtime/lambda/run.js";
import { iamPolicyForConfig, iamPolicyForWorker } from "../src/runtime/iam-policy.js";
import { packageLambda } from "./bundle.js";
import type { DeployConfig } from "./config.js";
import { DemoVault, demoVpc } from "./demo-vault.js";
import { addInterfaceEndpoints } from "./vpc-endpoints.js";

export interface SecretBridgeSettings {
  /** Destination prefix and default Vault mount (reference sample: hybrid-aws-secrets). */
  secretsPrefix: string;
  /** Email for failure notifications; empty: no topic. */
  notificationEmail: string;
  /** EventBridge schedule expression (reference sample: cron(0,30 * * * ? *)). */
  lambdaCronSchedule: string;
  /** Vault / OpenBao address written into the connection secret. */
  vaultAddress: string;
  /** KV mount to replicate; default: the prefix. */
  vaultMount?: string;
  /** Sub-path under the mount. */
  vaultPath?: string;
  /** token (stored in the connection secret), approle, or aws (IAM auth: no stored credential). */
  vaultAuthMethod: "token" | "approle" | "aws";
  /** Vault role for AWS IAM / AppRole auth. */
  vaultAuthRole?: string;
  /** iam_server_id_header_value configured in Vault's AWS auth method, if any. */
  vaultIamServerIdHeader?: string;
  vaultNamespace?: string;
  /** Name used in ownership tags; default: the prefix. */
  syncName?: string;
  /** For an on-premises Vault reached through a VPC. */
  vpc?: { vpcId: string; availabilityZones: string[]; privateSubnetIds: string[]; securityGroupIds?: string[] };
  logRetentionDays: number;
  timeoutSeconds: number;
  memoryMb: number;
  /** How many new invocations one run may chain when its writes do not fit in one (0: none, the schedule goes on). */
  maxContinuations: number;
  /** A second KMS key for the function's environment variables. */
  separateEnvironmentKey: boolean;
  /** A function URL accepting the signed webhook (push without a server). */
  pushEndpoint: boolean;
  /** Interface endpoints (Secrets Manager, KMS, SNS, STS) for a function in a VPC. */
  vpcEndpoints: boolean;
  /** A demo OpenBao on EC2 in a new VPC, wired as the source (walkthroughs in a fresh account). */
  deployDemoVault: boolean;
  /** With deployDemoVault: a CIDR also allowed to reach the demo server on 8200 (plain HTTP). */
  vaultInboundCidr?: string;
  /** With deployDemoVault: an EC2 key pair; none by default (SSM Session Manager instead). */
  demoKeyName?: string;
}

/**
 * The worker's Node options. The heap is bounded to half the function's memory, so that a run
 * too large for the function ends with V8's out-of-memory error rather than the function's
 * memory limit; half leaves room for Node, the AWS SDK and buffers outside the heap. A run holds
 * about 1 MB of live data per 1,000 secrets, and the bundle keeps the heap within a fifth of its
 * live data (src/runtime/heap.ts; docs/performance.md, "Memory at 100,000").
 */
export function workerNodeOptions(memoryMb: number): string {
  return `--enable-source-maps --max-old-space-size=${Math.max(64, Math.floor(memoryMb / 2))}`;
}

export const DEFAULT_SETTINGS: SecretBridgeSettings = {
  secretsPrefix: "hybrid-aws-secrets",
  notificationEmail: "",
  lambdaCronSchedule: "cron(0,30 * * * ? *)",
  vaultAddress: "https://vault.example.com:8200",
  vaultAuthMethod: "token",
  logRetentionDays: 90,
  timeoutSeconds: 300,
  memoryMb: 512,
  maxContinuations: DEFAULT_MAX_CONTINUATIONS,
  separateEnvironmentKey: false,
  pushEndpoint: false,
  vpcEndpoints: false,
  deployDemoVault: false,
};

export { SECRET_SCOPED_ACTIONS };

export class SecretBridgeStack extends Stack {
  /** The function's role policy document as synthesized (tests compare it with `iam-policy -c`). */
  readonly functionPolicyDocument: PolicyDocument;

  constructor(scope: Construct, id: string, settings: SecretBridgeSettings, deploy: DeployConfig, bundleDir: string, props?: StackProps) {
    super(scope, id, props);
    const prefix = settings.secretsPrefix;
    const connectionSecretName = `${prefix}/vault-connection-secret`;
    const webhookSecretName = `${prefix}/webhook-signing-key`;
    // A config with `targets` deploys one lane per target (its own worker, run queue, schedule and
    // alarms), the worker writing through the target's role; without, one lane as before.
    const fanOut = deploy.config.targets !== undefined;
    const allTargets = fanOut ? resolveTargets(deploy.config, {}) : [resolveConfig(deploy.config, {})];
    const resolved = allTargets[0] as ResolvedConfig;
    if (fanOut && settings.pushEndpoint) {
      throw new SyncError("config-invalid", `context pushEndpoint: the push endpoint queues into one run queue, and ${deploy.origin} lists targets (one queue each); deploy without pushEndpoint, or one stack per target`);
    }

    const key = new kms.Key(this, "SecretsKey", {
      alias: `${prefix}-encryption-key`,
      description: `Encrypts the secrets secretbridge replicates under ${prefix}/ and its own connection secrets`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const environmentKey = settings.separateEnvironmentKey
      ? new kms.Key(this, "EnvironmentKey", {
          alias: `${prefix}-lambda-environment-key`,
          description: "Encrypts the secretbridge function's environment variables",
          enableKeyRotation: true,
          removalPolicy: RemovalPolicy.RETAIN,
        })
      : undefined;

    let topic: sns.Topic | undefined;
    if (settings.notificationEmail) {
      topic = new sns.Topic(this, "FailureTopic", { displayName: "secretbridge failures", masterKey: key, enforceSSL: true });
      topic.addSubscription(new subscriptions.EmailSubscription(settings.notificationEmail));
      // CloudWatch alarms publish to the encrypted topic.
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: "AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
          principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
        }),
      );
    }

    // The placeholder holds no credential: the operator writes the token or AppRole secret id (or
    // nothing, with IAM auth) after deploying, so no secret ever lands in the template.
    const usesToken = !deploy.config.source.auth;
    const connectionSecret = new secretsmanager.Secret(this, "VaultConnectionSecret", {
      secretName: connectionSecretName,
      description: 'How secretbridge logs in to Vault/OpenBao: {"vaultToken": ...} or {"secretId": ...}, optionally "vaultAddress", "notifySigningSecret", "notifyEnv"',
      encryptionKey: key,
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(usesToken ? { vaultToken: "" } : deploy.config.source.auth?.method === "approle" ? { secretId: "" } : {})),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The HMAC key of pushed requests: generated by Secrets Manager, never in the template.
    const webhookSecret = settings.pushEndpoint
      ? new secretsmanager.Secret(this, "WebhookSigningSecret", {
          secretName: webhookSecretName,
          description: "HMAC key that signs pushes to the secretbridge function URL (x-secretbridge-signature)",
          encryptionKey: key,
          generateSecretString: { passwordLength: 48, excludePunctuation: true },
          removalPolicy: RemovalPolicy.RETAIN,
        })
      : undefined;

    // Each lane's constructs live under their own scope: a config without targets keeps the ids
    // (and so the resources) it always had.
    const lanes = allTargets.map((t) => ({ resolved: t, target: fanOut ? t.target : undefined, scope: fanOut ? new Construct(this, `Target-${t.target}`) : this }));
    const logGroups = lanes.map(
      (lane) =>
        new logs.LogGroup(lane.scope, "FunctionLogs", {
          retention: settings.logRetentionDays as logs.RetentionDays,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
    );

    const role = new iam.Role(this, "FunctionRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: "secretbridge replication: writes only under the config's prefixes",
    });
    // The same derivation as `secretbridge iam-policy -c <the same file>`: the destination
    // provider's fragment for every mapping (prefix, key, replica Region, lifecycle action) from the
    // resolved config, with the runtime's own statements. Account, Region and partition are the
    // stack's: concrete when the stack has an env, otherwise the AWS::AccountId / AWS::Region /
    // AWS::Partition tokens, which the generator lets through unchecked because we say they are unresolved.
    // With targets, the destination permissions are each member role's (memberRoleTemplate): the
    // worker may only assume exactly those roles.
    const runtimeInput = {
      account: this.account,
      // The function reads its connection secrets with its own Region's client: they are the
      // stack's, whatever Region the config writes to.
      connectionSecretRegion: this.region,
      partition: this.partition,
      ...(topic ? { snsTopicArns: [topic.topicArn] } : {}),
      // The stack's topic is encrypted with the stack's key: publishing uses it via SNS.
      ...(topic ? { snsTopicKmsKeyIds: [key.keyArn] } : {}),
      // The worker reads the connection secret only; the signing key is the admission function's.
      connectionSecretNames: [connectionSecretName],
      connectionSecretKmsKeyId: key.keyArn,
      ...(environmentKey ? { environmentKeyArn: environmentKey.keyArn } : {}),
      isUnresolved: (value: string) => Token.isUnresolved(value),
    };
    this.functionPolicyDocument = fanOut
      ? iamPolicyForWorker(allTargets, { ...runtimeInput, region: this.region })
      : iamPolicyForConfig(resolved, { ...runtimeInput, region: resolved.config.destination.region ?? this.region });
    const statements: iam.PolicyStatement[] = [
      new iam.PolicyStatement({ sid: "WriteLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: logGroups.flatMap((g) => [g.logGroupArn, `${g.logGroupArn}:*`]) }),
      ...this.functionPolicyDocument.Statement.map((statement) => iam.PolicyStatement.fromJson(statement)),
    ];

    // Network: an existing VPC (vpcId...), or the demo's own; the function gets its own security group.
    let vpc: ec2.IVpc | undefined;
    let subnets: ec2.SubnetSelection | undefined;
    if (settings.deployDemoVault) {
      vpc = demoVpc(this, "DemoVpc");
      subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    } else if (settings.vpc) {
      vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", {
        vpcId: settings.vpc.vpcId,
        availabilityZones: settings.vpc.availabilityZones,
        privateSubnetIds: settings.vpc.privateSubnetIds,
      });
      subnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    }
    let functionSecurityGroup: ec2.SecurityGroup | undefined;
    let endpoints: ec2.InterfaceVpcEndpoint[] = [];
    let vpcConfig: Pick<lambda.FunctionProps, "vpc" | "vpcSubnets" | "securityGroups"> = {};
    if (vpc && subnets) {
      statements.push(
        new iam.PolicyStatement({
          sid: "ManageVpcNetworkInterfaces",
          actions: ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
          resources: ["*"],
        }),
      );
      functionSecurityGroup = new ec2.SecurityGroup(this, "FunctionSecurityGroup", { vpc, description: "secretbridge function", allowAllOutbound: true });
      const extra = (settings.vpc?.securityGroupIds ?? []).map((sgId, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, sgId));
      vpcConfig = { vpc, vpcSubnets: subnets, securityGroups: [functionSecurityGroup, ...extra] };
      // The demo's function has no route out of the VPC: the endpoints are how it reaches AWS.
      if (settings.vpcEndpoints || settings.deployDemoVault) endpoints = addInterfaceEndpoints(this, vpc, subnets, functionSecurityGroup);
    }
    const policy = new iam.Policy(this, "FunctionPolicy", { statements });
    role.attachInlinePolicy(policy);

    let demo: DemoVault | undefined;
    if (settings.deployDemoVault && vpc && functionSecurityGroup) {
      const mount = resolved.mappings[0]?.source.mount ?? prefix;
      demo = new DemoVault(this, "DemoVault", {
        vpc,
        connectionSecret,
        encryptionKey: key,
        mount,
        clientSecurityGroup: functionSecurityGroup,
        ...(settings.vaultInboundCidr ? { inboundCidr: settings.vaultInboundCidr } : {}),
        ...(settings.demoKeyName ? { keyName: settings.demoKeyName } : {}),
      });
      // Private DNS sends the server's own Secrets Manager calls (init secret, connection secret)
      // to the endpoints too.
      for (const endpoint of endpoints) endpoint.connections.allowDefaultPortFrom(demo);
    }

    // One package for both functions: the bundle with the config file (and its CA) beside it.
    const code = lambda.Code.fromAsset(packageLambda(bundleDir, deploy.files));
    // Each lane: a worker with a reserved concurrency of 1 and its own FIFO run queue with one
    // message group, so a target's runs never overlap, while the lanes of several targets run side
    // by side, each with its own deadline, continuations, quota (its own account and Region) and
    // failures. Reserved concurrency in all: one per target.
    const fiveMinutes = { period: Duration.minutes(5), statistic: "Sum" };
    const visibility = Math.min(6 * settings.timeoutSeconds, 12 * 3600);
    const built = lanes.map((lane, i) => {
      const { scope, target } = lane;
      const logGroup = logGroups[i] as logs.LogGroup;
      const fn = new lambda.Function(scope, "ReplicationFunction", {
        description: `secretbridge ${deploy.config.name}${target !== undefined ? ` (target ${target})` : ""}: ${lane.resolved.mappings.map((m) => m.describe).join(", ")}`.slice(0, 256),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        handler: "index.handler",
        code,
        role,
        timeout: Duration.seconds(settings.timeoutSeconds),
        memorySize: settings.memoryMb,
        // One run at a time: the run queue has one FIFO message group, so SQS hands the worker one
        // batch at a time; the reserved concurrency of 1 also holds for a manual invoke, and keeps
        // the worker's slot free of whatever else runs in the account.
        reservedConcurrentExecutions: 1,
        logGroup,
        ...(environmentKey ? { environmentEncryption: environmentKey } : {}),
        environment: {
          [LAMBDA_ENV.connectionSecret]: connectionSecretName,
          ...(topic ? { [LAMBDA_ENV.snsTopic]: topic.topicArn } : {}),
          ...(target !== undefined ? { [LAMBDA_ENV.target]: target } : {}),
          // The demo server's address, until its first boot writes it into the connection secret.
          ...(demo ? { VAULT_ADDR: demo.address } : {}),
          NODE_OPTIONS: workerNodeOptions(settings.memoryMb),
        },
        ...vpcConfig,
      });
      fn.node.addDependency(policy);
      // A manual asynchronous invoke is not retried: the next scheduled run is the retry.
      fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

      // Every run of the lane goes through one FIFO queue with one message group
      // (src/runtime/lambda/queue.ts). A message whose batch the worker could not finish (a crash,
      // a timeout) comes back after the visibility timeout; after three tries it lands in the
      // dead-letter queue, which alarms. A run that reaches its deadline with writes left queues
      // its continuation in the same group, so it goes on in the next invocation, still one at a time.
      const deadLetters = new sqs.Queue(scope, "RunDeadLetterQueue", {
        fifo: true,
        retentionPeriod: Duration.days(14),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
      });
      const runQueue = new sqs.Queue(scope, "RunQueue", {
        fifo: true,
        // The schedule's messages differ by time; pushes set their own id (the request signature).
        contentBasedDeduplication: true,
        visibilityTimeout: Duration.seconds(visibility),
        retentionPeriod: Duration.days(1),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        deadLetterQueue: { queue: deadLetters, maxReceiveCount: 3 },
      });
      fn.addEnvironment(LAMBDA_ENV.queueUrl, runQueue.queueUrl);
      fn.addEnvironment(LAMBDA_ENV.maxContinuations, String(settings.maxContinuations));
      // Batches of 10: a schedule (or push) queued while a run goes on is received with that run's
      // continuation and joins it (queue.ts runForBatch), so it never waits more than one invocation.
      const consumer = new lambda.EventSourceMapping(scope, "RunQueueConsumer", { target: fn, eventSourceArn: runQueue.queueArn, batchSize: 10 });
      consumer.node.addDependency(policy);
      // Where the schedule's messages go when EventBridge cannot deliver them (a standard queue:
      // EventBridge's dead-letter queues cannot be FIFO).
      const undelivered = new sqs.Queue(scope, "ScheduleDeadLetterQueue", { retentionPeriod: Duration.days(14), encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true });

      const schedule = new events.Rule(scope, "Schedule", {
        description: `Queues a secretbridge full sync on a schedule${target !== undefined ? ` (target ${target})` : ""}`,
        schedule: events.Schedule.expression(settings.lambdaCronSchedule),
        targets: [
          new targets.SqsQueue(runQueue, {
            messageGroupId: runMessageGroup(target),
            message: events.RuleTargetInput.fromObject({ secretbridge: "scheduled", ...(target !== undefined ? { target } : {}), time: events.EventField.time }),
            deadLetterQueue: undelivered,
            retryAttempts: 8,
            maxEventAge: Duration.hours(1),
          }),
        ],
      });

      // Alarms. A run that reports failures (per secret, or an unusable source or destination)
      // consumes its message, so it is counted from the worker's one summary line per run. With
      // targets, every metric carries the summary's target as its Target dimension, and every
      // alarm's name and description name the target.
      const namespace = `secretbridge/${this.stackName}`;
      const dimensions = target !== undefined ? { dimensions: { Target: "$.summary.target" } } : {};
      const ofTarget = target !== undefined ? { dimensionsMap: { Target: target } } : {};
      const failedRuns = new logs.MetricFilter(scope, "FailedRunsFilter", {
        logGroup,
        filterPattern: logs.FilterPattern.all(logs.FilterPattern.stringValue("$.msg", "=", LAMBDA_SUMMARY_MESSAGE), logs.FilterPattern.numberValue("$.summary.exitCode", ">", 0)),
        // Per stack: two stacks in one account must not share (and mask) each other's count.
        metricNamespace: namespace,
        metricName: "FailedRuns",
        metricValue: "1",
        ...dimensions,
      });
      const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold = 1) => {
        const a = new cloudwatch.Alarm(scope, id, {
          ...(target !== undefined ? { alarmName: `${this.stackName}-${target}-${id}` } : {}),
          alarmDescription: target !== undefined ? `[target ${target}] ${description}` : description,
          metric,
          threshold,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        if (topic) a.addAlarmAction(new cwActions.SnsAction(topic));
        return a;
      };
      // A run chained across invocations: each hop's summary line, counted and with what it left.
      new logs.MetricFilter(scope, "ContinuedRunsFilter", {
        logGroup,
        filterPattern: logs.FilterPattern.all(logs.FilterPattern.stringValue("$.msg", "=", LAMBDA_SUMMARY_MESSAGE), logs.FilterPattern.stringValue("$.summary.continuation.next", "=", "queued")),
        metricNamespace: namespace,
        metricName: "ContinuedRuns",
        metricValue: "1",
        ...dimensions,
      });
      new logs.MetricFilter(scope, "WritesLeftFilter", {
        logGroup,
        filterPattern: logs.FilterPattern.all(logs.FilterPattern.stringValue("$.msg", "=", LAMBDA_SUMMARY_MESSAGE), logs.FilterPattern.numberValue("$.summary.continuation.remaining", ">=", 0)),
        metricNamespace: namespace,
        metricName: "WritesLeft",
        metricValue: "$.summary.continuation.remaining",
        ...dimensions,
      });
      alarm(
        "FailureAlarm",
        "secretbridge run reported failures (per-secret failures, an unusable source/destination, or writes left that no continuation will do)",
        failedRuns.metric({ ...fiveMinutes, ...ofTarget }),
      );
      alarm("WorkerErrorAlarm", "secretbridge worker crashed or timed out (its batch comes back to the queue)", fn.metricErrors(fiveMinutes));
      // A run waits behind another for at most one run: older than that, the worker is throttled,
      // stuck or failing, and scheduled runs are being delayed.
      alarm(
        "RunDelayedAlarm",
        "a queued secretbridge run has waited longer than two run timeouts",
        runQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: "Maximum" }),
        2 * settings.timeoutSeconds + 60,
      );
      alarm("RunDroppedAlarm", "a secretbridge run was dropped after three failed tries (dead-letter queue)", deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: "Maximum" }));
      alarm(
        "ScheduleUndeliveredAlarm",
        "EventBridge could not queue a scheduled secretbridge run",
        new cloudwatch.Metric({ namespace: "AWS/Events", metricName: "FailedInvocations", dimensionsMap: { RuleName: schedule.ruleName }, ...fiveMinutes }),
      );
      return { ...lane, fn, runQueue, logGroup };
    });
    // The mapping by hand rather than SqsEventSource, so the consuming permission is a named
    // statement of the function's one policy (not a grant in a second, default policy). Sending is
    // for continuations only: a worker's next invocation, in its own queue (a message naming
    // another target is dropped by that target's worker).
    const queueArns = built.map((b) => b.runQueue.queueArn);
    policy.addStatements(
      new iam.PolicyStatement({
        sid: "ConsumeRunQueue",
        actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
        resources: queueArns,
      }),
    );
    policy.addStatements(new iam.PolicyStatement({ sid: "QueueRunContinuation", actions: ["sqs:SendMessage"], resources: queueArns }));
    const { runQueue } = built[0] as (typeof built)[number];

    // The push endpoint: a public function URL in front of a small admission function that checks
    // the signature and queues the changes. It cannot read Vault or write a secret; unsigned
    // requests never reach the queue, so they cannot hold the worker or delay a scheduled run.
    let pushUrl: lambda.FunctionUrl | undefined;
    let admission: lambda.Function | undefined;
    if (webhookSecret) {
      const admissionLogs = new logs.LogGroup(this, "PushAdmissionLogs", { retention: settings.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
      const admissionRole = new iam.Role(this, "PushAdmissionRole", {
        assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
        description: "secretbridge push admission: reads the signing key, queues runs",
      });
      admissionRole.attachInlinePolicy(
        new iam.Policy(this, "PushAdmissionPolicy", {
          statements: [
            new iam.PolicyStatement({ sid: "WriteLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [admissionLogs.logGroupArn, `${admissionLogs.logGroupArn}:*`] }),
            new iam.PolicyStatement({ sid: "ReadSigningKey", actions: ["secretsmanager:GetSecretValue"], resources: [webhookSecret.secretArn] }),
            new iam.PolicyStatement({
              sid: "DecryptSigningKey",
              actions: ["kms:Decrypt"],
              resources: [key.keyArn],
              conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${this.region}.amazonaws.com` } },
            }),
            new iam.PolicyStatement({ sid: "QueueRuns", actions: ["sqs:SendMessage"], resources: [runQueue.queueArn] }),
          ],
        }),
      );
      admission = new lambda.Function(this, "PushAdmissionFunction", {
        description: `secretbridge ${deploy.config.name}: signed push admission`.slice(0, 256),
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        handler: "index.admit",
        code,
        role: admissionRole,
        timeout: Duration.seconds(10),
        memorySize: 256,
        // Bounds what a flood of requests can cost and take from the account; a flood then gets
        // 429s for pushes too, but never touches the worker or the schedule.
        reservedConcurrentExecutions: 10,
        logGroup: admissionLogs,
        ...(environmentKey ? { environmentEncryption: environmentKey } : {}),
        environment: {
          [LAMBDA_ENV.webhookSecret]: webhookSecretName,
          [LAMBDA_ENV.queueUrl]: runQueue.queueUrl,
          NODE_OPTIONS: "--enable-source-maps",
        },
      });
      if (environmentKey) environmentKey.grantDecrypt(admissionRole);
      pushUrl = admission.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    }

    for (const lane of built) {
      const of = lane.target !== undefined ? ` (target ${lane.target})` : "";
      const body = JSON.stringify({ secretbridge: "scheduled", ...(lane.target !== undefined ? { target: lane.target } : {}) });
      // At the stack's top level, so each key is the output's name and the target's (FunctionNameprodeu
      // for target prod-eu), without the hash a nested construct's key would get.
      const id = (name: string) => (lane.target !== undefined ? `${name}-${lane.target}` : name);
      new CfnOutput(this, id("FunctionName"), { value: lane.fn.functionName, ...(of ? { description: `the worker${of}` } : {}) });
      new CfnOutput(this, id("LogGroupName"), { value: lane.logGroup.logGroupName, ...(of ? { description: `the worker's logs${of}` } : {}) });
      new CfnOutput(this, id("RunQueueUrl"), { value: lane.runQueue.queueUrl, description: `queue a full sync${of}: aws sqs send-message --message-group-id ${runMessageGroup(lane.target)} --message-body '${body}'` });
    }
    new CfnOutput(this, "FunctionRoleArn", {
      value: role.roleArn,
      description: fanOut ? "bind this role in Vault's AWS auth method; each target's member role trusts it (secretbridge iam-policy --member-role-template)" : "bind this role in Vault's AWS auth method",
    });
    new CfnOutput(this, "KeyArn", { value: key.keyArn });
    new CfnOutput(this, "ConnectionSecretName", { value: connectionSecretName });
    if (topic) new CfnOutput(this, "TopicArn", { value: topic.topicArn });
    if (pushUrl && admission) {
      // Authentication is the HMAC signature the admission function checks (same scheme as `serve`), so the URL itself is public.
      new CfnOutput(this, "PushUrl", { value: pushUrl.url, description: "POST signed {\"changes\": [...]} here (x-secretbridge-timestamp, x-secretbridge-signature)" });
      new CfnOutput(this, "PushAdmissionFunctionName", { value: admission.functionName });
      new CfnOutput(this, "WebhookSecretName", { value: webhookSecretName });
    }
    if (demo) new CfnOutput(this, "DemoVaultInstanceId", { value: demo.instance.instanceId, description: "aws ssm start-session --target <id>" });
  }
}
