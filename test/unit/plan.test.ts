import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DestinationSecretMeta, SourceSecretMeta } from "../../src/core/model.js";
import { countActions, planSync, type PlanSettings } from "../../src/core/plan.js";
import { desiredTags, TAG } from "../../src/core/tags.js";
import { DEFAULT_POLICIES, type LifecyclePolicies } from "../../src/core/policies.js";
import { driftRepairTokenFor, requestTokenFor } from "../../src/core/request-token.js";

const settings: PlanSettings = {
  syncName: "prod",
  source: { address: "https://vault.example.com:8200", mount: "hybrid-aws-secrets" },
  prefix: "hybrid-aws-secrets",
};

const src = (path: string, version: number | null = 1, extra: Partial<SourceSecretMeta> = {}): SourceSecretMeta => ({
  path,
  version,
  state: "present",
  ...extra,
});
const ours = (path: string, version: number | null, extra: Partial<DestinationSecretMeta> = {}): DestinationSecretMeta => ({
  name: `hybrid-aws-secrets/${path}`,
  tags: desiredTags("prod", settings.source, path, version),
  ...extra,
});
const plan = (source: SourceSecretMeta[], dest: DestinationSecretMeta[], s: PlanSettings = settings) =>
  planSync({ secrets: source, problems: [], method: "detailed-metadata-scan" }, { secrets: dest }, s);

