// How `serve` schedules pushed paths: a change does not wait for a targeted run of other paths
// that is in flight (runs of disjoint paths overlap), a path is never in two runs at once (its
// next change waits for the run that has it, then syncs the newest version), and a full run never
// writes beside a targeted one; with targets, a target whose run hangs holds back no other.
// In-memory source and destination; a write held open by a gate.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig, resolveTargets } from "../../src/config/resolve.js";
import { TAG } from "../../src/core/tags.js";
import type { AppliedWrite, SourceInventory } from "../../src/core/model.js";
import type { RenderedValue } from "../../src/core/value.js";
import { runMappings } from "../../src/engine/run.js";
import { SyncService } from "../../src/runtime/service/service.js";
import type { Wiring } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { MemorySource } from "../fakes/memory-source.js";
import { memoryWiring } from "../helpers/memory-wiring.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => undefined as void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A destination whose writes to `held` wait until `release()`; every write start and end is logged in order. */
class GatedDestination extends MemoryDestination {
  held: string | undefined;
  readonly events: string[] = [];
  private opened: (() => void) | undefined;
  private readonly gate = deferred();
  readonly entered = deferred();

  release(): void {
    this.gate.resolve();
  }

  override async apply(action: AppliedWrite, value: () => Promise<RenderedValue>): Promise<void> {
    this.events.push(`start ${action.destinationName} v${action.sourceVersion ?? "-"}`);
    if (action.destinationName === this.held) {
      this.entered.resolve();
      await this.gate.promise;
    }
    await super.apply(action, value);
    this.events.push(`done ${action.destinationName} v${action.sourceVersion ?? "-"}`);
    this.opened?.();
  }

  /** Resolves once `name` has been written at `version`. */
  async written(name: string, version: number): Promise<void> {
    while (!this.events.includes(`done ${name} v${version}`)) await new Promise<void>((resolve) => (this.opened = resolve));
  }
}

const resolved = resolveConfig(parseConfig({ name: "t", source: { address: "http://127.0.0.1:8200", mount: "kv" }, destination: { prefix: "p" } }), {});

function service(source: MemorySource, destination: MemoryDestination): SyncService {
  const wiring: Wiring = {
    resolved,
    mappings: resolved.mappings.map((mapping) => ({ mapping, source })),
    destination,
    notifiers: [],
    sourceHealth: () => ({ usable: true }),
    target: async () => ({ name: resolved.target, source: { address: "http://127.0.0.1:8200", mounts: ["kv"] }, destination: { ...(await destination.target()), prefixes: ["p/"] } }),
    close: async () => undefined,
  };
  return new SyncService({ wiring, logger: silentLogger(), recorder: new ApiCallRecorder(), listen: { host: "127.0.0.1", port: 0 }, coalesceMs: 1 });
}

describe("targeted runs under a steady stream of changes", () => {
  test("a change to another path is written while a run is held; a second change to the held path waits for it and then writes the newest version", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("team/a", { v: "a1" });
    source.put("team/b", { v: "b1" });
    const destination = new GatedDestination();
    const svc = service(source, destination);
    await svc.start();
    try {
      await svc.idle(); // the startup full sync
      destination.held = "p/team/a";
      source.put("team/a", { v: "a2" });
      svc.push([{ mount: "kv", path: "team/a" }], "audit");
      await destination.entered.promise;

      source.put("team/b", { v: "b2" });
      svc.push([{ mount: "kv", path: "team/b" }], "audit");
      source.put("team/a", { v: "a3" });
      svc.push([{ mount: "kv", path: "team/a" }], "audit");
      // Bounded only so that a service that waits for the held run fails instead of hanging.
      const outcome = await Promise.race([destination.written("p/team/b", 2).then(() => "b written"), new Promise((r) => setTimeout(r, 5_000).unref()).then(() => "b waited for the held run")]);
      assert.equal(outcome, "b written");
      assert.deepEqual(destination.events.slice(4), ["start p/team/a v2", "start p/team/b v2", "done p/team/b v2"], "team/a's second change did not start beside the run that has team/a");

      destination.release();
      await destination.written("p/team/a", 3);
      await svc.idle();
      assert.deepEqual(destination.events.slice(4), ["start p/team/a v2", "start p/team/b v2", "done p/team/b v2", "done p/team/a v2", "start p/team/a v3", "done p/team/a v3"]);
      assert.equal(destination.tags("p/team/a")?.[TAG.sourceVersion], "3");
      assert.equal(destination.value("p/team/a"), JSON.stringify({ v: "a3" }));
    } finally {
      destination.release();
      await svc.stop();
    }
  });
});

