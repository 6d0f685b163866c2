// The IAM statements a sync into Parameter Store needs, and nothing more: the listing (which IAM
// authorises on `*` only), writes and tags on the parameters under the prefix, value reads and
// deletes only when the config uses them, and the KMS key only through Parameter Store. No
// Secrets Manager action: the runtime adds what it reads of its own (runtime/iam-policy.ts).
import { SyncError } from "../../core/errors.js";
import { iamContext, invalid, type IamFragment, type IamTarget, type PolicyStatement } from "../aws-common/iam.js";

export interface ParameterStoreIamScope {
  partition?: string;
  account: string;
  region: string;
  prefix: string;
  /** A key ARN; absent for the account's `alias/aws/ssm`, whose key policy already allows Parameter Store. */
  kmsKeyArn?: string;
  /** The deletion strategy is `delete`. */
  delete: boolean;
  /** Some comparison reads values (KV v1, adopt-if-equal, adopt-if-placeholder, verify). */
  valueReads: boolean;
}

const PREFIX = /^[A-Za-z0-9_.\-/]{1,900}$/;
const KEY_ARN = /^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/;
const LIST: PolicyStatement = { Sid: "ListParameters", Effect: "Allow", Action: "ssm:DescribeParameters", Resource: "*" };

/**
 * What a sync does to the parameters under a prefix. ListTagsForResource and GetParameterHistory
 * (without decryption) prove ownership of a parameter whose description is no longer our record,
 * e.g. after a hand edit: a run needs them to tell drift from a foreign parameter.
 */
function writeActions(scope: Pick<ParameterStoreIamScope, "valueReads" | "delete">): string[] {
  return ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource", "ssm:GetParameterHistory", ...(scope.valueReads ? ["ssm:GetParameters"] : []), ...(scope.delete ? ["ssm:DeleteParameter"] : [])];
}

function parametersArn(scope: ParameterStoreIamScope): string {
  if (!PREFIX.test(scope.prefix)) throw new SyncError("config-invalid", `prefix ${JSON.stringify(scope.prefix)}: only A-Z a-z 0-9 _ . - / may appear in a policy's parameter ARN`);
  return `arn:${scope.partition ?? "aws"}:ssm:${scope.region}:${scope.account}:parameter/${scope.prefix.replace(/^\/+|\/+$/g, "")}/*`;
}

/** The key through Parameter Store only: standard parameters are encrypted with Encrypt, advanced ones with a data key. */
function keyStatement(keyArn: string, region: string, valueReads: boolean, sid = "UseTheParameterKeyThroughParameterStore"): PolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: ["kms:Encrypt", "kms:GenerateDataKey", ...(valueReads ? ["kms:Decrypt"] : [])],
    Resource: keyArn,
    Condition: { StringEquals: { "kms:ViaService": `ssm.${region}.amazonaws.com` } },
  };
}

function checkKeyArn(keyArn: string | undefined): void {
  if (keyArn !== undefined && !KEY_ARN.test(keyArn)) {
    throw new SyncError("config-invalid", `kmsKeyId ${JSON.stringify(keyArn)}: the policy needs the key's ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias`);
  }
}

/** The statements of one prefix. */
export function parameterStoreStatements(scope: ParameterStoreIamScope): PolicyStatement[] {
  const parameters = parametersArn(scope);
  checkKeyArn(scope.kmsKeyArn);
  const statements: PolicyStatement[] = [LIST, { Sid: "WriteParametersUnderThePrefix", Effect: "Allow", Action: writeActions(scope), Resource: parameters }];
  if (scope.kmsKeyArn) statements.push(keyStatement(scope.kmsKeyArn, scope.region, scope.valueReads));
  return statements;
}

export interface ParameterStoreIamInput extends IamTarget {
  /** One per mapping. */
  scopes: { prefix: string; delete: boolean; valueReads: boolean }[];
  /**
   * The destination's key as the config names it: key id, key ARN or alias/aws/ssm (the default);
   * another alias is refused, as the policy needs a key ARN.
   */
  kmsKeyId?: string;
}

/**
 * The Parameter Store fragment for every mapping: prefixes that need the same actions share a
 * statement; the one key (the destination's) gets the actions of every mapping that uses it.
 */
export function parameterStoreIamPolicy(input: ParameterStoreIamInput): IamFragment {
  const { account, region, partition, parseKey } = iamContext(input);
  if (input.scopes.length === 0) throw invalid("no mapping to write a policy for: give at least one prefix");
  const key = input.kmsKeyId === undefined ? ({ kind: "managed" } as const) : parseKey(input.kmsKeyId, region, "kmsKeyId", "alias/aws/ssm");
  if (key.kind === "alias") checkKeyArn(input.kmsKeyId);

  const byActions = new Map<string, { actions: string[]; arns: Set<string> }>();
  for (const scope of input.scopes) {
    const actions = writeActions(scope);
    const entry = byActions.get(actions.join(" ")) ?? { actions, arns: new Set<string>() };
    entry.arns.add(parametersArn({ ...scope, account, region, partition }));
    byActions.set(actions.join(" "), entry);
  }
  const statements: PolicyStatement[] = [LIST];
  [...byActions.keys()].sort().forEach((id, i) => {
    const { actions, arns } = byActions.get(id) as { actions: string[]; arns: Set<string> };
    const resources = [...arns].sort();
    statements.push({ Sid: `WriteParametersUnderThePrefix${i ? i + 1 : ""}`, Effect: "Allow", Action: actions, Resource: resources.length === 1 ? (resources[0] as string) : resources });
  });

  const keyArn = key.kind === "arn" ? key.arn : undefined;
  return {
    statements,
    keyStatements: keyArn ? [keyStatement(keyArn, region, input.scopes.some((s) => s.valueReads))] : [],
    secretArns: [],
    keys: { arns: keyArn ? [keyArn] : [], aliases: [], managed: keyArn === undefined },
  };
}
