// The least-privilege IAM policy a sync needs, as plain JSON: for users who deploy without the
// CDK (`secretbridge iam-policy`). The CDK stack builds the same statements from the same lists.

/** Secret-scoped Secrets Manager actions. ListSecrets and BatchGetSecretValue are authorised on `*`. */
export const SECRET_SCOPED_ACTIONS = [
  "secretsmanager:CancelRotateSecret",
  "secretsmanager:CreateSecret",
  "secretsmanager:DeleteResourcePolicy",
  "secretsmanager:DeleteSecret",
  "secretsmanager:DescribeSecret",
  "secretsmanager:GetResourcePolicy",
  "secretsmanager:GetSecretValue",
  "secretsmanager:ListSecretVersionIds",
  "secretsmanager:PutResourcePolicy",
  "secretsmanager:PutSecretValue",
  "secretsmanager:RemoveRegionsFromReplication",
  "secretsmanager:ReplicateSecretToRegions",
  "secretsmanager:RestoreSecret",
  "secretsmanager:RotateSecret",
  "secretsmanager:StopReplicationToReplica",
  "secretsmanager:TagResource",
  "secretsmanager:UntagResource",
  "secretsmanager:UpdateSecret",
  "secretsmanager:UpdateSecretVersionStage",
  "secretsmanager:ValidateResourcePolicy",
];

/** What every sync writes: create, new values, tags (and their removal); Describe for replicas and operators. */
export const WRITE_ACTIONS = [
  "secretsmanager:CreateSecret",
  "secretsmanager:PutSecretValue",
  "secretsmanager:TagResource",
  "secretsmanager:UntagResource",
  "secretsmanager:DescribeSecret",
];

/** Extra actions per feature, granted only when the config uses it. */
export const FEATURE_ACTIONS = {
  deletion: ["secretsmanager:DeleteSecret", "secretsmanager:RestoreSecret", "secretsmanager:RemoveRegionsFromReplication"],
  replicas: ["secretsmanager:ReplicateSecretToRegions", "secretsmanager:RemoveRegionsFromReplication"],
  resourcePolicy: ["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"],
} as const;

export interface IamPolicyInput {
  prefix: string;
  region: string;
  account: string;
  partition?: string;
  kmsKeyArn?: string;
  snsTopicArn?: string;
  /** Name of a secret under the prefix the sync may read but never write (the Lambda's connection secret). */
  connectionSecretName?: string;
  /** KV v1 mounts, adopt-if-equal and `verify` compare values: allow reading values under the prefix. */
  allowValueReads?: boolean;
  /** Features in use that need more than the write actions. */
  features?: (keyof typeof FEATURE_ACTIONS)[];
}

interface Statement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
}

export function iamPolicy(input: IamPolicyInput): { Version: "2012-10-17"; Statement: Statement[] } {
  const partition = input.partition ?? "aws";
  const secretArn = (name: string) => `arn:${partition}:secretsmanager:${input.region}:${input.account}:secret:${name}`;
  const underPrefix = secretArn(`${input.prefix}/*`);
  const statements: Statement[] = [
    { Sid: "ListSecretsForInventory", Effect: "Allow", Action: "secretsmanager:ListSecrets", Resource: "*" },
    { Sid: "WriteReplicatedSecretsUnderPrefix", Effect: "Allow", Action: WRITE_ACTIONS, Resource: underPrefix },
  ];
  const extra = [...new Set((input.features ?? []).flatMap((f) => FEATURE_ACTIONS[f]))].sort();
  if (extra.length) statements.push({ Sid: "LifecycleUnderPrefix", Effect: "Allow", Action: extra, Resource: underPrefix });
  if (input.allowValueReads) {
    statements.push(
      { Sid: "BatchReadForValueComparison", Effect: "Allow", Action: "secretsmanager:BatchGetSecretValue", Resource: "*" },
      { Sid: "ReadValuesUnderPrefix", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: underPrefix },
    );
  }
  if (input.connectionSecretName) {
    // AWS appends "-" and six characters to secret ARNs.
    const connection = secretArn(`${input.connectionSecretName}-??????`);
    statements.push(
      { Sid: "ReadConnectionSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: connection },
      {
        Sid: "DenyWritingTheConnectionSecret",
        Effect: "Deny",
        Action: SECRET_SCOPED_ACTIONS.filter((a) => a !== "secretsmanager:GetSecretValue" && a !== "secretsmanager:DescribeSecret"),
        Resource: connection,
      },
    );
  }
  statements.push({ Sid: "DenySecretActionsOutsideThePrefix", Effect: "Deny", Action: SECRET_SCOPED_ACTIONS, NotResource: underPrefix });
  if (input.kmsKeyArn) {
    statements.push(
      { Sid: "UseOnlyTheReplicationKey", Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: input.kmsKeyArn },
      { Sid: "DenyOtherKeys", Effect: "Deny", Action: "kms:*", NotResource: input.kmsKeyArn },
    );
  }
  if (input.snsTopicArn) {
    statements.push(
      { Sid: "PublishFailures", Effect: "Allow", Action: "sns:Publish", Resource: input.snsTopicArn },
      { Sid: "DenyOtherTopics", Effect: "Deny", Action: "sns:Publish", NotResource: input.snsTopicArn },
    );
  }
  return { Version: "2012-10-17", Statement: statements };
}
