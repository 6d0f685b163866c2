// Secrets Manager's per-mapping settings (KMS key, description, replica Regions, resource policy):
// resolved from the config, recorded in tags so a change is seen from the listing alone, and
// handed to this provider's apply as opaque provider data. Core and engine never read them.
import { createHash } from "node:crypto";
import type { AppliedWrite, ProviderData } from "../../core/model.js";
import type { SettingUpdate } from "../../core/profile.js";

export type SecretsManagerOptions = {
  replicaRegions: { region: string; kmsKeyId?: string }[];
  /** Resource policy (JSON text) every secret of the mapping carries. */
  resourcePolicy?: string;
  kmsKeyId?: string;
  description?: string;
};

/** What this provider's apply reads from an action's provider data. */
export type SecretsManagerWriteData = {
  /** delete: the recovery window, or none. */
  recoveryWindowDays?: number;
  forceDeleteWithoutRecovery?: boolean;
  /** create: the new secret's key and description. */
  kmsKeyId?: string;
  description?: string;
  /** Replica Regions the secret must have (create, or with the change "replicas"). */
  replicas?: { region: string; kmsKeyId?: string }[];
  /** The resource policy to set (JSON text), or null to remove it (with the change "policy"). */
  resourcePolicy?: string | null;
};

export const SETTING_TAG = {
  /** Short hash of the resource policy secretbridge set, to notice a changed policy without reading it. */
  resourcePolicy: "secretbridge:resource-policy",
  /** The replica Regions secretbridge set up (sorted, space-separated: AWS allows no comma in a tag value). */
  replicas: "secretbridge:replicas",
} as const;

/** A short, stable hash of a resource policy's text, kept in a tag to notice changes. */
export function policyHash(policy: string): string {
  return createHash("sha256").update(policy).digest("hex").slice(0, 16);
}

const NONE: SecretsManagerOptions = { replicaRegions: [] };

/** The mapping's options as this provider resolved them (config/ builds them with `resolveMappingOptions`). */
export function optionsOf(options: ProviderData | undefined): SecretsManagerOptions {
  return (options as SecretsManagerOptions | undefined) ?? NONE;
}

/** The provider data of an action, as this provider wrote it. */
export function writeDataOf(action: AppliedWrite): SecretsManagerWriteData {
  return ("provider" in action ? (action.provider as SecretsManagerWriteData | undefined) : undefined) ?? {};
}

/** Per-mapping settings over the destination's: a mapping's own value wins. */
export function resolveMappingOptions(
  destination: SecretsManagerOptions,
  mapping: { replicaRegions?: SecretsManagerOptions["replicaRegions"]; resourcePolicy?: string; kmsKeyId?: string; description?: string },
): SecretsManagerOptions {
  const kmsKeyId = mapping.kmsKeyId ?? destination.kmsKeyId;
  const resourcePolicy = mapping.resourcePolicy ?? destination.resourcePolicy;
  const description = mapping.description ?? destination.description;
  return {
    replicaRegions: mapping.replicaRegions ?? destination.replicaRegions,
    ...(resourcePolicy ? { resourcePolicy } : {}),
    ...(kmsKeyId ? { kmsKeyId } : {}),
    ...(description ? { description } : {}),
  };
}

function sortedReplicas(o: SecretsManagerOptions): { region: string; kmsKeyId?: string }[] {
  return [...o.replicaRegions].sort((a, b) => (a.region < b.region ? -1 : 1));
}

/** The tags that record the settings on every secret of the mapping. */
export function settingTags(options: ProviderData | undefined): Record<string, string> {
  const o = optionsOf(options);
  return {
    ...(o.replicaRegions.length ? { [SETTING_TAG.replicas]: o.replicaRegions.map((r) => r.region).sort().join(" ") } : {}),
    ...(o.resourcePolicy ? { [SETTING_TAG.resourcePolicy]: policyHash(o.resourcePolicy) } : {}),
  };
}

/** What a create writes besides the value and tags. */
export function createData(options: ProviderData | undefined): SecretsManagerWriteData {
  const o = optionsOf(options);
  const replicas = sortedReplicas(o);
  return {
    ...(o.kmsKeyId ? { kmsKeyId: o.kmsKeyId } : {}),
    ...(o.description ? { description: o.description } : {}),
    ...(replicas.length ? { replicas } : {}),
    ...(o.resourcePolicy ? { resourcePolicy: o.resourcePolicy } : {}),
  };
}

/** A deletion in Secrets Manager: scheduled with a recovery window, or at once when the policy says so explicitly. */
export function deletionOf(policy: { settings: ProviderData }): { describe: string; immediate: boolean; provider: SecretsManagerWriteData } {
  const { recoveryWindowDays = DEFAULT_RECOVERY_WINDOW_DAYS, forceDeleteWithoutRecovery = false } = policy.settings as { recoveryWindowDays?: number; forceDeleteWithoutRecovery?: boolean };
  return forceDeleteWithoutRecovery
    ? { describe: "deleting without recovery", immediate: true, provider: { forceDeleteWithoutRecovery: true } }
    : { describe: `scheduling deletion with a ${recoveryWindowDays}-day recovery window`, immediate: false, provider: { recoveryWindowDays } };
}

/** AWS's own default recovery window. */
export const DEFAULT_RECOVERY_WINDOW_DAYS = 30;

/** The settings whose recorded tag differs from the wanted one: replicas first, then the policy. */
export function settingUpdates(options: ProviderData | undefined, recorded: Record<string, string>): SettingUpdate[] {
  const o = optionsOf(options);
  const want = settingTags(options);
  const updates: SettingUpdate[] = [];
  const replicasNow = recorded[SETTING_TAG.replicas] ?? "";
  const replicasWanted = want[SETTING_TAG.replicas] ?? "";
  if (replicasNow !== replicasWanted) {
    updates.push({ change: "replicas", reason: `replica Regions: ${replicasNow || "none"} -> ${replicasWanted || "none"}`, provider: { replicas: sortedReplicas(o) } });
  }
  if ((recorded[SETTING_TAG.resourcePolicy] ?? "") !== (want[SETTING_TAG.resourcePolicy] ?? "")) {
    updates.push({
      change: "policy",
      reason: o.resourcePolicy ? "resource policy out of date" : "resource policy no longer configured: removing it",
      provider: { resourcePolicy: o.resourcePolicy ?? null },
    });
  }
  return updates;
}
