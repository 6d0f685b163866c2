// A token-bucket rate limiter: at most `ratePerSecond` grants per second on average, bursts up to
// `burst`, callers served first come first served. Clock and sleep are injectable so tests
// check exact grant times without waiting.

export interface TokenBucketOptions {
  ratePerSecond: number;
  /** Grants available at once after an idle period; default max(1, floor(rate / 10)). */
  burst?: number;
  /** Milliseconds on any monotonic clock; default performance.now. */
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
  /**
   * The grant in progress. Each caller chains onto it, so only the head of the line looks at the
   * bucket: a caller that arrives while others wait can never take a token before them.
   */
  private queue: Promise<void> = Promise.resolve();
  private waited = 0;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error("ratePerSecond must be positive");
    if (options.burst !== undefined && !(options.burst >= 1)) throw new Error("burst must be at least 1");
    this.rate = options.ratePerSecond;
    this.burst = Math.max(1, options.burst ?? Math.floor(options.ratePerSecond / 10));
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** How many times a caller had to sleep for a token (0 while the rate was never reached). */
  get waits(): number {
    return this.waited;
  }

  /** Resolves when the caller may send one request. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.acquire());
    // A failed sleep rejects this caller only; the next in line still gets its turn.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      // The epsilon absorbs floating-point dust (3000 ms at 1/3 per second is 0.999... tokens).
      if (this.tokens >= 1 - 1e-9) {
        this.tokens = Math.max(0, this.tokens - 1);
        return;
      }
      this.waited += 1;
      // Loop rather than assume: a timer may fire early or late, the clock decides.
      await this.sleep(((1 - this.tokens) * 1000) / this.rate);
    }
  }
}
