// The ListSecrets inventory under one prefix, sequential or in parallel partitions. The first page
// of the sequential listing is both the answer for a small estate and the sample the partitions
// are planned from, so discovery costs no extra call. Each partition pages on its own with the
// SDK paginator; the client's middleware keeps every page within the `list` rate limit.
import { ListSecretsCommand, paginateListSecrets, type ListSecretsRequest, type SecretListEntry, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import pLimit from "p-limit";
import { filtersOf, partitionOf, planPartitions, type NamePartition } from "./partitions.js";

/** ListSecrets answers at most 100 entries a page. */
const PAGE_SIZE = 100;

export type ListingMode = "partitioned" | "sequential";

/** How the last inventory was listed, for benchmarks and debugging. */
export interface ListingOutcome {
  mode: ListingMode;
  partitions: number;
  /** Why a partitioned listing fell back to the sequential one. */
  fallback?: string;
}

export interface Listed<T> {
  entries: T[];
  outcome: ListingOutcome;
}

/** What each entry becomes as its page arrives (the raw entries of 100,000 secrets are not kept). */
export type EntryMapper<T extends { name: string }> = (entry: SecretListEntry) => T;

// Secrets pending deletion are listed too: the planner must not try to recreate them.
const request = (partition: NamePartition): ListSecretsRequest => ({ IncludePlannedDeletion: true, Filters: filtersOf(partition) });

/** One entry per name, the last one listed winning (a page that shifted under a concurrent change may repeat one). */
function byName<T extends { name: string }>(entries: T[]): T[] {
  // By index, not by [name, entry] pairs: at 100,000 secrets the pairs were 100,000 arrays at the
  // end of the listing, when it holds the most.
  const at = new Map<string, number>();
  const out: T[] = [];
  for (const e of entries) {
    const i = at.get(e.name);
    if (i === undefined) at.set(e.name, out.push(e) - 1);
    else out[i] = e;
  }
  return out;
}

async function listPartition<T extends { name: string }>(client: SecretsManagerClient, map: EntryMapper<T>, partition: NamePartition, startingToken?: string): Promise<T[]> {
  const out: T[] = [];
  const pages = paginateListSecrets({ client, pageSize: PAGE_SIZE, ...(startingToken ? { startingToken } : {}) }, request(partition));
  for await (const page of pages) {
    // The name check keeps the filters from being the only guard on what belongs here.
    for (const entry of page.SecretList ?? []) if (entry.Name && partitionOf([partition], entry.Name)) out.push(map(entry));
  }
  return out;
}

/** Every secret whose name starts with `namePrefix`, one page after another. */
export async function listSequential<T extends { name: string }>(client: SecretsManagerClient, namePrefix: string, map: EntryMapper<T>): Promise<Listed<T>> {
  return { entries: byName(await listPartition(client, map, { prefix: namePrefix, exclude: [] })), outcome: { mode: "sequential", partitions: 1 } };
}

/** AWS refusing the partition filters themselves (a limit on filters lower than documented). */
const refusedFilters = (error: unknown) => ["InvalidParameterException", "ValidationException"].includes((error as { name?: string }).name ?? "");

/**
 * Every secret whose name starts with `namePrefix`, listed in parallel partitions planned from
 * the first page (`partitions.ts`). Sequential when the first page is the whole estate or shows
 * no folders (it then goes on from that page's token), and as a fallback: when AWS refuses the
 * partition filters, or when a secret the first page showed is missing from the partitions
 * (filters that do not mean what the documentation says, or a secret deleted at once meanwhile).
 */
export async function listPartitioned<T extends { name: string }>(
  client: SecretsManagerClient,
  namePrefix: string,
  map: EntryMapper<T>,
  concurrency: number,
): Promise<Listed<T>> {
  const whole: NamePartition = { prefix: namePrefix, exclude: [] };
  const first = await client.send(new ListSecretsCommand({ ...request(whole), MaxResults: PAGE_SIZE }));
  const sample = (first.SecretList ?? []).filter((e) => e.Name?.startsWith(namePrefix)).map(map);
  if (!first.NextToken) return { entries: byName(sample), outcome: { mode: "sequential", partitions: 1 } };
  const partitions = planPartitions(namePrefix, sample.map((e) => e.name));
  if (partitions.length === 1) {
    return { entries: byName([...sample, ...(await listPartition(client, map, whole, first.NextToken))]), outcome: { mode: "sequential", partitions: 1 } };
  }
  const limit = pLimit(Math.max(1, concurrency));
  let lists: T[][];
  try {
    lists = await Promise.all(partitions.map((p) => limit(() => listPartition(client, map, p))));
  } catch (error) {
    if (!refusedFilters(error)) throw error;
    limit.clearQueue();
    return fallback(client, namePrefix, map, `ListSecrets refused the partition filters (${(error as Error).name})`);
  }
  const entries = byName(lists.flat());
  lists = [];
  const shown = new Set(sample.map((e) => e.name));
  for (const e of entries) shown.delete(e.name);
  const missing = shown.size;
  if (missing > 0) return fallback(client, namePrefix, map, `${missing} secret(s) of the first page missing from the partitions`);
  return { entries, outcome: { mode: "partitioned", partitions: partitions.length } };
}

async function fallback<T extends { name: string }>(client: SecretsManagerClient, namePrefix: string, map: EntryMapper<T>, reason: string): Promise<Listed<T>> {
  const { entries } = await listSequential(client, namePrefix, map);
  return { entries, outcome: { mode: "sequential", partitions: 1, fallback: reason } };
}
