// The SecretDestination contract: one suite, written once, that every destination must pass: the
// in-memory fake, the real Secrets Manager destination and the real Parameter Store destination,
// both against moto. A new destination is done when it passes. Plans are built by hand here; what
// the planner decides is tested elsewhere, except ownership, which is shown end to end (a run).
// Where destinations differ, the difference is a capability (read from the profile where the
// profile says it: recovery window, orphan mark; declared beside each target otherwise), and the
// suite asserts each side's behaviour in a test of its own: no case is skipped.
// Left out because moto 5.2.5 does not do what AWS does (the fake follows AWS; the planner checks
// the limits before anything is written): moto accepts PutSecretValue and TagResource on a secret
// scheduled for deletion, names outside AWS's characters, more than 50 tags, `aws:` tag keys and
// values over 65,536 bytes. Parameter Store on moto accepts standard-tier values over 4 KB and
// names deeper than 15 levels (parameter-store.test.ts shows both; the profile refuses them).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { CreateSecretCommand, ListSecretVersionIdsCommand, ListSecretsCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseConfig } from "../../src/config/load.js";
import { resolveConfig } from "../../src/config/resolve.js";
import type { ActionType, DestinationRef, AppliedWrite } from "../../src/core/model.js";
import type { DestinationProfile } from "../../src/core/profile.js";
import { TAG } from "../../src/core/tags.js";
import type { RenderedValue } from "../../src/core/value.js";
import { awsSecretsManagerProfile } from "../../src/destinations/aws-secrets-manager/profile.js";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/secrets-manager-destination.js";
import { decodeRecord, encodeRecord, ParameterStoreDestination, parameterStoreProfile, SdkSsmApi } from "../../src/destinations/aws-ssm-parameter-store/index.js";
import type { SecretDestination } from "../../src/destinations/destination.js";
import { runMappings } from "../../src/engine/run.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { silentLogger } from "../../src/util/logger.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { MemorySource } from "../fakes/memory-source.js";
import { handBuilt, type AnyAction } from "../helpers/actions.js";
import { rejectsWith } from "../helpers/assertions.js";
import { canary, startMoto, type MotoPeer } from "../helpers/peers.js";

/** What a target declares about itself that its profile does not say. */
interface Declared {
  /** The profile the destination will have (checked when it is built): the capabilities it states are read from it. */
  profile: DestinationProfile;
  /**
   * native: the destination keeps request tokens itself (a token's value is compared; a retry
   * sends the value again and is a no-op there). recorded: the destination records the token
   * with the value and checks it before writing (Parameter Store: PutParameter has no token): a
   * write whose token is current is done, its value unread.
   */
  requestTokens: "native" | "recorded";
  /** The listing gives each secret an identifier (ARN) that a secret re-created under its name does not share. */
  arns: boolean;
  /**
   * The tags the listing shows are recorded with the value (Parameter Store: in the description,
   * which only a value write sets), so a tags change is a new version of the same value.
   */
  tagsWithValue: boolean;
}

/** Every capability the suite branches on. */
interface Capabilities extends Omit<Declared, "profile"> {
  /** Deletes leave the secret pending deletion (listed, restorable); false: gone at once. */
  recoveryWindow: boolean;
  /** The `tag` deletion strategy: an orphan mark the listing shows. */
  orphanMark: boolean;
}

/** One implementation under test, with the few facts the interface does not show, read its own way. */
interface ContractTarget {
  destination: SecretDestination;
  /** The operation one listing page is (what an inventory costs), as `countCalls` names it. */
  listing: string;
  /** Secrets per listing page. */
  pageSize: number;
  /** Listing calls an inventory makes besides its pages (Parameter Store: one for release marks, which only real tags hold). */
  inventoryExtra: number;
  /** Back to an empty destination (a clean moto, an empty fake). */
  reset(): Promise<void>;
  /** Every version id the secret has, deprecated ones included, sorted. */
  versionIds(name: string): Promise<string[]>;
  /** A new current version written by someone else (drift); returns its version id. */
  outsiderPut(name: string, value: string): Promise<string>;
  /**
   * A secret created by someone else with these tags and, when `proof` is given, that token
   * where this destination records its own (a version id, a description record): a forgery.
   */
  outsiderCreate(name: string, value: string, tags: Record<string, string>, proof?: string): Promise<void>;
  /** The tags the service holds for the secret (its own, not a record of them). */
  realTags(name: string): Promise<Record<string, string>>;
  /** Starts counting the destination's API calls; the result gives them by operation since then. */
  countCalls(): () => Record<string, number>;
  stop(): Promise<void>;
}

/** A request token as the planner derives them: 36 characters, within AWS's 32-64. */
const tokenOf = (digit: number) => `${digit}`.repeat(8) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(12);

const OURS = { [TAG.managedBy]: "secretbridge", [TAG.sync]: "contract" };
const AWS_TEST_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };
/** Client-side rate limits out of the way: moto has no quota. */
const FAST = { write: 1000, read: 1000, list: 1000, tag: 1000, delete: 1000 };

function planned(type: ActionType, destinationName: string, fields: Partial<AnyAction> = {}): AppliedWrite {
  return handBuilt(type, { mapping: "source", sourcePath: destinationName.split("/").slice(1).join("/"), destinationName, sourceVersion: 1, reason: "contract test" }, fields);
}

/** The value callback `apply` gets, counting how often it was asked. */
function valueSource(secretString: string): { value: () => Promise<RenderedValue>; reads: () => number } {
  let reads = 0;
  return {
    value: async () => {
      reads += 1;
      return { secretString };
    },
    reads: () => reads,
  };
}