describe("planSync", () => {
  test("walkthrough first run: both secrets are created with ownership and version tags", () => {
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
    const p = plan([src("a", 1)], [ours("a", 5)]);
    assert.equal(p.actions[0]?.type, "update");
  });

  test("changed static tags are a tags-only update that reads no value", () => {
    const p = plan([src("a", 2)], [ours("a", 2)], { ...settings, staticTags: { team: "payments" } });
    assert.deepEqual([p.actions[0]?.type, p.actions[0]?.changes, p.actions[0]?.reason], ["update", ["tags"], "tags out of date: team"]);
  });

  test("an unmanaged secret with the same name is a conflict and untouched", () => {
    const p = plan([src("a")], [{ name: "hybrid-aws-secrets/a", tags: { team: "x" } }]);
    assert.equal(p.actions[0]?.type, "conflict");
    assert.equal(p.actions[0]?.failure?.errorClass, "conflict-unmanaged");
    assert.equal(p.actions[0]?.tags, undefined);
  });

  test("a secret owned by another sync is a conflict naming that sync", () => {
    const other = desiredTags("staging", settings.source, "a", 1);
    const p = plan([src("a")], [{ name: "hybrid-aws-secrets/a", tags: other }]);
    assert.equal(p.actions[0]?.failure?.errorClass, "conflict-other-sync");
    assert.match(p.actions[0]?.failure?.message ?? "", /sync "staging"/);
  });

  test("unmanaged destination secrets without a source counterpart are not touched or reported", () => {
    const p = plan([src("a")], [ours("a", 1), { name: "hybrid-aws-secrets/vault-connection-secret", tags: {} }]);
    assert.deepEqual(countActions(p), { create: 0, update: 0, unchanged: 1, conflict: 0, skip: 0 });
  });

  test("scheduled for deletion (not ours), service-managed and rotating secrets are never written", () => {
    const p = plan(
      [src("deleted"), src("rds!cluster-1"), src("rotating")],
      [{ name: "hybrid-aws-secrets/deleted", tags: {}, deletedDate: new Date() }, ours("rds!cluster-1", 0, { owningService: "rds" }), ours("rotating", 0, { rotationEnabled: true })],
    );
    assert.deepEqual(
      p.actions.map((a) => [a.sourcePath, a.type, a.failure?.errorClass]),
      [
        ["deleted", "conflict", "pending-deletion"],
        ["rds!cluster-1", "skip", "invalid-name"],
        ["rotating", "conflict", "not-writable"],
      ],
    );
  });

  test("a secret of ours pending deletion whose source is back is restored, with its value and tags", () => {
    const p = plan([src("back", 3)], [ours("back", 2, { deletedDate: new Date() })]);
    assert.deepEqual([p.actions[0]?.type, p.actions[0]?.changes, p.actions[0]?.tags?.version], ["restore", ["value", "tags"], "3"]);
  });

  test("invalid names are skipped as failures naming the path; the rest is planned", () => {
    const p = plan([src("ok"), src("has space"), src("ends-abc123"), src("x".repeat(600))], []);
    const byPath = Object.fromEntries(p.actions.map((a) => [a.sourcePath.slice(0, 20), a]));
    assert.equal(byPath["ok"]?.type, "create");
    assert.equal(byPath["has space"]?.failure?.errorClass, "invalid-name");
    assert.match(byPath["has space"]?.failure?.message ?? "", /^has space: .*" "/);
    assert.match(byPath["ends-abc123"]?.failure?.message ?? "", /ARN suffix/);
    assert.match(byPath["x".repeat(20)]?.failure?.message ?? "", /619 characters; AWS allows at most 512/);
  });

  test("soft-deleted and destroyed current versions are absences: retained by default, reported", () => {
    const p = plan([src("gone", 4, { state: "deleted" }), src("burnt", 2, { state: "destroyed" }), src("live")], [ours("gone", 3), ours("live", 1)]);
    assert.deepEqual(
      p.actions.map((a) => [a.sourcePath, a.type, a.reason, a.failure]),
      [
        ["burnt", "skip", "current version 2 is destroyed in the source", undefined],
        ["gone", "skip", "current version 4 is deleted in the source", undefined],
        ["gone", "skip", "the source's current version is deleted or destroyed; kept (deletion strategy: retain)", undefined],
        ["live", "unchanged", "up to date", undefined],
      ],
    );
  });

  test("tags AWS would reject are caught before writing", () => {
    const p = plan([src("a".repeat(300))], []);
    assert.equal(p.actions[0]?.failure?.errorClass, "invalid-tags");
    assert.match(p.actions[0]?.failure?.message ?? "", /secretbridge:path would be 300 characters; AWS allows at most 255/);
  });

  test("KV v1 compares fingerprints: equal is unchanged, different or unknown is an update", () => {
    const p = plan(
      [src("same", null, { fingerprint: "f1" }), src("diff", null, { fingerprint: "f2" }), src("unknown", null, { fingerprint: "f3" })],
      [ours("same", null, { fingerprint: "f1" }), ours("diff", null, { fingerprint: "f9" }), ours("unknown", null)],
    );
    assert.deepEqual(
      p.actions.map((a) => [a.sourcePath, a.type, a.requestToken]),
      [
        ["diff", "update", undefined],
        ["same", "unchanged", undefined],
        ["unknown", "update", undefined],
      ],
    );
  });

  test("inventory problems are carried into the plan", () => {
    const p = planSync(
      { secrets: [], problems: [{ path: "denied/", errorClass: "permission-denied", message: "denied/: permission denied" }], method: "list-and-metadata" },
      { secrets: [] },
      settings,
    );
    assert.equal(p.problems.length, 1);
    assert.equal(p.sourceMethod, "list-and-metadata");
  });

  test("the plan is a pure function: same input, same output", () => {
    const input = [src("b", 2), src("a", 1)];
    assert.deepEqual(plan(input, [ours("b", 1)]), plan(input, [ours("b", 1)]));
  });
});

