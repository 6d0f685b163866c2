// What the planner needs to know about a destination system, without knowing which one it is:
// its name rules, value and tag limits, and which existing secrets are not ours to write. Each
// destination provider exports its profile; `core/` holds no vendor constant.
import type { DestinationSecretMeta, ProviderData } from "./model.js";
import type { DeletionStrategy, LifecyclePolicies } from "./policies.js";
import type { RenderedValue } from "./value.js";

export interface DestinationProfile {
  /** e.g. `aws-secrets-manager`; shown in messages. */
  readonly kind: string;
  /** Why the destination would reject (or mishandle) this name, or undefined. */
  nameProblem(name: string): string | undefined;
  /** Why the destination would reject this value (size, form), or undefined. */
  valueProblem(value: RenderedValue): string | undefined;
  /**
   * What writing this value costs or changes that a user should hear of (e.g. a billed tier), one
   * line each; never the value. Present only when some value would warn: then a plan reads the
   * values of its writes to say so, and a sync says so from the value it writes.
   */
  writeWarnings?(value: RenderedValue): string[];
  /** Most tags one secret may carry. */
  readonly maxTags: number;
  /** Longest tag value (bounds the record of the tag keys secretbridge set). */
  readonly maxTagValueLength: number;
  /** Why the destination would reject this tag set, one line per problem. */
  tagProblems(tags: Record<string, string>): string[];
  /** What a user does about a secret scheduled for deletion, e.g. how to restore it. */
  readonly pendingDeletionHint: string;
  /**
   * Why secretbridge must never write this existing secret (managed by a service, rotated by the
   * destination), or undefined. It governs every action: no update, restore, tag, untag or delete.
   */
  notWritable(secret: DestinationSecretMeta): string | undefined;
  /**
   * How ownership is encoded here: the version ids that can prove secretbridge wrote the secret
   * (a value written with a request token carries the token as its id, which no tag writer can
   * set), as the listing gave them. `current` holds the value readers get; `previous` those a
   * later write pushed aside that the destination still keeps labelled (after a hand edit).
   */
  writtenVersions(secret: DestinationSecretMeta): { current?: string; previous: string[] };
  /**
   * The tags that record a mapping's provider settings (`ResolvedMapping.destinationOptions`) on
   * each secret, so a changed setting is seen from the listing alone. Their keys are secretbridge's.
   */
  settingTags(options: ProviderData | undefined): Record<string, string>;
  /** The provider data a create carries (every setting). */
  createData(options: ProviderData | undefined): ProviderData;
  /** The settings an existing secret's recorded tags show out of date, each with its provider data. */
  settingUpdates(options: ProviderData | undefined, recorded: Record<string, string>): SettingUpdate[];
  /**
   * The deletion strategies this destination can carry out (`tag` needs an orphan mark its
   * listing shows); config/ refuses the others, naming these.
   */
  readonly deletionStrategies: readonly DeletionStrategy[];
  /** How a deletion under this policy goes here: words for the plan's reason, whether it is at once, and the provider's data for it. */
  deletionOf(policy: LifecyclePolicies["deletion"]): { describe: string; immediate: boolean; provider: ProviderData };
}

/** One provider setting to bring up to date on an existing secret. */
export interface SettingUpdate {
  /** Its name in the action's `changes`, e.g. `replicas`. */
  change: string;
  reason: string;
  provider: ProviderData;
}
