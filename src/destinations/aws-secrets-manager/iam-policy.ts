// The least-privilege IAM policy a sync needs, as plain JSON, for every mapping at once: printed by
// `secretbridge iam-policy` for deployments without the CDK, and attached to the Lambda's role by
// the CDK stack (infra/stack.ts), so both are the same statements.
//
// The input is plain data, one IamScope per mapping; this file knows nothing of the config file.
// Everything is checked before anything is built: a policy that looks right but blocks itself (an
// alias as a KMS resource, one Deny per prefix) is worse than an error.
//
// No statement for sts:GetCallerIdentity, which `plan` and `sync` call once to name the account in
// their header: AWS requires no permission for it, and an explicit deny cannot block it.
import { SyncError } from "../../core/errors.js";

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

/**
 * What every sync writes: create, new values, tags (and their removal); Describe for replicas and
 * operators. Tagging orphans (deletion strategy `tag`) needs nothing more than TagResource.
 */
export const WRITE_ACTIONS = [
  "secretsmanager:CreateSecret",
  "secretsmanager:PutSecretValue",
  "secretsmanager:TagResource",
  "secretsmanager:UntagResource",
  "secretsmanager:DescribeSecret",
];

/** Extra actions, granted only on the secrets of the mappings that use the feature. */
export const FEATURE_ACTIONS = {
  delete: ["secretsmanager:DeleteSecret"],
  restore: ["secretsmanager:RestoreSecret"],
  replicas: ["secretsmanager:ReplicateSecretToRegions", "secretsmanager:RemoveRegionsFromReplication"],
  resourcePolicy: ["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"],
} as const;

/** What one mapping writes, and how. */
export interface IamScope {
  /** Destination name prefix, e.g. "team-a" (names are `${prefix}/...`). */
  prefix: string;
  /** Destination Region of this mapping (default: the input's Region). */
  region?: string;
  /** As a user writes it: key id, key ARN, alias name "alias/x" or alias ARN; unset or aws/secretsmanager: the AWS managed key. */
  kmsKeyId?: string;
  /** Replica Regions; each kmsKeyId is a key in that replica Region. */
  replicas: { region: string; kmsKeyId?: string }[];
  /** The deletion strategy in use (delete: delete + restore; tag: tagOrphans). */
  lifecycle: { delete: boolean; restore: boolean; tagOrphans: boolean };
  resourcePolicy: boolean;
  /** KV v1, adopt-if-equal, granularity key or verify: BatchGetSecretValue + GetSecretValue under the prefix. */
  valueReads: boolean;
  /** Replica management even with no replica Region configured (e.g. to remove the replicas an earlier config added). */
  manageReplicas?: boolean;
}

export interface IamPolicyInput {
  /** The destination account (12 digits). */
  account: string;
  /** The default destination Region. */
  region: string;
  /** aws (default), aws-cn or aws-us-gov. */
  partition?: string;
  scopes: IamScope[];
  snsTopicArns?: string[];
  /** Keys the topics are encrypted with (SSE), in any of the four forms: publishing uses them, via SNS only. */
  snsTopicKmsKeyIds?: string[];
  /** Secrets the sync may read but never write: the Lambda's connection and webhook signing secrets. */
  connectionSecretNames?: string[];
  /**
   * The Region of those secrets and their key: where the runtime that reads them runs (the stack's
   * Region for the Lambda), which need not be the destination's. Default: `region`.
   */
  connectionSecretRegion?: string;
  /** The key those secrets are encrypted with, in any of the four forms: kms:Decrypt via Secrets Manager only. */
  connectionSecretKmsKeyId?: string;
  /** The key the Lambda's environment variables are encrypted with: kms:Decrypt, spared by the deny of other keys. */
  environmentKeyArn?: string;
  /**
   * Values not known until deployment (CDK tokens) pass unchecked when this says so. An unresolved
   * kmsKeyId is taken as a key ARN. The CDK stack passes `Token.isUnresolved`; nothing else should.
   */
  isUnresolved?: (value: string) => boolean;
}

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

const PARTITIONS = ["aws", "aws-cn", "aws-us-gov"];
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;
// Same characters as the config schema's prefix: in particular no * or ?, which would widen the ARNs.
const PREFIX = /^[A-Za-z0-9/_+=.@-]{1,256}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const KMS_ARN = /^arn:([^:]*):kms:([^:]*):([^:]*):(key|alias)\/(.*)$/;
const SNS_ARN = /^arn:([^:]*):sns:([^:]*):(\d{12}):[A-Za-z0-9_-]{1,256}(?:\.fifo)?$/;

