// Crash convergence on Parameter Store (moto): a run killed at every write it makes, before the
// write reaches Parameter Store and after it landed but before its answer came back, then a
// normal run. After each, every parameter holds its source value, Parameter Store's version
// counts up once per source version it went through (PutParameter has no request token: the
// destination re-lists a name before writing it, so a write that landed is never made twice),
// nothing is deleted that should stay, and one more run writes nothing.
// moto gaps met here: DescribeParameters answers 10 per page whatever MaxResults says, and the
// 4 KB standard-tier and 15-level limits are not enforced (the profile checks both; the values
// and names here stay within them).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { AppliedWrite } from "../../src/core/model.js";
import { TAG } from "../../src/core/tags.js";
import { ParameterStoreDestination, SdkSsmApi, SsmServiceError, type SsmApi } from "../../src/destinations/aws-ssm-parameter-store/index.js";
import type { SsmOperation, SsmOperations } from "../../src/destinations/aws-ssm-parameter-store/ssm-api.js";
import { runMappings } from "../../src/engine/run.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { MemorySource } from "../fakes/memory-source.js";
import { assertNoCanary, canaryBook } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";
import { startMoto, type MotoPeer } from "../helpers/peers.js";

let moto: MotoPeer;
let ssm: SsmApi;
before(async () => {
  moto = await startMoto();
  ssm = SdkSsmApi.create({ region: "us-east-1", endpoint: moto.url, credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
});
after(async () => {
  ssm.destroy();
  await moto.stop();
  // Killed runs report failures and log them: none of it may carry a value.
  assertNoCanary([...book.emitted, log.logs()], book.canaries);
});
beforeEach(async () => {
  await moto.reset();
});

const PREFIX = "crash";
const book = canaryBook();
const log = captureLogger();
/** In every value written here, the source's and the hand edit's alike. */
const SECRET = book.secret("parameter-store-crash");
const valueOf = (label: string) => ({ c: SECRET, v: label });
const FAST = { write: 1000, read: 1000, list: 1000, tag: 1000, delete: 1000 };
const WRITES: ReadonlySet<SsmOperation> = new Set<SsmOperation>(["PutParameter", "AddTagsToResource", "RemoveTagsFromResource", "DeleteParameter", "LabelParameterVersion"]);

/**
 * The SSM client of a run that is killed at its Nth write: dropped before it reaches Parameter
 * Store, or after Parameter Store applied it (its answer lost). From then on nothing reaches
 * Parameter Store, as when the process is gone; the run's own report is not looked at.
 */
class KilledAt implements SsmApi {
  writes = 0;
  /** The write the kill hit: `PutParameter /crash/a`. */
  killed: string | undefined;
  private dead = false;

  constructor(
    private readonly inner: SsmApi,
    private readonly at: number,
    private readonly afterApplied: boolean,
  ) {}

  region(): Promise<string | null> {
    return this.inner.region();
  }

  destroy(): void {}

  async call<O extends SsmOperation>(operation: O, input: SsmOperations[O]["input"]): Promise<SsmOperations[O]["output"]> {
    if (this.dead) throw gone();
    if (WRITES.has(operation) && ++this.writes === this.at) {
      const subject = input as { Name?: string; ResourceId?: string };
      this.killed = `${operation} ${subject.Name ?? subject.ResourceId}`;
      this.dead = true;
      if (this.afterApplied) await this.inner.call(operation, input);
      throw gone();
    }
    return this.inner.call(operation, input);
  }
}

/** What a dead process's calls get: an answer no retry follows. */
const gone = () => new SsmServiceError("ProcessKilled", "the run was killed here", 400);

/** A tag value long enough that the tags no longer fit in the description record (they are then listed per parameter). */
const LONG_TAGS = Object.fromEntries(["team", "app", "env", "owner", "cost", "data"].map((k, i) => [k, String.fromCharCode(97 + i).repeat(200)]));

interface Stage {
  /** The changes before this round's run: the source's, or someone else's in Parameter Store. */
  apply(source: MemorySource): Promise<void>;
}

/**
 * Round 0 creates four; round 1 updates two, deletes one and creates one; before round 2 someone
 * overwrites b by hand (the run repairs the drift and records the version it replaced); round 3
 * updates b, which removes that record again (a tag removal).
 */
const ROUNDS: Stage[] = [
  {
    apply: async (s) => {
      for (const p of ["a", "b", "deep/c", "d"]) s.put(p, valueOf(`${p}-1`));
    },
  },
  {
    apply: async (s) => {
      s.put("a", valueOf("a-2"));
      s.put("deep/c", valueOf("deep/c-2"));
      s.remove("d");
      s.put("e", valueOf("e-1"));
    },
  },
  {
    apply: async () => {
      // As `aws ssm put-parameter --overwrite` does: the description (our record) is kept.
      await ssm.call("PutParameter", { Name: `/${PREFIX}/b`, Value: `by hand ${SECRET}`, Type: "SecureString", Overwrite: true });
    },
  },
  {
    apply: async (s) => {
      s.put("b", valueOf("b-2"));
    },
  },
];

/**
 * Per path present after each round: the source version it holds (its value is
 * `{c: SECRET, v: "<path>-<version>"}`) and the Parameter Store version it must be at: one per source version, one
 * per hand edit and one per repair of it, never more.
 */
const AFTER_ROUND: ReadonlyArray<Record<string, [source: number, parameter: number]>> = [
  { a: [1, 1], b: [1, 1], "deep/c": [1, 1], d: [1, 1] },
  { a: [2, 2], b: [1, 1], "deep/c": [2, 2], e: [1, 1] },
  { a: [2, 2], b: [1, 3], "deep/c": [2, 2], e: [1, 1] },
  { a: [2, 2], b: [2, 4], "deep/c": [2, 2], e: [1, 1] },
];

function expected(round: number): Map<string, { value: string; version: number; sourceVersion: number }> {
  return new Map(Object.entries(AFTER_ROUND[round] ?? {}).map(([p, [sourceVersion, version]]) => [p, { value: JSON.stringify(valueOf(`${p}-${sourceVersion}`)), version, sourceVersion }]));
}

function runner(source: MemorySource, tags: Record<string, string>) {
  const config = parseConfig({
    name: "crash",
    source: { address: "http://127.0.0.1:8200", mount: "m" },
    destination: { prefix: PREFIX, ...(Object.keys(tags).length ? { tags } : {}) },
    policies: { deletion: { strategy: "delete" }, blastRadius: { maxShare: 1 } },
  });
  const mappings = resolveConfig(config, {}).mappings.map((mapping) => ({ mapping, source }));
  /** A run; `applying` hears of each write action as it starts (one at a time). */
  return (client: SsmApi, recorder = new ApiCallRecorder(), applying?: (action: AppliedWrite) => void) => {
    const destination = new ParameterStoreDestination({ client, recorder, rateLimits: FAST });
    const apply = destination.apply.bind(destination);
    destination.apply = (action, value) => {
      applying?.(action);
      return apply(action, value);
    };
    return runMappings({ destination, logger: log.logger }, mappings, { mode: "sync", concurrency: 1 }).then((report) => {
      book.emitted.push(JSON.stringify(report));
      return report;
    });
  };
}

/** Every parameter under the prefix: value, current version, versions in its history, source-version tag. */
async function parameters(): Promise<Map<string, { value: string | undefined; version: number | undefined; history: number; sourceVersion: string | undefined }>> {
  const out = new Map<string, { value: string | undefined; version: number | undefined; history: number; sourceVersion: string | undefined }>();
  let NextToken: string | undefined;
  do {
    const page = await ssm.call("GetParametersByPath", { Path: `/${PREFIX}`, Recursive: true, WithDecryption: true, ...(NextToken ? { NextToken } : {}) });
    for (const p of page.Parameters ?? []) {
      const name = p.Name ?? "";
      const history = await ssm.call("GetParameterHistory", { Name: name, MaxResults: 50 });
      const { TagList } = await ssm.call("ListTagsForResource", { ResourceType: "Parameter", ResourceId: name });
      out.set(name.slice(PREFIX.length + 2), { value: p.Value, version: p.Version, history: history.Parameters?.length ?? 0, sourceVersion: TagList?.find((t) => t.Key === TAG.sourceVersion)?.Value });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

async function assertConverged(round: number, where: string): Promise<void> {
  const want = expected(round);
  const got = await parameters();
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${where}: the parameters`);
  for (const [path, { value, version, sourceVersion }] of want) {
    // Parameter Store counts versions up: the current one is the last, and the history holds no other.
    assert.deepEqual(got.get(path), { value, version, history: version, sourceVersion: String(sourceVersion) }, `${where}: ${path}`);
  }
}

/** Kills round `round` at each of its writes in turn (before, or after it was applied), and checks the next run converges. */
async function everyWrite(round: number, afterApplied: boolean, tags: Record<string, string> = {}): Promise<string[]> {
  const killedAt: string[] = [];
  for (let at = 1; ; at++) {
    await moto.reset();
    const source = new MemorySource({ mount: "m" });
    const run = runner(source, tags);
    for (const stage of ROUNDS.slice(0, round)) {
      await stage.apply(source);
      assert.equal((await run(ssm)).exitCode, 0, "setup");
    }
    await ROUNDS[round]?.apply(source);

    const killed = new KilledAt(ssm, at, afterApplied);
    let inFlight: AppliedWrite | undefined;
    // One action at a time: the last one started before the kill is the one it hit.
    const crashed = await run(killed, undefined, (action) => {
      if (killed.killed === undefined) inFlight = action;
    });
    if (killed.killed === undefined) {
      // Fewer writes than `at`: every write point was tried; this run was a clean one.
      assert.equal(crashed.exitCode, 0);
      await assertConverged(round, `round ${round}, no kill`);
      return killedAt;
    }
    const where = `round ${round}: killed ${afterApplied ? "after" : "before"} write ${at} (${killed.killed})`;
    killedAt.push(killed.killed);
    assert.equal(crashed.exitCode, 1, where);

    // The killed action retried as it was planned (a retried invocation): PutParameter has no
    // request token, so the write re-lists its name first and finds a value that landed.
    assert.ok(inFlight, where);
    const retried = inFlight;
    const retry = new ApiCallRecorder();
    await new ParameterStoreDestination({ client: ssm, recorder: retry, rateLimits: FAST }).apply(retried, async () => ({ secretString: JSON.stringify(source.data(retried.sourcePath)) }));
    if (afterApplied && killed.killed.startsWith("PutParameter")) assert.equal(retry.count("ssm", "PutParameter"), 0, `${where}: the retry wrote the value again`);

    const rerun = await run(ssm);
    assert.equal(rerun.exitCode, 0, `${where}: rerun ${JSON.stringify(rerun.failures)}`);
    await assertConverged(round, where);

    // And no churn: the run after reads no value and writes nothing.
    const recorder = new ApiCallRecorder();
    source.reads.length = 0;
    const quiet = await run(ssm, recorder);
    assert.equal(quiet.exitCode, 0, where);
    assert.equal(quiet.counts.unchanged, expected(round).size, `${where}: all unchanged`);
    assert.deepEqual(source.reads, [], `${where}: no value read`);
    assert.deepEqual(
      Object.keys(recorder.byOperation()).filter((op) => WRITES.has(op.replace(/^ssm /, "") as SsmOperation)),
      [],
      `${where}: no write`,
    );
  }
}

/** With tags the record cannot hold, an update writes the value first, then the tags. */
const LONG_TAG_WRITES = [
  "PutParameter /crash/a",
  "AddTagsToResource /crash/a",
  "DeleteParameter /crash/d",
  "PutParameter /crash/deep/c",
  "AddTagsToResource /crash/deep/c",
  "PutParameter /crash/e",
];

describe("Parameter Store: a run killed at each write converges on the next", () => {
  test("creates: killed before each PutParameter, the next run creates what is missing, each at version 1", async () => {
    assert.deepEqual(await everyWrite(0, false), ["PutParameter /crash/a", "PutParameter /crash/b", "PutParameter /crash/d", "PutParameter /crash/deep/c"]);
  });

  test("creates: killed after each PutParameter landed, its answer lost, the next run writes it no second time", async () => {
    assert.deepEqual(await everyWrite(0, true), ["PutParameter /crash/a", "PutParameter /crash/b", "PutParameter /crash/d", "PutParameter /crash/deep/c"]);
  });

  test("updates, a delete and a create: killed before each write (tags, value, delete), the next run converges with one version per source version", async () => {
    assert.deepEqual(await everyWrite(1, false), [
      "AddTagsToResource /crash/a",
      "PutParameter /crash/a",
      "DeleteParameter /crash/d",
      "AddTagsToResource /crash/deep/c",
      "PutParameter /crash/deep/c",
      "PutParameter /crash/e",
    ]);
  });

  test("updates, a delete and a create: killed after each write landed (between a tag write and the value write, after a delete), the next run converges", async () => {
    assert.deepEqual(await everyWrite(1, true), [
      "AddTagsToResource /crash/a",
      "PutParameter /crash/a",
      "DeleteParameter /crash/d",
      "AddTagsToResource /crash/deep/c",
      "PutParameter /crash/deep/c",
      "PutParameter /crash/e",
    ]);
  });

  test("a drift repair: killed before, or after, the PutParameter that repairs a hand edit, the next run converges", async () => {
    assert.deepEqual(await everyWrite(2, false), ["AddTagsToResource /crash/b", "PutParameter /crash/b"]);
    assert.deepEqual(await everyWrite(2, true), ["AddTagsToResource /crash/b", "PutParameter /crash/b"]);
  });

  test("an update that removes a tag (the record of a repaired hand edit): killed before, or after, each write, the next run converges", async () => {
    const writes = ["AddTagsToResource /crash/b", "RemoveTagsFromResource /crash/b", "PutParameter /crash/b"];
    assert.deepEqual(await everyWrite(3, false), writes);
    assert.deepEqual(await everyWrite(3, true), writes);
  });

  test("tags too long for the description record (real tags are the record): killed after each write of an update round, the next run converges", async () => {
    assert.deepEqual(await everyWrite(1, true, LONG_TAGS), LONG_TAG_WRITES);
  });

  test("tags too long for the description record: killed before each write of an update round, the next run converges", async () => {
    assert.deepEqual(await everyWrite(1, false, LONG_TAGS), LONG_TAG_WRITES);
  });
});
