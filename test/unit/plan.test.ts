import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createMapping, type MappingSpec, type ResolvedMapping } from "../../src/core/mapping.js";
import type { DestinationSecretMeta, SourceSecretMeta } from "../../src/core/model.js";
import { countActions, emptyFacts, factsNeeded, planRun as planRunStrict, planStep, sourceFactKey, type Facts, type PlanOptions } from "../../src/core/plan.js";
import { applied } from "../helpers/actions.js";
import { DEFAULT_POLICIES, type LifecyclePolicies } from "../../src/core/policies.js";
import type { DestinationProfile } from "../../src/core/profile.js";
import { mappingSpec } from "../helpers/mapping-spec.js";
import { driftRepairTokenFor, kv1RequestTokenFor, legacyRequestTokenFor, previousRequestTokenFor, requestTokenFor } from "../../src/core/request-token.js";
import { TAG } from "../../src/core/tags.js";
import { secretStringFingerprint } from "../../src/core/value.js";
import { awsSecretsManagerProfile as profile } from "../../src/destinations/aws-secrets-manager/profile.js";

/** Plans whose actions the assertions read field by field, whatever their type. */
const planRun = (...args: Parameters<typeof planRunStrict>) => applied(planRunStrict(...args), args[0].map((i) => i.mapping), args[2]);

const spec: MappingSpec = mappingSpec();
const mapping = (overrides: Partial<MappingSpec> = {}): ResolvedMapping => createMapping({ ...spec, ...overrides });
const m0 = mapping();

const src = (path: string, version: number | null = 1, extra: Partial<SourceSecretMeta> = {}): SourceSecretMeta => ({ path, version, state: "present", ...extra });

/** The tags a create of this path carries, as the planner builds them (fixtures for "ours"). */
const tagsOf = (m: ResolvedMapping, path: string, version: number | null, extra: Partial<SourceSecretMeta> = {}): Record<string, string> =>
  planRun([{ mapping: m, source: { secrets: [src(path, version, extra)], problems: [], method: "detailed-metadata-scan" }, destination: { secrets: [] } }], emptyFacts(), profile).actions[0]?.tags ?? {};
/** The token secretbridge wrote a secret with, recomputed from its tags (a fixture's version id). */
const writtenToken = (m: ResolvedMapping, d: DestinationSecretMeta): string => {
  const t = d.tags;
  const common = { syncName: m.syncName, source: m.source, sourcePath: t[TAG.path] ?? "", destinationName: d.name, tagKeys: t[TAG.tagKeys] ?? "" };
  if (t[TAG.sourceVersion] === "kv1") return kv1RequestTokenFor(common);
  return requestTokenFor({ ...common, version: Number(t[TAG.sourceVersion]), ...(t[TAG.sourceCreated] ? { versionCreatedTime: t[TAG.sourceCreated] } : {}) });
};
/** A secret this mapping wrote: its tags (or `extra.tags`), and as current version the token they name, unless `extra` says otherwise. */
const ours = (path: string, version: number | null, extra: Partial<DestinationSecretMeta> = {}, m = m0): DestinationSecretMeta => {
  const d: DestinationSecretMeta = { name: m.nameFor(path), tags: tagsOf(m, path, version), ...extra };
  return extra.currentVersionId !== undefined || extra.versionStages !== undefined ? d : { ...d, currentVersionId: writtenToken(m, d) };
};
/**
 * A plan with the facts it asks for about absences and competing paths answered as a complete
 * listing would: every path the listing left out is gone (a metadata read answers "not found").
 */
const plan = (source: SourceSecretMeta[], dest: DestinationSecretMeta[], m = m0, options: PlanOptions = {}, facts: Facts = emptyFacts(), destinationProfile: DestinationProfile = profile) => {
  const inputs = [{ mapping: m, source: { secrets: source, problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: dest } }];
  for (;;) {
    const step = planStep(inputs, facts, destinationProfile, options);
    const unanswered = step.needed.presence.filter((n) => !facts.presence.has(sourceFactKey(n.mapping, n.path)));
    if (unanswered.length === 0) return applied(step.plan, [m], destinationProfile);
    for (const n of unanswered) facts.presence.set(sourceFactKey(n.mapping, n.path), { ok: null });
  }
};
const withPolicies = (overrides: Partial<LifecyclePolicies>, extra: Partial<MappingSpec> = {}) => mapping({ policies: { ...DEFAULT_POLICIES, ...overrides }, ...extra });
const tokenOf = (path: string, version: number, m = m0, tagKeys = "") => requestTokenFor({ syncName: m.syncName, source: m.source, sourcePath: path, version, destinationName: m.nameFor(path), tagKeys });
const BR = DEFAULT_POLICIES.blastRadius;

