// Parameter Store's profile and write record, without a server: the name rules (characters,
// length, 15 levels, reserved first segment), the tiers, and the record a value write leaves in
// the description (never a value; malformed or foreign descriptions are not ours).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configSchema } from "../../src/config/schema.js";
import { decodeRecord, encodeRecord, parameterStoreProfile, parameterStoreStatements, tierFor } from "../../src/destinations/aws-ssm-parameter-store/index.js";

const profile = parameterStoreProfile("standard");

describe("Parameter Store name rules", () => {
  test("a name of 15 levels passes; 16 levels, other characters, reserved prefixes and 1,011+ characters do not", () => {
    const levels = (n: number) => Array.from({ length: n }, (_, i) => `l${i}`).join("/");
    assert.equal(profile.nameProblem(levels(15)), undefined);
    assert.equal(profile.nameProblem(levels(16)), `the parameter name /${levels(16)} has 16 levels; Parameter Store allows at most 15: use a shorter path or a name template with fewer levels`);
    assert.equal(profile.nameProblem("p/a+b@c"), 'the name contains characters Parameter Store does not allow ("+" "@"); allowed: A-Z a-z 0-9 _ . - /: rename the source secret');
    assert.equal(profile.nameProblem("ssm-team/x"), 'the parameter name /ssm-team/x starts with "aws" or "ssm", which Parameter Store reserves: change the prefix');
    assert.match(profile.nameProblem(`p/${"a".repeat(1009)}`) ?? "", /is 1012 characters; Parameter Store allows at most 1011/);
    assert.equal(profile.nameProblem(`p/${"a".repeat(1008)}`), undefined);
  });
});

describe("Parameter Store tiers", () => {
  test("standard holds 4,096 bytes; advanced and auto 8,192; auto picks advanced only above 4,096", () => {
    assert.deepEqual([tierFor(4096, "standard"), tierFor(4097, "standard")], ["Standard", undefined]);
    assert.deepEqual([tierFor(4096, "auto"), tierFor(4097, "auto"), tierFor(8193, "auto")], ["Standard", "Advanced", undefined]);
    assert.deepEqual([tierFor(10, "advanced"), tierFor(8192, "advanced")], ["Advanced", "Advanced"]);
  });

  test("the value problems say what to do, and that advanced costs money", () => {
    assert.equal(
      profile.valueProblem({ secretString: "é".repeat(2049) }),
      "the value is 4098 bytes; the standard tier allows at most 4096: set destination.tier to advanced or auto (advanced parameters are billed), or split the secret in the source",
    );
    assert.equal(parameterStoreProfile("auto").valueProblem({ secretString: "x".repeat(8193) }), "the value is 8193 bytes; Parameter Store allows at most 8192 (advanced tier): split the secret in the source");
    assert.equal(profile.valueProblem({ secretBinary: new Uint8Array([1]) }), "the value is binary; Parameter Store holds text only: use value shape json or a text key");
  });
});

describe("Parameter Store write warnings (tier auto costs money)", () => {
  test("auto warns for a value that makes the parameter advanced, and for nothing else; standard and advanced never read values to warn", () => {
    const auto = parameterStoreProfile("auto");
    assert.deepEqual(auto.writeWarnings?.({ secretString: "x".repeat(4097) }), [
      "advanced tier: billed per parameter per month (the value is 4097 bytes, over the standard tier's 4096; tier: auto)",
    ]);
    assert.deepEqual(auto.writeWarnings?.({ secretString: "x".repeat(4096) }), []);
    assert.deepEqual(auto.writeWarnings?.({ secretString: "x".repeat(8193) }), [], "too large for any tier: a value problem, not a warning");
    assert.equal(parameterStoreProfile("standard").writeWarnings, undefined);
    assert.equal(parameterStoreProfile("advanced").writeWarnings, undefined);
  });
});

describe("Parameter Store write record", () => {
  test("round-trips token, version and tags; drops the tags when they do not fit in 1,024 characters", () => {
    const tags = { "secretbridge:sync": "t", "secretbridge:source-version": "3" };
    assert.deepEqual(decodeRecord(encodeRecord({ token: "tok", version: 4, tags })), { token: "tok", version: 4, tags });
    const long = encodeRecord({ token: "tok", version: 4, tags: { "secretbridge:path": "p".repeat(1100) } });
    assert.equal(long, 'secretbridge {"t":"tok","v":4}');
    assert.deepEqual(decodeRecord(long), { token: "tok", version: 4 });
  });

  test("a description that is not a record is no proof", () => {
    assert.equal(decodeRecord(undefined), undefined);
    assert.equal(decodeRecord("database password for app"), undefined);
    assert.equal(decodeRecord("secretbridge {not json"), undefined);
    assert.equal(decodeRecord('secretbridge {"t":1,"v":"2"}'), undefined);
    assert.deepEqual(decodeRecord('secretbridge {"t":"x","v":2,"tags":{"a":1}}'), { token: "x", version: 2 });
  });
});

