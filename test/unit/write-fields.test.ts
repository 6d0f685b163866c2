// A plan keeps, per value write, only what its tags and request token derive from; the engine
// derives them when it applies the write. These tests hold the plan to that shape, and hold the
// writes on the wire to the tags and tokens the plan used to carry, computed here the way the
// planner computed them per action before (written out, from the tag table and token functions).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { ResolvedMapping } from "../../src/core/mapping.js";
import { isValueWrite, type AppliedWrite, type SourceSecretMeta } from "../../src/core/model.js";
import { emptyFacts, planRun } from "../../src/core/plan.js";
import { driftRepairTokenFor, kv1RequestTokenFor, requestTokenFor } from "../../src/core/request-token.js";
import { MANAGED_BY_VALUE, TAG } from "../../src/core/tags.js";
import { awsSecretsManagerProfile as profile } from "../../src/destinations/aws-secrets-manager/profile.js";
import { parameterStoreProfile } from "../../src/destinations/aws-ssm-parameter-store/profile.js";
import { withWriteFields } from "../../src/engine/report.js";
import { runMappings } from "../../src/engine/run.js";
import { renderJson } from "../../src/runtime/cli/output.js";
import { silentLogger } from "../../src/util/logger.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { MemorySource } from "../fakes/memory-source.js";

const ADDRESS = "http://127.0.0.1:8200";
const T1 = "2026-12-01T10:00:00.000000Z";
const T2 = "2026-12-01T11:00:00.000000Z";
const T3 = "2026-12-02T09:00:00.000000Z";

function resolved(mount: string, destination: Record<string, unknown>): ResolvedMapping {
  const [mapping] = resolveConfig(parseConfig({ name: "t", source: { address: ADDRESS, mount }, destination }), {}).mappings;
  assert.ok(mapping);
  return mapping;
}

/** The writes as the destination received them: type, name, tags, tokens. */
function recording(destination: MemoryDestination): { type: string; name: string; tags: Record<string, string>; requestToken: string; restoreVersionId?: string }[] {
  const applied: { type: string; name: string; tags: Record<string, string>; requestToken: string; restoreVersionId?: string }[] = [];
  const apply = destination.apply.bind(destination);
  destination.apply = async (action: AppliedWrite, value) => {
    if ("requestToken" in action) {
      applied.push({ type: action.type, name: action.destinationName, tags: action.tags, requestToken: action.requestToken, ...(action.restoreVersionId ? { restoreVersionId: action.restoreVersionId } : {}) });
    }
    return apply(action, value);
  };
  return applied;
}

/**
 * The tags a write of this path carried when the plan held them: the other tags (static, copied
 * custom_metadata) under ours, the version twice, and the record of the other keys.
 */
function oldTags(m: ResolvedMapping, path: string, version: number | null, created: string | undefined, other: Record<string, string>): Record<string, string> {
  const v = version === null ? "kv1" : String(version);
  return {
    ...other,
    [TAG.managedBy]: MANAGED_BY_VALUE,
    [TAG.sync]: "t",
    [TAG.source]: ADDRESS,
    [TAG.mount]: m.source.mount,
    [TAG.path]: path,
    [TAG.sourceVersion]: v,
    ...(created ? { [TAG.sourceCreated]: created } : {}),
    ...profile.settingTags(m.destinationOptions),
    [TAG.legacyVersion]: v,
    [TAG.tagKeys]: Object.keys(other).sort().join(" "),
  };
}

function oldToken(m: ResolvedMapping, path: string, version: number, created: string, other: Record<string, string>): string {
  return requestTokenFor({ syncName: "t", source: m.source, sourcePath: path, version, destinationName: m.nameFor(path), versionCreatedTime: created, tagKeys: Object.keys(other).sort().join(" ") });
}