describe("planRun", () => {
  test("walkthrough first run: both secrets are created with ownership, version and tag-record tags", () => {
    const p = plan([src("second-secret-for-replication"), src("first-secret-for-replication")], []);
    assert.deepEqual(
      p.actions.map((a) => [a.type, a.sourcePath, a.destinationName]),
      [
        ["create", "first-secret-for-replication", "hybrid-aws-secrets/first-secret-for-replication"],
        ["create", "second-secret-for-replication", "hybrid-aws-secrets/second-secret-for-replication"],
      ],
    );
    assert.deepEqual(p.actions[0]?.tags, {
      "secretbridge:managed-by": "secretbridge",
      "secretbridge:sync": "prod",
      "secretbridge:source": "https://vault.example.com:8200",
      "secretbridge:mount": "hybrid-aws-secrets",
      "secretbridge:path": "first-secret-for-replication",
      "secretbridge:source-version": "1",
      "secretbridge:tag-keys": "",
      version: "1",
    });
    assert.match(p.actions[0]?.requestToken ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  test("a new source version is an update of value and tags; the same version is unchanged", () => {
    const p = plan([src("a", 3), src("b", 2)], [ours("a", 2), ours("b", 2)]);
    assert.deepEqual(
      p.actions.map((a) => [a.type, a.sourcePath, a.destinationVersion, a.changes]),
      [
        ["update", "a", "2", ["value", "tags"]],
        ["unchanged", "b", "2", undefined],
      ],
    );
    assert.equal(p.actions[0]?.tags?.[TAG.sourceVersion], "3");
    assert.equal(p.actions[0]?.tags?.version, "3");
    assert.equal(p.actions[1]?.requestToken, undefined);
  });

  test("a source re-created at a lower version still updates (versions are compared for equality)", () => {
    assert.equal(plan([src("a", 1)], [ours("a", 5)]).actions[0]?.type, "update");
  });

  test("an older source version never overwrites a newer one the destination holds (a metadata read that lost a race)", () => {
    const t6 = "2030-01-01T00:00:06.000000001Z";
    const t7 = "2030-01-01T00:00:07.000000001Z";
    const dest = ours("a", 7, { tags: tagsOf(m0, "a", 7, { versionCreatedTime: t7 }) });
    const p = plan([src("a", 6, { versionCreatedTime: t6 })], [dest]);
    assert.deepEqual(
      p.actions.map((a) => [a.type, a.sourcePath, a.destinationVersion, a.reason]),
      [["unchanged", "a", "7", "the destination holds version 7 (created 2030-01-01T00:00:07.000000001Z), newer than version 6 read from the source: left as is"]],
    );
    assert.equal(p.actions[0]?.requestToken, undefined, "nothing to write, no token");
    // Deleted and re-created in the source: version 1 is newer than the old 7 by its creation time.
    const recreated = plan([src("a", 1, { versionCreatedTime: "2030-01-01T00:00:09.000000001Z" })], [dest]);
    assert.deepEqual(
      recreated.actions.map((a) => [a.type, a.tags?.[TAG.sourceVersion]]),
      [["update", "1"]],
    );
  });

  test("a static tag's new value is a tags-only update that reads no value; a new static tag key is bound to a new version", () => {
    const tagged = (team: string) => mapping({ staticTags: { team } });
    const p = plan([src("a", 2)], [ours("a", 2, {}, tagged("payments"))], tagged("billing"));
    assert.deepEqual([p.actions[0]?.type, p.actions[0]?.changes, p.actions[0]?.reason], ["update", ["tags"], "tags out of date: team"]);
    const added = plan([src("a", 2)], [ours("a", 2)], tagged("payments")).actions[0];
    assert.deepEqual(
      [added?.type, added?.changes, added?.reason, added?.requestToken],
      ["update", ["value", "tags"], "tag keys changed (none -> team): the value is written again so its version binds the new record", tokenOf("a", 2, m0, "team")],
    );
    assert.equal(added?.tags?.[TAG.tagKeys], "team");
  });

  test("an unmanaged secret with the same name is a conflict and untouched", () => {
    const p = plan([src("a")], [{ name: "hybrid-aws-secrets/a", tags: { team: "x" } }]);
    assert.equal(p.actions[0]?.type, "conflict");
    assert.equal(p.actions[0]?.failure?.errorClass, "conflict-unmanaged");
    assert.equal(p.actions[0]?.tags, undefined);
  });

  test("a secret owned by another sync is a conflict naming that sync", () => {
    const other = tagsOf(mapping({ syncName: "staging" }), "a", 1);
    const p = plan([src("a")], [{ name: "hybrid-aws-secrets/a", tags: other }]);
    assert.equal(p.actions[0]?.failure?.errorClass, "conflict-other-sync");
    assert.match(p.actions[0]?.failure?.message ?? "", /sync "staging"/);
  });

  test("unmanaged destination secrets without a source counterpart are not touched or reported", () => {
    const p = plan([src("a")], [ours("a", 1), { name: "hybrid-aws-secrets/vault-connection-secret", tags: {} }]);
    assert.deepEqual(countActions(p), { create: 0, update: 0, unchanged: 1, conflict: 0, skip: 0 });
  });

  test("scheduled for deletion (not ours), service-managed and rotating secrets are never written", () => {
    // A service-managed secret under a name that passes every name check: only its OwningService
    // keeps it from being written.
    const p = plan(
      [src("deleted"), src("cluster-credentials"), src("rotating")],
      [{ name: "hybrid-aws-secrets/deleted", tags: {}, deletedDate: new Date() }, ours("cluster-credentials", 0, { provider: { owningService: "rds" } }), ours("rotating", 0, { provider: { rotationEnabled: true } })],
    );
    assert.deepEqual(
      p.actions.map((a) => [a.sourcePath, a.type, a.failure?.errorClass]),
      [
        ["cluster-credentials", "conflict", "not-writable"],
        ["deleted", "conflict", "pending-deletion"],
        ["rotating", "conflict", "not-writable"],
      ],
    );
    assert.equal(
      p.actions[0]?.failure?.message,
      "hybrid-aws-secrets/cluster-credentials is managed by rds; secretbridge never writes it: change the prefix or the source path",
    );
  });

  test("every write on an existing secret carries the ARN it was listed with; a create goes by name; value reads ask by ARN", () => {
    const arnOf = (path: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${m0.nameFor(path)}-AbCdEf`;
    const deleting = withPolicies({ deletion: { ...DEFAULT_POLICIES.deletion, strategy: "delete" }, blastRadius: { ...BR, maxShare: 1, minCount: 0 } });
    const dest = [ours("app-config", 1, { arn: arnOf("app-config") }), ours("client-secret", 1, { arn: arnOf("client-secret"), deletedDate: new Date() }), ours("jwt-secret", 1, { arn: arnOf("jwt-secret") })];
    const p = plan([src("app-config", 2), src("client-secret", 2), src("new-secret")], dest, deleting);
    assert.deepEqual(
      p.actions.map((a) => [a.sourcePath, a.type, a.arn]),
      [
        ["app-config", "update", arnOf("app-config")],
        ["client-secret", "restore", arnOf("client-secret")],
        ["jwt-secret", "delete", arnOf("jwt-secret")],
        ["new-secret", "create", undefined],
      ],
    );
    const kv1 = [ours("v1-secret", null, { arn: arnOf("v1-secret") })];
    const needed = factsNeeded([{ mapping: m0, source: { secrets: [src("v1-secret", null, { fingerprint: "f" })], problems: [], method: "kv-v1-list-and-read" }, destination: { secrets: kv1 } }], emptyFacts(), profile);
    assert.deepEqual(needed.destination, [{ name: m0.nameFor("v1-secret"), arn: arnOf("v1-secret") }]);
  });

  test("130,000 secrets gone from the source are each planned: the absences are not spread into one push call", () => {
    // Spreading 125,000 actions or more into push overflows the stack: the whole plan failed.
    const gone = Array.from({ length: 130_000 }, (_, i) => ours(`gone-${i}`, 1));
    const p = plan([src("kept")], [ours("kept", 1), ...gone]);
    assert.equal(p.actions.length, 130_001);
    assert.equal(p.actions.filter((a) => a.sourcePath.startsWith("gone-")).length, 130_000);
  });

  test("a secret of ours pending deletion whose source is back is restored, with its value and tags", () => {
    const p = plan([src("back", 3)], [ours("back", 2, { deletedDate: new Date() })]);
    assert.deepEqual([p.actions[0]?.type, p.actions[0]?.changes, p.actions[0]?.tags?.version], ["restore", ["value", "tags"], "3"]);
  });

  test("invalid names are skipped as failures naming the path; the rest is planned", () => {
    const p = plan([src("ok"), src("has space"), src("client-secret"), src("x".repeat(600))], []);
    const byPath = Object.fromEntries(p.actions.map((a) => [a.sourcePath.slice(0, 20), a]));
    assert.equal(byPath["ok"]?.type, "create");
    assert.equal(byPath["client-secret"]?.type, "create");
    assert.equal(byPath["has space"]?.failure?.errorClass, "invalid-name");
    assert.match(byPath["has space"]?.failure?.message ?? "", /^has space: .*" "/);
    assert.match(byPath["x".repeat(20)]?.failure?.message ?? "", /619 characters; AWS allows at most 512/);
  });

  test("a listed path with ., .. or empty segments or control characters is refused as invalid-path, never named", () => {
    const p = plan([src("ok"), src("app/../other"), src("a/./b"), src("a//b"), src("tab\there")], []);
    const failures = p.actions.filter((a) => a.failure).map((a) => [a.sourcePath, a.failure?.errorClass, a.destinationName]);
    assert.deepEqual(failures, [
      ["a/./b", "invalid-path", ""],
      ["a//b", "invalid-path", ""],
      ["app/../other", "invalid-path", ""],
      ["tab\\u0009here", "invalid-path", ""],
    ]);
    assert.deepEqual(p.actions.filter((a) => a.type === "create").map((a) => a.destinationName), ["hybrid-aws-secrets/ok"]);
  });

  test("soft-deleted and destroyed current versions are absences, each reported once", () => {
    const p = plan([src("gone", 4, { state: "deleted" }), src("burnt", 2, { state: "destroyed" }), src("live")], [ours("gone", 3), ours("live", 1)]);
    assert.deepEqual(
      p.actions.map((a) => [a.sourcePath, a.type, a.reason, a.failure]),
      [
        ["burnt", "skip", "current version 2 is destroyed in the source", undefined],
        ["gone", "skip", "the source's current version is deleted or destroyed; kept (deletion strategy: retain)", undefined],
        ["live", "unchanged", "up to date", undefined],
      ],
    );
    assert.equal(countActions(p).skip, 2);
  });

  test("tags the destination would reject are caught before writing", () => {
    const p = plan([src("a".repeat(300))], []);
    assert.equal(p.actions[0]?.failure?.errorClass, "invalid-tags");
    assert.match(p.actions[0]?.failure?.message ?? "", /secretbridge:path would be 300 characters; AWS allows at most 255/);
  });

  test("KV v1 compares fingerprints from facts: equal is unchanged, different or unknown is an update", () => {
    const facts = emptyFacts();
    facts.destination.set("hybrid-aws-secrets/same", { ok: "f1" });
    facts.destination.set("hybrid-aws-secrets/diff", { ok: "f9" });
    const source = [src("same", null, { fingerprint: "f1" }), src("diff", null, { fingerprint: "f2" }), src("unknown", null, { fingerprint: "f3" })];
    const dest = [ours("same", null), ours("diff", null), ours("unknown", null)];
    assert.deepEqual(
      factsNeeded([{ mapping: m0, source: { secrets: source, problems: [], method: "kv-v1-list-and-read" }, destination: { secrets: dest } }], emptyFacts(), profile),
      { source: [], destination: [{ name: "hybrid-aws-secrets/same" }, { name: "hybrid-aws-secrets/diff" }, { name: "hybrid-aws-secrets/unknown" }], presence: [] },
    );
    const p = plan(source, dest, m0, {}, facts);
    // KV v1 has no version: a write on an existing secret derives its token from the version it replaces.
    const replacing = (path: string) => driftRepairTokenFor(kv1RequestTokenFor({ syncName: "prod", source: m0.source, sourcePath: path, destinationName: m0.nameFor(path), tagKeys: "" }), dest.find((d) => d.name === m0.nameFor(path))?.currentVersionId ?? "");
    assert.deepEqual(
      p.actions.map((a) => [a.sourcePath, a.type, a.restoreVersionId]),
      [
        ["diff", "update", replacing("diff")],
        ["same", "unchanged", undefined],
        ["unknown", "update", replacing("unknown")],
      ],
    );
  });

  test("a value that could not be read for a comparison fails that secret only", () => {
    const facts = emptyFacts();
    facts.destination.set("hybrid-aws-secrets/a", { error: { errorClass: "permission-denied", message: "hybrid-aws-secrets/a: AccessDenied" } });
    facts.destination.set("hybrid-aws-secrets/b", { ok: "fb" });
    const p = plan([src("a", null, { fingerprint: "fa" }), src("b", null, { fingerprint: "fb" })], [ours("a", null), ours("b", null)], m0, {}, facts);
    assert.deepEqual(p.actions.map((a) => [a.sourcePath, a.type, a.failure?.errorClass]), [["a", "skip", "permission-denied"], ["b", "unchanged", undefined]]);
  });

  test("inventory problems are carried into the plan", () => {
    const p = planRun(
      [{ mapping: m0, source: { secrets: [], problems: [{ path: "denied/", errorClass: "permission-denied", message: "denied/: permission denied" }], method: "list-and-metadata" }, destination: { secrets: [] } }],
      emptyFacts(),
      profile,
    );
    assert.equal(p.problems.length, 1);
    assert.equal(p.sourceMethod, "list-and-metadata");
  });

  test("the plan is a pure function: same input, same output", () => {
    const input = [src("b", 2), src("a", 1)];
    assert.deepEqual(plan(input, [ours("b", 1)]), plan(input, [ours("b", 1)]));
  });
});

describe("names and collisions", () => {
  test("a name collision refuses every side, whatever the listing order", () => {
    const m = mapping({ nameTemplate: "{prefix}/{name}" });
    for (const order of [[src("dev/db"), src("prod/db")], [src("prod/db"), src("dev/db")]]) {
      const p = plan(order, [], m);
      assert.deepEqual(
        p.actions.map((a) => [a.sourcePath, a.type, a.failure?.errorClass]),
        [
          ["dev/db", "skip", "invalid-name"],
          ["prod/db", "skip", "invalid-name"],
        ],
      );
      assert.match(p.actions[0]?.failure?.message ?? "", /dev\/db and prod\/db both map to hybrid-aws-secrets\/db: none of them is written/);
    }
  });

  test("two mappings writing one name: both refused, each naming the other's mapping", () => {
    const a = mapping({ label: "mappings[0]", source: { ...spec.source, mount: "kv-a" } });
    const b = mapping({ label: "mappings[1]", source: { ...spec.source, mount: "kv-b" } });
    const inv = (m: ResolvedMapping) => ({ mapping: m, source: { secrets: [src("db")], problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: [] } });
    const p = planRun([inv(a), inv(b)], emptyFacts(), profile);
    assert.deepEqual(p.actions.map((x) => [x.mapping, x.type, x.failure?.errorClass]), [["mappings[0]", "skip", "invalid-name"], ["mappings[1]", "skip", "invalid-name"]]);
    assert.match(p.actions[0]?.failure?.message ?? "", /db \(mappings\[0\]\) and db \(mappings\[1\]\) both map to hybrid-aws-secrets\/db/);
  });
});

describe("a scope that lists nothing", () => {
  const inv = (m: ResolvedMapping, secrets: SourceSecretMeta[], problems: { path: string; errorClass: "permission-denied"; message: string }[] = []) => ({
    mapping: m,
    source: { secrets, problems, method: "detailed-metadata-scan" as const },
    destination: { secrets: [] },
  });

  test("a sub-path or mount that lists nothing, or globs that match nothing, is a warning naming the mapping and where", () => {
    const typo = mapping({ label: "mappings[0]", subPath: "tema-a", prefix: "a" });
    const empty = mapping({ label: "mappings[1]", source: { ...spec.source, mount: "kv-empty" }, prefix: "b" });
    const globs = mapping({ label: "mappings[2]", source: { ...spec.source, mount: "kv-c" }, include: ["prod/**"], prefix: "c" });
    const fine = mapping({ label: "mappings[3]", source: { ...spec.source, mount: "kv-d" }, prefix: "d" });
    const p = planRun([inv(typo, []), inv(empty, []), inv(globs, [src("dev/db"), src("dev/api")]), inv(fine, [src("db")])], emptyFacts(), profile);
    assert.deepEqual(p.warnings, [
      "mappings[0]: hybrid-aws-secrets/tema-a lists no secrets: check mappings[0].mount and mappings[0].path for a typo",
      "mappings[1]: kv-empty lists no secrets: check mappings[1].mount and mappings[1].path for a typo",
      "mappings[2]: kv-c lists 2 secrets, but none is in scope of the include/exclude globs",
    ]);
    assert.deepEqual(p.actions.map((a) => [a.mapping, a.type]), [["mappings[3]", "create"]]);
  });

  test("no warning for an incomplete listing (its failures say why) or for a push, which lists nothing by design", () => {
    const m = mapping({ subPath: "team-a" });
    assert.deepEqual(planRun([inv(m, [], [{ path: "team-a/x", errorClass: "permission-denied", message: "denied" }])], emptyFacts(), profile).warnings, []);
    assert.deepEqual(planRun([inv(m, [])], emptyFacts(), profile, { targeted: true }).warnings, []);
  });
});

describe("ownership across mappings", () => {
  test("nested prefixes: a mapping never deletes, marks or writes what another mapping produced", () => {
    const deleting = { ...DEFAULT_POLICIES, deletion: { ...DEFAULT_POLICIES.deletion, strategy: "delete" as const }, blastRadius: { ...BR, maxShare: 1, minCount: 0 } };
    const outer = mapping({ label: "mappings[0]", source: { ...spec.source, mount: "nest" }, prefix: "team", policies: deleting });
    const inner = mapping({ label: "mappings[1]", source: { ...spec.source, mount: "nest" }, subPath: "x", prefix: "team/legacy", policies: deleting });
    const source = { secrets: [src("x/a")], problems: [], method: "detailed-metadata-scan" as const };
    const dest = { secrets: [ours("x/a", 1, {}, outer), ours("x/a", 1, {}, inner)] };
    assert.deepEqual(dest.secrets.map((d) => d.name), ["team/x/a", "team/legacy/x/a"]);
    const p = planRun([{ mapping: outer, source, destination: dest }, { mapping: inner, source, destination: dest }], emptyFacts(), profile);
    assert.deepEqual(p.actions.map((a) => [a.mapping, a.destinationName, a.type]), [["mappings[1]", "team/legacy/x/a", "unchanged"], ["mappings[0]", "team/x/a", "unchanged"]]);
  });

  test("a secret another mapping of the run wrote is a conflict for this one, never an update", () => {
    const a = mapping({ label: "mappings[0]", source: { ...spec.source, mount: "kv-a" } });
    const b = mapping({ label: "mappings[1]", source: { ...spec.source, mount: "kv-b" } });
    // kv-b/db was replicated to hybrid-aws-secrets/db, then deleted in kv-b; now kv-a/db appears.
    const dest = { secrets: [ours("db", 1, {}, b)] };
    const p = planRun(
      [
        { mapping: a, source: { secrets: [src("db")], problems: [], method: "detailed-metadata-scan" }, destination: dest },
        { mapping: b, source: { secrets: [src("other")], problems: [], method: "detailed-metadata-scan" }, destination: dest },
      ],
      emptyFacts(),
      profile,
    );
    const action = p.actions.find((x) => x.mapping === "mappings[0]" && x.sourcePath === "db");
    assert.deepEqual([action?.type, action?.failure?.errorClass], ["conflict", "conflict-other-mapping"]);
    assert.match(action?.failure?.message ?? "", /written by mappings\[1\] \(kv-b -> hybrid-aws-secrets\/\) from db, not by mappings\[0\]/);
  });

  test("a provenance tag edited by hand on a secret of ours is repaired, not a conflict", () => {
    const tampered = ours("a", 1);
    tampered.tags = { ...tampered.tags, [TAG.path]: "tampered" };
    const p = plan([src("a", 1)], [tampered]);
    assert.deepEqual([p.actions[0]?.type, p.actions[0]?.changes, p.actions[0]?.tags?.[TAG.path]], ["update", ["tags"], "a"]);
  });

  test("deletion only touches secrets this mapping produced: sync, mount, sub-path, scope and name", () => {
    const scoped = mapping({ subPath: "team-a", policies: { ...DEFAULT_POLICIES, deletion: { ...DEFAULT_POLICIES.deletion, strategy: "delete" } } });
    const other = { name: "hybrid-aws-secrets/x", tags: tagsOf(mapping({ syncName: "staging" }), "x", 1) };
    const otherMount = ours("y", 1, {}, mapping({ source: { ...spec.source, mount: "elsewhere" } }));
    const renamed = { ...ours("team-a/renamed", 1, {}, scoped), name: "hybrid-aws-secrets/not-its-name" };
    const names = Array.from({ length: 20 }, (_, i) => `team-a/s${i}`);
    const p = plan(
      names.map((n) => src(n)),
      [...names.map((n) => ours(n, 1, {}, scoped)), ours("team-a/gone", 1, {}, scoped), other, otherMount, ours("team-b/z", 1), renamed, { name: "hybrid-aws-secrets/unmanaged", tags: {} }],
      scoped,
    );
    assert.deepEqual(p.actions.filter((a) => a.type === "delete").map((a) => a.destinationName), ["hybrid-aws-secrets/team-a/gone"]);
  });
});

describe("source identity and versions of ours", () => {
  test("respelling the source address is a tags-only update of the informational tag, never drift", () => {
    const written = ours("a", 2, { currentVersionId: tokenOf("a", 2) });
    const respelled = mapping({ source: { ...spec.source, address: "https://VAULT.example.com:8200/" } });
    const p = plan([src("a", 2)], [written], respelled);
    assert.deepEqual([p.actions[0]?.type, p.actions[0]?.changes, p.actions[0]?.reason], ["update", ["tags"], "tags out of date: secretbridge:source"]);
    assert.equal(p.actions[0]?.restoreVersionId, undefined);
  });

  test("secrets written by releases before source ids (address-derived token) are ours: no rewrite on upgrade; an address change writes the value once under this release's token", () => {
    const legacyToken = legacyRequestTokenFor({ syncName: "prod", source: spec.source, sourcePath: "a", version: 2, destinationName: "hybrid-aws-secrets/a" }, spec.source.address);
    const legacyTags = Object.fromEntries(Object.entries(tagsOf(m0, "a", 2)).filter(([k]) => k !== TAG.tagKeys));
    const legacy = { name: "hybrid-aws-secrets/a", tags: legacyTags, currentVersionId: legacyToken };
    assert.equal(plan([src("a", 2)], [legacy]).actions[0]?.type, "unchanged");
    // The address tag is what the legacy token was derived from: changing it alone would leave no
    // proof, so the value is written again under this release's token (one version, once).
    const moved = mapping({ source: { ...spec.source, address: "https://other-name:8200" } });
    const respelled = plan([src("a", 2)], [legacy], moved).actions[0];
    assert.deepEqual([respelled?.type, respelled?.changes, respelled?.requestToken], ["update", ["value", "tags"], tokenOf("a", 2, moved)]);
    const after = { ...legacy, tags: { ...(respelled?.tags ?? {}) }, currentVersionId: respelled?.requestToken ?? "" };
    assert.equal(plan([src("a", 2)], [after], moved).actions[0]?.type, "unchanged");
  });

  test("a source id in config is recorded in a tag and in the token; secrets without the tag stay ours", () => {
    const named = mapping({ source: { ...spec.source, id: "onprem" } });
    assert.equal(tagsOf(named, "a", 1)[TAG.sourceId], "onprem");
    assert.notEqual(tokenOf("a", 1, named), tokenOf("a", 1));
    assert.equal(named.produced(ours("a", 1)), true, "a secret written before the id was set");
    assert.equal(m0.produced(ours("a", 1, {}, named)), false, "a secret of another source id");
  });

  test("setting source.id after secrets were written under the default id: proven by the default id's token, then written once under the new id, never drift", () => {
    const written = ours("a", 2);
    const named = mapping({ source: { ...spec.source, id: "onprem" }, policies: { ...DEFAULT_POLICIES, drift: "report" } });
    const p = plan([src("a", 2)], [written], named).actions[0];
    assert.deepEqual([p?.type, p?.changes, p?.tags?.[TAG.sourceId], p?.requestToken], ["update", ["value", "tags"], "onprem", tokenOf("a", 2, named)]);
    const after = { ...written, tags: { ...(p?.tags ?? {}) }, currentVersionId: p?.requestToken ?? "" };
    assert.equal(plan([src("a", 2)], [after], named).actions[0]?.type, "unchanged");
  });

  test("drift: the current version is not one secretbridge wrote; the version it pushed aside proves the secret is ours", () => {
    const token = tokenOf("a", 2);
    assert.equal(plan([src("a", 2)], [ours("a", 2, { currentVersionId: token })]).actions[0]?.type, "unchanged");
    const stages = (current: string, previous: string) => ({ versionStages: { [current]: ["AWSCURRENT"], [previous]: ["AWSPREVIOUS"] } });
    const drifted = [ours("a", 2, stages("someone-else", token))];
    const overwrite = plan([src("a", 2)], drifted);
    const repair = driftRepairTokenFor(token, "someone-else");
    assert.deepEqual(
      [overwrite.actions[0]?.type, overwrite.actions[0]?.restoreVersionId, overwrite.actions[0]?.currentVersionId, overwrite.actions[0]?.tags?.[TAG.replacedVersion]],
      ["update", repair, "someone-else", "someone-else"],
    );
    // Repaired: the repair's token derives from ours and the version it replaced.
    assert.equal(plan([src("a", 2)], [ours("a", 2, stages(repair, "someone-else"))]).actions[0]?.type, "unchanged");
    // Edited by hand again: both earlier versions lost their labels; the tag names the replaced id, and the token proves it.
    const again = ours("a", 2, { ...stages("someone-2", repair), tags: { ...tagsOf(m0, "a", 2), [TAG.replacedVersion]: "someone-else" } });
    assert.deepEqual(plan([src("a", 2)], [again]).actions.map((a) => [a.type, a.restoreVersionId]), [["update", driftRepairTokenFor(token, "someone-2")]]);
    // No version of ours left among the labelled ones, and no tag that leads to one: not proven.
    const lost = ours("a", 2, stages("someone-3", "someone-2"));
    assert.deepEqual(plan([src("a", 2)], [lost]).actions.map((a) => [a.type, a.failure?.errorClass]), [["conflict", "ownership-unproven"]]);
    const recreated = plan([src("a", 1, { versionCreatedTime: "2026-11-22T10:00:00Z" })], [ours("a", 1, { tags: tagsOf(m0, "a", 1, { versionCreatedTime: "2026-11-01T10:00:00Z" }) })]);
    assert.match(recreated.actions[0]?.reason ?? "", /^source re-created: version 1 written 2026-11-22T10:00:00Z/);
    const report = plan([src("a", 2)], drifted, withPolicies({ drift: "report" }));
    assert.deepEqual([report.actions[0]?.type, report.actions[0]?.failure?.errorClass], ["drift", "drift"]);
    const skip = plan([src("a", 2)], drifted, withPolicies({ drift: "skip" }));
    assert.deepEqual([skip.actions[0]?.type, skip.actions[0]?.failure], ["unchanged", undefined]);
  });

  test("adopt-if-equal writes the equal value once with secretbridge's token, so a version id proves it and the next plan sees no drift", () => {
    const unmanaged = { name: "hybrid-aws-secrets/a", tags: { team: "x" }, currentVersionId: "outsider-v1" };
    const m = withPolicies({ onConflict: "adopt-if-equal" });
    const facts = emptyFacts();
    facts.source.set(sourceFactKey("source", "a"), { ok: { keys: ["k"], fingerprints: { "": "f" } } });
    facts.destination.set("hybrid-aws-secrets/a", { ok: "f" });
    const adopt = plan([src("a", 1)], [unmanaged], m, {}, facts).actions[0];
    assert.deepEqual([adopt?.type, adopt?.changes, adopt?.requestToken, adopt?.tags?.team], ["adopt", ["value", "tags"], tokenOf("a", 1), undefined]);
    const adopted = { ...unmanaged, tags: { ...unmanaged.tags, ...(adopt?.tags ?? {}) }, versionStages: { [adopt?.requestToken ?? ""]: ["AWSCURRENT"], "outsider-v1": ["AWSPREVIOUS"] } };
    assert.deepEqual(plan([src("a", 1)], [adopted], withPolicies({ onConflict: "adopt-if-equal", drift: "report" })).actions.map((a) => a.type), ["unchanged"]);
  });

  test("conflicts: adopt takes over, adopt-if-equal only with equal values, other syncs never", () => {
    const unmanaged: DestinationSecretMeta = { name: "hybrid-aws-secrets/a", tags: { team: "x" } };
    assert.deepEqual(plan([src("a")], [unmanaged], withPolicies({ onConflict: "adopt" })).actions.map((a) => [a.type, a.changes]), [["adopt", ["value", "tags"]]]);
    const facts = (dest: string) => {
      const f = emptyFacts();
      f.source.set(sourceFactKey("source", "a"), { ok: { keys: ["k"], fingerprints: { "": "f" } } });
      f.destination.set("hybrid-aws-secrets/a", { ok: dest });
      return f;
    };
    const differs = plan([src("a", 1)], [unmanaged], withPolicies({ onConflict: "adopt-if-equal" }), {}, facts("g"));
    assert.deepEqual(differs.actions.map((a) => [a.type, a.failure?.errorClass]), [["conflict", "conflict-unmanaged"]]);
    const otherSync = { name: "hybrid-aws-secrets/a", tags: tagsOf(mapping({ syncName: "staging" }), "a", 1) };
    assert.equal(plan([src("a")], [otherSync], withPolicies({ onConflict: "adopt" })).actions[0]?.failure?.errorClass, "conflict-other-sync");
  });
});

describe("tags secretbridge set, and tags others set", () => {
  const withTags = (staticTags: Record<string, string>, copy = false) => mapping({ staticTags, copyCustomMetadata: copy });

  test("a static tag dropped from config is removed; a tag someone else added is kept", () => {
    const written = ours("a", 1, { tags: { ...tagsOf(withTags({ team: "a", cost: "x" }), "a", 1), "abac-team": "payments" } });
    assert.equal(written.tags[TAG.tagKeys], "cost team");
    const p = plan([src("a", 1)], [written], withTags({ team: "a" }));
    assert.deepEqual([p.actions[0]?.type, p.actions[0]?.untag, p.actions[0]?.tags?.[TAG.tagKeys]], ["update", ["cost"], "team"]);
    assert.equal(p.actions[0]?.tags?.["abac-team"], undefined, "never rewritten");
  });

  test("copied custom_metadata keys are removed when deleted in the source or when copying is turned off", () => {
    const cm = { owner: "o1", tier: "gold" };
    const written = ours("a", 1, { tags: tagsOf(withTags({}, true), "a", 1, { customMetadata: cm }) });
    const deletedKey = plan([src("a", 1, { customMetadata: { owner: "o1" } })], [written], withTags({}, true));
    assert.deepEqual(deletedKey.actions[0]?.untag, ["tier"]);
    const off = plan([src("a", 1, { customMetadata: cm })], [written], withTags({}, false));
    assert.deepEqual(off.actions[0]?.untag, ["owner", "tier"]);
  });

  test("custom_metadata keys named like Object's own members (hasOwnProperty, valueOf, __proto__, constructor, toString) are copied, and a second run is unchanged", () => {
    const names = ["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf"];
    // As a listing's JSON.parse builds it: "__proto__" is an own key, not the prototype.
    const cm = JSON.parse('{"__proto__":"v-__proto__","constructor":"v-constructor","hasOwnProperty":"v-hasOwnProperty","toString":"v-toString","valueOf":"v-valueOf"}') as Record<string, string>;
    assert.deepEqual(Object.keys(cm), names);
    const created = plan([src("a", 1, { customMetadata: cm })], [], withTags({}, true)).actions[0];
    const copied = Object.entries(created?.tags ?? {}).filter(([k]) => names.includes(k));
    assert.deepEqual(copied.sort(), names.map((k) => [k, `v-${k}`]), "every key copied with its value");
    assert.equal(created?.tags?.[TAG.tagKeys], names.slice().sort().join(" "));
    assert.deepEqual(created?.warnings ?? [], []);
    // Written by that create: its version id is the create's request token (the proof of ownership).
    const written = { ...ours("a", 1), tags: Object.fromEntries(Object.entries(created?.tags ?? {})), currentVersionId: created?.requestToken ?? "" };
    const again = plan([src("a", 1, { customMetadata: cm })], [written], withTags({}, true)).actions[0];
    assert.deepEqual([again?.type, again?.reason], ["unchanged", "up to date"]);
  });

  test("a static tag key someone else already set on the secret is neither overwritten nor recorded", () => {
    const written = ours("a", 1, { tags: { ...tagsOf(m0, "a", 1), team: "theirs" } });
    const p = plan([src("a", 1)], [written], withTags({ team: "ours" }));
    assert.equal(p.actions[0]?.type, "unchanged");
    assert.match((p.actions[0]?.warnings ?? []).join(), /tag team was set by someone else; left as is/);
  });

  test("a secret written before tag records: static tags are ours as before, and no write just for the record", () => {
    const previous = previousRequestTokenFor({ syncName: "prod", source: m0.source, sourcePath: "a", version: 1, destinationName: m0.nameFor("a") });
    const legacy = ours("a", 1, { tags: Object.fromEntries(Object.entries(tagsOf(withTags({ team: "a" }), "a", 1)).filter(([k]) => k !== TAG.tagKeys)), currentVersionId: previous });
    assert.equal(plan([src("a", 1)], [legacy], withTags({ team: "a" })).actions[0]?.type, "unchanged");
    const changed = plan([src("a", 1)], [legacy], withTags({ team: "b" })).actions[0];
    assert.deepEqual([changed?.type, changed?.tags?.team, changed?.tags?.[TAG.tagKeys]], ["update", "b", "team"]);
  });
});

describe("lifecycle policies", () => {
  const deleteStrategy = (strategy: "tag" | "delete", extra: Partial<LifecyclePolicies["deletion"]> = {}, more: Partial<LifecyclePolicies> = {}) =>
    withPolicies({ deletion: { ...DEFAULT_POLICIES.deletion, strategy, ...extra }, ...more });
  const many = (n: number) => Array.from({ length: n }, (_, i) => `s${String(i).padStart(2, "0")}`);

  test("delete: a secret gone from the source is scheduled for deletion with the recovery window", () => {
    const names = many(20);
    const m = deleteStrategy("delete", { settings: { recoveryWindowDays: 7 } });
    const p = plan(names.slice(1).map((n) => src(n)), names.map((n) => ours(n, 1, {}, m)), m);
    assert.deepEqual(p.actions.filter((a) => a.type === "delete").map((a) => [a.destinationName, a.immediate, a.provider]), [["hybrid-aws-secrets/s00", false, { recoveryWindowDays: 7 }]]);
  });

  test("delete without recovery only when configured", () => {
    const names = many(20);
    const p = plan(names.slice(1).map((n) => src(n)), names.map((n) => ours(n, 1)), deleteStrategy("delete", { settings: { forceDeleteWithoutRecovery: true } }));
    assert.deepEqual([p.actions.find((a) => a.type === "delete")?.immediate, p.actions.find((a) => a.type === "delete")?.provider], [true, { forceDeleteWithoutRecovery: true }]);
  });

  test("a destination without a recovery window says so: its deletion is at once, in the reason and the action", () => {
    const names = many(20);
    const m = deleteStrategy("delete");
    const atOnce: DestinationProfile = { ...profile, deletionOf: () => ({ describe: "deleting at once (no recovery window here)", immediate: true, provider: {} }) };
    const p = plan(names.slice(1).map((n) => src(n)), names.map((n) => ours(n, 1, {}, m)), m, {}, emptyFacts(), atOnce);
    const del = p.actions.find((a) => a.type === "delete");
    assert.deepEqual([del?.destinationName, del?.immediate, del?.provider, del?.reason], ["hybrid-aws-secrets/s00", true, undefined, "the source secret no longer exists (confirmed by a metadata read); deleting at once (no recovery window here)"]);
  });

  test("tag: marked orphaned once, then left alone; the mark is cleared when the source is back", () => {
    const names = many(20);
    const first = plan(names.slice(1).map((n) => src(n)), names.map((n) => ours(n, 1)), deleteStrategy("tag"));
    assert.deepEqual(first.actions.filter((a) => a.type === "orphan").map((a) => a.sourcePath), ["s00"]);
    const marked = names.map((n) => ours(n, 1, n === "s00" ? { tags: { ...tagsOf(m0, n, 1), [TAG.orphanedAt]: "2026-11-22T00:00:00Z" } } : {}));
    const second = plan(names.slice(1).map((n) => src(n)), marked, deleteStrategy("tag"));
    assert.deepEqual(second.actions.filter((a) => a.sourcePath === "s00").map((a) => a.type), ["unchanged"]);
    const back = plan(names.map((n) => src(n)), marked, deleteStrategy("tag"));
    assert.deepEqual(back.actions.filter((a) => a.sourcePath === "s00").map((a) => [a.type, a.untag]), [["update", [TAG.orphanedAt]]]);
  });

  test("blast-radius guard: over 10% of managed secrets deletes nothing and fails; forcing lifts it", () => {
    const names = many(20);
    const source = names.slice(3).map((n) => src(n)); // 3 of 20 gone = 15%
    const dest = names.map((n) => ours(n, 1));
    const guarded = plan(source, dest, deleteStrategy("delete"));
    assert.equal(guarded.actions.filter((a) => a.type === "delete").length, 0);
    const refused = guarded.actions.filter((a) => a.failure?.errorClass === "blast-radius");
    assert.equal(refused.length, 3);
    assert.match(refused[0]?.failure?.message ?? "", /3 of 20 managed secrets \(15%\) is over the blast-radius limit of 10%; check the source, then run with --force-deletions/);
    assert.equal(plan(source, dest, deleteStrategy("delete"), { forceDeletions: true }).actions.filter((a) => a.type === "delete").length, 3);
    const byCount = plan(names.slice(1).map((n) => src(n)), dest, deleteStrategy("delete", {}, { blastRadius: { ...BR, maxShare: 1, maxCount: 0, minCount: 0 } }));
    assert.equal(byCount.actions.filter((a) => a.failure?.errorClass === "blast-radius").length, 1);
  });

  test("a few deletions (minCount) never trip the guard; an approved set lifts it for exactly those names", () => {
    const names = many(5);
    const dest = names.map((n) => ours(n, 1));
    const oneGone = plan(names.slice(1).map((n) => src(n)), dest, deleteStrategy("delete"));
    assert.deepEqual(oneGone.actions.filter((a) => a.type === "delete").map((a) => a.sourcePath), ["s00"], "1 of 5 is 20% but under the floor of 2");
    const threeGone = names.slice(3).map((n) => src(n));
    const held = plan(threeGone, dest, deleteStrategy("delete"));
    assert.equal(held.actions.filter((a) => a.failure?.errorClass === "blast-radius").length, 3);
    const approved = new Set(["hybrid-aws-secrets/s00", "hybrid-aws-secrets/s01", "hybrid-aws-secrets/s02"]);
    assert.equal(plan(threeGone, dest, deleteStrategy("delete"), { approvedDeletions: approved }).actions.filter((a) => a.type === "delete").length, 3);
    const oneMore = plan(names.slice(4).map((n) => src(n)), dest, deleteStrategy("delete"), { approvedDeletions: approved });
    assert.equal(oneMore.actions.filter((a) => a.type === "delete").length, 0, "a name added since the approval is not approved");
  });

  test("an empty or incomplete source listing never deletes", () => {
    const names = many(3);
    const dest = names.map((n) => ours(n, 1));
    const empty = plan([], dest, deleteStrategy("delete", {}, { blastRadius: { ...BR, maxShare: 1, minCount: 0 } }));
    assert.equal(empty.actions.filter((a) => a.type === "delete").length, 0);
    assert.match(empty.actions[0]?.failure?.message ?? "", /the source listing came back empty/);
    const partial = planRun(
      [{ mapping: deleteStrategy("delete"), source: { secrets: [src("s00")], problems: [{ path: "team/", errorClass: "permission-denied", message: "denied" }], method: "detailed-metadata-list" }, destination: { secrets: dest } }],
      emptyFacts(),
      profile,
      { forceDeletions: true },
    );
    assert.equal(partial.actions.filter((a) => a.type === "delete").length, 0);
    assert.match(partial.actions.find((a) => a.sourcePath === "s01")?.failure?.message ?? "", /the source listing was incomplete/);
  });

  test("include / exclude: out-of-scope paths are neither written nor deleted", () => {
    const scoped = mapping({ include: ["app/**"], exclude: ["**/tmp-*"], policies: { ...DEFAULT_POLICIES, deletion: { ...DEFAULT_POLICIES.deletion, strategy: "delete" } } });
    const names = many(20).map((n) => `app/${n}`);
    const p = plan([...names.map((n) => src(n)), src("other/x"), src("app/tmp-1")], [...names.map((n) => ours(n, 1)), ours("app/tmp-old", 1), ours("legacy/y", 1)], scoped);
    assert.equal(p.actions.some((a) => a.sourcePath === "other/x" || a.sourcePath === "app/tmp-1"), false);
    assert.equal(p.actions.filter((a) => a.type === "delete").length, 0, "excluded tmp-old and out-of-scope legacy/y are not 'gone'");
  });

  test("a push (targeted plan) never deletes", () => {
    const names = many(20);
    const p = plan([src("s01")], names.map((n) => ours(n, 1)), deleteStrategy("delete", {}, { blastRadius: { ...BR, maxShare: 1, minCount: 0 } }), { targeted: true });
    assert.deepEqual(p.actions.map((a) => a.type), ["unchanged"]);
  });
});

describe("granularity key", () => {
  const keyed = mapping({ granularity: "key", nameTemplate: "{prefix}/{path}/{key}" });
  test("a changed version asks for its keys; the keys name one secret each; an unreadable value fails that path and keeps its secrets", () => {
    const inv = (dest: DestinationSecretMeta[]) => [{ mapping: keyed, source: { secrets: [src("db", 2)], problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: dest } }];
    assert.deepEqual(factsNeeded(inv([]), emptyFacts(), profile).source, [{ mapping: "source", path: "db", version: 2 }]);
    const facts = emptyFacts();
    facts.source.set(sourceFactKey("source", "db"), { ok: { keys: ["user", "pass"], fingerprints: {} } });
    assert.deepEqual(planRun(inv([]), facts, profile).actions.map((a) => [a.type, a.destinationName, a.valueShape]), [
      ["create", "hybrid-aws-secrets/db/pass", { type: "key", key: "pass" }],
      ["create", "hybrid-aws-secrets/db/user", { type: "key", key: "user" }],
    ]);
    const failed = emptyFacts();
    failed.source.set(sourceFactKey("source", "db"), { error: { errorClass: "permission-denied", message: "db: denied" } });
    const existing = { name: "hybrid-aws-secrets/db/user", tags: { ...tagsOf(keyed, "db", 1), [TAG.key]: "user" } };
    const strict = createMapping({ ...keyed, policies: { ...DEFAULT_POLICIES, deletion: { ...DEFAULT_POLICIES.deletion, strategy: "delete" }, blastRadius: { ...BR, maxShare: 1, minCount: 0 } } });
    const p = planRun([{ ...inv([existing])[0]!, mapping: strict }], failed, profile);
    assert.deepEqual(p.actions.map((a) => [a.type, a.failure?.errorClass]), [["skip", "permission-denied"]]);
  });
});

describe("migration: tag rules, shell secrets, selection by custom_metadata", () => {
  const rules = (over: Partial<NonNullable<MappingSpec["tagRules"]>> = {}): NonNullable<MappingSpec["tagRules"]> => ({
    required: { owner: { fromMetadata: "owner" }, environment: { value: "prod" } },
    onMissing: "fail",
    immutable: [],
    ...over,
  });

  test("requiredTags: a create carries each required tag, from custom_metadata or a static value, recorded as ours", () => {
    const m = mapping({ tagRules: rules() });
    const [a] = plan([src("a", 1, { customMetadata: { owner: "team-a", other: "x" } })], [], m).actions;
    assert.equal(a?.type, "create");
    assert.equal(a?.tags?.owner, "team-a");
    assert.equal(a?.tags?.environment, "prod");
    assert.equal(a?.tags?.other, undefined);
    assert.equal(a?.tags?.[TAG.tagKeys], "environment owner");
  });

  test("onMissingTag fail: the secret is not written, a missing-tag failure names the path, the tag and where it comes from", () => {
    const m = mapping({ tagRules: rules() });
    const p = plan([src("a", 1, { customMetadata: { other: "x" } }), src("b", 1, { customMetadata: { owner: "team-b" } })], [], m);
    assert.deepEqual(p.actions.map((a) => [a.type, a.sourcePath]), [["skip", "a"], ["create", "b"]]);
    assert.deepEqual(p.actions[0]?.failure, {
      errorClass: "missing-tag",
      message: 'a: required tags missing: owner (custom_metadata key "owner" is not set); not written (onMissingTag: fail)',
    });
  });

  test("onMissingTag fail also holds an update of a secret of ours whose custom_metadata lost the key", () => {
    const m = mapping({ tagRules: rules() });
    const d = ours("a", 1, {}, mapping({ tagRules: rules(), staticTags: {} }));
    const fixture = { ...d, tags: tagsOf(m, "a", 1, { customMetadata: { owner: "team-a" } }) };
    const p = plan([src("a", 2, { customMetadata: {} })], [{ ...fixture, currentVersionId: writtenToken(m, fixture) }], m);
    assert.equal(p.actions[0]?.type, "skip");
    assert.equal(p.actions[0]?.failure?.errorClass, "missing-tag");
  });

  test("onMissingTag warn: written without the tag, and the report warns", () => {
    const m = mapping({ tagRules: rules({ onMissing: "warn" }) });
    const [a] = plan([src("a", 1, { customMetadata: {} })], [], m).actions;
    assert.equal(a?.type, "create");
    assert.equal(a?.tags?.owner, undefined);
    assert.equal(a?.tags?.environment, "prod");
    assert.deepEqual(a?.warnings, ['a: required tags missing: owner (custom_metadata key "owner" is not set); written without them (onMissingTag: warn)']);
  });

  test("an empty custom_metadata value is missing: an ABAC condition cannot match an empty owner", () => {
    const m = mapping({ tagRules: rules() });
    assert.equal(plan([src("a", 1, { customMetadata: { owner: "" } })], [], m).actions[0]?.failure?.errorClass, "missing-tag");
  });

  test("immutableTags: set on create, outside the record (never removed), kept when custom_metadata changes; the plan says so once", () => {
    const m = mapping({ tagRules: rules({ immutable: ["owner"] }) });
    const created = plan([src("a", 1, { customMetadata: { owner: "team-a" } })], [], m).actions[0];
    assert.equal(created?.tags?.owner, "team-a");
    assert.equal(created?.tags?.[TAG.tagKeys], "environment");
    const d = ours("a", 1, {}, m);
    d.tags = { ...(created?.tags ?? {}) };
    d.currentVersionId = writtenToken(m, d);
    const moved = plan([src("a", 1, { customMetadata: { owner: "team-b" } })], [d], m);
    const [u] = moved.actions;
    assert.equal(u?.type, "update");
    assert.deepEqual(u?.changes, ["tags"]);
    assert.equal(u?.tags?.owner, "team-a");
    assert.equal(u?.tags?.[TAG.immutableKept], "owner");
    assert.equal(u?.reason, "immutable tags kept as set on create: owner (the value they would get now differs; secretbridge never rewrites them)");
    // Once said (recorded on the secret), later plans are quiet, and a source version bump keeps the tag too.
    const noted = { ...d, tags: { ...d.tags, [TAG.immutableKept]: "owner" } };
    assert.deepEqual(plan([src("a", 1, { customMetadata: { owner: "team-b" } })], [noted], m).actions.map((a) => [a.type, a.reason]), [["unchanged", "up to date"]]);
    const bumped = plan([src("a", 2, { customMetadata: { owner: "team-b" } })], [noted], m).actions[0];
    assert.equal(bumped?.type, "update");
    assert.equal(bumped?.tags?.owner, "team-a");
    assert.equal(bumped?.untag, undefined);
  });

  test("immutableTags: a required tag dropped from the config is never removed from a secret created with it", () => {
    const m = mapping({ tagRules: rules({ immutable: ["owner"] }) });
    const created = plan([src("a", 1, { customMetadata: { owner: "team-a" } })], [], m).actions[0];
    const d = ours("a", 1, {}, m);
    d.tags = { ...(created?.tags ?? {}) };
    d.currentVersionId = writtenToken(m, d);
    assert.equal(created?.tags?.owner, "team-a");
    const later = mapping({ tagRules: rules({ required: { environment: { value: "prod" } }, immutable: ["owner"] }) });
    const [a] = plan([src("a", 1, { customMetadata: { owner: "team-a" } })], [d], later).actions;
    assert.equal(a?.type, "unchanged");
  });

  test("immutableTags apply to static tags too: a changed config value is not written to a secret created with the old one", () => {
    const before = mapping({ staticTags: { "data-classification": "internal" }, tagRules: rules({ required: {}, immutable: ["data-classification"] }) });
    const created = plan([src("a", 1)], [], before).actions[0];
    assert.equal(created?.tags?.["data-classification"], "internal");
    assert.equal(created?.tags?.[TAG.tagKeys], "");
    const d = ours("a", 1, {}, before);
    d.tags = { ...(created?.tags ?? {}) };
    d.currentVersionId = writtenToken(before, d);
    const after = mapping({ staticTags: { "data-classification": "confidential" }, tagRules: rules({ required: {}, immutable: ["data-classification"] }) });
    const [u] = plan([src("a", 1)], [d], after).actions;
    assert.equal(u?.type, "update");
    assert.equal(u?.tags?.["data-classification"], "internal");
    assert.equal(u?.tags?.[TAG.immutableKept], "data-classification");
    assert.equal(u?.warnings, undefined);
  });

  test("required tags take their place before copied custom_metadata, which gets the room left under the tag limit", () => {
    const metadata = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${String(i).padStart(2, "0")}`, "v"]));
    const m = mapping({ copyCustomMetadata: true, tagRules: rules() });
    const [a] = plan([src("a", 1, { customMetadata: { ...metadata, owner: "team-a" } })], [], m).actions;
    assert.equal(a?.type, "create", a?.failure?.message);
    assert.equal(a?.tags?.owner, "team-a");
    assert.equal(a?.tags?.environment, "prod");
    assert.equal(Object.keys(a?.tags ?? {}).length, profile.maxTags);
  });

  test("making a tag immutable on a secret created with it writes the value once more, so its version binds a record without that key; the tag stays", () => {
    const before = mapping({ tagRules: rules() });
    const created = plan([src("a", 1, { customMetadata: { owner: "team-a" } })], [], before).actions[0];
    assert.equal(created?.tags?.[TAG.tagKeys], "environment owner");
    const d = ours("a", 1, {}, before);
    d.tags = { ...(created?.tags ?? {}) };
    d.currentVersionId = writtenToken(before, d);
    const after = mapping({ tagRules: rules({ immutable: ["owner"] }) });
    const [u] = plan([src("a", 1, { customMetadata: { owner: "team-a" } })], [d], after).actions;
    assert.equal(u?.type, "update");
    assert.deepEqual(u?.changes, ["value", "tags"]);
    assert.equal(u?.reason, "tag keys changed (environment owner -> environment): the value is written again so its version binds the new record");
    assert.equal(u?.tags?.owner, "team-a");
    assert.equal(u?.tags?.[TAG.tagKeys], "environment");
    assert.equal(u?.untag, undefined);
  });

  const shell = (extra: Partial<DestinationSecretMeta> = {}): DestinationSecretMeta => ({ name: "hybrid-aws-secrets/a", tags: { owner: "infra", environment: "prod" }, currentVersionId: "v-shell", ...extra });
  const placeholderPolicies = { ...DEFAULT_POLICIES, onConflict: "adopt-if-placeholder" as const };

  test("adopt-if-placeholder asks for the destination value only (not the source's), and adopts a placeholder keeping the shell's tags", () => {
    const m = mapping({ policies: placeholderPolicies, tagRules: rules() });
    const inputs = [{ mapping: m, source: { secrets: [src("a", 1, { customMetadata: { owner: "team-a" } })], problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: [shell()] } }];
    const needed = factsNeeded(inputs, emptyFacts(), profile);
    assert.deepEqual(needed.destination, [{ name: "hybrid-aws-secrets/a" }]);
    assert.deepEqual(needed.source, []);
    for (const placeholder of ["", "{}"]) {
      const facts = emptyFacts();
      facts.destination.set("hybrid-aws-secrets/a", { ok: secretStringFingerprint(placeholder) });
      const [a] = planRun(inputs, facts, profile).actions;
      assert.equal(a?.type, "adopt");
      assert.equal(a?.reason, "exists unmanaged holding a placeholder value; adopting it and filling it from the source, its own tags kept (conflict policy: adopt-if-placeholder)");
      assert.equal(a?.tags?.owner, undefined, "the shell's owner tag is theirs: not rewritten");
      assert.equal(a?.tags?.[TAG.managedBy], "secretbridge");
      assert.equal(a?.untag, undefined);
    }
  });

  test("adopt-if-placeholder: a shell without any value is a placeholder by its listing alone (no value read)", () => {
    const m = mapping({ policies: placeholderPolicies });
    const inputs = [{ mapping: m, source: { secrets: [src("a", 1)], problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: [shell({ currentVersionId: undefined })] } }];
    assert.deepEqual(factsNeeded(inputs, emptyFacts(), profile).destination, []);
    assert.equal(planRun(inputs, emptyFacts(), profile).actions[0]?.type, "adopt");
  });

  test("adopt-if-placeholder leaves a real value alone and reports a conflict; configured placeholder values replace the defaults", () => {
    const m = mapping({ policies: { ...placeholderPolicies, placeholderValues: ["CHANGEME"] } });
    const inputs = [{ mapping: m, source: { secrets: [src("a", 1)], problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: [shell()] } }];
    const facts = emptyFacts();
    facts.destination.set("hybrid-aws-secrets/a", { ok: secretStringFingerprint("{}") });
    const [a] = planRun(inputs, facts, profile).actions;
    assert.equal(a?.type, "conflict");
    assert.deepEqual(a?.failure, {
      errorClass: "conflict-unmanaged",
      message: "hybrid-aws-secrets/a exists without secretbridge ownership tags and its value is not a placeholder; left untouched (conflict policy: adopt-if-placeholder)",
    });
    facts.destination.set("hybrid-aws-secrets/a", { ok: secretStringFingerprint("CHANGEME") });
    assert.equal(planRun(inputs, facts, profile).actions[0]?.type, "adopt");
  });

  test("select: only source secrets whose custom_metadata matches are in the mapping; values are read for none of the others", () => {
    const m = mapping({ select: { wave: ["3"] } });
    const p = plan([src("a", null, { customMetadata: { wave: "3" } }), src("b", null, { customMetadata: { wave: "2" } }), src("c", null)], [], m);
    assert.deepEqual(p.actions.map((a) => [a.type, a.sourcePath]), [["create", "a"]]);
    const inputs = [{ mapping: m, source: { secrets: [src("b", null, { customMetadata: { wave: "2" } })], problems: [], method: "detailed-metadata-scan" as const }, destination: { secrets: [] } }];
    assert.deepEqual(factsNeeded(inputs, emptyFacts(), profile).source, []);
  });

  test("select holds for a push too: a pushed path outside the selection is neither written nor read", () => {
    const m = mapping({ select: { app: ["payments"] } });
    const inputs = [{ mapping: m, source: { secrets: [src("b", 2, { customMetadata: { app: "billing" } })], problems: [], method: "list-and-metadata" as const }, destination: { secrets: [] } }];
    assert.deepEqual(planRun(inputs, emptyFacts(), profile, { targeted: true }).actions, []);
    assert.deepEqual(factsNeeded(inputs, emptyFacts(), profile, { targeted: true }), { source: [], destination: [], presence: [] });
  });

  test("select: a secret whose custom_metadata moves it out of the selection is kept, never deleted (deletion strategy: delete)", () => {
    const policies: LifecyclePolicies = { ...DEFAULT_POLICIES, deletion: { strategy: "delete", settings: {} }, blastRadius: { ...BR, minCount: 100 } };
    const m = mapping({ select: { wave: ["3"] }, policies });
    // Written when it was in wave 3 (the tags are the same with or without a selection).
    const d = ours("a", 1, {}, mapping({ policies }));
    const p = plan([src("a", 1, { customMetadata: { wave: "4" } }), src("b", 1, { customMetadata: { wave: "3" } })], [d], m);
    assert.deepEqual(p.actions.map((a) => [a.type, a.sourcePath, a.reason]), [
      ["skip", "a", "no longer selected by the mapping's select (custom_metadata); kept: leaving a selection never deletes a secret"],
      ["create", "b", "not in the destination yet"],
    ]);
    assert.equal(p.actions[0]?.failure, undefined);
    // Its deletion in the source still deletes it, whatever its metadata says now.
    const gone = plan([src("b", 1, { customMetadata: { wave: "3" } })], [d], m);
    assert.deepEqual(gone.actions.map((a) => [a.type, a.sourcePath]), [["delete", "a"], ["create", "b"]]);
  });
});
