// The configuration file's schema. Every key carries its description (`.describe()`), from which
// `npm run docs:config` writes the reference in docs/configuration.md; unknown keys are errors, so
// a typo never silently falls back to a default.
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
  granularity: z
    .enum(["secret", "key"], { error: "must be secret or key" })
    .optional()
    .meta({ description: "secret: one destination secret per source secret; key: one per key of each source secret.", documentedDefault: "`secret`" }),
  valueShape: z
    .enum(["json", "string", "binary"], { error: "must be json, string or binary" })
    .optional()
    .meta({ description: "json: the KV map as JSON (keys sorted); string: valueKey's value as a plain string; binary: valueKey's base64 as SecretBinary.", documentedDefault: "`json`" }),
  valueKey: z.string().min(1).optional().describe("The key the string and binary shapes write; required with them."),
};

/** A mapping's copy of a destination key: its description, and the destination's value as default. */
const fromDestination = <T extends z.ZodType>(schema: T, key: string) => schema.meta({ documentedDefault: `\`destination.${key}\`` });

const SELECT_HINT = 'custom_metadata values are strings: quote numbers (wave: "3"), or list several (wave: ["3", "4"])';
/** custom_metadata key -> accepted value(s): which source secrets a mapping takes. */
const selectSchema = z
  .record(z.string().min(1, "a custom_metadata key"), z.union([z.string(), z.array(z.string(), { error: SELECT_HINT }).min(1, "list at least one value")], { error: SELECT_HINT }), {
    error: 'a map of custom_metadata key to value, e.g. select: { wave: "3" }',
  })
  .refine((select) => Object.keys(select).length > 0, "list at least one custom_metadata key, or remove select");

