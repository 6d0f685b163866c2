// A config file -> the plain input of iamPolicy (one scope per mapping), for `iam-policy -c`.
//
// PLACEHOLDER, to be replaced: the inheritance below (mapping -> destination / top-level) is a
// small local reading of the config, good enough for the IAM policy. The engine's config
// resolution is being redesigned; its resolved mappings will replace this, so keep it here, small.
import type { Config, MappingConfig } from "../config/schema.js";
import type { IamScope } from "../destinations/aws-secrets-manager/iam-policy.js";

export interface IamScopesFromConfig {
  scopes: IamScope[];
  /** destination.region, if the config sets one. */
  region?: string;
  snsTopicArns: string[];
}

export function iamScopesFromConfig(config: Config): IamScopesFromConfig {
  const d = config.destination;
  const mappings: MappingConfig[] = config.mappings ?? [{ mount: config.source.mount ?? "", path: config.source.path }];
  const scopes = mappings.map((m): IamScope => {
    const policies = m.policies ?? config.policies;
    const strategy = policies.deletion.strategy;
    const kmsKeyId = m.kmsKeyId ?? d.kmsKeyId;
    return {
      prefix: m.prefix ?? d.prefix,
      ...(kmsKeyId ? { kmsKeyId } : {}),
      replicas: m.replicaRegions ?? d.replicaRegions,
      lifecycle: { delete: strategy === "delete", restore: strategy === "delete", tagOrphans: strategy === "tag" },
      resourcePolicy: (m.resourcePolicy ?? d.resourcePolicy) !== undefined,
      valueReads: config.source.kvVersion === 1 || policies.onConflict === "adopt-if-equal" || (m.granularity ?? d.granularity) === "key",
    };
  });
  return { scopes, ...(d.region ? { region: d.region } : {}), snsTopicArns: config.notifications.sns ? [config.notifications.sns.topicArn] : [] };
}
