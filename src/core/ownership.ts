// Ownership proven, not believed. Tags say which sync, source and path wrote a destination secret,
// but anyone allowed to tag the secret can write them. A version id cannot be set that way: a
// value written with a request token carries the token as its id. So a secret is ours to update,
// restore, untag, mark or delete only when one of the versions the destination still labels
// (current, or pushed aside by a hand edit) has an id secretbridge derives for it. The tags only
// say which token to recompute; a forged tag gives a token no version has.
import type { ResolvedMapping } from "./mapping.js";
import type { DestinationSecretMeta } from "./model.js";
import type { DestinationProfile } from "./profile.js";
import { driftRepairTokenFor, kv1RequestTokenFor, legacyRequestTokenFor, previousRequestTokenFor, requestTokenFor } from "./request-token.js";
import { DEFAULT_SOURCE_ID, KV1_VERSION_VALUE, TAG } from "./tags.js";

/** The write that proves a secret is ours. */
export interface Proof {
  /** The proving version's id: a token secretbridge derives for this secret. */
  versionId: string;
  /** It holds the current value; false when someone else's write has pushed it aside (drift). */
  current: boolean;
  /**
   * The record of other tag keys that write set (`secretbridge:tag-keys`), bound to it by its
   * token; undefined for tokens of releases that bound none (their record is not proven).
   */
  record: string | undefined;
  /**
   * Proven by a token the plan derived from the source as it is now (this path, this version),
   * not by one the tags named: the tags may be stale or edited, the value is this path's.
   */
  fromPlan: boolean;
}

/** A token this plan would write (or wrote, if a run stopped before its tags), with the record it binds. */
export interface TokenCandidate {
  token: string;
  record: string | undefined;
}

/**
 * The proof that this mapping wrote `dest`, or undefined. `planned` are tokens the plan derives
 * from the source as it is now (tried first: usually the current version's); the rest are
 * recomputed from the secret's own tags, cheapest first, and from the version ids a write
 * replaced (drift repair, KV v1).
 */
export function proveOwnership(m: ResolvedMapping, dest: DestinationSecretMeta, profile: DestinationProfile, planned: TokenCandidate[] = []): Proof | undefined {
  const { current, previous } = profile.writtenVersions(dest);
  if (current === undefined && previous.length === 0) return undefined;
  const check = ({ token, record }: TokenCandidate, fromPlan: boolean): Proof | undefined =>
    token === current ? { versionId: token, current: true, record, fromPlan } : previous.includes(token) ? { versionId: token, current: false, record, fromPlan } : undefined;
  for (const c of planned) {
    const proof = check(c, true);
    if (proof) return proof;
  }
  // Computed one at a time: the first (this release's, from the tags) proves nearly every secret.
  const bases: TokenCandidate[] = [];
  const first = thisReleaseToken(m, dest);
  if (first !== undefined) {
    const proof = check(first, false);
    if (proof) return proof;
    bases.push(first);
    for (const c of earlierTokens(m, dest)) {
      bases.push(c);
      const proof = check(c, false);
      if (proof) return proof;
    }
  }
  const replaced = [...new Set([current, ...previous, dest.tags[TAG.replacedVersion]].filter((id): id is string => id !== undefined && id !== ""))];
  for (const [fromPlan, list] of [[true, planned], [false, bases]] as const) {
    for (const base of list) {
      for (const id of replaced) {
        const proof = check({ token: driftRepairTokenFor(base.token, id), record: base.record }, fromPlan);
        if (proof) return proof;
      }
    }
  }
  return undefined;
}

/**
 * The token this release writes for what the secret's tags say (path, version, version time,
 * record of tag keys) under this mapping's identity; undefined when the tags cannot name one.
 */
function thisReleaseToken(m: ResolvedMapping, dest: DestinationSecretMeta): TokenCandidate | undefined {
  const tags = dest.tags;
  const sourcePath = tags[TAG.path];
  const versionTag = tags[TAG.sourceVersion];
  if (sourcePath === undefined || versionTag === undefined) return undefined;
  const record = tags[TAG.tagKeys] ?? "";
  if (versionTag === KV1_VERSION_VALUE) return { token: kv1RequestTokenFor({ syncName: m.syncName, source: m.source, sourcePath, destinationName: dest.name, tagKeys: record }), record };
  if (!/^[1-9]\d{0,15}$/.test(versionTag)) return undefined;
  const created = tags[TAG.sourceCreated] ?? "";
  return { token: requestTokenFor({ syncName: m.syncName, source: m.source, sourcePath, version: Number(versionTag), destinationName: dest.name, versionCreatedTime: created, tagKeys: record }), record };
}

/**
 * The other tokens secretbridge could have written the secret with: the default source id's (a
 * secret without a source-id tag was written before ids), then those of earlier releases (no
 * record; before source ids, from the recorded address).
 */
function* earlierTokens(m: ResolvedMapping, dest: DestinationSecretMeta): Generator<TokenCandidate> {
  const tags = dest.tags;
  const sourcePath = tags[TAG.path] ?? "";
  const versionTag = tags[TAG.sourceVersion] ?? "";
  const record = tags[TAG.tagKeys] ?? "";
  const common = { syncName: m.syncName, sourcePath, destinationName: dest.name };
  const untagged = tags[TAG.sourceId] === undefined;
  const defaultId = untagged && m.source.id !== DEFAULT_SOURCE_ID ? [{ ...m.source, id: DEFAULT_SOURCE_ID }] : [];
  if (versionTag === KV1_VERSION_VALUE) {
    for (const source of defaultId) yield { token: kv1RequestTokenFor({ ...common, source, tagKeys: record }), record };
    return;
  }
  const sources = [m.source, ...defaultId];
  const versioned = { ...common, version: Number(versionTag), ...(tags[TAG.sourceCreated] !== undefined ? { versionCreatedTime: tags[TAG.sourceCreated] } : {}) };
  for (const source of defaultId) yield { token: requestTokenFor({ ...versioned, source, tagKeys: record }), record };
  for (const source of sources) yield { token: previousRequestTokenFor({ ...versioned, source }), record: undefined };
  const address = tags[TAG.source];
  if (untagged && address !== undefined) yield { token: legacyRequestTokenFor({ ...versioned, source: m.source }, address), record: undefined };
}
