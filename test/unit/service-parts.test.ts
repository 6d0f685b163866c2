import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scheduleProblem, toCronPattern } from "../../src/runtime/service/schedule.js";
import { signWebhook, verifyWebhook } from "../../src/runtime/service/webhook-auth.js";

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
