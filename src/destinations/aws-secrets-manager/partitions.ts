// How a ListSecrets inventory under one prefix is cut into disjoint name-prefix partitions that
// can be listed in parallel. Pure: it plans from the names of one sampled page (the first page of
// the listing, which is paid for anyway) and never needs the sample to be complete. Every name
// under the prefix falls in exactly one partition: a partition is a prefix minus the prefixes cut
// off it, and the cut-off prefixes are themselves partitions.
import type { Filter } from "@aws-sdk/client-secrets-manager";

/** The names that start with `prefix` and with none of `exclude`. */
export interface NamePartition {
  prefix: string;
  exclude: string[];
}

/**
 * ListSecrets takes at most ten filters, ANDed; a value of a `name` filter is a case-sensitive
 * prefix, negated by a leading `!`, at most 512 characters. A partition is one positive filter
 * and one negated filter per exclusion, so at most nine folders are cut off any one prefix.
 */
const MAX_EXCLUDED = 9;
const MAX_FILTER_VALUE = 512;
/** A folder seen once in the sample is small: listing it apart costs a call for a few secrets. */
const MIN_SAMPLED = 2;
/** A folder with more than this share of the sample is split by its own subfolders. */
const SPLIT_SHARE = 0.25;

/** The folders just below `prefix` that the names show (`prefix` + segment + "/"), with their names. */
function foldersBelow(prefix: string, names: string[]): Map<string, string[]> {
  const folders = new Map<string, string[]>();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const slash = name.indexOf("/", prefix.length);
    if (slash < 0) continue;
    const folder = name.slice(0, slash + 1);
    const list = folders.get(folder);
    if (list) list.push(name);
    else folders.set(folder, [name]);
  }
  return folders;
}

function split(prefix: string, names: string[], sampleSize: number, nested = false): NamePartition[] {
  const cut = [...foldersBelow(prefix, names)]
    .filter(([folder, inside]) => inside.length >= MIN_SAMPLED && folder.length + 1 <= MAX_FILTER_VALUE)
    .sort(([a, x], [b, y]) => y.length - x.length || (a < b ? -1 : 1))
    .slice(0, MAX_EXCLUDED)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  // Cutting a large folder's only subfolder off it would add a call and balance nothing.
  if (cut.length === 0 || (nested && cut.length < 2)) return [{ prefix, exclude: [] }];
  const parts: NamePartition[] = [];
  for (const [folder, inside] of cut) {
    const large = inside.length > sampleSize * SPLIT_SHARE;
    parts.push(...(large ? split(folder, inside, sampleSize, true) : [{ prefix: folder, exclude: [] }]));
  }
  parts.push({ prefix, exclude: cut.map(([folder]) => folder) });
  return parts;
}

/**
 * The partitions of the names under `prefix`, from a sample of them: one per folder the sample
 * shows at least twice (the nine largest), a folder holding more than a quarter of the sample
 * split the same way when it shows two subfolders or more, and for each prefix a remainder that holds everything not cut off it
 * (names directly under it, folders the sample missed). One partition means: list sequentially.
 */
export function planPartitions(prefix: string, sample: string[]): NamePartition[] {
  return split(prefix, sample, sample.length);
}

/** The ListSecrets filters that select exactly one partition's names. */
export function filtersOf(partition: NamePartition): Filter[] {
  return [{ Key: "name", Values: [partition.prefix] }, ...partition.exclude.map((folder) => ({ Key: "name" as const, Values: [`!${folder}`] }))];
}

/** The partition a name belongs to, if any: the check that keeps the filters from being the only guard. */
export function partitionOf(partitions: NamePartition[], name: string): NamePartition | undefined {
  return partitions.find((p) => name.startsWith(p.prefix) && !p.exclude.some((folder) => name.startsWith(folder)));
}
