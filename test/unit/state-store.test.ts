// The service's state store, on disk (LevelDB) and in memory: the same behaviour for both, and on
// disk what a restart keeps, and what an unusable directory says.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ClassicLevel } from "classic-level";
import { emptyCounts } from "../../src/engine/report.js";
import type { HeldDeletions, RunStatus, SecretState, SecretStatus } from "../../src/runtime/service/control.js";
import { RUN_FAILURES_KEPT, RUNS_KEPT, STORE_SUBDIR, StateStore } from "../../src/runtime/service/state-store.js";
import { rejectsWith } from "../helpers/assertions.js";

const freshDir = () => mkdtempSync(join(tmpdir(), "sb-state-"));

function secret(name: string, state: SecretState = "in-sync", extra: Partial<SecretStatus> = {}): SecretStatus {
  return { name, path: name.replace(/^app\//, ""), mapping: "source", state, version: "1", updatedAt: "2030-01-01T00:00:00.000Z", ...extra };
}

function run(n: number, extra: Partial<RunStatus> = {}): RunStatus {
  const at = new Date(Date.UTC(2030, 0, 1, 0, 0, n)).toISOString();
  return { runId: `run-${n}`, kind: "full", startedAt: at, finishedAt: at, exitCode: 0, counts: emptyCounts(), failures: [], ...extra };
}

const names = (items: SecretStatus[]) => items.map((s) => s.name);

for (const where of ["memory", "disk"] as const) {
  const open = () => StateStore.open(where === "disk" ? freshDir() : undefined);

  describe(`state store (${where})`, () => {
    test("rows come back as written, ordered by name, with counts by state; nothing but the documented fields is kept", async () => {
      const store = await open();
      const failed = secret("app/b", "failed", { errorClass: "too-large", message: "the value is 70000 bytes; Secrets Manager takes at most 65536" });
      await store.upsertSecrets([secret("app/c"), { ...failed, value: "s3cr3t" } as SecretStatus, secret("app/a", "pending", { version: undefined })]);
      const page = await store.secrets({ page: 1, pageSize: 100 });
      assert.deepEqual(page, { items: [{ ...secret("app/a", "pending"), version: undefined }, failed, secret("app/c")].map((r) => JSON.parse(JSON.stringify(r))), total: 3, page: 1, pageSize: 100 });
      assert.ok(!JSON.stringify(page).includes("s3cr3t"));
      assert.deepEqual(store.counts(), { "in-sync": 1, pending: 1, failed: 1, drifted: 0, conflict: 0, held: 0 });

      await store.upsertSecrets([secret("app/b", "in-sync", { version: "2" })]);
      assert.deepEqual(store.counts(), { "in-sync": 2, pending: 1, failed: 0, drifted: 0, conflict: 0, held: 0 });
      await store.removeSecrets(["app/a", "app/a", "app/never-seen"]);
      assert.deepEqual(names((await store.secrets({ page: 1, pageSize: 10 })).items), ["app/b", "app/c"]);
      assert.deepEqual(store.counts(), { "in-sync": 2, pending: 0, failed: 0, drifted: 0, conflict: 0, held: 0 });
      await store.close();
    });

    test("a row that changed nothing but updatedAt keeps its updatedAt: it says when the row last changed", async () => {
      const store = await open();
      await store.upsertSecrets([secret("app/a"), secret("app/b")]);
      await store.upsertSecrets([secret("app/a", "in-sync", { updatedAt: "2031-01-01T00:00:00.000Z" }), secret("app/b", "in-sync", { version: "2", updatedAt: "2031-01-01T00:00:00.000Z" })]);
      const items = (await store.secrets({ page: 1, pageSize: 10 })).items;
      assert.deepEqual(items.map((s) => [s.name, s.version, s.updatedAt]), [["app/a", "1", "2030-01-01T00:00:00.000Z"], ["app/b", "2", "2031-01-01T00:00:00.000Z"]]);
      await store.close();
    });

    test("replaceSecrets: after a complete full run, rows of names no mapping produces any more are gone, in the same batch", async () => {
      const store = await open();
      await store.upsertSecrets([secret("old-prefix/a", "failed", { errorClass: "throttled", message: "rate exceeded" }), secret("app/a"), secret("app/b", "pending")]);
      await store.replaceSecrets([secret("app/a"), secret("app/b"), secret("app/c", "drifted")]);
      assert.deepEqual(names((await store.secrets({ page: 1, pageSize: 10 })).items), ["app/a", "app/b", "app/c"]);
      assert.deepEqual(store.counts(), { "in-sync": 2, pending: 0, failed: 0, drifted: 1, conflict: 0, held: 0 });
      await store.replaceSecrets([]);
      assert.deepEqual([(await store.secrets({ page: 1, pageSize: 10 })).total, store.counts()["in-sync"]], [0, 0]);
      await store.close();
    });

    test("pages, filter (name or path, any case) and state are applied in the store; totals count the matches", async () => {
      const store = await open();
      const rows: SecretStatus[] = [];
      for (let i = 0; i < 250; i++) {
        const state: SecretState = i % 10 === 0 ? "failed" : i % 25 === 1 ? "held" : "in-sync";
        rows.push(secret(`app/team-${i % 3}/s${String(i).padStart(3, "0")}`, state, { path: `Team-${i % 3}/Path-${i}` }));
      }
      // Written in two batches, out of order: the order is the store's.
      await store.upsertSecrets(rows.slice(125).reverse());
      await store.upsertSecrets(rows.slice(0, 125));
      const sorted = rows.map((r) => r.name).sort();

      const p1 = await store.secrets({ page: 1, pageSize: 100 });
      const p3 = await store.secrets({ page: 3, pageSize: 100 });
      assert.deepEqual([p1.total, p1.items.length, p3.items.length], [250, 100, 50]);
      assert.deepEqual(names(p1.items), sorted.slice(0, 100));
      assert.deepEqual(names(p3.items), sorted.slice(200));
      assert.deepEqual(await store.secrets({ page: 4, pageSize: 100 }), { items: [], total: 250, page: 4, pageSize: 100 });

      const failed = await store.secrets({ page: 1, pageSize: 10, state: "failed" });
      assert.equal(failed.total, 25);
      assert.deepEqual(names(failed.items), rows.filter((r) => r.state === "failed").map((r) => r.name).sort().slice(0, 10));
      assert.ok(failed.items.every((s) => s.state === "failed"));

      // By name (lower case given, upper case stored in the path only: matched on the name) ...
      const team1 = await store.secrets({ page: 2, pageSize: 20, filter: "TEAM-1/" });
      assert.equal(team1.total, rows.filter((r) => r.name.includes("team-1/")).length);
      assert.deepEqual(names(team1.items), sorted.filter((n) => n.includes("team-1/")).slice(20, 40));
      // ... by path (present only in the path, in another case) ...
      const path17 = await store.secrets({ page: 1, pageSize: 5, filter: "path-17" });
      assert.deepEqual([path17.total, names(path17.items)], [11, ["app/team-0/s171", "app/team-0/s174", "app/team-0/s177", "app/team-1/s172", "app/team-1/s175"]]);
      // ... and together with a state.
      const both = await store.secrets({ page: 1, pageSize: 100, filter: "team-0", state: "held" });
      assert.deepEqual(names(both.items), rows.filter((r) => r.state === "held" && r.name.includes("team-0")).map((r) => r.name).sort());
      assert.equal(both.total, both.items.length);
      assert.deepEqual(await store.secrets({ page: 1, pageSize: 100, filter: "no-such-name" }), { items: [], total: 0, page: 1, pageSize: 100 });
      await store.close();
    });

    test("filters with characters JSON escapes, non-ASCII and a filter that matches only field names still match exactly", async () => {
      const store = await open();
      await store.upsertSecrets([
        secret("app/quote", "in-sync", { path: 'we"ird\\path' }),
        secret("app/ÜBER", "in-sync", { path: "über" }),
        secret("app/tab", "failed", { path: "a\tb", message: "state is failed" }),
      ]);
      const find = async (filter: string, state?: SecretState) => names((await store.secrets({ page: 1, pageSize: 10, filter, ...(state ? { state } : {}) })).items);
      assert.deepEqual(await find('"ird\\'), ["app/quote"]);
      assert.deepEqual(await find("über"), ["app/ÜBER"]);
      assert.deepEqual(await find("\t"), ["app/tab"]);
      assert.deepEqual(await find("mapping"), [], "field names are not searched");
      assert.deepEqual(await find("failed"), [], "messages are not searched");
      assert.deepEqual(await find("app/", "failed"), ["app/tab"]);
      await store.close();
    });

    test(`runs: newest first, the last ${RUNS_KEPT} kept, ${RUN_FAILURES_KEPT} failures each`, async () => {
      const store = await open();
      const failures = Array.from({ length: 60 }, (_, i) => ({ path: `p${i}`, errorClass: "throttled" as const, message: "rate exceeded after 8 attempts" }));
      await store.recordRun(run(0, { exitCode: 1, failures, fatal: undefined }));
      assert.equal(store.runs(1)[0]?.failures.length, RUN_FAILURES_KEPT);
      for (let n = 1; n <= RUNS_KEPT + 4; n++) await store.recordRun(run(n));
      const all = store.runs(1000);
      assert.equal(all.length, RUNS_KEPT);
      assert.deepEqual([all[0]?.runId, all.at(-1)?.runId], [`run-${RUNS_KEPT + 4}`, "run-5"]);
      assert.deepEqual(store.runs(2).map((r) => r.runId), [`run-${RUNS_KEPT + 4}`, `run-${RUNS_KEPT + 3}`]);
      await store.close();
    });

    test(`runs are kept ${RUNS_KEPT} of each kind: a flood of targeted runs does not push the full runs out`, async () => {
      const store = await open();
      await store.recordRun(run(0, { runId: "full-0" }));
      for (let n = 1; n <= RUNS_KEPT + 10; n++) await store.recordRun(run(n, { kind: "targeted", paths: 1 }));
      assert.deepEqual(store.runs(1000, "full").map((r) => r.runId), ["full-0"]);
      const targeted = store.runs(1000, "targeted");
      assert.equal(targeted.length, RUNS_KEPT);
      assert.deepEqual([targeted[0]?.runId, targeted.at(-1)?.runId], [`run-${RUNS_KEPT + 10}`, "run-11"]);
      assert.deepEqual(store.runs(3).map((r) => r.runId), [`run-${RUNS_KEPT + 10}`, `run-${RUNS_KEPT + 9}`, `run-${RUNS_KEPT + 8}`], "without a kind: newest first, both kinds");
      assert.equal(store.runs(1000).length, RUNS_KEPT + 1);
      assert.equal(store.runs(1000).at(-1)?.runId, "full-0");
      await store.close();
    });

    test("held deletions are set, read and cleared", async () => {
      const store = await open();
      assert.equal(store.held(), undefined);
      const held: HeldDeletions = { id: "abc123", names: ["app/x", "app/y"], reason: "2 of 10 secrets (20%) over the 10% limit", heldAt: "2030-01-01T00:00:00.000Z" };
      await store.setHeld(held);
      assert.deepEqual(store.held(), held);
      await store.setHeld(undefined);
      assert.equal(store.held(), undefined);
      await store.close();
    });

    test("concurrent upserts, removals and queries: every write lands once, in call order, and each page agrees with its counts", async () => {
      const store = await open();
      const all = Array.from({ length: 400 }, (_, i) => `app/s${String(i).padStart(3, "0")}`);
      const states: SecretState[] = ["in-sync", "failed", "pending", "drifted"];
      const writes: Promise<void>[] = [];
      const reads: Promise<{ total: number }>[] = [];
      for (let round = 0; round < 20; round++) {
        const state = states[round % states.length] as SecretState;
        // Overlapping slices: the last round that wrote a name decides its state.
        writes.push(store.upsertSecrets(all.slice(round * 10, round * 10 + 200).map((n) => secret(n, state, { version: String(round) }))));
        if (round % 5 === 4) writes.push(store.removeSecrets(all.slice(0, 5)));
        reads.push(store.secrets({ page: 1, pageSize: 500, state: "failed" }));
      }
      await Promise.all([...writes, ...reads]);
      const expected = new Map<string, SecretState>();
      for (let round = 0; round < 20; round++) {
        for (const n of all.slice(round * 10, round * 10 + 200)) expected.set(n, states[round % states.length] as SecretState);
        if (round % 5 === 4) for (const n of all.slice(0, 5)) expected.delete(n);
      }
      const page = await store.secrets({ page: 1, pageSize: 500 });
      assert.deepEqual(page.items.map((s) => [s.name, s.state]), [...expected].sort(([a], [b]) => (a < b ? -1 : 1)));
      const counts = store.counts();
      for (const s of states) assert.equal(counts[s], [...expected.values()].filter((x) => x === s).length, s);
      for (const s of states) assert.equal((await store.secrets({ page: 1, pageSize: 1, state: s })).total, counts[s], s);
      await store.close();
      await assert.rejects(store.secrets({ page: 1, pageSize: 1 }), /closed/);
    });
  });
}

const NO_SECRETS: Record<SecretState, number> = { "in-sync": 0, pending: 0, failed: 0, drifted: 0, conflict: 0, held: 0 };

describe("state store with targets", () => {
  test("the same name in two targets is two rows: counts, pages, replacement, removal, held sets and deletions are per target", async () => {
    const store = await StateStore.open(undefined);
    await store.upsertSecrets([secret("app/a", "in-sync", { target: "eu" }), secret("app/b", "failed", { target: "eu", errorClass: "throttled", message: "rate exceeded" })], "eu");
    await store.upsertSecrets([secret("app/a", "pending", { target: "us", version: "2" })], "us");
    assert.deepEqual([store.counts("eu"), store.counts("us"), store.counts()], [
      { ...NO_SECRETS, "in-sync": 1, failed: 1 },
      { ...NO_SECRETS, pending: 1 },
      { ...NO_SECRETS, "in-sync": 1, failed: 1, pending: 1 },
    ]);
    const all = await store.secrets({ page: 1, pageSize: 10 });
    assert.deepEqual(all.items.map((r) => [r.target, r.name, r.state]), [["eu", "app/a", "in-sync"], ["eu", "app/b", "failed"], ["us", "app/a", "pending"]]);
    assert.deepEqual((await store.secrets({ page: 1, pageSize: 10, target: "us" })), { items: [secret("app/a", "pending", { target: "us", version: "2" })], total: 1, page: 1, pageSize: 10 });
    assert.deepEqual((await store.secrets({ page: 1, pageSize: 10, target: "eu", filter: "app/a" })).items.map((r) => r.target), ["eu"]);
    // A complete full run of one target replaces that target's rows only.
    await store.replaceSecrets([secret("app/c", "in-sync", { target: "us" })], "us");
    assert.deepEqual((await store.secrets({ page: 1, pageSize: 10 })).items.map((r) => `${r.target}:${r.name}`), ["eu:app/a", "eu:app/b", "us:app/c"]);
    await store.removeSecrets(["app/a"], "eu");
    assert.deepEqual((await store.secrets({ page: 1, pageSize: 10 })).items.map((r) => `${r.target}:${r.name}`), ["eu:app/b", "us:app/c"]);
    assert.deepEqual([store.counts("eu"), store.counts("us")], [{ ...NO_SECRETS, failed: 1 }, { ...NO_SECRETS, "in-sync": 1 }]);

    const held: HeldDeletions = { target: "us", id: "h-us", names: ["app/x"], reason: "over the limit", heldAt: "2030-01-01T00:00:00.000Z" };
    await store.setHeld(held, "us");
    assert.deepEqual([store.held("eu"), store.held("us")], [undefined, held]);
    await store.recordForceDeleted([{ name: "app/z", mapping: "source", at: "2030-01-01T00:00:00.000Z" }], 86_400_000, new Date("2030-01-01T01:00:00.000Z"), "eu");
    assert.deepEqual([[...store.forceDeleted("eu").keys()], [...store.forceDeleted("us").keys()]], [["source"], []]);
    // Runs: of one target when asked.
    await store.recordRun(run(1, { target: "eu" }));
    await store.recordRun(run(2, { target: "us" }));
    assert.deepEqual([store.runs(10).map((r) => r.runId), store.runs(10, "full", "eu").map((r) => r.runId)], [["run-2", "run-1"], ["run-1"]]);
    await store.close();
  });

  test("a directory in format 1 (before targets) is the default target's: rows, counts, runs, held set and deletions, rewritten once", async () => {
    const dir = freshDir();
    const held: HeldDeletions = { id: "h1", names: ["app/gone"], reason: "1 of 2 secrets (50%) over the 10% limit", heldAt: "2030-01-01T00:00:00.000Z" };
    const old = new ClassicLevel<string, string>(join(dir, STORE_SUBDIR), { keyEncoding: "utf8", valueEncoding: "utf8" });
    await old.batch([
      { type: "put", key: "f", value: "1" },
      ...Array.from({ length: 2500 }, (_, i) => ({ type: "put" as const, key: `s!app/s${String(i).padStart(4, "0")}`, value: JSON.stringify(secret(`app/s${String(i).padStart(4, "0")}`, i === 7 ? "failed" : "in-sync")) })),
      { type: "put", key: "r!0000000000000001", value: JSON.stringify(run(1)) },
      { type: "put", key: "h", value: JSON.stringify(held) },
      { type: "put", key: "x!app/forced", value: JSON.stringify({ mapping: "source", at: "2030-01-01T00:00:00.000Z" }) },
    ]);
    await old.close();

    const store = await StateStore.open(dir);
    assert.deepEqual([store.counts(), store.counts("default")], [{ ...NO_SECRETS, "in-sync": 2499, failed: 1 }, { ...NO_SECRETS, "in-sync": 2499, failed: 1 }]);
    const page = await store.secrets({ page: 1, pageSize: 2, target: "default" });
    assert.deepEqual([page.total, page.items], [2500, [secret("app/s0000"), secret("app/s0001")]]);
    assert.deepEqual(store.runs(10).map((r) => r.runId), ["run-1"]);
    assert.deepEqual(store.held(), held);
    assert.deepEqual([...store.forceDeleted()].map(([m, list]) => [m, list.map((d) => d.name)]), [["source", ["app/forced"]]]);
    // The default target's rows are the ones a full run replaces: no second copy under another key.
    await store.replaceSecrets([secret("app/s0000")]);
    assert.equal((await store.secrets({ page: 1, pageSize: 10 })).total, 1);
    await store.close();

    const db = new ClassicLevel<string, string>(join(dir, STORE_SUBDIR), { keyEncoding: "utf8", valueEncoding: "utf8" });
    assert.deepEqual([await db.get("f"), await db.get("h"), await db.keys({ gte: "s!", lt: 's"' }).all(), await db.keys({ gte: "x!", lt: 'x"' }).all(), await db.keys({ gte: "h!", lt: 'h"' }).all()], [
      "2",
      undefined,
      ["s!default\u0000app/s0000"],
      ["x!default\u0000app/forced"],
      ["h!default"],
    ]);
    await db.close();
  });
});

describe("state store on disk across restarts", () => {
  test("rows, counts, runs and the held set are there after a restart; the run cap holds across restarts", async () => {
    const dir = freshDir();
    const first = await StateStore.open(dir);
    await first.upsertSecrets([secret("app/a"), secret("app/b", "failed", { errorClass: "permission-denied", message: "the writer role may not tag app/b" })]);
    for (let n = 1; n <= RUNS_KEPT; n++) await first.recordRun(run(n, n === RUNS_KEPT ? { exitCode: 1, failures: [{ path: "b", destinationName: "app/b", errorClass: "permission-denied", message: "the writer role may not tag app/b" }] } : {}));
    const held: HeldDeletions = { id: "h1", names: ["app/gone"], reason: "1 of 2 secrets (50%) over the 10% limit", heldAt: "2030-01-01T00:00:00.000Z" };
    await first.setHeld(held);
    await first.close();

    const second = await StateStore.open(dir);
    assert.deepEqual(second.counts(), { "in-sync": 1, pending: 0, failed: 1, drifted: 0, conflict: 0, held: 0 });
    assert.deepEqual((await second.secrets({ page: 1, pageSize: 10, state: "failed" })).items, [secret("app/b", "failed", { errorClass: "permission-denied", message: "the writer role may not tag app/b" })]);
    assert.equal(second.runs(1000).length, RUNS_KEPT);
    assert.deepEqual(second.runs(1)[0]?.failures, [{ path: "b", destinationName: "app/b", errorClass: "permission-denied", message: "the writer role may not tag app/b" }]);
    assert.deepEqual(second.held(), held);
    await second.recordRun(run(RUNS_KEPT + 1));
    await second.close();

    // On disk too: exactly RUNS_KEPT run records, the oldest gone.
    const db = new ClassicLevel<string, string>(join(dir, STORE_SUBDIR));
    const runKeys = await db.keys({ gte: "r!", lt: 'r"' }).all();
    await db.close();
    assert.equal(runKeys.length, RUNS_KEPT);
    const third = await StateStore.open(dir);
    assert.deepEqual([third.runs(1000).length, third.runs(1)[0]?.runId, third.runs(1000).at(-1)?.runId], [RUNS_KEPT, `run-${RUNS_KEPT + 1}`, "run-2"]);
    // A flood of targeted runs: the full ones stay, on disk and after a restart.
    for (let n = 1; n <= RUNS_KEPT + 5; n++) await third.recordRun(run(1000 + n, { kind: "targeted" }));
    await third.close();
    const fourth = await StateStore.open(dir);
    const fulls = fourth.runs(1000, "full");
    assert.deepEqual([fulls.length, fulls[0]?.runId, fulls.at(-1)?.runId], [RUNS_KEPT, `run-${RUNS_KEPT + 1}`, "run-2"], "the full runs survive the targeted flood and the restart");
    assert.deepEqual([fourth.runs(1000, "targeted").length, fourth.runs(1000, "targeted").at(-1)?.runId], [RUNS_KEPT, "run-1006"]);
    await fourth.close();
  });
});

describe("deletions without a recovery window", () => {
  test("are remembered across a restart, by mapping, until they are older than the window", async () => {
    const dir = freshDir();
    const now = new Date("2030-01-02T00:00:00.000Z");
    const first = await StateStore.open(dir);
    await first.recordForceDeleted(
      [
        { name: "app/old", mapping: "source", at: "2030-01-01T00:00:00.000Z" },
        { name: "app/a", mapping: "source", at: "2030-01-01T12:00:00.000Z" },
        { name: "b/x", mapping: "mappings[1]", at: "2030-01-01T23:00:00.000Z" },
      ],
      86_400_000,
      now,
    );
    await first.close();
    const second = await StateStore.open(dir);
    assert.deepEqual(
      [...second.forceDeleted()].map(([m, list]) => [m, list.map((d) => [d.name, d.at.toISOString()])]),
      [
        ["source", [["app/a", "2030-01-01T12:00:00.000Z"], ["app/old", "2030-01-01T00:00:00.000Z"]]],
        ["mappings[1]", [["b/x", "2030-01-01T23:00:00.000Z"]]],
      ],
    );
    // The next record forgets what the window no longer covers.
    await second.recordForceDeleted([], 86_400_000, new Date("2030-01-02T12:00:00.000Z"));
    assert.deepEqual([...second.forceDeleted().values()].flat().map((d) => d.name).sort(), ["b/x"]);
    await second.close();
  });
});

describe("an unusable state directory is a config error naming it, and nothing crashes", () => {
  const refusal = async (dir: string, pattern: RegExp) => {
    const error = await rejectsWith(StateStore.open(dir), "config-invalid");
    assert.ok(error.message.includes(JSON.stringify(dir)), error.message);
    assert.match(error.message, pattern);
  };

  test("a file where the directory should be", async () => {
    const file = join(freshDir(), "state");
    writeFileSync(file, "not a directory");
    await refusal(file, /exists and is not a directory/);
  });

  test("a directory another process (or store) holds open; the holder keeps working", async () => {
    const dir = freshDir();
    const holder = await StateStore.open(dir);
    await refusal(dir, /in use by another process/);
    await holder.upsertSecrets([secret("app/a")]);
    assert.equal((await holder.secrets({ page: 1, pageSize: 1 })).total, 1);
    await holder.close();
  });

  test("LevelDB files damaged: a garbage CURRENT, then a damaged table", async () => {
    const dir = freshDir();
    const store = await StateStore.open(dir);
    await store.upsertSecrets(Array.from({ length: 2000 }, (_, i) => secret(`app/s${i}`, "in-sync", { message: "x".repeat(100) })));
    await store.close();
    const db = new ClassicLevel(join(dir, STORE_SUBDIR));
    await db.open();
    await db.compactRange("\u0000", "\uffff");
    await db.close();
    const leveldb = join(dir, STORE_SUBDIR);
    const tables = readdirSync(leveldb).filter((f) => f.endsWith(".ldb"));
    assert.ok(tables.length > 0);
    for (const t of tables) {
      const bytes = readFileSync(join(leveldb, t));
      bytes.fill(7, 16, bytes.length - 64);
      writeFileSync(join(leveldb, t), bytes);
    }
    await refusal(dir, /corrupted or not a secretbridge state store.*move it aside/);
    writeFileSync(join(leveldb, "CURRENT"), "MANIFEST-999999\n");
    const error = await rejectsWith(StateStore.open(dir), "config-invalid");
    assert.ok(error.message.includes(JSON.stringify(dir)), error.message);
  });

  test("rows that are not ours, and a format from a newer release", async () => {
    const foreign = freshDir();
    const db = new ClassicLevel<string, string>(join(foreign, STORE_SUBDIR));
    await db.put("s!app/a", "{not json");
    await db.close();
    await refusal(foreign, /not valid JSON.*move it aside/);

    const newer = freshDir();
    await (await StateStore.open(newer)).close();
    const db2 = new ClassicLevel<string, string>(join(newer, STORE_SUBDIR));
    await db2.put("f", "9");
    await db2.close();
    await refusal(newer, /format 9.*newer release/);
  });
});
