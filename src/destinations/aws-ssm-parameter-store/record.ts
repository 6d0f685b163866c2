// The record a value write leaves in the parameter's description, in the same PutParameter call
// as the value: the write's token, the Parameter Store version it was to become, and the tags
// written with it. DescribeParameters returns descriptions, so a whole inventory (ownership,
// source version, drift) costs one paged listing and no per-parameter call. Never a value.

/** AWS: a description is at most 1,024 characters. */
export const MAX_DESCRIPTION = 1024;
const MARK = "secretbridge ";

export interface WriteRecord {
  /** The write's derived token. */
  token: string;
  /** The parameter version this write was expected to become. */
  version: number;
  /** The tags written with it; absent when they did not fit (then they are listed per parameter). */
  tags?: Record<string, string>;
}

export function encodeRecord(record: WriteRecord): string {
  const full = MARK + JSON.stringify({ t: record.token, v: record.version, tags: record.tags ?? {} });
  return full.length <= MAX_DESCRIPTION ? full : MARK + JSON.stringify({ t: record.token, v: record.version });
}

/** The record in a description, or undefined when there is none (not ours, hand-written, malformed). */
export function decodeRecord(description: string | undefined): WriteRecord | undefined {
  if (!description?.startsWith(MARK)) return undefined;
  try {
    const parsed = JSON.parse(description.slice(MARK.length)) as { t?: unknown; v?: unknown; tags?: unknown };
    if (typeof parsed.t !== "string" || typeof parsed.v !== "number") return undefined;
    const tags = parsed.tags;
    const validTags =
      typeof tags === "object" && tags !== null && !Array.isArray(tags) && Object.values(tags).every((v) => typeof v === "string") ? (tags as Record<string, string>) : undefined;
    return { token: parsed.t, version: parsed.v, ...(validTags ? { tags: validTags } : {}) };
  } catch {
    return undefined;
  }
}
