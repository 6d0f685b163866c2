import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scrubSecretMaterial, SyncError } from "../../src/core/errors.js";
import { createMapping, overlaps, type MappingSpec } from "../../src/core/mapping.js";
import { nameShapeProblem } from "../../src/core/naming.js";
import { pathProblem } from "../../src/core/paths.js";
import { mappingSpec } from "../helpers/mapping-spec.js";
import { legacyRequestTokenFor, requestTokenFor } from "../../src/core/request-token.js";
import { ownershipOf, tagKeysRecord } from "../../src/core/tags.js";
import { canonicalJson, renderSecretString, secretStringFingerprint, valueFingerprint } from "../../src/core/value.js";
import { awsSecretsManagerProfile as aws } from "../../src/destinations/aws-secrets-manager/profile.js";

const source = { id: "default", address: "http://127.0.0.1:8200", mount: "kv" };
const spec: MappingSpec = mappingSpec({ syncName: "s", source, prefix: "pre" });
const nameOf = (path: string, nameTemplate = "{prefix}/{path}", extra: Partial<MappingSpec> = {}) => createMapping({ ...spec, nameTemplate, ...extra }).nameFor(path);

describe("naming", () => {
  test("prefix and path relative to the mount", () => {
    assert.equal(createMapping({ ...spec, prefix: "hybrid-aws-secrets" }).nameFor("team/db"), "hybrid-aws-secrets/team/db");
  });
  test("accepts the AWS charset and rejects the rest with the offending characters", () => {
    assert.equal(aws.nameProblem("a/b_c+d=e.f@g-h"), undefined);
    assert.match(aws.nameProblem("a/ünï code") ?? "", /\("ü" "ï" " "\)/);
    assert.match(nameShapeProblem("a//b") ?? "", /empty segment/);
    assert.match(nameShapeProblem("pre/app/../x") ?? "", /"\.\." segment/);
    assert.equal(aws.nameProblem("x".repeat(512)), undefined);
    assert.match(aws.nameProblem("x".repeat(513)) ?? "", /513 characters/);
  });
  test("names ending in a hyphen and six characters are valid (every call on an existing secret uses its full ARN)", () => {
    for (const name of ["app/client-secret", "svc/app-config", "api/jwt-secret", "db-Ab12Cd"]) assert.equal(aws.nameProblem(name), undefined, name);
  });
});

describe("name templates", () => {
  test("placeholders", () => {
    assert.equal(nameOf("team/db/password", "{prefix}/{mount}/{dir}/{name}"), "pre/kv/team/db/password");
    assert.equal(nameOf("db", "{prefix}/{dir}/{name}"), "pre/db");
    assert.equal(nameOf("team/db", "{prefix}/svc-{name}"), "pre/svc-db");
  });
});

describe("paths and scope", () => {
  test("a path with ., .. or empty segments or control characters is refused, before any use", () => {
    for (const bad of ["", "a/../b", "..", "./a", "a/.", "a//b", "/a", "a/", "a\u0000b", "a\nb", "x".repeat(1025)]) assert.ok(pathProblem(bad), JSON.stringify(bad));
    for (const ok of ["a", "a/b", "a.b/c..d", "...", "a b"]) assert.equal(pathProblem(ok), undefined, ok);
  });
  test("inScope: valid, under the sub-path, matched by include and not by exclude", () => {
    const m = createMapping({ ...spec, subPath: "app", include: ["app/**"], exclude: ["app/secret-*"] });
    assert.deepEqual(["app/ok", "app/../other/secret", "app/./secret-x", "app//ok", "app/secret-x", "other/x", "apple/x"].map((p) => m.inScope(p)), [true, false, false, false, false, false, false]);
  });
  test("overlap: one prefix inside another over intersecting source scopes; disjoint sub-paths or mounts do not overlap", () => {
    const at = (prefix: string, mount: string, subPath = "") => ({ ...spec, prefix, subPath, source: { ...source, mount } });
    assert.equal(overlaps(at("team", "nest"), at("team/legacy", "nest", "x")), true);
    assert.equal(overlaps(at("team", "nest", "a"), at("team", "nest", "a/b")), true);
    assert.equal(overlaps(at("team", "nest", "a"), at("team", "nest", "b")), false);
    assert.equal(overlaps(at("team", "kv1"), at("team", "kv2")), false);
    assert.equal(overlaps(at("team-a", "nest"), at("team-ab", "nest")), false);
  });
});

