// AWS Systems Manager Parameter Store destination: the public surface of this folder.
export { ParameterStoreDestination, type ParameterStoreDestinationOptions } from "./parameter-store-destination.js";
export { parameterStoreProfile, parameterNameOf, tierFor, type Tier, MAX_LEVELS, STANDARD_MAX_BYTES, ADVANCED_MAX_BYTES } from "./profile.js";
export { PARAMETER_STORE_TYPE, parameterStoreConfigFields, type ParameterStoreConfig } from "./config.js";
export { awsParameterStoreProvider, buildParameterStoreDestination } from "./provider.js";
export { DEFAULT_RATE_LIMITS, familyOf, type ApiFamily, type RateLimits } from "./quotas.js";
export { decodeRecord, encodeRecord, type WriteRecord } from "./record.js";
export { SdkSsmApi, SSM_CLIENT_SETTINGS, SsmServiceError, type SsmApi } from "./ssm-api.js";
export { parameterStoreIamPolicy, parameterStoreStatements, type ParameterStoreIamInput, type ParameterStoreIamScope } from "./iam-policy.js";
