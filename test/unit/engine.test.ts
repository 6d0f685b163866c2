// The engine on in-memory fakes: the whole way through (resolved config, inventories, facts,
// plan, apply, report) for each defect found at the seams, fast and without servers. The same
// cases run against real OpenBao and moto in test/integration/seams.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { runMappings, type RunOptions } from "../../src/engine/run.js";
import { verify } from "../../src/engine/verify.js";
import { silentLogger } from "../../src/util/logger.js";
import type { RenderedValue } from "../../src/core/value.js";
import { awsSecretsManagerProfile } from "../../src/destinations/aws-secrets-manager/profile.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { MemorySource } from "../fakes/memory-source.js";

const CANARY = "CANARY-engine-3f9a";

/** parseConfig input with the source block given whole (the helper above merges it in). */
const cfg = (source: Record<string, unknown>, rest: Record<string, unknown> = {}) => ({ source: { address: "http://127.0.0.1:8200", ...source }, ...rest });
function build(config: Record<string, unknown>, sources: MemorySource[], destination = new MemoryDestination()) {
  const resolved = resolveConfig(parseConfig({ name: "t", ...config }), {});
  const mappings = resolved.mappings.map((mapping, i) => ({ mapping, source: sources[i] ?? (sources[0] as MemorySource) }));
  const run = (options: Partial<RunOptions> = {}) => runMappings({ destination, logger: silentLogger() }, mappings, { mode: "sync", concurrency: 4, ...options });
  return { destination, mappings, run };
}

describe("engine on fakes: one failure stays one failure", () => {
  test("a pre-plan value read (KV v1 comparison) failing for one secret fails that secret only: exit 1, the rest written", async () => {
    const source = new MemorySource({ mount: "kv", kvVersion: 1 });
    source.put("a", { v: `${CANARY}-a` });
    source.put("b", { v: `${CANARY}-b` });
    const { destination, run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p" } }), [source]);
    assert.equal((await run()).exitCode, 0);
    source.put("a", { v: `${CANARY}-a2` });
    source.put("b", { v: `${CANARY}-b2` });
    destination.failOn("p/a", "BatchGetSecretValue", "permission-denied");
    const report = await run();
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]), [["a", "permission-denied"]]);
    assert.equal(destination.value("p/b"), JSON.stringify({ v: `${CANARY}-b2` }));
    assert.ok(!JSON.stringify(report).includes(CANARY));
  });

  test("a per-key value read failing for one secret fails that path only, and deletes none of its keys", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("db", { user: "u", pass: `${CANARY}-p` });
    source.put("api", { token: `${CANARY}-t` });
    const { destination, run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p", granularity: "key" }, policies: { deletion: { strategy: "delete" }, blastRadius: { maxShare: 1 } } }), [source]);
    assert.equal((await run()).exitCode, 0);
    source.put("db", { user: "u2", pass: `${CANARY}-p2` });
    source.put("api", { token: `${CANARY}-t2` });
    source.failRead("db", "permission-denied");
    const report = await run();
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]), [["db", "permission-denied"]]);
    assert.deepEqual(destination.names().sort(), ["p/api/token", "p/db/pass", "p/db/user"]);
    assert.equal(destination.value("p/api/token"), `${CANARY}-t2`);
    assert.equal(report.counts.delete, 0);
  });

  test("a push whose batch makes the source throw something unexpected for one path fails that path only; the rest of the batch is written", async () => {
    const source = new ThrowingSource("app/poison");
    for (const p of ["app/a", "app/b", "app/poison"]) source.put(p, { v: `${CANARY}-${p}` });
    const { destination, run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p" } }), [source]);
    const report = await run({ targets: ["app/a", "app/poison", "app/b"].map((path) => ({ mount: "kv", path })) });
    assert.equal(report.fatal, undefined, `the whole push stopped: ${JSON.stringify(report.fatal)}`);
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass, f.message]), [["app/poison", "source-read-failed", "app/poison: TypeError: cannot read properties of undefined (reading 'data')"]]);
    assert.deepEqual(destination.names(), ["p/app/a", "p/app/b"]);
    assert.ok(!JSON.stringify(report).includes(CANARY));
  });

  test("a source that becomes unusable during the pre-plan reads stops the run before any write (exit 2)", async () => {
    const source = new MemorySource({ mount: "kv", kvVersion: 1 });
    source.put("a", { v: "1" });
    const { destination, run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p" } }), [source]);
    await run();
    source.put("a", { v: "2" });
    destination.failNext("BatchGetSecretValue", "destination-unavailable");
    const before = destination.calls.length;
    const report = await run();
    assert.equal(report.exitCode, 2);
    assert.deepEqual(destination.calls.slice(before).filter((c) => !["ListSecrets", "BatchGetSecretValue"].includes(c)), []);
  });

  test("a pathological value (9,000 levels deep) fails that secret with invalid-value; the others are written", async () => {
    const source = new MemorySource({ mount: "kv" });
    let deep: unknown = CANARY;
    for (let i = 0; i < 9000; i++) deep = [deep];
    source.put("deep", { v: deep });
    source.put("fine", { v: `${CANARY}-fine` });
    const { destination, run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p" } }), [source]);
    const report = await run();
    assert.equal(report.exitCode, 1);
    assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]), [["deep", "invalid-value"]]);
    assert.deepEqual(destination.names(), ["p/fine"]);
    assert.ok(!JSON.stringify(report).includes(CANARY));
  });
});