type KeyRef = { kind: "managed" } | { kind: "arn"; arn: string; region: string } | { kind: "alias"; alias: string; region: string; account: string };
type Purpose = "secrets" | "replicas" | "topics" | "connection";
interface Grant {
  purpose: Purpose;
  key: Exclude<KeyRef, { kind: "managed" }>;
  /** kms:ViaService values: the service endpoints that may use the key on the sync's behalf. */
  via: string[];
}

/**
 * Per use of a key: the actions Secrets Manager (or SNS) calls with the sync's credentials.
 * CreateSecret / PutSecretValue with a customer managed key: kms:GenerateDataKey + kms:Decrypt.
 * A replica's key (ReplicateSecretToRegions, CreateSecret with AddReplicaRegions): kms:GenerateDataKey
 * + kms:Encrypt. Publishing to an encrypted topic: kms:GenerateDataKey + kms:Decrypt. No
 * kms:DescribeKey: AWS documents none of these as needing it.
 */
const PURPOSES: Record<Purpose, { sid: string; aliasSid: string; actions: string[] }> = {
  secrets: { sid: "UseOnlyTheReplicationKey", aliasSid: "UseTheReplicationKeyByAlias", actions: ["kms:Decrypt", "kms:GenerateDataKey"] },
  replicas: { sid: "UseTheReplicaKeys", aliasSid: "UseTheReplicaKeysByAlias", actions: ["kms:Encrypt", "kms:GenerateDataKey"] },
  topics: { sid: "UseTheTopicKey", aliasSid: "UseTheTopicKeyByAlias", actions: ["kms:Decrypt", "kms:GenerateDataKey"] },
  connection: { sid: "DecryptTheConnectionSecrets", aliasSid: "DecryptTheConnectionSecretsByAlias", actions: ["kms:Decrypt"] },
};

