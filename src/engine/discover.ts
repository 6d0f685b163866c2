// `secretbridge discover`: the inventory a migration starts from. Lists both sides and plans
// exactly as `plan` does (same listing, same planner, metadata reads only), then turns the plan
// into one row per source secret. No value is read on either side, except with `withSizes`, where
// each source value is read, measured and dropped at once: only its size in bytes leaves here.
import { FATAL_CLASSES, SyncError } from "../core/errors.js";
import { checklistRows, type ChecklistRow } from "../core/checklist.js";
import type { CutoverSelection, WaveSelect } from "../core/cutover.js";
import { matchesSelect } from "../core/mapping.js";
import { discoverRows, rowKey, summarise, type DiscoverReport, type DiscoverRules, type MappingListing } from "../core/discover.js";
import type { InventoryProblem } from "../core/model.js";
import type { MappingInventory } from "../core/plan.js";
import type { DestinationProfile } from "../core/profile.js";
import { renderValue } from "../core/value.js";
import type { SecretDestination } from "../destinations/destination.js";
import type { Logger } from "../util/logger.js";
import type { RunReport } from "./report.js";
import { asSyncError, inventories, planWithFacts, pool, type MappingSource } from "./run.js";

export interface DiscoverOptions {
  rules: DiscoverRules;
  /** Ages are counted to this time. */
  asOf: Date;
  /** Read each value to report its size (and nothing else). */
  withSizes: boolean;
  concurrency: number;
  /** Only the secrets of this wave (`--wave`, as given and as it selects). */
  wave?: { text: string; select: WaveSelect };
}

export async function discover(deps: { destination: SecretDestination; logger: Logger }, mappings: MappingSource[], options: DiscoverOptions): Promise<DiscoverReport> {
  const syncName = mappings[0]?.mapping.syncName;
  if (syncName === undefined) throw new SyncError("config-invalid", "no mapping to discover");
  const log = deps.logger.child({ sync: syncName, mode: "discover" });
  // KV v1 keeps no metadata (no versions, no times), and listing it reads every value: discover
  // leaves such a mount out and says so, rather than read values it promised not to.
  const problems: InventoryProblem[] = [];
  const listed: MappingSource[] = [];
  for (const m of mappings) {
    const caps = await m.source.validate();
    if (caps.kvVersion === 1) {
      problems.push({
        path: m.mapping.sourceScope,
        errorClass: "unreadable",
        message: `${m.mapping.label}: ${m.mapping.sourceScope} is a KV v1 mount, which keeps no metadata (no versions, no update times) and cannot be listed without reading every value; discover leaves it out`,
      });
    } else listed.push(m);
  }
  const timings: RunReport["timings"] = {};
  let inputs: MappingInventory[] = [];
  if (listed.length > 0) inputs = await inventories({ destination: deps.destination, logger: log }, listed, { mode: "plan", concurrency: options.concurrency }, log, timings);
  const bySource = new Map(listed.map((m) => [m.mapping.label, m]));
  const plan = await planWithFacts(deps.destination, inputs, bySource, options.concurrency, timings, { now: options.asOf }, "metadata");
  const listings: MappingListing[] = inputs.map((i) => ({ mapping: i.mapping, secrets: i.source.secrets, destination: i.destination.secrets }));
  const wave = options.wave?.select;
  const sizes = options.withSizes ? await valueSizes(listed, inputs, deps.destination.profile, options.concurrency, wave) : undefined;
  const t = performance.now();
  const rows = discoverRows(listings, plan, deps.destination.profile, options.rules, options.asOf, sizes?.sizes, wave);
  const rowsMs = Math.round(performance.now() - t);
  const allProblems = [...problems, ...plan.problems];
  log.info({ rows: rows.length, problems: allProblems.length, timings }, "discover finished");
  return {
    format: "secretbridge-discover/1",
    syncName,
    generatedAt: new Date().toISOString(),
    asOf: options.asOf.toISOString(),
    wave: options.wave?.text ?? null,
    rules: options.rules,
    withSizes: options.withSizes,
    summary: summarise(rows, [...new Set(listed.flatMap((m) => Object.keys(m.mapping.tagRules.required)))]),
    rows,
    problems: allProblems,
    // Action warnings too: a custom_metadata key that cannot become a tag is a tag ABAC will miss.
    timings: { ...timings, rowsMs },
    warnings: [...plan.warnings, ...plan.actions.flatMap((a) => a.warnings ?? []), ...(sizes?.warnings ?? [])],
    exitCode: allProblems.length > 0 ? 1 : 0,
  };
}

/**
 * The size in bytes of each value as its mapping would write it (granularity key: the whole map
 * as JSON). The value is read, measured and dropped in one step; a read that fails is that
 * secret's warning (class only), a fatal class stops the report.
 */
async function valueSizes(listed: MappingSource[], inputs: MappingInventory[], profile: DestinationProfile, concurrency: number, wave: WaveSelect | undefined): Promise<{ sizes: Map<string, number | null>; warnings: string[] }> {
  const sizes = new Map<string, number | null>();
  const warnings: string[] = [];
  const tasks: (() => Promise<void>)[] = [];
  for (const [i, { mapping, source }] of listed.entries()) {
    for (const secret of inputs[i]?.source.secrets ?? []) {
      if (secret.state !== "present" || !mapping.inScope(secret.path) || (wave && !matchesSelect(wave, secret.customMetadata))) continue;
      tasks.push(async () => {
        const key = rowKey(mapping.label, secret.path);
        try {
          const rendered = renderValue(await source.readValue(secret.path, secret.version), mapping.granularity === "key" ? { type: "json" } : mapping.valueShape, secret.path);
          if ("problem" in rendered) {
            sizes.set(key, null);
            warnings.push(`${secret.path}: no size: ${rendered.problem}`);
          } else {
            sizes.set(key, "secretString" in rendered ? Buffer.byteLength(rendered.secretString, "utf8") : rendered.secretBinary.byteLength);
            // Too large to relocate as it is: worth knowing before the migration, not at the first sync.
            const tooLarge = profile.valueProblem(rendered);
            if (tooLarge) warnings.push(`${secret.path}: ${tooLarge}`);
          }
        } catch (error) {
          const failure = asSyncError(error, "source-read-failed", [], secret.path);
          if (FATAL_CLASSES.has(failure.errorClass)) throw failure;
          sizes.set(key, null);
          warnings.push(`${secret.path}: no size: the value could not be read (${failure.errorClass})`);
        }
      });
    }
  }
  await pool(tasks, concurrency);
  return { sizes, warnings };
}

/**
 * The cutover checklist of the selected secrets: listed and planned exactly as `discover` (metadata
 * only, no value read), then one row per destination secret.
 */
export async function checklist(deps: { destination: SecretDestination; logger: Logger }, mappings: MappingSource[], selection: CutoverSelection, concurrency: number): Promise<{ rows: ChecklistRow[]; problems: InventoryProblem[] }> {
  const log = deps.logger.child({ sync: mappings[0]?.mapping.syncName, mode: "checklist" });
  const timings: RunReport["timings"] = {};
  const inputs = await inventories({ destination: deps.destination, logger: log }, mappings, { mode: "plan", concurrency }, log, timings);
  const bySource = new Map(mappings.map((m) => [m.mapping.label, m]));
  const plan = await planWithFacts(deps.destination, inputs, bySource, concurrency, timings, {}, "metadata");
  return { rows: checklistRows(inputs, plan, selection), problems: plan.problems };
}
