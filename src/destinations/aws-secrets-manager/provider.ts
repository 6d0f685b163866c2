// AWS Secrets Manager as a registered destination provider: its settings, its profile, and a
// factory that builds the client from the runtime's AWS client settings (or takes a test's).
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { STSClient } from "@aws-sdk/client-sts";
import type { IamTarget } from "../aws-common/iam.js";
import type { BuiltDestination, DestinationBuildContext, DestinationProvider, IamMapping } from "../provider.js";
import { SECRETS_MANAGER_TYPE, secretsManagerConfigFields, secretsManagerDeletionFields, secretsManagerMappingFields, type SecretsManagerConfig } from "./config.js";
import { awsSecretsManagerProfile } from "./profile.js";
import { SecretsManagerDestination } from "./secrets-manager-destination.js";
import { resolveMappingOptions } from "./settings.js";

import { iamPolicy, iamScopeOf, type IamPolicyInput } from "./iam-policy.js";

/**
 * Builds the destination. `client` (a configured SecretsManagerClient) replaces the one built
 * from the context; the identity client shares its Region and credentials, so the account it
 * names is the one the secrets go into.
 */
export function buildSecretsManagerDestination(config: SecretsManagerConfig, context: DestinationBuildContext, client?: SecretsManagerClient): BuiltDestination {
  const where = { ...(config.region ? { region: config.region } : {}), ...(config.profile ? { profile: config.profile } : {}), ...(config.assumeRole ? { assumeRole: config.assumeRole } : {}) };
  const sm = client ?? context.client(SecretsManagerClient, "Secrets Manager", where, { retryMode: "standard", maxAttempts: config.maxAttempts });
  // Short: it only labels the run.
  const identity = context.client(STSClient, "STS", {}, {
    region: sm.config.region,
    credentials: sm.config.credentials,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
  });
  const destination = new SecretsManagerDestination({
    client: sm,
    identity,
    rateLimits: config.rateLimits,
    ...(context.recorder ? { recorder: context.recorder } : {}),
  });
  return {
    destination,
    close: () => {
      if (!client) sm.destroy();
      identity.destroy();
    },
  };
}

export const awsSecretsManagerProvider = {
  type: SECRETS_MANAGER_TYPE,
  configFields: secretsManagerConfigFields,
  mappingFields: secretsManagerMappingFields,
  deletionFields: secretsManagerDeletionFields,
  profile: () => awsSecretsManagerProfile,
  mappingOptions: (config: SecretsManagerConfig, mapping: Parameters<typeof resolveMappingOptions>[1]) => resolveMappingOptions(config, mapping),
  build: buildSecretsManagerDestination,
  /** The IAM policy fragment `iam-policy -c` and the CDK stack grant for this destination. */
  iamPolicy,
  iamFragment: (_config: SecretsManagerConfig, target: IamTarget, mappings: readonly IamMapping[]) => iamPolicy({ ...target, scopes: mappings.map(iamScopeOf) }),
} as const satisfies DestinationProvider<typeof SECRETS_MANAGER_TYPE, typeof secretsManagerConfigFields, SecretsManagerConfig, IamPolicyInput>;
