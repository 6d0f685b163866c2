// The serverless deployment: the secretbridge Lambda running a packaged config file on an
// EventBridge schedule, with its own KMS key, an optional failure topic, the Vault connection
// secret, an optional signed push endpoint (function URL), and a role derived from the config by
// the same function as `secretbridge iam-policy -c` (with explicit denies everywhere else).
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
import type { Construct } from "constructs";
import { resolveConfig } from "../src/config/resolve.js";
import { iamPolicy, SECRET_SCOPED_ACTIONS } from "../src/destinations/aws-secrets-manager/iam-policy.js";
import { LAMBDA_ENV } from "../src/runtime/lambda/run.js";
import { iamScopesFromConfig } from "../src/runtime/iam-scopes.js";
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

export const DEFAULT_SETTINGS: SecretBridgeSettings = {
  secretsPrefix: "hybrid-aws-secrets",
  notificationEmail: "",
  lambdaCronSchedule: "cron(0,30 * * * ? *)",
  vaultAddress: "https://vault.example.com:8200",
  vaultAuthMethod: "token",
  logRetentionDays: 90,
  timeoutSeconds: 300,
  memoryMb: 512,
  separateEnvironmentKey: false,
  pushEndpoint: false,
  vpcEndpoints: false,
  deployDemoVault: false,
};

export { SECRET_SCOPED_ACTIONS };

export class SecretBridgeStack extends Stack {
  /** The function's role policy document as synthesized (tests compare it with `iam-policy -c`). */
  readonly functionPolicyDocument: ReturnType<typeof iamPolicy>;

  constructor(scope: Construct, id: string, settings: SecretBridgeSettings, deploy: DeployConfig, bundleDir: string, props?: StackProps) {
    super(scope, id, props);
    const prefix = settings.secretsPrefix;
    const connectionSecretName = `${prefix}/vault-connection-secret`;
    const webhookSecretName = `${prefix}/webhook-signing-key`;
    const resolved = resolveConfig(deploy.config, {});

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
      description: 'How secretbridge logs in to Vault/OpenBao: {"vaultToken": ...} or {"secretId": ...}, optionally "vaultAddress"',
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

    const logGroup = new logs.LogGroup(this, "FunctionLogs", {
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const role = new iam.Role(this, "FunctionRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: "secretbridge replication: writes only under the config's prefixes",
    });
    // The same derivation as `secretbridge iam-policy -c <the same file>`: every mapping's prefix,
    // key (aliases included), replica Region and lifecycle action, from the resolved config.
    // Account, Region and partition are the stack's: concrete when the stack has an env, otherwise
    // the AWS::AccountId / AWS::Region / AWS::Partition tokens, which the generator lets through
    // unchecked because we say they are unresolved.
    const fromConfig = iamScopesFromConfig(resolved);
    this.functionPolicyDocument = iamPolicy({
      account: this.account,
      region: fromConfig.region ?? this.region,
      partition: this.partition,
      scopes: fromConfig.scopes,
      snsTopicArns: [...fromConfig.snsTopicArns, ...(topic ? [topic.topicArn] : [])],
      // The stack's topic is encrypted with the stack's key: publishing uses it via SNS.
      ...(topic ? { snsTopicKmsKeyIds: [key.keyArn] } : {}),
      connectionSecretNames: [connectionSecretName, ...(webhookSecret ? [webhookSecretName] : [])],
      connectionSecretKmsKeyId: key.keyArn,
      ...(environmentKey ? { environmentKeyArn: environmentKey.keyArn } : {}),
      isUnresolved: (value) => Token.isUnresolved(value),
    });
    const statements: iam.PolicyStatement[] = [
      new iam.PolicyStatement({ sid: "WriteLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroup.logGroupArn, `${logGroup.logGroupArn}:*`] }),
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

    const fn = new lambda.Function(this, "ReplicationFunction", {
      description: `secretbridge ${deploy.config.name}: ${resolved.mappings.map((m) => m.describe).join(", ")}`.slice(0, 256),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: "index.handler",
      // The bundle with the config file (and its CA) beside it: see infra/config.ts for why.
      code: lambda.Code.fromAsset(packageLambda(bundleDir, deploy.files)),
      role,
      timeout: Duration.seconds(settings.timeoutSeconds),
      memorySize: settings.memoryMb,
      // One run at a time, scheduled or pushed: two overlapping runs would race on the same
      // secrets. A push during a run gets 429 from Lambda; a schedule waits in the async queue.
      reservedConcurrentExecutions: 1,
      logGroup,
      ...(environmentKey ? { environmentEncryption: environmentKey } : {}),
      environment: {
        [LAMBDA_ENV.connectionSecret]: connectionSecretName,
        ...(topic ? { [LAMBDA_ENV.snsTopic]: topic.topicArn } : {}),
        ...(webhookSecret ? { [LAMBDA_ENV.webhookSecret]: webhookSecretName } : {}),
        // The demo server's address, until its first boot writes it into the connection secret.
        ...(demo ? { VAULT_ADDR: demo.address } : {}),
        NODE_OPTIONS: "--enable-source-maps",
      },
      ...vpcConfig,
    });
    fn.node.addDependency(policy);
    // A failed scheduled run is not retried by Lambda (the next schedule is the retry); an event
    // held back by a running push waits at most an hour.
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

    new events.Rule(this, "Schedule", {
      description: "Runs secretbridge on a schedule",
      schedule: events.Schedule.expression(settings.lambdaCronSchedule),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
    });

    const alarm = new cloudwatch.Alarm(this, "FailureAlarm", {
      alarmDescription: "secretbridge run failed (per-secret failures or an unusable source/destination)",
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (topic) alarm.addAlarmAction(new cwActions.SnsAction(topic));

    new CfnOutput(this, "FunctionName", { value: fn.functionName });
    new CfnOutput(this, "FunctionRoleArn", { value: role.roleArn, description: "bind this role in Vault's AWS auth method" });
    new CfnOutput(this, "KeyArn", { value: key.keyArn });
    new CfnOutput(this, "ConnectionSecretName", { value: connectionSecretName });
    new CfnOutput(this, "LogGroupName", { value: logGroup.logGroupName });
    if (topic) new CfnOutput(this, "TopicArn", { value: topic.topicArn });
    if (webhookSecret) {
      // Authentication is the HMAC signature the handler checks (same scheme as `serve`), so the URL itself is public.
      const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
      new CfnOutput(this, "PushUrl", { value: url.url, description: "POST signed {\"changes\": [...]} here (x-secretbridge-timestamp, x-secretbridge-signature)" });
      new CfnOutput(this, "WebhookSecretName", { value: webhookSecretName });
    }
    if (demo) new CfnOutput(this, "DemoVaultInstanceId", { value: demo.instance.instanceId, description: "aws ssm start-session --target <id>" });
  }
}
