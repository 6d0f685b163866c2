// The planner: a pure function from the two inventories and the settings to a list of actions
// with reasons. No I/O, so `plan` can print it and tests can assert it without servers.
import type { DestinationInventory, DestinationSecretMeta, Plan, PlannedAction, SourceInventory } from "./model.js";
import { destinationNameFor, nameProblem } from "./naming.js";
import { requestTokenFor } from "./request-token.js";
import { changedTagKeys, desiredTags, ownershipOf, TAG, tagProblems, type SourceRef } from "./tags.js";

export interface PlanSettings {
  syncName: string;
  source: SourceRef;
  prefix: string;
  /** Tags every replicated secret carries besides ours (e.g. team, environment). */
  staticTags?: Record<string, string>;
}

function isServiceManaged(dest: DestinationSecretMeta): boolean {
  return Boolean(dest.owningService) || dest.name.startsWith("rds!") || dest.name.split("/").pop()?.startsWith("rds!") === true;
}

export function planSync(source: SourceInventory, destination: DestinationInventory, settings: PlanSettings): Plan {
  const byName = new Map(destination.secrets.map((s) => [s.name, s]));
  const claimedBy = new Map<string, string>();
  const actions: PlannedAction[] = [];

  const sorted = [...source.secrets].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const secret of sorted) {
    const name = destinationNameFor(settings.prefix, secret.path);
    const base = { sourcePath: secret.path, destinationName: name, sourceVersion: secret.version };
    const skip = (reason: string, failure?: PlannedAction["failure"]): void => {
      actions.push({ ...base, type: "skip", reason, ...(failure ? { failure } : {}) });
    };
    const conflict = (reason: string, failure: NonNullable<PlannedAction["failure"]>): void => {
      actions.push({ ...base, type: "conflict", reason, failure });
    };

    const badName = nameProblem(name);
    if (badName) {
      skip("invalid destination name", { errorClass: "invalid-name", message: `${secret.path}: ${badName}` });
      continue;
    }
    const previousClaim = claimedBy.get(name);
    if (previousClaim !== undefined) {
      skip("name collision", {
        errorClass: "invalid-name",
        message: `${secret.path} and ${previousClaim} both map to ${name}: rename one of them in the source`,
      });
      continue;
    }
    claimedBy.set(name, secret.path);

    if (secret.state !== "present") {
      skip(`current version ${secret.version ?? ""} is ${secret.state} in the source; not replicated`.replace("  ", " "));
      continue;
    }

    const tags = desiredTags(settings.syncName, settings.source, secret.path, secret.version, settings.staticTags);
    const badTags = tagProblems(tags);
    if (badTags.length > 0) {
      skip("tags AWS would reject", { errorClass: "invalid-tags", message: `${secret.path}: ${badTags.join("; ")}` });
      continue;
    }
    const requestToken =
      secret.version === null ? undefined : requestTokenFor(settings.syncName, settings.source, secret.path, secret.version, name);
    const write = { tags, ...(requestToken ? { requestToken } : {}) };

    const dest = byName.get(name);
    if (!dest) {
      actions.push({ ...base, ...write, type: "create", reason: "not in the destination yet" });
      continue;
    }
    const destinationVersion = dest.tags[TAG.sourceVersion];
    const withDest = { ...base, ...(destinationVersion !== undefined ? { destinationVersion } : {}) };

    if (dest.deletedDate) {
      conflict("scheduled for deletion in AWS", {
        errorClass: "pending-deletion",
        message: `${name} is scheduled for deletion in AWS Secrets Manager: restore it (aws secretsmanager restore-secret) or let it be purged, then sync again`,
      });
      continue;
    }
    if (isServiceManaged(dest)) {
      conflict("managed by an AWS service", {
        errorClass: "not-writable",
        message: `${name} is managed by ${dest.owningService ?? "an AWS service"}; secretbridge never writes it: change the prefix or the source path`,
      });
      continue;
    }
    const owner = ownershipOf(dest.tags, settings.syncName);
    if (owner === "unmanaged") {
      conflict("exists and is not managed by secretbridge", {
        errorClass: "conflict-unmanaged",
        message: `${name} exists in AWS without secretbridge ownership tags; it is left untouched: delete or rename it, or tag it ${TAG.managedBy}=secretbridge and ${TAG.sync}=${settings.syncName} to hand it over`,
      });
      continue;
    }
    if (owner === "other-sync") {
      conflict("managed by another sync", {
        errorClass: "conflict-other-sync",
        message: `${name} is managed by sync "${dest.tags[TAG.sync]}", not "${settings.syncName}"; it is left untouched: make the prefixes of the two syncs disjoint`,
      });
      continue;
    }
    if (dest.rotationEnabled) {
      conflict("rotation is enabled in AWS", {
        errorClass: "not-writable",
        message: `${name} has rotation enabled in AWS Secrets Manager; two writers would fight: turn rotation off or exclude this secret`,
      });
      continue;
    }

    const valueChanged =
      secret.version === null
        ? secret.fingerprint === undefined || dest.fingerprint === undefined || secret.fingerprint !== dest.fingerprint
        : destinationVersion !== String(secret.version);
    if (valueChanged) {
      const reason =
        secret.version === null
          ? "value differs (KV v1 comparison)"
          : `source version ${secret.version}, destination has ${destinationVersion ?? "no version tag"}`;
      actions.push({ ...withDest, ...write, type: "update", reason, changes: ["value", "tags"] });
      continue;
    }
    const staleTags = changedTagKeys(dest.tags, tags);
    if (staleTags.length > 0) {
      actions.push({ ...withDest, ...write, type: "update", reason: `tags out of date: ${staleTags.join(", ")}`, changes: ["tags"] });
      continue;
    }
    actions.push({ ...withDest, type: "unchanged", reason: "up to date" });
  }

  return { syncName: settings.syncName, sourceMethod: source.method, actions, problems: source.problems };
}

export function countActions(plan: Plan): Record<string, number> {
  const counts: Record<string, number> = { create: 0, update: 0, unchanged: 0, conflict: 0, skip: 0 };
  for (const action of plan.actions) counts[action.type] = (counts[action.type] ?? 0) + 1;
  return counts;
}
