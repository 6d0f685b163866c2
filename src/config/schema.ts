// The configuration file's schema. Every key is documented in the README's config reference;
// unknown keys are errors, so a typo never silently falls back to a default.
import { z } from "zod";
import { nameShapeProblem, templateProblem } from "../core/naming.js";
import { mountProblem, pathProblem } from "../core/paths.js";
import { allowEntryProblem, DEFAULT_AUDIT_ALLOW_FROM, DEFAULT_AUDIT_IDLE_TIMEOUT_MS, DEFAULT_AUDIT_MAX_CONNECTIONS, DEFAULT_AUDIT_MAX_LINE_BYTES } from "./audit-settings.js";
import { scheduleProblem } from "./schedule.js";
import { SOURCE_CREDENTIALS_GO } from "../sources/vault/credentials.js";
import { hasUserinfo } from "../util/url.js";
import { boundProvider, DEFAULT_DESTINATION_TYPE, DESTINATION_PROVIDERS } from "../destinations/registry.js";

export { rateLimitsSchema } from "../destinations/aws-secrets-manager/config.js";

const positiveInt = (max: number) => z.number().int().min(1).max(max);

/**
 * A URL without user:pass@: userinfo travels into every place a URL is shown (logs, errors, tags,
 * the Lambda package). `instead` tells the user where the credential goes.
 */
const withoutUserinfo = <T extends z.ZodType<string>>(url: T, instead: string) =>
  url.refine((u) => !hasUserinfo(u), `must not hold a user name or password (user:pass@host): ${instead}`);

/** An http(s) URL without userinfo: every URL a config takes (the file, the Lambda's connection secret). */
export const httpUrl = (instead: string) => withoutUserinfo(z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }), instead);

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name, e.g. SECRETBRIDGE_NOTIFY_SECRET");

/**
 * Variables that hold secretbridge's own credentials (Vault token and AppRole secret id, AWS keys,
 * its API and webhook keys). A notification may not send them anywhere: a config that names one
 * as a header or query value would hand the receiver the keys to the source or the destination.
 */
const OWN_CREDENTIAL_VARIABLES = new Set([
  "VAULT_TOKEN",
  "BAO_TOKEN",
  "VAULT_SECRET_ID",
  "BAO_SECRET_ID",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "SECRETBRIDGE_API_TOKEN",
  "SECRETBRIDGE_WEBHOOK_SECRET",
  "SECRETBRIDGE_NOTIFY_SECRET",
]);
const notificationEnvVar = envVarName.refine((name) => !OWN_CREDENTIAL_VARIABLES.has(name.toUpperCase()), {
  message: "holds one of secretbridge's own credentials; a notification must not send it: name a variable that holds only the receiver's key",
});
/** RFC 9110 token characters: what a header name may hold. */
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const syncNamePattern = /^[A-Za-z0-9_.:/=+@-]{1,128}$/;
const prefixPattern = /^[A-Za-z0-9/_+=.@-]{1,256}$/;

const prefixSchema = z
  .string()
  .regex(prefixPattern, "1-256 characters of A-Z a-z 0-9 / _ + = . @ -")
  .refine((p) => !p.endsWith("/"), "must not end with /: secretbridge adds it")
  .refine((p) => p.endsWith("/") || nameShapeProblem(p) === undefined, "must not have empty, . or .. segments");

const mountSchema = z
  .string()
  .min(1)
  .regex(/^[^/\s][^\s]*[^/\s]$|^[^/\s]$/, "a mount path without leading or trailing slashes, e.g. hybrid-aws-secrets")
  .superRefine((mount, ctx) => {
    const problem = mountProblem(mount);
    if (problem) ctx.addIssue({ code: "custom", message: `a mount path without empty, . or .. segments, control characters, ? # % \\ " * or white space (${problem})` });
  });

const pathSchema = z.string().superRefine((path, ctx) => {
  const problem = path === "" ? undefined : pathProblem(path);
  if (problem) ctx.addIssue({ code: "custom", message: `a sub-path without leading or trailing slashes, e.g. team-a/prod (${problem})` });
});

