// AWS Secrets Manager destination: the public surface of this folder.
export { SecretsManagerDestination, type SecretsManagerDestinationOptions } from "./secrets-manager-destination.js";
export type { ListingMode, ListingOutcome } from "./inventory.js";
export { AWS_QUOTAS, DEFAULT_RATE_LIMITS, familyOf, type ApiFamily, type RateLimits } from "./api-families.js";
export { buildLimiters, instrumentClient, MIDDLEWARE_NAME, operationName, type MiddlewareOptions } from "./middleware.js";
export { batchEntryError, classifySecretsManagerError } from "./errors.js";
