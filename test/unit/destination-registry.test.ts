import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { iamPolicy } from "../../src/destinations/aws-secrets-manager/iam-policy.js";
import { awsSecretsManagerProfile } from "../../src/destinations/aws-secrets-manager/profile.js";
import { DEFAULT_DESTINATION_TYPE, DESTINATION_PROVIDERS, destinationProvider } from "../../src/destinations/registry.js";

const head = "name: n\nsource: { mount: m }\n";

describe("destination.type selects a registered provider", () => {
  test("a config without type is an aws-secrets-manager config, parsed exactly as with the type written out", () => {
    for (const file of ["examples/secretbridge.yaml", "examples/multi-mapping.yaml"]) {
      const text = readFileSync(file, "utf8");
      const typed = text.replace(/^destination:\n/m, "destination:\n  type: aws-secrets-manager\n");
      assert.notEqual(typed, text, `${file} has a destination block`);
      const parsed = parseConfigText(text, file);
      assert.equal(parsed.destination.type, "aws-secrets-manager");
      assert.deepEqual(parsed, parseConfigText(typed, file));
    }
    assert.equal(parseConfigText(head, "c").destination.type, "aws-secrets-manager");
  });

  test("an unknown type is refused with the types that are registered", () => {
    assert.throws(
      () => parseConfigText(`${head}destination: { type: aws-ssm-parameterstore, prefix: p }`, "c"),
      (e: Error) => e.message === 'c is invalid:\n  - destination.type: "aws-ssm-parameterstore" is not a destination type; registered: aws-secrets-manager, aws-ssm-parameter-store',
    );
    assert.throws(
      () => parseConfigText(`${head}destination: { type: 7 }`, "c"),
      (e: Error) => e.message === "c is invalid:\n  - destination.type: 7 is not a destination type; registered: aws-secrets-manager, aws-ssm-parameter-store",
    );
  });

  test("each registered provider brings its settings, profile, factory and IAM policy, under a unique type", () => {
    assert.deepEqual(
      DESTINATION_PROVIDERS.map((p) => p.type),
      ["aws-secrets-manager", "aws-ssm-parameter-store"],
    );
    assert.equal(DEFAULT_DESTINATION_TYPE, "aws-secrets-manager");
    const sm = destinationProvider("aws-secrets-manager");
    assert.equal(sm.profile(), awsSecretsManagerProfile);
    assert.deepEqual(Object.keys(sm.configFields).sort(), ["assumeRole", "description", "kmsKeyId", "maxAttempts", "profile", "rateLimits", "region", "replicaRegions", "resourcePolicy"]);
    assert.equal(typeof sm.build, "function");
    assert.equal(sm.iamPolicy, iamPolicy);
    const ssm = destinationProvider("aws-ssm-parameter-store");
    assert.deepEqual(Object.keys(ssm.configFields).sort(), ["assumeRole", "kmsKeyId", "maxAttempts", "profile", "rateLimits", "region", "tier"]);
    // The profile follows the settings: the tier decides the value limit.
    const value = { secretString: "x".repeat(5000) };
    assert.equal(ssm.profile({ tier: "advanced" } as never).valueProblem(value), undefined);
    assert.match(ssm.profile({ tier: "standard" } as never).valueProblem(value) ?? "", /the standard tier allows at most 4096/);
    assert.equal(typeof ssm.build, "function");
  });
});