export const sourceSchema = z.strictObject({
  select: selectSchema
    .optional()
    .meta({
      description:
        'Only the secrets whose custom_metadata matches: custom_metadata key to a value or a list of values (quote numbers: wave: "3"); a secret is taken when every key has one of its values. Leaving a selection never deletes a secret (see docs/migrating.md).',
      documentedDefault: "none: every secret in scope",
    }),
  type: z.literal("vault").default("vault").describe("The source system: Vault or OpenBao (the only type)."),
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.:/=+@-]{1,64}$/, "1-64 characters of A-Z a-z 0-9 _ . : / = + @ -")
    .default("default")
    .describe("1-64 characters of A-Z a-z 0-9 _ . : / = + @ -. The source's stable name, used by request tokens and ownership instead of its address, so moving the address rewrites nothing (see docs/upgrading.md)."),
  address: httpUrl(SOURCE_CREDENTIALS_GO)
    .optional()
    .meta({ description: "http:// or https:// URL of Vault or OpenBao, without user:pass@ (refused, here and in the variables). In tags only as the informational secretbridge:source.", documentedDefault: "$BAO_ADDR, then $VAULT_ADDR" }),
  token: z.string().min(1).optional().describe("A token in the file itself; taken before tokenFile. Discouraged: a token in a config file is easy to leak."),
  tokenFile: z
    .string()
    .min(1)
    .optional()
    .describe("File holding the token; read again when it changes or a request is refused (a Vault Agent file sink works). Without token, tokenFile or auth: $BAO_TOKEN, $VAULT_TOKEN, then ~/.vault-token."),
  namespace: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "Vault Enterprise / OpenBao namespace (X-Vault-Namespace header).", documentedDefault: "$BAO_NAMESPACE, then $VAULT_NAMESPACE (none: the root namespace)" }),
  auth: z
    .discriminatedUnion("method", [
      z.strictObject({
        method: z.literal("approle").describe("How to log in: approle (AppRole) or aws (Vault's AWS IAM auth, signing sts:GetCallerIdentity with the AWS SDK's default credentials). Omit auth for a token."),
        roleId: z.string().min(1).describe("The AppRole role id."),
        secretIdFile: z.string().min(1).optional().meta({ description: "File holding the AppRole secret id.", documentedDefault: "$VAULT_SECRET_ID" }),
        mountPath: z.string().min(1).default("approle").describe("Where the AppRole auth method is mounted."),
      }),
      z.strictObject({
        method: z.literal("aws"),
        role: z.string().min(1).describe("The Vault role to log in as."),
        mountPath: z.string().min(1).default("aws").describe("Where the AWS auth method is mounted."),
        serverIdHeader: z.string().min(1).optional().describe("Vault's iam_server_id_header_value, if it sets one."),
        stsEndpoint: withoutUserinfo(z.url(), "AWS credentials come from the AWS SDK's credential chain")
          .optional()
          .meta({ description: "The STS URL the login request is signed for (no user:pass@).", documentedDefault: "`https://sts.amazonaws.com/`" }),
        stsRegion: z.string().min(1).optional().meta({ description: "The Region the login request is signed for.", documentedDefault: "`us-east-1`" }),
      }),
    ], { error: "auth.method must be approle or aws (omit auth for a token)" })
    .optional()
    .describe("Log in instead of using a static token; the token is renewed at half its TTL."),
  mount: mountSchema
    .optional()
    .describe('The KV mount; required unless mappings lists the mounts. No empty, . or .. segments, control characters, ? # % \\ " * or white space (they change a request URL or a policy).'),
  path: pathSchema.default("").describe('Sub-path under the mount ("": the whole mount); destination names stay relative to the mount.'),
  include: z.array(z.string().min(1)).default([]).describe("picomatch globs over the path relative to the mount; empty: everything."),
  exclude: z.array(z.string().min(1)).default([]).describe('Globs of paths left out: never written, and never deleted as "missing".'),
  kvVersion: z
    .union([z.literal(1), z.literal(2), z.literal("auto")], { error: "must be 1, 2 or auto" })
    .default("auto")
    .describe("The KV engine version; auto detects it per mount. Applies to every mapping."),
  tls: z
    .strictObject({
      caCertFile: z
        .string()
        .min(1)
        .optional()
        .meta({ description: "PEM file of the CA to trust (a relative path in the variables is from the working directory).", documentedDefault: "$BAO_CACERT, then $VAULT_CACERT" }),
      insecureSkipVerify: z.boolean().default(false).describe("Skip verifying the server's certificate."),
      serverName: z.string().min(1).optional().describe("The TLS server name to verify."),
    })
    .optional()
    .describe("TLS to the source."),
  concurrency: positiveInt(256)
    .default(16)
    .describe("Parallel LIST, metadata and value reads. On Vault (no OpenBao scan: one metadata read per secret) start at 32 (docs/performance.md)."),
  timeoutSeconds: z.number().positive().max(600).default(10).describe("Timeout of each source request."),
  maxAttempts: positiveInt(20).default(4).describe("Attempts per request, with exponential backoff and jitter, on network errors, 429 and 5xx."),
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
  prefix: prefixSchema
    .default("hybrid-aws-secrets")
    .describe("Where replicated secrets go: 1-256 characters of A-Z a-z 0-9 / _ + = . @ -, no trailing /, no empty, . or .. segment."),
  tags: staticTags
    .default({})
    .describe("Static tags on every replicated secret: keys 1-127 characters, not aws: or secretbridge:; values up to 255 characters."),
  nameTemplate: nameTemplateSchema
    .optional()
    .meta({
      description: "Destination names, from the placeholders {prefix} {mount} {path} {dir} {name} {key} (see docs/mappings.md).",
      documentedDefault: "`{prefix}/{path}`, or `{prefix}/{path}/{key}` with granularity key",
    }),
  ...valueShapeFields,
  copyCustomMetadata: z
    .boolean()
    .default(false)
    .describe("Copy each source secret's custom_metadata into tags, within the destination's limits (50 tags, 127/255 characters); what does not fit is reported."),
  requiredTags: requiredTags
    .default({})
    .describe("ABAC tags every secret must carry: tag key to { fromMetadata: <custom_metadata key> } or { value: <text> }. They win over tags and copyCustomMetadata on the same key."),
  onMissingTag: onMissingTag
    .default("fail")
    .describe("fail: a secret lacking a required tag is not written (class missing-tag); warn: it is written without the tag, with a warning."),
  immutableTags: immutableTags.default([]).describe("Tag keys set on create and never rewritten or removed afterwards."),
};

/**
 * `destination.type` selects a registered provider and its own settings; a config without `type`
 * is the default provider's, as every config was before there were several.
 */
