// Every destination provider, one registration line each. config/ builds the `destination.type`
// discriminated union from this list; runtime/wire.ts builds the provider a config selects.
import type { ProviderData } from "../core/model.js";
import type { DestinationProfile } from "../core/profile.js";
import type { IamFragment, IamTarget } from "./aws-common/iam.js";
import type { BuiltDestination, DestinationBuildContext, DestinationProvider, IamMapping } from "./provider.js";
import { awsSecretsManagerProvider } from "./aws-secrets-manager/provider.js";
import { awsParameterStoreProvider } from "./aws-ssm-parameter-store/provider.js";

export const DESTINATION_PROVIDERS = [
  awsSecretsManagerProvider,
  awsParameterStoreProvider,
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

/** A provider with its parsed `destination:` settings: what config/ and the runtimes call. */
export interface BoundProvider {
  readonly type: RegisteredDestination["type"];
  profile(): DestinationProfile;
  mappingOptions(mapping: Record<string, unknown>): ProviderData;
  build(context: DestinationBuildContext): BuiltDestination;
  iamFragment(target: IamTarget, mappings: readonly IamMapping[]): IamFragment;
}

/**
 * The provider a parsed `destination:` selects, bound to those settings. The parse guarantees
 * that the settings are the selected provider's own, which TypeScript cannot follow through a
 * lookup by `type`: this is the one place that says so.
 */
export function boundProvider(config: { type: RegisteredDestination["type"] }): BoundProvider {
  const provider = destinationProvider(config.type) as unknown as DestinationProvider<string, never, unknown>;
  return {
    type: config.type,
    profile: () => provider.profile(config),
    mappingOptions: (mapping) => provider.mappingOptions(config, mapping),
    build: (context) => provider.build(config, context),
    iamFragment: (target, mappings) => provider.iamFragment(config, target, mappings),
  };
}