const nameTemplateSchema = z.string().superRefine((t, ctx) => {
  const problem = templateProblem(t);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

const valueShapeFields = {
  /** secret: one destination secret per source secret (default); key: one per key. */
  granularity: z.enum(["secret", "key"], { error: "must be secret or key" }).optional(),
  /** json: the KV map as JSON; string: one key as a plain string; binary: one key's base64 as SecretBinary. */
  valueShape: z.enum(["json", "string", "binary"], { error: "must be json, string or binary" }).optional(),
  /** The key used by the string and binary shapes. */
  valueKey: z.string().min(1).optional(),
};

const SELECT_HINT = 'custom_metadata values are strings: quote numbers (wave: "3"), or list several (wave: ["3", "4"])';
/** custom_metadata key -> accepted value(s): which source secrets a mapping takes. */
const selectSchema = z
  .record(z.string().min(1, "a custom_metadata key"), z.union([z.string(), z.array(z.string(), { error: SELECT_HINT }).min(1, "list at least one value")], { error: SELECT_HINT }), {
    error: 'a map of custom_metadata key to value, e.g. select: { wave: "3" }',
  })
  .refine((select) => Object.keys(select).length > 0, "list at least one custom_metadata key, or remove select");

export const sourceSchema = z.strictObject({
  /** Only the secrets whose custom_metadata matches (every key, one of its values); default: all. */
  select: selectSchema.optional(),
  type: z.literal("vault").default("vault"),
  /**
   * A stable name for this source server, used in request tokens and ownership instead of its
   * address, so moving or respelling the address rewrites nothing. Default "default".
   */
  id: z.string().regex(/^[A-Za-z0-9_.:/=+@-]{1,64}$/, "1-64 characters of A-Z a-z 0-9 _ . : / = + @ -").default("default"),
  /** Default: $BAO_ADDR, then $VAULT_ADDR. */
  address: httpUrl(SOURCE_CREDENTIALS_GO).optional(),
  /** Prefer tokenFile or $BAO_TOKEN / $VAULT_TOKEN: a token in a config file is easy to leak. */
  token: z.string().min(1).optional(),
  /** Read again when it changes or a request is refused, so a Vault Agent sink's new tokens are used. */
  tokenFile: z.string().min(1).optional(),
  /** Default: $BAO_NAMESPACE, then $VAULT_NAMESPACE; none is the root namespace. */
  namespace: z.string().min(1).optional(),
  /** Log in instead of using a static token. */
  auth: z
    .discriminatedUnion("method", [
      z.strictObject({
        method: z.literal("approle"),
        roleId: z.string().min(1),
        /** File holding the secret id; default $VAULT_SECRET_ID. */
        secretIdFile: z.string().min(1).optional(),
        mountPath: z.string().min(1).default("approle"),
      }),
      z.strictObject({
        method: z.literal("aws"),
        role: z.string().min(1),
        mountPath: z.string().min(1).default("aws"),
        serverIdHeader: z.string().min(1).optional(),
        stsEndpoint: withoutUserinfo(z.url(), "AWS credentials come from the AWS SDK's credential chain").optional(),
        stsRegion: z.string().min(1).optional(),
      }),
    ], { error: "auth.method must be approle or aws (omit auth for a token)" })
    .optional(),
  /** Required unless `mappings` lists the mounts. */
  mount: mountSchema.optional(),
  path: pathSchema.default(""),
  /** Globs over the path relative to the mount (picomatch syntax); default: everything. */
  include: z.array(z.string().min(1)).default([]),
  exclude: z.array(z.string().min(1)).default([]),
  kvVersion: z.union([z.literal(1), z.literal(2), z.literal("auto")], { error: "must be 1, 2 or auto" }).default("auto"),
  tls: z
    .strictObject({
      /** Default: $BAO_CACERT, then $VAULT_CACERT. */
      caCertFile: z.string().min(1).optional(),
      insecureSkipVerify: z.boolean().default(false),
      serverName: z.string().min(1).optional(),
    })
    .optional(),
  concurrency: positiveInt(256).default(16),
  timeoutSeconds: z.number().positive().max(600).default(10),
  maxAttempts: positiveInt(20).default(4),
});


/** What is wrong with a tag key a user configures, or undefined. */
function tagKeyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > 127) return "tag keys are 1-127 characters";
  if (key.toLowerCase().startsWith("aws:")) return "the aws: tag prefix is reserved by AWS";
  if (key.startsWith("secretbridge:")) return "the secretbridge: tag prefix is reserved for ownership tags";
  return undefined;
}

