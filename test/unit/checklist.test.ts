// The cutover checklist's tag check: the tags a secret must carry are the ABAC tag rules' (the
// planner's own `ruleTagsOf`), so an immutable tag kept as set on create is right, and a required
// tag the source gives no value is missing, whatever else the mapping copies or sets.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checklistRows } from "../../src/core/checklist.js";
import { createMapping, type ResolvedMapping } from "../../src/core/mapping.js";
import type { DestinationSecretMeta, SourceSecretMeta } from "../../src/core/model.js";
import { createTags, emptyFacts, planStep } from "../../src/core/plan.js";
import { requestTokenFor } from "../../src/core/request-token.js";
import { TAG } from "../../src/core/tags.js";
import { awsSecretsManagerProfile as profile } from "../../src/destinations/aws-secrets-manager/profile.js";
import { mappingSpec } from "../helpers/mapping-spec.js";

const src = (path: string, customMetadata: Record<string, string>): SourceSecretMeta => ({ path, version: 1, state: "present", customMetadata });
/** A secret this mapping wrote from `secret` (its tags then), proven by its version id. */
const ours = (m: ResolvedMapping, secret: SourceSecretMeta): DestinationSecretMeta => {
  const tags = createTags(m, secret, profile);
  const name = m.nameFor(secret.path);
  return { name, tags, currentVersionId: requestTokenFor({ syncName: m.syncName, source: m.source, sourcePath: secret.path, version: 1, destinationName: name, tagKeys: tags[TAG.tagKeys] ?? "" }) };
};

describe("checklist tags", () => {
  test("required tags come from the tag rules: an immutable tag kept on the destination is right, a rule without a source value is missing, copied and static tags are not required", () => {
    const tagRules = { required: { owner: { fromMetadata: "owner" }, app: { fromMetadata: "app" }, environment: { value: "prod" } }, onMissing: "warn" as const, immutable: ["owner"] };
    const m = createMapping(mappingSpec({ tagRules, staticTags: { team: "payments" }, copyCustomMetadata: true }));
    // kept: written when its owner was team-a (immutable); the source now says team-b.
    const kept = src("app/kept", { owner: "team-b", app: "pay" });
    // lacking: no owner in the source, then or now.
    const lacking = src("app/lacking", { app: "pay" });
    const secrets = [kept, lacking, src("app/new", { owner: "team-c", app: "pay", extra: "x" })];
    const destination = [ours(m, { ...kept, customMetadata: { owner: "team-a", app: "pay" } }), ours(m, lacking)];
    const inputs = [{ mapping: m, source: { secrets, problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: destination } }];
    const { plan } = planStep(inputs, emptyFacts(), profile, {});
    const rows = checklistRows(inputs, plan, { paths: ["app/kept", "app/lacking", "app/new"] });
    assert.deepEqual(
      rows.map((r) => [r.path, r.exists, { ...r.requiredTags }, r.missingTags]),
      [
        ["app/kept", true, { app: "pay", environment: "prod", owner: "team-a" }, []],
        ["app/lacking", true, { app: "pay", environment: "prod" }, ["owner"]],
        ["app/new", false, { app: "pay", environment: "prod", owner: "team-c" }, ["app", "environment", "owner"]],
      ],
    );
  });

  test("without tag rules no tag is required: the mapping's other tags are the sync's business, not the cutover's", () => {
    const m = createMapping(mappingSpec({ staticTags: { team: "payments" }, copyCustomMetadata: true }));
    const secret = src("app/a", { owner: "team-a" });
    const inputs = [{ mapping: m, source: { secrets: [secret], problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: [] } }];
    const { plan } = planStep(inputs, emptyFacts(), profile, {});
    const rows = checklistRows(inputs, plan, { paths: ["app/a"] });
    assert.deepEqual(rows.map((r) => [r.path, r.exists, { ...r.requiredTags }, r.missingTags]), [["app/a", false, {}, []]]);
  });
});
