// The Secrets Manager part of the least-privilege IAM policy of a sync, for every mapping at once:
// the listing, writes and tags under each prefix, the lifecycle actions and value reads only the
// mappings that use them, and the keys through Secrets Manager only. The runtime composes it with
// its own statements (connection secrets, notifications, the denies around them) into the document
// `secretbridge iam-policy` prints and the CDK stack attaches (runtime/iam-policy.ts).
//
// The input is plain data, one IamScope per mapping; this file knows nothing of the config file.
// Everything is checked before anything is built: a policy that looks right but blocks itself (an
// alias as a KMS resource, one Deny per prefix) is worse than an error.
import type { IamMapping } from "../provider.js";
import { iamContext, invalid, keysOf, keyStatements, minimal, one, sortedUnique, type IamFragment, type IamTarget, type KeyGrant, type KeyRef, type KeyUse, type PolicyStatement } from "../aws-common/iam.js";
import { optionsOf } from "./settings.js";

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
  /** KV v1, adopt-if-equal, adopt-if-placeholder, granularity key or verify: BatchGetSecretValue + GetSecretValue under the prefix. */
  valueReads: boolean;
  /** Replica management even with no replica Region configured (e.g. to remove the replicas an earlier config added). */
  manageReplicas?: boolean;
}

/** The Secrets Manager fragment's input: where, and one scope per mapping. */
export interface IamPolicyInput extends IamTarget {
  scopes: IamScope[];
}

const PREFIX = /^[A-Za-z0-9/_+=.@-]{1,256}$/;
type Purpose = "secrets" | "replicas";

/**
 * Per use of a key: the actions Secrets Manager calls with the sync's credentials.
 * CreateSecret / PutSecretValue with a customer managed key: kms:GenerateDataKey + kms:Decrypt.
 * A replica's key (ReplicateSecretToRegions, CreateSecret with AddReplicaRegions): kms:GenerateDataKey
 * + kms:Encrypt. No kms:DescribeKey: AWS documents neither as needing it.
 */
const PURPOSES: Record<Purpose, KeyUse> = {
  secrets: { sid: "UseOnlyTheReplicationKey", aliasSid: "UseTheReplicationKeyByAlias", actions: ["kms:Decrypt", "kms:GenerateDataKey"] },
  replicas: { sid: "UseTheReplicaKeys", aliasSid: "UseTheReplicaKeysByAlias", actions: ["kms:Encrypt", "kms:GenerateDataKey"] },
};

/** The Secrets Manager fragment: its statements on the mappings' secrets, and the keys they use. */
export function iamPolicy(input: IamPolicyInput): IamFragment {
  const { unresolved, checkRegion, parseKey, account, partition, region } = iamContext(input);
  if (input.scopes.length === 0) throw invalid("no mapping to write a policy for: give at least one prefix");

  const secretArn = (r: string, name: string) => `arn:${partition}:secretsmanager:${r}:${account}:secret:${name}`;
  const secretsManager = (r: string) => `secretsmanager.${r}.amazonaws.com`;

  const writeArns = new Set<string>();
  const featureArns = new Map<string, Set<string>>();
  const readArns = new Set<string>();
  const grants: Record<Purpose, KeyGrant[]> = { secrets: [], replicas: [] };
  let usesManagedKey = false;
  const grant = (purpose: Purpose, key: KeyRef, via: string[]) => {
    if (key.kind === "managed") usesManagedKey = true;
    else grants[purpose].push({ key, via });
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

  return {
    statements,
    keyStatements: [...keyStatements(partition, PURPOSES.secrets, grants.secrets), ...keyStatements(partition, PURPOSES.replicas, grants.replicas)],
    secretArns: [...writeArns],
    keys: keysOf([...grants.secrets, ...grants.replicas], usesManagedKey),
  };
}

/**
 * A mapping's scope as a run uses it: its key, replica Regions and resource policy are its
 * provider settings; the lifecycle actions follow its deletion strategy.
 */
export function iamScopeOf(mapping: IamMapping): IamScope {
  const options = optionsOf(mapping.options);
  return {
    prefix: mapping.prefix,
    ...(options.kmsKeyId ? { kmsKeyId: options.kmsKeyId } : {}),
    replicas: options.replicaRegions,
    lifecycle: { delete: mapping.deletion === "delete", restore: mapping.deletion === "delete", tagOrphans: mapping.deletion === "tag" },
    resourcePolicy: options.resourcePolicy !== undefined,
    valueReads: mapping.valueReads,
  };
}
