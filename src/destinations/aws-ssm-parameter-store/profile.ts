// Parameter Store's rules, as the planner consults them: names (characters, length, at most 15
// levels, no reserved first segment), value size by tier, tags, and how ownership is encoded: the
// description a value write sets names its token and the version it became (see record.ts).
import type { DestinationSecretMeta } from "../../core/model.js";
import type { DestinationProfile } from "../../core/profile.js";
import type { RenderedValue } from "../../core/value.js";

/** AWS: a parameter name you create is at most 1,011 characters, the leading `/` included. */
export const MAX_NAME_LENGTH = 1011;
/** Levels of hierarchy (segments between slashes). moto does not enforce it; this profile does. */
export const MAX_LEVELS = 15;
/** Standard tier, bytes. moto does not enforce it; this profile does. */
export const STANDARD_MAX_BYTES = 4096;
/** Advanced tier (billed per parameter and month), bytes. */
export const ADVANCED_MAX_BYTES = 8192;
export const MAX_TAGS = 50;
export const MAX_TAG_KEY = 128;
export const MAX_TAG_VALUE = 256;
const NAME_CHARSET = /^[A-Za-z0-9_.\-/]+$/;
const TAG_CHARSET = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** standard: 4 KB, free. advanced: 8 KB, billed. auto: standard unless the value needs advanced. */
export type Tier = "standard" | "advanced" | "auto";

/** The parameter a destination name is written to: Parameter Store names in a hierarchy start with `/`. */
export const parameterNameOf = (name: string): string => `/${name}`;

function nameProblem(name: string): string | undefined {
  const full = parameterNameOf(name);
  if (name.length === 0) return "the name is empty";
  if (full.length > MAX_NAME_LENGTH) {
    return `the parameter name ${full.slice(0, 40)}... is ${full.length} characters; Parameter Store allows at most ${MAX_NAME_LENGTH}: shorten the source path or the prefix`;
  }
  if (!NAME_CHARSET.test(name)) {
    const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9_.\-/]/.test(c)))].map((c) => JSON.stringify(c)).join(" ");
    return `the name contains characters Parameter Store does not allow (${bad}); allowed: A-Z a-z 0-9 _ . - /: rename the source secret`;
  }
  const levels = name.split("/").length;
  if (levels > MAX_LEVELS) {
    return `the parameter name ${full} has ${levels} levels; Parameter Store allows at most ${MAX_LEVELS}: use a shorter path or a name template with fewer levels`;
  }
  if (/^(aws|ssm)/i.test(name)) return `the parameter name ${full} starts with "aws" or "ssm", which Parameter Store reserves: change the prefix`;
  return undefined;
}

/** The tier a value is written with; undefined when it fits in none the setting allows. */
export function tierFor(bytes: number, tier: Tier): "Standard" | "Advanced" | undefined {
  if (tier === "standard") return bytes <= STANDARD_MAX_BYTES ? "Standard" : undefined;
  if (bytes > ADVANCED_MAX_BYTES) return undefined;
  return tier === "advanced" || bytes > STANDARD_MAX_BYTES ? "Advanced" : "Standard";
}

function valueProblemFor(tier: Tier) {
  return (value: RenderedValue): string | undefined => {
    if (!("secretString" in value)) return "the value is binary; Parameter Store holds text only: use value shape json or a text key";
    const bytes = Buffer.byteLength(value.secretString, "utf8");
    if (tierFor(bytes, tier) !== undefined) return undefined;
    if (tier === "standard" && bytes <= ADVANCED_MAX_BYTES) {
      return `the value is ${bytes} bytes; the standard tier allows at most ${STANDARD_MAX_BYTES}: set destination.tier to advanced or auto (advanced parameters are billed), or split the secret in the source`;
    }
    return `the value is ${bytes} bytes; Parameter Store allows at most ${ADVANCED_MAX_BYTES} (advanced tier): split the secret in the source`;
  };
}

/** auto only: a value over the standard tier's limit makes the parameter advanced, which AWS bills. */
function autoTierWarnings(value: RenderedValue): string[] {
  if (!("secretString" in value)) return [];
  const bytes = Buffer.byteLength(value.secretString, "utf8");
  if (tierFor(bytes, "auto") !== "Advanced") return [];
  return [`advanced tier: billed per parameter per month (the value is ${bytes} bytes, over the standard tier's ${STANDARD_MAX_BYTES}; tier: auto)`];
}

function tagProblems(tags: Record<string, string>): string[] {
  const problems: string[] = [];
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS) problems.push(`${keys.length} tags; Parameter Store allows at most ${MAX_TAGS} per parameter`);
  for (const [key, value] of Object.entries(tags)) {
    if (key.length > MAX_TAG_KEY) problems.push(`tag key ${JSON.stringify(key.slice(0, 40))}... is longer than ${MAX_TAG_KEY} characters`);
    if (key.toLowerCase().startsWith("aws:")) problems.push(`tag key ${key} uses the reserved aws: prefix`);
    if (!TAG_CHARSET.test(key)) problems.push(`tag key ${JSON.stringify(key)} has characters AWS does not allow in tags`);
    if (value.length > MAX_TAG_VALUE) problems.push(`tag ${key} would be ${value.length} characters; AWS allows at most ${MAX_TAG_VALUE}`);
    if (!TAG_CHARSET.test(value)) problems.push(`tag ${key} has characters AWS does not allow in tag values (letters, digits, spaces and _ . : / = + - @)`);
  }
  return problems;
}

/** The stage the inventory gives a version of ours that a later hand write pushed aside. */
export const PREVIOUS = "previous";

/**
 * The current version's id is the token its description records when the description was written
 * with that very version; any other version (a hand edit) gets an id no token can match, and the
 * recorded token is then an earlier version of ours, still in the parameter's history.
 */
function writtenVersions(secret: DestinationSecretMeta): { current?: string; previous: string[] } {
  const previous = Object.entries(secret.versionStages ?? {})
    .filter(([, stages]) => stages.includes(PREVIOUS))
    .map(([id]) => id);
  return { ...(secret.currentVersionId !== undefined ? { current: secret.currentVersionId } : {}), previous };
}

export function parameterStoreProfile(tier: Tier = "standard"): DestinationProfile {
  return {
    kind: "aws-ssm-parameter-store",
    nameProblem,
    valueProblem: valueProblemFor(tier),
    // Only auto picks the tier per value; advanced was chosen (and its cost accepted) in the config.
    ...(tier === "auto" ? { writeWarnings: autoTierWarnings } : {}),
    maxTags: MAX_TAGS,
    maxTagValueLength: MAX_TAG_VALUE,
    tagProblems,
    // Parameter Store deletes at once: nothing is ever pending.
    pendingDeletionHint: "Parameter Store has no recovery window; a deleted parameter is gone",
    notWritable: () => undefined,
    writtenVersions,
    // No provider settings yet beyond the tier and key, which the destination holds: nothing to
    // record in tags, nothing a create or an update carries.
    settingTags: () => ({}),
    createData: () => ({}),
    settingUpdates: () => [],
    // No orphan mark: the listing carries no tags, so a mark could not be seen or undone cheaply.
    deletionStrategies: ["retain", "delete"],
    // Every deletion is at once: Parameter Store has no recovery window (docs/parameter-store.md says so loudly).
    deletionOf: () => ({ describe: "deleted at once (Parameter Store has no recovery window)", immediate: true, provider: {} }),
  };
}
