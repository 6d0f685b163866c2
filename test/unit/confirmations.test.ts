// Nothing destructive on an unverified belief, on in-memory fakes (the same cases run against real
// OpenBao and moto in test/integration/confirmations.test.ts): an absence is confirmed by a
// metadata read before a deletion, a pushed path meets the same collision rule as a full sync,
// ownership is proven by a version id before any write on a secret believed ours, the
// blast-radius guard counts live secrets and a window of recent deletions, and a secret the
// destination says is not writable is never deleted or restored.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { runMappings, type RunOptions } from "../../src/engine/run.js";
import type { RunReport } from "../../src/engine/report.js";
import { SyncService } from "../../src/runtime/service/service.js";
import type { Wiring } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { MemorySource } from "../fakes/memory-source.js";

const CANARY = "CANARY-confirm-7c1d";
const DELETE = { deletion: { strategy: "delete" } };

function build(config: Record<string, unknown>, source: MemorySource, destination = new MemoryDestination()) {
  const resolved = resolveConfig(parseConfig({ name: "t", source: { address: "http://127.0.0.1:8200", mount: "kv" }, destination: { prefix: "p" }, ...config }), {});
  const mappings = resolved.mappings.map((mapping) => ({ mapping, source }));
  const run = (options: Partial<RunOptions> = {}) => runMappings({ destination, logger: silentLogger() }, mappings, { mode: "sync", concurrency: 4, ...options });
  return { destination, run };
}

const failures = (r: RunReport) => r.failures.map((f) => [f.destinationName ?? f.path, f.errorClass]).sort();
const seed = (source: MemorySource, n: number, folder = "team") => {
  for (let i = 0; i < n; i++) source.put(`${folder}/s${i}`, { v: `${CANARY}-${i}` });
};

describe("an absence is confirmed before a deletion (finding 2)", () => {
  test("hidden from the listing and unreadable: held and reported unreadable; hidden but readable: kept; really gone: deleted", async () => {
    const source = new MemorySource({ mount: "kv" });
    seed(source, 10);
    const { destination, run } = build({ policies: { ...DELETE, blastRadius: { maxShare: 1 } } }, source);
    assert.equal((await run()).exitCode, 0);
    source.hideFromListing("team/s1", "denied");
    source.hideFromListing("team/s2", "readable");
    source.remove("team/s3");
    const report = await run();
    assert.deepEqual(failures(report), [["p/team/s1", "unreadable"]]);
    assert.equal(report.counts.delete, 1);
    assert.deepEqual(destination.names().filter((n) => destination.details(n)?.deletedDate), ["p/team/s3"]);
    assert.deepEqual(source.metadataReads.sort(), ["team/s1", "team/s2", "team/s3"], "one metadata read per deletion candidate");
    assert.match(report.failures[0]?.message ?? "", /p\/team\/s1: not deleted: team\/s1 is missing from the source listing and its metadata could not be read \(permission-denied\)/);
    const kept = report.results.find((r) => r.action.destinationName === "p/team/s2")?.action;
    assert.deepEqual([kept?.type, kept?.reason], ["skip", "missing from the source listing, but its metadata read shows version 1: kept"]);
  });
});

describe("a push meets the collision rule of a full sync (finding 4)", () => {
  test("team-b/db pushed while team-a/db holds the name: refused as the full sync refuses it; once team-a/db is gone both write it", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("team-a/db", { v: `${CANARY}-a` });
    const { destination, run } = build({ destination: { prefix: "p", nameTemplate: "{prefix}/{name}" } }, source);
    assert.equal((await run()).exitCode, 0);
    source.put("team-b/db", { v: `${CANARY}-b` });
    const full = await run({ mode: "plan" });
    const push = await run({ targets: [{ mount: "kv", path: "team-b/db" }] });
    const answer = (r: RunReport) => r.results.filter((x) => x.action.sourcePath === "team-b/db").map((x) => [x.action.type, x.action.failure?.errorClass]);
    assert.deepEqual(answer(full), [["skip", "invalid-name"]]);
    assert.deepEqual(answer(push), answer(full), "the push gives the full sync's answer");
    assert.equal(destination.value("p/db"), JSON.stringify({ v: `${CANARY}-a` }), "team-a's value stays");
    assert.match(push.failures[0]?.message ?? "", /team-b\/db and team-a\/db both map to p\/db: none of them is written/);

    source.remove("team-a/db");
    const fullAfter = await run({ mode: "plan" });
    const pushAfter = await run({ targets: [{ mount: "kv", path: "team-b/db" }] });
    assert.deepEqual(answer(fullAfter), [["update", undefined]]);
    assert.deepEqual(answer(pushAfter), answer(fullAfter));
    assert.equal(destination.value("p/db"), JSON.stringify({ v: `${CANARY}-b` }));
    assert.equal(destination.tags("p/db")?.["secretbridge:path"], "team-b/db");
  });
});