/** A source that throws something unexpected (not a SyncError) when asked about one path, as a bug or an unforeseen input would. */
class ThrowingSource extends MemorySource {
  constructor(private readonly poison: string) {
    super({ mount: "kv" });
  }
  override async inventoryOf(paths: string[]) {
    if (paths.includes(this.poison)) throw new TypeError("cannot read properties of undefined (reading 'data')");
    return super.inventoryOf(paths);
  }
}

describe("engine on fakes: decisions made once", () => {
  test("a name collision refuses every side, whatever the order", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("prod/db", { v: "1" });
    source.put("dev/db", { v: "2" });
    const { destination, run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p", nameTemplate: "{prefix}/{name}" } }), [source]);
    const report = await run();
    assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]).sort(), [["dev/db", "invalid-name"], ["prod/db", "invalid-name"]]);
    assert.deepEqual(destination.names(), []);
  });

  test("a soft-deleted secret is reported once", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("gone", { v: "1" });
    source.put("kept", { v: "1" });
    const { run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p" } }), [source]);
    await run();
    source.softDelete("gone");
    const report = await run();
    assert.equal(report.results.filter((r) => r.action.sourcePath === "gone").length, 1);
    assert.equal(report.counts.skip, 1);
  });

  test("respelling the source address: no new version, one informational tag, then nothing", async () => {
    const source = new MemorySource({ mount: "kv" });
    for (const p of ["a", "b", "c"]) source.put(p, { v: `${CANARY}-${p}` });
    const at = (address: string, drift = "overwrite") => build(cfg({ mount: "kv", address }, { destination: { prefix: "p" }, policies: { drift } }), [source], destination);
    const destination = new MemoryDestination();
    await at("http://127.0.0.1:8200").run();
    const respelled = await at("http://localhost:8200", "report").run();
    assert.deepEqual([respelled.exitCode, respelled.counts.update, respelled.counts.drift], [0, 3, 0]);
    assert.deepEqual(["a", "b", "c"].map((p) => destination.versions(`p/${p}`).length), [1, 1, 1]);
    assert.equal(destination.tags("p/a")?.["secretbridge:source"], "http://localhost:8200");
    const calls = destination.calls.length;
    await at("http://localhost:8200").run();
    assert.deepEqual(destination.calls.slice(calls).filter((c) => c !== "ListSecrets"), []);
  });

  test("adopt-if-equal, then no false drift, and verify agrees", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("app", { a: `${CANARY}-x` });
    const destination = new MemoryDestination();
    destination.seed("p/app", { value: JSON.stringify({ a: `${CANARY}-x` }), tags: { team: "theirs" } });
    const adopt = build(cfg({ mount: "kv" }, { destination: { prefix: "p", tags: { team: "ours" } }, policies: { onConflict: "adopt-if-equal", drift: "report" } }), [source], destination);
    const first = await adopt.run();
    assert.deepEqual([first.exitCode, first.counts.adopt], [0, 1]);
    assert.equal(destination.tags("p/app")?.team, "theirs", "their tag is kept");
    const calls = destination.calls.length;
    const second = await adopt.run();
    assert.deepEqual([second.exitCode, second.counts.drift, second.counts.unchanged], [0, 0, 1]);
    assert.deepEqual(destination.calls.slice(calls).filter((c) => c !== "ListSecrets" && c !== "BatchGetSecretValue"), []);
    assert.equal((await verify(adopt.mappings, destination)).exitCode, 0);
  });

  test("verify agrees with sync under granularity key", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("db", { user: `${CANARY}-u`, pass: `${CANARY}-p` });
    const { destination, mappings, run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p", granularity: "key" } }), [source]);
    assert.equal((await run()).exitCode, 0);
    const report = await verify(mappings, destination);
    assert.deepEqual(report.entries.map((e) => [e.destinationName, e.verdict]), [["p/db/pass", "in-sync"], ["p/db/user", "in-sync"]]);
    assert.equal(report.exitCode, 0);
  });

  test("tags we set and no longer want are removed; tags others set are kept", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("a", { v: "1" });
    source.setCustomMetadata("a", { owner: "o1", tier: "gold" });
    const destination = new MemoryDestination();
    const withTags = (tags: Record<string, string>, copy: boolean) => build(cfg({ mount: "kv" }, { destination: { prefix: "p", tags, copyCustomMetadata: copy } }), [source], destination);
    await withTags({ team: "a", cost: "x" }, true).run();
    destination.outsiderEdit("p/a", (s) => void (s.tags["abac-team"] = "payments"));
    source.setCustomMetadata("a", { owner: "o1" });
    await withTags({ team: "a" }, true).run();
    const foreign = (t: Record<string, string> | undefined) => Object.fromEntries(Object.entries(t ?? {}).filter(([k]) => !k.startsWith("secretbridge:") && k !== "version"));
    assert.deepEqual(foreign(destination.tags("p/a")), { "abac-team": "payments", owner: "o1", team: "a" });
    await withTags({ team: "a" }, false).run();
    assert.deepEqual(foreign(destination.tags("p/a")), { "abac-team": "payments", team: "a" });
  });

  test("nested mappings over one mount are refused before anything runs", () => {
    assert.throws(
      () => build(cfg({ mount: "nest" }, { mappings: [{ mount: "nest", prefix: "team" }, { mount: "nest", path: "x", prefix: "team/legacy" }] }), [new MemorySource({ mount: "nest" })]),
      /mappings\[0\] \(nest -> team\/\) and mappings\[1\] \(nest\/x -> team\/legacy\/\) overlap/,
    );
  });

  test("a pushed path with .., . or empty segments is refused before any read; nothing outside the mapping is written", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("app/ok", { v: "1" });
    source.put("other/secret", { v: `${CANARY}-other` });
    source.put("app/secret-x", { v: `${CANARY}-x` });
    const { destination, run } = build(cfg({ mount: "kv", path: "app", exclude: ["app/secret-*"] }, { destination: { prefix: "p" } }), [source]);
    await run();
    const report = await run({ targets: ["app/../other/secret", "app/./secret-x", "app//ok"].map((path) => ({ mount: "kv", path })) });
    assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]).sort(), [["app/../other/secret", "invalid-path"], ["app/./secret-x", "invalid-path"], ["app//ok", "invalid-path"]]);
    assert.deepEqual(destination.names(), ["p/app/ok"]);
    assert.ok(!source.reads.some((p) => p.includes("other") || p.includes("secret-x")));
  });
});

