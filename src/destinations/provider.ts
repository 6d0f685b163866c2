// What a destination provider folder exports, so a runtime can build it from `destination:` and
// config/ can validate it, without either naming the provider: its config fields, its profile,
// a factory taking its SDK client (built by the runtime's one AWS client factory, or a test's),
// and its IAM policy fragment. Registered with one line in registry.ts.
import type { z } from "zod";
import type { ProviderData } from "../core/model.js";
import type { DeletionStrategy } from "../core/policies.js";
import type { DestinationProfile } from "../core/profile.js";
import type { ApiCallRecorder } from "../util/api-calls.js";
import type { IamFragment, IamTarget } from "./aws-common/iam.js";
import type { SecretDestination } from "./destination.js";

/** The SDK's service ids of the AWS clients a provider asks the runtime for. */
export type AwsService = "Secrets Manager" | "SNS" | "STS" | "SQS" | "SSM";

/** What the runtime hands a provider's factory: its one AWS client factory, and the call counter. */
export interface DestinationBuildContext {
  /**
   * A client of this service for this destination's Region, profile and role, from the runtime's
   * environment (endpoints, credentials); `extra` adds the client's own settings.
   */
  client<C>(Client: new (config: Record<string, unknown>) => C, service: AwsService, where?: { region?: string; profile?: string; assumeRole?: AssumeRole }, extra?: Record<string, unknown>): C;
  recorder?: ApiCallRecorder;
}

export interface AssumeRole {
  roleArn: string;
  externalId?: string;
  sessionName?: string;
  durationSeconds?: number;
}

/** A built destination, and what closing it releases (the clients it built). */
export interface BuiltDestination {
  destination: SecretDestination;
  close(): void;
}

/** What one resolved mapping asks of the IAM policy: the runtime decides it, the provider grants it. */
export interface IamMapping {
  prefix: string;
  deletion: DeletionStrategy;
  /** Some comparison reads destination values (KV v1, adopt-if-equal, adopt-if-placeholder, verify). */
  valueReads: boolean;
  /** The mapping's provider settings (`ResolvedMapping.destinationOptions`). */
  options: ProviderData | undefined;
}

export interface DestinationProvider<Type extends string = string, Fields extends z.core.$ZodLooseShape = z.core.$ZodLooseShape, Config = unknown, IamInput = never> {
  /** `destination.type` in the config. */
  readonly type: Type;
  /** This provider's own settings under `destination:` (the shared ones are config/'s). */
  readonly configFields: Fields;
  /** What a mapping may set for itself (every key optional); config/ refuses them under another provider. */
  readonly mappingFields: z.core.$ZodLooseShape;
  /**
   * This provider's own settings of `policies.deletion` (every key optional; defaults are the
   * profile's). They reach the profile as `LifecyclePolicies.deletion.settings`.
   */
  readonly deletionFields: z.core.$ZodLooseShape;
  /** Name rules, limits, ownership encoding, capabilities: what the planner consults, for these settings. */
  profile(config: Config): DestinationProfile;
  /**
   * A mapping's provider settings (`ResolvedMapping.destinationOptions`): the mapping's own
   * (`mappings[i]` keys this provider knows) over the destination's. Only its profile reads them.
   */
  mappingOptions(config: Config, mapping: Record<string, unknown>): ProviderData;
  /** Builds the destination from its parsed `destination:` settings. */
  build(config: Config, context: DestinationBuildContext): BuiltDestination;
  /** This destination's part of the IAM policy, from its own input (`iam-policy` without -c builds one). */
  iamPolicy(input: IamInput): IamFragment;
  /** This destination's part of the IAM policy a config needs, and nothing more: its settings and mappings. */
  iamFragment(config: Config, target: IamTarget, mappings: readonly IamMapping[]): IamFragment;
}
