// The propagation lag of the last hour, minute by minute, for the status page's chart. The
// histogram answers Prometheus; this answers a page that has no Prometheus behind it. Bounded by
// minutes (61 at most), however many writes a minute brings.
const MINUTE_MS = 60_000;
const KEPT_MS = 60 * MINUTE_MS;

export interface LagMinute {
  /** The minute's start (ISO). */
  at: string;
  /** Writes observed in it. */
  count: number;
  /** Seconds. */
  mean: number;
  max: number;
}

export class LagHistory {
  /** Oldest first; one entry per minute that saw a write. */
  private readonly buckets: { start: number; count: number; sum: number; max: number }[] = [];

  record(atMs: number, seconds: number): void {
    const start = Math.floor(atMs / MINUTE_MS) * MINUTE_MS;
    let last = this.buckets.at(-1);
    if (!last || last.start < start) {
      last = { start, count: 0, sum: 0, max: 0 };
      this.buckets.push(last);
    } else if (last.start > start) {
      return; // from before the newest minute (a clock step back): not worth reordering for
    }
    last.count += 1;
    last.sum += seconds;
    last.max = Math.max(last.max, seconds);
    this.prune(atMs);
  }

  /** The minutes that began within the last hour, oldest first. */
  minutes(nowMs: number): LagMinute[] {
    this.prune(nowMs);
    return this.buckets.map((b) => ({ at: new Date(b.start).toISOString(), count: b.count, mean: round(b.sum / b.count), max: round(b.max) }));
  }

  private prune(nowMs: number): void {
    while (this.buckets.length && (this.buckets[0]?.start ?? 0) <= nowMs - KEPT_MS) this.buckets.shift();
  }
}

/** Milliseconds are as fine as a chart (or an operator) needs. */
const round = (seconds: number) => Math.round(seconds * 1000) / 1000;
