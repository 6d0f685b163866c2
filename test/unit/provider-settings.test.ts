import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMapping, type ResolvedMapping } from "../../src/core/mapping.js";
import type { DestinationSecretMeta, ProviderData, SourceSecretMeta } from "../../src/core/model.js";
import { emptyFacts, planRun } from "../../src/core/plan.js";
import type { DestinationProfile } from "../../src/core/profile.js";
import { awsSecretsManagerProfile } from "../../src/destinations/aws-secrets-manager/profile.js";
import { policyHash } from "../../src/destinations/aws-secrets-manager/settings.js";
import { applied } from "../helpers/actions.js";
import { mappingSpec } from "../helpers/mapping-spec.js";

const src = (version: number): SourceSecretMeta => ({ path: "db", version, state: "present" });
const plan = (m: ResolvedMapping, version: number, dest: DestinationSecretMeta[], profile: DestinationProfile) =>
  applied(planRun([{ mapping: m, source: { secrets: [src(version)], problems: [], method: "detailed-metadata-scan" }, destination: { secrets: dest } }], emptyFacts(), profile), [m], profile).actions[0];
/** The secret a create of this mapping leaves: its tags, and the request token as its current version. */
function written(m: ResolvedMapping, version: number, profile: DestinationProfile): DestinationSecretMeta {
  const create = plan(m, version, [], profile);
  assert.equal(create?.type, "create");
  return { name: "hybrid-aws-secrets/db", tags: create?.tags ?? {}, currentVersionId: create?.requestToken ?? "" };
}

describe("provider settings travel as provider data that only the provider reads", () => {
  test("Secrets Manager: a create carries key, description, replicas and policy as provider data, not as action fields", () => {
    const m = createMapping(mappingSpec({ destinationOptions: { replicaRegions: [{ region: "eu-west-1", kmsKeyId: "alias/eu" }], kmsKeyId: "alias/k", description: "d", resourcePolicy: "{}" } }));
    const create = plan(m, 1, [], awsSecretsManagerProfile);
    assert.deepEqual(create?.provider, { kmsKeyId: "alias/k", description: "d", replicas: [{ region: "eu-west-1", kmsKeyId: "alias/eu" }], resourcePolicy: "{}" });
    assert.deepEqual([create?.tags?.["secretbridge:replicas"], create?.tags?.["secretbridge:resource-policy"]], ["eu-west-1", policyHash("{}")]);
    assert.equal(create?.changes, undefined);
  });

  test("Secrets Manager: a value write brings a changed resource policy up to date with it, so the tag never records a policy that was not set", () => {
    const before = createMapping(mappingSpec({ destinationOptions: { replicaRegions: [], resourcePolicy: '{"v":1}' } }));
    const after = createMapping(mappingSpec({ destinationOptions: { replicaRegions: [], resourcePolicy: '{"v":2}' } }));
    const update = plan(after, 2, [written(before, 1, awsSecretsManagerProfile)], awsSecretsManagerProfile);
    assert.deepEqual([update?.type, update?.changes, update?.provider], ["update", ["value", "tags", "policy"], { resourcePolicy: '{"v":2}' }]);
    assert.equal(update?.tags?.["secretbridge:resource-policy"], policyHash('{"v":2}'));
  });

  test("Secrets Manager: replicas and policy changed together are brought up to date in one tags-only update", () => {
    const before = createMapping(mappingSpec({ destinationOptions: { replicaRegions: [], resourcePolicy: '{"v":1}' } }));
    const after = createMapping(mappingSpec({ destinationOptions: { replicaRegions: [{ region: "eu-west-1" }], resourcePolicy: '{"v":2}' } }));
    const update = plan(after, 1, [written(before, 1, awsSecretsManagerProfile)], awsSecretsManagerProfile);
    assert.deepEqual(
      [update?.type, update?.changes, update?.reason, update?.provider],
      ["update", ["replicas", "policy", "tags"], "replica Regions: none -> eu-west-1; resource policy out of date", { replicas: [{ region: "eu-west-1" }], resourcePolicy: '{"v":2}' }],
    );
  });

  test("another provider's setting goes through the same planner: recorded in its tag, changed by a tags-only update", () => {
    const tier = (options: ProviderData | undefined) => String((options as { tier?: string } | undefined)?.tier ?? "standard");
    const profile: DestinationProfile = {
      ...awsSecretsManagerProfile,
      kind: "test-store",
      settingTags: (options) => ({ "secretbridge:tier": tier(options) }),
      createData: (options) => ({ tier: tier(options) }),
      settingUpdates: (options, recorded) =>
        recorded["secretbridge:tier"] === tier(options) ? [] : [{ change: "tier", reason: `tier: ${recorded["secretbridge:tier"] ?? "none"} -> ${tier(options)}`, provider: { tier: tier(options) } }],
    };
    const standard = createMapping(mappingSpec({ destinationOptions: { tier: "standard" } }));
    const advanced = createMapping(mappingSpec({ destinationOptions: { tier: "advanced" } }));
    assert.deepEqual(plan(standard, 1, [], profile)?.provider, { tier: "standard" });
    const update = plan(advanced, 1, [written(standard, 1, profile)], profile);
    assert.deepEqual([update?.type, update?.changes, update?.reason, update?.provider], ["update", ["tier", "tags"], "tier: standard -> advanced", { tier: "advanced" }]);
  });
});

describe("replica Regions recorded in a tag AWS accepts", () => {
  test("two replica Regions: the create is planned, its tag lists them space-separated (a comma is not allowed in AWS tag values)", () => {
    const m = createMapping(mappingSpec({ destinationOptions: { replicaRegions: [{ region: "us-west-2" }, { region: "eu-west-1" }] } }));
    const create = plan(m, 1, [], awsSecretsManagerProfile);
    assert.deepEqual([create?.type, create?.failure, create?.tags?.["secretbridge:replicas"]], ["create", undefined, "eu-west-1 us-west-2"]);
  });
});
