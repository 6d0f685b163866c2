// The Parameter Store destination driven by the engine against a real moto: the reference
// walkthrough in Parameter Store's terms (create, update on a new source version, a no-change run
// that reads no value and writes nothing, drift, deletion), retries without a second version, and
// the limits moto does not enforce (4 KB standard tier, 15 levels), which the profile checks.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { runMappings, type RunOptions } from "../../src/engine/run.js";
import { verify } from "../../src/engine/verify.js";
import { ParameterStoreDestination, SdkSsmApi, decodeRecord, type SsmApi, type Tier } from "../../src/destinations/aws-ssm-parameter-store/index.js";
import { TAG } from "../../src/core/tags.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { MemorySource } from "../fakes/memory-source.js";
import { canary, startMoto, type MotoPeer } from "../helpers/peers.js";

let moto: MotoPeer;
let ssm: SsmApi;
before(async () => {
  moto = await startMoto();
  ssm = SdkSsmApi.create({ region: "us-east-1", endpoint: moto.url, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
});
after(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
});

const FAST = { write: 1000, read: 1000, list: 1000, tag: 1000, delete: 1000 };

function build(source: MemorySource, config: Record<string, unknown> = {}, tier: Tier = "standard") {
  const recorder = new ApiCallRecorder();
  const destination = new ParameterStoreDestination({ client: ssm, recorder, rateLimits: FAST, tier });
  const resolved = resolveConfig(parseConfig({ name: "t", source: { address: "http://127.0.0.1:8200", mount: "hybrid-aws-secrets" }, destination: { prefix: "hybrid-aws-secrets" }, ...config }), {});
  const mappings = resolved.mappings.map((mapping) => ({ mapping, source }));
  const run = (options: Partial<RunOptions> = {}) => runMappings({ destination, logger: silentLogger() }, mappings, { mode: "sync", concurrency: 4, ...options });
  return { destination, recorder, run };
}

async function parameter(name: string) {
  const { Parameters } = await ssm.call("GetParameters", { Names: [name], WithDecryption: true });
  const [history] = [await ssm.call("GetParameterHistory", { Name: name })];
  const { TagList } = await ssm.call("ListTagsForResource", { ResourceType: "Parameter", ResourceId: name });
  return { value: Parameters?.[0]?.Value, version: Parameters?.[0]?.Version, versions: history.Parameters?.length ?? 0, type: Parameters?.[0]?.Type, tags: Object.fromEntries((TagList ?? []).map((t) => [t.Key, t.Value])) };
}

describe("Parameter Store walkthrough on moto", () => {
  test("first run creates SecureStrings with ownership tags; a kv put updates exactly that one; a no-change run reads no value and writes nothing", async () => {
    const first = canary("first");
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("first-secret-for-replication", { secrets: first });
    source.put("second-secret-for-replication", { a: "1" });
    const { recorder, run } = build(source);

    const created = await run();
    assert.equal(created.exitCode, 0);
    assert.equal(created.counts.create, 2);
    const p1 = await parameter("/hybrid-aws-secrets/first-secret-for-replication");
    assert.equal(p1.value, JSON.stringify({ secrets: first }));
    assert.equal(p1.type, "SecureString");
    assert.equal(p1.version, 1);
    assert.equal(p1.tags[TAG.managedBy], "secretbridge");
    assert.equal(p1.tags[TAG.sync], "t");
    assert.equal(p1.tags[TAG.sourceVersion], "1");
    assert.equal(p1.tags[TAG.path], "first-secret-for-replication");

    source.put("first-secret-for-replication", { secrets: `${first}-2` });
    recorder.reset();
    const updated = await run();
    assert.equal(updated.exitCode, 0);
    assert.deepEqual([updated.counts.update, updated.counts.unchanged, updated.counts.create], [1, 1, 0]);
    const p1b = await parameter("/hybrid-aws-secrets/first-secret-for-replication");
    assert.equal(p1b.value, JSON.stringify({ secrets: `${first}-2` }));
    assert.equal(p1b.version, 2);
    assert.equal(p1b.tags[TAG.sourceVersion], "2");
    assert.equal(recorder.count("ssm", "PutParameter"), 1);
    assert.equal((await parameter("/hybrid-aws-secrets/second-secret-for-replication")).version, 1);

    recorder.reset();
    source.reads.length = 0;
    const quiet = await run();
    assert.equal(quiet.exitCode, 0);
    assert.equal(quiet.counts.unchanged, 2);
    assert.deepEqual(source.reads, []);
    // One listing to prove the destination answers (validate), one for the inventory and one for
    // release marks (which only real tags hold): nothing per parameter.
    assert.deepEqual(recorder.byOperation(), { "ssm DescribeParameters": 3 });
    assert.ok(!JSON.stringify([created, updated, quiet]).includes(first));
  });

  test("a hand put-parameter on a parameter of ours is drift: reported with no extra call, repaired with the overwrite policy", async () => {
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("app", { k: "ours" });
    const report = build(source, { policies: { drift: "report" } });
    assert.equal((await report.run()).exitCode, 0);
    await ssm.call("PutParameter", { Name: "/hybrid-aws-secrets/app", Value: "by hand", Type: "SecureString", Overwrite: true });

    report.recorder.reset();
    const seen = await report.run();
    assert.equal(seen.counts.drift, 1);
    assert.deepEqual(seen.failures.map((f) => [f.path, f.errorClass]), [["app", "drift"]]);
    assert.deepEqual(report.recorder.byOperation(), { "ssm DescribeParameters": 3 });
    assert.equal((await parameter("/hybrid-aws-secrets/app")).value, "by hand");

    const repair = build(source, { policies: { drift: "overwrite" } });
    const repaired = await repair.run();
    assert.equal(repaired.exitCode, 0);
    assert.equal(repaired.counts.update, 1);
    assert.equal((await parameter("/hybrid-aws-secrets/app")).value, JSON.stringify({ k: "ours" }));
    const again = await repair.run();
    assert.equal(again.counts.unchanged, 1);
  });

  test("a hand put-parameter that also replaces the description is still drift: the history holds our last record", async () => {
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("app", { k: "ours" });
    const { run, recorder } = build(source, { policies: { drift: "report" } });
    await run();
    await ssm.call("PutParameter", { Name: "/hybrid-aws-secrets/app", Value: "by hand", Type: "SecureString", Overwrite: true, Description: "edited in the console" });
    recorder.reset();
    const seen = await run();
    assert.deepEqual(seen.failures.map((f) => [f.path, f.errorClass]), [["app", "drift"]]);
    assert.deepEqual(recorder.byOperation(), { "ssm DescribeParameters": 3, "ssm ListTagsForResource": 1, "ssm GetParameterHistory": 1 });
  });

  test("a parameter under the prefix that is not ours is a conflict and is never written", async () => {
    await ssm.call("PutParameter", { Name: "/hybrid-aws-secrets/app", Value: "someone else's", Type: "SecureString" });
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("app", { k: "ours" });
    const { run } = build(source);
    const report = await run();
    assert.equal(report.counts.conflict, 1);
    assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]), [["app", "conflict-unmanaged"]]);
    const p = await parameter("/hybrid-aws-secrets/app");
    assert.deepEqual([p.value, p.versions], ["someone else's", 1]);
  });

  test("deletion: retain keeps the parameter; delete removes it at once, and deleting it again is done", async () => {
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("keep", { k: "1" });
    source.put("gone", { k: "2" });
    const retain = build(source);
    assert.equal((await retain.run()).counts.create, 2);
    source.remove("gone");
    const kept = await retain.run();
    assert.equal(kept.counts.delete, 0);
    assert.equal((await parameter("/hybrid-aws-secrets/gone")).version, 1);

    const del = build(source, { policies: { deletion: { strategy: "delete" }, blastRadius: { maxShare: 1 } } });
    const deleted = await del.run();
    assert.equal(deleted.counts.delete, 1);
    const { InvalidParameters } = await ssm.call("GetParameters", { Names: ["/hybrid-aws-secrets/gone"] });
    assert.deepEqual(InvalidParameters, ["/hybrid-aws-secrets/gone"]);
    await del.destination.apply({ type: "delete", mapping: "source", sourcePath: "gone", destinationName: "hybrid-aws-secrets/gone", sourceVersion: null, reason: "again", immediate: true }, () => Promise.reject(new Error("no value")));
  });
});

