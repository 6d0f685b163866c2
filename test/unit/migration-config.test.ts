// The migration keys of the config (ABAC tag rules, shell secrets, selection by custom_metadata):
// how they resolve onto each mapping, and the message a user gets for each malformed value.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { iamMappingsOf } from "../../src/runtime/iam-policy.js";

const base = "name: p\nsource:\n  mount: m\n";
const resolve = (text: string) => resolveConfig(parseConfigText(text), {});

describe("migration keys resolve onto mappings", () => {
  test("destination tag rules are the default; a mapping adds required tags (its key wins) and immutable tags, and may override onMissingTag", () => {
    const r = resolve(`name: p
source: { address: "http://127.0.0.1:8200", select: { wave: "1" } }
destination:
  requiredTags:
    owner: { fromMetadata: owner }
    environment: { value: prod }
  immutableTags: [owner]
mappings:
  - mount: a
    prefix: a
  - mount: b
    prefix: b
    select: { app: payments, wave: ["3", "4"] }
    requiredTags:
      environment: { value: staging }
      data-classification: { fromMetadata: classification }
    onMissingTag: warn
    immutableTags: [data-classification, owner]
policies:
  onConflict: adopt-if-placeholder
  placeholderValues: ["", "{}", CHANGEME]
`);
    const [a, b] = r.mappings;
    assert.deepEqual(a?.tagRules, { required: { owner: { fromMetadata: "owner" }, environment: { value: "prod" } }, onMissing: "fail", immutable: ["owner"] });
    assert.deepEqual(a?.select, { wave: ["1"] });
    assert.deepEqual(b?.tagRules, {
      required: { owner: { fromMetadata: "owner" }, environment: { value: "staging" }, "data-classification": { fromMetadata: "classification" } },
      onMissing: "warn",
      immutable: ["owner", "data-classification"],
    });
    assert.deepEqual(b?.select, { app: ["payments"], wave: ["3", "4"] });
    assert.equal(b?.selects({ customMetadata: { app: "payments", wave: "4" } }), true);
    assert.equal(b?.selects({ customMetadata: { app: "payments", wave: "5" } }), false);
    assert.equal(b?.selects({}), false);
    assert.deepEqual(a?.policies.placeholderValues, ["", "{}", "CHANGEME"]);
    assert.equal(a?.policies.onConflict, "adopt-if-placeholder");
  });

  test("defaults: no selection, no tag rules, placeholders empty and {}", () => {
    const [m] = resolve(base).mappings;
    assert.deepEqual(m?.select, {});
    assert.equal(m?.selects({}), true);
    assert.deepEqual(m?.tagRules, { required: {}, onMissing: "fail", immutable: [] });
    assert.deepEqual(m?.policies.placeholderValues, ["", "{}"]);
  });

  test("adopt-if-placeholder reads destination values: the IAM policy of the mapping allows them", () => {
    const reads = (policy: string) => iamMappingsOf(resolve(`${base}policies:\n  onConflict: ${policy}\n`)).map((m) => m.valueReads);
    assert.deepEqual(reads("adopt-if-placeholder"), [true]);
    assert.deepEqual(reads("fail"), [false]);
  });
});

describe("malformed migration keys get a message a user can act on", () => {
  const cases: [string, string, RegExp][] = [
    ["select value as a number", base + "  select: { wave: 3 }\n", /source\.select\.wave: custom_metadata values are strings: quote numbers \(wave: "3"\), or list several/],
    ["select as a list", base + "  select: [wave]\n", /source\.select: a map of custom_metadata key to value, e.g. select: \{ wave: "3" \}/],
    ["select empty", base + "  select: {}\n", /source\.select: list at least one custom_metadata key, or remove select/],
    ["select with an empty list", base + "  select: { wave: [] }\n", /source\.select\.wave: list at least one value/],
    ["select with a nested map", base + "  select: { wave: { eq: 3 } }\n", /source\.select\.wave: custom_metadata values are strings/],
    ["required tag with both sources", base + "destination:\n  requiredTags:\n    owner: { fromMetadata: owner, value: x }\n", /destination\.requiredTags\.owner: each required tag is \{ fromMetadata: <custom_metadata key> \} or \{ value: <text> \}/],
    ["required tag as plain text", base + "destination:\n  requiredTags:\n    owner: team-a\n", /destination\.requiredTags\.owner: each required tag is/],
    ["required tag with an empty static value", base + "destination:\n  requiredTags:\n    owner: { value: \"\" }\n", /destination\.requiredTags\.owner(\.value)?: (an empty tag value cannot match an ABAC condition|each required tag is)/],
    ["required tag with a reserved key", base + "destination:\n  requiredTags:\n    \"aws:owner\": { value: x }\n", /destination\.requiredTags\.aws:owner: the aws: tag prefix is reserved by AWS/],
    ["required tag named like ours", base + "destination:\n  requiredTags:\n    \"secretbridge:sync\": { value: x }\n", /the secretbridge: tag prefix is reserved for ownership tags/],
    ["onMissingTag typo", base + "destination:\n  onMissingTag: ignore\n", /destination\.onMissingTag: must be fail \(the secret is not written\) or warn \(written without the tag\)/],
    ["immutableTags as text", base + "destination:\n  immutableTags: owner\n", /destination\.immutableTags: a list of tag keys, e.g. \[owner, data-classification\]/],
    ["immutableTags twice", base + "destination:\n  immutableTags: [owner, owner]\n", /destination\.immutableTags: lists a tag key twice/],
    ["immutableTags reserved", base + "destination:\n  immutableTags: [\"aws:x\"]\n", /destination\.immutableTags\[0\]: the aws: tag prefix is reserved by AWS/],
    ["onConflict typo", base + "policies:\n  onConflict: adopt-if-empty\n", /policies\.onConflict: must be fail, adopt, adopt-if-equal or adopt-if-placeholder/],
    ["placeholderValues as text", base + "policies:\n  placeholderValues: CHANGEME\n", /policies\.placeholderValues: a list of values, e.g. \["", "\{\}", "CHANGEME"\]/],
  ];
  for (const [what, text, message] of cases) {
    test(what, () => {
      assert.throws(() => parseConfigText(text), (e: Error) => {
        assert.match(e.message, message);
        return true;
      });
    });
  }
});
