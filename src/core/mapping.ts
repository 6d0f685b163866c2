// A resolved mapping: one source mount (and sub-path) to one destination prefix, with every
// default and inherited value applied (the config layer builds these, once). It is the only code
// that decides which source paths a sync covers (`inScope`), what a destination secret is named
// (`nameFor`), which listed secrets its custom_metadata selection takes (`selects`) and whether an
// existing destination secret was produced by it (`produced`).
import picomatch from "picomatch";
import type { DestinationSecretMeta, ProviderData, SourceSecretMeta } from "./model.js";
import { pathProblem } from "./paths.js";
import type { LifecyclePolicies } from "./policies.js";
import { NO_TAG_RULES, type TagRules } from "./tag-rules.js";
import { ownershipOf, TAG, type SourceRef } from "./tags.js";
import type { ValueShape } from "./value.js";

export type Granularity = "secret" | "key";

/** Everything a mapping is, as plain data. */
export interface MappingSpec {
  /** Where it came from in the config, for messages: `mappings[1]` or `source`. */
  label: string;
  syncName: string;
  source: SourceRef;
  /** Sub-path of the mount ("" for the whole mount). */
  subPath: string;
  /** Globs over the path relative to the mount (picomatch). */
  include: string[];
  exclude: string[];
  prefix: string;
  /** Placeholders {prefix} {mount} {path} {dir} {name} {key}; validated by `templateProblem`. */
  nameTemplate: string;
  granularity: Granularity;
  valueShape: ValueShape;
  staticTags: Record<string, string>;
  copyCustomMetadata: boolean;
  /**
   * custom_metadata key -> accepted values: a source secret is selected when every key has one of
   * its values (a migration wave, an application). Empty: every secret in scope. Default empty.
   */
  select?: Readonly<Record<string, readonly string[]>>;
  /** ABAC tag rules (required and immutable tags). Default: none. */
  tagRules?: TagRules;
  /** The destination provider's own settings for this mapping, resolved by its provider; only its profile reads them. */
  destinationOptions?: ProviderData;
  policies: LifecyclePolicies;
}

export interface ResolvedMapping extends Readonly<Omit<MappingSpec, "select" | "tagRules">> {
  readonly select: Readonly<Record<string, readonly string[]>>;
  readonly tagRules: TagRules;
  /** A valid path, under the sub-path, matched by include and not by exclude. */
  inScope(path: string): boolean;
  /**
   * Whether the custom_metadata selection takes this listed secret. A secret in scope but not
   * selected is out of this mapping's reach: never written, and never deleted for leaving it.
   */
  selects(secret: Pick<SourceSecretMeta, "customMetadata">): boolean;
  /** The destination name of a source path (and key, with granularity key). */
  nameFor(path: string, key?: string): string;
  /**
   * True when the ownership tags of an existing destination secret say this mapping wrote it:
   * our sync and source, this mount, a path in scope, and the name this mapping gives that path.
   */
  produced(secret: DestinationSecretMeta): boolean;
  /** Where it reads, for messages: `mount` or `mount/sub-path`. */
  readonly sourceScope: string;
  /** One line for logs and messages: `mount/sub-path -> prefix/`. */
  readonly describe: string;
}

export function createMapping(spec: MappingSpec): ResolvedMapping {
  const include = spec.include.length ? picomatch(spec.include, { dot: true }) : () => true;
  const exclude = spec.exclude.length ? picomatch(spec.exclude, { dot: true }) : () => false;
  const under = spec.subPath ? `${spec.subPath}/` : "";
  const inScope = (path: string) => pathProblem(path) === undefined && path.startsWith(under) && include(path) && !exclude(path);
  const template = compileTemplate(spec.nameTemplate);
  // Asked several times per secret and run (planner, absences, facts): answered once per
  // inventory entry, which is a fresh object each run.
  const producedMemo = new WeakMap<DestinationSecretMeta, boolean>();
  const nameFor = (path: string, key?: string) => expandTemplate(template, spec.prefix, spec.source.mount, path, key ?? "");
  const sourceScope = `${spec.source.mount}${spec.subPath ? `/${spec.subPath}` : ""}`;
  const select = spec.select ?? {};
  return {
    ...spec,
    select,
    tagRules: spec.tagRules ?? NO_TAG_RULES,
    sourceScope,
    describe: `${sourceScope} -> ${spec.prefix}/`,
    inScope,
    selects: ({ customMetadata }) => matchesSelect(select, customMetadata),
    nameFor,
    produced(secret) {
      const known = producedMemo.get(secret);
      if (known !== undefined) return known;
      const answer = producedBy(secret);
      producedMemo.set(secret, answer);
      return answer;
    },
  };

  function producedBy(secret: DestinationSecretMeta): boolean {
    const tags = secret.tags;
    if (ownershipOf(tags, spec.syncName) !== "ours") return false;
    // Secrets written before source ids existed carry no id tag: they belong to the one source
    // of the sync that wrote them.
    const sourceId = tags[TAG.sourceId];
    if (sourceId !== undefined && sourceId !== spec.source.id) return false;
    if (tags[TAG.mount] !== spec.source.mount) return false;
    const path = tags[TAG.path];
    if (path === undefined || !inScope(path)) return false;
    const key = tags[TAG.key];
    if ((spec.granularity === "key") !== (key !== undefined)) return false;
    return nameFor(path, key) === secret.name;
  }
}

/**
 * Whether custom_metadata matches a selection (custom_metadata key -> accepted values): every key
 * present with one of its values. The one rule for a mapping's `select` and a cutover wave.
 */
export function matchesSelect(select: Readonly<Record<string, readonly string[]>>, customMetadata: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(select).every(([key, values]) => customMetadata !== undefined && Object.hasOwn(customMetadata, key) && values.includes(customMetadata[key] as string));
}

/** True when two mappings could write the same destination names. */
export function overlaps(a: MappingSpec, b: MappingSpec): boolean {
  const nested = (x: string, y: string) => x === y || y.startsWith(`${x}/`);
  const prefixes = nested(a.prefix, b.prefix) || nested(b.prefix, a.prefix);
  const sources =
    a.source.id === b.source.id &&
    a.source.mount === b.source.mount &&
    (a.subPath === "" || b.subPath === "" || nested(a.subPath, b.subPath) || nested(b.subPath, a.subPath));
  return prefixes && sources;
}

type TemplatePart = { literal: string } | { placeholder: string };

/** A name template split once into literal text and placeholders (names are computed per secret). */
function compileTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    if (m.index > last) parts.push({ literal: template.slice(last, m.index) });
    parts.push({ placeholder: m[1] ?? "" });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ literal: template.slice(last) });
  return parts;
}

function expandTemplate(parts: TemplatePart[], prefix: string, mount: string, path: string, key: string): string {
  const cut = path.lastIndexOf("/");
  let name = "";
  for (const part of parts) {
    if ("literal" in part) {
      name += part.literal;
      continue;
    }
    switch (part.placeholder) {
      case "prefix": name += prefix; break;
      case "mount": name += mount; break;
      case "path": name += path; break;
      case "dir": name += cut >= 0 ? path.slice(0, cut) : ""; break;
      case "name": name += cut >= 0 ? path.slice(cut + 1) : path; break;
      case "key": name += key; break;
      default: name += `{${part.placeholder}}`;
    }
  }
  // An empty {dir} (a top-level secret) leaves a doubled slash.
  return name.includes("//") ? name.replace(/\/{2,}/g, "/") : name;
}
