// The run queue's messages and how a batch folds into one run: a continuation carries its run on,
// a schedule or a redelivered message received with it joins it, and a message the worker cannot
// run is dropped by id with the fields that are wrong.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SyncError } from "../../src/core/errors.js";
import { runForBatch, runMessageGroup } from "../../src/runtime/lambda/queue.js";
import { DEFAULT_MAX_CONTINUATIONS, maxContinuations } from "../../src/runtime/lambda/run.js";

const record = (messageId: string, body: unknown) => ({ messageId, body: JSON.stringify(body) });

describe("run queue batches", () => {
  test("a schedule alone starts a new run named after its message, at hop 0", () => {
    assert.deepEqual(runForBatch([record("m-1", { secretbridge: "scheduled", time: "t" })]), { run: { kind: "scheduled", chain: { id: "m-1", hop: 0 } }, rejected: [] });
  });

  test("a schedule received with a continuation joins that run: one full sync at the continuation's hop", () => {
    const { run, rejected } = runForBatch([record("m-9", { secretbridge: "scheduled", time: "t2" }), record("m-10", { secretbridge: "continue", chain: "m-1", hop: 3 })]);
    assert.deepEqual(rejected, []);
    assert.deepEqual(run, { kind: "scheduled", chain: { id: "m-1", hop: 3 } });
  });

  test("a redelivered message and the continuation it queued, or two copies of one continuation, are one run at the latest hop", () => {
    assert.deepEqual(runForBatch([record("m-1", { secretbridge: "scheduled" }), record("m-2", { secretbridge: "continue", chain: "m-1", hop: 1 })]).run, { kind: "scheduled", chain: { id: "m-1", hop: 1 } });
    assert.deepEqual(
      runForBatch([record("m-5", { secretbridge: "continue", chain: "m-1", hop: 2 }), record("m-6", { secretbridge: "continue", chain: "m-1", hop: 2 }), record("m-7", { secretbridge: "continue", chain: "m-1", hop: 4 })]).run,
      { kind: "scheduled", chain: { id: "m-1", hop: 4 } },
    );
  });

  test("pushes received with a continuation are covered by its full sync", () => {
    const { run } = runForBatch([record("p-1", { secretbridge: "push", changes: [{ mount: "kv", path: "a" }] }), record("c-1", { secretbridge: "continue", chain: "m-1", hop: 1 })]);
    assert.deepEqual(run, { kind: "scheduled", chain: { id: "m-1", hop: 1 } });
    assert.deepEqual(runForBatch([record("p-1", { secretbridge: "push", changes: [{ mount: "kv", path: "a" }] })]).run, { kind: "push", changes: [{ mount: "kv", path: "a" }], chain: { id: "p-1", hop: 0 } });
  });

  test("a continuation that names a target, a hop below 1 or a chain id with other characters is dropped by id, naming the field", () => {
    const { run, rejected } = runForBatch([
      record("t-1", { secretbridge: "continue", chain: "m-1", hop: 1, target: "team-a" }),
      record("t-2", { secretbridge: "continue", chain: "m-1", hop: 0 }),
      record("t-3", { secretbridge: "continue", chain: "m 1;drop", hop: 1 }),
    ]);
    assert.deepEqual(run, { kind: "none" });
    assert.deepEqual(rejected, [
      { messageId: "t-1", problem: "it names target team-a, and this worker's config has no targets" },
      { messageId: "t-2", problem: "hop: Too small: expected number to be >=1" },
      { messageId: "t-3", problem: "chain: 1-100 letters, digits or -" },
    ]);
  });

  test("runs share one message group by default; a target gets its own", () => {
    assert.equal(runMessageGroup(), "secretbridge-runs");
    assert.equal(runMessageGroup("team-a"), "secretbridge-runs.team-a");
  });

  test("the continuation bound: default, zero allowed, anything else refused by the variable's name", () => {
    assert.equal(maxContinuations({}), DEFAULT_MAX_CONTINUATIONS);
    assert.equal(maxContinuations({ SECRETBRIDGE_MAX_CONTINUATIONS: "0" }), 0);
    assert.equal(maxContinuations({ SECRETBRIDGE_MAX_CONTINUATIONS: "7" }), 7);
    for (const bad of ["-1", "1.5", "many", "1001"]) {
      assert.throws(
        () => maxContinuations({ SECRETBRIDGE_MAX_CONTINUATIONS: bad }),
        (e: unknown) => e instanceof SyncError && e.errorClass === "config-invalid" && e.message === "SECRETBRIDGE_MAX_CONTINUATIONS must be a whole number from 0 to 1000",
        bad,
      );
    }
  });
});

describe("run queue batches of a target's worker", () => {
  test("its schedule and its continuations make its run; a message naming another target is dropped by id", () => {
    const { run, rejected } = runForBatch(
      [
        record("s-1", { secretbridge: "scheduled", target: "one", time: "t" }),
        record("c-1", { secretbridge: "continue", chain: "m-1", hop: 2, target: "one" }),
        record("x-1", { secretbridge: "continue", chain: "m-9", hop: 5, target: "two" }),
        record("x-2", { secretbridge: "scheduled", target: "two" }),
      ],
      "one",
    );
    assert.deepEqual(run, { kind: "scheduled", chain: { id: "m-1", hop: 2 } });
    assert.deepEqual(rejected, [
      { messageId: "x-1", problem: "it names target two, and this worker runs target one" },
      { messageId: "x-2", problem: "it names target two, and this worker runs target one" },
    ]);
  });

  test("a target name the config allows (with a dot) is one a queued run may carry", () => {
    assert.deepEqual(runForBatch([record("s-1", { secretbridge: "scheduled", target: "eu.prod" })], "eu.prod").run, { kind: "scheduled", chain: { id: "s-1", hop: 0 } });
  });
});
