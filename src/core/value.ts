// How a KV map becomes a destination value: rendering, shape limits (depth, node count) and
// in-memory fingerprints. The destination's own size limit is in its profile.
import { createHash } from "node:crypto";

/**
 * Deepest nesting a value may have, counting the KV map itself as level 1. Real secrets are a flat
 * map or a config-like document a handful of levels deep; 64 is far past any of them and far
 * below what would strain the stack of anything that still walks a value recursively (V8's
 * JSON.stringify gives up at ~4,000 levels of arrays in Node 20, less with a replacer; the old
 * rendering overflowed at ~2,200). Values come from JSON, which has no depth limit of its own:
 * OpenBao accepts 9,000 levels.
 */
export const MAX_VALUE_DEPTH = 64;

/**
 * Most keys + array elements a value may have, all levels together. A value that fits the 64 KiB
 * AWS limit needs at least 2 bytes per element ("0,") and 5 per key ('"":0,'), so it can hold at
 * most ~32k elements or ~13k keys, and only at a few bytes each: a value with more than 10,000 is
 * bulk data (a table of bare numbers or flags), not a credential. The limit bounds the work done on
 * a value before its size is known: the source may hold megabytes.
 */
export const MAX_VALUE_NODES = 10_000;

/** How a problem names where in the value it is: the top-level key, never anything below it (keys below could be data). */
function label(key: string | number | undefined): string {
  if (key === undefined) return "the value";
  if (typeof key === "number") return `element ${key}`;
  const shown = key.length > 80 ? `${key.slice(0, 80)}…` : key;
  return `key ${JSON.stringify(shown)}`;
}

/** What a leaf that JSON cannot represent is, by type only. */
function nonJsonKind(v: unknown): string | undefined {
  switch (typeof v) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(v) ? undefined : "non-finite number";
    case "object": {
      if (v === null || Array.isArray(v)) return undefined;
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) return undefined;
      const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
      return typeof name === "string" && name ? `${name} object` : "non-plain object";
    }
    default:
      return typeof v;
  }
}

/**
 * Why a value cannot be rendered safely, or undefined. Walks the value with an explicit stack (a
 * recursive walk would itself overflow on the values it is meant to catch) and stops at the first
 * problem. Messages name the path, the top-level key and the limit, never a value.
 */
export function valueShapeProblem(data: unknown, path: string): string | undefined {
  // Each entry: a value, the number of containers around it, and the top-level key it is under.
  const stack: [value: unknown, depth: number, top: string | number | undefined][] = [[data, 0, undefined]];
  let nodes = 0;
  while (stack.length > 0) {
    const [value, depth, top] = stack.pop() as [unknown, number, string | number | undefined];
    const kind = nonJsonKind(value);
    if (kind !== undefined) return `${path}: ${label(top)} holds a ${kind}, which JSON cannot represent`;
    if (value === null || typeof value !== "object") continue;
    if (depth + 1 > MAX_VALUE_DEPTH) {
      return `${path}: ${label(top)} is nested more than ${MAX_VALUE_DEPTH} levels deep; secretbridge renders at most ${MAX_VALUE_DEPTH}: flatten the value in the source`;
    }
    const children: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    nodes += children.length;
    if (nodes > MAX_VALUE_NODES) {
      return `${path}: the value has more than ${MAX_VALUE_NODES} keys and elements in all; secretbridge renders at most ${MAX_VALUE_NODES}: split the secret in the source`;
    }
    for (const [k, v] of children) stack.push([v, depth + 1, depth === 0 ? k : top]);
  }
  return undefined;
}

/**
 * The string forms of a value's leaves (strings, numbers, booleans), in document order, at most
 * `limit` of them: what error messages are scrubbed of. Iterative, so any depth is safe.
 */
