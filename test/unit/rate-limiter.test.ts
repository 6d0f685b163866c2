// The token bucket on a fake clock: every grant time is exact, and no test waits on a real timer.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TokenBucket } from "../../src/util/rate-limiter.js";

/** A fake clock: `sleep` advances time at once, so grant times are exact and tests take no time. */
function fakeClock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => void (t += ms),
    advance: (ms: number) => void (t += ms),
    at: () => t,
  };
}

/** Rounds away floating-point noise (1000 / 3 ms steps) so times compare exactly. */
const ms = (t: number) => Math.round(t * 1000) / 1000;

describe("TokenBucket", () => {
  test("the burst is granted at once, then one grant every 1/rate", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2, now: clock.now, sleep: clock.sleep });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      await bucket.take();
      times.push(ms(clock.at()));
    }
    assert.deepEqual(times, [0, 0, 100, 200, 300]);
    assert.equal(bucket.waits, 3);
  });

  test("concurrent callers are granted in arrival order at exactly the rate", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 40, burst: 1, now: clock.now, sleep: clock.sleep });
    const grants: { caller: number; at: number }[] = [];
    await Promise.all(Array.from({ length: 41 }, (_, caller) => bucket.take().then(() => grants.push({ caller, at: ms(clock.at()) }))));
    assert.deepEqual(
      grants,
      Array.from({ length: 41 }, (_, caller) => ({ caller, at: caller * 25 })),
    );
  });

  test("a caller that arrives while others wait does not jump the line, even when it finds a token", async () => {
    // A sleep released by hand, so a late caller can arrive while the first waiter sleeps.
    let t = 0;
    const pending: (() => void)[] = [];
    const sleep = (d: number) =>
      new Promise<void>((resolve) =>
        pending.push(() => {
          t += d;
          resolve();
        }),
      );
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, now: () => t, sleep });
    const order: string[] = [];
    await bucket.take(); // the burst token
    const a = bucket.take().then(() => order.push(`a@${t}`));
    const b = bucket.take().then(() => order.push(`b@${t}`));
    await new Promise((r) => setImmediate(r));
    // Time passes on its own while `a` sleeps: a token is there now, but it is `a`'s.
    t += 100;
    const c = bucket.take().then(() => order.push(`c@${t}`));
    while (order.length < 3) {
      await new Promise((r) => setImmediate(r));
      pending.shift()?.();
    }
    await Promise.all([a, b, c]);
    // `a` slept 100 ms from t=0 and woke at 200 (the clock had been moved on by 100 meanwhile).
    assert.deepEqual(order, ["a@200", "b@300", "c@400"]);
  });

  test("idle time refills up to the burst and no more", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 5, burst: 3, now: clock.now, sleep: clock.sleep });
    clock.advance(10_000);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      await bucket.take();
      times.push(ms(clock.at() - 10_000));
    }
    assert.deepEqual(times, [0, 0, 0, 200, 400]);
  });

  test("a fractional rate is honoured (1 grant every 3 s at 1/3 per second)", async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 1 / 3, now: clock.now, sleep: clock.sleep });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      await bucket.take();
      times.push(ms(clock.at()));
    }
    assert.deepEqual(times, [0, 3000, 6000]);
  });

  test("a sleep that wakes early only costs another sleep, never an early grant", async () => {
    let t = 0;
    const sleeps: number[] = [];
    // Wakes 10 ms before the time asked for (as a coarse timer might).
    const early = async (d: number) => {
      sleeps.push(ms(d));
      t += d > 10 ? d - 10 : d;
    };
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, now: () => t, sleep: early });
    await bucket.take();
    await bucket.take();
    assert.equal(ms(t), 100);
    assert.deepEqual(sleeps, [100, 10]);
  });

  test("the default burst is a tenth of the rate, at least 1", async () => {
    const clock = fakeClock();
    const grantedAtOnce = async (rate: number) => {
      const bucket = new TokenBucket({ ratePerSecond: rate, now: clock.now, sleep: clock.sleep });
      const start = clock.at();
      let n = 0;
      for (;;) {
        await bucket.take();
        if (clock.at() !== start) return n;
        n += 1;
      }
    };
    assert.equal(await grantedAtOnce(80), 8);
    assert.equal(await grantedAtOnce(5), 1);
  });

  test("a failed sleep rejects its caller only; the next caller is still served", async () => {
    let t = 0;
    let fail = true;
    const sleep = async (d: number) => {
      if (fail) {
        fail = false;
        throw new Error("timer broke");
      }
      t += d;
    };
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, now: () => t, sleep });
    await bucket.take();
    const [first, second] = await Promise.allSettled([bucket.take(), bucket.take()]);
    assert.equal(first.status, "rejected");
    assert.equal(second.status, "fulfilled");
    assert.equal(ms(t), 100);
  });

  test("rejects a non-positive rate and a burst below 1", () => {
    assert.throws(() => new TokenBucket({ ratePerSecond: 0 }), /ratePerSecond must be positive/);
    assert.throws(() => new TokenBucket({ ratePerSecond: -1 }), /ratePerSecond must be positive/);
    assert.throws(() => new TokenBucket({ ratePerSecond: 10, burst: 0 }), /burst must be at least 1/);
  });
});
