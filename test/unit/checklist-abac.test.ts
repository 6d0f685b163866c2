// The ABAC part of the cutover checklist: which principals' policies let them read a secret given
// its resource tags, with what is not evaluated named rather than guessed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { abacVerdicts, parseAbacPolicy } from "../../src/destinations/aws-secrets-manager/checklist.js";

const ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:apps/payments/db-AbCdEf";
const doc = (...Statement: unknown[]) => ({ Version: "2012-10-17", Statement });
const read = (Condition: unknown, Effect = "Allow", Resource: unknown = "*") => ({ Effect, Action: ["secretsmanager:GetSecretValue"], Resource, Condition });

describe("abacVerdicts", () => {
  test("an explicit Deny wins over an Allow; NotEquals and IgnoreCase; a missing tag never matches", () => {
    const principals = parseAbacPolicy(
      JSON.stringify({
        principals: {
          denied: { policy: doc(read({ StringEquals: { "aws:ResourceTag/team": "payments" } }), read({ StringEquals: { "aws:ResourceTag/classification": "restricted" } }, "Deny")) },
          "not-prod": { policy: doc(read({ StringNotEquals: { "secretsmanager:ResourceTag/env": "prod" } })) },
          caseless: { policy: doc(read({ StringEqualsIgnoreCase: { "aws:ResourceTag/team": "PAYMENTS" } })) },
          "needs-owner": { policy: doc(read({ StringEquals: { "aws:ResourceTag/owner": "x" } })) },
          "other-arn": { policy: doc(read(undefined, "Allow", "arn:aws:secretsmanager:*:*:secret:apps/other/*")) },
        },
      }),
      "abac.json",
    );
    assert.deepEqual(abacVerdicts(principals, ARN, { team: "payments", env: "test", classification: "restricted" }), { allowed: ["not-prod", "caseless"], unknown: [] });
  });

  test("a bare policy document is one principal named policy; a policy variable the principal lacks is unknown, not false", () => {
    const bare = parseAbacPolicy(JSON.stringify(doc(read({ StringLike: { "aws:ResourceTag/app": "pay*" } }))), "abac.json");
    assert.deepEqual(abacVerdicts(bare, ARN, { app: "payments" }), { allowed: ["policy"], unknown: [] });
    const variable = parseAbacPolicy(JSON.stringify({ principals: { untagged: { policy: doc(read({ StringEquals: { "aws:ResourceTag/team": "${aws:PrincipalTag/team}" } })) } } }), "abac.json");
    assert.deepEqual(abacVerdicts(variable, ARN, { team: "payments" }), { allowed: [], unknown: ["untagged (a policy variable in aws:ResourceTag/team is not among untagged's tags)"] });
  });

  test("a file that is not a policy is a config error naming the file", () => {
    assert.throws(() => parseAbacPolicy("{", "--abac-policy abac.json"), { name: "SyncError", errorClass: "config-invalid", message: /^--abac-policy abac\.json: not JSON / });
    assert.throws(() => parseAbacPolicy(JSON.stringify({ principals: { a: { policy: doc({ Effect: "Maybe" }) } } }), "--abac-policy abac.json"), {
      errorClass: "config-invalid",
      message: '--abac-policy abac.json: a Statement[0] has Effect "Maybe", not Allow or Deny',
    });
  });
});