export function valueLeaves(data: unknown, limit = 100_000): string[] {
  const out: string[] = [];
  const stack: unknown[] = [data];
  while (stack.length > 0 && out.length < limit) {
    const value = stack.pop();
    if (typeof value === "string") out.push(value);
    else if (typeof value === "number" || typeof value === "boolean") out.push(String(value));
    else if (value !== null && typeof value === "object") {
      const children = Object.values(value);
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  }
  return out;
}

/**
 * An object's keys in the order the rendering has always used: sorted by UTF-16 code unit, then
 * put through an object as JavaScript orders own keys, which moves integer-like keys ("2", "10")
 * to the front in numeric order. Kept exactly, so a value renders to the same bytes as before.
 */
function sortedKeys(v: object): string[] {
  const keys = Object.keys(v).sort();
  // Only a key starting with a digit can be integer-like; let the engine order those.
  if (!keys.some((k) => k.charCodeAt(0) >= 48 && k.charCodeAt(0) <= 57)) return keys;
  return Object.keys(Object.fromEntries(keys.map((k) => [k, 0])));
}

/** A primitive's JSON text, or undefined where JSON.stringify would give none (undefined, a function, a symbol). */
function primitiveJson(v: unknown): string | undefined {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (v === null) return "null";
  return JSON.stringify(v) as string | undefined; // undefined, function, symbol: no text; bigint: throws, as JSON.stringify does
}

/**
 * JSON with object keys sorted at every level, so equal maps always render to equal strings.
 * Same output as the JSON.stringify with a key-sorting replacer it replaces (toJSON honoured;
 * undefined, functions and symbols left out of objects and null in arrays), but built with an
 * explicit stack, so any depth is safe (JSON.stringify overflows at a few thousand levels).
 * Throws on a cycle, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  interface Frame {
    container: object;
    /** The array's elements, or the object's keys in output order. */
    array: unknown[] | undefined;
    keys: string[];
    next: number;
    /** Whether a member has been written yet (so the next one needs a comma). */
    written: boolean;
  }
  let out = "";
  const stack: Frame[] = [];
  const open = new Set<object>();
  // Writes a primitive, or opens a container (the loop below writes its members); false when the
  // value has no JSON form.
  const emit = (key: string, raw: unknown): boolean => {
    let v = raw;
    if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") v = (v as { toJSON(k: string): unknown }).toJSON(key);
    if (v === null || typeof v !== "object") {
      const text = primitiveJson(v);
      if (text === undefined) return false;
      out += text;
      return true;
    }
    if (open.has(v)) throw new TypeError("Converting circular structure to JSON");
    open.add(v);
    if (Array.isArray(v)) {
      out += "[";
      stack.push({ container: v, array: v as unknown[], keys: [], next: 0, written: false });
    } else {
      out += "{";
      stack.push({ container: v, array: undefined, keys: sortedKeys(v), next: 0, written: false });
    }
    return true;
  };
  if (!emit("", value)) return JSON.stringify(value);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const { array } = frame;
    const i = frame.next++;
    if (array) {
      if (i >= array.length) {
        out += "]";
        open.delete(frame.container);
        stack.pop();
        continue;
      }
      if (frame.written) out += ",";
      frame.written = true;
      if (!emit(String(i), array[i])) out += "null";
    } else {
      if (i >= frame.keys.length) {
        out += "}";
        open.delete(frame.container);
        stack.pop();
        continue;
      }
      const key = frame.keys[i] as string;
      const mark = out.length;
      out += `${frame.written ? "," : ""}${JSON.stringify(key)}:`;
      if (emit(key, (frame.container as Record<string, unknown>)[key])) frame.written = true;
      else out = out.slice(0, mark); // a member with no JSON form is left out
    }
  }
  return out;
}

/** The KV map as a JSON string, as in the reference walkthrough (keys sorted, as Vault returns them). */
export function renderSecretString(data: Record<string, unknown>): string {
  return canonicalJson(data);
}


/**
 * In-memory fingerprint of a KV map, for comparing values where there is no version (KV v1).
 * Never written anywhere: an unkeyed hash of a low-entropy secret could be brute-forced.
 */
export function valueFingerprint(data: Record<string, unknown>): string {
  return createHash("sha256").update(canonicalJson(data)).digest("hex");
}

/**
 * Fingerprint of a destination SecretString, comparable with valueFingerprint of the source map.
 * A value of a shape secretbridge would not render (too deep, too many members) is compared as an
 * opaque string: it cannot equal anything we wrote, and the walk stays bounded.
 */
export function secretStringFingerprint(secretString: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    parsed = undefined; // not JSON: compare as an opaque string
  }
  if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) && valueShapeProblem(parsed, "") === undefined) {
    return valueFingerprint(parsed as Record<string, unknown>);
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
  // The shape is checked before anything renders: a pathological value (thousands of levels
  // deep, tens of thousands of members) fails this one secret as invalid-value, never the run.
  if (shape.type === "json") {
    const problem = valueShapeProblem(data, path);
    return problem ? { problem } : { secretString: renderSecretString(data) };
  }
  const raw = data[shape.key];
  if (raw === undefined) return { problem: `${path}: has no key "${shape.key}" (valueShape ${shape.type} needs it)` };
  // One secret per key: strings as they are, anything else as JSON.
  if (shape.type === "key") {
    if (typeof raw === "string") return { secretString: raw };
    const problem = valueShapeProblem({ [shape.key]: raw }, path);
    return problem ? { problem } : { secretString: canonicalJson(raw) };
  }
  if (typeof raw !== "string") return { problem: `${path}: key "${shape.key}" is a ${Array.isArray(raw) ? "list" : typeof raw}, not a string` };
  if (shape.type === "string") return { secretString: raw };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) return { problem: `${path}: key "${shape.key}" is not valid base64 (valueShape binary)` };
  return { secretBinary: new Uint8Array(Buffer.from(raw, "base64")) };
}


