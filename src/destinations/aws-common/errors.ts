// Maps AWS SDK errors to secretbridge error classes, with messages that name the secret and the
// AWS error code and tell the user what to do. Codes shared by every AWS service (auth,
// throttling, validation) and Node's network codes are matched here, by name; each destination
// passes the rules for its own service's exceptions (matched by their SDK classes). SDK messages
// are foreign text: they are scrubbed of the value being written before they are used, and cut short.
import { scrubSecretMaterial, SyncError, type ErrorClass } from "../../core/errors.js";

const AUTH_CODES = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "MissingAuthenticationToken",
  "ExpiredTokenException",
  "ExpiredToken",
  "InvalidClientTokenId",
  "CredentialsProviderError",
]);
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
]);
const THROTTLING_CODES = new Set(["ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"]);

export interface ClassifyOptions {
  /** What was being done, for the message: `CreateSecret hybrid-aws-secrets/db`. */
  what: string;
  /**
   * `destination` for calls about the whole destination (validate, inventory), `secret` for one
   * secret: access denied on the whole destination means the credentials are refused (the run
   * stops); on one secret, only that secret is denied.
   */
  scope: "destination" | "secret";
  /** The destination secret the call concerned, kept as the error's path. */
  name?: string;
  /** Values sent in the call: removed from the SDK's message wherever they appear. */
  secrets?: string[];
  /** The destination service's own exceptions: consulted after auth, network and throttling. */
  service?: ServiceRules;
}

/** What an error means: its class, a hint for the user (starting ": "), whether a retry may help. */
export interface Verdict {
  errorClass: ErrorClass;
  hint: string;
  retryable: boolean;
}

/** One service's rules: a verdict for the errors it knows (by SDK class), undefined for the rest. */
export type ServiceRules = (error: unknown, code: string, raw: string) => Verdict | undefined;

/** The AWS error code (`ThrottlingException`) or Node's network code (`ECONNREFUSED`). */
export function awsErrorCode(error: unknown): string {
  const e = error as { name?: string; code?: string; Code?: string } | null | undefined;
  return e?.code ?? e?.Code ?? e?.name ?? "Error";
}

/**
 * The HTTP status of an answer the SDK could not parse (an HTML error page from a load balancer or
 * a failing endpoint), else undefined. The SDK then throws the parser's own error (a SyntaxError)
 * with the response hidden on `$response` and no `$fault`, which every modelled AWS error has.
 * It already retries 500/502/503/504 answers by their status, whatever the body.
 */
function unparsedStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("$response" in error) || "$fault" in error) return undefined;
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export function classifyAwsError(error: unknown, options: ClassifyOptions): SyncError {
  if (error instanceof SyncError) return error;
  const unparsed = unparsedStatus(error);
  if (unparsed !== undefined) return classifyUnparsed(error, unparsed, options);
  const code = awsErrorCode(error);
  const raw = error instanceof Error ? error.message : String(error);
  const message = scrubSecretMaterial(raw, options.secrets ?? []).replace(/\s+/g, " ").trim().slice(0, 300);
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const { errorClass, hint, retryable } = classify(error, code, raw, status, options);
  return new SyncError(errorClass, `${options.what}: ${code}${message && message !== code ? `: ${message}` : ""}${hint}`, options.name, {
    cause: error,
    retryable,
  });
}

/**
 * An answer that is not AWS JSON says nothing about the request, only that something between us
 * and the service failed. The message names the status and the attempts, never the parser's
 * message: that quotes the start of the body, which is foreign text that may echo the request.
 */
function classifyUnparsed(error: unknown, status: number, options: ClassifyOptions): SyncError {
  const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  const tried = attempts ? ` (${attempts} attempt${attempts === 1 ? "" : "s"})` : "";
  const message = `${options.what}: HTTP ${status} with a non-JSON body${tried}`;
  if (status >= 500) {
    const hint = ": the endpoint, or a load balancer or proxy in front of it, is failing; check the endpoint and the service's health";
    return new SyncError("destination-unavailable", message + hint, options.name, { cause: error, retryable: true });
  }
  const errorClass = options.scope === "destination" ? "destination-unavailable" : "destination-write-failed";
  return new SyncError(errorClass, `${message}: check the endpoint (AWS_ENDPOINT_URL, the Region) and any proxy in front of it`, options.name, {
    cause: error,
    retryable: false,
  });
}

function classify(error: unknown, code: string, raw: string, status: number | undefined, options: ClassifyOptions): Verdict {
  const { scope } = options;
  if (AUTH_CODES.has(code) || /credential/i.test(code)) {
    return scope === "destination"
      ? { errorClass: "destination-auth", hint: ": check the AWS credentials and the IAM policy (docs/iam.md)", retryable: false }
      : { errorClass: "permission-denied", hint: ": the IAM policy does not allow this secret", retryable: false };
  }
  if (NETWORK_CODES.has(code) || /ECONNREFUSED|ENOTFOUND|socket hang up/i.test(raw)) {
    return { errorClass: "destination-unavailable", hint: ": check the Region, the endpoint and the network", retryable: true };
  }
  if (THROTTLING_CODES.has(code)) {
    return { errorClass: "throttled", hint: ": still throttled after retries; lower destination.rateLimits or sync.concurrency", retryable: true };
  }
  const own = options.service?.(error, code, raw);
  if (own) return own;
  // ValidationException is the AWS protocol's, shared by every service.
  if (code === "ValidationException") {
    if (/tag/i.test(raw)) return { errorClass: "invalid-tags", hint: "", retryable: false };
    if (/\bname\b|'name'/i.test(raw)) return { errorClass: "invalid-name", hint: "", retryable: false };
    return { errorClass: "destination-write-failed", hint: "", retryable: false };
  }
  if (code.startsWith("KMS")) {
    return { errorClass: "destination-write-failed", hint: ": check that the KMS key exists, is enabled and allows this principal", retryable: false };
  }
  // Anything else (5xx after retries, an unknown code): the whole destination if the call was
  // about it, else this one write.
  const retryable = status !== undefined && status >= 500;
  return { errorClass: scope === "destination" ? "destination-unavailable" : "destination-write-failed", hint: "", retryable };
}
