// Every destination provider, one registration line each. config/ builds the `destination.type`
// discriminated union from this list; runtime/wire.ts builds the provider a config selects.
import { awsSecretsManagerProvider } from "./aws-secrets-manager/provider.js";

export const DESTINATION_PROVIDERS = [
  awsSecretsManagerProvider,
] as const;

/** What `destination.type` is when a config leaves it out: every config written before there were several. */
export const DEFAULT_DESTINATION_TYPE = awsSecretsManagerProvider.type;

export type RegisteredDestination = (typeof DESTINATION_PROVIDERS)[number];

/** The provider registered for this `destination.type`. */
export function destinationProvider<T extends RegisteredDestination["type"]>(type: T): Extract<RegisteredDestination, { type: T }> {
  const provider = DESTINATION_PROVIDERS.find((p) => p.type === type);
  if (!provider) throw new Error(`no destination provider registered for type ${type}`);
  return provider as Extract<RegisteredDestination, { type: T }>;
}