describe("Parameter Store verify", () => {
  test("compares every value by decrypting it: in sync after a run, differs after a hand edit", async () => {
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("a", { k: "1" });
    source.put("b", { k: "2" });
    const { destination, run } = build(source);
    await run();
    const mappings = resolveConfig(parseConfig({ name: "t", source: { address: "http://127.0.0.1:8200", mount: "hybrid-aws-secrets" }, destination: { prefix: "hybrid-aws-secrets" } }), {}).mappings.map((mapping) => ({ mapping, source }));
    const clean = await verify(mappings, destination);
    assert.deepEqual([clean.exitCode, clean.counts["in-sync"]], [0, 2]);
    await ssm.call("PutParameter", { Name: "/hybrid-aws-secrets/b", Value: "by hand", Type: "SecureString", Overwrite: true });
    const edited = await verify(mappings, destination);
    assert.equal(edited.exitCode, 1);
    assert.deepEqual(edited.entries.map((e) => [e.destinationName, e.verdict]), [["hybrid-aws-secrets/a", "in-sync"], ["hybrid-aws-secrets/b", "differs"]]);
  });
});

describe("Parameter Store: tags too long for the record", () => {
  test("are listed per parameter instead; a no-change run still writes nothing, and a changed tag value is set without a new version", async () => {
    const long = (c: string) => c.repeat(200);
    const tags = { team: long("a"), app: long("b"), env: long("c"), owner: long("d"), cost: long("e"), data: long("f") };
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("app", { k: "v" });
    const first = build(source, { destination: { prefix: "hybrid-aws-secrets", tags } });
    assert.equal((await first.run()).counts.create, 1);
    const { Parameters } = await ssm.call("DescribeParameters", { ParameterFilters: [{ Key: "Name", Option: "Equals", Values: ["/hybrid-aws-secrets/app"] }] });
    assert.equal(decodeRecord(Parameters?.[0]?.Description)?.tags, undefined);

    first.recorder.reset();
    const quiet = await first.run();
    assert.equal(quiet.counts.unchanged, 1);
    assert.deepEqual(first.recorder.byOperation(), { "ssm DescribeParameters": 3, "ssm ListTagsForResource": 1 });

    const changed = build(source, { destination: { prefix: "hybrid-aws-secrets", tags: { ...tags, team: long("z") } } });
    const retagged = await changed.run();
    assert.equal(retagged.counts.update, 1);
    const p = await parameter("/hybrid-aws-secrets/app");
    assert.deepEqual([p.versions, p.tags.team], [1, long("z")]);
    assert.equal((await changed.run()).counts.unchanged, 1);
  });
});

