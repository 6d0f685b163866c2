// `npm run docs:config`: writes the configuration reference in docs/configuration.md from the
// schema the config is parsed with, so the documented keys, types, defaults and allowed values
// cannot drift from what the parser accepts. A key's text is its `.describe()` on the schema;
// `--check` only compares (the unit test does the same).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { configSchema } from "../src/config/schema.js";
import { DESTINATION_PROVIDERS } from "../src/destinations/registry.js";
import { repoRoot } from "./lib/peers.js";

export const referencePage = join(repoRoot, "docs", "configuration.md");
export const BEGIN = "<!-- BEGIN GENERATED CONFIG REFERENCE: npm run docs:config writes this block; edit the schema's descriptions instead -->";
export const END = "<!-- END GENERATED CONFIG REFERENCE -->";

/** One documented key. */
export interface ReferenceRow {
  path: string;
  /** When the key exists only in one variant: `method: approle`, `type: aws-ssm-parameter-store`. */
  only?: string;
  type: string;
  /** Markdown: the fixed values in code, or bounds (`1-256`, `> 0, <= 600`, `at most 100 items`). */
  allowed: string;
  /** Markdown: a value in code, a documented default in words, or "required". */
  default: string;
  description: string | undefined;
}

// Zod 4 keeps each schema's definition in `_zod.def`; these are the parts the reference reads.
interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  discriminator?: string;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  entries?: Record<string, string>;
  values?: unknown[];
  checks?: { _zod: { def: { check: string; value?: number; inclusive?: boolean; minimum?: number; maximum?: number; format?: string } } }[];
  format?: string;
}
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const metaOf = (schema: z.ZodType): Record<string, unknown> | undefined => z.globalRegistry.get(schema) as Record<string, unknown> | undefined;

/** A key's schema with its wrappers taken off, and what the wrappers said. */
interface Unwrapped {
  core: z.ZodType;
  optional: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  description?: string;
  documentedDefault?: string;
}

/**
 * Takes off optional, default, nullable and pipes (a preprocess keeps its output, a transform its
 * input). The outermost description wins: a use site describes a shared schema in its own words.
 */
function unwrap(schema: z.ZodType): Unwrapped {
  const found: Unwrapped = { core: schema, optional: false, hasDefault: false };
  for (let s: z.ZodType | undefined = schema; s; ) {
    const meta = metaOf(s);
    if (found.description === undefined && typeof meta?.description === "string") found.description = meta.description;
    if (found.documentedDefault === undefined && typeof meta?.documentedDefault === "string") found.documentedDefault = meta.documentedDefault;
    const def = defOf(s);
    found.core = s;
    if (def.type === "optional" || def.type === "nullable" || def.type === "readonly") {
      if (def.type === "optional") found.optional = true;
      s = def.innerType;
    } else if (def.type === "default" || def.type === "prefault") {
      if (!found.hasDefault) Object.assign(found, { hasDefault: true, defaultValue: def.defaultValue });
      s = def.innerType;
    } else if (def.type === "pipe") {
      s = def.in && defOf(def.in).type === "transform" ? def.out : def.in;
    } else {
      s = undefined;
    }
  }
  return found;
}

const isObject = (s: z.ZodType) => defOf(s).type === "object";
const isObjectUnion = (s: z.ZodType) => {
  const def = defOf(s);
  return (def.type === "union" && def.discriminator !== undefined && (def.options ?? []).every((o) => isObject(unwrap(o).core)));
};
const hasRows = (s: z.ZodType) => isObject(s) || isObjectUnion(s);

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

/** The literal values a schema accepts, or undefined when it takes more than a fixed set. */
function literals(schema: z.ZodType): unknown[] | undefined {
  const core = unwrap(schema).core;
  const def = defOf(core);
  if (def.type === "literal") return def.values;
  if (def.type === "enum") return Object.values(def.entries ?? {});
  if (def.type === "union") {
    const each = (def.options ?? []).map(literals);
    return each.every((v) => v !== undefined) ? each.flat() : undefined;
  }
  return undefined;
}

