// A resolved config -> the plain input of iamPolicy: one scope per resolved mapping, so the
// policy covers exactly the prefixes, keys, Regions and lifecycle actions the runs will use.
// `iam-policy -c` and the CDK stack (issue 13) both start from here.
import type { ResolvedConfig } from "../config/resolve.js";
import type { IamScope } from "../destinations/aws-secrets-manager/iam-policy.js";
import { optionsOf } from "../destinations/aws-secrets-manager/settings.js";

export interface IamScopesFromConfig {
  scopes: IamScope[];
  /** destination.region, if the config sets one. */
  region?: string;
  snsTopicArns: string[];
}

export function iamScopesFromConfig(resolved: ResolvedConfig): IamScopesFromConfig {
  const { config } = resolved;
  const scopes = resolved.mappings.map((m): IamScope => {
    const strategy = m.policies.deletion.strategy;
    const options = optionsOf(m.destinationOptions);
    return {
      prefix: m.prefix,
      ...(options.kmsKeyId ? { kmsKeyId: options.kmsKeyId } : {}),
      replicas: options.replicaRegions,
      lifecycle: { delete: strategy === "delete", restore: strategy === "delete", tagOrphans: strategy === "tag" },
      resourcePolicy: options.resourcePolicy !== undefined,
      // Destination values are read to compare KV v1 secrets (no versions) and for adopt-if-equal.
      valueReads: config.source.kvVersion === 1 || m.policies.onConflict === "adopt-if-equal",
    };
  });
  return { scopes, ...(config.destination.region ? { region: config.destination.region } : {}), snsTopicArns: config.notifications.sns ? [config.notifications.sns.topicArn] : [] };
}
