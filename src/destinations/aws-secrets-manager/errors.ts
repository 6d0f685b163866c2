// Maps AWS SDK errors to secretbridge error classes with messages that name the secret and the AWS
// error code. SDK messages are scrubbed of the value being written before they are used.
import { scrubSecretMaterial, SyncError, type ErrorClass } from "../../core/errors.js";

const AUTH_CODES = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "CredentialsProviderError",
]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EPIPE", "TimeoutError", "RequestTimeout"]);

function codeOf(error: unknown): string {
  const e = error as { name?: string; code?: string; Code?: string };
  return e.code ?? e.Code ?? e.name ?? "Error";
}

/**
 * `scope` says whether the call concerned the whole destination (validate, inventory) or one secret:
 * access denied on the whole destination means the credentials are refused (exit 2); on one
 * secret, that secret is denied.
 */
export function classifyAwsError(error: unknown, what: string, scope: "destination" | "secret", secrets: string[] = []): SyncError {
  if (error instanceof SyncError) return error;
  const code = codeOf(error);
  const raw = error instanceof Error ? error.message : String(error);
  const message = scrubSecretMaterial(raw, secrets).replace(/\s+/g, " ").slice(0, 300);
  let errorClass: ErrorClass = "destination-write-failed";
  let hint = "";
  if (AUTH_CODES.has(code) || /credential/i.test(code)) {
    errorClass = scope === "destination" ? "destination-auth" : "permission-denied";
    hint = scope === "destination" ? ": check the AWS credentials and the IAM policy (README, IAM policy)" : ": the IAM policy does not allow this secret";
  } else if (NETWORK_CODES.has(code) || /ECONNREFUSED|ENOTFOUND|socket hang up|connect/i.test(raw)) {
    errorClass = "destination-unavailable";
    hint = ": check the Region, the endpoint and the network";
  } else if (code === "ThrottlingException" || code === "TooManyRequestsException" || code === "Throttling") {
    errorClass = "throttled";
    hint = ": still throttled after retries; lower destination.rateLimits or sync.concurrency";
  } else if (code === "InvalidRequestException" && /scheduled for deletion|marked for deletion/i.test(raw)) {
    errorClass = "pending-deletion";
    hint = ": restore it (aws secretsmanager restore-secret) or let it be purged";
  } else if (code === "ValidationException" || code === "InvalidParameterException") {
    errorClass = /name/i.test(raw) ? "invalid-name" : "destination-write-failed";
  } else if (code === "ResourceExistsException") {
    hint = ": a secret with this name or this request token already exists";
  } else if (scope === "destination") {
    errorClass = "destination-unavailable";
  }
  return new SyncError(errorClass, `${what}: ${code}: ${message}${hint}`, undefined, { cause: error });
}