/** The type of a value as a reader says it: `integer`, `list of string`, `map of string to string`. */
function typeName(schema: z.ZodType): string {
  const core = unwrap(schema).core;
  const def = defOf(core);
  const fixed = literals(core);
  if (fixed) return [...new Set(fixed.map((v) => (typeof v === "string" ? "string" : typeof v === "number" ? "integer" : typeof v)))].join(" or ");
  switch (def.type) {
    case "string":
      return def.format === "url" ? "URL" : "string";
    case "number":
      return (core as z.ZodNumber).isInt ? "integer" : "number";
    case "array":
      return `list of ${def.element ? typeName(def.element) : "values"}`;
    case "record":
      return `map of ${def.keyType ? typeName(def.keyType) : "string"} to ${def.valueType ? typeName(def.valueType) : "value"}`;
    case "object":
      return `{ ${Object.entries(def.shape ?? {}).map(([k, v]) => `${k}: ${typeName(v)}`).join(", ")} }`;
    case "union":
      return [...new Set((def.options ?? []).map(typeName))].join(" or ");
    case "unknown":
    case "any":
      return "any";
    default:
      return def.type;
  }
}

/** Bounds and fixed values, as a reader says them: `1-256`, `> 0, <= 600`, `json, string or binary`. */
function allowedOf(schema: z.ZodType): string {
  const core = unwrap(schema).core;
  const def = defOf(core);
  const fixed = literals(core);
  if (fixed) return fixed.map((v) => code(String(v))).join(", ");
  let low: { value: number; inclusive: boolean } | undefined;
  let high: { value: number; inclusive: boolean } | undefined;
  let minLength: number | undefined;
  let maxLength: number | undefined;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === "greater_than" && c.value !== undefined) low = { value: c.value, inclusive: c.inclusive === true };
    if (c.check === "less_than" && c.value !== undefined) high = { value: c.value, inclusive: c.inclusive === true };
    if (c.check === "min_length") minLength = c.minimum;
    if (c.check === "max_length") maxLength = c.maximum;
  }
  if (def.type === "number") {
    if (low && high && low.inclusive && high.inclusive) return `${low.value}-${high.value}`;
    return [low && `${low.inclusive ? ">=" : ">"} ${low.value}`, high && `${high.inclusive ? "<=" : "<"} ${high.value}`].filter(Boolean).join(", ");
  }
  const unit = def.type === "string" ? "character" : "item";
  if (minLength !== undefined && maxLength !== undefined) return minLength === maxLength ? plural(minLength, unit) : `${minLength}-${maxLength} ${unit}s`;
  if (maxLength !== undefined) return `at most ${plural(maxLength, unit)}`;
  if (minLength !== undefined) return def.type === "string" && minLength === 1 ? "not empty" : `at least ${plural(minLength, unit)}`;
  return "";
}

/** The default as markdown: a value in code, a documented default as written, or "required". */
function defaultText(key: Unwrapped): string {
  if (key.documentedDefault !== undefined) return key.documentedDefault;
  if (!key.hasDefault) return key.optional ? "" : "required";
  if (hasRows(key.core)) return "";
  const value = key.defaultValue;
  return code(typeof value === "string" && value !== "" ? value : JSON.stringify(value));
}

/** Which provider a mapping or deletion setting belongs to, when it is a provider's own (or a copy of one, `.meta()` clones). */
function providerOwning(schema: z.ZodType): string | undefined {
  const lineage: z.ZodType[] = [];
  for (let s: z.ZodType | undefined = schema; s; s = (s as unknown as { _zod: { parent?: z.ZodType } })._zod.parent) lineage.push(s);
  const owns = (fields: object) => (Object.values(fields) as z.ZodType[]).some((f) => lineage.includes(f));
  return DESTINATION_PROVIDERS.find((p) => owns(p.mappingFields) || owns(p.deletionFields))?.type;
}

