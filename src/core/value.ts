// How a KV map becomes a destination value, and the size check AWS would otherwise fail on.
import { createHash } from "node:crypto";

export const MAX_SECRET_BYTES = 65_536;

/** JSON with object keys sorted at every level, so equal maps always render to equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** The KV map as a JSON string, as in the reference walkthrough (keys sorted, as Vault returns them). */
export function renderSecretString(data: Record<string, unknown>): string {
  return canonicalJson(data);
}

export function sizeProblem(secretString: string): string | undefined {
  const bytes = Buffer.byteLength(secretString, "utf8");
  if (bytes <= MAX_SECRET_BYTES) return undefined;
  return `the value is ${bytes} bytes as JSON; AWS Secrets Manager allows at most ${MAX_SECRET_BYTES}: split the secret in the source`;
}

/**
 * In-memory fingerprint of a KV map, for comparing values where there is no version (KV v1).
 * Never written anywhere: an unkeyed hash of a low-entropy secret could be brute-forced.
 */
export function valueFingerprint(data: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(data)).digest("hex");
}

/** Fingerprint of a destination SecretString, comparable with valueFingerprint of the source map. */
export function secretStringFingerprint(secretString: string): string {
  try {
    const parsed: unknown = JSON.parse(secretString);
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      return valueFingerprint(parsed as Record<string, unknown>);
    }
  } catch {
    // not JSON: compare as an opaque string
  }
  return createHash("sha256").update(`raw:${secretString}`).digest("hex");
}

/** How a KV map becomes the destination value. */
export type ValueShape = { type: "json" } | { type: "string"; key: string } | { type: "binary"; key: string } | { type: "key"; key: string };

export type RenderedValue = { secretString: string } | { secretBinary: Uint8Array };

/**
 * json: the whole map as a JSON string. string: one key's value as a plain string. binary: one
 * key holding base64, written as SecretBinary. Errors name the key, never the value.
 */
export function renderValue(data: Record<string, unknown>, shape: ValueShape, path: string): RenderedValue | { problem: string } {
  if (shape.type === "json") return { secretString: renderSecretString(data) };
  const raw = data[shape.key];
  if (raw === undefined) return { problem: `${path}: has no key "${shape.key}" (valueShape ${shape.type} needs it)` };
  // One secret per key: strings as they are, anything else as JSON.
  if (shape.type === "key") return { secretString: typeof raw === "string" ? raw : canonicalJson(raw) };
  if (typeof raw !== "string") return { problem: `${path}: key "${shape.key}" is a ${Array.isArray(raw) ? "list" : typeof raw}, not a string` };
  if (shape.type === "string") return { secretString: raw };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) return { problem: `${path}: key "${shape.key}" is not valid base64 (valueShape binary)` };
  return { secretBinary: new Uint8Array(Buffer.from(raw, "base64")) };
}

export function renderedSizeProblem(value: RenderedValue): string | undefined {
  if ("secretString" in value) return sizeProblem(value.secretString);
  if (value.secretBinary.byteLength <= MAX_SECRET_BYTES) return undefined;
  return `the binary value is ${value.secretBinary.byteLength} bytes; AWS Secrets Manager allows at most ${MAX_SECRET_BYTES}: split the secret in the source`;
}
