// The configuration reference in docs/configuration.md is generated from the schema the config is
// parsed with: these tests fail when the page and the schema drift apart (regenerate with
// `npm run docs:config`), and when a key reaches the page without a description.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { z } from "zod";
import { BEGIN, configReference, END, referencePage, referenceRows, withReference } from "../../scripts/config-reference.js";

describe("the configuration reference (docs/configuration.md)", () => {
  const rows = referenceRows();

  test("is what npm run docs:config generates from the schema", () => {
    const page = readFileSync(referencePage, "utf8");
    assert.ok(page.includes(BEGIN) && page.includes(END), "docs/configuration.md keeps the generated block's markers");
    assert.equal(page, withReference(page, configReference(rows)), "docs/configuration.md differs from the schema: run npm run docs:config");
  });

  test("every key has a description on the schema (.describe() or .meta({ description }))", () => {
    assert.deepEqual(rows.filter((r) => !r.description).map((r) => r.path), []);
  });

  test("documents every provider's keys, each marked with the provider it belongs to", () => {
    const { description, ...tier } = rows.find((r) => r.path === "destination.tier") ?? { description: undefined };
    assert.deepEqual(tier, { path: "destination.tier", only: "type: aws-ssm-parameter-store", type: "string", allowed: "`standard`, `advanced`, `auto`", default: "`standard`" });
    assert.match(description ?? "", /^standard: values up to 4 KB, free; advanced: up to 8 KB, billed/);
    const windowDays = rows.find((r) => r.path === "mappings[].policies.deletion.recoveryWindowDays");
    assert.equal(windowDays?.only, "destination.type: aws-secrets-manager");
    assert.equal(windowDays?.default, "`policies.deletion.recoveryWindowDays`");
    assert.equal(rows.find((r) => r.path === "destination.type")?.default, "`aws-secrets-manager`");
    assert.equal(rows.find((r) => r.path === "targets[].destination")?.type, "object, as `destination`");
  });

  test("reads type, bounds, default and description off a schema", () => {
    const schema = z.strictObject({
      name: z.string().describe("The name."),
      workers: z.number().int().min(1).max(64).default(4).describe("How many."),
      timeout: z.number().positive().max(60).optional().meta({ description: "Seconds.", documentedDefault: "the SDK's" }),
      mode: z.enum(["fast", "safe"]).default("safe").describe("How."),
      tags: z.array(z.string()).max(10).default([]).describe("Labels."),
      nested: z.strictObject({ on: z.boolean().default(false).describe("Switch.") }).optional().describe("A block."),
    });
    assert.deepEqual(configReference(referenceRows(schema)).split("\n"), [
      "### `name`",
      "",
      "| key | type | allowed | default | description |",
      "| --- | --- | --- | --- | --- |",
      "| `name` | string |  | required | The name. |",
      "",
      "### `workers`",
      "",
      "| key | type | allowed | default | description |",
      "| --- | --- | --- | --- | --- |",
      "| `workers` | integer | 1-64 | `4` | How many. |",
      "",
      "### `timeout`",
      "",
      "| key | type | allowed | default | description |",
      "| --- | --- | --- | --- | --- |",
      "| `timeout` | number | > 0, <= 60 | the SDK's | Seconds. |",
      "",
      "### `mode`",
      "",
      "| key | type | allowed | default | description |",
      "| --- | --- | --- | --- | --- |",
      "| `mode` | string | `fast`, `safe` | `safe` | How. |",
      "",
      "### `tags`",
      "",
      "| key | type | allowed | default | description |",
      "| --- | --- | --- | --- | --- |",
      "| `tags` | list of string | at most 10 items | `[]` | Labels. |",
      "",
      "### `nested`",
      "",
      "| key | type | allowed | default | description |",
      "| --- | --- | --- | --- | --- |",
      "| `nested` | object |  |  | A block. |",
      "| `nested.on` | boolean |  | `false` | Switch. |",
    ]);
  });
});