describe("Parameter Store: a retried write makes no second version", () => {
  test("a write whose answer was lost, applied again, leaves one version (PutParameter has no request token)", async () => {
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("app", { k: "v1" });
    const { destination, run, recorder } = build(source);
    await run();
    source.put("app", { k: "v2" });
    // The crash: the value and its record landed, but the run stopped before it learned so.
    const { Parameters } = await ssm.call("DescribeParameters", { ParameterFilters: [{ Key: "Name", Option: "Equals", Values: ["/hybrid-aws-secrets/app"] }] });
    const before = decodeRecord(Parameters?.[0]?.Description);
    assert.ok(before);
    let captured: Parameters<typeof destination.apply>[0] | undefined;
    const spy = new ParameterStoreDestination({ client: ssm, rateLimits: FAST });
    const original = spy.apply.bind(spy);
    spy.apply = async (action, value) => {
      captured = action;
      await original(action, value);
      throw new Error("answer lost");
    };
    const crashed = await runMappings({ destination: spy, logger: silentLogger() }, resolveConfig(parseConfig({ name: "t", source: { address: "http://127.0.0.1:8200", mount: "hybrid-aws-secrets" }, destination: { prefix: "hybrid-aws-secrets" } }), {}).mappings.map((mapping) => ({ mapping, source })), { mode: "sync", concurrency: 1 });
    assert.equal(crashed.exitCode, 1);
    assert.equal((await parameter("/hybrid-aws-secrets/app")).versions, 2);

    // The retry: the same action again, then the next run.
    assert.ok(captured);
    recorder.reset();
    await destination.apply(captured, () => Promise.reject(new Error("the value must not be read again")));
    assert.equal(recorder.count("ssm", "PutParameter"), 0);
    const next = await run();
    assert.equal(next.counts.unchanged, 1);
    const p = await parameter("/hybrid-aws-secrets/app");
    assert.deepEqual([p.versions, p.value], [2, JSON.stringify({ k: "v2" })]);
  });
});

