// The IAM statements a sync into Parameter Store needs, and nothing more: the listing (which IAM
// authorises on `*` only), writes and tags on the parameters under the prefix, value reads and
// deletes only when the config uses them, and the KMS key only through Parameter Store.
import { SyncError } from "../../core/errors.js";
import type { PolicyStatement } from "../aws-secrets-manager/iam-policy.js";

export interface ParameterStoreIamScope {
  partition?: string;
  account: string;
  region: string;
  prefix: string;
  /** A key ARN; absent for the account's `alias/aws/ssm`, whose key policy already allows Parameter Store. */
  kmsKeyArn?: string;
  /** The deletion strategy is `delete`. */
  delete: boolean;
  /** Some comparison reads values (KV v1, adopt-if-equal, verify). */
  valueReads: boolean;
}

const PREFIX = /^[A-Za-z0-9_.\-/]{1,900}$/;
const KEY_ARN = /^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]+$/;

export function parameterStoreStatements(scope: ParameterStoreIamScope): PolicyStatement[] {
  const partition = scope.partition ?? "aws";
  if (!PREFIX.test(scope.prefix)) throw new SyncError("config-invalid", `prefix ${JSON.stringify(scope.prefix)}: only A-Z a-z 0-9 _ . - / may appear in a policy's parameter ARN`);
  if (scope.kmsKeyArn !== undefined && !KEY_ARN.test(scope.kmsKeyArn)) {
    throw new SyncError("config-invalid", `kmsKeyId ${JSON.stringify(scope.kmsKeyArn)}: the policy needs the key's ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias`);
  }
  const parameters = `arn:${partition}:ssm:${scope.region}:${scope.account}:parameter/${scope.prefix.replace(/^\/+|\/+$/g, "")}/*`;
  const statements: PolicyStatement[] = [
    { Sid: "ListParameters", Effect: "Allow", Action: "ssm:DescribeParameters", Resource: "*" },
    {
      Sid: "WriteParametersUnderThePrefix",
      Effect: "Allow",
      Action: ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource", ...(scope.valueReads ? ["ssm:GetParameters"] : []), ...(scope.delete ? ["ssm:DeleteParameter"] : [])],
      Resource: parameters,
    },
  ];
  if (scope.kmsKeyArn) {
    statements.push({
      Sid: "UseTheParameterKeyThroughParameterStore",
      Effect: "Allow",
      // Standard parameters are encrypted with Encrypt, advanced ones with a data key.
      Action: ["kms:Encrypt", "kms:GenerateDataKey", ...(scope.valueReads ? ["kms:Decrypt"] : [])],
      Resource: scope.kmsKeyArn,
      Condition: { StringEquals: { "kms:ViaService": `ssm.${scope.region}.amazonaws.com` } },
    });
  }
  return statements;
}

export interface ParameterStoreIamInput {
  partition?: string;
  account: string;
  region: string;
  scopes: Omit<ParameterStoreIamScope, "account" | "region" | "partition">[];
}

/** The policy document for every mapping's scope (statements of equal scope merged by Sid). */
export function parameterStoreIamPolicy(input: ParameterStoreIamInput): { Version: "2012-10-17"; Statement: PolicyStatement[] } {
  const bySid = new Map<string, PolicyStatement>();
  input.scopes.forEach((scope, i) => {
    for (const statement of parameterStoreStatements({ ...scope, account: input.account, region: input.region, ...(input.partition ? { partition: input.partition } : {}) })) {
      const sid = statement.Sid === "ListParameters" || i === 0 ? statement.Sid : `${statement.Sid}${i}`;
      if (!bySid.has(sid)) bySid.set(sid, { ...statement, Sid: sid });
    }
  });
  return { Version: "2012-10-17", Statement: [...bySid.values()] };
}
