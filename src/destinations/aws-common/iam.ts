// What every AWS IAM policy secretbridge writes is made of: statements, the checks of account,
// Region and partition, the four ways to name a KMS key and the statements that allow a key through
// one service. Each destination builds its fragment with these (its own actions on its own
// resources, and the keys it uses); the runtime composes a fragment with its own statements
// (runtime/iam-policy.ts), so a document for one config is built in one place.
import { SyncError } from "../../core/errors.js";

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

/**
 * Secret-scoped Secrets Manager actions (ListSecrets and BatchGetSecretValue are authorised on
 * `*`): what the denies around Secrets Manager secrets name, the destination's and the runtime's
 * own connection secrets alike.
 */
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

/** Where a policy applies. */
export interface IamTarget {
  /** The destination account (12 digits). */
  account: string;
  /** The default destination Region. */
  region: string;
  /** aws (default), aws-cn or aws-us-gov. */
  partition?: string;
  /**
   * Values not known until deployment (CDK tokens) pass unchecked when this says so. An unresolved
   * key reference is taken as a key ARN. The CDK stack passes `Token.isUnresolved`; nothing else should.
   */
  isUnresolved?: (value: string) => boolean;
}

/** What a destination's policy grants, for the runtime to compose with its own statements. */
export interface IamFragment {
  /** The destination's Allow statements on its own service. */
  statements: PolicyStatement[];
  /** Its KMS Allow statements: placed after the runtime's Secrets Manager denies, before the runtime's keys. */
  keyStatements: PolicyStatement[];
  /** Secrets Manager secrets it acts on (ARNs, wildcards allowed): spared by the deny of every other secret. */
  secretArns: string[];
  /** The keys it uses, spared by the deny of other keys; `managed`: an AWS managed key, which no deny can spare. */
  keys: { arns: string[]; aliases: string[]; managed: boolean };
}

export type KeyRef = { kind: "managed" } | { kind: "arn"; arn: string; region: string } | { kind: "alias"; alias: string; region: string; account: string };

/** A key allowed through the given service endpoints (`kms:ViaService`). */
export interface KeyGrant {
  key: Exclude<KeyRef, { kind: "managed" }>;
  via: string[];
}

/** One use of keys: its statement ids (by key ARN, by alias) and the KMS actions it needs. */
export interface KeyUse {
  sid: string;
  aliasSid: string;
  actions: string[];
}

const PARTITIONS = ["aws", "aws-cn", "aws-us-gov"];
export const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;
const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const KMS_ARN = /^arn:([^:]*):kms:([^:]*):([^:]*):(key|alias)\/(.*)$/;

export const invalid = (message: string) => new SyncError("config-invalid", message);
export const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();
/** One value as a scalar, several as a list (the way people write policies). */
export const one = (values: string[]): string | string[] => (values.length === 1 ? (values[0] as string) : values);
const partitionOfRegion = (region: string) => (region.startsWith("cn-") ? "aws-cn" : region.startsWith("us-gov-") ? "aws-us-gov" : "aws");

/** Sorted, unique, and without the ARNs another `.../*` ARN of the list already covers. */
export function minimal(arns: Iterable<string>): string[] {
  const all = sortedUnique(arns);
  const wildcards = all.filter((a) => a.endsWith("/*"));
  return all.filter((a) => !wildcards.some((w) => w !== a && a.startsWith(w.slice(0, -1))));
}

/** A checked target, and the checks and key parsing every statement builder shares. */
export interface IamContext {
  account: string;
  region: string;
  partition: string;
  unresolved(value: string): boolean;
  /** Refuses a value that is not an AWS Region of the target's partition. */
  checkRegion(value: string, what: string): void;
  /**
   * The four ways to name a key (id, key ARN, alias name, alias ARN); `usage` is the Region of what
   * it encrypts; `managedAlias` the AWS managed key of the service that uses it.
   */
  parseKey(raw: string, usage: string, what: string, managedAlias: string, sameRegion?: boolean): KeyRef;
}

/** Checks the account, partition and Region once; throws config-invalid naming the flag to fix. */
export function iamContext(target: IamTarget): IamContext {
  const unresolved = (value: string) => target.isUnresolved?.(value) ?? false;
  const { account, region } = target;
  const partition = target.partition ?? "aws";
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
        throw invalid(`${what} "${raw}" is a key in ${r}, but the secrets it encrypts are in ${usage}: a key must be in the Region of what it encrypts`);
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

  return { account, region, partition, unresolved, checkRegion, parseKey };
}

/**
 * The statements allowing one use of keys. A key ARN is a resource; an alias is not (it would
 * name the alias, not the key), so an alias allows `key/*` in its Region and account on the
 * condition that the key has that alias.
 */
export function keyStatements(partition: string, use: KeyUse, grants: KeyGrant[]): PolicyStatement[] {
  const statements: PolicyStatement[] = [];
  const byArn = grants.filter((g) => g.key.kind === "arn");
  if (byArn.length > 0) {
    statements.push({
      Sid: use.sid,
      Effect: "Allow",
      Action: one(use.actions),
      Resource: one(sortedUnique(byArn.map((g) => (g.key as { arn: string }).arn))),
      Condition: { StringEquals: { "kms:ViaService": one(sortedUnique(byArn.flatMap((g) => g.via))) } },
    });
  }
  const aliasGroups = new Map<string, KeyGrant[]>();
  for (const g of grants) {
    if (g.key.kind !== "alias") continue;
    const resource = `arn:${partition}:kms:${g.key.region}:${g.key.account}:key/*`;
    aliasGroups.set(resource, [...(aliasGroups.get(resource) ?? []), g]);
  }
  [...aliasGroups.keys()].sort().forEach((resource, i) => {
    const group = aliasGroups.get(resource) as KeyGrant[];
    statements.push({
      Sid: `${use.aliasSid}${i ? i + 1 : ""}`,
      Effect: "Allow",
      Action: one(use.actions),
      Resource: resource,
      Condition: {
        StringEquals: { "kms:ViaService": one(sortedUnique(group.flatMap((g) => g.via))) },
        "ForAnyValue:StringEquals": { "kms:ResourceAliases": one(sortedUnique(group.map((g) => (g.key as { alias: string }).alias))) },
      },
    });
  });
  return statements;
}

/** The keys of these grants, as a fragment names them for the deny of other keys. */
export function keysOf(grants: KeyGrant[], managed: boolean): IamFragment["keys"] {
  return {
    arns: sortedUnique(grants.flatMap((g) => (g.key.kind === "arn" ? [g.key.arn] : []))),
    aliases: sortedUnique(grants.flatMap((g) => (g.key.kind === "alias" ? [g.key.alias] : []))),
    managed,
  };
}
