// The migration keys of the config (ABAC tag rules, shell secrets, selection by custom_metadata):
// how they resolve onto each mapping, and the message a user gets for each malformed value.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { waveSelection } from "../../src/core/cutover.js";
import { main } from "../../src/runtime/cli/main.js";
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

describe("waves: a config list of named selections", () => {
  const waves = parseConfigText(`${base}waves:
  - name: wave-3
    select: { wave: "3" }
  - name: payments.prod
    select: { app: payments, environment: [prod, "prod-eu"] }
`).waves;
  test("parse to name and select, values as lists", () => {
    assert.deepEqual(waves, [
      { name: "wave-3", select: { wave: ["3"] } },
      { name: "payments.prod", select: { app: ["payments"], environment: ["prod", "prod-eu"] } },
    ]);
  });
  test("--wave picks one by name, or selects KEY=VALUE as before; an unknown name lists the config's", () => {
    assert.deepEqual(waveSelection("payments.prod", waves), { name: "payments.prod", select: { app: ["payments"], environment: ["prod", "prod-eu"] } });
    assert.deepEqual(waveSelection("wave=3", waves), { name: null, select: { wave: ["3"] } });
    assert.deepEqual(waveSelection("wave=a=b", undefined), { name: null, select: { wave: ["a=b"] } });
    assert.deepEqual(waveSelection("wave-4", waves), { problem: 'unknown wave "wave-4": this config\'s waves are wave-3, payments.prod (or select by custom_metadata with --wave KEY=VALUE)' });
    assert.deepEqual(waveSelection("wave-4", undefined), { problem: 'unknown wave "wave-4": this config lists no waves (add waves: [{ name: "wave-4", select: { KEY: VALUE } }], or select by custom_metadata with --wave KEY=VALUE)' });
    assert.deepEqual(waveSelection("=3", waves), { problem: '--wave "=3" is neither a wave name of this config nor KEY=VALUE (a custom_metadata key and its value, e.g. wave=3)' });
  });
  test("release, adopt and discover exit 2 on an unknown wave, naming the config's waves, before any peer is asked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-waves-"));
    const file = join(dir, "c.yaml");
    writeFileSync(file, `name: p\nsource: { mount: m, address: "http://127.0.0.1:9" }\nwaves:\n  - { name: wave-3, select: { wave: "3" } }\n`);
    for (const args of [["release", "--wave", "wave-9"], ["adopt", "--wave", "wave-9"], ["discover", "--checklist", "--wave", "wave-9"], ["discover", "--wave", "wave-9"]]) {
      let stderr = "";
      const code = await main([...args, "-c", file], { env: {}, isTTY: false, output: { out: () => undefined, err: (t) => void (stderr += t) } });
      assert.deepEqual([code, stderr], [2, `secretbridge: [config-invalid] unknown wave "wave-9": this config's waves are wave-3 (or select by custom_metadata with --wave KEY=VALUE)`], args.join(" "));
    }
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
    ["waves as a map", base + "waves: { wave-3: { wave: \"3\" } }\n", /waves: a list of \{ name, select \}, e.g\. waves: \[\{ name: wave-3, select: \{ wave: "3" \} \}\]/],
    ["waves empty", base + "waves: []\n", /waves: list at least one wave, or remove the key/],
    ["wave names twice", base + "waves:\n  - { name: w, select: { wave: \"3\" } }\n  - { name: w, select: { wave: \"4\" } }\n", /waves\[1\]\.name: "w" is also the name of waves\[0\]; wave names are unique/],
    ["wave with an empty select", base + "waves:\n  - { name: w, select: {} }\n", /waves\[0\]\.select: list at least one custom_metadata key, or remove select/],
    ["wave without a select", base + "waves:\n  - { name: w }\n", /waves\[0\]\.select: Invalid input: expected record, received undefined|waves\[0\]\.select: a map of custom_metadata key to value/],
    ["wave name with =", base + "waves:\n  - { name: \"wave=3\", select: { wave: \"3\" } }\n", /waves\[0\]\.name: 1-64 characters of A-Z a-z 0-9 _ \. -, starting with a letter or digit \(--wave KEY=VALUE selects by custom_metadata without a name\)/],
    ["wave name with a control character", base + "waves:\n  - { name: \"w\\e[2J\", select: { wave: \"3\" } }\n", /waves\[0\]\.name: 1-64 characters/],
    ["wave name empty", base + "waves:\n  - { name: \"\", select: { wave: \"3\" } }\n", /waves\[0\]\.name: 1-64 characters/],
    ["wave select value as a number", base + "waves:\n  - { name: w, select: { wave: 3 } }\n", /waves\[0\]\.select\.wave: custom_metadata values are strings: quote numbers/],
    ["wave with an unknown key", base + "waves:\n  - { name: w, select: { wave: \"3\" }, paths: [a] }\n", /unknown key "paths" under waves\[0\]/],
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
