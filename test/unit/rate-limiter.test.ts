import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TokenBucket } from "../../src/util/rate-limiter.js";

/** A fake clock: sleep advances time instantly, so grant times are exact. */
function fakeClock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), at: () => t };
}

describe("TokenBucket", () => {
  test("after the burst, grants are spaced at 1/rate", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2, now: clock.now, sleep: clock.sleep });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      await bucket.take();
      times.push(Math.round(clock.at()));
    }
    assert.deepEqual(times, [0, 0, 100, 200, 300]);
  });

  test("concurrent callers are served in order, never faster than the rate", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 40, burst: 1, now: clock.now, sleep: clock.sleep });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 41 }, (_, i) => bucket.take().then(() => order.push(i))));
    assert.deepEqual(order, Array.from({ length: 41 }, (_, i) => i));
    assert.equal(Math.round(clock.at()), 1000); // 41 grants at 40/s with a burst of 1 take exactly 1 s
  });

  test("idle time refills up to the burst only", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 5, burst: 3, now: clock.now, sleep: clock.sleep });
    await clock.sleep(10_000);
    const start = clock.at();
    for (let i = 0; i < 4; i++) await bucket.take();
    assert.equal(Math.round(clock.at() - start), 200);
  });

  test("rejects a non-positive rate", () => {
    assert.throws(() => new TokenBucket({ ratePerSecond: 0 }), /positive/);
  });
});