/** A destination whose writes to any of `held` wait until `release()`; `entered(name)` resolves when one of them is waiting. */
class ManyGatedDestination extends MemoryDestination {
  readonly held = new Set<string>();
  readonly done: string[] = [];
  private readonly gate = deferred();
  private readonly waiting = new Map<string, ReturnType<typeof deferred>>();

  release(): void {
    this.gate.resolve();
  }

  entered(name: string): Promise<void> {
    return this.arrival(name).promise;
  }

  private arrival(name: string): ReturnType<typeof deferred> {
    const known = this.waiting.get(name) ?? deferred();
    this.waiting.set(name, known);
    return known;
  }

  override async apply(action: AppliedWrite, value: () => Promise<RenderedValue>): Promise<void> {
    if (this.held.has(action.destinationName)) {
      this.arrival(action.destinationName).resolve();
      await this.gate.promise;
    }
    await super.apply(action, value);
    this.done.push(action.destinationName);
  }
}

describe("runs in flight when calls are slow", () => {
  test("four runs of one path each held open: a change to a fifth path is written beside them, not after them", async () => {
    const source = new MemorySource({ mount: "kv" });
    const slow = ["a", "b", "c", "d"];
    for (const p of [...slow, "e"]) source.put(`team/${p}`, { v: `${p}1` });
    const destination = new ManyGatedDestination();
    const svc = service(source, destination);
    await svc.start();
    try {
      await svc.idle(); // the startup full sync
      destination.done.length = 0;
      for (const p of slow) {
        destination.held.add(`p/team/${p}`);
        source.put(`team/${p}`, { v: `${p}2` });
        svc.push([{ mount: "kv", path: `team/${p}` }], "audit");
        await destination.entered(`p/team/${p}`); // its own run, held open
      }
      source.put("team/e", { v: "e2" });
      svc.push([{ mount: "kv", path: "team/e" }], "audit");
      // Bounded only so that a service that waits for a held run fails instead of hanging.
      const outcome = await Promise.race([
        (async () => {
          while (!destination.done.includes("p/team/e")) await new Promise((r) => setTimeout(r, 5));
          return "e written";
        })(),
        new Promise((r) => setTimeout(r, 3_000).unref()).then(() => "e waited for the held runs"),
      ]);
      assert.equal(outcome, "e written");
      assert.equal(destination.value("p/team/e"), JSON.stringify({ v: "e2" }));
      assert.deepEqual(destination.done, ["p/team/e"], "none of the held writes finished before it");
      destination.release();
      await svc.idle();
      assert.deepEqual(slow.map((p) => destination.value(`p/team/${p}`)), slow.map((p) => JSON.stringify({ v: `${p}2` })));
    } finally {
      destination.release();
      await svc.stop();
    }
  });
});

/** A source whose next inventory of pushed paths is held after it was read, until `release()`. */
class HeldSource extends MemorySource {
  hold = false;
  readonly read = deferred();
  private readonly gate = deferred();

  release(): void {
    this.gate.resolve();
  }

  override async inventoryOf(paths: string[]): Promise<SourceInventory> {
    const inventory = await super.inventoryOf(paths);
    if (this.hold) {
      this.hold = false;
      this.read.resolve();
      await this.gate.promise;
    }
    return inventory;
  }
}