/** Refines a record whose keys are tag keys. */
function checkTagKeys(tags: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const key of Object.keys(tags)) {
    const problem = tagKeyProblem(key);
    if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
  }
}

const staticTags = z.record(z.string(), z.string().max(255, "tag values are at most 255 characters")).superRefine(checkTagKeys);

const REQUIRED_TAG_HINT = "each required tag is { fromMetadata: <custom_metadata key> } or { value: <text> }, e.g. owner: { fromMetadata: owner }";
/** ABAC tags every secret must carry: tag key -> a custom_metadata key or a static value. */
const requiredTags = z
  .record(
    z.string(),
    z.union([z.strictObject({ fromMetadata: z.string().min(1, "names a custom_metadata key") }), z.strictObject({ value: z.string().min(1, "an empty tag value cannot match an ABAC condition").max(255, "tag values are at most 255 characters") })], {
      error: REQUIRED_TAG_HINT,
    }),
    { error: REQUIRED_TAG_HINT },
  )
  .superRefine(checkTagKeys);

const onMissingTag = z.enum(["fail", "warn"], { error: "must be fail (the secret is not written) or warn (written without the tag)" });

/** Tag keys set on create and never rewritten afterwards. */
const immutableTags = z
  .array(
    z.string().superRefine((key, ctx) => {
      const problem = tagKeyProblem(key);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
    { error: "a list of tag keys, e.g. [owner, data-classification]" },
  )
  .refine((keys) => new Set(keys).size === keys.length, "lists a tag key twice");


/** What every destination has: where names go and how values and tags are shaped. */
const destinationCommonFields = {
  prefix: prefixSchema.default("hybrid-aws-secrets"),
  tags: staticTags.default({}),
  /** Destination names; placeholders {prefix} {mount} {path} {dir} {name}. */
  nameTemplate: nameTemplateSchema.optional(),
  ...valueShapeFields,
  /** Copy each source secret's custom_metadata into tags (within the destination's limits; overflow reported). */
  copyCustomMetadata: z.boolean().default(false),
  /** ABAC tags each secret must carry; a mapping's own are added (its key wins). */
  requiredTags: requiredTags.default({}),
  onMissingTag: onMissingTag.default("fail"),
  /** Set on create, never rewritten; a mapping's own are added. */
  immutableTags: immutableTags.default([]),
};

/**
 * `destination.type` selects a registered provider and its own settings; a config without `type`
 * is the default provider's, as every config was before there were several.
 */
function variantOf(provider: (typeof DESTINATION_PROVIDERS)[number]) {
  return z.strictObject({ type: z.literal(provider.type), ...destinationCommonFields, ...provider.configFields });
}
type DestinationVariant = ReturnType<typeof variantOf>;
const destinationUnion = z.discriminatedUnion("type", DESTINATION_PROVIDERS.map(variantOf) as [DestinationVariant, ...DestinationVariant[]], {
  // Zod's own message names only the options; say what was given, and what is registered.
  error: (issue) => {
    if (issue.code !== "invalid_union" || issue.input === null || typeof issue.input !== "object") return undefined;
    const given = (issue.input as { type?: unknown }).type;
    return `${JSON.stringify(given)} is not a destination type; registered: ${DESTINATION_PROVIDERS.map((p) => p.type).join(", ")}`;
  },
});

export const destinationSchema = z.preprocess(
  (value) => (value !== null && typeof value === "object" && !Array.isArray(value) && !("type" in value) ? { ...value, type: DEFAULT_DESTINATION_TYPE } : value),
  destinationUnion,
);

export const notificationsSchema = z.strictObject({
  sns: z.strictObject({ topicArn: z.string().regex(/^arn:[a-z-]+:sns:/, "an SNS topic ARN") }).optional(),
  webhook: z
    .strictObject({
      url: httpUrl("name an environment variable in notifications.webhook.headersFromEnv (e.g. Authorization: Basic ...) instead"),
      /** Headers sent as written; a credential header here is refused for the Lambda and warned about elsewhere (config/credentials.ts). */
      headers: z.record(z.string(), z.string()).default({}),
      /** Headers whose values are read from environment variables (header name: variable name), so credentials stay out of the file. */
      headersFromEnv: z.record(z.string(), notificationEnvVar).default({}),
      /** Query parameters added to the URL from environment variables (parameter: variable name), for receivers that take a key only in the URL. */
      queryFromEnv: z.record(z.string().min(1), notificationEnvVar).default({}),
      timeoutSeconds: z.number().positive().max(120).default(10),
      /**
       * Name of the environment variable holding the HMAC key that signs each notification
       * (x-secretbridge-timestamp / x-secretbridge-signature, as incoming webhooks). The key itself
       * never goes in the config file. Default: sign with $SECRETBRIDGE_NOTIFY_SECRET when it is set.
       */
      signingSecretEnv: envVarName.optional(),
    })
    .superRefine((hook, ctx) => {
      const written = new Set(Object.keys(hook.headers).map((h) => h.toLowerCase()));
      for (const name of Object.keys(hook.headersFromEnv)) {
        if (!headerNamePattern.test(name)) ctx.addIssue({ code: "custom", path: ["headersFromEnv", name], message: "a header name, e.g. Authorization" });
        else if (written.has(name.toLowerCase())) ctx.addIssue({ code: "custom", path: ["headersFromEnv", name], message: "also set in notifications.webhook.headers; keep one" });
      }
      const inUrl = URL.parse(hook.url)?.searchParams;
      for (const name of Object.keys(hook.queryFromEnv)) {
        if (inUrl?.has(name)) ctx.addIssue({ code: "custom", path: ["queryFromEnv", name], message: "the url already has this parameter; remove it from the url" });
      }
    })
    .optional(),
  /** `serve` only: an identical failure set (paths and error classes) is re-sent after this long at the earliest. */
  repeatAfterMinutes: z.number().min(0).default(60),
});

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type Registered = (typeof DESTINATION_PROVIDERS)[number];

/**
 * Every provider's mapping and deletion settings, parsed wherever a mapping or a deletion policy
 * is; the config's refinement refuses those of a provider the config does not select.
 */
const providerFields = {
  mapping: Object.assign({}, ...DESTINATION_PROVIDERS.map((p) => p.mappingFields)) as UnionToIntersection<Registered["mappingFields"]>,
  deletion: Object.assign({}, ...DESTINATION_PROVIDERS.map((p) => p.deletionFields)) as UnionToIntersection<Registered["deletionFields"]>,
};

/** The settings in `given` that belong to providers other than `type` (by the `kind` of fields), with the provider they belong to. */
function foreignSettings(type: string, kind: "mappingFields" | "deletionFields", given: object | undefined): { key: string; owner: string }[] {
  const own = new Set(Object.keys(DESTINATION_PROVIDERS.find((p) => p.type === type)?.[kind] ?? {}));
  const owners = new Map(DESTINATION_PROVIDERS.flatMap((p) => Object.keys(p[kind]).map((key) => [key, p.type] as const)));
  return Object.entries(given ?? {})
    .filter(([key, value]) => value !== undefined && owners.has(key) && !own.has(key))
    .map(([key]) => ({ key, owner: owners.get(key) ?? "" }));
}

const WINDOW_HINT = 'a duration with its unit, such as "24h", "90m", "7d", or "0s" to count only this run\'s deletions';

const policyFields = {
  /** retain: report only; tag: mark orphaned; delete: the destination's deletion (a recovery window, or at once). */
  strategy: z.enum(["retain", "tag", "delete"], { error: "must be retain, tag or delete" }),
  maxShare: z.number().min(0).max(1, "a share between 0 and 1, e.g. 0.1 for 10%"),
  maxCount: z.number().int().min(0),
  /** At most this many deletions never trip the guard, whatever their share. */
  minCount: z.number().int().min(0).max(1000),
  /** Deletions of this sync within this long before a run count with the run's (resolved to milliseconds). */
  window: z
    .string({ error: WINDOW_HINT })
    .regex(/^\d{1,6}[smhd]$/, WINDOW_HINT),
  drift: z.enum(["overwrite", "report", "skip"], { error: "must be overwrite, report or skip" }),
  onConflict: z.enum(["fail", "adopt", "adopt-if-equal", "adopt-if-placeholder"], { error: "must be fail, adopt, adopt-if-equal or adopt-if-placeholder" }),
  /** adopt-if-placeholder: values an unmanaged "shell" secret may hold and still be adopted. */
  placeholderValues: z
    .array(z.string().max(65_536, "a placeholder value is at most 65,536 characters"), { error: 'a list of values, e.g. ["", "{}", "CHANGEME"]' })
    .max(100, "at most 100 placeholder values"),
};

export const policiesSchema = z.strictObject({
  deletion: z.strictObject({ strategy: policyFields.strategy.default("retain"), ...providerFields.deletion }).default({ strategy: "retain" }),
  blastRadius: z
    .strictObject({
      maxShare: policyFields.maxShare.default(0.1),
      maxCount: policyFields.maxCount.optional(),
      minCount: policyFields.minCount.default(2),
      window: policyFields.window.default("24h"),
    })
    .default({ maxShare: 0.1, minCount: 2, window: "24h" }),
  drift: policyFields.drift.default("overwrite"),
  onConflict: policyFields.onConflict.default("fail"),
  placeholderValues: policyFields.placeholderValues.default(["", "{}"]),
});

/** A mapping's policies: only what it overrides; every key left out is the top-level `policies` value. */
export const mappingPoliciesSchema = z.strictObject({
  deletion: z.strictObject({ strategy: policyFields.strategy.optional(), ...providerFields.deletion }).optional(),
  blastRadius: z
    .strictObject({ maxShare: policyFields.maxShare.optional(), maxCount: policyFields.maxCount.optional(), minCount: policyFields.minCount.optional(), window: policyFields.window.optional() })
    .optional(),
  drift: policyFields.drift.optional(),
  onConflict: policyFields.onConflict.optional(),
  placeholderValues: policyFields.placeholderValues.optional(),
});

/** One source mount / sub-path to one destination prefix; unset keys inherit from source / destination / policies. */
export const mappingSchema = z.strictObject({
  mount: mountSchema,
  path: pathSchema.default(""),
  include: z.array(z.string().min(1)).optional(),
  exclude: z.array(z.string().min(1)).optional(),
  prefix: prefixSchema.optional(),
  nameTemplate: nameTemplateSchema.optional(),
  ...valueShapeFields,
  tags: staticTags.optional(),
  copyCustomMetadata: z.boolean().optional(),
  /** Only the source secrets whose custom_metadata matches (a wave, an application); default: source.select. */
  select: selectSchema.optional(),
  requiredTags: requiredTags.optional(),
  onMissingTag: onMissingTag.optional(),
  immutableTags: immutableTags.optional(),
  ...providerFields.mapping,
  policies: mappingPoliciesSchema.optional(),
});

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, "host:port, e.g. 127.0.0.1:8080");

export const serviceSchema = z.strictObject({
  /** HTTP: /healthz, /readyz, /metrics, /api/status, /api/sync, /webhook. Loopback by default. */
  listen: hostPort.default("127.0.0.1:8080"),
  /** TCP listener for a Vault / OpenBao socket audit device (push trigger); off when unset. */
  auditListen: hostPort.optional(),
  /** Peers that may connect to the audit listener: IP addresses or CIDRs. Loopback by default. */
  auditAllowFrom: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const problem = allowEntryProblem(entry);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    )
    .min(1, "list at least one address, or remove the key for loopback only")
    .default([...DEFAULT_AUDIT_ALLOW_FROM]),
  /** Audit connections served at once (a server uses one per socket device); more are refused. */
  auditMaxConnections: positiveInt(1024).default(DEFAULT_AUDIT_MAX_CONNECTIONS),
  /** Longest audit line kept, in bytes; a longer one is dropped and its connection closed (a full sync follows the reconnect). */
  auditMaxLineBytes: z.number().int().min(4096).max(64 * 1024 * 1024).default(DEFAULT_AUDIT_MAX_LINE_BYTES),
  /** An audit connection silent this long is closed; the server reconnects on its next write. */
  auditIdleTimeoutSeconds: positiveInt(7 * 24 * 3600).default(DEFAULT_AUDIT_IDLE_TIMEOUT_MS / 1000),
  /** Changed paths waiting for a targeted sync at most; more collapse into one full sync. */
  maxPendingPaths: positiveInt(1_000_000).default(10_000),
  /** At most one full sync triggered by audit reconnects (and deletes) per this many seconds. */
  fullSyncMinIntervalSeconds: z.number().int().min(0).max(24 * 3600).default(60),
  /** Full syncs, the safety net: 5-field cron or EventBridge cron(...). */
  schedule: z
    .string()
    .superRefine((expr, ctx) => {
      const problem = scheduleProblem(expr);
      if (problem) ctx.addIssue({ code: "custom", message: `is not a valid schedule: ${problem}` });
    })
    .default("*/30 * * * *"),
  /** Milliseconds to wait after a trigger so a burst becomes one targeted sync. */
  coalesceMs: z.number().int().min(0).max(60_000).default(50),
  /** Directory where run history, per-secret state and held deletions survive restarts (created 0700); in memory when unset. */
  stateDir: z.string().min(1).optional(),
});