describe("ownership is proven by a version id (finding 5)", () => {
  test("an unmanaged secret given our ownership tags is never deleted: ownership-unproven", async () => {
    const source = new MemorySource({ mount: "kv" });
    seed(source, 10);
    const { destination, run } = build({ policies: { ...DELETE, blastRadius: { maxShare: 1 } } }, source);
    await run();
    destination.seed("p/team/forged", { value: "someone else's", tags: { ...destination.tags("p/team/s0"), "secretbridge:path": "team/forged" } });
    const report = await run();
    assert.deepEqual(failures(report), [["p/team/forged", "ownership-unproven"]]);
    assert.equal(destination.details("p/team/forged")?.deletedDate, undefined);
    assert.equal(report.counts.delete, 0);
  });

  test("a forged tag-keys record does not make secretbridge remove someone else's tags", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("a", { v: `${CANARY}-a` });
    const { destination, run } = build({ destination: { prefix: "p", tags: { team: "x" } } }, source);
    await run();
    destination.outsiderEdit("p/a", (s) => {
      s.tags.owner = "alice";
      s.tags["secretbridge:tag-keys"] = "owner team";
    });
    const calls = destination.calls.length;
    await run();
    assert.equal(destination.tags("p/a")?.owner, "alice");
    assert.ok(!destination.calls.slice(calls).includes("UntagResource"));
  });

  test("drift repair keeps working after a hand edit, and after a second one (the previous version proves it)", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("a", { v: `${CANARY}-a` });
    const { destination, run } = build({}, source);
    await run();
    destination.outsiderPut("p/a", "by hand");
    const first = await run();
    assert.deepEqual([first.exitCode, first.counts.update], [0, 1]);
    destination.outsiderPut("p/a", "by hand again");
    const second = await run();
    assert.deepEqual([second.exitCode, second.counts.update], [0, 1]);
    assert.equal(destination.value("p/a"), JSON.stringify({ v: `${CANARY}-a` }));
  });

  test("adopt-if-equal writes the value once with secretbridge's token, so the secret can later be deleted", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("a", { v: `${CANARY}-a` });
    for (let i = 0; i < 9; i++) source.put(`b${i}`, { v: `${CANARY}-${i}` });
    const destination = new MemoryDestination();
    destination.seed("p/a", { value: JSON.stringify({ v: `${CANARY}-a` }) });
    const { run } = build({ policies: { ...DELETE, onConflict: "adopt-if-equal" } }, source, destination);
    assert.deepEqual([(await run()).counts.adopt, destination.versions("p/a").length], [1, 2]);
    source.remove("a");
    const report = await run();
    assert.deepEqual([report.exitCode, report.counts.delete], [0, 1]);
  });
});

describe("the blast-radius guard (findings 6 and 7)", () => {
  // The run plans at the wall clock; the fakes' clock sets when the destination says a secret was deleted.
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

  test("its share is of live secrets: 45 pending deletion, 4 of the other 5 removed is 80%", async () => {
    let now = hoursAgo(48);
    const source = new MemorySource({ mount: "kv", now: () => now });
    seed(source, 50);
    const destination = new MemoryDestination({ now: () => now });
    const { run } = build({ policies: DELETE }, source, destination);
    await run();
    for (let i = 0; i < 45; i++) source.remove(`team/s${i}`);
    assert.equal((await run({ forceDeletions: true })).counts.delete, 45);
    now = hoursAgo(0);
    for (let i = 45; i < 49; i++) source.remove(`team/s${i}`);
    const report = await run();
    assert.equal(report.counts.delete, 0);
    assert.deepEqual(new Set(report.failures.map((f) => f.errorClass)), new Set(["blast-radius"]));
    assert.match(report.failures[0]?.message ?? "", /4 of 5 managed secrets \(80%\) is over the blast-radius limit of 10%/);
  });

  for (const [hours, held] of [[23, true], [25, false]] as const) {
    test(`a slow trickle: 2 deletions ${hours} hours ago and 2 now are ${held ? "held (inside the 24h window)" : "allowed (the window has passed)"}`, async () => {
      let now = hoursAgo(hours);
      const source = new MemorySource({ mount: "kv", now: () => now });
      seed(source, 20);
      const destination = new MemoryDestination({ now: () => now });
      const { run } = build({ policies: DELETE }, source, destination);
      await run();
      source.remove("team/s0");
      source.remove("team/s1");
      assert.equal((await run()).counts.delete, 2, "2 of 20 is within the guard");
      now = hoursAgo(0);
      source.remove("team/s2");
      source.remove("team/s3");
      const report = await run();
      assert.equal(report.counts.delete, held ? 0 : 2);
      if (held) assert.match(report.failures[0]?.message ?? "", /4 of 20 managed secrets \(20%\), 2 of them deleted in the last 24h, is over the blast-radius limit of 10%/);
    });
  }
});