describe("Parameter Store: an answer lost on the wire", () => {
  test("a PutParameter that landed but whose answer was lost is retried without a second version, in the same run", async () => {
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("app", { k: "v1" });
    await build(source).run();
    source.put("app", { k: "v2" });
    let lost = 0;
    // The write reaches Parameter Store; the connection drops before its answer comes back.
    const lossy: SsmApi = {
      region: () => ssm.region(),
      destroy: () => undefined,
      async call(operation, input) {
        const out = await ssm.call(operation, input);
        if (operation === "PutParameter" && lost++ === 0) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
        return out;
      },
    };
    const recorder = new ApiCallRecorder();
    const destination = new ParameterStoreDestination({ client: lossy, recorder, rateLimits: FAST });
    const mappings = resolveConfig(parseConfig({ name: "t", source: { address: "http://127.0.0.1:8200", mount: "hybrid-aws-secrets" }, destination: { prefix: "hybrid-aws-secrets" } }), {}).mappings.map((mapping) => ({ mapping, source }));
    const report = await runMappings({ destination, logger: silentLogger() }, mappings, { mode: "sync", concurrency: 1 });
    assert.deepEqual([report.exitCode, report.counts.update], [0, 1]);
    assert.equal(recorder.count("ssm", "PutParameter"), 1);
    const p = await parameter("/hybrid-aws-secrets/app");
    assert.deepEqual([p.versions, p.value], [2, JSON.stringify({ k: "v2" })]);
  });
});

describe("Parameter Store limits moto does not enforce", () => {
  test("moto accepts a 5,000-byte standard value and 16 levels; the profile refuses both before anything is written", async () => {
    // moto's gaps, shown first so the test says why the planner must check.
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join("/")}`;
    await ssm.call("PutParameter", { Name: deep, Value: "x", Type: "SecureString" });
    await ssm.call("PutParameter", { Name: "/moto/big", Value: "x".repeat(5000), Type: "SecureString", Tier: "Standard" });

    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("big", { v: "x".repeat(5000) });
    source.put(Array.from({ length: 15 }, (_, i) => `d${i}`).join("/"), { v: "1" });
    const { run, recorder } = build(source);
    const report = await run();
    assert.deepEqual(
      report.failures.map((f) => [f.path, f.errorClass]).sort(),
      [
        ["big", "too-large"],
        [Array.from({ length: 15 }, (_, i) => `d${i}`).join("/"), "invalid-name"],
      ].sort(),
    );
    assert.match(report.failures.find((f) => f.path === "big")?.message ?? "", /5\d{3} bytes; the standard tier allows at most 4096: set destination.tier to advanced or auto \(advanced parameters are billed\)/);
    assert.equal(recorder.count("ssm", "PutParameter"), 0);
  });

  test("tier auto writes a value over 4 KB as an advanced parameter, and a small one as standard", async () => {
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("big", { v: "x".repeat(5000) });
    source.put("small", { v: "x" });
    const { run } = build(source, {}, "auto");
    assert.equal((await run()).counts.create, 2);
    const { Parameters } = await ssm.call("DescribeParameters", { ParameterFilters: [{ Key: "Path", Option: "Recursive", Values: ["/hybrid-aws-secrets"] }] });
    assert.deepEqual(Object.fromEntries((Parameters ?? []).map((p) => [p.Name, p.Tier])), { "/hybrid-aws-secrets/big": "Advanced", "/hybrid-aws-secrets/small": "Standard" });
  });
});

describe("Parameter Store: a hand write that replaced the record", () => {
  test("is repaired under the overwrite policy (the repair names the version it replaces), once", async () => {
    const source = new MemorySource({ mount: "hybrid-aws-secrets" });
    source.put("app", { k: "ours" });
    const { run } = build(source);
    await run();
    await ssm.call("PutParameter", { Name: "/hybrid-aws-secrets/app", Value: "by hand", Type: "SecureString", Overwrite: true, Description: "edited in the console" });
    const repaired = await run();
    assert.deepEqual([repaired.exitCode, repaired.counts.update], [0, 1]);
    const p = await parameter("/hybrid-aws-secrets/app");
    assert.deepEqual([p.value, p.versions], [JSON.stringify({ k: "ours" }), 3]);
    assert.equal(p.tags[TAG.replacedVersion], "parameter-version-2");
    assert.equal((await run()).counts.unchanged, 1);
  });
});
