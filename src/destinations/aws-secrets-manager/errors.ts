// Secrets Manager's own exceptions, matched by their SDK classes, on top of the rules every AWS
// service shares (aws-common/errors.ts): scheduled deletion, the value and name limits, request
// tokens, KMS failures.
import {
  DecryptionFailure,
  EncryptionFailure,
  InvalidParameterException,
  InvalidRequestException,
  LimitExceededException,
  ResourceExistsException,
  ResourceNotFoundException,
} from "@aws-sdk/client-secrets-manager";
import type { SyncError } from "../../core/errors.js";
import { classifyAwsError, type ClassifyOptions, type Verdict } from "../aws-common/errors.js";

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

function secretsManagerRules(error: unknown, code: string, raw: string): Verdict | undefined {
  // AWS: "...because it was marked for deletion" / "...is already scheduled for deletion".
  if (error instanceof InvalidRequestException && /(scheduled|marked) for deletion|marked deleted/i.test(raw)) {
    return { errorClass: "pending-deletion", hint: ": restore it (aws secretsmanager restore-secret) or let it be purged", retryable: false };
  }
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
  if (error instanceof EncryptionFailure || error instanceof DecryptionFailure) {
    return { errorClass: "destination-write-failed", hint: ": check that the KMS key exists, is enabled and allows this principal", retryable: false };
  }
  return undefined;
}

/** An error of a Secrets Manager call as a SyncError: the shared AWS rules and Secrets Manager's own. */
export function classifySecretsManagerError(error: unknown, options: Omit<ClassifyOptions, "service">): SyncError {
  return classifyAwsError(error, { ...options, service: secretsManagerRules });
}