describe("request tokens", () => {
  const input = { syncName: "s", source, sourcePath: "p", version: 3, destinationName: "pre/p", tagKeys: "team" };
  test("deterministic for the same source identity and version, different otherwise", () => {
    const t = requestTokenFor(input);
    assert.equal(t, requestTokenFor(input));
    assert.ok(t.length >= 32 && t.length <= 64);
    const variants = [
      requestTokenFor({ ...input, syncName: "s2" }),
      requestTokenFor({ ...input, source: { ...source, id: "other" } }),
      requestTokenFor({ ...input, source: { ...source, mount: "kv2" } }),
      requestTokenFor({ ...input, sourcePath: "q" }),
      requestTokenFor({ ...input, version: 4 }),
      requestTokenFor({ ...input, destinationName: "pre2/p" }),
      requestTokenFor({ ...input, tagKeys: "owner team" }),
    ];
    assert.equal(new Set([t, ...variants]).size, 8, "the record of tag keys is bound to the version too");
  });
  test("the address is not part of a token; the legacy token (releases before source ids) was", () => {
    assert.equal(requestTokenFor(input), requestTokenFor({ ...input, source: { ...source, address: "http://localhost:8200" } }));
    assert.notEqual(legacyRequestTokenFor(input, "http://127.0.0.1:8200"), legacyRequestTokenFor(input, "http://localhost:8200"));
  });
});

describe("tags", () => {
  test("ownership is read from the managed-by and sync tags", () => {
    assert.equal(ownershipOf({ "secretbridge:managed-by": "secretbridge", "secretbridge:sync": "a" }, "a"), "ours");
    assert.equal(ownershipOf({ "secretbridge:managed-by": "secretbridge", "secretbridge:sync": "b" }, "a"), "other-sync");
    assert.equal(ownershipOf({ "secretbridge:sync": "a" }, "a"), "unmanaged");
    assert.equal(ownershipOf({}, "a"), "unmanaged");
  });
  test("the record of our tag keys: sorted, space-separated, within the value limit; keys with a space are not recorded", () => {
    assert.deepEqual(tagKeysRecord(["team", "cost", "has space"], 255), { value: "cost team", unrecorded: ["has space"] });
    const long = Array.from({ length: 40 }, (_, i) => `key-number-${String(i).padStart(2, "0")}`);
    const r = tagKeysRecord(long, 255);
    assert.ok(r.value.length <= 255);
    assert.equal(r.value.split(" ").length + r.unrecorded.length, 40);
  });
  test("limits: count, key and value length, reserved prefix, charset", () => {
    assert.deepEqual(aws.tagProblems({ ok: "fine value: a/b=c+d-e@f_g." }), []);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    assert.match(aws.tagProblems(many)[0] ?? "", /51 tags/);
    assert.match(aws.tagProblems({ ["k".repeat(128)]: "v" })[0] ?? "", /longer than 127/);
    assert.match(aws.tagProblems({ "aws:x": "v" })[0] ?? "", /reserved aws: prefix/);
    assert.match(aws.tagProblems({ k: "semi;colon" })[0] ?? "", /characters AWS does not allow/);
  });
});

describe("values", () => {
  test("rendering sorts keys so equal maps give equal strings", () => {
    assert.equal(renderSecretString({ b: 1, a: { d: 2, c: 3 } }), '{"a":{"c":3,"d":2},"b":1}');
    assert.equal(canonicalJson({ secrets: "manager" }), '{"secrets":"manager"}');
  });
  test("size limit is in UTF-8 bytes", () => {
    assert.equal(aws.valueProblem({ secretString: "x".repeat(65_536) }), undefined);
    assert.match(aws.valueProblem({ secretString: "é".repeat(32_769) }) ?? "", /65538 bytes/);
    assert.match(aws.valueProblem({ secretBinary: new Uint8Array(65_537) }) ?? "", /binary value is 65537 bytes/);
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
