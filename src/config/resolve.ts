// Resolves a validated config once: every default and inherited value applied (mapping, then
// destination, then top level), into resolved mappings that answer scope, name and ownership
// questions, one set per target. Every runtime, `verify`, the service and `iam-policy` use these;
// nothing downstream re-derives a setting with a `??` chain.
import { SyncError } from "../core/errors.js";
import { createMapping, overlaps, type ResolvedMapping } from "../core/mapping.js";
import { DEFAULT_TARGET } from "../core/model.js";
import { defaultNameTemplate } from "../core/naming.js";
import type { LifecyclePolicies } from "../core/policies.js";
import type { ValueShape } from "../core/value.js";
import { vaultAddress, vaultNamespace } from "../sources/vault/credentials.js";
import { boundProvider } from "../destinations/registry.js";
import type { Config, DestinationConfig, MappingConfig } from "./schema.js";

export { DEFAULT_TARGET };

export interface ResolvedConfig {
  /** This target's config: its merged destination and the mappings it receives, without `targets`. */
  config: Config;
  /** The target's name (DEFAULT_TARGET for a config without `targets`). */
  target: string;
  syncName: string;
  /** The source address (config, $BAO_ADDR, $VAULT_ADDR); undefined when none is set. */
  sourceAddress: string | undefined;
  /** The source namespace (config, $BAO_NAMESPACE, $VAULT_NAMESPACE); undefined for the root namespace. */
  sourceNamespace: string | undefined;
  mappings: ResolvedMapping[];
}

/** A duration as the config writes it ("24h", "90m", "7d", "0s"), in milliseconds. */
export function durationMs(text: string): number {
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[text.slice(-1)];
  if (unit === undefined || !/^\d+$/.test(text.slice(0, -1))) throw new SyncError("config-invalid", `${JSON.stringify(text)} is not a duration such as "24h"`);
  return Number(text.slice(0, -1)) * unit;
}

/** The strategy, and the destination's own settings (every other key) as opaque data for its profile. */
function deletionOf({ strategy, ...settings }: Config["policies"]["deletion"]): LifecyclePolicies["deletion"] {
  return { strategy, settings };
}

/** A mapping's policies: each key it sets, else the top-level value (which has the defaults applied). */
function inheritPolicies(top: Config["policies"], own: MappingConfig["policies"]): LifecyclePolicies {
  const strip = <T extends object>(o: T | undefined): Partial<T> => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const blastRadius = { ...top.blastRadius, ...strip(own?.blastRadius) };
  return {
    deletion: deletionOf({ ...top.deletion, ...strip(own?.deletion) }),
    blastRadius: { ...blastRadius, window: durationMs(blastRadius.window) },
    drift: own?.drift ?? top.drift,
    onConflict: own?.onConflict ?? top.onConflict,
    placeholderValues: own?.placeholderValues ?? top.placeholderValues,
  };
}

/**
 * A config of one target: what the runtimes that run one (a Lambda worker, `iam-policy -c`, the
 * stack) take. A config listing several is refused here, naming them.
 */
export function resolveConfig(config: Config, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const targets = resolveTargets(config, env);
  if (targets.length !== 1 || !targets[0]) {
    throw new SyncError(
      "config-invalid",
      `this config lists ${targets.length} targets (${targets.map((t) => t.target).join(", ")}); this command runs one: the CLI's plan, sync, verify, validate and serve run several (with --target NAME to pick)`,
    );
  }
  return targets[0];
}

/**
 * Every target of a config, in config order: a config without `targets` is one, DEFAULT_TARGET.
 * Throws config-invalid when two mappings of a target overlap, or two targets write to the same
 * place as far as the config tells (destination type, Region, role account or credentials, prefix).
 */
export function resolveTargets(config: Config, env: NodeJS.ProcessEnv = process.env): ResolvedConfig[] {
  const { targets, ...rest } = config;
  if (!targets) return [resolveTarget(rest, DEFAULT_TARGET, env)];
  const resolved = targets.map((t) => {
    const mappings = t.mappings ?? config.mappings;
    return resolveTarget({ ...rest, destination: t.destination, ...(mappings ? { mappings } : {}) }, t.name, env, t.mappings ? `targets[${targets.indexOf(t)}].` : "");
  });
  const clashes = distinctDestinationProblems(resolved.map((r, i) => ({ label: `targets[${i}] (${r.target})`, name: r.target, where: configuredPlace(r.config.destination), prefixes: r.mappings.map((m) => m.prefix) })));
  if (clashes.length) throw new SyncError("config-invalid", `config is invalid:\n${clashes.map((c) => `  - ${c}`).join("\n")}`);
  return resolved;
}

