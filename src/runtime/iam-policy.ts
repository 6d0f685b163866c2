// The IAM policy of a sync as one document: the destination provider's fragment (its actions on
// its resources, its keys) and the runtime's own statements: the Lambda's connection and signing
// secrets it reads from Secrets Manager, the failure topics and their keys, the environment key,
// and the denies that keep all of it narrow. `secretbridge iam-policy` (with or without -c) and the
// CDK stack both build their policy here, so the two are the same statements.
//
// No statement for sts:GetCallerIdentity, which `plan` and `sync` call once to name the account in
// their header: AWS requires no permission for it, and an explicit deny cannot block it.
import type { ResolvedConfig } from "../config/resolve.js";
import {
  iamContext,
  invalid,
  keysOf,
  keyStatements,
  minimal,
  one,
  REGION,
  SECRET_SCOPED_ACTIONS,
  sortedUnique,
  type IamFragment,
  type IamTarget,
  type KeyGrant,
  type KeyUse,
  type PolicyDocument,
  type PolicyStatement,
} from "../destinations/aws-common/iam.js";
import type { IamMapping } from "../destinations/provider.js";
import { boundProvider } from "../destinations/registry.js";

/** What the runtime itself reads, publishes to and decrypts with, whatever the destination. */
export interface RuntimeIamInput {
  snsTopicArns?: string[];
  /** Keys the topics are encrypted with (SSE), in any of the four forms: publishing uses them, via SNS only. */
  snsTopicKmsKeyIds?: string[];
  /** Secrets the sync may read but never write: the Lambda's connection and webhook signing secrets. */
  connectionSecretNames?: string[];
  /**
   * The Region of those secrets and their key: where the runtime that reads them runs (the stack's
   * Region for the Lambda), which need not be the destination's. Default: the target's Region.
   */
  connectionSecretRegion?: string;
  /** The key those secrets are encrypted with, in any of the four forms: kms:Decrypt via Secrets Manager only. */
  connectionSecretKmsKeyId?: string;
  /** The key the Lambda's environment variables are encrypted with: kms:Decrypt, spared by the deny of other keys. */
  environmentKeyArn?: string;
}

