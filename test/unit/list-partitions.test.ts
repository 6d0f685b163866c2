// How the Secrets Manager inventory cuts the names under a prefix into disjoint ListSecrets
// partitions from one sampled page: every name falls in exactly one partition, whatever the
// sample showed, and the partitions follow the folders the sample saw.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { filtersOf, partitionOf, planPartitions, type NamePartition } from "../../src/destinations/aws-secrets-manager/partitions.js";

const P = "app/";

/** The partitions a name falls in (prefix matched, no exclusion matched). */
const homes = (parts: NamePartition[], name: string) => parts.filter((p) => partitionOf([p], name) !== undefined);

describe("planPartitions", () => {
  test("one partition per sampled top-level folder, and a remainder for the rest", () => {
    const sample = ["app/b/1", "app/a/1", "app/a/2", "app/b/2", "app/top", "app/top2", "app/top3", "app/c/x/1", "app/c/x/2", "app/top4"];
    assert.deepEqual(planPartitions(P, sample), [
      { prefix: "app/a/", exclude: [] },
      { prefix: "app/b/", exclude: [] },
      { prefix: "app/c/", exclude: [] },
      { prefix: "app/", exclude: ["app/a/", "app/b/", "app/c/"] },
    ]);
  });

  test("a folder seen once in the sample stays in the remainder (a partition of its own would cost a call for a few secrets)", () => {
    assert.deepEqual(planPartitions(P, ["app/a/1", "app/a/2", "app/b/1"]), [
      { prefix: "app/a/", exclude: [] },
      { prefix: "app/", exclude: ["app/a/"] },
    ]);
  });

  test("no folders in the sample: one partition, the whole prefix (the listing stays sequential)", () => {
    assert.deepEqual(planPartitions(P, ["app/x", "app/y", "app/z"]), [{ prefix: "app/", exclude: [] }]);
    assert.deepEqual(planPartitions(P, []), [{ prefix: "app/", exclude: [] }]);
  });

  test("a folder holding more than a quarter of the sample is split by its own subfolders", () => {
    const sample = [
      ...Array.from({ length: 9 }, (_, i) => `app/big/s${i % 3}/k${i}`),
      "app/big/direct",
      "app/small/1",
      "app/small/2",
      ...Array.from({ length: 20 }, (_, i) => `app/other${i % 10}/k${i}`),
    ];
    const parts = planPartitions(P, sample);
    assert.deepEqual(
      parts.filter((p) => p.prefix.startsWith("app/big/")),
      [
        { prefix: "app/big/s0/", exclude: [] },
        { prefix: "app/big/s1/", exclude: [] },
        { prefix: "app/big/s2/", exclude: [] },
        { prefix: "app/big/", exclude: ["app/big/s0/", "app/big/s1/", "app/big/s2/"] },
      ],
    );
  });

  test("a large folder that shows one subfolder only is not split (one more call, nothing balanced)", () => {
    const sample = [...Array.from({ length: 6 }, (_, i) => `app/big/only/k${i}`), "app/big/x", "app/small/1", "app/small/2", "app/s"];
    assert.deepEqual(planPartitions(P, sample), [
      { prefix: "app/big/", exclude: [] },
      { prefix: "app/small/", exclude: [] },
      { prefix: "app/", exclude: ["app/big/", "app/small/"] },
    ]);
  });

  test("at most nine folders are cut off a prefix (ListSecrets takes ten filters: the prefix and nine exclusions); the smallest stay in the remainder", () => {
    const sample = Array.from({ length: 12 }, (_, f) => Array.from({ length: 12 - f }, (_, i) => `app/f${String(f).padStart(2, "0")}/k${i}`)).flat();
    const parts = planPartitions(P, sample);
    const remainder = parts.at(-1);
    assert.deepEqual(remainder, { prefix: "app/", exclude: Array.from({ length: 9 }, (_, f) => `app/f${String(f).padStart(2, "0")}/`) });
    assert.equal(parts.length, 10);
    assert.deepEqual(filtersOf(remainder!).length, 10);
  });

  test("every name falls in exactly one partition: prefix-of-a-folder names, special characters, case, names directly under the prefix", () => {
    const sample = ["app/team/1", "app/team/2", "app/team-1/a", "app/team-1/b", "app/Team/x", "app/Team/y", "app/a+b=c.d@e-f/1", "app/a+b=c.d@e-f/2"];
    const parts = planPartitions(P, sample);
    const names = [
      ...sample,
      "app/team",
      "app/team-1",
      "app/team-10/x",
      "app/team-1x/y",
      "app/teamX/1",
      "app/TEAM/1",
      "app/a+b=c.d@e-f",
      "app/a+b=c.d@e-f/deep/er",
      "app/direct",
      "app/-",
      "app/new-folder/never-sampled",
      "app//empty-segment",
    ];
    for (const name of names) assert.equal(homes(parts, name).length, 1, `${name} is in ${homes(parts, name).length} partitions`);
    assert.equal(homes(parts, "appx/1").length, 0);
  });

  test("a folder whose exclusion filter would pass AWS's 512-character limit is not cut off", () => {
    const long = `app/${"x".repeat(510)}/`;
    assert.deepEqual(planPartitions(P, [`${long}1`, `${long}2`]), [{ prefix: "app/", exclude: [] }]);
  });
});

describe("filtersOf", () => {
  test("the prefix as a name filter and each exclusion as a negated name filter of its own (AND across filters)", () => {
    assert.deepEqual(filtersOf({ prefix: "app/", exclude: ["app/a/", "app/b/"] }), [
      { Key: "name", Values: ["app/"] },
      { Key: "name", Values: ["!app/a/"] },
      { Key: "name", Values: ["!app/b/"] },
    ]);
  });
});
