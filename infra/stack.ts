// The serverless deployment: the secretbridge Lambda on an EventBridge schedule, with its own KMS
// key, an optional failure topic, the Vault connection secret, and a role that can write only
// under the prefix (with explicit denies everywhere else).
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
import { iamPolicy, SECRET_SCOPED_ACTIONS } from "../src/destinations/aws-secrets-manager/iam-policy.js";

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
};

export { SECRET_SCOPED_ACTIONS };

export class SecretBridgeStack extends Stack {
  constructor(scope: Construct, id: string, settings: SecretBridgeSettings, codePath: string, props?: StackProps) {
    super(scope, id, props);
    const prefix = settings.secretsPrefix;
    const connectionSecretName = `${prefix}/vault-connection-secret`;

    const key = new kms.Key(this, "SecretsKey", {
      alias: `${prefix}-encryption-key`,
      description: `Encrypts the secrets secretbridge replicates under ${prefix}/`,
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

    // The placeholder holds no credential: the operator writes the token (or nothing, with IAM
    // auth) after deploying, so no secret ever lands in the template.
    new secretsmanager.Secret(this, "VaultConnectionSecret", {
      secretName: connectionSecretName,
      description: "How secretbridge reaches Vault/OpenBao: {vaultAddress, vaultToken} or {vaultAddress, auth}",
      encryptionKey: key,
      secretStringValue: SecretValue.unsafePlainText(
        JSON.stringify(
          settings.vaultAuthMethod === "token"
            ? { vaultAddress: settings.vaultAddress, vaultToken: "" }
            : { vaultAddress: settings.vaultAddress, auth: { method: settings.vaultAuthMethod, role: settings.vaultAuthRole ?? "secretbridge" } },
        ),
      ),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const logGroup = new logs.LogGroup(this, "FunctionLogs", {
      retention: settings.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const role = new iam.Role(this, "FunctionRole", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: "secretbridge replication: writes only under the prefix",
    });
    // The same generator as `secretbridge iam-policy`, so the Lambda's role and a hand-deployed
    // policy are the same statements. Account, Region and partition are the stack's: concrete
    // when the stack has an env, otherwise the AWS::AccountId / AWS::Region / AWS::Partition
    // tokens, which the generator lets through unchecked because we say they are unresolved.
    const functionPolicy = iamPolicy({
      account: this.account,
      region: this.region,
      partition: this.partition,
      scopes: [
        {
          prefix,
          kmsKeyId: key.keyArn,
          replicas: [],
          lifecycle: { delete: false, restore: false, tagOrphans: false },
          resourcePolicy: false,
          valueReads: false,
        },
      ],
      connectionSecretName,
      // The topic is encrypted with the same key: publishing uses it via SNS.
      ...(topic ? { snsTopicArns: [topic.topicArn], snsTopicKmsKeyIds: [key.keyArn] } : {}),
      ...(environmentKey ? { environmentKeyArn: environmentKey.keyArn } : {}),
      isUnresolved: (value) => Token.isUnresolved(value),
    });
    const statements: iam.PolicyStatement[] = [
      new iam.PolicyStatement({ sid: "WriteLogs", actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [logGroup.logGroupArn, `${logGroup.logGroupArn}:*`] }),
      ...functionPolicy.Statement.map((statement) => iam.PolicyStatement.fromJson(statement)),
    ];
    if (settings.vpc) {
      statements.push(
        new iam.PolicyStatement({
          sid: "ManageVpcNetworkInterfaces",
          actions: ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
          resources: ["*"],
        }),
      );
    }
    const policy = new iam.Policy(this, "FunctionPolicy", { statements });
    role.attachInlinePolicy(policy);

    let vpcConfig: Pick<lambda.FunctionProps, "vpc" | "vpcSubnets" | "securityGroups"> = {};
    if (settings.vpc) {
      const vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", {
        vpcId: settings.vpc.vpcId,
        availabilityZones: settings.vpc.availabilityZones,
        privateSubnetIds: settings.vpc.privateSubnetIds,
      });
      const securityGroups = (settings.vpc.securityGroupIds ?? []).map((id, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, id));
      vpcConfig = { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, ...(securityGroups.length ? { securityGroups } : {}) };
    }

    const fn = new lambda.Function(this, "ReplicationFunction", {
      description: `secretbridge: replicate ${settings.vaultMount ?? prefix} from Vault into ${prefix}/`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: "index.handler",
      code: lambda.Code.fromAsset(codePath),
      role,
      timeout: Duration.seconds(settings.timeoutSeconds),
      memorySize: settings.memoryMb,
      // One run at a time: two overlapping runs would race on the same secrets.
      reservedConcurrentExecutions: 1,
      logGroup,
      ...(environmentKey ? { environmentEncryption: environmentKey } : {}),
      environment: {
        SECRETS_PREFIX: prefix,
        SYNC_NAME: settings.syncName ?? prefix,
        VAULT_MOUNT: settings.vaultMount ?? prefix,
        ...(settings.vaultPath ? { VAULT_PATH: settings.vaultPath } : {}),
        ...(settings.vaultNamespace ? { VAULT_NAMESPACE: settings.vaultNamespace } : {}),
        ...(settings.vaultIamServerIdHeader ? { VAULT_IAM_SERVER_ID_HEADER: settings.vaultIamServerIdHeader } : {}),
        CONNECTION_SECRET_NAME: connectionSecretName,
        KMS_KEY_ID: key.keyArn,
        ...(topic ? { SNS_TOPIC_ARN: topic.topicArn } : {}),
        NODE_OPTIONS: "--enable-source-maps",
      },
      ...vpcConfig,
    });
    fn.node.addDependency(policy);

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
    if (topic) new CfnOutput(this, "TopicArn", { value: topic.topicArn });
  }
}