describe("engine on fakes: a destination's warnings about the values it writes", () => {
  // A profile that warns for values over 20 bytes, the way Parameter Store's tier auto does for a
  // value that makes a parameter advanced.
  const warning = (v: RenderedValue) => ("secretString" in v && v.secretString.length > 20 ? [`costs extra (${v.secretString.length} bytes)`] : []);
  const warningDestination = () => new MemoryDestination({ profile: { ...awsSecretsManagerProfile, writeWarnings: warning } });

  test("plan reads the values of its value writes only and puts each warning on its action and in the report; sync says it from the value it writes", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("big", { v: "x".repeat(30) });
    source.put("small", { v: "x" });
    const { run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p" } }), [source], warningDestination());
    const big = "p/big: costs extra (38 bytes)";

    const plan = await run({ mode: "plan" });
    assert.deepEqual(plan.warnings, [big]);
    assert.deepEqual(plan.results.map((r) => [r.action.sourcePath, r.action.warnings]), [["big", [big]], ["small", undefined]]);
    assert.deepEqual(source.reads.sort(), ["big", "small"]);

    source.reads.length = 0;
    const sync = await run();
    assert.deepEqual(sync.warnings, [big]);
    assert.deepEqual(source.reads.sort(), ["big", "small"], "one read per write: the warning comes from the value written");

    source.reads.length = 0;
    const again = await run({ mode: "plan" });
    assert.deepEqual([again.warnings, again.counts.unchanged, source.reads], [[], 2, []], "nothing to write: no value read");
  });

  test("a profile without writeWarnings: plan reads no value", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("big", { v: "x".repeat(30) });
    const { run } = build(cfg({ mount: "kv" }, { destination: { prefix: "p" } }), [source]);
    const plan = await run({ mode: "plan" });
    assert.deepEqual([plan.counts.create, plan.warnings, source.reads], [1, [], []]);
  });
});