const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SNS_ARN = /^arn:([^:]*):sns:([^:]*):(\d{12}):[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;

/**
 * Per use of a key: publishing to an encrypted topic needs kms:GenerateDataKey + kms:Decrypt;
 * reading a secret, kms:Decrypt. No kms:DescribeKey: AWS documents neither as needing it.
 */
const TOPICS: KeyUse = { sid: "UseTheTopicKey", aliasSid: "UseTheTopicKeyByAlias", actions: ["kms:Decrypt", "kms:GenerateDataKey"] };
const CONNECTION: KeyUse = { sid: "DecryptTheConnectionSecrets", aliasSid: "DecryptTheConnectionSecretsByAlias", actions: ["kms:Decrypt"] };

/** The document: the destination's fragment, then the runtime's statements and the denies around both. */
export function composeIamPolicy(input: IamTarget & RuntimeIamInput, fragment: IamFragment): PolicyDocument {
  const { unresolved, checkRegion, parseKey, account, partition, region } = iamContext(input);
  const secretArn = (r: string, name: string) => `arn:${partition}:secretsmanager:${r}:${account}:secret:${name}`;
  const topicGrants: KeyGrant[] = [];
  const connectionGrants: KeyGrant[] = [];
  let usesManagedKey = fragment.keys.managed;

  const topics = sortedUnique(input.snsTopicArns ?? []);
  for (const topic of topics) {
    if (unresolved(topic)) continue;
    const m = SNS_ARN.exec(topic);
    if (!m || !REGION.test(m[2] ?? "") || (m[1] !== partition && !unresolved(partition))) {
      throw invalid(`SNS topic "${topic}" is not an SNS topic ARN in partition ${partition}, such as arn:${partition}:sns:${region}:123456789012:name`);
    }
  }
  for (const raw of input.snsTopicKmsKeyIds ?? []) {
    const key = parseKey(raw, region, "SNS topic key", "alias/aws/sns", false);
    if (key.kind === "managed") usesManagedKey = true;
    else topicGrants.push({ key, via: [`sns.${key.region}.amazonaws.com`] });
  }
  const environmentKey = input.environmentKeyArn;
  if (environmentKey !== undefined && !unresolved(environmentKey) && parseKey(environmentKey, region, "environment key", "alias/aws/lambda", false).kind !== "arn") {
    throw invalid(`environment key "${environmentKey}" must be a key ARN`);
  }

  const statements: PolicyStatement[] = [...fragment.statements];
  const allowedSecrets = [...fragment.secretArns];
  const connectionSecrets = sortedUnique(input.connectionSecretNames ?? []);
  if (connectionSecrets.length > 0) {
    for (const name of connectionSecrets) {
      if (!unresolved(name) && !SECRET_NAME.test(name)) throw invalid(`connection secret name "${name}" is not a secret name`);
    }
    const home = input.connectionSecretRegion ?? region;
    checkRegion(home, "connection secret Region");
    // AWS appends "-" and six characters to secret ARNs.
    const arns = connectionSecrets.map((name) => secretArn(home, `${name}-??????`));
    allowedSecrets.push(...arns);
    statements.push(
      { Sid: "ReadConnectionSecret", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: one(arns) },
      {
        Sid: "DenyWritingTheConnectionSecret",
        Effect: "Deny",
        Action: SECRET_SCOPED_ACTIONS.filter((a) => a !== "secretsmanager:GetSecretValue" && a !== "secretsmanager:DescribeSecret"),
        Resource: one(arns),
      },
    );
    if (input.connectionSecretKmsKeyId !== undefined) {
      const key = parseKey(input.connectionSecretKmsKeyId, home, "connection secret key", "alias/aws/secretsmanager");
      if (key.kind === "managed") usesManagedKey = true;
      else connectionGrants.push({ key, via: [`secretsmanager.${home}.amazonaws.com`] });
    }
  }
  // One Deny for all mappings (a Deny per prefix would deny every other prefix), and only where
  // the role touches Secrets Manager at all.
  if (allowedSecrets.length > 0) {
    statements.push({ Sid: "DenySecretActionsOutsideThePrefix", Effect: "Deny", Action: [...SECRET_SCOPED_ACTIONS], NotResource: one(minimal(allowedSecrets)) });
  }

  statements.push(...fragment.keyStatements, ...keyStatements(partition, TOPICS, topicGrants), ...keyStatements(partition, CONNECTION, connectionGrants));
  if (environmentKey !== undefined) {
    statements.push({ Sid: "DecryptEnvironment", Effect: "Allow", Action: "kms:Decrypt", Resource: environmentKey });
  }
  // "Deny other keys" may never deny a key allowed above. Key ARNs are spared by NotResource;
  // aliased keys by the same condition the Allow uses, negated: the Allow needs one of the key's
  // aliases in the list (ForAnyValue:StringEquals), the Deny needs none of them in it
  // (ForAllValues:StringNotEquals, also true for a key without aliases), so no key matches both.
  // An AWS managed key cannot be spared reliably (it has no ARN to name beforehand), so when the
  // destination, a topic or the connection secrets use one there is no such Deny: the Allows stay as narrow.
  const own = keysOf([...topicGrants, ...connectionGrants], false);
  const keyArns = [...fragment.keys.arns, ...own.arns];
  const aliases = sortedUnique([...fragment.keys.aliases, ...own.aliases]);
  if (keyArns.length + aliases.length > 0 && !usesManagedKey) {
    const spared = sortedUnique([...keyArns, ...(environmentKey ? [environmentKey] : [])]);
    statements.push({
      Sid: "DenyOtherKeys",
      Effect: "Deny",
      Action: "kms:*",
      ...(spared.length > 0 ? { NotResource: one(spared) } : { Resource: "*" }),
      ...(aliases.length > 0 ? { Condition: { "ForAllValues:StringNotEquals": { "kms:ResourceAliases": one(aliases) } } } : {}),
    });
  }

  if (topics.length > 0) {
    statements.push(
      { Sid: "PublishFailures", Effect: "Allow", Action: "sns:Publish", Resource: one(topics) },
      { Sid: "DenyOtherTopics", Effect: "Deny", Action: "sns:Publish", NotResource: one(topics) },
    );
  }
  return { Version: "2012-10-17", Statement: statements };
}

/**
 * What each resolved mapping asks of the policy: its prefix, deletion strategy and provider
 * settings, and whether a run reads destination values (to compare KV v1 secrets, which have no
 * versions, and for adopt-if-equal and adopt-if-placeholder; `verify` reads them under every prefix).
 */
export function iamMappingsOf(resolved: ResolvedConfig, options: { verify?: boolean } = {}): IamMapping[] {
  const { config } = resolved;
  return resolved.mappings.map((m) => ({
    prefix: m.prefix,
    deletion: m.policies.deletion.strategy,
    valueReads: Boolean(options.verify) || config.source.kvVersion === 1 || m.policies.onConflict === "adopt-if-equal" || m.policies.onConflict === "adopt-if-placeholder",
    options: m.destinationOptions,
  }));
}

export interface ConfigIamInput extends IamTarget, RuntimeIamInput {
  /** Also allow `secretbridge verify` (value reads under every prefix). */
  verify?: boolean;
}

/**
 * The policy a config needs, through the provider its `destination.type` selects. The config's
 * failure topic is added to `snsTopicArns`; `region` is the destination's (the caller chooses
 * between its own and `destination.region`).
 */
export function iamPolicyForConfig(resolved: ResolvedConfig, input: ConfigIamInput): PolicyDocument {
  const { verify, ...rest } = input;
  const sns = resolved.config.notifications.sns;
  return composeIamPolicy({ ...rest, snsTopicArns: [...(sns ? [sns.topicArn] : []), ...(input.snsTopicArns ?? [])] }, destinationFragment(resolved, input, Boolean(verify)));
}

/** The destination provider's fragment for a resolved target: its actions on its resources, its keys. */
function destinationFragment(resolved: ResolvedConfig, input: IamTarget, verify: boolean): IamFragment {
  const target: IamTarget = { account: input.account, region: input.region, ...(input.partition ? { partition: input.partition } : {}), ...(input.isUnresolved ? { isUnresolved: input.isUnresolved } : {}) };
  return boundProvider(resolved.config.destination).iamFragment(target, iamMappingsOf(resolved, { verify }));
}

const ROLE_ARN = /^arn:([^:]+):iam::(\d{12}):role(\/(?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;

/** A target's role, parsed: what a worker assumes, and what the member account creates. */
function targetRole(resolved: ResolvedConfig): { arn: string; partition: string; account: string; path: string; name: string; externalId: string | undefined } {
  const role = resolved.config.destination.assumeRole;
  const label = `target ${resolved.target}`;
  if (!role) throw invalid(`${label}: a deployment with several targets writes through one role per target; set destination.assumeRole (roleArn, externalId) for it`);
  const m = ROLE_ARN.exec(role.roleArn);
  if (!m) throw invalid(`${label}: destination.assumeRole.roleArn "${role.roleArn}" is not a role ARN such as arn:aws:iam::123456789012:role/secretbridge-writer`);
  return { arn: role.roleArn, partition: m[1] ?? "aws", account: m[2] ?? "", path: m[3] ?? "/", name: m[4] ?? "", externalId: role.externalId };
}

/**
 * The policy of a worker that writes through its targets' roles (a deployment with several
 * targets): the runtime's statements, and sts:AssumeRole on exactly those roles. What each target
 * may do in its account is the member role's policy (memberRoleTemplate), not the worker's.
 */
export function iamPolicyForWorker(targets: readonly ResolvedConfig[], input: IamTarget & RuntimeIamInput): PolicyDocument {
  const roles = sortedUnique(targets.map((t) => targetRole(t).arn));
  const topics = targets.flatMap((t) => (t.config.notifications.sns ? [t.config.notifications.sns.topicArn] : []));
  const fragment: IamFragment = {
    statements: [{ Sid: "AssumeTargetRoles", Effect: "Allow", Action: "sts:AssumeRole", Resource: one(roles) }],
    keyStatements: [],
    secretArns: [],
    keys: { arns: [], aliases: [], managed: false },
  };
  return composeIamPolicy({ ...input, snsTopicArns: [...topics, ...(input.snsTopicArns ?? [])] }, fragment);
}

/** A CloudFormation template (plain JSON) that creates one target's role in its member account. */
export interface MemberRoleTemplate {
  AWSTemplateFormatVersion: "2010-09-09";
  Description: string;
  Resources: { WriterRole: { Type: "AWS::IAM::Role"; Properties: Record<string, unknown> } };
  Outputs: Record<string, { Value: unknown; Description: string }>;
}

/**
 * The member-account role of one target: trusted by the worker's role only, with the target's
 * external ID, and allowed what `iam-policy -c --target NAME` derives for that target (the
 * destination's fragment in the role's account and the target's Region, with the denies around it).
 */
export function memberRoleTemplate(resolved: ResolvedConfig, workerRoleArn: string, options: { account?: string; region?: string } = {}): MemberRoleTemplate {
  const role = targetRole(resolved);
  if (!role.externalId) throw invalid(`target ${resolved.target}: destination.assumeRole.externalId is not set; the member role trusts the worker only with an external ID`);
  if (!ROLE_ARN.test(workerRoleArn)) throw invalid(`the worker's role "${workerRoleArn}" is not a role ARN such as arn:aws:iam::123456789012:role/name (the stack's FunctionRoleArn output)`);
  if (options.account !== undefined && options.account !== role.account) {
    throw invalid(`target ${resolved.target}: --account ${options.account} is not the account of its role ${role.arn}; the member role is created in ${role.account}`);
  }
  const region = options.region ?? resolved.config.destination.region;
  if (!region) throw invalid(`target ${resolved.target}: destination.region is not set; the member role's policy names the Region its target writes to (or pass --region)`);
  const policy = composeIamPolicy({ account: role.account, region, partition: role.partition }, destinationFragment(resolved, { account: role.account, region, partition: role.partition }, false));
  return {
    AWSTemplateFormatVersion: "2010-09-09",
    Description: `secretbridge writer role of target ${resolved.target} (${resolved.syncName}), assumed by ${workerRoleArn}`.slice(0, 1024),
    Resources: {
      WriterRole: {
        Type: "AWS::IAM::Role",
        Properties: {
          RoleName: role.name,
          Path: role.path,
          Description: `secretbridge ${resolved.syncName}: writes target ${resolved.target}`.slice(0, 1000),
          AssumeRolePolicyDocument: {
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "TheSecretbridgeWorker",
                Effect: "Allow",
                Principal: { AWS: workerRoleArn },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "sts:ExternalId": role.externalId } },
              },
            ],
          },
          Policies: [{ PolicyName: `secretbridge-${resolved.target}`, PolicyDocument: policy }],
        },
      },
    },
    Outputs: { RoleArn: { Value: { "Fn::GetAtt": ["WriterRole", "Arn"] }, Description: "destination.assumeRole.roleArn of the target (it must be this ARN)" } },
  };
}
