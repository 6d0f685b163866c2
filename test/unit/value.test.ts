// Values of pathological shape (thousands of levels deep, tens of thousands of members) are
// refused per secret with a message that names the path, the key and the limit, never a value;
// nothing in value.ts recurses, so no input can overflow the stack.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import {
  canonicalJson,
  MAX_VALUE_DEPTH,
  MAX_VALUE_NODES,
  renderValue,
  secretStringFingerprint,
  valueFingerprint,
  valueLeaves,
  valueShapeProblem,
} from "../../src/core/value.js";

const CANARY = `canary-${Math.random().toString(36).slice(2)}-value`;

/** `leaf` inside `depth` arrays, built without recursion. */
function deepArray(depth: number, leaf: unknown = CANARY): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** `leaf` inside `depth` objects with one key each. */
function deepObject(depth: number, leaf: unknown = CANARY): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
}

function noCanary(text: string | undefined): void {
  assert.ok(text !== undefined);
  assert.ok(!text.includes(CANARY), `value leaked into: ${text.slice(0, 300)}`);
}

/** The rendering before it became iterative: JSON.stringify with a key-sorting replacer. */
function previousCanonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

describe("valueShapeProblem", () => {
  for (const depth of [9_000, 100_000]) {
    test(`arrays nested ${depth} deep: a problem naming the path, the key and the depth limit, no value`, () => {
      const problem = valueShapeProblem({ ok: "x", v: deepArray(depth) }, "team/db");
      assert.equal(problem, `team/db: key "v" is nested more than ${MAX_VALUE_DEPTH} levels deep; secretbridge renders at most ${MAX_VALUE_DEPTH}: flatten the value in the source`);
      noCanary(problem);
    });
    test(`objects nested ${depth} deep: the same`, () => {
      const problem = valueShapeProblem({ v: deepObject(depth) }, "team/db");
      assert.match(problem ?? "", /^team\/db: key "v" is nested more than 64 levels deep/);
      noCanary(problem);
    });
  }

  test("64 levels (the map counts as one) pass, 65 do not", () => {
    assert.equal(MAX_VALUE_DEPTH, 64);
    assert.equal(valueShapeProblem({ v: deepArray(63) }, "p"), undefined);
    assert.match(valueShapeProblem({ v: deepArray(64) }, "p") ?? "", /more than 64 levels/);
    assert.equal(valueShapeProblem({ v: deepObject(62, {}) }, "p"), undefined);
    assert.match(valueShapeProblem({ v: deepObject(63, {}) }, "p") ?? "", /more than 64 levels/);
  });

  test("20,000 keys: a problem naming the path and the count limit, no value", () => {
    const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, CANARY]));
    const problem = valueShapeProblem(wide, "team/wide");
    assert.equal(problem, `team/wide: the value has more than ${MAX_VALUE_NODES} keys and elements in all; secretbridge renders at most ${MAX_VALUE_NODES}: split the secret in the source`);
    noCanary(problem);
  });

  test("20,000 array elements, and keys and elements counted together across levels", () => {
    assert.match(valueShapeProblem({ v: Array.from({ length: 20_000 }, () => CANARY) }, "p") ?? "", /more than 10000 keys and elements/);
    // 5,000 keys each holding a one-element list: 10,000 members in all, at the limit.
    const atLimit = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, [i]]));
    assert.equal(valueShapeProblem(atLimit, "p"), undefined);
    assert.match(valueShapeProblem({ ...atLimit, one: "more" }, "p") ?? "", /more than 10000/);
  });

  test("a leaf JSON cannot represent is named by type only", () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /key "v" holds a undefined/],
      [() => CANARY, /key "v" holds a function/],
      [BigInt(12345678901), /key "v" holds a bigint/],
      [Number.NaN, /key "v" holds a non-finite number/],
      [new Map([[CANARY, CANARY]]), /key "v" holds a Map object/],
    ];
    for (const [leaf, expected] of cases) {
      const problem = valueShapeProblem({ v: [{ x: leaf }] }, "p");
      assert.match(problem ?? "", expected);
      noCanary(problem);
    }
  });

  test("a cycle ends at the depth limit instead of looping", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.match(valueShapeProblem(cyclic, "p") ?? "", /key "self" is nested more than 64 levels deep/);
  });

  test("ordinary values pass: flat maps, config documents, JSON.parse output, empty", () => {
    assert.equal(valueShapeProblem({}, "p"), undefined);
    assert.equal(valueShapeProblem({ user: "u", pass: "p", port: 5432, tls: true, extra: null }, "p"), undefined);
    assert.equal(valueShapeProblem(JSON.parse('{"db":{"hosts":["a","b"],"opts":{"ssl":{"ca":"x"}}},"__proto__":{"x":1}}'), "p"), undefined);
    assert.equal(valueShapeProblem(Object.assign(Object.create(null) as object, { a: "b" }), "p"), undefined);
  });

  test("a very long top-level key is shortened in the message", () => {
    const key = "k".repeat(500);
    const problem = valueShapeProblem({ [key]: deepArray(100) }, "p") ?? "";
    assert.ok(problem.includes(`key "${"k".repeat(80)}…"`), problem);
    assert.ok(problem.length < 300);
  });
});

