// AWS Systems Manager Parameter Store destination: the public surface of this folder.
export { ParameterStoreDestination, type ParameterStoreDestinationOptions } from "./parameter-store-destination.js";
export { parameterStoreProfile, parameterNameOf, tierFor, type Tier, MAX_LEVELS, STANDARD_MAX_BYTES, ADVANCED_MAX_BYTES } from "./profile.js";
export { parameterStoreDestinationSchema, type ParameterStoreDestinationConfig } from "./schema.js";
export { DEFAULT_RATE_LIMITS, familyOf, type ApiFamily, type RateLimits } from "./quotas.js";
export { decodeRecord, encodeRecord, type WriteRecord } from "./record.js";
export { SdkSsmApi, SsmServiceError, type SsmApi } from "./ssm-api.js";
export { parameterStoreStatements, type ParameterStoreIamScope } from "./iam-policy.js";
