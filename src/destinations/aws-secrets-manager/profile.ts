// AWS Secrets Manager's rules, as the planner consults them: names, value size, tags, the
// secrets that are not ours to write (managed by another AWS service, rotated by AWS), and how
// ownership is encoded: a version written with a ClientRequestToken has the token as its id.
import type { DestinationSecretMeta } from "../../core/model.js";
import type { DestinationProfile } from "../../core/profile.js";
import type { RenderedValue } from "../../core/value.js";
import { createData, deletionOf, settingTags, settingUpdates } from "./settings.js";

export const MAX_NAME_LENGTH = 512;
export const MAX_SECRET_BYTES = 65_536;
export const MAX_TAGS = 50;
export const MAX_TAG_KEY = 127;
export const MAX_TAG_VALUE = 255;
const NAME_CHARSET = /^[A-Za-z0-9/_+=.@-]+$/;
const TAG_CHARSET = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "the name is empty";
  if (name.length > MAX_NAME_LENGTH) {
    return `the name is ${name.length} characters; AWS allows at most ${MAX_NAME_LENGTH}: shorten the source path or the prefix`;
  }
  if (!NAME_CHARSET.test(name)) {
    const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9/_+=.@-]/.test(c)))]
      .map((c) => JSON.stringify(c))
      .join(" ");
    return `the name contains characters AWS does not allow (${bad}); allowed: A-Z a-z 0-9 / _ + = . @ -: rename the source secret`;
  }
  return undefined;
}

function valueProblem(value: RenderedValue): string | undefined {
  const bytes = "secretString" in value ? Buffer.byteLength(value.secretString, "utf8") : value.secretBinary.byteLength;
  if (bytes <= MAX_SECRET_BYTES) return undefined;
  const what = "secretString" in value ? "the value is" : "the binary value is";
  return `${what} ${bytes} bytes${"secretString" in value ? " as JSON" : ""}; AWS Secrets Manager allows at most ${MAX_SECRET_BYTES}: split the secret in the source`;
}

/** Keys already found valid: the same few keys are checked for every secret of a run. */
const validKeys = new Set<string>();

function keyProblems(key: string): string[] {
  if (validKeys.has(key)) return [];
  const problems: string[] = [];
  if (key.length > MAX_TAG_KEY) problems.push(`tag key ${JSON.stringify(key.slice(0, 40))}... is longer than ${MAX_TAG_KEY} characters`);
  if (key.toLowerCase().startsWith("aws:")) problems.push(`tag key ${key} uses the reserved aws: prefix`);
  if (!TAG_CHARSET.test(key)) problems.push(`tag key ${JSON.stringify(key)} has characters AWS does not allow in tags`);
  if (problems.length === 0 && validKeys.size < 10_000) validKeys.add(key);
  return problems;
}

function tagProblems(tags: Record<string, string>): string[] {
  const problems: string[] = [];
  const keys = Object.keys(tags);
  if (keys.length > MAX_TAGS) problems.push(`${keys.length} tags; AWS allows at most ${MAX_TAGS} per secret`);
  for (const [key, value] of Object.entries(tags)) {
    problems.push(...keyProblems(key));
    if (value.length > MAX_TAG_VALUE) problems.push(`tag ${key} would be ${value.length} characters; AWS allows at most ${MAX_TAG_VALUE}`);
    if (!TAG_CHARSET.test(value)) problems.push(`tag ${key} has characters AWS does not allow in tag values (letters, digits, spaces and _ . : / = + - @)`);
  }
  return problems;
}

/** What a Secrets Manager listing says beyond the shared fields (`DestinationSecretMeta.provider`). */
export type SecretsManagerListingData = { rotationEnabled?: boolean; owningService?: string };

function notWritable(secret: DestinationSecretMeta): string | undefined {
  const listed = (secret.provider ?? {}) as SecretsManagerListingData;
  if (listed.owningService || secret.name.split("/").some((segment) => segment.startsWith("rds!"))) {
    return `${secret.name} is managed by ${listed.owningService ?? "an AWS service"}; secretbridge never writes it: change the prefix or the source path`;
  }
  if (listed.rotationEnabled) {
    return `${secret.name} has rotation enabled in AWS Secrets Manager; two writers would fight: turn rotation off or exclude this secret`;
  }
  return undefined;
}

/**
 * AWSCURRENT holds what readers get; AWSPREVIOUS the version before it, so after a hand edit our
 * last write is still there to prove the secret is ours (older versions lose their labels).
 */
function writtenVersions(secret: DestinationSecretMeta): { current?: string; previous: string[] } {
  // A listing that shows only the current version (nearly every secret) gives just its id.
  if (secret.versionStages === undefined) return { ...(secret.currentVersionId !== undefined ? { current: secret.currentVersionId } : {}), previous: [] };
  // Asked several times per secret and run (planner, proofs): answered once per listed entry.
  const known = labelled.get(secret);
  if (known) return known;
  let current: string | undefined;
  const previous: string[] = [];
  for (const id in secret.versionStages) {
    const stages = secret.versionStages[id] ?? [];
    if (stages.includes("AWSCURRENT")) current = id;
    else if (stages.includes("AWSPREVIOUS")) previous.push(id);
  }
  const answer = { ...(current !== undefined ? { current } : {}), previous };
  labelled.set(secret, answer);
  return answer;
}
const labelled = new WeakMap<DestinationSecretMeta, { current?: string; previous: string[] }>();

export const awsSecretsManagerProfile: DestinationProfile = {
  kind: "aws-secrets-manager",
  nameProblem,
  valueProblem,
  maxTags: MAX_TAGS,
  maxTagValueLength: MAX_TAG_VALUE,
  tagProblems,
  pendingDeletionHint: "restore it (aws secretsmanager restore-secret) or let it be purged",
  notWritable,
  writtenVersions,
  settingTags,
  createData,
  settingUpdates,
  deletionStrategies: ["retain", "tag", "delete"],
  deletionOf,
};