function contract(name: string, declared: Declared, makeDestination: () => Promise<ContractTarget>): void {
  const { profile, ...rest } = declared;
  const caps: Capabilities = {
    ...rest,
    recoveryWindow: !profile.deletionOf({ strategy: "delete", settings: { recoveryWindowDays: 7 } }).immediate,
    orphanMark: profile.deletionStrategies.includes("tag"),
  };

  describe(`SecretDestination contract: ${name}`, () => {
    let target: ContractTarget;
    let d: SecretDestination;
    before(async () => {
      target = await makeDestination();
      d = target.destination;
      assert.equal(d.profile.kind, profile.kind, "the declared profile is the destination's");
    });
    after(async () => {
      await target?.destination.close();
      await target?.stop();
    });
    beforeEach(async () => {
      await target.reset();
    });

    /** Creates `name` with this value, token and tags, as a planned create. */
    async function create(name: string, value: string, token: string, tags: Record<string, string> = OURS): Promise<void> {
      await d.apply(planned("create", name, { requestToken: token, tags }), valueSource(value).value);
    }

    /** A delete as the profile plans it: a 7-day recovery window (or forced), where there is one at all. */
    function deletion(name: string, fields: Partial<AnyAction> = {}, forceDeleteWithoutRecovery = false): AppliedWrite {
      const how = profile.deletionOf({ strategy: "delete", settings: { recoveryWindowDays: 7, forceDeleteWithoutRecovery } });
      return planned("delete", name, { immediate: how.immediate, provider: how.provider, ...fields });
    }

    /** Values as the planner asks for them: by the ARN the destination lists (by name for a secret it does not have). */
    async function read(...names: string[]) {
      const listed = new Map((await d.describe(names)).secrets.map((s) => [s.name, s]));
      return d.readValues(names.map((name): DestinationRef => listed.get(name) ?? { name }));
    }

    /** The listed ARN of a secret, as a plan made from the inventory carries it. */
    async function arnOf(name: string): Promise<string> {
      const arn = (await d.describe([name])).secrets[0]?.arn;
      assert.match(arn ?? "", /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:/);
      return arn ?? "";
    }

    async function only(prefix: string) {
      const inv = await d.inventory(prefix);
      assert.equal(inv.secrets.length, 1, JSON.stringify(inv.secrets.map((s) => s.name)));
      return inv.secrets[0] as (typeof inv.secrets)[number];
    }

    /** A sync of the `own` prefix from this source under these policies: the planner and the engine over this destination. */
    function sync(source: MemorySource, policies: Record<string, unknown> = {}) {
      const resolved = resolveConfig(parseConfig({ name: "contract", source: { address: "http://127.0.0.1:8200", mount: "m" }, destination: { prefix: "own" }, policies }), {});
      return runMappings({ destination: d, logger: silentLogger() }, resolved.mappings.map((mapping) => ({ mapping, source })), { mode: "sync", concurrency: 1 });
    }

    test("create: the inventory shows the name, exactly the tags, and the request token as the current version", async () => {
      const value = canary("create");
      const v = valueSource(value);
      await d.apply(planned("create", "c/db", { requestToken: tokenOf(1), tags: { ...OURS, owner: "team-a" } }), v.value);

      const s = await only("c");
      assert.equal(s.name, "c/db");
      assert.deepEqual(s.tags, { ...OURS, owner: "team-a" });
      assert.equal(s.currentVersionId, tokenOf(1));
      assert.equal(s.deletedDate, undefined);
      assert.equal(s.provider, undefined);
      assert.equal(v.reads(), 1);
      assert.deepEqual(await read("c/db"), new Map([["c/db", { value }]]));
      assert.deepEqual(await target.versionIds("c/db"), [tokenOf(1)]);
      assert.deepEqual(await target.realTags("c/db"), { ...OURS, owner: "team-a" });
    });

    test("create retried with the same token and value makes no second version", async () => {
      const value = canary("once");
      await create("c/once", value, tokenOf(1));
      await create("c/once", value, tokenOf(1));
      assert.equal((await only("c")).currentVersionId, tokenOf(1));
      assert.deepEqual(await target.versionIds("c/once"), [tokenOf(1)]);
    });

    if (caps.requestTokens === "native") {
      test("create with a token already used for another value is destination-write-failed (ResourceExistsException); the first value stays", async () => {
        const first = canary("first");
        const other = canary("other");
        await create("c/db", first, tokenOf(1));
        const error = await rejectsWith(d.apply(planned("create", "c/db", { requestToken: tokenOf(1), tags: OURS }), valueSource(other).value), "destination-write-failed", "c/db", [first, other]);
        assert.match(error.message, /ResourceExistsException/);
        assert.deepEqual(await read("c/db"), new Map([["c/db", { value: first }]]));
        assert.deepEqual(await target.versionIds("c/db"), [tokenOf(1)]);
      });

      test("create on a live name with a new token is destination-write-failed (ResourceExistsException)", async () => {
        const first = canary("first");
        const second = canary("second");
        await create("c/db", first, tokenOf(1));
        const error = await rejectsWith(d.apply(planned("create", "c/db", { requestToken: tokenOf(2), tags: OURS }), valueSource(second).value), "destination-write-failed", "c/db", [first, second]);
        assert.match(error.message, /^CreateSecret c\/db: ResourceExistsException: /);
        assert.deepEqual(await target.versionIds("c/db"), [tokenOf(1)]);
      });
    } else {
      // The token names the source version, so no plan carries another value under it.
      test("create with a token already recorded as current is done: the value is not read, nothing is written, the first value stays", async () => {
        const first = canary("first");
        await create("c/db", first, tokenOf(1));
        const v = valueSource(canary("other"));
        const calls = target.countCalls();
        await d.apply(planned("create", "c/db", { requestToken: tokenOf(1), tags: OURS }), v.value);
        assert.deepEqual(calls(), { [target.listing]: 1 });
        assert.equal(v.reads(), 0);
        assert.deepEqual(await read("c/db"), new Map([["c/db", { value: first }]]));
        assert.deepEqual(await target.versionIds("c/db"), [tokenOf(1)]);
      });

      test("create on a live name with a new token is conflict-unmanaged: no value read, no tag, no version", async () => {
        const first = canary("first");
        const second = canary("second");
        await create("c/db", first, tokenOf(1));
        const v = valueSource(second);
        const error = await rejectsWith(d.apply(planned("create", "c/db", { requestToken: tokenOf(2), tags: { ...OURS, other: "x" } }), v.value), "conflict-unmanaged", "c/db", [first, second]);
        assert.equal(error.message, "c/db: the parameter /c/db already exists and was not written by this sync; it is left untouched");
        assert.equal(v.reads(), 0);
        assert.deepEqual(await target.versionIds("c/db"), [tokenOf(1)]);
        assert.deepEqual(await target.realTags("c/db"), OURS);
        assert.deepEqual(await read("c/db"), new Map([["c/db", { value: first }]]));
      });
    }

    test("update with a new token makes that version current; retried, it adds no version", async () => {
      const first = canary("v1");
      const second = canary("v2");
      await create("c/db", first, tokenOf(1));
      const update = planned("update", "c/db", { requestToken: tokenOf(2), changes: ["value", "tags"], tags: { ...OURS, [TAG.sourceVersion]: "2" }, sourceVersion: 2 });
      const v = valueSource(second);
      await d.apply(update, v.value);
      await d.apply(update, v.value);

      const s = await only("c");
      assert.equal(s.currentVersionId, tokenOf(2));
      assert.deepEqual(s.tags, { ...OURS, [TAG.sourceVersion]: "2" });
      assert.deepEqual(await read("c/db"), new Map([["c/db", { value: second }]]));
      assert.deepEqual(await target.versionIds("c/db"), [tokenOf(1), tokenOf(2)].sort());
      // Native tokens: the retry sends the value again and the destination finds it written.
      // Recorded tokens: the retry finds its token current before it reads the value.
      assert.equal(v.reads(), caps.requestTokens === "native" ? 2 : 1);
    });

    if (!caps.tagsWithValue) {
      test("tags-only update adds and overwrites the given tags, leaves the others, and reads no value", async () => {
        const value = canary("tags");
        await create("c/t", value, tokenOf(1), { ...OURS, a: "1", b: "1", outsider: "keep" });
        const v = valueSource(canary("never-read"));
        await d.apply(planned("update", "c/t", { requestToken: tokenOf(1), changes: ["tags"], tags: { b: "2", c: "3" } }), v.value);

        const s = await only("c");
        assert.deepEqual(s.tags, { ...OURS, a: "1", b: "2", c: "3", outsider: "keep" });
        assert.equal(s.currentVersionId, tokenOf(1));
        assert.equal(v.reads(), 0);
        assert.deepEqual(await target.versionIds("c/t"), [tokenOf(1)]);
        assert.deepEqual(await read("c/t"), new Map([["c/t", { value }]]));
      });
    } else {
      // The listing shows the tags recorded with the value; only a value write records them.
      test("tags-only update: the complete tag set is written with one new version of the same value (read once); retried, nothing more", async () => {
        const value = canary("tags");
        await create("c/t", value, tokenOf(1), { ...OURS, a: "1", b: "1" });
        const tags = { ...OURS, a: "1", b: "2", c: "3" };
        const update = planned("update", "c/t", { requestToken: tokenOf(1), changes: ["tags"], tags, untag: ["a-gone"] });
        const v = valueSource(value);
        await d.apply(update, v.value);
        await d.apply(update, v.value);

        const s = await only("c");
        assert.deepEqual(s.tags, tags);
        assert.deepEqual(await target.realTags("c/t"), tags);
        assert.equal(s.currentVersionId, tokenOf(1));
        assert.equal(v.reads(), 1);
        assert.deepEqual(await target.versionIds("c/t"), [tokenOf(1), tokenOf(1)]);
        assert.deepEqual(await read("c/t"), new Map([["c/t", { value }]]));
      });
    }

    test("untag removes exactly the listed keys, and never a key that is in action.tags", async () => {
      const value = canary("untag");
      await create("c/u", value, tokenOf(1), { ...OURS, a: "1", b: "1", c: "1", [TAG.orphanedAt]: "2024-01-01T00:00:00.000Z" });
      await d.apply(planned("update", "c/u", { requestToken: tokenOf(1), changes: ["tags"], tags: { ...OURS, b: "2", c: "1" }, untag: ["a", "b", TAG.orphanedAt, "not-there"] }), valueSource(value).value);
      assert.deepEqual((await only("c")).tags, { ...OURS, b: "2", c: "1" });
      assert.deepEqual(await target.realTags("c/u"), { ...OURS, b: "2", c: "1" });
    });

    if (caps.orphanMark) {
      test("orphan sets secretbridge:orphaned-at to now, keeps the other tags and writes no value", async () => {
        await create("c/o", canary("orphan"), tokenOf(1), { ...OURS, owner: "me" });
        const before = Date.now();
        const v = valueSource("unused");
        await d.apply(planned("orphan", "c/o", { tags: { [TAG.sourceVersion]: "1" } }), v.value);
        const after = Date.now();

        const s = await only("c");
        const { [TAG.orphanedAt]: orphanedAt, ...rest } = s.tags;
        assert.deepEqual(rest, { ...OURS, owner: "me", [TAG.sourceVersion]: "1" });
        assert.match(orphanedAt ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        const at = Date.parse(orphanedAt ?? "");
        assert.ok(at >= before - 1000 && at <= after + 1000, `orphaned-at ${orphanedAt} is not now`);
        assert.equal(s.currentVersionId, tokenOf(1));
        assert.equal(v.reads(), 0);
      });
    } else {
      test("no orphan mark: an orphan action is config-invalid and touches nothing (the tag strategy is refused in the config)", async () => {
        const value = canary("orphan");
        await create("c/o", value, tokenOf(1), { ...OURS, owner: "me" });
        const v = valueSource("unused");
        const calls = target.countCalls();
        await rejectsWith(d.apply(planned("orphan", "c/o", { tags: { [TAG.sourceVersion]: "1" } }), v.value), "config-invalid", "c/o", [value]);
        assert.deepEqual(calls(), {});
        assert.equal(v.reads(), 0);
        assert.deepEqual(await target.realTags("c/o"), { ...OURS, owner: "me" });
        assert.deepEqual(await target.versionIds("c/o"), [tokenOf(1)]);
      });
    }

    if (caps.recoveryWindow) {
      test("create on a name scheduled for deletion is pending-deletion", async () => {
        const old = canary("old");
        const again = canary("again");
        await create("c/old", old, tokenOf(1));
        await d.apply(deletion("c/old"), valueSource("unused").value);
        const error = await rejectsWith(d.apply(planned("create", "c/old", { requestToken: tokenOf(2), tags: OURS }), valueSource(again).value), "pending-deletion", "c/old", [old, again]);
        assert.match(error.message, /^CreateSecret c\/old: /);
        assert.match(error.message, /restore/);
      });

      test("delete with a recovery window: still listed and described, with a deletedDate and its tags; its value read is pending-deletion", async () => {
        const value = canary("deleted");
        await create("c/gone", value, tokenOf(1), { ...OURS, owner: "me" });
        await create("c/stays", canary("stays"), tokenOf(2));
        const v = valueSource("unused");
        await d.apply(deletion("c/gone"), v.value);

        const inv = await d.inventory("c");
        const gone = inv.secrets.find((s) => s.name === "c/gone");
        assert.deepEqual(inv.secrets.map((s) => s.name).sort(), ["c/gone", "c/stays"]);
        // moto 5.2.5 sets DeletedDate to the purge date (a week ahead); AWS to when DeleteSecret ran.
        // Either way it is a date; the planner only needs to know that the secret is pending deletion.
        assert.ok(gone?.deletedDate instanceof Date, "deletedDate is set");
        assert.deepEqual(gone?.tags, { ...OURS, owner: "me" });
        assert.equal(inv.secrets.find((s) => s.name === "c/stays")?.deletedDate, undefined);
        const described = await d.describe(["c/gone"]);
        assert.ok(described.secrets[0]?.deletedDate instanceof Date, "describe shows the deletedDate");
        assert.equal(v.reads(), 0);

        const values = await read("c/gone", "c/stays");
        const failed = values.get("c/gone");
        assert.ok(failed && "error" in failed, `c/gone: ${JSON.stringify(failed)}`);
        assert.equal(failed.error.errorClass, "pending-deletion");
        assert.equal(failed.error.secretPath, "c/gone");
        assert.ok(!failed.error.message.includes(value));
        assert.ok(values.get("c/stays") && "value" in (values.get("c/stays") ?? {}));
      });

      test("restore clears the deletedDate; the value is readable again and the tags are written", async () => {
        const value = canary("restored");
        await create("c/back", value, tokenOf(1));
        await d.apply(deletion("c/back"), valueSource("unused").value);
        const v = valueSource("unused");
        await d.apply(planned("restore", "c/back", { requestToken: tokenOf(1), changes: ["tags"], tags: { ...OURS, restored: "yes" } }), v.value);

        const s = await only("c");
        assert.equal(s.deletedDate, undefined);
        assert.deepEqual(s.tags, { ...OURS, restored: "yes" });
        assert.equal(s.currentVersionId, tokenOf(1));
        assert.equal(v.reads(), 0);
        assert.deepEqual(await read("c/back"), new Map([["c/back", { value }]]));
      });

      test("restore with a new value: restored first, then the new version is current", async () => {
        await create("c/back", canary("old"), tokenOf(1));
        await d.apply(deletion("c/back"), valueSource("unused").value);
        const value = canary("new");
        await d.apply(planned("restore", "c/back", { requestToken: tokenOf(2), changes: ["value", "tags"], tags: OURS, sourceVersion: 2 }), valueSource(value).value);

        const s = await only("c");
        assert.equal(s.deletedDate, undefined);
        assert.equal(s.currentVersionId, tokenOf(2));
        assert.deepEqual(await read("c/back"), new Map([["c/back", { value }]]));
      });

      test("force delete removes the secret: not listed, not described, not read", async () => {
        await create("c/now", canary("forced"), tokenOf(1));
        await d.apply(deletion("c/now", {}, true), valueSource("unused").value);
        assert.deepEqual((await d.inventory("c")).secrets, []);
        assert.deepEqual((await d.describe(["c/now"])).secrets, []);
        assert.deepEqual(await read("c/now"), new Map());
      });

      // A second delete happens when a run's answer was lost and the next run (or a retry) plans the
      // deletion again: the deletion already asked for is the outcome wanted, so it is a success
      // that writes nothing (AWS itself refuses a second DeleteSecret on a secret marked for deletion).
      test("delete twice: the second, while the secret is pending deletion, succeeds and writes nothing", async () => {
        await create("c/twice", canary("twice"), tokenOf(1), { ...OURS, owner: "me" });
        const arn = await arnOf("c/twice");
        const del = deletion("c/twice", { arn });
        await d.apply(del, valueSource("unused").value);
        const first = await only("c");
        assert.ok(first.deletedDate instanceof Date);

        const calls = target.countCalls();
        await d.apply(del, valueSource("unused").value);
        assert.deepEqual(calls(), { DescribeSecret: 1 });
        const second = await only("c");
        assert.equal(second.deletedDate?.getTime(), first.deletedDate.getTime());
        assert.deepEqual(second.tags, { ...OURS, owner: "me" });
        assert.equal(second.currentVersionId, tokenOf(1));
      });

      test("force delete twice, and a delete of a secret that no longer exists: success, nothing written", async () => {
        await create("c/gone", canary("gone"), tokenOf(1));
        const arn = await arnOf("c/gone");
        const force = deletion("c/gone", { arn }, true);
        await d.apply(force, valueSource("unused").value);

        const calls = target.countCalls();
        await d.apply(force, valueSource("unused").value);
        await d.apply(deletion("c/gone", { arn }), valueSource("unused").value);
        await d.apply(deletion("c/never-was"), valueSource("unused").value);
        assert.deepEqual(calls(), { DescribeSecret: 3 });
        assert.deepEqual((await d.inventory("c")).secrets, []);
      });

      test("force delete of a secret pending deletion removes it at once", async () => {
        await create("c/pending", canary("pending"), tokenOf(1));
        const arn = await arnOf("c/pending");
        await d.apply(deletion("c/pending", { arn }), valueSource("unused").value);
        const calls = target.countCalls();
        await d.apply(deletion("c/pending", { arn }, true), valueSource("unused").value);
        assert.deepEqual(calls(), { DeleteSecret: 1, DescribeSecret: 1 });
        assert.deepEqual((await d.inventory("c")).secrets, []);
      });
    } else {
      test("no recovery window: a delete removes the secret at once (not listed, not described, not read); the others stay", async () => {
        const value = canary("deleted");
        await create("c/gone", value, tokenOf(1), { ...OURS, owner: "me" });
        await create("c/stays", canary("stays"), tokenOf(2));
        const v = valueSource("unused");
        const del = deletion("c/gone");
        assert.equal(del.type === "delete" && del.immediate, true, "the profile plans every delete as immediate");
        await d.apply(del, v.value);

        const inv = await d.inventory("c");
        assert.deepEqual(inv.secrets.map((s) => [s.name, s.deletedDate]), [["c/stays", undefined]]);
        assert.deepEqual((await d.describe(["c/gone"])).secrets, []);
        assert.deepEqual(await read("c/gone"), new Map());
        assert.equal(v.reads(), 0);
      });

      test("no recovery window: a restore is an update of a live secret; with a new token it writes the new value", async () => {
        await create("c/back", canary("old"), tokenOf(1));
        const value = canary("new");
        await d.apply(planned("restore", "c/back", { requestToken: tokenOf(2), changes: ["value", "tags"], tags: OURS, sourceVersion: 2 }), valueSource(value).value);
        const s = await only("c");
        assert.equal(s.deletedDate, undefined);
        assert.equal(s.currentVersionId, tokenOf(2));
        assert.deepEqual(await target.versionIds("c/back"), [tokenOf(1), tokenOf(2)].sort());
        assert.deepEqual(await read("c/back"), new Map([["c/back", { value }]]));
      });

      // A second delete happens when a run's answer was lost and the next run (or a retry) plans the
      // deletion again: the secret being gone is the outcome wanted, so it is a success.
      test("delete twice: the second finds the secret gone and succeeds; it is one delete call that removes nothing", async () => {
        await create("c/twice", canary("twice"), tokenOf(1));
        await create("c/other", canary("other"), tokenOf(2));
        const del = deletion("c/twice");
        await d.apply(del, valueSource("unused").value);
        const calls = target.countCalls();
        await d.apply(del, valueSource("unused").value);
        assert.deepEqual(calls(), { [deleteOperation(target)]: 1 });
        assert.deepEqual((await d.inventory("c")).secrets.map((s) => s.name), ["c/other"]);
      });

      test("delete of a secret that never existed: success, nothing else touched", async () => {
        await create("c/other", canary("other"), tokenOf(2));
        const calls = target.countCalls();
        await d.apply(deletion("c/never-was"), valueSource("unused").value);
        assert.deepEqual(calls(), { [deleteOperation(target)]: 1 });
        assert.deepEqual((await d.inventory("c")).secrets.map((s) => s.name), ["c/other"]);
        assert.deepEqual(await target.versionIds("c/other"), [tokenOf(2)]);
      });
    }

    if (caps.arns) {
      test("an action carrying the ARN of a secret since re-created under its name never touches the new one", async () => {
        await create("c/again", canary("old"), tokenOf(1));
        const oldArn = await arnOf("c/again");
        await d.apply(deletion("c/again", { arn: oldArn }, true), valueSource("unused").value);
        const value = canary("new");
        await create("c/again", value, tokenOf(2), { ...OURS, owner: "new" });
        assert.notEqual(await arnOf("c/again"), oldArn);

        const error = await rejectsWith(
          d.apply(planned("update", "c/again", { arn: oldArn, changes: ["tags"], tags: { owner: "old" } }), valueSource("unused").value),
          "destination-write-failed",
          "c/again",
          [value],
        );
        assert.match(error.message, /^TagResource c\/again: ResourceNotFoundException: /);
        // A delete planned against the old secret finds it gone: done, and the new one stays.
        await d.apply(deletion("c/again", { arn: oldArn }), valueSource("unused").value);
        const s = await only("c");
        assert.deepEqual([s.tags, s.deletedDate, s.currentVersionId], [{ ...OURS, owner: "new" }, undefined, tokenOf(2)]);
        assert.deepEqual(await read("c/again"), new Map([["c/again", { value }]]));
      });
    } else {
      test("no ARN: the inventory carries none, and reads and writes go by name", async () => {
        const value = canary("by-name");
        await create("c/named", value, tokenOf(1));
        const s = await only("c");
        assert.equal(s.arn, undefined);
        assert.deepEqual(await d.readValues([{ name: "c/named" }]), new Map([["c/named", { value }]]));
      });

      // What an ARN guards against elsewhere: the name is all a plan holds here, so the write
      // itself checks that what it finds under the name is a parameter a write of ours made.
      test("no ARN: an update planned against a secret since deleted and re-created by someone else is conflict-unmanaged and never touches the new one", async () => {
        await create("c/again", canary("old"), tokenOf(1));
        await d.apply(deletion("c/again"), valueSource("unused").value);
        const theirs = canary("theirs");
        await target.outsiderCreate("c/again", theirs, { team: "them" });

        const v = valueSource(canary("ours"));
        for (const type of ["update", "restore"] as const) {
          const error = await rejectsWith(d.apply(planned(type, "c/again", { requestToken: tokenOf(2), changes: ["value", "tags"], tags: OURS, sourceVersion: 2 }), v.value), "conflict-unmanaged", "c/again", [theirs]);
          assert.equal(error.message, "c/again: the parameter /c/again holds no record of a write of this sync (re-created by someone else since the plan?); it is left untouched");
        }
        assert.equal(v.reads(), 0);
        assert.deepEqual(await read("c/again"), new Map([["c/again", { value: theirs }]]));
        assert.deepEqual(await target.realTags("c/again"), { team: "them" });
        assert.equal((await target.versionIds("c/again")).length, 1);
      });
    }

    test("readValues: the values of existing names across batches; names that do not exist are left out", async () => {
      const names = Array.from({ length: 21 }, (_, i) => `r/s${String(i).padStart(2, "0")}`);
      const values = new Map(names.map((n) => [n, canary(n)]));
      // A version id is unique per secret only: one token for all is fine.
      for (const n of names) await create(n, values.get(n) ?? "", tokenOf(1));
      const got = await read("r/missing", ...names, "r/also-missing");
      assert.deepEqual(new Map([...got].sort(([a], [b]) => a.localeCompare(b))), new Map([...values].map(([n, value]) => [n, { value }])));
      assert.deepEqual(await d.readValues([]), new Map());
    });

    test("inventory(prefix) returns only names under prefix/", async () => {
      for (const [i, n] of ["p/a", "p/deep/b", "p2/b", "p", "P/x", "x/p/a", "p-other/c"].entries()) await create(n, canary(n), tokenOf(i + 1));
      const inv = await d.inventory("p");
      assert.deepEqual(inv.secrets.map((s) => s.name).sort(), ["p/a", "p/deep/b"]);
      assert.deepEqual((await d.inventory("p2")).secrets.map((s) => s.name), ["p2/b"]);
      assert.deepEqual((await d.inventory("nothing")).secrets, []);
    });

    test("describe: the named secrets' metadata as the inventory has it; missing names are left out", async () => {
      await create("c/a", canary("a"), tokenOf(1), { ...OURS, n: "a" });
      await create("c/b", canary("b"), tokenOf(2), { ...OURS, n: "b" });
      const described = await d.describe(["c/a", "c/missing", "c/b"]);
      const byName = new Map(described.secrets.map((s) => [s.name, s]));
      assert.deepEqual([...byName.keys()].sort(), ["c/a", "c/b"]);
      assert.deepEqual(byName.get("c/a")?.tags, { ...OURS, n: "a" });
      assert.equal(byName.get("c/a")?.currentVersionId, tokenOf(1));
      assert.equal(byName.get("c/b")?.currentVersionId, tokenOf(2));
      assert.deepEqual((await d.describe(["c/missing"])).secrets, []);
    });

    test("describe past one listing page: every named secret that exists, in order of asking or not", async () => {
      const names = Array.from({ length: target.pageSize * 2 + 3 }, (_, i) => `d/s${String(i).padStart(3, "0")}`);
      for (const n of names) await create(n, "v", tokenOf(1));
      const described = await d.describe([...names, "d/missing"]);
      assert.deepEqual(described.secrets.map((s) => s.name).sort(), names);
      assert.ok(described.secrets.every((s) => s.currentVersionId === tokenOf(1)));
    });

    test("an action that writes nothing (unchanged) is refused as config-invalid and touches nothing", async () => {
      const value = canary("unchanged");
      await create("c/same", value, tokenOf(1));
      const v = valueSource(canary("never-read"));
      await rejectsWith(d.apply(planned("unchanged", "c/same", { tags: { other: "x" } }), v.value), "config-invalid", "c/same", [value]);
      assert.equal(v.reads(), 0);
      assert.deepEqual((await only("c")).tags, OURS);
      assert.deepEqual(await target.versionIds("c/same"), [tokenOf(1)]);
    });

    test("drift is seen from the listing alone: a value written by hand is not the current version of ours, and ours is still known", async () => {
      await create("c/hand", canary("ours"), tokenOf(1));
      const outsider = await target.outsiderPut("c/hand", canary("theirs"));
      const calls = target.countCalls();
      const s = await only("c");
      assert.deepEqual(calls(), { [target.listing]: 1 + target.inventoryExtra });
      assert.equal(s.currentVersionId, outsider);
      assert.notEqual(outsider, tokenOf(1));
      assert.deepEqual(d.profile.writtenVersions(s), { current: outsider, previous: [tokenOf(1)] });
      assert.deepEqual(s.tags, OURS);
    });

    test("drift repair: the restoreVersionId version becomes current, the replaced version id recorded in secretbridge:replaced-version; retried, nothing more", async () => {
      const ours = canary("ours");
      const theirs = canary("theirs");
      await create("c/drift", ours, tokenOf(1), { ...OURS, [TAG.sourceVersion]: "1" });
      const outsider = await target.outsiderPut("c/drift", theirs);
      assert.equal((await only("c")).currentVersionId, outsider);

      // As the planner builds it: the replaced version is among the tags the repair leaves.
      const tags = { ...OURS, [TAG.sourceVersion]: "1", [TAG.replacedVersion]: outsider };
      const repair = planned("update", "c/drift", { requestToken: tokenOf(1), currentVersionId: outsider, restoreVersionId: tokenOf(7), changes: ["value"], tags });
      const v = valueSource(ours);
      await d.apply(repair, v.value);
      await d.apply(repair, v.value);

      const s = await only("c");
      assert.equal(s.currentVersionId, tokenOf(7));
      assert.deepEqual(s.tags, tags);
      assert.deepEqual(await read("c/drift"), new Map([["c/drift", { value: ours }]]));
      assert.deepEqual(await target.versionIds("c/drift"), [tokenOf(1), tokenOf(7), outsider].sort());
      if (caps.requestTokens === "native") {
        // The listing carries the labelled versions: the repair is current, the hand edit it replaced is previous.
        assert.deepEqual(d.profile.writtenVersions(s), { current: tokenOf(7), previous: [outsider] });
        assert.equal(v.reads(), 2);
      } else {
        // Only the current version's record is listed; the hand edit is named by the tag.
        assert.deepEqual(d.profile.writtenVersions(s), { current: tokenOf(7), previous: [] });
        assert.equal(v.reads(), 1);
      }
    });

    test("restore of a live secret whose token and tags are current changes neither value, tags nor versions", async () => {
      const value = canary("live");
      await create("c/live", value, tokenOf(1), { ...OURS, owner: "me" });
      const v = valueSource(canary("never-read"));
      await d.apply(planned("restore", "c/live", { requestToken: tokenOf(1), changes: ["tags"], tags: { ...OURS, owner: "me" } }), v.value);

      const s = await only("c");
      assert.equal(s.deletedDate, undefined);
      assert.deepEqual(s.tags, { ...OURS, owner: "me" });
      assert.equal(s.currentVersionId, tokenOf(1));
      assert.equal(v.reads(), 0);
      assert.deepEqual(await target.versionIds("c/live"), [tokenOf(1)]);
      assert.deepEqual(await read("c/live"), new Map([["c/live", { value }]]));
    });

    test("untag of keys the secret does not have succeeds, changes no tag and adds no version", async () => {
      const value = canary("absent");
      await create("c/absent", value, tokenOf(1), { ...OURS, keep: "1" });
      const calls = target.countCalls();
      await d.apply(planned("update", "c/absent", { requestToken: tokenOf(1), changes: ["tags"], tags: { ...OURS, keep: "1" }, untag: ["not-there", TAG.orphanedAt] }), valueSource(value).value);
      // Native: the untag is sent (AWS ignores absent keys). Recorded: the token and tags are current, so nothing is.
      assert.deepEqual(calls(), caps.requestTokens === "native" ? { TagResource: 1, UntagResource: 1 } : { [target.listing]: 1 });
      const s = await only("c");
      assert.deepEqual(s.tags, { ...OURS, keep: "1" });
      assert.deepEqual(await target.realTags("c/absent"), { ...OURS, keep: "1" });
      assert.equal(s.currentVersionId, tokenOf(1));
      assert.deepEqual(await target.versionIds("c/absent"), [tokenOf(1)]);
    });

    if (caps.requestTokens === "native") {
      test("update with a token already used for another value is destination-write-failed (ResourceExistsException); one version, the first value", async () => {
        const first = canary("first");
        const other = canary("other");
        await create("c/db", first, tokenOf(1));
        const update = planned("update", "c/db", { requestToken: tokenOf(2), changes: ["value"], sourceVersion: 2 });
        await d.apply(update, valueSource(first).value);
        const error = await rejectsWith(d.apply(update, valueSource(other).value), "destination-write-failed", "c/db", [first, other]);
        assert.match(error.message, /^PutSecretValue c\/db: ResourceExistsException: /);
        assert.equal((await only("c")).currentVersionId, tokenOf(2));
        assert.deepEqual(await target.versionIds("c/db"), [tokenOf(1), tokenOf(2)].sort());
        assert.deepEqual(await read("c/db"), new Map([["c/db", { value: first }]]));
      });
    }

    test(`inventory past one listing page: every name under the prefix, in two pages${caps.recoveryWindow ? ", pending deletions included" : ", a deleted one gone"}`, async () => {
      const names = Array.from({ length: target.pageSize + 3 }, (_, i) => `many/s${String(i).padStart(3, "0")}`);
      for (const n of names) await create(n, "v", tokenOf(1));
      await create("other/s000", "v", tokenOf(1));
      await create("many-not/s000", "v", tokenOf(1));
      const last = names.at(-1) ?? "";
      await d.apply(deletion(last), valueSource("unused").value);

      const calls = target.countCalls();
      const inv = await d.inventory("many");
      assert.deepEqual(calls(), { [target.listing]: 2 + target.inventoryExtra });
      assert.deepEqual(inv.secrets.map((s) => s.name).sort(), caps.recoveryWindow ? names : names.slice(0, -1));
      assert.deepEqual(inv.secrets.filter((s) => s.deletedDate).map((s) => s.name), caps.recoveryWindow ? [last] : []);
      assert.ok(inv.secrets.every((s) => s.currentVersionId === tokenOf(1)));
    });

    test("update and restore of a secret that does not exist: destination-write-failed naming the missing secret; nothing is created", async () => {
      const value = canary("nowhere");
      const v = valueSource(value);
      const update = await rejectsWith(d.apply(planned("update", "c/missing", { requestToken: tokenOf(1), changes: ["value"], tags: OURS }), v.value), "destination-write-failed", "c/missing", [value]);
      const restore = await rejectsWith(d.apply(planned("restore", "c/missing", { requestToken: tokenOf(1), changes: ["tags"], tags: OURS }), v.value), "destination-write-failed", "c/missing", [value]);
      if (caps.requestTokens === "native") {
        assert.match(update.message, /^PutSecretValue c\/missing: ResourceNotFoundException: /);
        assert.match(restore.message, /^RestoreSecret c\/missing: ResourceNotFoundException: /);
      } else {
        for (const error of [update, restore]) assert.equal(error.message, "PutParameter /c/missing: ParameterNotFound: the parameter no longer exists; the next run creates it");
      }
      // Native tokens go with the value, so it is read before the destination answers; recorded ones are checked first.
      assert.equal(v.reads(), caps.requestTokens === "native" ? 1 : 0);
      if (caps.orphanMark) {
        const orphan = await rejectsWith(d.apply(planned("orphan", "c/missing"), v.value), "destination-write-failed", "c/missing", [value]);
        assert.match(orphan.message, /^TagResource c\/missing: ResourceNotFoundException: /);
      }
      assert.deepEqual((await d.inventory("c")).secrets, []);
    });

    // Ownership end to end: the planner decides from the listing and the profile; nothing that is
    // not proven ours is written, tagged or deleted, however its tags or records read.
    describe("ownership: never touching what is not ours", () => {
      /** The tags and token of a secret this sync wrote, to forge with. */
      async function oursToCopy(source: MemorySource) {
        source.put("real", { k: canary("real") });
        const first = await sync(source);
        assert.deepEqual([first.exitCode, first.counts.create], [0, 1]);
        const real = await only("own");
        assert.equal(real.name, "own/real");
        return { tags: real.tags, token: real.currentVersionId ?? "" };
      }

      test("a secret made by hand under the same name is a conflict: not written, tagged or deleted, under any policy", async () => {
        const theirs = canary("theirs");
        await target.outsiderCreate("own/app", theirs, { team: "them" });
        const source = new MemorySource({ mount: "m" });
        source.put("app", { k: canary("ours") });
        const report = await sync(source, { drift: "overwrite" });
        assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]), [["app", "conflict-unmanaged"]]);
        source.remove("app");
        const gone = await sync(source, { deletion: { strategy: "delete" }, blastRadius: { maxShare: 1 } });
        assert.equal(gone.counts.delete, 0);
        assert.deepEqual(await read("own/app"), new Map([["own/app", { value: theirs }]]));
        assert.deepEqual(await target.realTags("own/app"), { team: "them" });
        assert.equal((await target.versionIds("own/app")).length, 1);
      });

      test("forged ownership tags (ours, copied with the path changed) prove nothing: unproven, never written or deleted", async () => {
        const source = new MemorySource({ mount: "m" });
        const { tags } = await oursToCopy(source);
        const forged = { ...tags, [TAG.path]: "app" };
        const theirs = canary("theirs");
        await target.outsiderCreate("own/app", theirs, forged);
        await target.outsiderCreate("own/orphan", theirs, { ...tags, [TAG.path]: "orphan" });

        source.put("app", { k: canary("ours") });
        const report = await sync(source, { drift: "overwrite", deletion: { strategy: "delete" }, blastRadius: { maxShare: 1 } });
        assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]).sort(), [["app", "ownership-unproven"], ["orphan", "ownership-unproven"]]);
        assert.equal(report.counts.delete, 0);
        for (const name of ["own/app", "own/orphan"]) {
          assert.deepEqual(await read(name), new Map([[name, { value: theirs }]]));
          assert.equal((await target.versionIds(name)).length, 1, `${name}: one version`);
        }
      });

      test("a forged proof (the token of another secret of ours, where this destination records tokens) proves nothing", async () => {
        const source = new MemorySource({ mount: "m" });
        const { tags, token } = await oursToCopy(source);
        const theirs = canary("theirs");
        await target.outsiderCreate("own/app", theirs, { ...tags, [TAG.path]: "app" }, token);
        await target.outsiderCreate("own/orphan", theirs, { ...tags, [TAG.path]: "orphan" }, token);

        source.put("app", { k: canary("ours") });
        const report = await sync(source, { drift: "overwrite", deletion: { strategy: "delete" }, blastRadius: { maxShare: 1 } });
        assert.deepEqual(report.failures.map((f) => [f.path, f.errorClass]).sort(), [["app", "ownership-unproven"], ["orphan", "ownership-unproven"]]);
        assert.equal(report.counts.delete, 0);
        for (const name of ["own/app", "own/orphan"]) {
          assert.deepEqual(await read(name), new Map([[name, { value: theirs }]]));
          assert.equal((await target.versionIds(name)).length, 1, `${name}: one version`);
        }
      });
    });
  });
}

