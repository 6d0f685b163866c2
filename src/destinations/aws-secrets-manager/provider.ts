// AWS Secrets Manager as a registered destination provider: its settings, its profile, and a
// factory that builds the client from the runtime's AWS client settings (or takes a test's).
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { identityClientFor, placeOf } from "../aws-common/clients.js";
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
  const sm = client ?? context.client(SecretsManagerClient, "Secrets Manager", placeOf(config), { retryMode: "standard", maxAttempts: config.maxAttempts });
  const identity = identityClientFor(context, sm);
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