/** Every documented key under `schema`, in the schema's order. */
export function referenceRows(schema: z.ZodType = configSchema): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  // A block already documented at another path (a target's destination, its mappings) points there.
  const documentedAt = new Map<z.ZodType, string>();

  const row = (path: string, schema: z.ZodType, only: string | undefined, typeOverride?: string) => {
    const key = unwrap(schema);
    const owner = providerOwning(schema);
    rows.push({
      path,
      only: only ?? (owner ? `destination.type: ${owner}` : undefined),
      type: typeOverride ?? (hasRows(key.core) ? "object" : typeName(schema)),
      allowed: hasRows(key.core) ? "" : allowedOf(schema),
      default: defaultText(key),
      description: key.description,
    });
  };

  const walk = (core: z.ZodType, path: string, only: string | undefined) => {
    const def = defOf(core);
    if (def.type === "object") {
      for (const [name, field] of Object.entries(def.shape ?? {})) key(`${path}${name}`, field, only);
      return;
    }
    // A discriminated union: the discriminator once, the keys every variant shares once, the rest per variant.
    const variants = (def.options ?? []).map((o) => defOf(unwrap(o).core).shape ?? {});
    const discriminator = def.discriminator ?? "";
    const first = variants[0] ?? {};
    const shared = Object.keys(first).filter((k) => k !== discriminator && variants.every((v) => v[k] === first[k]));
    const values = variants.flatMap((v) => (v[discriminator] ? (literals(v[discriminator]) ?? []) : [])).map(String);
    const discriminatorSchema = first[discriminator];
    if (discriminatorSchema) {
      const key = unwrap(discriminatorSchema);
      rows.push({ path: `${path}${discriminator}`, only, type: "string", allowed: values.map(code).join(", "), default: defaultText(key), description: key.description });
    }
    for (const name of shared) key(`${path}${name}`, first[name] as z.ZodType, only);
    variants.forEach((variant, i) => {
      for (const [name, field] of Object.entries(variant)) {
        if (name !== discriminator && !shared.includes(name)) key(`${path}${name}`, field, `${discriminator}: ${values[i]}`);
      }
    });
  };

  const key = (path: string, schema: z.ZodType, only: string | undefined) => {
    const core = unwrap(schema).core;
    const def = defOf(core);
    const element = def.type === "array" && def.element ? unwrap(def.element).core : undefined;
    const block = hasRows(core) ? core : element && hasRows(element) ? element : undefined;
    if (!block) return row(path, schema, only);
    const seen = documentedAt.get(block);
    if (seen) return row(path, schema, only, element ? `list, each as \`${seen}\`` : `object, as \`${seen}\``);
    const at = element ? `${path}[]` : path;
    documentedAt.set(block, at);
    row(path, schema, only, element ? "list of objects" : "object");
    walk(block, `${at}.`, only);
  };

  walk(unwrap(schema).core, "", undefined);
  return rows;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n+/g, " ");
/** A description's `docs/x.md` becomes a link: the table lives in docs/ itself. */
const linked = (text: string) => text.replace(/\bdocs\/([\w-]+\.md)/g, "[$1]($1)");
function code(text: string): string {
  return text === "" ? "" : `\`${text.replace(/`/g, "'")}\``;
}


/** The generated block: one table per top-level key. */
export function configReference(rows: ReferenceRow[] = referenceRows()): string {
  const sections = new Map<string, ReferenceRow[]>();
  for (const r of rows) {
    const top = r.path.split(/[.[]/)[0] ?? r.path;
    sections.set(top, [...(sections.get(top) ?? []), r]);
  }
  const out: string[] = [];
  for (const [top, section] of sections) {
    out.push(`### \`${top}\``, "", "| key | type | allowed | default | description |", "| --- | --- | --- | --- | --- |");
    for (const r of section) {
      const only = r.only ? ` (only with \`${r.only}\`)` : "";
      out.push(`| ${code(r.path)}${only} | ${cell(r.type)} | ${cell(r.allowed)} | ${cell(r.default)} | ${cell(linked(r.description ?? ""))} |`);
    }
    out.push("");
  }
  return out.join("\n").trimEnd();
}

/** The page with its generated block replaced by `block`. */
export function withReference(page: string, block: string): string {
  const begin = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/configuration.md lacks the markers ${BEGIN} ... ${END}`);
  return `${page.slice(0, begin + BEGIN.length)}\n\n${block}\n\n${page.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const page = readFileSync(referencePage, "utf8");
  const next = withReference(page, configReference());
  const undocumented = referenceRows().filter((r) => !r.description).map((r) => r.path);
  if (undocumented.length > 0) console.error(`keys without a description (add .describe() on the schema): ${undocumented.join(", ")}`);
  if (process.argv.includes("--check")) {
    if (next !== page) {
      console.error("docs/configuration.md differs from the schema: run npm run docs:config");
      process.exitCode = 1;
    }
  } else if (next !== page) {
    writeFileSync(referencePage, next);
    console.log("docs/configuration.md: configuration reference regenerated");
  }
  if (undocumented.length > 0) process.exitCode = 1;
}
