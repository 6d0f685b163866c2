import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DestinationSecretMeta, SourceSecretMeta } from "../../src/core/model.js";
import { countActions, planSync, type PlanSettings } from "../../src/core/plan.js";
import { desiredTags, TAG } from "../../src/core/tags.js";

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

  test("scheduled for deletion, service-managed and rotating secrets are never written", () => {
    const p = plan(
      [src("deleted"), src("rds!cluster-1"), src("rotating")],
      [ours("deleted", 0, { deletedDate: new Date() }), ours("rds!cluster-1", 0, { owningService: "rds" }), ours("rotating", 0, { rotationEnabled: true })],
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

  test("invalid names are skipped as failures naming the path; the rest is planned", () => {
    const p = plan([src("ok"), src("has space"), src("ends-abc123"), src("x".repeat(600))], []);
    const byPath = Object.fromEntries(p.actions.map((a) => [a.sourcePath.slice(0, 20), a]));
    assert.equal(byPath["ok"]?.type, "create");
    assert.equal(byPath["has space"]?.failure?.errorClass, "invalid-name");
    assert.match(byPath["has space"]?.failure?.message ?? "", /^has space: .*" "/);
    assert.match(byPath["ends-abc123"]?.failure?.message ?? "", /ARN suffix/);
    assert.match(byPath["x".repeat(20)]?.failure?.message ?? "", /619 characters; AWS allows at most 512/);
  });

  test("soft-deleted and destroyed current versions are reported, not replicated", () => {
    const p = plan([src("gone", 4, { state: "deleted" }), src("burnt", 2, { state: "destroyed" })], [ours("gone", 3)]);
    assert.deepEqual(
      p.actions.map((a) => [a.sourcePath, a.type, a.reason, a.failure]),
      [
        ["burnt", "skip", "current version 2 is destroyed in the source; not replicated", undefined],
        ["gone", "skip", "current version 4 is deleted in the source; not replicated", undefined],
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