function variantOf(provider: (typeof DESTINATION_PROVIDERS)[number]) {
  const type = z.literal(provider.type).meta({
    description: `Selects the destination provider and the keys it takes (rows marked with a type). A config without type writes to ${DEFAULT_DESTINATION_TYPE}; an unknown type is refused, naming the registered ones.`,
    documentedDefault: `\`${DEFAULT_DESTINATION_TYPE}\``,
  });
  return z.strictObject({ type, ...destinationCommonFields, ...provider.configFields });
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
  sns: z
    .strictObject({ topicArn: z.string().regex(/^arn:[a-z-]+:sns:/, "an SNS topic ARN").describe("The topic's ARN; published in the topic's Region.") })
    .optional()
    .describe("Publish failure notices to an SNS topic."),
  webhook: z
    .strictObject({
      url: httpUrl("name an environment variable in notifications.webhook.headersFromEnv (e.g. Authorization: Basic ...) instead").describe(
        "http:// or https://, no user:pass@ (refused). A credential in the query string (see Credentials in the config file) is warned about, and refused by cdk synth.",
      ),
      headers: z.record(z.string(), z.string()).default({}).describe("Headers sent as written; a credential header here is warned about, and refused by cdk synth."),
      headersFromEnv: z
        .record(z.string(), notificationEnvVar)
        .default({})
        .describe(
          "Header name to the environment variable holding its whole value (e.g. \"Bearer ...\"). A variable named here must be set, or the config is refused; a header may not also be in headers; secretbridge's own credential variables (VAULT_TOKEN, BAO_TOKEN, VAULT_SECRET_ID, AWS_*_KEY*, AWS_SESSION_TOKEN, SECRETBRIDGE_*) are refused.",
        ),
      queryFromEnv: z
        .record(z.string().min(1), notificationEnvVar)
        .default({})
        .describe("Query parameter added to url to the environment variable holding its value, for receivers that take a key only in the URL. Must be set; not also in url; the same variables are refused."),
      timeoutSeconds: z.number().positive().max(120).default(10).describe("Timeout of each notification request."),
      signingSecretEnv: envVarName.optional().meta({
        description:
          "The environment variable holding the HMAC key that signs each notice (x-secretbridge-timestamp / x-secretbridge-signature, as /webhook); a variable named here must be set, or the config is refused. The key never goes in the file.",
        documentedDefault: "none: $SECRETBRIDGE_NOTIFY_SECRET signs when it is set",
      }),
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
    .optional()
    .describe("POST failure notices to a URL."),
  repeatAfterMinutes: z
    .number()
    .min(0)
    .default(60)
    .describe("serve only: the same failure set (paths and error classes) is not sent again within this window; 0 sends every failing run."),
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

const POLICY_TEXT = {
  deletion: "What happens to a destination secret whose source secret is gone (see docs/lifecycle-and-safety.md).",
  strategy: "retain: report it only; tag: mark it orphaned (secretbridge:orphaned-at); delete: the destination's deletion (a recovery window, or at once).",
  blastRadius: "The guard that stops a run from deleting too much at once.",
  maxShare: "At most this share of the secrets a run sees may be deleted (0.1: 10%).",
  maxCount: "At most this many deletions per run.",
  minCount: "At most this many deletions never trip the guard, whatever their share.",
  window: "A number and s, m, h or d. This sync's deletions within this long before a run count with the run's (0s: only this run's).",
  drift: "A destination secret edited by hand: overwrite it with the source value, report it, or skip it.",
  onConflict:
    "A name held by a secret secretbridge did not write: fail (leave it, report a conflict), adopt it, adopt-if-equal (only when the values are equal) or adopt-if-placeholder (only when it holds one of placeholderValues, or no value).",
  placeholderValues: 'With adopt-if-placeholder: the values of a "shell" secret that may be adopted and filled (up to 100).',
};
/** A mapping's policy key: the top-level policy's text, with that policy as its default. */
const overrides = <T extends z.ZodType>(schema: T, key: string, text: string) => schema.meta({ description: text, documentedDefault: `\`policies.${key}\`` });

export const policiesSchema = z.strictObject({
  deletion: z
    .strictObject({ strategy: policyFields.strategy.default("retain").describe(POLICY_TEXT.strategy), ...providerFields.deletion })
    .default({ strategy: "retain" })
    .describe(POLICY_TEXT.deletion),
  blastRadius: z
    .strictObject({
      maxShare: policyFields.maxShare.default(0.1).describe(POLICY_TEXT.maxShare),
      maxCount: policyFields.maxCount.optional().meta({ description: POLICY_TEXT.maxCount, documentedDefault: "none" }),
      minCount: policyFields.minCount.default(2).describe(POLICY_TEXT.minCount),
      window: policyFields.window.default("24h").describe(POLICY_TEXT.window),
    })
    .default({ maxShare: 0.1, minCount: 2, window: "24h" })
    .describe(POLICY_TEXT.blastRadius),
  drift: policyFields.drift.default("overwrite").describe(POLICY_TEXT.drift),
  onConflict: policyFields.onConflict.default("fail").describe(POLICY_TEXT.onConflict),
  placeholderValues: policyFields.placeholderValues.default(["", "{}"]).describe(POLICY_TEXT.placeholderValues),
}).describe("What each value means: docs/lifecycle-and-safety.md. Everything they do shows up in plan first.");

/** The providers' deletion settings as a mapping sees them: unset, the top-level policy's value. */
const mappingDeletionFields = Object.fromEntries(
  Object.entries(providerFields.deletion).map(([key, field]) => [key, (field as z.ZodType).meta({ documentedDefault: `\`policies.deletion.${key}\`` })]),
) as typeof providerFields.deletion;

/** A mapping's policies: only what it overrides; every key left out is the top-level `policies` value. */
export const mappingPoliciesSchema = z.strictObject({
  deletion: z
    .strictObject({ strategy: overrides(policyFields.strategy.optional(), "deletion.strategy", POLICY_TEXT.strategy), ...mappingDeletionFields })
    .optional()
    .describe(POLICY_TEXT.deletion),
  blastRadius: z
    .strictObject({
      maxShare: overrides(policyFields.maxShare.optional(), "blastRadius.maxShare", POLICY_TEXT.maxShare),
      maxCount: overrides(policyFields.maxCount.optional(), "blastRadius.maxCount", POLICY_TEXT.maxCount),
      minCount: overrides(policyFields.minCount.optional(), "blastRadius.minCount", POLICY_TEXT.minCount),
      window: overrides(policyFields.window.optional(), "blastRadius.window", POLICY_TEXT.window),
    })
    .optional()
    .describe(POLICY_TEXT.blastRadius),
  drift: overrides(policyFields.drift.optional(), "drift", POLICY_TEXT.drift),
  onConflict: overrides(policyFields.onConflict.optional(), "onConflict", POLICY_TEXT.onConflict),
  placeholderValues: overrides(policyFields.placeholderValues.optional(), "placeholderValues", POLICY_TEXT.placeholderValues),
});

/** One source mount / sub-path to one destination prefix; unset keys inherit from source / destination / policies. */
export const mappingSchema = z.strictObject({
  mount: mountSchema.describe("The KV mount."),
  path: pathSchema.default("").describe('Sub-path under the mount ("": the whole mount).'),
  include: z.array(z.string().min(1)).optional().meta({ description: "picomatch globs over the path relative to the mount.", documentedDefault: "`source.include`" }),
  exclude: z.array(z.string().min(1)).optional().meta({ description: "Globs of paths left out.", documentedDefault: "`source.exclude`" }),
  prefix: fromDestination(prefixSchema.optional().describe("Where this mapping's secrets go."), "prefix"),
  nameTemplate: nameTemplateSchema
    .optional()
    .meta({ description: "Destination names (see docs/mappings.md).", documentedDefault: "`destination.nameTemplate`, else the granularity's default" }),
  granularity: fromDestination(valueShapeFields.granularity, "granularity"),
  valueShape: fromDestination(valueShapeFields.valueShape, "valueShape"),
  valueKey: fromDestination(valueShapeFields.valueKey, "valueKey"),
  tags: staticTags.optional().describe("Added to destination.tags (the mapping's value wins on the same key)."),
  copyCustomMetadata: fromDestination(z.boolean().optional().describe("Copy each source secret's custom_metadata into tags."), "copyCustomMetadata"),
  select: selectSchema
    .optional()
    .meta({ description: "Only the source secrets whose custom_metadata matches (a wave, an application), as source.select.", documentedDefault: "`source.select`" }),
  requiredTags: requiredTags.optional().describe("Added to destination.requiredTags (the mapping's value wins on the same key)."),
  onMissingTag: fromDestination(onMissingTag.optional().describe("fail or warn, as destination.onMissingTag."), "onMissingTag"),
  immutableTags: immutableTags.optional().describe("Added to destination.immutableTags."),
  ...providerFields.mapping,
  policies: mappingPoliciesSchema
    .optional()
    .meta({ description: "This mapping's policies: each key set here overrides that key of the top-level policies only.", documentedDefault: "the top-level `policies`" }),
});

const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, "host:port, e.g. 127.0.0.1:8080");

export const serviceSchema = z.strictObject({
  listen: hostPort.default("127.0.0.1:8080").describe("host:port of the HTTP server: /healthz, /readyz, /metrics, the status page and API, /webhook (see docs/service.md)."),
  auditListen: hostPort.optional().meta({ description: "host:port of the TCP listener for a Vault / OpenBao socket audit device (the push trigger).", documentedDefault: "off" }),
  auditAllowFrom: z
    .array(
      z.string().superRefine((entry, ctx) => {
        const problem = allowEntryProblem(entry);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
    )
    .min(1, "list at least one address, or remove the key for loopback only")
    .default([...DEFAULT_AUDIT_ALLOW_FROM])
    .describe("IP addresses or CIDRs that may connect to auditListen (loopback only by default); a server on another host needs its address here."),
  auditMaxConnections: positiveInt(1024)
    .default(DEFAULT_AUDIT_MAX_CONNECTIONS)
    .describe("Audit connections served at once (a server uses one per socket device); more are refused."),
  auditMaxLineBytes: z
    .number()
    .int()
    .min(4096)
    .max(64 * 1024 * 1024)
    .default(DEFAULT_AUDIT_MAX_LINE_BYTES)
    .describe("Longest audit line kept, in bytes (1 MiB by default); a longer one is dropped and its connection closed (a full sync follows the reconnect)."),
  auditIdleTimeoutSeconds: positiveInt(7 * 24 * 3600)
    .default(DEFAULT_AUDIT_IDLE_TIMEOUT_MS / 1000)
    .describe("A silent audit connection is closed after this long; the server reconnects on its next write."),
  maxPendingPaths: positiveInt(1_000_000)
    .default(10_000)
    .describe("Changed paths waiting for a targeted sync; one more drops them for one full sync instead."),
  fullSyncMinIntervalSeconds: z
    .number()
    .int()
    .min(0)
    .max(24 * 3600)
    .default(60)
    .describe("At most one full sync per this many seconds for audit (re)connections, deletes and the pending-path cap; the rest are folded into it."),
  schedule: z
    .string()
    .superRefine((expr, ctx) => {
      const problem = scheduleProblem(expr);
      if (problem) ctx.addIssue({ code: "custom", message: `is not a valid schedule: ${problem}` });
    })
    .default("*/30 * * * *")
    .describe("Full syncs, the safety net: 5-field cron or EventBridge cron(...)."),
  coalesceMs: z.number().int().min(0).max(60_000).default(50).describe("Milliseconds to wait after a trigger so a burst becomes one targeted sync."),
  stateDir: z
    .string()
    .min(1)
    .optional()
    .meta({
      description: "Run history, per-secret state and held deletions, in LevelDB under <stateDir>/leveldb (created 0700); one process per directory.",
      documentedDefault: "none: in memory, empty after a restart",
    }),
});

/** `secretbridge discover`: the rules behind its suggested strategy (retire, retain, relocate). */
export const discoverSchema = z.strictObject({
  retireAfterDays: z.number().int().min(1).max(36_500).default(365).describe("A secret not updated for at least this many days is suggested for retire."),
  retainWhen: z
    .record(z.string().min(1), z.string())
    .default({ migrate: "no" })
    .describe("A custom_metadata key with this value (trimmed, any case) means retain; setting it replaces the default as a whole."),
});

export const targetNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A named migration wave: the source secrets whose custom_metadata matches, for `release`, `adopt` and `discover` `--wave NAME`. */
export const waveSchema = z.strictObject({
  /** No "=": `--wave KEY=VALUE` selects by custom_metadata without a name. */
  name: z
    .string()
    .regex(targetNamePattern, "1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit (--wave KEY=VALUE selects by custom_metadata without a name)")
    .describe("The wave's name, as `--wave NAME` gives it; no `=`."),
  /** Values as lists, as a mapping's select resolves. */
  select: selectSchema
    .transform((select) => Object.fromEntries(Object.entries(select).map(([key, v]) => [key, typeof v === "string" ? [v] : v])))
    .describe("The wave's secrets by custom_metadata, as a mapping's `select`: every key must match one of its values."),
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
  name: z
    .string()
    .regex(targetNamePattern, "1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit")
    .describe("Unique; 1-64 characters of A-Z a-z 0-9 _ . -, starting with a letter or digit. Names the target in output, JSON, notices, metrics and --target."),
  destination: destinationSchema.meta({
    description: "Merged over the top-level destination: each key set here replaces that key whole (an assumeRole of its own does not keep the top-level externalId); a target of another type inherits only the keys that type takes.",
    documentedDefault: "the top-level `destination`",
  }),
  mappings: z
    .array(mappingSchema)
    .min(1, "list at least one mapping, or remove the key for the top-level mappings")
    .optional()
    .meta({ description: "This target's own mappings.", documentedDefault: "the top-level `mappings`" }),
});

/** Where a destination and the mappings it receives sit in the config, for the checks that relate them. */
interface DestinationUnit {
  destination: z.infer<typeof destinationSchema>;
  where: (string | number)[];
  mappings: z.infer<typeof mappingSchema>[] | undefined;
  mappingsWhere: (string | number)[];
}

const configObject = z.strictObject({
  name: z
    .string()
    .regex(syncNamePattern, "1-128 characters of A-Z a-z 0-9 _ . : / = + @ -")
    .describe("1-128 characters of A-Z a-z 0-9 _ . : / = + @ -. Identifies this sync in ownership tags: two syncs never touch each other's secrets."),
  source: sourceSchema.describe("Where secrets are read: a Vault or OpenBao KV mount."),
  destination: destinationSchema.default(destinationSchema.parse({})).describe("Where secrets are written, and how they are named, shaped and tagged."),
  sync: z
    .strictObject({
      concurrency: positiveInt(256).default(8).describe("Secrets processed at once (value read + write)."),
    })
    .default({ concurrency: 8 })
    .describe("How a run works through its secrets."),
  notifications: notificationsSchema
    .default(notificationsSchema.parse({}))
    .describe("Sent when a sync run has failures: paths, error classes, messages; never values (serve: see docs/service.md)."),
  policies: policiesSchema.default(policiesSchema.parse({})),
  service: serviceSchema.default(serviceSchema.parse({})).describe("secretbridge serve only (see docs/service.md)."),
  discover: discoverSchema.default(discoverSchema.parse({})).describe("secretbridge discover only (see docs/migrating.md)."),
  mappings: z
    .array(mappingSchema)
    .min(1, "list at least one mapping, or remove the key")
    .optional()
    .meta({ description: "Several mounts / prefixes in one sync (see docs/mappings.md).", documentedDefault: "one mapping from `source.mount` and `destination.prefix`" }),
  targets: z
    .array(targetSchema)
    .min(1, "list at least one target, or remove the key")
    .optional()
    .meta({ description: "Several destinations (accounts, Regions, prefixes) in one sync, each run on its own (see docs/mappings.md).", documentedDefault: "one: the top-level `destination`" }),
  waves: z
    .array(waveSchema, { error: 'a list of { name, select }, e.g. waves: [{ name: wave-3, select: { wave: "3" } }]' })
    .min(1, "list at least one wave, or remove the key")
    .optional()
    .describe("Named migration waves, picked with `--wave NAME` by release, adopt and discover (see docs/migrating.md)."),
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