/** `secretbridge discover`: the rules behind its suggested strategy (retire, retain, relocate). */
export const discoverSchema = z.strictObject({
  /** Not updated for at least this many days suggests retire. */
  retireAfterDays: z.number().int().min(1).max(36_500).default(365),
  /** A custom_metadata key with this value (trimmed, case-insensitive) means retain; replaces the default as a whole. */
  retainWhen: z.record(z.string().min(1), z.string()).default({ migrate: "no" }),
});

export const targetNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A named migration wave: the source secrets whose custom_metadata matches, for `release`, `adopt` and `discover` `--wave NAME`. */
export const waveSchema = z.strictObject({
  /** No "=": `--wave KEY=VALUE` selects by custom_metadata without a name. */
  name: z.string().regex(targetNamePattern, "1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit (--wave KEY=VALUE selects by custom_metadata without a name)"),
  /** Values as lists, as a mapping's select resolves. */
  select: selectSchema.transform((select) => Object.fromEntries(Object.entries(select).map(([key, v]) => [key, typeof v === "string" ? [v] : v]))),
});

const isPlainObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

/** The keys a destination of this type takes: the shared ones and its provider's own. */
function destinationKeys(type: unknown): Set<string> | undefined {
  const provider = DESTINATION_PROVIDERS.find((p) => p.type === type);
  return provider ? new Set(["type", ...Object.keys(destinationCommonFields), ...Object.keys(provider.configFields)]) : undefined;
}

