// `secretbridge verify`: compares both sides by value, not by metadata. Reads the source values
// and the destination values (BatchGetSecretValue, 20 a call), compares in-memory fingerprints and
// returns a verdict per secret. Never returns or prints a value.
import pLimit from "p-limit";
import type { ErrorClass } from "../core/errors.js";
import { isSyncError } from "../core/errors.js";
import { destinationNameFor } from "../core/naming.js";
import { ownershipOf, TAG } from "../core/tags.js";
import { renderValue, secretStringFingerprint } from "../core/value.js";
import type { SecretDestination } from "../destinations/destination.js";
import type { SecretSource } from "../sources/source.js";
import type { PlanSettings } from "../core/plan.js";
import { scopeMatcher } from "../core/scope.js";

export type Verdict = "in-sync" | "differs" | "missing" | "not-ours" | "extra" | "unreadable";

export interface VerifyEntry {
  sourcePath: string;
  destinationName: string;
  verdict: Verdict;
  detail?: string;
  errorClass?: ErrorClass;
}

export interface VerifyReport {
  syncName: string;
  entries: VerifyEntry[];
  counts: Record<Verdict, number>;
  exitCode: 0 | 1 | 2;
}

/** Verifies every mapping; one report. */
export async function verify(mappings: { source: SecretSource; settings: PlanSettings }[], destination: SecretDestination, concurrency = 8): Promise<VerifyReport> {
  const reports = [];
  for (const m of mappings) reports.push(await verifyMapping(m.source, destination, m.settings, concurrency));
  const entries = reports.flatMap((r) => r.entries);
  const counts = { "in-sync": 0, differs: 0, missing: 0, "not-ours": 0, extra: 0, unreadable: 0 } as Record<Verdict, number>;
  for (const e of entries) counts[e.verdict] += 1;
  return { syncName: mappings[0]?.settings.syncName ?? "", entries, counts, exitCode: reports.some((r) => r.exitCode !== 0) ? 1 : 0 };
}

async function verifyMapping(source: SecretSource, destination: SecretDestination, settings: PlanSettings, concurrency: number): Promise<VerifyReport> {
  await Promise.all([source.validate(), destination.validate()]);
  const [src, dst] = await Promise.all([source.inventory(), destination.inventory(settings.prefix)]);
  const byName = new Map(dst.secrets.map((d) => [d.name, d]));
  const entries: VerifyEntry[] = [];
  const inScope = scopeMatcher(settings.scope ?? {});
  const present = src.secrets.filter((s) => s.state === "present" && inScope(s.path));
  const toRead: { path: string; name: string; version: number | null }[] = [];
  const seen = new Set<string>();
  for (const s of present) {
    const name = destinationNameFor(settings.prefix, s.path, settings.nameTemplate, settings.source.mount);
    seen.add(name);
    const d = byName.get(name);
    if (!d || d.deletedDate) entries.push({ sourcePath: s.path, destinationName: name, verdict: "missing" });
    else if (ownershipOf(d.tags, settings.syncName) !== "ours") entries.push({ sourcePath: s.path, destinationName: name, verdict: "not-ours" });
    else toRead.push({ path: s.path, name, version: s.version });
  }
  for (const d of dst.secrets) {
    if (seen.has(d.name) || d.deletedDate || ownershipOf(d.tags, settings.syncName) !== "ours" || d.tags[TAG.mount] !== settings.source.mount) continue;
    if (!inScope(d.tags[TAG.path] ?? "")) continue;
    entries.push({ sourcePath: d.tags[TAG.path] ?? "", destinationName: d.name, verdict: "extra", detail: "ours, but no longer in the source" });
  }
  const destValues = toRead.length ? await destination.readValues(toRead.map((r) => r.name)) : new Map<string, string>();
  const limit = pLimit(concurrency);
  await Promise.all(
    toRead.map((r) =>
      limit(async () => {
        try {
          const rendered = renderValue(await source.readValue(r.path, r.version), settings.valueShape ?? { type: "json" }, r.path);
          if (!("secretString" in rendered)) {
            entries.push({ sourcePath: r.path, destinationName: r.name, verdict: "unreadable", detail: "problem" in rendered ? rendered.problem : "binary values are not compared" });
            return;
          }
          const value = destValues.get(r.name);
          const same = value !== undefined && secretStringFingerprint(value) === secretStringFingerprint(rendered.secretString);
          entries.push({ sourcePath: r.path, destinationName: r.name, verdict: same ? "in-sync" : "differs" });
        } catch (error) {
          const errorClass = isSyncError(error) ? error.errorClass : "source-read-failed";
          entries.push({ sourcePath: r.path, destinationName: r.name, verdict: "unreadable", errorClass, detail: isSyncError(error) ? error.message : "read failed" });
        }
      }),
    ),
  );
  entries.sort((a, b) => (a.destinationName < b.destinationName ? -1 : a.destinationName > b.destinationName ? 1 : 0));
  const counts = { "in-sync": 0, differs: 0, missing: 0, "not-ours": 0, extra: 0, unreadable: 0 } as Record<Verdict, number>;
  for (const e of entries) counts[e.verdict] += 1;
  const exitCode = entries.every((e) => e.verdict === "in-sync") && src.problems.length === 0 ? 0 : 1;
  return { syncName: settings.syncName, entries, counts, exitCode };
}
