// `secretbridge verify`: compares both sides by value, not by metadata. Reads every source value
// in scope and the destination values of the names the mapping gives them (batched), compares
// in-memory fingerprints and returns a verdict per destination secret. Names, scope and
// ownership come from the resolved mapping, exactly as `sync` uses them. Never returns or prints
// a value.
import type { ErrorClass } from "../core/errors.js";
import { isSyncError } from "../core/errors.js";
import type { DestinationSecretMeta } from "../core/model.js";
import { valueFactsOf } from "../core/plan.js";
import { TAG } from "../core/tags.js";
import { secretStringFingerprint } from "../core/value.js";
import type { SecretDestination } from "../destinations/destination.js";
import type { MappingSource } from "./run.js";

/** released: secretbridge let it go (`release`); not compared, and not a failure. */
export type Verdict = "in-sync" | "differs" | "missing" | "not-ours" | "extra" | "unreadable" | "released";

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

const emptyVerdicts = (): Record<Verdict, number> => ({ "in-sync": 0, differs: 0, missing: 0, "not-ours": 0, extra: 0, unreadable: 0, released: 0 });

/** Verifies every mapping; one report. */
export async function verify(mappings: MappingSource[], destination: SecretDestination, concurrency = 8): Promise<VerifyReport> {
  const entries: VerifyEntry[] = [];
  let complete = true;
  for (const m of mappings) complete = (await verifyMapping(m, destination, concurrency, entries)) && complete;
  entries.sort((a, b) => (a.destinationName < b.destinationName ? -1 : a.destinationName > b.destinationName ? 1 : 0));
  const counts = emptyVerdicts();
  for (const e of entries) counts[e.verdict] += 1;
  const exitCode = complete && entries.every((e) => e.verdict === "in-sync" || e.verdict === "released") ? 0 : 1;
  return { syncName: mappings[0]?.mapping.syncName ?? "", entries, counts, exitCode };
}

/** Adds this mapping's verdicts to `entries`; false when its source listing was incomplete. */
async function verifyMapping({ mapping, source }: MappingSource, destination: SecretDestination, concurrency: number, entries: VerifyEntry[]): Promise<boolean> {
  await Promise.all([source.validate(), destination.validate()]);
  const [src, dst] = await Promise.all([source.inventory(), destination.inventory(mapping.prefix)]);
  const byName = new Map<string, DestinationSecretMeta>(dst.secrets.map((d) => [d.name, d]));
  const present = src.secrets.filter((s) => s.state === "present" && mapping.inScope(s.path) && mapping.selects(s));
  // Listed, but outside the custom_metadata selection: not this mapping's to check, and not "extra".
  const deselected = new Set(src.secrets.filter((s) => mapping.inScope(s.path) && !mapping.selects(s)).map((s) => s.path));
  const firstEntry = entries.length;
  const expected: { path: string; name: string; fingerprint?: string; arn?: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < present.length) {
      const s = present[next++];
      if (!s) break;
      try {
        const facts = valueFactsOf(mapping, await source.readValue(s.path, s.version));
        const keys = mapping.granularity === "key" ? facts.keys : [""];
        for (const key of keys) {
          const fingerprint = facts.fingerprints[key];
          expected.push({ path: s.path, name: mapping.nameFor(s.path, key || undefined), ...(fingerprint !== undefined ? { fingerprint } : {}) });
        }
      } catch (error) {
        const errorClass = isSyncError(error) ? error.errorClass : "source-read-failed";
        entries.push({ sourcePath: s.path, destinationName: mapping.nameFor(s.path, mapping.granularity === "key" ? "{key}" : undefined), verdict: "unreadable", errorClass, detail: isSyncError(error) ? error.message : "read failed" });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, present.length)) }, worker));

  const seen = new Set(expected.map((e) => e.name));
  const toRead: typeof expected = [];
  for (const e of expected) {
    const d = byName.get(e.name);
    if (!d || d.deletedDate) entries.push({ sourcePath: e.path, destinationName: e.name, verdict: "missing" });
    else if (d.tags[TAG.releasedAt] !== undefined) entries.push({ sourcePath: e.path, destinationName: e.name, verdict: "released", detail: `released at ${d.tags[TAG.releasedAt]}` });
    else if (!mapping.produced(d)) entries.push({ sourcePath: e.path, destinationName: e.name, verdict: "not-ours" });
    else toRead.push({ ...e, ...(d.arn ? { arn: d.arn } : {}) });
  }
  // A secret whose source could not be read is reported as unreadable, not extra.
  const unreadable = new Set(entries.slice(firstEntry).filter((e) => e.verdict === "unreadable").map((e) => e.sourcePath));
  for (const d of dst.secrets) {
    const path = d.tags[TAG.path] ?? "";
    if (seen.has(d.name) || d.deletedDate || d.tags[TAG.releasedAt] !== undefined || !mapping.produced(d) || unreadable.has(path) || deselected.has(path)) continue;
    entries.push({ sourcePath: path, destinationName: d.name, verdict: "extra", detail: "ours, but no longer in the source" });
  }
  const values = toRead.length ? await destination.readValues(toRead.map((r) => ({ name: r.name, ...(r.arn ? { arn: r.arn } : {}) }))) : new Map();
  for (const r of toRead) {
    const read = values.get(r.name);
    if (r.fingerprint === undefined) {
      entries.push({ sourcePath: r.path, destinationName: r.name, verdict: "unreadable", detail: "the source value cannot be rendered as a string (binary or invalid for the value shape): not compared" });
    } else if (read && "error" in read) {
      entries.push({ sourcePath: r.path, destinationName: r.name, verdict: "unreadable", errorClass: read.error.errorClass, detail: read.error.message });
    } else {
      const same = read !== undefined && secretStringFingerprint(read.value) === r.fingerprint;
      entries.push({ sourcePath: r.path, destinationName: r.name, verdict: same ? "in-sync" : "differs" });
    }
  }
  return src.problems.length === 0;
}