const invalid = (message: string) => new SyncError("config-invalid", message);
const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();
/** One value as a scalar, several as a list (the way people write policies). */
const one = (values: string[]): string | string[] => (values.length === 1 ? (values[0] as string) : values);
const partitionOfRegion = (region: string) => (region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws");

/** Sorted, unique, and without the ARNs another `.../*` ARN of the list already covers. */
function minimal(arns: Iterable<string>): string[] {
  const all = sortedUnique(arns);
  const wildcards = all.filter((a) => a.endsWith("/*"));
  return all.filter((a) => !wildcards.some((w) => w !== a && a.startsWith(w.slice(0, -1))));
}

export function iamPolicy(input: IamPolicyInput): PolicyDocument {
  const unresolved = (value: string) => input.isUnresolved?.(value) ?? false;
  const { account, region } = input;
  const partition = input.partition ?? "aws";

  if (!unresolved(account) && !ACCOUNT.test(account)) throw invalid(`--account must be an AWS account id of 12 digits, got "${account}"`);
  if (!unresolved(partition) && !PARTITIONS.includes(partition)) throw invalid(`--partition must be aws, aws-cn or aws-us-gov, got "${partition}"`);
  const checkRegion = (value: string, what: string) => {
    if (unresolved(value)) return;
    if (!REGION.test(value)) throw invalid(`${what} "${value}" is not an AWS Region such as eu-west-1`);
    if (!unresolved(partition) && partitionOfRegion(value) !== partition) {
      throw invalid(`${what} ${value} is in partition ${partitionOfRegion(value)}, not ${partition}: set --partition ${partitionOfRegion(value)}`);
    }
  };
  checkRegion(region, "--region");
  if (input.scopes.length === 0) throw invalid("no mapping to write a policy for: give at least one prefix");

  const secretArn = (r: string, name: string) => `arn:${partition}:secretsmanager:${r}:${account}:secret:${name}`;
  const secretsManager = (r: string) => `secretsmanager.${r}.amazonaws.com`;

  /** The four ways to name a key; `usage` is the Region of the secrets (or topic) it encrypts. */
  const parseKey = (raw: string, usage: string, what: string, managedAlias: string, sameRegion = true): KeyRef => {
    if (unresolved(raw)) return { kind: "arn", arn: raw, region: usage };
    if (raw === managedAlias || raw === managedAlias.slice("alias/".length)) return { kind: "managed" };
    const notOwnManaged = (alias: string) =>
      invalid(`${what} "${raw}" names ${alias}, the AWS managed key of another service; use ${managedAlias}, or a customer managed key`);
    const arn = KMS_ARN.exec(raw);
    if (arn) {
      const [, p = "", r = "", a = "", type, rest = ""] = arn;
      const problem =
        p !== partition && !unresolved(partition)
          ? `is in partition ${p}, not ${partition}`
          : !REGION.test(r)
            ? "does not hold a Region"
            : !ACCOUNT.test(a)
              ? "does not hold a 12-digit account id"
              : type === "key" && !KEY_ID.test(rest)
                ? "does not end in a key id"
                : type === "alias" && !ALIAS_NAME.test(`alias/${rest}`)
                  ? "does not end in an alias name"
                  : undefined;
      if (problem) throw invalid(`${what} "${raw}" ${problem}`);
      if (sameRegion && !unresolved(usage) && r !== usage) {
        throw invalid(`${what} "${raw}" is a key in ${r}, but the secrets it encrypts are in ${usage}: Secrets Manager needs a key in the secret's own Region`);
      }
      if (type === "key") return { kind: "arn", arn: raw, region: r };
      const alias = `alias/${rest}`;
      if (alias === managedAlias) return { kind: "managed" };
      if (alias.startsWith("alias/aws/")) throw notOwnManaged(alias);
      return { kind: "alias", alias, region: r, account: a };
    }
    if (raw.startsWith("alias/")) {
      if (!ALIAS_NAME.test(raw)) throw invalid(`${what} "${raw}" is not an alias name: alias/ and 1-250 characters of A-Z a-z 0-9 / _ -`);
      if (raw.startsWith("alias/aws/")) throw notOwnManaged(raw);
      return { kind: "alias", alias: raw, region: usage, account };
    }
    if (KEY_ID.test(raw)) return { kind: "arn", arn: `arn:${partition}:kms:${usage}:${account}:key/${raw}`, region: usage };
    throw invalid(`${what} "${raw}" is not a KMS key id, key ARN, alias name (alias/...) or alias ARN`);
  };

  const writeArns = new Set<string>();
  const featureArns = new Map<string, Set<string>>();
  const readArns = new Set<string>();
  const grants: Grant[] = [];
  let usesManagedKey = false;
  const grant = (purpose: Purpose, key: KeyRef, via: string[]) => {
    if (key.kind === "managed") usesManagedKey = true;
    else grants.push({ purpose, key, via });
  };

  for (const scope of input.scopes) {
    const { prefix } = scope;
    if (!unresolved(prefix) && (!PREFIX.test(prefix) || prefix.endsWith("/"))) {
      throw invalid(`prefix "${prefix}" is not a destination prefix: 1-256 characters of A-Z a-z 0-9 / _ + = . @ - (no wildcards), not ending in /`);
    }
    const what = `prefix ${prefix}`;
    const home = scope.region ?? region;
    checkRegion(home, `${what}: Region`);
    const seen = new Set([home]);
    for (const replica of scope.replicas) {
      checkRegion(replica.region, `${what}: replica Region`);
      if (seen.has(replica.region) && !unresolved(replica.region)) {
        throw invalid(`${what}: replica Region ${replica.region} is ${replica.region === home ? "the mapping's own Region" : "listed twice"}`);
      }
      seen.add(replica.region);
    }

    // Replica secrets carry the primary's name in their own Region: every Region the mapping writes.
    const arns = [home, ...scope.replicas.map((r) => r.region)].map((r) => secretArn(r, `${prefix}/*`));
    for (const arn of arns) writeArns.add(arn);
    const features = [
      ...(scope.lifecycle.delete ? FEATURE_ACTIONS.delete : []),
      ...(scope.lifecycle.restore ? FEATURE_ACTIONS.restore : []),
      ...(scope.replicas.length > 0 || scope.manageReplicas ? FEATURE_ACTIONS.replicas : []),
      ...(scope.resourcePolicy ? FEATURE_ACTIONS.resourcePolicy : []),
    ];
    for (const action of features) {
      const set = featureArns.get(action) ?? new Set<string>();
      for (const arn of arns) set.add(arn);
      featureArns.set(action, set);
    }
    // Values are only ever read from the primary.
    if (scope.valueReads) readArns.add(secretArn(home, `${prefix}/*`));

    grant("secrets", scope.kmsKeyId === undefined ? { kind: "managed" } : parseKey(scope.kmsKeyId, home, `${what}: kmsKeyId`, "alias/aws/secretsmanager"), [
      secretsManager(home),
    ]);
    for (const replica of scope.replicas) {
      const key =
        replica.kmsKeyId === undefined
          ? ({ kind: "managed" } as const)
          : parseKey(replica.kmsKeyId, replica.region, `${what}: kmsKeyId of replica ${replica.region}`, "alias/aws/secretsmanager");
      // Which Region's Secrets Manager calls KMS for a replica is not documented: allow both ends.
      grant("replicas", key, [secretsManager(home), secretsManager(replica.region)]);
    }
  }

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
    grant("topics", key, key.kind === "managed" ? [] : [`sns.${key.region}.amazonaws.com`]);
  }
  const environmentKey = input.environmentKeyArn;
  if (environmentKey !== undefined && !unresolved(environmentKey) && parseKey(environmentKey, region, "environment key", "alias/aws/lambda", false).kind !== "arn") {
    throw invalid(`environment key "${environmentKey}" must be a key ARN`);
  }

  const statements: PolicyStatement[] = [
    { Sid: "ListSecretsForInventory", Effect: "Allow", Action: "secretsmanager:ListSecrets", Resource: "*" },
    { Sid: "WriteReplicatedSecretsUnderPrefix", Effect: "Allow", Action: [...WRITE_ACTIONS], Resource: one(minimal(writeArns)) },
  ];

  // Feature actions that apply to the same secrets share a statement.
  const byResources = new Map<string, { resources: string[]; actions: string[] }>();
  for (const [action, arns] of featureArns) {
    const resources = minimal(arns);
    const id = resources.join("\n");
    const entry = byResources.get(id) ?? { resources, actions: [] };
    entry.actions.push(action);
    byResources.set(id, entry);
  }
  [...byResources.keys()].sort().forEach((id, i) => {
    const { resources, actions } = byResources.get(id) as { resources: string[]; actions: string[] };
    statements.push({ Sid: `LifecycleUnderPrefix${i ? i + 1 : ""}`, Effect: "Allow", Action: one(sortedUnique(actions)), Resource: one(resources) });
  });

  if (readArns.size > 0) {
    statements.push(
      { Sid: "BatchReadForValueComparison", Effect: "Allow", Action: "secretsmanager:BatchGetSecretValue", Resource: "*" },
      { Sid: "ReadValuesUnderPrefix", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: one(minimal(readArns)) },
    );
  }

  const allowedSecrets = [...writeArns];
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
      grant("connection", parseKey(input.connectionSecretKmsKeyId, home, "connection secret key", "alias/aws/secretsmanager"), [secretsManager(home)]);
    }
  }
  // One Deny for all mappings: a Deny per prefix would deny every other prefix.
  statements.push({
    Sid: "DenySecretActionsOutsideThePrefix",
    Effect: "Deny",
    Action: [...SECRET_SCOPED_ACTIONS],
    NotResource: one(minimal(allowedSecrets)),
  });

  // KMS: a key ARN is a resource; an alias is not (it would name the alias, not the key), so an
  // alias allows `key/*` in its Region and account on the condition that the key has that alias.
  for (const purpose of ["secrets", "replicas", "topics", "connection"] as const) {
    const { sid, aliasSid, actions } = PURPOSES[purpose];
    const mine = grants.filter((g) => g.purpose === purpose);
    const byArn = mine.filter((g) => g.key.kind === "arn");
    if (byArn.length > 0) {
      statements.push({
        Sid: sid,
        Effect: "Allow",
        Action: one(actions),
        Resource: one(sortedUnique(byArn.map((g) => (g.key as { arn: string }).arn))),
        Condition: { StringEquals: { "kms:ViaService": one(sortedUnique(byArn.flatMap((g) => g.via))) } },
      });
    }
    const aliasGroups = new Map<string, Grant[]>();
    for (const g of mine) {
      if (g.key.kind !== "alias") continue;
      const resource = `arn:${partition}:kms:${g.key.region}:${g.key.account}:key/*`;
      aliasGroups.set(resource, [...(aliasGroups.get(resource) ?? []), g]);
    }
    [...aliasGroups.keys()].sort().forEach((resource, i) => {
      const group = aliasGroups.get(resource) as Grant[];
      statements.push({
        Sid: `${aliasSid}${i ? i + 1 : ""}`,
        Effect: "Allow",
        Action: one(actions),
        Resource: resource,
        Condition: {
          StringEquals: { "kms:ViaService": one(sortedUnique(group.flatMap((g) => g.via))) },
          "ForAnyValue:StringEquals": { "kms:ResourceAliases": one(sortedUnique(group.map((g) => (g.key as { alias: string }).alias))) },
        },
      });
    });
  }
  if (environmentKey !== undefined) {
    statements.push({ Sid: "DecryptEnvironment", Effect: "Allow", Action: "kms:Decrypt", Resource: environmentKey });
  }
  // "Deny other keys" may never deny a key allowed above. Key ARNs are spared by NotResource;
  // aliased keys by the same condition the Allow uses, negated: the Allow needs one of the key's
  // aliases in the list (ForAnyValue:StringEquals), the Deny needs none of them in it
  // (ForAllValues:StringNotEquals, also true for a key without aliases), so no key matches both.
  // The AWS managed key cannot be spared reliably (it has no ARN to name beforehand), so when any
  // mapping, replica or topic uses it there is no such Deny: the Allows above stay as narrow.
  if (grants.length > 0 && !usesManagedKey) {
    const spared = sortedUnique([...grants.flatMap((g) => (g.key.kind === "arn" ? [g.key.arn] : [])), ...(environmentKey ? [environmentKey] : [])]);
    const aliases = sortedUnique(grants.flatMap((g) => (g.key.kind === "alias" ? [g.key.alias] : [])));
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