describe("order per secret under reordering", () => {
  test("two pushed runs of one path: the one that read version 2 lands after the one that wrote version 3, and leaves version 3", async () => {
    const source = new HeldSource({ mount: "kv" });
    source.put("team/a", { v: "a1" }, { createdTime: "2030-01-01T00:00:01.000000001Z" });
    const destination = new MemoryDestination();
    const mappings = resolved.mappings.map((mapping) => ({ mapping, source }));
    const run = () => runMappings({ destination, logger: silentLogger() }, mappings, { mode: "sync", concurrency: 4, targets: [{ mount: "kv", path: "team/a" }] });
    await run();
    source.put("team/a", { v: "a2" }, { createdTime: "2030-01-01T00:00:02.000000001Z" });
    source.hold = true;
    const stale = run(); // reads version 2, then waits
    await source.read.promise;
    source.put("team/a", { v: "a3" }, { createdTime: "2030-01-01T00:00:03.000000001Z" });
    const fresh = await run();
    assert.deepEqual(fresh.results.map((r) => [r.action.type, r.action.sourceVersion]), [["update", 3]]);
    assert.equal(destination.tags("p/team/a")?.[TAG.sourceVersion], "3");
    source.release();
    const late = await stale;
    assert.deepEqual(
      late.results.map((r) => [r.action.type, r.action.reason]),
      [["unchanged", "the destination holds version 3 (created 2030-01-01T00:00:03.000000001Z), newer than version 2 read from the source: left as is"]],
    );
    assert.equal(destination.value("p/team/a"), JSON.stringify({ v: "a3" }));
    assert.equal(destination.tags("p/team/a")?.[TAG.sourceVersion], "3");
  });
});

/** A destination whose `validate()` (the first call of a full run) hangs while `hung`. */
class HangingDestination extends MemoryDestination {
  hung = false;
  readonly entered = deferred();
  private readonly gate = deferred();

  release(): void {
    this.gate.resolve();
  }

  override async validate(): Promise<void> {
    if (this.hung) {
      this.entered.resolve();
      await this.gate.promise;
    }
    return super.validate();
  }
}

describe("targets are scheduled apart", () => {
  test("a target whose full sync hangs holds back no other: pushes and full syncs of the other target go on, and it catches up when released", async () => {
    const source = new MemorySource({ mount: "kv" });
    source.put("team/a", { v: "a1" });
    const config = parseConfig({
      name: "t",
      source: { address: "http://127.0.0.1:8200", mount: "kv" },
      destination: { prefix: "p" },
      targets: [
        { name: "stuck", destination: { region: "eu-west-1" } },
        { name: "fine", destination: { region: "us-east-1" } },
      ],
    });
    const stuck = new HangingDestination();
    const fine = new MemoryDestination();
    const destinations: Record<string, MemoryDestination> = { stuck, fine };
    const wirings = resolveTargets(config, {}).map((r) => memoryWiring(r, source, destinations[r.target] as MemoryDestination));
    const svc = new SyncService({ targets: wirings, logger: silentLogger(), recorder: new ApiCallRecorder(), listen: { host: "127.0.0.1", port: 0 }, coalesceMs: 1 });
    await svc.start();
    try {
      await svc.idle(); // the startup full sync of both
      stuck.hung = true;
      svc.requestFull("api");
      await stuck.entered.promise;
      // Bounded only so that a service that waits for the hung target fails instead of hanging.
      const until = async (check: () => boolean) => {
        for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
        return check();
      };
      // While the stuck target's full sync hangs: the other's full sync ends, then a pushed change reaches it.
      assert.equal(await until(() => svc.runs(10, "full", "fine").length === 2), true, "the other target's full sync ended");
      source.put("team/a", { v: "a2" });
      svc.push([{ mount: "kv", path: "team/a" }], "webhook");
      assert.equal(await until(() => fine.value("p/team/a") === JSON.stringify({ v: "a2" })), true, "the pushed change reached the other target");
      assert.equal(stuck.value("p/team/a"), JSON.stringify({ v: "a1" }));
      assert.equal(await until(() => svc.runs(10, "targeted", "fine").length === 1), true, "the other target's targeted run recorded");
      assert.deepEqual(svc.runs(10, undefined, "fine").map((r) => [r.kind, r.trigger]), [
        ["targeted", "webhook"],
        ["full", "api"],
        ["full", "startup"],
      ]);
      assert.deepEqual(svc.runs(10, undefined, "stuck").map((r) => [r.kind, r.trigger]), [["full", "startup"]]);
      // The stuck target's full sync runs on; the pushed path waits for it in that target only.
      assert.deepEqual(svc.summary(), { ready: true, reason: "ready", running: true, pending: { full: false, paths: 1 }, targets: ["stuck", "fine"] });

      stuck.release();
      await svc.idle();
      // Its full sync, then the pushed change it waited for (as a targeted run after the full one).
      assert.equal(stuck.value("p/team/a"), JSON.stringify({ v: "a2" }));
      assert.equal(svc.runs(10, "full", "stuck")[0]?.trigger, "api");
    } finally {
      stuck.release();
      await svc.stop();
    }
  });
});