describe("lifecycle policies", () => {
  const withPolicies = (overrides: Partial<LifecyclePolicies>, extra: Partial<PlanSettings> = {}): PlanSettings => ({
    ...settings,
    policies: { ...DEFAULT_POLICIES, ...overrides },
    ...extra,
  });
  const deleteStrategy = (strategy: "tag" | "delete", extra: Partial<LifecyclePolicies["deletion"]> = {}) =>
    withPolicies({ deletion: { ...DEFAULT_POLICIES.deletion, strategy, ...extra } });
  const many = (n: number) => Array.from({ length: n }, (_, i) => `s${String(i).padStart(2, "0")}`);

  test("delete: a secret gone from the source is scheduled for deletion with the recovery window", () => {
    const names = many(20);
    const p = plan(names.slice(1).map((n) => src(n)), names.map((n) => ours(n, 1)), deleteStrategy("delete", { recoveryWindowDays: 7 }));
    const del = p.actions.filter((a) => a.type === "delete");
    assert.deepEqual(del.map((a) => [a.destinationName, a.deletion]), [["hybrid-aws-secrets/s00", { recoveryWindowDays: 7 }]]);
  });

  test("delete without recovery only when configured", () => {
    const names = many(20);
    const p = plan(names.slice(1).map((n) => src(n)), names.map((n) => ours(n, 1)), deleteStrategy("delete", { forceDeleteWithoutRecovery: true }));
    assert.deepEqual(p.actions.find((a) => a.type === "delete")?.deletion, { forceDeleteWithoutRecovery: true });
  });

  test("tag: marked orphaned once, then left alone", () => {
    const names = many(20);
    const first = plan(names.slice(1).map((n) => src(n)), names.map((n) => ours(n, 1)), deleteStrategy("tag"));
    assert.deepEqual(first.actions.filter((a) => a.type === "orphan").map((a) => a.sourcePath), ["s00"]);
    const marked = names.map((n) => ours(n, 1, n === "s00" ? { tags: { ...desiredTags("prod", settings.source, n, 1), [TAG.orphanedAt]: "2026-11-22T00:00:00Z" } } : {}));
    const second = plan(names.slice(1).map((n) => src(n)), marked, deleteStrategy("tag"));
    assert.deepEqual(second.actions.filter((a) => a.sourcePath === "s00").map((a) => a.type), ["unchanged"]);
    // The source comes back: the mark is cleared.
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
    const forced = plan(source, dest, { ...deleteStrategy("delete"), forceDeletions: true });
    assert.equal(forced.actions.filter((a) => a.type === "delete").length, 3);
    const byCount = plan(names.slice(1).map((n) => src(n)), dest, withPolicies({ deletion: { ...DEFAULT_POLICIES.deletion, strategy: "delete" }, blastRadius: { maxShare: 1, maxCount: 0 } }));
    assert.equal(byCount.actions.filter((a) => a.failure?.errorClass === "blast-radius").length, 1);
  });

  test("an empty or incomplete source listing never deletes", () => {
    const names = many(3);
    const dest = names.map((n) => ours(n, 1));
    const empty = plan([], dest, { ...deleteStrategy("delete"), forceDeletions: false, policies: { ...DEFAULT_POLICIES, deletion: { ...DEFAULT_POLICIES.deletion, strategy: "delete" }, blastRadius: { maxShare: 1 } } });
    assert.equal(empty.actions.filter((a) => a.type === "delete").length, 0);
    assert.match(empty.actions[0]?.failure?.message ?? "", /the source listing came back empty/);
    const partial = planSync(
      { secrets: [src("s00")], problems: [{ path: "team/", errorClass: "permission-denied", message: "denied" }], method: "detailed-metadata-list" },
      { secrets: dest },
      { ...deleteStrategy("delete"), forceDeletions: true },
    );
    assert.equal(partial.actions.filter((a) => a.type === "delete").length, 0);
    assert.match(partial.actions.find((a) => a.sourcePath === "s01")?.failure?.message ?? "", /the source listing was incomplete/);
  });

  test("deletion only touches our own secrets of this mount and sub-path", () => {
    const other = { name: "hybrid-aws-secrets/x", tags: desiredTags("staging", settings.source, "x", 1) };
    const otherMount = { name: "hybrid-aws-secrets/y", tags: desiredTags("prod", { ...settings.source, mount: "elsewhere" }, "y", 1) };
    const outside = ours("team-b/z", 1);
    const names = many(20);
    const p = plan(
      names.map((n) => src(`team-a/${n}`)),
      [...names.map((n) => ours(`team-a/${n}`, 1)), ours("team-a/gone", 1), other, otherMount, outside, { name: "hybrid-aws-secrets/unmanaged", tags: {} }],
      { ...deleteStrategy("delete"), subPath: "team-a" },
    );
    assert.deepEqual(p.actions.filter((a) => a.type === "delete").map((a) => a.destinationName), ["hybrid-aws-secrets/team-a/gone"]);
  });

  test("drift: AWSCURRENT is not the version we wrote", () => {
    const token = requestTokenFor("prod", settings.source, "a", 2, "hybrid-aws-secrets/a");
    const clean = plan([src("a", 2)], [ours("a", 2, { currentVersionId: token })]);
    assert.equal(clean.actions[0]?.type, "unchanged");
    const drifted = [ours("a", 2, { currentVersionId: "someone-else" })];
    const overwrite = plan([src("a", 2)], drifted);
    assert.deepEqual(
      [overwrite.actions[0]?.type, overwrite.actions[0]?.restoreVersionId, overwrite.actions[0]?.currentVersionId],
      ["update", driftRepairTokenFor(token, "someone-else"), "someone-else"],
    );
    // After a repair, the version-id tag says which version is ours: no drift any more.
    const repaired = ours("a", 2, { currentVersionId: "repair-1", tags: { ...desiredTags("prod", settings.source, "a", 2), "secretbridge:version-id": "repair-1" } });
    assert.equal(plan([src("a", 2)], [repaired]).actions[0]?.type, "unchanged");
    // A re-created source secret (same version number, another creation time) is an update.
    const recreated = plan(
      [src("a", 1, { versionCreatedTime: "2026-11-22T10:00:00Z" })],
      [ours("a", 1, { tags: desiredTags("prod", settings.source, "a", 1, {}, "2026-11-01T10:00:00Z") })],
    );
    assert.match(recreated.actions[0]?.reason ?? "", /^source re-created: version 1 written 2026-11-22T10:00:00Z/);
    const report = plan([src("a", 2)], drifted, withPolicies({ drift: "report" }));
    assert.deepEqual([report.actions[0]?.type, report.actions[0]?.failure?.errorClass], ["drift", "drift"]);
    const skip = plan([src("a", 2)], drifted, withPolicies({ drift: "skip" }));
    assert.deepEqual([skip.actions[0]?.type, skip.actions[0]?.failure], ["unchanged", undefined]);
  });

  test("conflicts: adopt takes over, adopt-if-equal only with equal values, other syncs never", () => {
    const unmanaged = (fp?: string): DestinationSecretMeta => ({ name: "hybrid-aws-secrets/a", tags: { team: "x" }, ...(fp ? { fingerprint: fp } : {}) });
    assert.deepEqual(plan([src("a")], [unmanaged()], withPolicies({ onConflict: "adopt" })).actions.map((a) => [a.type, a.changes]), [["adopt", ["value", "tags"]]]);
    const equal = plan([src("a", 1, { fingerprint: "f" })], [unmanaged("f")], withPolicies({ onConflict: "adopt-if-equal" }));
    assert.deepEqual(equal.actions.map((a) => [a.type, a.changes]), [["adopt", ["tags"]]]);
    const differs = plan([src("a", 1, { fingerprint: "f" })], [unmanaged("g")], withPolicies({ onConflict: "adopt-if-equal" }));
    assert.deepEqual(differs.actions.map((a) => [a.type, a.failure?.errorClass]), [["conflict", "conflict-unmanaged"]]);
    const otherSync = { name: "hybrid-aws-secrets/a", tags: desiredTags("staging", settings.source, "a", 1) };
    assert.equal(plan([src("a")], [otherSync], withPolicies({ onConflict: "adopt" })).actions[0]?.failure?.errorClass, "conflict-other-sync");
  });

  test("include / exclude: out-of-scope paths are neither written nor deleted", () => {
    const scoped = { ...deleteStrategy("delete"), scope: { include: ["app/**"], exclude: ["**/tmp-*"] } };
    const names = many(20).map((n) => `app/${n}`);
    const p = plan(
      [...names.map((n) => src(n)), src("other/x"), src("app/tmp-1")],
      [...names.map((n) => ours(n, 1)), ours("app/tmp-old", 1), ours("legacy/y", 1)],
      scoped,
    );
    assert.equal(p.actions.some((a) => a.sourcePath === "other/x" || a.sourcePath === "app/tmp-1"), false);
    assert.equal(p.actions.filter((a) => a.type === "delete").length, 0, "excluded tmp-old and out-of-scope legacy/y are not 'gone'");
  });

  test("the plan is a pure function for lifecycle too", () => {
    const names = many(20);
    const args = [names.slice(2).map((n) => src(n)), names.map((n) => ours(n, 1)), deleteStrategy("delete")] as const;
    assert.deepEqual(plan(...args), plan(...args));
  });
});
