// The heap growth bound each entry point sets: the flag, and when the operator's own stands.
// That the entry points set it is shown on the built bin (test/e2e/cli.test.ts) and on the
// synthesized Lambda asset (test/e2e/lambda-asset.test.ts), through V8's own trace.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HEAP_GROWING_PERCENT, heapGrowthFlag } from "../../src/runtime/heap.js";

describe("heap growth", () => {
  test("bounds the growth, and sets no limit", () => {
    assert.equal(heapGrowthFlag([]), `--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    assert.equal(heapGrowthFlag(["--max-old-space-size=4096", "--enable-source-maps"]), "--heap-growing-percent=20");
  });
  test("a growth the operator gives node stands, in either spelling", () => {
    assert.equal(heapGrowthFlag(["--heap-growing-percent=50"]), undefined);
    assert.equal(heapGrowthFlag(["--heap_growing_percent=5"]), undefined);
    assert.equal(heapGrowthFlag(["--heap-growing-percentage-is-no-flag"]), "--heap-growing-percent=20");
  });
});
