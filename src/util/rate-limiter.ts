// A token-bucket rate limiter: at most `ratePerSecond` grants per second on average, bursts up to
// `burst`, callers served first come first served. Clock and sleep are injectable so tests
// check exact grant times without waiting.

export interface TokenBucketOptions {
  ratePerSecond: number;
  /** Grants available at once after an idle period; default max(1, rate / 10). */
  burst?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class TokenBucket {
  private readonly rate: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tokens: number;
  private last: number;
  /** Serialises waiters so grants are FIFO. */
  private queue: Promise<void> = Promise.resolve();
  waits = 0;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error("ratePerSecond must be positive");
    this.rate = options.ratePerSecond;
    this.burst = Math.max(1, options.burst ?? Math.floor(options.ratePerSecond / 10));
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.acquire());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      this.waits += 1;
      await this.sleep(((1 - this.tokens) * 1000) / this.rate);
    }
  }
}
