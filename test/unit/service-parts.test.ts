import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { changeFromAuditLine } from "../../src/runtime/service/audit-stream.js";
import { scheduleProblem, toCronPattern } from "../../src/runtime/service/schedule.js";
import { signWebhook, verifyWebhook } from "../../src/runtime/service/webhook-auth.js";

const line = (o: unknown) => JSON.stringify(o);
const mounts = [{ mount: "kv", kvVersion: 2 as const }, { mount: "old", kvVersion: 1 as const }];

describe("audit stream parsing", () => {
  test("successful KV v2 writes and deletes on configured mounts become changes", () => {
    for (const [op, path] of [["create", "kv/data/a/b"], ["update", "kv/data/a/b"], ["delete", "kv/metadata/a/b"], ["update", "kv/destroy/a/b"], ["update", "kv/undelete/a/b"]]) {
      assert.deepEqual(changeFromAuditLine(line({ type: "response", request: { operation: op, path } }), mounts), { mount: "kv", path: "a/b" }, `${op} ${path}`);
    }
    assert.deepEqual(changeFromAuditLine(line({ type: "response", request: { operation: "update", path: "old/x/y" } }), mounts), { mount: "old", path: "x/y" });
  });
  test("requests, errors, reads, lists, other mounts and garbage are ignored", () => {
    const ignored = [
      line({ type: "request", request: { operation: "create", path: "kv/data/a" } }),
      line({ type: "response", error: "permission denied", request: { operation: "create", path: "kv/data/a" } }),
      line({ type: "response", request: { operation: "read", path: "kv/data/a" } }),
      line({ type: "response", request: { operation: "list", path: "kv/metadata/" } }),
      line({ type: "response", request: { operation: "create", path: "other/data/a" } }),
      line({ type: "response", request: { operation: "update", path: "kv/config" } }),
      line({ type: "response", request: { operation: "update", path: "kvx/data/a" } }),
      "not json",
    ];
    for (const l of ignored) assert.equal(changeFromAuditLine(l, mounts), undefined, l);
  });
});

describe("schedules", () => {
  test("EventBridge cron becomes a 5-field pattern; bad expressions are named", () => {
    assert.equal(toCronPattern("cron(0,30 * * * ? *)"), "0,30 * * * *");
    assert.equal(toCronPattern("*/5 * * * *"), "*/5 * * * *");
    assert.equal(scheduleProblem("cron(0,30 * * * ? *)"), undefined);
    assert.match(scheduleProblem("cron(0 * * *)") ?? "", /6 fields/);
    assert.ok(scheduleProblem("every minute"));
  });
});

describe("webhook signatures", () => {
  const now = 1_800_000_000;
  test("a correct signature inside the window passes", () => {
    assert.deepEqual(verifyWebhook("k", { timestamp: String(now), signature: signWebhook("k", now, "{}") }, "{}", now), { ok: true });
  });
  test("wrong key, tampered body, replayed timestamp, missing headers, huge body", () => {
    const sig = signWebhook("k", now, "{}");
    assert.equal(verifyWebhook("other", { timestamp: String(now), signature: sig }, "{}", now).ok, false);
    assert.equal(verifyWebhook("k", { timestamp: String(now), signature: sig }, '{"a":1}', now).ok, false);
    assert.deepEqual(verifyWebhook("k", { timestamp: String(now), signature: sig }, "{}", now + 301), { ok: false, status: 401, reason: "timestamp outside the 300 s window" });
    assert.equal(verifyWebhook("k", {}, "{}", now).ok, false);
    assert.deepEqual(verifyWebhook("k", { timestamp: String(now), signature: sig }, "x".repeat(70_000), now), { ok: false, status: 413, reason: "body over 65536 bytes" });
  });
});
