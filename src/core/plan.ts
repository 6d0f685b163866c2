// The planner: a pure function from the two inventories, the settings and the lifecycle policies
// to a list of actions with reasons. No I/O, so `plan` can print it and tests can assert it
// without servers.
import { createHash } from "node:crypto";
import type { DestinationInventory, DestinationSecretMeta, Plan, PlannedAction, SourceInventory, SourceSecretMeta } from "./model.js";
import { DEFAULT_KEY_NAME_TEMPLATE, destinationNameFor, nameProblem } from "./naming.js";
import { DEFAULT_POLICIES, type LifecyclePolicies } from "./policies.js";
import { scopeMatcher, type ScopeRules } from "./scope.js";
import type { ValueShape } from "./value.js";
import { driftRepairTokenFor, requestTokenFor } from "./request-token.js";
import { changedTagKeys, desiredTags, ownershipOf, TAG, tagProblems, withCustomMetadata, type SourceRef } from "./tags.js";

export interface PlanSettings {
  syncName: string;
  source: SourceRef;
  prefix: string;
  /** Sub-path of the mount this sync covers; secrets of ours outside it are not its business. */
  subPath?: string;
  /** Tags every replicated secret carries besides ours (e.g. team, environment). */
  staticTags?: Record<string, string>;
  policies?: LifecyclePolicies;
  /** Lift the blast-radius guard for this run only. */
  forceDeletions?: boolean;
  /** Include / exclude globs over the path relative to the mount. */
  scope?: ScopeRules;
  /** Copy the source's custom_metadata into tags. */
  copyCustomMetadata?: boolean;
  /** Replica Regions every replicated secret must have. */
  replicaRegions?: { region: string; kmsKeyId?: string }[];
  /** Destination name template (see naming.ts); default `{prefix}/{path}`. */
  nameTemplate?: string;
  /** Resource policy (JSON text) every replicated secret carries (central-account pattern). */
  resourcePolicy?: string;
  /** How the KV map becomes the value; default the whole map as JSON. */
  valueShape?: ValueShape;
  /** secret (default): one destination secret per source secret; key: one per key. */
  granularity?: "secret" | "key";
  /**
   * The inventories cover only some paths (a push trigger): nothing can be concluded about
   * absences, so nothing is deleted or marked; the next full run does that.
   */
  targeted?: boolean;
}

/** Destination secrets of ours written from one source path, per key (granularity key). */
export function keySecretsOf(destination: DestinationInventory, settings: PlanSettings, path: string): DestinationSecretMeta[] {
  return destination.secrets.filter(
    (d) => ownershipOf(d.tags, settings.syncName) === "ours" && d.tags[TAG.mount] === settings.source.mount && d.tags[TAG.path] === path && d.tags[TAG.key] !== undefined,
  );
}

/** A short, stable hash of a resource policy's text, kept in a tag to notice changes. */
export function policyHash(policy: string): string {
  return createHash("sha256").update(policy).digest("hex").slice(0, 16);
}

function isServiceManaged(dest: DestinationSecretMeta): boolean {
  return Boolean(dest.owningService) || dest.name.split("/").some((segment) => segment.startsWith("rds!"));
}

const byPath = (a: { sourcePath: string }, b: { sourcePath: string }) => (a.sourcePath < b.sourcePath ? -1 : a.sourcePath > b.sourcePath ? 1 : 0);

export function planSync(fullSource: SourceInventory, destination: DestinationInventory, settings: PlanSettings): Plan {
  const policies = settings.policies ?? DEFAULT_POLICIES;
  const inScope = scopeMatcher(settings.scope ?? {});
  const source = { ...fullSource, secrets: fullSource.secrets.filter((s) => inScope(s.path)) };
  const byName = new Map(destination.secrets.map((s) => [s.name, s]));
  const claimedBy = new Map<string, string>();
  const actions: PlannedAction[] = [];
  const present = new Set<string>();

  const sorted = [...source.secrets].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const secret of sorted) {
    // One secret per key: the keys of a changed version were read; an unchanged one keeps the
    // keys it already has in the destination.
    const keys =
      settings.granularity === "key" && secret.state === "present"
        ? (secret.keys ?? keySecretsOf(destination, settings, secret.path).map((d) => d.tags[TAG.key] ?? "")).sort()
        : [undefined];
    for (const key of keys) {
      const action = planOne(secret, byName, claimedBy, settings, policies, key);
      if (action.type !== "skip" || secret.state === "present") present.add(action.destinationName);
      actions.push(action);
    }
  }

  if (!settings.targeted) actions.push(...planAbsences(source, destination, present, settings, policies));
  actions.sort(byPath);
  return { syncName: settings.syncName, sourceMethod: source.method, actions, problems: source.problems };
}