/** The operation a delete is, as `countCalls` names it. */
function deleteOperation(target: ContractTarget): string {
  return target.listing === "DescribeParameters" ? "DeleteParameter" : "DeleteSecret";
}

contract("MemoryDestination", { profile: awsSecretsManagerProfile, requestTokens: "native", arns: true, tagsWithValue: false }, async () => {
  const fake = new MemoryDestination();
  return {
    destination: fake,
    listing: "ListSecrets",
    pageSize: 100,
    inventoryExtra: 0,
    reset: async () => fake.reset(),
    versionIds: async (name) => fake.versions(name).map((v) => v.versionId).sort(),
    outsiderPut: async (name, value) => fake.outsiderPut(name, value),
    outsiderCreate: async (name, value, tags, proof) => fake.seed(name, { value, tags, ...(proof ? { versionId: proof } : {}) }),
    realTags: async (name) => fake.tags(name) ?? {},
    countCalls: () => {
      const from = fake.calls.length;
      return () => {
        const counts: Record<string, number> = {};
        for (const op of fake.calls.slice(from)) counts[op] = (counts[op] ?? 0) + 1;
        return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
      };
    },
    stop: async () => undefined,
  };
});

/** Counts by operation from a recorder, without the service's name. */
function counter(recorder: ApiCallRecorder): () => () => Record<string, number> {
  return () => {
    recorder.reset();
    return () => Object.fromEntries(Object.entries(recorder.byOperation()).map(([op, n]) => [op.replace(/^[a-z]+ /, ""), n]));
  };
}

