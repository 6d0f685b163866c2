// Resolves a validated config once: every default and inherited value applied (mapping, then
// destination, then top level), into resolved mappings that answer scope, name and ownership
// questions. Every runtime, `verify`, the service and `iam-policy` use these; nothing downstream
// re-derives a setting with a `??` chain.
import { SyncError } from "../core/errors.js";
import { createMapping, overlaps, type ResolvedMapping } from "../core/mapping.js";
import { defaultNameTemplate } from "../core/naming.js";
import type { LifecyclePolicies } from "../core/policies.js";
import type { ValueShape } from "../core/value.js";
import { vaultAddress, vaultNamespace } from "../sources/vault/credentials.js";
import { boundProvider } from "../destinations/registry.js";
import type { Config, MappingConfig } from "./schema.js";

export interface ResolvedConfig {
  config: Config;
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

/** Resolves the mappings of a config; throws config-invalid naming both mappings when two overlap. */
export function resolveConfig(config: Config, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const address = vaultAddress(config.source.address, env);
  const namespace = vaultNamespace(config.source.namespace, env);
  const d = config.destination;
  const listed: { label: string; m: MappingConfig }[] = config.mappings
    ? config.mappings.map((m, i) => ({ label: `mappings[${i}]`, m }))
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
  return { config, syncName: config.name, sourceAddress: address, sourceNamespace: namespace, mappings };
}