function planOne(
  secret: SourceSecretMeta,
  byName: Map<string, DestinationSecretMeta>,
  claimedBy: Map<string, string>,
  settings: PlanSettings,
  policies: LifecyclePolicies,
  key?: string,
): PlannedAction {
  const template = settings.nameTemplate ?? (settings.granularity === "key" ? DEFAULT_KEY_NAME_TEMPLATE : undefined);
  const name = destinationNameFor(settings.prefix, secret.path, template, settings.source.mount, key ?? "");
  const base = { sourcePath: secret.path, destinationName: name, sourceVersion: secret.version, ...(key !== undefined ? { key } : {}) };
  const skip = (reason: string, failure?: PlannedAction["failure"]): PlannedAction => ({ ...base, type: "skip", reason, ...(failure ? { failure } : {}) });
  const conflict = (reason: string, failure: NonNullable<PlannedAction["failure"]>): PlannedAction => ({ ...base, type: "conflict", reason, failure });

  const badName = nameProblem(name);
  if (badName) return skip("invalid destination name", { errorClass: "invalid-name", message: `${secret.path}: ${badName}` });
  const previousClaim = claimedBy.get(name);
  if (previousClaim !== undefined) {
    return skip("name collision", {
      errorClass: "invalid-name",
      message: `${secret.path}${key !== undefined ? ` (key ${key})` : ""} and ${previousClaim} both map to ${name}: rename one of them in the source`,
    });
  }
  claimedBy.set(name, key !== undefined ? `${secret.path} (key ${key})` : secret.path);

  // A deleted or destroyed current version is an absence: handled with the other absences.
  if (secret.state !== "present") return skip(`current version ${secret.version ?? ""} is ${secret.state} in the source`.replace("  ", " "));

  const replicas = [...(settings.replicaRegions ?? [])].sort((a, b) => (a.region < b.region ? -1 : 1));
  const ownTags = desiredTags(settings.syncName, settings.source, secret.path, secret.version, settings.staticTags, secret.versionCreatedTime);
  if (replicas.length > 0) ownTags[TAG.replicas] = replicas.map((r) => r.region).join(",");
  if (settings.resourcePolicy) ownTags[TAG.resourcePolicy] = policyHash(settings.resourcePolicy);
  if (key !== undefined) ownTags[TAG.key] = key;
  const { tags, dropped } = settings.copyCustomMetadata ? withCustomMetadata(ownTags, secret.customMetadata) : { tags: ownTags, dropped: [] };
  const warnings = dropped.length
    ? { warnings: [`${secret.path}: custom_metadata not copied to tags (AWS limits: 50 tags, keys 127 and values 255 characters, reserved prefixes): ${dropped.join(", ")}`] }
    : {};
  const badTags = tagProblems(tags);
  if (badTags.length > 0) return skip("tags AWS would reject", { errorClass: "invalid-tags", message: `${secret.path}: ${badTags.join("; ")}` });
  const requestToken =
    secret.version === null ? undefined : requestTokenFor(settings.syncName, settings.source, secret.path, secret.version, name, secret.versionCreatedTime);
  const write = { tags, ...(requestToken ? { requestToken } : {}), ...warnings };

  const dest = byName.get(name);
  if (!dest) {
    return {
      ...base,
      ...write,
      ...(replicas.length ? { replicas } : {}),
      ...(settings.resourcePolicy ? { changes: ["policy"] as NonNullable<PlannedAction["changes"]> } : {}),
      type: "create",
      reason: "not in the destination yet",
    };
  }
  const destinationVersion = dest.tags[TAG.sourceVersion];
  const withDest = { ...base, ...(destinationVersion !== undefined ? { destinationVersion } : {}) };
  const owner = ownershipOf(dest.tags, settings.syncName);

  if (dest.deletedDate) {
    if (owner === "ours") {
      return { ...withDest, ...write, type: "restore", reason: "the source secret is back: restore it from its recovery window", changes: ["value", "tags"], untag: [TAG.orphanedAt] };
    }
    return conflict("scheduled for deletion in AWS", {
      errorClass: "pending-deletion",
      message: `${name} is scheduled for deletion in AWS Secrets Manager: restore it (aws secretsmanager restore-secret) or let it be purged, then sync again`,
    });
  }
  if (isServiceManaged(dest)) {
    return conflict("managed by an AWS service", {
      errorClass: "not-writable",
      message: `${name} is managed by ${dest.owningService ?? "an AWS service"}; secretbridge never writes it: change the prefix or the source path`,
    });
  }
  if (owner === "other-sync") {
    return conflict("managed by another sync", {
      errorClass: "conflict-other-sync",
      message: `${name} is managed by sync "${dest.tags[TAG.sync]}", not "${settings.syncName}"; it is left untouched: make the prefixes of the two syncs disjoint`,
    });
  }
  if (dest.rotationEnabled) {
    return conflict("rotation is enabled in AWS", {
      errorClass: "not-writable",
      message: `${name} has rotation enabled in AWS Secrets Manager; two writers would fight: turn rotation off or exclude this secret`,
    });
  }
  if (owner === "unmanaged") return planUnmanaged(secret, dest, withDest, write, policies.onConflict, settings);

  if (dest.tags[TAG.orphanedAt] !== undefined) {
    return { ...withDest, ...write, type: "update", reason: "the source secret is back: clear the orphan mark", changes: ["value", "tags"], untag: [TAG.orphanedAt] };
  }
  const recreated =
    secret.version !== null &&
    secret.versionCreatedTime !== undefined &&
    dest.tags[TAG.sourceCreated] !== undefined &&
    dest.tags[TAG.sourceCreated] !== secret.versionCreatedTime;
  const valueChanged =
    secret.version === null
      ? secret.fingerprint === undefined || dest.fingerprint === undefined || secret.fingerprint !== dest.fingerprint
      : destinationVersion !== String(secret.version) || recreated;
  // A normal write makes our own token current again, so a past drift repair's mark goes.
  const untag = dest.tags[TAG.versionId] !== undefined ? { untag: [TAG.versionId] } : {};
  if (valueChanged) {
    const reason =
      secret.version === null
        ? "value differs (KV v1 comparison)"
        : destinationVersion === String(secret.version) && recreated
          ? `source re-created: version ${secret.version} written ${secret.versionCreatedTime ?? ""}`
          : `source version ${secret.version}, destination has ${destinationVersion ?? "no version tag"}`;
    const replicasStale = (dest.tags[TAG.replicas] ?? "") !== (tags[TAG.replicas] ?? "");
    return { ...withDest, ...write, ...untag, type: "update", reason, changes: replicasStale ? ["value", "tags", "replicas"] : ["value", "tags"], ...(replicasStale ? { replicas } : {}) };
  }
  // Same source version: is the value in AWS still the one we wrote? (metadata only)
  const expected = dest.tags[TAG.versionId] ?? requestToken;
  if (requestToken && expected && dest.currentVersionId && dest.currentVersionId !== expected) {
    const drift = { ...withDest, currentVersionId: dest.currentVersionId, restoreVersionId: driftRepairTokenFor(requestToken, dest.currentVersionId) };
    if (policies.drift === "overwrite") {
      return { ...drift, ...write, type: "update", reason: `drift: AWSCURRENT is ${dest.currentVersionId}, not the version secretbridge wrote; restoring`, changes: ["value", "tags"] };
    }
    if (policies.drift === "report") {
      return {
        ...drift,
        type: "drift",
        reason: "changed outside secretbridge (drift policy: report)",
        failure: { errorClass: "drift", message: `${name} was changed outside secretbridge (AWSCURRENT is version ${dest.currentVersionId}); left as is by the drift policy "report"` },
      };
    }
    return { ...drift, type: "unchanged", reason: "changed outside secretbridge; ignored (drift policy: skip)" };
  }
  if ((dest.tags[TAG.replicas] ?? "") !== (tags[TAG.replicas] ?? "")) {
    return {
      ...withDest,
      ...write,
      replicas,
      type: "update",
      reason: `replica Regions: ${dest.tags[TAG.replicas] || "none"} -> ${tags[TAG.replicas] || "none"}`,
      changes: ["replicas", "tags"],
      ...(tags[TAG.replicas] === undefined ? { untag: [TAG.replicas] } : {}),
    };
  }
  if ((dest.tags[TAG.resourcePolicy] ?? "") !== (tags[TAG.resourcePolicy] ?? "")) {
    return {
      ...withDest,
      ...write,
      type: "update",
      reason: tags[TAG.resourcePolicy] ? "resource policy out of date" : "resource policy no longer configured: removing it",
      changes: ["policy", "tags"],
      ...(tags[TAG.resourcePolicy] === undefined ? { untag: [TAG.resourcePolicy] } : {}),
    };
  }
  const staleTags = changedTagKeys(dest.tags, tags);
  if (staleTags.length > 0) return { ...withDest, ...write, type: "update", reason: `tags out of date: ${staleTags.join(", ")}`, changes: ["tags"] };
  return { ...withDest, type: "unchanged", reason: "up to date" };
}