describe("a plan holds no tag set and no request token per write", () => {
  test("a create keeps its basis (the listed creation time and custom_metadata, by reference), not tags or a token", () => {
    const m = resolved("kv", { prefix: "p", tags: { team: "core" }, copyCustomMetadata: true });
    const metadata = { owner: "ana" };
    const secrets: SourceSecretMeta[] = [
      { path: "app/db", version: 3, state: "present", versionCreatedTime: T1, customMetadata: metadata },
      { path: "app/api", version: 1, state: "present" },
    ];
    const plan = planRun([{ mapping: m, source: { secrets, problems: [], method: "detailed-metadata-scan" }, destination: { secrets: [] } }], emptyFacts(), profile);
    assert.deepEqual(
      plan.actions.map((a) => [a.type, a.sourcePath, Object.keys(a).sort()]),
      [
        ["create", "app/api", ["basis", "destinationName", "mapping", "provider", "reason", "sourcePath", "sourceVersion", "type", "valueShape"]],
        ["create", "app/db", ["basis", "destinationName", "mapping", "provider", "reason", "sourcePath", "sourceVersion", "type", "valueShape"]],
      ],
    );
    const [api, db] = plan.actions;
    assert.ok(api && db && isValueWrite(api) && isValueWrite(db));
    assert.deepEqual(api.basis, {});
    assert.deepEqual(db.basis, { versionCreatedTime: T1, customMetadata: { owner: "ana" } });
    assert.equal(db.basis.customMetadata, metadata, "the listed object itself, not a copy");
  });
});

describe("the writes on the wire carry the tags and tokens the plan used to hold", () => {
  test("KV v2: creates with custom_metadata and static tags, an update that leaves a tag someone else set, a drift repair", async () => {
    const source = new MemorySource({ mount: "kv", address: ADDRESS });
    const destination = new MemoryDestination();
    const applied = recording(destination);
    const run = (m: ResolvedMapping) => runMappings({ destination, logger: silentLogger() }, [{ mapping: m, source }], { mode: "sync", concurrency: 2 });
    source.put("app/db", { password: "db-1" }, { createdTime: T1 });
    source.setCustomMetadata("app/db", { owner: "ana" });
    source.put("app/api", { token: "api-1" }, { createdTime: T2 });

    const first = resolved("kv", { prefix: "p", tags: { team: "core" }, copyCustomMetadata: true });
    assert.equal((await run(first)).exitCode, 0);
    const dbOther = { owner: "ana", team: "core" };
    const apiOther = { team: "core" };
    assert.deepEqual(applied, [
      { type: "create", name: "p/app/api", tags: oldTags(first, "app/api", 1, T2, apiOther), requestToken: oldToken(first, "app/api", 1, T2, apiOther) },
      { type: "create", name: "p/app/db", tags: oldTags(first, "app/db", 1, T1, dbOther), requestToken: oldToken(first, "app/db", 1, T1, dbOther) },
    ]);
    assert.deepEqual(destination.tags("p/app/db"), oldTags(first, "app/db", 1, T1, dbOther));
    assert.deepEqual(destination.versions("p/app/db").map((v) => v.versionId), [oldToken(first, "app/db", 1, T1, dbOther)]);

    // Someone else sets `env` on p/app/api; the config then adds a static tag `env`: theirs there, ours on p/app/db.
    destination.outsiderEdit("p/app/api", (s) => (s.tags.env = "staging"));
    source.put("app/api", { token: "api-2" }, { createdTime: T3 });
    applied.length = 0;
    const second = resolved("kv", { prefix: "p", tags: { team: "core", env: "prod" }, copyCustomMetadata: true });
    assert.equal((await run(second)).exitCode, 0);
    const dbOther2 = { env: "prod", owner: "ana", team: "core" };
    assert.deepEqual(applied, [
      { type: "update", name: "p/app/api", tags: oldTags(second, "app/api", 2, T3, apiOther), requestToken: oldToken(second, "app/api", 2, T3, apiOther) },
      { type: "update", name: "p/app/db", tags: oldTags(second, "app/db", 1, T1, dbOther2), requestToken: oldToken(second, "app/db", 1, T1, dbOther2) },
    ]);
    assert.equal(destination.tags("p/app/api")?.env, "staging");

    // A hand edit of p/app/db's value: the default drift policy repairs it with a token derived from ours and the edit's version id.
    const edit = destination.outsiderPut("p/app/db", "hand-edit");
    applied.length = 0;
    assert.equal((await run(second)).exitCode, 0);
    const ours = oldToken(second, "app/db", 1, T1, dbOther2);
    assert.deepEqual(applied, [
      {
        type: "update",
        name: "p/app/db",
        tags: { ...oldTags(second, "app/db", 1, T1, dbOther2), [TAG.replacedVersion]: edit },
        requestToken: ours,
        restoreVersionId: driftRepairTokenFor(ours, edit),
      },
    ]);
    assert.equal(destination.versions("p/app/db").at(-1)?.versionId, driftRepairTokenFor(ours, edit));
  });

  test("KV v1: a create's token, then an update whose token derives from the version it replaces", async () => {
    const source = new MemorySource({ mount: "v1", kvVersion: 1, address: ADDRESS });
    const destination = new MemoryDestination();
    const applied = recording(destination);
    const m = resolved("v1", { prefix: "p1" });
    const run = () => runMappings({ destination, logger: silentLogger() }, [{ mapping: m, source }], { mode: "sync", concurrency: 2 });
    source.put("a", { v: "1" });
    assert.equal((await run()).exitCode, 0);
    const created = kv1RequestTokenFor({ syncName: "t", source: m.source, sourcePath: "a", destinationName: "p1/a", tagKeys: "" });
    assert.deepEqual(applied, [{ type: "create", name: "p1/a", tags: oldTags(m, "a", null, undefined, {}), requestToken: created }]);

    source.put("a", { v: "2" });
    applied.length = 0;
    assert.equal((await run()).exitCode, 0);
    const repair = driftRepairTokenFor(created, created);
    assert.deepEqual(applied, [
      { type: "update", name: "p1/a", tags: { ...oldTags(m, "a", null, undefined, {}), [TAG.replacedVersion]: created }, requestToken: repair, restoreVersionId: repair },
    ]);
    assert.equal(destination.versions("p1/a").at(-1)?.versionId, repair);
  });
});

