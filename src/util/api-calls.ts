// Counts API calls by provider, operation and outcome. Providers record into it from one place
// (SDK middleware, the Vault HTTP client), so tests and benchmarks can assert exact call counts.

export type ApiCallKey = `${string} ${string} ${string}`;

export class ApiCallRecorder {
  private readonly counts = new Map<string, number>();

  record(provider: string, operation: string, status: string | number): void {
    const key = `${provider} ${operation} ${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Calls of one operation (all statuses unless given). */
  count(provider: string, operation?: string, status?: string | number): number {
    let total = 0;
    for (const [key, n] of this.counts) {
      const [p, op, st] = key.split(" ");
      if (p !== provider) continue;
      if (operation !== undefined && op !== operation) continue;
      if (status !== undefined && st !== String(status)) continue;
      total += n;
    }
    return total;
  }

  /** `{ "aws GetSecretValue 200": 3, ... }`, sorted, for reports and benchmarks. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Totals by `provider operation`, statuses folded. */
  byOperation(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, n] of this.counts) {
      const op = key.split(" ").slice(0, 2).join(" ");
      out[op] = (out[op] ?? 0) + n;
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts.clear();
  }
}