/**
 * Where a destination writes as far as its settings tell: its type, Region and whose credentials
 * (a role's account, a profile, or the environment's). Two targets that differ only in what the
 * environment resolves are told apart by `validate`'s identity call.
 */
function configuredPlace(d: DestinationConfig): string {
  const account = d.assumeRole?.roleArn.split(":")[4];
  const who = account ? `account ${account}` : d.profile ? `profile ${d.profile}` : "the environment's credentials";
  return `${d.type}, Region ${d.region ?? "from the environment"}, ${who}`;
}

/** A target as the duplicate check sees it: a label for messages, where it writes, its prefixes. */
export interface TargetPlace {
  label: string;
  name: string;
  /** Destination service or type, Region and account (or credentials): equal strings are the same place. */
  where: string;
  prefixes: string[];
}

/**
 * Two targets at the same place whose prefixes are equal or one inside the other would list, write
 * and delete each other's secrets (they share the sync name, which is what ownership checks).
 */
export function distinctDestinationProblems(places: TargetPlace[]): string[] {
  const nested = (x: string, y: string) => y === x || y.startsWith(`${x}/`);
  const problems: string[] = [];
  for (const [i, a] of places.entries()) {
    for (const b of places.slice(i + 1)) {
      if (a.where !== b.where) continue;
      const pair = a.prefixes.flatMap((pa) => b.prefixes.map((pb) => [pa, pb] as const)).find(([pa, pb]) => nested(pa, pb) || nested(pb, pa));
      if (!pair) continue;
      const [pa, pb] = pair;
      const prefixes = pa === pb ? `prefix ${pa}/` : `prefixes ${pa}/ and ${pb}/ (one inside the other)`;
      problems.push(`${a.label} and ${b.label} write to the same place: ${a.where}, ${prefixes}; give them different prefixes, Regions or accounts`);
    }
  }
  return problems;
}

/** Resolves the mappings of one target's config; throws config-invalid naming both mappings when two overlap. */
function resolveTarget(config: Config, target: string, env: NodeJS.ProcessEnv, labelPrefix = ""): ResolvedConfig {
  const address = vaultAddress(config.source.address, env);
  const namespace = vaultNamespace(config.source.namespace, env);
  const d = config.destination;
  const listed: { label: string; m: MappingConfig }[] = config.mappings
    ? config.mappings.map((m, i) => ({ label: `${labelPrefix}mappings[${i}]`, m }))
    : [{ label: "source", m: { mount: config.source.mount ?? "", path: config.source.path, include: config.source.include, exclude: config.source.exclude } }];
  const selectOf = (select: MappingConfig["select"]) => Object.fromEntries(Object.entries(select ?? {}).map(([key, v]) => [key, typeof v === "string" ? [v] : v]));
  const mappings = listed.map(({ label, m }) => {
    const granularity = m.granularity ?? d.granularity ?? "secret";
    const shape = m.valueShape ?? d.valueShape ?? "json";
    const valueShape: ValueShape = shape === "json" ? { type: "json" } : { type: shape, key: m.valueKey ?? d.valueKey ?? "" };
    return createMapping({
      label,
      syncName: config.name,
      source: { id: config.source.id, address: address ?? "", mount: m.mount, ...(namespace ? { namespace } : {}) },
      subPath: m.path,
      include: m.include ?? config.source.include,
      exclude: m.exclude ?? config.source.exclude,
      prefix: m.prefix ?? d.prefix,
      nameTemplate: m.nameTemplate ?? d.nameTemplate ?? defaultNameTemplate(granularity),
      granularity,
      valueShape,
      staticTags: { ...d.tags, ...m.tags },
      copyCustomMetadata: m.copyCustomMetadata ?? d.copyCustomMetadata,
      select: selectOf(m.select ?? config.source.select),
      tagRules: {
        required: { ...d.requiredTags, ...m.requiredTags },
        onMissing: m.onMissingTag ?? d.onMissingTag,
        immutable: [...new Set([...d.immutableTags, ...(m.immutableTags ?? [])])],
      },
      destinationOptions: boundProvider(d).mappingOptions(m),
      policies: inheritPolicies(config.policies, m.policies),
    });
  });
  const clashes: string[] = [];
  for (const [i, a] of mappings.entries()) {
    for (const b of mappings.slice(i + 1)) {
      if (overlaps(a, b)) clashes.push(`  - ${a.label} (${a.describe}) and ${b.label} (${b.describe}) overlap: both cover ${a.source.mount} paths and one prefix is inside the other, so they could write (and delete) each other's secrets; give them disjoint prefixes or disjoint sub-paths`);
    }
  }
  if (clashes.length) throw new SyncError("config-invalid", `config is invalid:\n${clashes.join("\n")}`);
  return { config, target, syncName: config.name, sourceAddress: address, sourceNamespace: namespace, mappings };
}