contract("SecretsManagerDestination on moto", { profile: awsSecretsManagerProfile, requestTokens: "native", arns: true, tagsWithValue: false }, async () => {
  const moto: MotoPeer = await startMoto();
  const client = () => new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: AWS_TEST_CREDENTIALS, maxAttempts: 2 });
  const sdk = client();
  const recorder = new ApiCallRecorder();
  return {
    destination: new SecretsManagerDestination({ client: client(), recorder }),
    listing: "ListSecrets",
    pageSize: 100,
    inventoryExtra: 0,
    reset: () => moto.reset(),
    versionIds: async (name) => {
      const r = await sdk.send(new ListSecretVersionIdsCommand({ SecretId: name, IncludeDeprecated: true }));
      return (r.Versions ?? []).map((v) => v.VersionId ?? "").sort();
    },
    outsiderPut: async (name, value) => {
      // No token: the SDK makes one up, as the console or the CLI would.
      const r = await sdk.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
      return r.VersionId ?? "";
    },
    outsiderCreate: async (name, value, tags, proof) => {
      await sdk.send(new CreateSecretCommand({ Name: name, SecretString: value, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })), ...(proof ? { ClientRequestToken: proof } : {}) }));
    },
    realTags: async (name) => {
      const r = await sdk.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: [name] }] }));
      const secret = (r.SecretList ?? []).find((s) => s.Name === name);
      return Object.fromEntries((secret?.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
    },
    countCalls: counter(recorder),
    stop: () => moto.stop(),
  };
});

