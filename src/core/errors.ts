// Errors are values with a class, the secret path they concern, and a message a user can act on.
// A message never carries secret material: providers build messages from names, paths and
// status codes only, and `scrubSecretMaterial` is a second line of defence for foreign text.

export type ErrorClass =
  | "config-invalid"
  | "source-unavailable"
  | "source-auth"
  | "source-sealed"
  | "permission-denied"
  | "source-not-found"
  | "source-read-failed"
  | "destination-unavailable"
  | "destination-auth"
  | "destination-write-failed"
  | "invalid-name"
  | "invalid-path"
  | "too-large"
  | "invalid-tags"
  | "missing-tag"
  | "invalid-value"
  | "throttled"
  | "conflict-unmanaged"
  | "conflict-other-sync"
  | "conflict-other-mapping"
  | "not-writable"
  | "pending-deletion"
  | "notification-failed"
  | "blast-radius"
  | "drift"
  | "unreadable"
  | "ownership-unproven";

/** Classes that mean "this whole side is unusable": the run stops before writing anything. */
export const FATAL_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  "config-invalid",
  "source-unavailable",
  "source-auth",
  "source-sealed",
  "destination-unavailable",
  "destination-auth",
]);

export class SyncError extends Error {
  override readonly name = "SyncError";
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
    readonly secretPath?: string,
    options?: { cause?: unknown; retryable?: boolean },
  ) {
    super(message);
    this.retryable = options?.retryable ?? false;
    // The cause is kept off the enumerable surface so a logger serialising the error cannot
    // walk into an SDK response that might echo request parameters.
    if (options?.cause !== undefined) {
      Object.defineProperty(this, "cause", { value: options.cause, enumerable: false });
    }
  }
  readonly retryable: boolean;

  toJSON(): { class: ErrorClass; message: string; path?: string } {
    return { class: this.errorClass, message: this.message, ...(this.secretPath ? { path: this.secretPath } : {}) };
  }
}

export function isSyncError(value: unknown): value is SyncError {
  return value instanceof SyncError;
}

/**
 * Removes every occurrence of the given secret strings (and their JSON-escaped forms) from text
 * that came from outside our code, such as an SDK error message. Short fragments are left alone:
 * they would redact ordinary words and are not worth hiding.
 */
export function scrubSecretMaterial(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    const forms = new Set([secret, JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString("base64")]);
    for (const form of forms) {
      if (form.length >= 4) out = out.split(form).join("[REDACTED]");
    }
  }
  return out;
}
