// ABAC tag rules: the tags a destination secret must carry for access control (owner, application,
// environment, data classification), each from a custom_metadata key or a static value, and which
// of them are immutable (set on create, never rewritten: consumers' access depends on them).
// One function decides what a secret gets and lacks, for the planner and for reports alike.

/** Where a required tag's value comes from. */
export type RequiredTagSource = { fromMetadata: string } | { value: string };

export type MissingTagPolicy = "fail" | "warn";

export interface TagRules {
  /** Tag key -> where its value comes from. */
  required: Readonly<Record<string, RequiredTagSource>>;
  /** A required tag without a value: the secret is not written (`fail`), or written without it (`warn`). */
  onMissing: MissingTagPolicy;
  /** Tag keys set on create and never rewritten; a destination secret that has one keeps its value. */
  immutable: readonly string[];
}

export const NO_TAG_RULES: TagRules = { required: {}, onMissing: "fail", immutable: [] };

/** A required tag with no value, and why (for messages). */
export interface MissingTag {
  key: string;
  why: string;
}

/** An immutable tag the destination keeps although the source would now give it another value. */
export interface KeptTag {
  key: string;
  kept: string;
  wanted: string;
}

export interface RuleTags {
  /** The rule tags the secret gets: required values, immutable ones as the destination has them. */
  tags: Record<string, string>;
  /** Required tags it lacks (no value in the source, and none kept on the destination). */
  missing: MissingTag[];
  /** Immutable tags whose kept value differs from what the source now says. */
  kept: KeptTag[];
}

/**
 * The rule tags of one secret from its custom_metadata and, for an existing destination secret,
 * its current tags (an immutable tag it has is kept as it is). An empty value counts as missing:
 * an ABAC condition cannot match it.
 */
export function ruleTagsOf(rules: TagRules, customMetadata: Readonly<Record<string, string>> | undefined, existing?: Readonly<Record<string, string>>): RuleTags {
  const tags = Object.create(null) as Record<string, string>;
  const missing: MissingTag[] = [];
  const kept: KeptTag[] = [];
  const immutable = new Set(rules.immutable);
  for (const key of Object.keys(rules.required).sort()) {
    const from = rules.required[key] as RequiredTagSource;
    const wanted = "value" in from ? from.value : customMetadata !== undefined && Object.hasOwn(customMetadata, from.fromMetadata) ? customMetadata[from.fromMetadata] : undefined;
    const has = existing !== undefined && immutable.has(key) && Object.hasOwn(existing, key) ? existing[key] : undefined;
    if (has !== undefined) {
      tags[key] = has;
      // A value gone from the source is no new value: nothing to report.
      if (wanted !== undefined && wanted !== "" && wanted !== has) kept.push({ key, kept: has, wanted });
      continue;
    }
    if (wanted === undefined || wanted === "") {
      missing.push({ key, why: "value" in from ? "its static value is empty" : `custom_metadata key ${JSON.stringify(from.fromMetadata)} is not set` });
      continue;
    }
    tags[key] = wanted;
  }
  return { tags, missing, kept };
}

/** Whether a tag key is immutable under these rules: set on create, never rewritten, never removed. */
export function isImmutableTag(rules: TagRules, key: string): boolean {
  return rules.immutable.includes(key);
}

/** One line naming the missing tags and why, for a failure or a warning. */
export function missingTagsText(missing: readonly MissingTag[]): string {
  return `required tags missing: ${missing.map((m) => `${m.key} (${m.why})`).join(", ")}`;
}