function planUnmanaged(
  secret: SourceSecretMeta,
  dest: DestinationSecretMeta,
  withDest: Omit<PlannedAction, "type" | "reason">,
  write: Pick<PlannedAction, "tags" | "requestToken">,
  onConflict: LifecyclePolicies["onConflict"],
  settings: PlanSettings,
): PlannedAction {
  const name = dest.name;
  if (onConflict === "adopt") {
    return { ...withDest, ...write, type: "adopt", reason: "exists unmanaged; taking ownership and writing the source value (conflict policy: adopt)", changes: ["value", "tags"] };
  }
  if (onConflict === "adopt-if-equal") {
    if (secret.fingerprint !== undefined && dest.fingerprint !== undefined && secret.fingerprint === dest.fingerprint) {
      return { ...withDest, ...write, type: "adopt", reason: "exists unmanaged with the same value; taking ownership (conflict policy: adopt-if-equal)", changes: ["tags"] };
    }
    return {
      ...withDest,
      type: "conflict",
      reason: "exists unmanaged with a different value (conflict policy: adopt-if-equal)",
      failure: { errorClass: "conflict-unmanaged", message: `${name} exists without secretbridge ownership tags and its value differs from the source; left untouched (conflict policy: adopt-if-equal)` },
    };
  }
  return {
    ...withDest,
    type: "conflict",
    reason: "exists and is not managed by secretbridge",
    failure: {
      errorClass: "conflict-unmanaged",
      message: `${name} exists in AWS without secretbridge ownership tags; it is left untouched: delete or rename it, set policies.onConflict to adopt, or tag it ${TAG.managedBy}=secretbridge and ${TAG.sync}=${settings.syncName} to hand it over`,
    },
  };
}