describe("Parameter Store config", () => {
  const base = { name: "s", source: { mount: "kv" }, destination: { type: "aws-ssm-parameter-store", prefix: "app" } };
  test("deletion defaults to retain, tier to standard; tag is not a strategy here, at the top or in a mapping", () => {
    const parsed = configSchema.parse(base);
    assert.equal(parsed.destination.type, "aws-ssm-parameter-store");
    assert.deepEqual([parsed.policies.deletion.strategy, (parsed.destination as { tier?: string }).tier], ["retain", "standard"]);
    const bad = configSchema.safeParse({ ...base, policies: { deletion: { strategy: "tag" } }, mappings: [{ mount: "kv", policies: { deletion: { strategy: "tag" } } }] });
    assert.deepEqual(
      bad.error?.issues.map((i) => [i.path.join("."), i.message]),
      [
        ["policies.deletion.strategy", "tag is not a deletion strategy of aws-ssm-parameter-store; it offers retain or delete"],
        ["mappings.0.policies.deletion.strategy", "tag is not a deletion strategy of aws-ssm-parameter-store; it offers retain or delete"],
      ],
    );
    assert.equal(configSchema.safeParse({ ...base, destination: { prefix: "app" }, policies: { deletion: { strategy: "tag" } } }).success, true);
  });

  test("Secrets Manager's own settings (a recovery window, replicas, a resource policy) are refused here, not ignored", () => {
    const bad = configSchema.safeParse({
      ...base,
      policies: { deletion: { strategy: "delete", recoveryWindowDays: 7 } },
      mappings: [{ mount: "kv", replicaRegions: [{ region: "eu-west-1" }], resourcePolicy: { Version: "2012-10-17" }, policies: { deletion: { forceDeleteWithoutRecovery: true } } }],
    });
    assert.deepEqual(
      bad.error?.issues.map((i) => [i.path.join("."), i.message]),
      [
        ["policies.deletion.recoveryWindowDays", "is a setting of aws-secrets-manager; destination.type is aws-ssm-parameter-store"],
        ["mappings.0.replicaRegions", "is a setting of aws-secrets-manager; destination.type is aws-ssm-parameter-store"],
        ["mappings.0.resourcePolicy", "is a setting of aws-secrets-manager; destination.type is aws-ssm-parameter-store"],
        ["mappings.0.policies.deletion.forceDeleteWithoutRecovery", "is a setting of aws-secrets-manager; destination.type is aws-ssm-parameter-store"],
      ],
    );
    // The same settings under Secrets Manager are its own.
    assert.equal(configSchema.safeParse({ ...base, destination: { prefix: "app" }, policies: { deletion: { strategy: "delete", recoveryWindowDays: 7 } }, mappings: [{ mount: "kv", replicaRegions: [{ region: "eu-west-1" }] }] }).success, true);
  });
});

describe("Parameter Store IAM statements", () => {
  test("list on *, writes and tags under the prefix; reads, deletes and the key only when used", () => {
    const base = { account: "123456789012", region: "eu-west-1", prefix: "hybrid-aws-secrets", delete: false, valueReads: false };
    assert.deepEqual(parameterStoreStatements(base), [
      { Sid: "ListParameters", Effect: "Allow", Action: "ssm:DescribeParameters", Resource: "*" },
      {
        Sid: "WriteParametersUnderThePrefix",
        Effect: "Allow",
        Action: ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource", "ssm:GetParameterHistory"],
        Resource: "arn:aws:ssm:eu-west-1:123456789012:parameter/hybrid-aws-secrets/*",
      },
    ]);
    const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const full = parameterStoreStatements({ ...base, delete: true, valueReads: true, kmsKeyArn: key });
    assert.deepEqual(full[1]?.Action, ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource", "ssm:GetParameterHistory", "ssm:GetParameters", "ssm:DeleteParameter"]);
    assert.deepEqual(full[2], {
      Sid: "UseTheParameterKeyThroughParameterStore",
      Effect: "Allow",
      Action: ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
      Resource: key,
      Condition: { StringEquals: { "kms:ViaService": "ssm.eu-west-1.amazonaws.com" } },
    });
  });

  test("a prefix that would widen the ARN and a key alias are refused", () => {
    const base = { account: "123456789012", region: "eu-west-1", delete: false, valueReads: false };
    assert.throws(() => parameterStoreStatements({ ...base, prefix: "app*" }), { name: "SyncError", message: 'prefix "app*": only A-Z a-z 0-9 _ . - / may appear in a policy\'s parameter ARN' });
    assert.throws(() => parameterStoreStatements({ ...base, prefix: "app", kmsKeyArn: "alias/app" }), { name: "SyncError", message: /needs the key's ARN/ });
  });
});