describe("tag rules, release and shells: the writes carry the tags and tokens the plan used to hold", () => {
  test("required and immutable tags on create, kept on update, a secret released and taken back, on both destinations", async () => {
    for (const destinationProfile of [profile, parameterStoreProfile("standard")]) {
      const source = new MemorySource({ mount: "kv", address: ADDRESS });
      const destination = new MemoryDestination({ profile: destinationProfile });
      const applied = recording(destination);
      const m = resolved("kv", { prefix: "p", tags: { team: "core" }, requiredTags: { owner: { fromMetadata: "owner" }, env: { value: "prod" } }, immutableTags: ["owner"] });
      const run = () => runMappings({ destination, logger: silentLogger() }, [{ mapping: m, source }], { mode: "sync", concurrency: 1 });
      const settings = destinationProfile.settingTags(m.destinationOptions);
      const ours = (version: number, created: string) => ({
        [TAG.managedBy]: MANAGED_BY_VALUE,
        [TAG.sync]: "t",
        [TAG.source]: ADDRESS,
        [TAG.mount]: "kv",
        [TAG.path]: "app/db",
        [TAG.sourceVersion]: String(version),
        [TAG.sourceCreated]: created,
        ...settings,
        [TAG.legacyVersion]: String(version),
      });
      // The immutable key stays out of the record the token binds.
      const token = (version: number, created: string) => requestTokenFor({ syncName: "t", source: m.source, sourcePath: "app/db", version, destinationName: "p/app/db", versionCreatedTime: created, tagKeys: "env team" });

      source.put("app/db", { password: "db-1" }, { createdTime: T1 });
      source.setCustomMetadata("app/db", { owner: "ana" });
      assert.equal((await run()).exitCode, 0);
      assert.deepEqual(applied, [{ type: "create", name: "p/app/db", tags: { team: "core", env: "prod", owner: "ana", ...ours(1, T1), [TAG.tagKeys]: "env team" }, requestToken: token(1, T1) }]);

      // The owner changes in the source: the immutable tag keeps its value, and the mark says so.
      source.setCustomMetadata("app/db", { owner: "bo" });
      source.put("app/db", { password: "db-2" }, { createdTime: T2 });
      applied.length = 0;
      assert.equal((await run()).exitCode, 0);
      assert.deepEqual(applied, [
        { type: "update", name: "p/app/db", tags: { team: "core", env: "prod", owner: "ana", ...ours(2, T2), [TAG.immutableKept]: "owner", [TAG.tagKeys]: "env team" }, requestToken: token(2, T2) },
      ]);

      // Released and taken back (its tags as `release` and `adopt` leave them): the next sync proves it
      // ours by the version it wrote, writes our tags again and removes the release marks.
      destination.outsiderEdit("p/app/db", (secret) => {
        for (const key of Object.keys(secret.tags)) if (key.startsWith("secretbridge:") || key === TAG.legacyVersion) delete secret.tags[key];
        secret.tags[TAG.releasedBy] = "t";
        secret.tags[TAG.releasedFrom] = "app/db";
      });
      applied.length = 0;
      assert.equal((await run()).exitCode, 0);
      assert.deepEqual(applied, [
        { type: "update", name: "p/app/db", tags: { team: "core", env: "prod", owner: "ana", ...ours(2, T2), [TAG.immutableKept]: "owner", [TAG.tagKeys]: "env team" }, requestToken: token(2, T2) },
      ]);
      assert.equal(destination.tags("p/app/db")?.[TAG.releasedBy], undefined);
    }
  });

  test("a shell adopted by adopt-if-placeholder keeps its own tags, and its immutable owner satisfies the rule", async () => {
    const source = new MemorySource({ mount: "kv", address: ADDRESS });
    const destination = new MemoryDestination();
    const applied = recording(destination);
    source.put("app/db", { password: "db-1" }, { createdTime: T1 });
    destination.seed("p/app/db", { value: "CHANGEME", tags: { owner: "shell-owner", app: "billing", team: "theirs" } });
    const [m] = resolveConfig(
      parseConfig({
        name: "t",
        source: { address: ADDRESS, mount: "kv" },
        destination: { prefix: "p", tags: { team: "core" }, requiredTags: { owner: { fromMetadata: "owner" } }, immutableTags: ["owner"] },
        policies: { onConflict: "adopt-if-placeholder", placeholderValues: ["CHANGEME"] },
      }),
      {},
    ).mappings;
    assert.ok(m);
    assert.equal((await runMappings({ destination, logger: silentLogger() }, [{ mapping: m, source }], { mode: "sync", concurrency: 1 })).exitCode, 0);
    const tags = {
      owner: "shell-owner",
      [TAG.managedBy]: MANAGED_BY_VALUE,
      [TAG.sync]: "t",
      [TAG.source]: ADDRESS,
      [TAG.mount]: "kv",
      [TAG.path]: "app/db",
      [TAG.sourceVersion]: "1",
      [TAG.sourceCreated]: T1,
      ...profile.settingTags(m.destinationOptions),
      [TAG.legacyVersion]: "1",
      [TAG.tagKeys]: "",
    };
    assert.deepEqual(applied, [{ type: "adopt", name: "p/app/db", tags, requestToken: oldToken(m, "app/db", 1, T1, {}) }]);
    assert.deepEqual(destination.tags("p/app/db"), { ...tags, app: "billing", team: "theirs" });
  });
});

describe("plan --json shows each write's tags and request token, derived when printed", () => {
  test("a planned create prints the tags and token it will write, and no basis", async () => {
    const source = new MemorySource({ mount: "kv", address: ADDRESS });
    source.put("app/db", { password: "db-1" }, { createdTime: T1 });
    const m = resolved("kv", { prefix: "p", tags: { team: "core" } });
    const report = await runMappings({ destination: new MemoryDestination(), logger: silentLogger() }, [{ mapping: m, source }], { mode: "plan", concurrency: 2 });
    const target = { name: "default", source: { address: ADDRESS, mounts: ["kv"] }, destination: { service: "AWS Secrets Manager", account: "123456789012", region: "us-east-1", prefixes: ["p"] } };
    const printed = JSON.parse(renderJson(withWriteFields(report, [m], profile), target)) as { results: { action: Record<string, unknown> }[] };
    const action = printed.results[0]?.action;
    assert.deepEqual(action?.tags, oldTags(m, "app/db", 1, T1, { team: "core" }));
    assert.equal(action?.requestToken, oldToken(m, "app/db", 1, T1, { team: "core" }));
    assert.equal(Object.hasOwn(action ?? {}, "basis"), false);
  });
});
