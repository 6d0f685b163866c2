import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scrubSecretMaterial, SyncError } from "../../src/core/errors.js";
import { destinationNameFor, nameProblem } from "../../src/core/naming.js";
import { requestTokenFor } from "../../src/core/request-token.js";
import { ownershipOf, tagProblems, desiredTags } from "../../src/core/tags.js";
import { canonicalJson, renderSecretString, secretStringFingerprint, sizeProblem, valueFingerprint } from "../../src/core/value.js";

const source = { address: "http://127.0.0.1:8200", mount: "kv" };

describe("naming", () => {
  test("prefix and path relative to the mount", () => {
    assert.equal(destinationNameFor("hybrid-aws-secrets", "team/db"), "hybrid-aws-secrets/team/db");
  });
  test("accepts the AWS charset and rejects the rest with the offending characters", () => {
    assert.equal(nameProblem("a/b_c+d=e.f@g-h"), undefined);
    assert.match(nameProblem("a/ünï code") ?? "", /\("ü" "ï" " "\)/);
    assert.match(nameProblem("a//b") ?? "", /empty segment/);
    assert.equal(nameProblem("x".repeat(512)), undefined);
    assert.match(nameProblem("x".repeat(513)) ?? "", /513 characters/);
  });
  test("the -XXXXXX ARN suffix trap", () => {
    assert.match(nameProblem("db-Ab12Cd") ?? "", /ARN suffix/);
    assert.equal(nameProblem("db-Ab12C"), undefined);
    assert.equal(nameProblem("db-Ab12Cde"), undefined);
  });
});

describe("name templates", () => {
  test("placeholders", () => {
    assert.equal(destinationNameFor("pre", "team/db/password", "{prefix}/{mount}/{dir}/{name}", "kv"), "pre/kv/team/db/password");
    assert.equal(destinationNameFor("pre", "db", "{prefix}/{dir}/{name}"), "pre/db");
    assert.equal(destinationNameFor("pre", "team/db", "{prefix}/svc-{name}"), "pre/svc-db");
  });
});

describe("request tokens", () => {
  test("deterministic for the same source identity and version, different otherwise", () => {
    const t = requestTokenFor("s", source, "p", 3, "pre/p");
    assert.equal(t, requestTokenFor("s", source, "p", 3, "pre/p"));
    assert.ok(t.length >= 32 && t.length <= 64);
    const variants = [
      requestTokenFor("s2", source, "p", 3, "pre/p"),
      requestTokenFor("s", { ...source, address: "http://other:8200" }, "p", 3, "pre/p"),
      requestTokenFor("s", { ...source, mount: "kv2" }, "p", 3, "pre/p"),
      requestTokenFor("s", source, "q", 3, "pre/p"),
      requestTokenFor("s", source, "p", 4, "pre/p"),
      requestTokenFor("s", source, "p", 3, "pre2/p"),
    ];
    assert.equal(new Set([t, ...variants]).size, 7);
  });
});

describe("tags", () => {
  test("ownership is read from the managed-by and sync tags", () => {
    assert.equal(ownershipOf(desiredTags("a", source, "p", 1), "a"), "ours");
    assert.equal(ownershipOf(desiredTags("b", source, "p", 1), "a"), "other-sync");
    assert.equal(ownershipOf({ "secretbridge:sync": "a" }, "a"), "unmanaged");
    assert.equal(ownershipOf({}, "a"), "unmanaged");
  });
  test("static tags never override ownership tags", () => {
    const tags = desiredTags("a", source, "p", 2, { "secretbridge:sync": "evil", team: "x" });
    assert.equal(tags["secretbridge:sync"], "a");
    assert.equal(tags.team, "x");
  });
  test("limits: count, key and value length, reserved prefix, charset", () => {
    assert.deepEqual(tagProblems({ ok: "fine value: a/b=c+d-e@f_g." }), []);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    assert.match(tagProblems(many)[0] ?? "", /51 tags/);
    assert.match(tagProblems({ ["k".repeat(128)]: "v" })[0] ?? "", /longer than 127/);
    assert.match(tagProblems({ "aws:x": "v" })[0] ?? "", /reserved aws: prefix/);
    assert.match(tagProblems({ k: "semi;colon" })[0] ?? "", /characters AWS does not allow/);
  });
});

describe("values", () => {
  test("rendering sorts keys so equal maps give equal strings", () => {
    assert.equal(renderSecretString({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
    assert.equal(canonicalJson({ secrets: "manager" }), '{"secrets":"manager"}');
  });
  test("size limit is in UTF-8 bytes", () => {
    assert.equal(sizeProblem("x".repeat(65_536)), undefined);
    assert.match(sizeProblem("é".repeat(32_769)) ?? "", /65538 bytes/);
  });
  test("fingerprints of a map and of its rendered string agree", () => {
    const data = { user: "u", pass: "p" };
    assert.equal(secretStringFingerprint(renderSecretString(data)), valueFingerprint(data));
    assert.equal(secretStringFingerprint('{"pass":"p","user":"u"}'), valueFingerprint(data));
    assert.notEqual(secretStringFingerprint("plain"), valueFingerprint(data));
  });
});

describe("errors", () => {
  test("scrubbing removes raw, JSON-escaped and base64 forms", () => {
    const secret = 'pa"ss\\word';
    const text = `bad ${secret} and ${JSON.stringify(secret)} and ${Buffer.from(secret).toString("base64")}`;
    const out = scrubSecretMaterial(text, [secret]);
    assert.ok(!out.includes("ss\\word") && !out.includes(Buffer.from(secret).toString("base64")), out);
    assert.equal(scrubSecretMaterial("abc", ["ab"]), "abc");
  });
  test("SyncError serialises class, message and path only", () => {
    const e = new SyncError("too-large", "p: too big", "p", { cause: new Error("inner with value") });
    assert.deepEqual(JSON.parse(JSON.stringify(e)), { class: "too-large", message: "p: too big", path: "p" });
    assert.ok(!Object.keys(e).includes("cause"));
  });
});