/**
 * Destination secrets of ours whose source is gone (missing, soft-deleted or destroyed), handled
 * by the deletion strategy, behind the blast-radius guard. A listing with problems (a denied
 * subtree) or an empty listing never counts as "everything was deleted".
 */
function planAbsences(
  source: SourceInventory,
  destination: DestinationInventory,
  present: Set<string>,
  settings: PlanSettings,
  policies: LifecyclePolicies,
): PlannedAction[] {
  const scope = settings.subPath ? `${settings.subPath.replace(/\/+$/, "")}/` : "";
  const ours = destination.secrets.filter(
    (d) =>
      ownershipOf(d.tags, settings.syncName) === "ours" &&
      d.tags[TAG.mount] === settings.source.mount &&
      (d.tags[TAG.source] ?? settings.source.address) === settings.source.address &&
      (d.tags[TAG.path] ?? "").startsWith(scope) &&
      scopeMatcher(settings.scope ?? {})(d.tags[TAG.path] ?? "") &&
      d.name.startsWith(`${settings.prefix}/`),
  );
  const gone = ours.filter((d) => !present.has(d.name) && !d.deletedDate);
  if (gone.length === 0) return [];

  const strategy = policies.deletion.strategy;
  const base = (d: DestinationSecretMeta) => ({
    sourcePath: d.tags[TAG.path] ?? d.name.slice(settings.prefix.length + 1),
    destinationName: d.name,
    sourceVersion: null,
    ...(d.tags[TAG.sourceVersion] !== undefined ? { destinationVersion: d.tags[TAG.sourceVersion] } : {}),
  });
  const gonePaths = new Set(source.secrets.filter((s) => s.state !== "present").map((s) => destinationNameFor(settings.prefix, s.path, settings.nameTemplate, settings.source.mount)));
  const why = (d: DestinationSecretMeta) => (gonePaths.has(d.name) ? "the source's current version is deleted or destroyed" : "the source secret no longer exists");

  if (strategy === "retain") {
    return gone.map((d) => ({ ...base(d), type: "skip", reason: `${why(d)}; kept (deletion strategy: retain)` }));
  }
  const already = (d: DestinationSecretMeta) => strategy === "tag" && d.tags[TAG.orphanedAt] !== undefined;
  const pending = gone.filter((d) => !already(d));
  const kept = gone.filter(already).map((d): PlannedAction => ({ ...base(d), type: "unchanged", reason: `${why(d)}; already marked orphaned` }));

  const refuse = (reason: string): PlannedAction[] => [
    ...kept,
    ...pending.map((d): PlannedAction => ({
      ...base(d),
      type: "skip",
      reason: `${why(d)}; not ${strategy === "delete" ? "deleted" : "marked"}: ${reason}`,
      failure: { errorClass: "blast-radius", message: `${d.name}: not ${strategy === "delete" ? "deleted" : "marked orphaned"}: ${reason}` },
    })),
  ];
  if (source.problems.length > 0) {
    return refuse(`the source listing was incomplete (${source.problems.length} unreadable path(s)), so absence proves nothing`);
  }
  const listedPresent = source.secrets.filter((s) => s.state === "present").length;
  if (listedPresent === 0 && !settings.forceDeletions) {
    return refuse("the source listing came back empty; run with --force-deletions if that is really so");
  }
  const share = pending.length / ours.length;
  const { maxShare, maxCount } = policies.blastRadius;
  if (!settings.forceDeletions && (share > maxShare || (maxCount !== undefined && pending.length > maxCount))) {
    const limit = maxCount !== undefined ? `${Math.round(maxShare * 100)}% or ${maxCount} secrets` : `${Math.round(maxShare * 100)}%`;
    return refuse(`${pending.length} of ${ours.length} managed secrets (${Math.round(share * 100)}%) is over the blast-radius limit of ${limit}; check the source, then run with --force-deletions`);
  }
  return [
    ...kept,
    ...pending.map((d): PlannedAction =>
      strategy === "tag"
        ? { ...base(d), type: "orphan", reason: `${why(d)}; marking it orphaned (deletion strategy: tag)`, tags: { [TAG.orphanedAt]: "" } }
        : {
            ...base(d),
            type: "delete",
            reason: `${why(d)}; ${policies.deletion.forceDeleteWithoutRecovery ? "deleting without recovery" : `scheduling deletion with a ${policies.deletion.recoveryWindowDays}-day recovery window`}`,
            deletion: policies.deletion.forceDeleteWithoutRecovery
              ? { forceDeleteWithoutRecovery: true }
              : { recoveryWindowDays: policies.deletion.recoveryWindowDays },
          },
    ),
  ];
}

export function countActions(plan: Plan): Record<string, number> {
  const counts: Record<string, number> = { create: 0, update: 0, unchanged: 0, conflict: 0, skip: 0 };
  for (const action of plan.actions) counts[action.type] = (counts[action.type] ?? 0) + 1;
  return counts;
}
