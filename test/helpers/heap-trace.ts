// V8's own account of the heap growth factor a process runs with: with these flags every
// collection is a full one, and after each V8 prints the next limit and the factor it was
// computed with ("[HeapController] Limit: ... (1.2)").
export const HEAP_TRACE_FLAGS = ["--trace-gc-verbose", "--gc-global"];

/** The factors of every old-generation limit V8 set, in order (as printed, one decimal). */
export function heapGrowthFactors(trace: string): string[] {
  return [...trace.matchAll(/\[HeapController\] Limit: .*\(([\d.]+)\)$/gm)].map((m) => m[1] ?? "");
}
