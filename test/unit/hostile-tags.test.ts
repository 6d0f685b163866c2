// Hostile destination tags, generated: anyone allowed TagResource can write any tag, ours
// included, but cannot set a version id. A seeded generator forges ownership tags on secrets
// secretbridge never wrote (right and wrong sync, paths present, gone and odd, versions valid and
// not, tag-key records, replaced-version ids, other secrets' real version ids replayed) and
// tampers with the tags of secrets it did write. With the blast-radius guard lifted, so only
// proofs stand in the way, a sync must leave every forged secret exactly as it was (tags,
// versions, value, deletion state) and never remove a tag it did not set.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import { runMappings } from "../../src/engine/run.js";
import { silentLogger } from "../../src/util/logger.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { MemorySource } from "../fakes/memory-source.js";

/** mulberry32: a small seeded generator, so a failing case can be replayed from its seed. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T, chance: (p: number) => next() < p };
}

const SYNC = "t";
const ODD_VALUES = ["", " ", "..", "a//b", "team/../team/s0", "é/ü", "x".repeat(255), "secretbridge", "kv1", "0", "-1", "1e3", "99999999999999999999", "01", "1.5", "null", "@=+:/_-."];
const PATHS = ["team/s0", "team/s8", "team/gone", "team/f", "other/x", "team", ...ODD_VALUES];
const ABAC = { owner: "alice", "cost-center": "cc-7", classification: "restricted" };

describe("hostile destination tags (generated)", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`seed ${seed}: forged ownership proves nothing; tampered tags never make secretbridge remove a tag it did not set`, async () => {
      const r = generator(seed);
      const source = new MemorySource({ mount: "kv" });
      for (let i = 0; i < 10; i++) source.put(`team/s${i}`, { v: `value-${i}` });
      const destination = new MemoryDestination();
      const config = parseConfig({
        name: SYNC,
        source: { address: "http://127.0.0.1:8200", mount: "kv", id: r.pick(["default", "onprem"]) },
        destination: { prefix: "p", tags: { team: "x" } },
        policies: { deletion: { strategy: r.pick(["delete", "tag"]) }, blastRadius: { maxShare: 1, minCount: 0 }, drift: r.pick(["overwrite", "report"]), onConflict: r.pick(["fail", "adopt-if-equal"]) },
      });
      const mappings = resolveConfig(config, {}).mappings.map((mapping) => ({ mapping, source }));
      const run = () => runMappings({ destination, logger: silentLogger() }, mappings, { mode: "sync", concurrency: 4, forceDeletions: true });
      assert.equal((await run()).exitCode, 0);
      const genuine = destination.names();
      const realIds = genuine.map((n) => destination.versions(n)[0]?.versionId ?? "");
      const ourTags = destination.tags("p/team/s0") ?? {};

      // Forged: secrets secretbridge never wrote, carrying tags that claim it did.
      for (let i = 0; i < 40; i++) {
        const path = r.pick(PATHS);
        const name = r.chance(0.7) && /^[A-Za-z0-9/_+=.@-]+$/.test(path) && !genuine.includes(`p/${path}`) ? `p/${path}` : `p/forged-${i}`;
        if (destination.has(name)) continue;
        const tags: Record<string, string> = { ...ourTags, [`secretbridge:path`]: path, ...(r.chance(0.5) ? ABAC : {}) };
        if (r.chance(0.2)) tags["secretbridge:sync"] = r.pick(["other", "", SYNC.toUpperCase()]);
        if (r.chance(0.3)) tags["secretbridge:source-version"] = r.pick(ODD_VALUES);
        if (r.chance(0.3)) tags["secretbridge:source-version-created"] = r.pick(ODD_VALUES);
        if (r.chance(0.4)) tags["secretbridge:tag-keys"] = r.pick(["owner cost-center classification", "team owner", "", "x ".repeat(100)]);
        if (r.chance(0.3)) tags["secretbridge:replaced-version"] = r.pick([...realIds, ...ODD_VALUES]);
        if (r.chance(0.2)) tags["secretbridge:source-id"] = r.pick(["onprem", "default", "other"]);
        if (r.chance(0.2)) tags["secretbridge:orphaned-at"] = "2020-01-01T00:00:00Z";
        if (r.chance(0.1)) delete tags["secretbridge:managed-by"];
        destination.seed(name, {
          value: r.chance(0.3) ? JSON.stringify({ v: "value-0" }) : `theirs-${i}`,
          // Some replay a real version id of one of our secrets: the token names another secret.
          versionId: r.chance(0.4) ? r.pick(realIds) : `outsider-${seed}-${i}-0000000000000000000000`,
          tags,
          ...(r.chance(0.15) ? { deleted: true as const } : {}),
          ...(r.chance(0.1) ? { rotationEnabled: true } : {}),
        });
      }
      // Tampered: secrets secretbridge did write, their tag-key records extended by someone else.
      for (const name of genuine) {
        if (!r.chance(0.6)) continue;
        destination.outsiderEdit(name, (s) => {
          Object.assign(s.tags, ABAC);
          s.tags["secretbridge:tag-keys"] = r.pick(["owner cost-center classification team", "owner", "team classification"]);
          if (r.chance(0.3)) s.tags["secretbridge:replaced-version"] = r.pick(realIds);
        });
      }
      // Some sources go, so absences are planned too; some of the forged secrets name them.
      source.remove("team/s8");
      source.remove("team/s9");

      const forged = destination.names().filter((n) => !genuine.includes(n));
      const before = new Map(forged.map((n) => [n, JSON.stringify([destination.tags(n), destination.versions(n).map((v) => [v.versionId, v.stages]), destination.value(n), destination.details(n)?.deletedDate])]));
      const report = await run();
      assert.ok(report.exitCode <= 1, `exit ${report.exitCode}: ${report.fatal?.message ?? ""}`);
      for (const n of forged) {
        const after = JSON.stringify([destination.tags(n), destination.versions(n).map((v) => [v.versionId, v.stages]), destination.value(n), destination.details(n)?.deletedDate]);
        assert.equal(after, before.get(n), `${n} was changed though nothing proves it is secretbridge's`);
      }
      for (const n of genuine) {
        const tags = destination.tags(n) ?? {};
        for (const [key, value] of Object.entries(ABAC)) if (key in tags) assert.equal(tags[key], value, `${n}: ${key} rewritten`);
        const removed = report.results.filter((x) => x.action.destinationName === n).flatMap((x) => ("untag" in x.action ? (x.action.untag ?? []) : []));
        assert.deepEqual(removed.filter((k) => !k.startsWith("secretbridge:") && k !== "team"), [], `${n}: removed tags it never set`);
      }
      // The secrets secretbridge wrote whose sources went are handled, unless their record was
      // rewritten: the record is bound to the version, so a rewritten one proves nothing and the
      // secret is held as ownership-unproven (refused, never a guess).
      for (const name of ["p/team/s8", "p/team/s9"]) {
        const outcome = report.results.filter((x) => x.action.destinationName === name).map((x) => x.action.failure?.errorClass ?? x.action.type);
        assert.ok(["delete", "orphan", "ownership-unproven"].includes(outcome[0] ?? ""), `${name}: ${outcome.join(", ")}`);
        assert.equal(outcome.length, 1);
      }
    });
  }
});