/**
 * A target's `destination`: the top-level `destination` with each key the target sets replaced
 * whole (an `assumeRole` of its own does not inherit the top-level external id). A target of
 * another type inherits only the keys its provider takes: the others are the top-level
 * destination's own, not a mistake in the target. Done on the raw input, so each merged block is
 * then parsed (defaults and all) by its provider's schema and its errors name the target.
 */
function mergeTargetDestinations(raw: unknown): unknown {
  if (!isPlainObject(raw) || !Array.isArray(raw.targets)) return raw;
  const top = isPlainObject(raw.destination) ? raw.destination : {};
  const targets = raw.targets.map((target: unknown) => {
    if (!isPlainObject(target) || !(target.destination === undefined || isPlainObject(target.destination))) return target;
    const own = target.destination ?? {};
    const type = own.type ?? top.type ?? DEFAULT_DESTINATION_TYPE;
    const takes = type === (top.type ?? DEFAULT_DESTINATION_TYPE) ? undefined : destinationKeys(type);
    const inherited = Object.fromEntries(Object.entries(top).filter(([key]) => !takes || takes.has(key)));
    return { ...target, destination: { ...inherited, ...own } };
  });
  return { ...raw, targets };
}

/** One destination (account, Region, prefix) of a sync: its `destination` merged over the top-level one. */
export const targetSchema = z.strictObject({
  /** Names the target in reports, JSON, notifications and `--target`. */
  name: z.string().regex(targetNamePattern, "1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit"),
  destination: destinationSchema,
  /** Default: the top-level mappings. */
  mappings: z.array(mappingSchema).min(1, "list at least one mapping, or remove the key for the top-level mappings").optional(),
});

