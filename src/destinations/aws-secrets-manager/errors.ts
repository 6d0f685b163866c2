// Maps AWS SDK errors to secretbridge error classes, with messages that name the secret and the
// AWS error code and tell the user what to do. Secrets Manager's own exceptions are matched by
// their SDK classes; codes shared by every AWS service (auth, throttling) and Node's network
// codes, which no Secrets Manager class models, by name. SDK messages are foreign text: they are scrubbed of
// the value being written before they are used, and cut short.
import {
  DecryptionFailure,
  EncryptionFailure,
  InvalidParameterException,
  InvalidRequestException,
  LimitExceededException,
  ResourceExistsException,
  ResourceNotFoundException,
} from "@aws-sdk/client-secrets-manager";
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
}

const MODELLED = { DecryptionFailure, EncryptionFailure, InvalidParameterException, InvalidRequestException, LimitExceededException, ResourceExistsException, ResourceNotFoundException };

/**
 * A per-secret error of a batch answer (`BatchGetSecretValue`'s `Errors`: a code and a message,
 * not a thrown exception) as the SDK would have thrown it for a single call: an instance of the
 * Secrets Manager exception class of that code, so it is classified like one.
 */
export function batchEntryError(code: string | undefined, message: string | undefined): Error {
  const modelled = code !== undefined && Object.hasOwn(MODELLED, code) ? MODELLED[code as keyof typeof MODELLED] : undefined;
  if (modelled) return new modelled({ message: message ?? code ?? "", $metadata: {} });
  return Object.assign(new Error(message ?? ""), { name: code ?? "Error" });
}

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
  const { errorClass, hint, retryable } = classify(error, code, raw, status, options.scope);
  return new SyncError(errorClass, `${options.what}: ${code}${message && message !== code ? `: ${message}` : ""}${hint}`, options.name, {
    cause: error,
    retryable,
  });
}

/**
 * An answer that is not AWS JSON says nothing about the request, only that something between us
 * and Secrets Manager failed. The message names the status and the attempts, never the parser's
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

function classify(error: unknown, code: string, raw: string, status: number | undefined, scope: "destination" | "secret"): { errorClass: ErrorClass; hint: string; retryable: boolean } {
  if (AUTH_CODES.has(code) || /credential/i.test(code)) {
    return scope === "destination"
      ? { errorClass: "destination-auth", hint: ": check the AWS credentials and the IAM policy (README, IAM policy)", retryable: false }
      : { errorClass: "permission-denied", hint: ": the IAM policy does not allow this secret", retryable: false };
  }
  if (NETWORK_CODES.has(code) || /ECONNREFUSED|ENOTFOUND|socket hang up/i.test(raw)) {
    return { errorClass: "destination-unavailable", hint: ": check the Region, the endpoint and the network", retryable: true };
  }
  if (THROTTLING_CODES.has(code)) {
    return { errorClass: "throttled", hint: ": still throttled after retries; lower destination.rateLimits or sync.concurrency", retryable: true };
  }
  // AWS: "...because it was marked for deletion" / "...is already scheduled for deletion".
  if (error instanceof InvalidRequestException && /(scheduled|marked) for deletion|marked deleted/i.test(raw)) {
    return { errorClass: "pending-deletion", hint: ": restore it (aws secretsmanager restore-secret) or let it be purged", retryable: false };
  }
  // ValidationException is the AWS protocol's, not a modelled Secrets Manager exception.
  if (error instanceof InvalidParameterException || code === "ValidationException") {
    // AWS names the offending parameter ("Value at 'secretString' failed to satisfy constraint").
    if (/secret(String|Binary)/i.test(raw) && /length|size|large/i.test(raw)) {
      return { errorClass: "too-large", hint: ": secret values are at most 65,536 bytes", retryable: false };
    }
    if (/tag/i.test(raw)) return { errorClass: "invalid-tags", hint: "", retryable: false };
    if (/\bname\b|'name'/i.test(raw)) {
      return { errorClass: "invalid-name", hint: ": names are 1-512 characters of A-Z a-z 0-9 / _ + = . @ -", retryable: false };
    }
    return { errorClass: "destination-write-failed", hint: "", retryable: false };
  }
  if (error instanceof ResourceExistsException) {
    const hint = ": a secret with this name or this request token already exists";
    return { errorClass: "destination-write-failed", hint, retryable: false };
  }
  if (error instanceof LimitExceededException) {
    return { errorClass: "destination-write-failed", hint: ": an AWS limit was reached (versions or tags per secret)", retryable: false };
  }
  if (error instanceof EncryptionFailure || error instanceof DecryptionFailure || code.startsWith("KMS")) {
    return { errorClass: "destination-write-failed", hint: ": check that the KMS key exists, is enabled and allows this principal", retryable: false };
  }
  // Anything else (5xx after retries, an unknown code): the whole destination if the call was
  // about it, else this one write.
  const retryable = status !== undefined && status >= 500;
  return { errorClass: scope === "destination" ? "destination-unavailable" : "destination-write-failed", hint: "", retryable };
}
