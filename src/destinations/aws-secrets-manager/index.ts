// AWS Secrets Manager destination: the public surface of this folder.
export { SecretsManagerDestination, type SecretsManagerDestinationOptions } from "./secrets-manager-destination.js";
export { DEFAULT_RATE_LIMITS, familyOf, type ApiFamily, type RateLimits } from "./api-families.js";
export { instrumentClient, buildLimiters } from "./middleware.js";
export { classifyAwsError } from "./errors.js";