/** Where a destination and the mappings it receives sit in the config, for the checks that relate them. */
interface DestinationUnit {
  destination: z.infer<typeof destinationSchema>;
  where: (string | number)[];
  mappings: z.infer<typeof mappingSchema>[] | undefined;
  mappingsWhere: (string | number)[];
}

const configObject = z.strictObject({
  /** Identifies this sync in ownership tags, so two syncs never modify each other's secrets. */
  name: z.string().regex(syncNamePattern, "1-128 characters of A-Z a-z 0-9 _ . : / = + @ -"),
  source: sourceSchema,
  destination: destinationSchema.default(destinationSchema.parse({})),
  sync: z
    .strictObject({
      /** Secrets processed at once (value read + write). */
      concurrency: positiveInt(256).default(8),
    })
    .default({ concurrency: 8 }),
  notifications: notificationsSchema.default(notificationsSchema.parse({})),
  policies: policiesSchema.default(policiesSchema.parse({})),
  service: serviceSchema.default(serviceSchema.parse({})),
  discover: discoverSchema.default(discoverSchema.parse({})),
  /** Several mounts / prefixes in one sync; default: one mapping from source.mount and destination.prefix. */
  mappings: z.array(mappingSchema).min(1, "list at least one mapping, or remove the key").optional(),
  /** Several destinations (accounts, Regions, prefixes), each run on its own; default: one, the top-level destination. */
  targets: z.array(targetSchema).min(1, "list at least one target, or remove the key").optional(),
  /** Named migration waves, picked with `--wave NAME`. */
  waves: z.array(waveSchema, { error: 'a list of { name, select }, e.g. waves: [{ name: wave-3, select: { wave: "3" } }]' }).min(1, "list at least one wave, or remove the key").optional(),
}).superRefine((config, ctx) => {
  if (!config.mappings && !config.source.mount && (config.targets ?? [{ mappings: undefined }]).some((t) => !t.mappings)) {
    ctx.addIssue({ code: "custom", path: ["source", "mount"], message: "is required (or list the mounts under mappings)" });
  }
  const units: DestinationUnit[] = config.targets
    ? config.targets.map((t, i) => ({
        destination: t.destination,
        where: ["targets", i, "destination"],
        mappings: t.mappings ?? config.mappings,
        mappingsWhere: t.mappings ? ["targets", i, "mappings"] : ["mappings"],
      }))
    : [{ destination: config.destination, where: ["destination"], mappings: config.mappings, mappingsWhere: ["mappings"] }];
  // Top-level mappings and policies meet every target that inherits them: say each problem once.
  const said = new Set<string>();
  const issue = (path: (string | number)[], message: string) => {
    const key = JSON.stringify([path, message]);
    if (said.has(key)) return;
    said.add(key);
    ctx.addIssue({ code: "custom", path, message });
  };
  const seen = new Map<string, number>();
  for (const [i, t] of (config.targets ?? []).entries()) {
    const first = seen.get(t.name);
    if (first !== undefined) issue(["targets", i, "name"], `"${t.name}" is also the name of targets[${first}]; target names are unique`);
    else seen.set(t.name, i);
  }
  const waves = new Map<string, number>();
  for (const [i, w] of (config.waves ?? []).entries()) {
    const first = waves.get(w.name);
    if (first !== undefined) issue(["waves", i, "name"], `"${w.name}" is also the name of waves[${first}]; wave names are unique`);
    else waves.set(w.name, i);
  }
  for (const unit of units) checkDestinationUnit(unit, config.policies, issue);
});

