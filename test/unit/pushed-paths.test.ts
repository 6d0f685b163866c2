// Pushed paths (webhook, audit stream, the Lambda's push endpoint) are untrusted text. The screen
// (`screenPush`, built on `pathProblem` and `mountProblem`) and the source's URL encoding
// (`encodePath`) must agree: every path the screen lets through can be put in a request, and
// nothing thrown escapes either. A seeded generator makes the corpus; a failure names its seed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMapping } from "../../src/core/mapping.js";
import { displayPath, mountProblem, pathProblem } from "../../src/core/paths.js";
import { screenPush, type PushedChange } from "../../src/core/push.js";
import { encodePath } from "../../src/sources/vault/vault-source.js";
import { mappingSpec } from "../helpers/mapping-spec.js";
import { seededRandom } from "../helpers/random.js";

const mapping = createMapping(mappingSpec({ source: { id: "default", address: "https://vault.example.com:8200", mount: "kv" } }));

describe("a lone surrogate is not a path", () => {
  test("pathProblem refuses half a character, alone or in a segment; a whole character (a surrogate pair) is fine", () => {
    for (const bad of ["x\ud800", "\udc00", "a/b\ud83d", "a/\ude00b", "\ud800\ud800"]) {
      assert.equal(pathProblem(bad), "the path contains a lone UTF-16 surrogate (half of a character), which no request can carry", JSON.stringify(bad));
    }
    for (const ok of ["team/\ud83d\ude00", "\u00e9t\u00e9/db", "a b/c"]) assert.equal(pathProblem(ok), undefined, JSON.stringify(ok));
  });

  test("a push with one, among valid paths, is refused as a whole, the surrogate shown escaped", () => {
    const screen = screenPush([mapping], [
      { mount: "kv", path: "ok" },
      { mount: "kv", path: "x\ud800" },
    ]);
    assert.deepEqual(screen, {
      targets: [],
      invalidPaths: [{ path: "x\\ud800", problem: "the path contains a lone UTF-16 surrogate (half of a character), which no request can carry" }],
      unknownMounts: [],
    });
  });
});

describe("one mount-name rule", () => {
  test("? # % \\ \" * white space, dot and empty segments, control characters and surrogates are not in a mount name", () => {
    const cases: [string, string][] = [
      ["kv?x=1", 'the mount has "?" in it; a mount name has none of ? # % \\ " * or white space'],
      ["kv#frag", 'the mount has "#" in it; a mount name has none of ? # % \\ " * or white space'],
      ["%2e%2e", 'the mount has "%" in it; a mount name has none of ? # % \\ " * or white space'],
      ["kv\\x", 'the mount has "\\\\" in it; a mount name has none of ? # % \\ " * or white space'],
      ['kv"x', 'the mount has "\\"" in it; a mount name has none of ? # % \\ " * or white space'],
      ["k v", 'the mount has " " in it; a mount name has none of ? # % \\ " * or white space'],
      ["..", 'the mount has a ".." segment'],
      ["team/.", 'the mount has a "." segment'],
      ["a//b", "the mount has an empty segment (a leading, trailing or doubled /)"],
      ["", "the mount is empty"],
      ["kv\u0000", "the mount contains control characters"],
      ["kv\udfff", "the mount contains a lone UTF-16 surrogate (half of a character), which no request can carry"],
    ];
    for (const [mount, problem] of cases) assert.equal(mountProblem(mount), problem, JSON.stringify(mount));
    for (const ok of ["kv", "hybrid-aws-secrets", "team/kv", "kv_2.prod", "kv@a+b=c:d"]) assert.equal(mountProblem(ok), undefined, ok);
  });

  test("a pushed change naming such a mount is malformed input (refused as invalid), not an unknown mount", () => {
    const screen = screenPush([mapping], [{ mount: "kv?list=true", path: "ok" }]);
    assert.deepEqual(screen.invalidPaths, [{ path: "ok", problem: 'the mount has "?" in it; a mount name has none of ? # % \\ " * or white space' }]);
    assert.deepEqual(screen.unknownMounts, []);
    assert.deepEqual(screenPush([mapping], [{ mount: "other\u0007", path: "ok" }]).invalidPaths, [{ path: "ok", problem: "the mount contains control characters" }]);
  });
});


/** Pieces a hostile path is made of: what an HTTP client, a URL parser or a UTF-16 string gets wrong. */
const PIECES = [
  "a", "db", "team", "\u00e9", "\u4e2d", "\ud83d\ude00", "\ud800", "\udfff", "\ud83d", "\ude00", "\u0000", "\u0007", "\n", "\u007f", "\u0085", "\u2028", "\ufeff",
  ".", "..", "...", "", " ", "%2e", "%2e%2e", "%2f", "%00", "%", "%zz", "?", "#", "&", "=", "+", "\\", "..\\", "~", "*", ";", "@", ":", "//",
];

function hostilePath(next: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const roll = next();
  if (roll < 0.05) return "x".repeat(1000 + Math.floor(next() * 60));
  if (roll < 0.1) return "a/".repeat(300 + Math.floor(next() * 300)) + "z";
  if (roll < 0.2) return String.fromCharCode(...Array.from({ length: 1 + Math.floor(next() * 8) }, () => Math.floor(next() * 0x10000)));
  const segments = Array.from({ length: 1 + Math.floor(next() * 5) }, () => Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(PIECES)).join(""));
  return segments.join("/");
}

describe("hostile corpus: pushed paths", () => {
  test("5,000 generated paths (seed 18): whatever passes the screen can be encoded into a request, and nothing throws", () => {
    const seed = 18;
    const next = seededRandom(seed);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const path = hostilePath(next);
      const label = `seed ${seed}, case ${i}: ${JSON.stringify(displayPath(path))}`;
      let screen;
      try {
        screen = screenPush([mapping], [{ mount: "kv", path } satisfies PushedChange]);
      } catch (error) {
        assert.fail(`${label}: screenPush threw ${String(error)}`);
      }
      const problem = pathProblem(path);
      if (problem === undefined) {
        accepted += 1;
        assert.deepEqual(screen.invalidPaths, [], label);
        assert.doesNotThrow(() => encodePath(path), label);
        // What goes on the wire names the same path: no segment added, dropped or reinterpreted.
        assert.deepEqual(encodePath(path).split("/").map(decodeURIComponent), path.split("/"), label);
        assert.ok(!/[?#]|(^|\/)\.{1,2}(\/|$)/.test(encodePath(path)), `${label}: ${encodePath(path)}`);
      } else {
        refused += 1;
        assert.deepEqual(screen, { targets: [], invalidPaths: [{ path: displayPath(path), problem }], unknownMounts: [] }, label);
        // The shown path has no raw control character or lone surrogate left.
        // eslint-disable-next-line no-control-regex
        assert.ok(!/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(screen.invalidPaths[0]?.path ?? ""), label);
      }
    }
    // The generator reaches both sides, so the agreement is tested, not assumed.
    assert.ok(accepted > 500 && refused > 500, `accepted ${accepted}, refused ${refused}`);
  });
});
