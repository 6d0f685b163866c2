// AWS Systems Manager Parameter Store as a registered destination provider: its settings, its
// profile, and a factory that builds the SSM client with the runtime's AWS client factory.
import { SSMClient } from "@aws-sdk/client-ssm";
import { identityClientFor, placeOf } from "../aws-common/clients.js";
import type { IamTarget } from "../aws-common/iam.js";
import type { BuiltDestination, DestinationBuildContext, DestinationProvider, IamMapping } from "../provider.js";
import { PARAMETER_STORE_TYPE, parameterStoreConfigFields, type ParameterStoreConfig } from "./config.js";
import { parameterStoreIamPolicy, type ParameterStoreIamInput } from "./iam-policy.js";
import { ParameterStoreDestination } from "./parameter-store-destination.js";
import { parameterStoreProfile } from "./profile.js";
import { SdkSsmApi, SSM_CLIENT_SETTINGS, type SsmApi } from "./ssm-api.js";

/** Builds the destination; `client` (a test's) replaces the SSM client built from the context. */
export function buildParameterStoreDestination(config: ParameterStoreConfig, context: DestinationBuildContext, client?: SsmApi): BuiltDestination {
  const sdk = context.client(SSMClient, "SSM", placeOf(config), { ...SSM_CLIENT_SETTINGS });
  const ssm = client ?? new SdkSsmApi(sdk);
  const identity = identityClientFor(context, sdk);
  const destination = new ParameterStoreDestination({
    client: ssm,
    identity,
    tier: config.tier,
    maxAttempts: config.maxAttempts,
    rateLimits: config.rateLimits,
    ...(config.kmsKeyId ? { kmsKeyId: config.kmsKeyId } : {}),
    ...(context.recorder ? { recorder: context.recorder } : {}),
  });
  return {
    destination,
    close: () => {
      sdk.destroy();
      identity.destroy();
    },
  };
}

export const awsParameterStoreProvider = {
  type: PARAMETER_STORE_TYPE,
  configFields: parameterStoreConfigFields,
  // The key and tier are the destination's; deletion is at once, with nothing to set.
  mappingFields: {},
  deletionFields: {},
  // The tier decides the value limit.
  profile: (config: ParameterStoreConfig) => parameterStoreProfile(config.tier),
  // No per-mapping settings: the key and tier are the destination's.
  mappingOptions: () => ({}),
  build: buildParameterStoreDestination,
  /** The IAM policy fragment `iam-policy -c` and the CDK stack grant for this destination. */
  iamPolicy: parameterStoreIamPolicy,
  iamFragment: (config: ParameterStoreConfig, target: IamTarget, mappings: readonly IamMapping[]) =>
    parameterStoreIamPolicy({
      ...target,
      ...(config.kmsKeyId ? { kmsKeyId: config.kmsKeyId } : {}),
      scopes: mappings.map((m) => ({ prefix: m.prefix, delete: m.deletion === "delete", valueReads: m.valueReads })),
    }),
} as const satisfies DestinationProvider<typeof PARAMETER_STORE_TYPE, typeof parameterStoreConfigFields, ParameterStoreConfig, ParameterStoreIamInput>;