contract("ParameterStoreDestination on moto", { profile: parameterStoreProfile("standard"), requestTokens: "recorded", arns: false, tagsWithValue: true }, async () => {
  const moto: MotoPeer = await startMoto();
  const ssm = SdkSsmApi.create({ region: "us-east-1", endpoint: moto.url, credentials: AWS_TEST_CREDENTIALS });
  const recorder = new ApiCallRecorder();
  return {
    destination: new ParameterStoreDestination({ client: SdkSsmApi.create({ region: "us-east-1", endpoint: moto.url, credentials: AWS_TEST_CREDENTIALS }), recorder, rateLimits: FAST }),
    listing: "DescribeParameters",
    inventoryExtra: 1,
    // moto answers DescribeParameters 10 per page whatever MaxResults asks (AWS: up to 50, and
    // with filters sometimes fewer, even none, with a NextToken): a gap that shows paging early.
    pageSize: 10,
    reset: () => moto.reset(),
    // A version's id, read the way the inventory reads the current one: the token its own
    // description records for it, else its number.
    versionIds: async (name) => {
      const ids: string[] = [];
      let NextToken: string | undefined;
      do {
        const page = await ssm.call("GetParameterHistory", { Name: `/${name}`, MaxResults: 50, ...(NextToken ? { NextToken } : {}) });
        for (const p of page.Parameters ?? []) {
          const record = decodeRecord(p.Description);
          ids.push(record && record.version === p.Version ? record.token : `parameter-version-${p.Version}`);
        }
        NextToken = page.NextToken;
      } while (NextToken);
      return ids.sort();
    },
    outsiderPut: async (name, value) => {
      // As `aws ssm put-parameter --overwrite` does: the description is kept.
      const { Version } = await ssm.call("PutParameter", { Name: `/${name}`, Value: value, Type: "SecureString", Overwrite: true });
      return `parameter-version-${Version}`;
    },
    outsiderCreate: async (name, value, tags, proof) => {
      await ssm.call("PutParameter", {
        Name: `/${name}`,
        Value: value,
        Type: "SecureString",
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        ...(proof ? { Description: encodeRecord({ token: proof, version: 1, tags }) } : {}),
      });
    },
    realTags: async (name) => {
      const { TagList } = await ssm.call("ListTagsForResource", { ResourceType: "Parameter", ResourceId: `/${name}` });
      return Object.fromEntries((TagList ?? []).map((t) => [t.Key, t.Value]));
    },
    countCalls: counter(recorder),
    stop: async () => {
      ssm.destroy();
      await moto.stop();
    },
  };
});