describe("the blast-radius window under serve (finding 7)", () => {
  test("deletions without a recovery window leave the destination's listing; the state store remembers them and the guard counts them", async () => {
    const source = new MemorySource({ mount: "kv" });
    seed(source, 20);
    const destination = new MemoryDestination();
    const resolved = resolveConfig(
      parseConfig({ name: "t", source: { address: "http://127.0.0.1:8200", mount: "kv" }, destination: { prefix: "p" }, policies: { deletion: { strategy: "delete", forceDeleteWithoutRecovery: true } } }),
      {},
    );
    const wiring: Wiring = { resolved, mappings: resolved.mappings.map((mapping) => ({ mapping, source })), destination, notifiers: [], sourceHealth: () => ({ usable: true }), target: async () => ({ name: "default", source: { address: "http://127.0.0.1:8200", mounts: ["kv"] }, destination: { ...(await destination.target()), prefixes: ["p/"] } }), close: async () => undefined };
    const service = new SyncService({ wiring, logger: silentLogger(), recorder: new ApiCallRecorder(), listen: { host: "127.0.0.1", port: 0 }, apiToken: "t", coalesceMs: 5 });
    await service.start();
    try {
      await service.idle();
      assert.equal(destination.names().length, 20);
      source.remove("team/s0");
      source.remove("team/s1");
      service.requestFull("test");
      await service.idle();
      assert.deepEqual(destination.names().filter((n) => n === "p/team/s0" || n === "p/team/s1"), [], "2 of 20, gone at once");
      source.remove("team/s2");
      source.remove("team/s3");
      service.requestFull("test");
      await service.idle();
      assert.ok(destination.has("p/team/s2") && destination.has("p/team/s3"), "4 deletions within 24h of 20 secrets is over 10%");
      assert.deepEqual(service.summary().held?.names, ["p/team/s2", "p/team/s3"]);
      assert.match(service.summary().held?.reason ?? "", /4 of 20 managed secrets \(20%\), 2 of them deleted in the last 24h/);
    } finally {
      await service.stop();
    }
  });
});

describe("not writable governs every action (finding 8)", () => {
  test("a secret rotated by the destination is not deleted when its source goes, nor restored when it comes back", async () => {
    const source = new MemorySource({ mount: "kv" });
    seed(source, 10);
    const { destination, run } = build({ policies: { ...DELETE, blastRadius: { maxShare: 1 } } }, source);
    await run();
    destination.outsiderEdit("p/team/s0", (s) => void (s.rotationEnabled = true));
    source.remove("team/s0");
    source.remove("team/s1");
    const report = await run();
    assert.deepEqual(failures(report), [["p/team/s0", "not-writable"]]);
    assert.equal(destination.details("p/team/s0")?.deletedDate, undefined);
    assert.ok(destination.details("p/team/s1")?.deletedDate);

    destination.outsiderEdit("p/team/s1", (s) => void (s.rotationEnabled = true));
    source.put("team/s1", { v: `${CANARY}-back` });
    const back = await run();
    assert.equal(back.counts.restore, 0);
    assert.deepEqual(failures(back).filter(([n]) => n === "p/team/s1"), [["p/team/s1", "not-writable"]]);
    assert.ok(destination.details("p/team/s1")?.deletedDate);
  });
});
