import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { scheduleProblem, toCronPattern } from "../../src/config/schedule.js";
import { signWebhook, verifyWebhook, WebhookReplayCache } from "../../src/runtime/webhook.js";

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

describe("webhook replay cache", () => {
  const now = 1_800_000_000;
  test("an accepted signature is refused until its timestamp leaves the window, when verifyWebhook refuses it anyway", () => {
    const cache = new WebhookReplayCache(10, 300);
    assert.equal(cache.check("sig-a", now), "fresh");
    assert.equal(cache.check("sig-a", now), "fresh", "checking does not record");
    cache.remember("sig-a", now);
    assert.equal(cache.check("sig-a", now + 1), "replay");
    assert.equal(cache.check("sig-a", now + 300), "replay", "the last second of the window");
    assert.equal(cache.check("sig-b", now + 1), "fresh", "other signatures are unaffected");
    assert.equal(cache.check("sig-a", now + 301), "fresh");
    assert.equal(cache.size, 0, "the expired entry was dropped");
    // A timestamp ahead of the clock stays remembered until its own window ends.
    cache.remember("sig-future", now + 200);
    assert.equal(cache.check("sig-future", now + 450), "replay");
  });

  test("full of unexpired signatures it refuses new ones instead of growing; expired ones are evicted first", () => {
    const cache = new WebhookReplayCache(3, 300);
    cache.remember("old", now - 200); // expires at now + 100
    cache.remember("b", now);
    cache.remember("c", now);
    assert.equal(cache.check("d", now), "full");
    assert.equal(cache.check("b", now), "replay", "a replay is still named as one when full");
    assert.equal(cache.size, 3);
    assert.equal(cache.check("d", now + 101), "fresh", '"old" expired and made room');
    assert.equal(cache.size, 2);
    cache.remember("d", now + 101);
    assert.equal(cache.check("e", now + 101), "full");
    assert.equal(cache.size, 3);
  });

  test("a steady stream stays bounded: refused while every slot is live, accepted again as entries expire", () => {
    const cache = new WebhookReplayCache(100, 300);
    const outcomes = { fresh: 0, full: 0, replay: 0 };
    for (let i = 0; i < 1000; i++) {
      const verdict = cache.check(`sig-${i}`, now + i);
      outcomes[verdict]++;
      if (verdict === "fresh") cache.remember(`sig-${i}`, now + i);
      assert.ok(cache.size <= 100);
    }
    // One request a second, 100 slots, a 300 s window: 0-99 are accepted, then every slot is live
    // until sig-0 expires after now + 300; 301-400 take the freed slots one by one, then the cache
    // is full until sig-301 expires (602-701), and again (903-999).
    assert.deepEqual(outcomes, { fresh: 397, full: 603, replay: 0 });
  });
});