/**
 * The checks that relate a destination to the mappings and policies it receives: name templates
 * and granularity, settings of another provider, deletion strategies, value shapes.
 */
function checkDestinationUnit({ destination, where: dw, mappings, mappingsWhere }: DestinationUnit, policies: z.infer<typeof policiesSchema>, issue: (path: (string | number)[], message: string) => void): void {
  const typeKey = [...dw, "type"].map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
  const grains = [
    { where: dw, granularity: destination.granularity, template: destination.nameTemplate },
    ...(mappings ?? []).map((m, i) => ({ where: [...mappingsWhere, i], granularity: m.granularity ?? destination.granularity, template: m.nameTemplate ?? destination.nameTemplate })),
  ];
  for (const { where, granularity, template } of grains) {
    if (!template) continue;
    if (granularity === "key" && !template.includes("{key}")) {
      issue([...where, "nameTemplate"], "needs {key} with granularity key, or every key would get the same name");
    }
    if (granularity !== "key" && template.includes("{key}")) {
      issue([...where, "nameTemplate"], "uses {key}, which only exists with granularity key");
    }
  }
  // Another provider's settings would be ignored: say so rather than drop them.
  const type = destination.type;
  const placed: { where: (string | number)[]; kind: "mappingFields" | "deletionFields"; given: object | undefined }[] = [
    { where: ["policies", "deletion"], kind: "deletionFields", given: policies.deletion },
    ...(mappings ?? []).flatMap((m, i) => [
      { where: [...mappingsWhere, i], kind: "mappingFields" as const, given: m },
      { where: [...mappingsWhere, i, "policies", "deletion"], kind: "deletionFields" as const, given: m.policies?.deletion },
    ]),
  ];
  for (const { where, kind, given } of placed) {
    for (const { key, owner } of foreignSettings(type, kind, given)) {
      issue([...where, key], `is a setting of ${owner}; ${typeKey} is ${type}`);
    }
  }
  // A strategy the destination cannot carry out is refused here, before any run plans it.
  const strategies = boundProvider(destination).profile().deletionStrategies;
  const deletions = [
    { where: ["policies", "deletion", "strategy"], strategy: policies.deletion.strategy },
    ...(mappings ?? []).map((m, i) => ({ where: [...mappingsWhere, i, "policies", "deletion", "strategy"], strategy: m.policies?.deletion?.strategy })),
  ];
  for (const { where, strategy } of deletions) {
    if (strategy !== undefined && !strategies.includes(strategy)) {
      issue(where, `${strategy} is not a deletion strategy of ${type}; it offers ${strategies.join(" or ")}`);
    }
  }
  const shapes = [
    { where: dw, shape: destination.valueShape, key: destination.valueKey },
    ...(mappings ?? []).map((m, i) => ({ where: [...mappingsWhere, i], shape: m.valueShape, key: m.valueKey ?? destination.valueKey })),
  ];
  for (const { where, shape, key } of shapes) {
    if ((shape === "string" || shape === "binary") && !key) {
      issue([...where, "valueKey"], `is required with valueShape ${shape}: the key whose value is written`);
    }
  }
}

export const configSchema = z.preprocess(mergeTargetDestinations, configObject);

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type DestinationConfig = z.infer<typeof destinationSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type MappingConfig = z.infer<typeof mappingSchema>;