describe("renderValue refuses pathological values per secret", () => {
  test("json shape: a 9,000-deep value gives { problem }, not a stack overflow", () => {
    const rendered = renderValue({ normal: CANARY, v: deepArray(9_000) } as Record<string, unknown>, { type: "json" }, "team/deep");
    assert.ok("problem" in rendered);
    assert.match(rendered.problem, /^team\/deep: key "v" is nested more than 64 levels deep/);
    noCanary(rendered.problem);
  });

  test("json shape: 20,000 keys give { problem }", () => {
    const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, CANARY]));
    const rendered = renderValue(wide, { type: "json" }, "team/wide");
    assert.ok("problem" in rendered);
    assert.match(rendered.problem, /more than 10000 keys and elements/);
    noCanary(rendered.problem);
  });

  test("key shape: a deep value under the key gives a problem naming that key; a string or a small object still renders", () => {
    const data = { deep: deepObject(100_000), plain: CANARY, obj: { b: [1, 2], a: null } } as Record<string, unknown>;
    const rendered = renderValue(data, { type: "key", key: "deep" }, "team/k");
    assert.ok("problem" in rendered);
    assert.match(rendered.problem, /^team\/k: key "deep" is nested more than 64 levels deep/);
    noCanary(rendered.problem);
    assert.deepEqual(renderValue(data, { type: "key", key: "plain" }, "team/k"), { secretString: CANARY });
    assert.deepEqual(renderValue(data, { type: "key", key: "obj" }, "team/k"), { secretString: '{"a":null,"b":[1,2]}' });
  });

  test("a normal value renders exactly as before", () => {
    const data = { b: 1, a: { d: 2, c: 3 }, list: [{ z: true, y: "é\u2028\"" }, null], "10": "ten", "2": "two", Z: -0, e: 1e21 };
    const rendered = renderValue(data, { type: "json" }, "p");
    assert.deepEqual(rendered, { secretString: previousCanonicalJson(data) });
    assert.deepEqual(rendered, { secretString: '{"2":"two","10":"ten","Z":0,"a":{"c":3,"d":2},"b":1,"e":1e+21,"list":[{"y":"é\u2028\\"","z":true},null]}' });
  });
});

describe("valueLeaves", () => {
  test("string forms of strings, numbers and booleans, in document order; null and containers are not leaves", () => {
    assert.deepEqual(valueLeaves({ a: "x", b: [1, true, null, { c: "y" }], d: 2.5 }), ["x", "1", "true", "y", "2.5"]);
    assert.deepEqual(valueLeaves("solo"), ["solo"]);
    assert.deepEqual(valueLeaves(undefined), []);
  });

  test("100,000-deep arrays and objects: the leaf is found, no overflow", () => {
    assert.deepEqual(valueLeaves(deepArray(100_000)), [CANARY]);
    assert.deepEqual(valueLeaves({ v: deepObject(100_000), w: "after" }), [CANARY, "after"]);
  });

  test("at most `limit` leaves", () => {
    const many = Array.from({ length: 1_000 }, (_, i) => `leaf-${i}`);
    assert.equal(valueLeaves(many, 10).length, 10);
    assert.deepEqual(valueLeaves(many, 3), ["leaf-0", "leaf-1", "leaf-2"]);
    assert.equal(valueLeaves(Array.from({ length: 200_000 }, () => 1)).length, 100_000);
  });
});

describe("canonicalJson", () => {
  test("keys sorted at every level, the same output as the previous rendering", () => {
    const samples: unknown[] = [
      { b: 1, a: { d: 2, c: 3 } },
      { secrets: "manager" },
      { z: [{ y: 1, x: [{ b: "B", a: "A" }] }], a: {} },
      { "é": 1, e: 2, E: 3, "😀": 4, "": 5, "__proto__": 6 },
      JSON.parse('{"__proto__":{"b":1,"a":2},"10":1,"9":2,"01":3,"4294967295":4,"4294967294":5}'),
      { skipped: undefined, fn: () => 1, kept: "k", list: [undefined, () => 1, Symbol("s")] },
      { when: new Date(0), nan: Number.NaN, inf: Number.POSITIVE_INFINITY },
      [],
      "plain",
      42,
      null,
    ];
    for (const v of samples) assert.equal(canonicalJson(v), previousCanonicalJson(v), JSON.stringify(v));
    assert.equal(canonicalJson({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
  });

  test("any depth renders (100,000 levels), where JSON.stringify overflows", () => {
    assert.throws(() => JSON.stringify(deepArray(100_000)), RangeError);
    assert.equal(canonicalJson(deepArray(100_000, 1)), `${"[".repeat(100_000)}1${"]".repeat(100_000)}`);
    assert.equal(canonicalJson(deepObject(100_000, 1)).length, 100_000 * 6 + 1);
    assert.doesNotThrow(() => valueFingerprint({ v: deepObject(100_000) }));
  });

  test("a cycle throws, as JSON.stringify does; a repeated (acyclic) object does not", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = [cyclic];
    assert.throws(() => canonicalJson(cyclic), TypeError);
    const shared = { a: 1 };
    assert.equal(canonicalJson({ x: shared, y: [shared] }), '{"x":{"a":1},"y":[{"a":1}]}');
  });
});

describe("secretStringFingerprint", () => {
  const raw = (s: string): string => createHash("sha256").update(`raw:${s}`).digest("hex");

  test("a map and its rendered string still agree", () => {
    const data = { user: "u", pass: "p" };
    assert.equal(secretStringFingerprint('{"pass":"p","user":"u"}'), valueFingerprint(data));
    assert.equal(secretStringFingerprint('{"user":"u","pass":"p"}'), valueFingerprint(data));
  });

  test("a destination value nested 9,000 or 100,000 deep is hashed as a raw string, without overflow", () => {
    for (const depth of [9_000, 100_000]) {
      const text = `{"v":${"[".repeat(depth)}${JSON.stringify(CANARY)}${"]".repeat(depth)}}`;
      assert.equal(secretStringFingerprint(text), raw(text));
    }
  });

  test("a destination value with 20,000 keys is hashed as a raw string", () => {
    const text = JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, 1])));
    assert.equal(secretStringFingerprint(text), raw(text));
  });
});
