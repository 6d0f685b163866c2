// How far V8 lets a secretbridge process's heap grow past its live data. V8 collects the old
// generation when it has grown by a factor over what the last full collection kept; with a heap
// limit of 1 GB or more (Node's default on a machine with 4 GB of memory or more) that factor goes
// up to 4. A sync of 100,000 secrets keeps about 120 MB live (both listings and the plan), so its
// heap grew to 400 MB and more before a collection, and the process peaked at 400-600 MB RSS.
// Bounding the growth, not the size: the heap stays within a fifth of its live data, for some
// more collections (docs/performance.md, "Memory at 100,000"), and a larger inventory still gets
// the heap it needs, where a --max-old-space-size set for 100,000 secrets ends a run of 150,000
// out of memory.
import { setFlagsFromString } from "node:v8";

/** The old generation may grow by this much (percent) over the live data before a full collection. */
export const HEAP_GROWING_PERCENT = 20;

/**
 * The V8 flag this process takes, or undefined when the operator gave the node process its own
 * (`node --heap-growing-percent=N`): theirs stands. NODE_OPTIONS cannot carry this V8 flag.
 */
export function heapGrowthFlag(execArgv: readonly string[]): string | undefined {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return undefined;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/**
 * Bounds this process's heap growth (`heapGrowthFlag`). Called first by each entry point (the
 * CLI's bin, the Lambda bundle): V8 reads the factor each time it sets the next collection's
 * limit, so it applies from the next collection on. It sets no limit.
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  const flag = heapGrowthFlag(execArgv);
  if (flag !== undefined) setFlagsFromString(flag);
}
