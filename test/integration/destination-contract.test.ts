// The SecretDestination contract: one suite, written once, that every destination must pass: the
// in-memory fake and the real Secrets Manager destination against moto. A new destination is done
// when it passes. Plans are built by hand here; what the planner decides is tested elsewhere.
// Left out because moto 5.2.5 does not do what AWS does (the fake follows AWS; the planner checks
// the limits before anything is written): moto accepts PutSecretValue and TagResource on a secret
// scheduled for deletion, names outside AWS's characters, more than 50 tags, `aws:` tag keys and
// values over 65,536 bytes.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { ListSecretVersionIdsCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { ActionType, DestinationRef, WriteAction } from "../../src/core/model.js";
import { handBuilt, type AnyAction } from "../helpers/actions.js";
import { TAG } from "../../src/core/tags.js";
import type { RenderedValue } from "../../src/core/value.js";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/secrets-manager-destination.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import type { SecretDestination } from "../../src/destinations/destination.js";
import { MemoryDestination } from "../fakes/memory-destination.js";
import { canary, startMoto, type MotoPeer } from "../helpers/peers.js";
import { rejectsWith } from "../helpers/assertions.js";

/** One implementation under test, with the few facts the interface does not show, read its own way. */
interface ContractTarget {
  destination: SecretDestination;
  /** Back to an empty destination (a clean moto, an empty fake). */
  reset(): Promise<void>;
  /** Every version id the secret has, deprecated ones included, sorted. */
  versionIds(name: string): Promise<string[]>;
  /** A new AWSCURRENT version written by someone else (drift); returns its version id. */
  outsiderPut(name: string, value: string): Promise<string>;
  /** Starts counting the destination's API calls; the result gives them by operation since then. */
  countCalls(): () => Record<string, number>;
  stop(): Promise<void>;
}

/** A request token as the planner derives them: 36 characters, within AWS's 32-64. */
const tokenOf = (digit: number) => `${digit}`.repeat(8) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(12);

const OURS = { [TAG.managedBy]: "secretbridge", [TAG.sync]: "contract" };

function planned(type: ActionType, destinationName: string, fields: Partial<AnyAction> = {}): WriteAction {
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

function contract(name: string, makeDestination: () => Promise<ContractTarget>): void {
  describe(`SecretDestination contract: ${name}`, () => {
    let target: ContractTarget;
    let d: SecretDestination;
    before(async () => {
      target = await makeDestination();
      d = target.destination;
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
    });

    test("create retried with the same token and value makes no second version", async () => {
      const value = canary("once");
      await create("c/once", value, tokenOf(1));
      await create("c/once", value, tokenOf(1));
      assert.equal((await only("c")).currentVersionId, tokenOf(1));
      assert.deepEqual(await target.versionIds("c/once"), [tokenOf(1)]);
    });

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

    test("create on a name scheduled for deletion is pending-deletion", async () => {
      const old = canary("old");
      const again = canary("again");
      await create("c/old", old, tokenOf(1));
      await d.apply(planned("delete", "c/old", { provider: { recoveryWindowDays: 7 } }), valueSource("unused").value);
      const error = await rejectsWith(d.apply(planned("create", "c/old", { requestToken: tokenOf(2), tags: OURS }), valueSource(again).value), "pending-deletion", "c/old", [old, again]);
      assert.match(error.message, /^CreateSecret c\/old: /);
      assert.match(error.message, /restore/);
    });

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
      assert.equal(v.reads(), 2);
    });

    test("tags-only update adds and overwrites the given tags, leaves the others, and reads no value", async () => {
      const value = canary("tags");
      await create("c/t", value, tokenOf(1), { ...OURS, a: "1", b: "1", outsider: "keep" });
      const v = valueSource(canary("never-read"));
      await d.apply(planned("update", "c/t", { changes: ["tags"], tags: { b: "2", c: "3" } }), v.value);

      const s = await only("c");
      assert.deepEqual(s.tags, { ...OURS, a: "1", b: "2", c: "3", outsider: "keep" });
      assert.equal(s.currentVersionId, tokenOf(1));
      assert.equal(v.reads(), 0);
      assert.deepEqual(await target.versionIds("c/t"), [tokenOf(1)]);
      assert.deepEqual(await read("c/t"), new Map([["c/t", { value }]]));
    });

    test("untag removes exactly the listed keys, and never a key that is in action.tags", async () => {
      await create("c/u", canary("untag"), tokenOf(1), { ...OURS, a: "1", b: "1", c: "1", [TAG.orphanedAt]: "2024-01-01T00:00:00.000Z" });
      await d.apply(
        planned("update", "c/u", { changes: ["tags"], tags: { ...OURS, b: "2" }, untag: ["a", "b", TAG.orphanedAt, "not-there"] }),
        valueSource("unused").value,
      );
      assert.deepEqual((await only("c")).tags, { ...OURS, b: "2", c: "1" });
    });

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

    test("delete with a recovery window: still listed and described, with a deletedDate and its tags; its value read is pending-deletion", async () => {
      const value = canary("deleted");
      await create("c/gone", value, tokenOf(1), { ...OURS, owner: "me" });
      await create("c/stays", canary("stays"), tokenOf(2));
      const v = valueSource("unused");
      await d.apply(planned("delete", "c/gone", { provider: { recoveryWindowDays: 7 } }), v.value);

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
      await d.apply(planned("delete", "c/back", { provider: { recoveryWindowDays: 7 } }), valueSource("unused").value);
      const v = valueSource("unused");
      await d.apply(planned("restore", "c/back", { changes: ["tags"], tags: { ...OURS, restored: "yes" } }), v.value);

      const s = await only("c");
      assert.equal(s.deletedDate, undefined);
      assert.deepEqual(s.tags, { ...OURS, restored: "yes" });
      assert.equal(s.currentVersionId, tokenOf(1));
      assert.equal(v.reads(), 0);
      assert.deepEqual(await read("c/back"), new Map([["c/back", { value }]]));
    });

    test("restore with a new value: restored first, then the new version is current", async () => {
      await create("c/back", canary("old"), tokenOf(1));
      await d.apply(planned("delete", "c/back", { provider: { recoveryWindowDays: 7 } }), valueSource("unused").value);
      const value = canary("new");
      await d.apply(planned("restore", "c/back", { requestToken: tokenOf(2), changes: ["value", "tags"], tags: OURS, sourceVersion: 2 }), valueSource(value).value);

      const s = await only("c");
      assert.equal(s.deletedDate, undefined);
      assert.equal(s.currentVersionId, tokenOf(2));
      assert.deepEqual(await read("c/back"), new Map([["c/back", { value }]]));
    });

    test("force delete removes the secret: not listed, not described, not read", async () => {
      await create("c/now", canary("forced"), tokenOf(1));
      await d.apply(planned("delete", "c/now", { provider: { forceDeleteWithoutRecovery: true } }), valueSource("unused").value);
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
      const del = planned("delete", "c/twice", { arn, provider: { recoveryWindowDays: 7 } });
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
      const force = planned("delete", "c/gone", { arn, provider: { forceDeleteWithoutRecovery: true } });
      await d.apply(force, valueSource("unused").value);

      const calls = target.countCalls();
      await d.apply(force, valueSource("unused").value);
      await d.apply(planned("delete", "c/gone", { arn, provider: { recoveryWindowDays: 7 } }), valueSource("unused").value);
      await d.apply(planned("delete", "c/never-was", { provider: { recoveryWindowDays: 7 } }), valueSource("unused").value);
      assert.deepEqual(calls(), { DescribeSecret: 3 });
      assert.deepEqual((await d.inventory("c")).secrets, []);
    });

    test("force delete of a secret pending deletion removes it at once", async () => {
      await create("c/pending", canary("pending"), tokenOf(1));
      const arn = await arnOf("c/pending");
      await d.apply(planned("delete", "c/pending", { arn, provider: { recoveryWindowDays: 7 } }), valueSource("unused").value);
      const calls = target.countCalls();
      await d.apply(planned("delete", "c/pending", { arn, provider: { forceDeleteWithoutRecovery: true } }), valueSource("unused").value);
      assert.deepEqual(calls(), { DeleteSecret: 1, DescribeSecret: 1 });
      assert.deepEqual((await d.inventory("c")).secrets, []);
    });

    test("an action carrying the ARN of a secret since re-created under its name never touches the new one", async () => {
      await create("c/again", canary("old"), tokenOf(1));
      const oldArn = await arnOf("c/again");
      await d.apply(planned("delete", "c/again", { arn: oldArn, provider: { forceDeleteWithoutRecovery: true } }), valueSource("unused").value);
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
      await d.apply(planned("delete", "c/again", { arn: oldArn, provider: { recoveryWindowDays: 7 } }), valueSource("unused").value);
      const s = await only("c");
      assert.deepEqual([s.tags, s.deletedDate, s.currentVersionId], [{ ...OURS, owner: "new" }, undefined, tokenOf(2)]);
      assert.deepEqual(await read("c/again"), new Map([["c/again", { value }]]));
    });

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

    test("an action that writes nothing (unchanged) is refused as config-invalid and touches nothing", async () => {
      const value = canary("unchanged");
      await create("c/same", value, tokenOf(1));
      const v = valueSource(canary("never-read"));
      await rejectsWith(d.apply(planned("unchanged", "c/same", { tags: { other: "x" } }), v.value), "config-invalid", "c/same", [value]);
      assert.equal(v.reads(), 0);
      assert.deepEqual((await only("c")).tags, OURS);
      assert.deepEqual(await target.versionIds("c/same"), [tokenOf(1)]);
    });

    test("drift repair: the restoreVersionId version becomes current, the replaced version id tagged secretbridge:replaced-version; retried, nothing more", async () => {
      const ours = canary("ours");
      const theirs = canary("theirs");
      await create("c/drift", ours, tokenOf(1), { ...OURS, [TAG.sourceVersion]: "1" });
      const outsider = await target.outsiderPut("c/drift", theirs);
      assert.equal((await only("c")).currentVersionId, outsider);

      const repair = planned("update", "c/drift", {
        requestToken: tokenOf(1),
        currentVersionId: outsider,
        restoreVersionId: tokenOf(7),
        changes: ["value"],
        tags: { ...OURS, [TAG.sourceVersion]: "1" },
      });
      const v = valueSource(ours);
      await d.apply(repair, v.value);
      await d.apply(repair, v.value);

      const s = await only("c");
      assert.equal(s.currentVersionId, tokenOf(7));
      assert.equal(s.tags[TAG.replacedVersion], outsider);
      // The listing carries the labelled versions: the repair is current, the hand edit it replaced is previous.
      assert.deepEqual(d.profile.writtenVersions(s), { current: tokenOf(7), previous: [outsider] });
      assert.equal(s.tags[TAG.sourceVersion], "1");
      assert.deepEqual(await read("c/drift"), new Map([["c/drift", { value: ours }]]));
      assert.deepEqual(await target.versionIds("c/drift"), [tokenOf(1), tokenOf(7), outsider].sort());
      assert.equal(v.reads(), 2);
    });

    test("restore of a secret that is not pending deletion succeeds and changes neither value, tags nor versions", async () => {
      const value = canary("live");
      await create("c/live", value, tokenOf(1), { ...OURS, owner: "me" });
      const v = valueSource(canary("never-read"));
      await d.apply(planned("restore", "c/live", { changes: ["tags"], tags: { ...OURS, owner: "me" } }), v.value);

      const s = await only("c");
      assert.equal(s.deletedDate, undefined);
      assert.deepEqual(s.tags, { ...OURS, owner: "me" });
      assert.equal(s.currentVersionId, tokenOf(1));
      assert.equal(v.reads(), 0);
      assert.deepEqual(await target.versionIds("c/live"), [tokenOf(1)]);
      assert.deepEqual(await read("c/live"), new Map([["c/live", { value }]]));
    });

    test("untag of keys the secret does not have succeeds and changes no tag", async () => {
      await create("c/absent", canary("absent"), tokenOf(1), { ...OURS, keep: "1" });
      const calls = target.countCalls();
      await d.apply(planned("update", "c/absent", { changes: ["tags"], untag: ["not-there", TAG.orphanedAt] }), valueSource("unused").value);
      assert.deepEqual(calls(), { UntagResource: 1 });
      const s = await only("c");
      assert.deepEqual(s.tags, { ...OURS, keep: "1" });
      assert.equal(s.currentVersionId, tokenOf(1));
    });

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

    test("inventory past one ListSecrets page: every name under the prefix, pending deletions included, in two pages", async () => {
      const names = Array.from({ length: 103 }, (_, i) => `many/s${String(i).padStart(3, "0")}`);
      for (const n of names) await create(n, "v", tokenOf(1));
      await create("other/s000", "v", tokenOf(1));
      await create("many-not/s000", "v", tokenOf(1));
      await d.apply(planned("delete", "many/s102", { provider: { recoveryWindowDays: 7 } }), valueSource("unused").value);

      const calls = target.countCalls();
      const inv = await d.inventory("many");
      assert.deepEqual(calls(), { ListSecrets: 2 });
      assert.deepEqual(inv.secrets.map((s) => s.name).sort(), names);
      assert.deepEqual(inv.secrets.filter((s) => s.deletedDate).map((s) => s.name), ["many/s102"]);
      assert.ok(inv.secrets.every((s) => s.currentVersionId === tokenOf(1)));
    });

    test("update, orphan and restore of a secret that does not exist: destination-write-failed (ResourceNotFoundException); nothing is created", async () => {
      const value = canary("nowhere");
      const v = valueSource(value);
      const update = await rejectsWith(d.apply(planned("update", "c/missing", { requestToken: tokenOf(1), changes: ["value"] }), v.value), "destination-write-failed", "c/missing", [value]);
      assert.match(update.message, /^PutSecretValue c\/missing: ResourceNotFoundException: /);
      const orphan = await rejectsWith(d.apply(planned("orphan", "c/missing"), v.value), "destination-write-failed", "c/missing", [value]);
      assert.match(orphan.message, /^TagResource c\/missing: ResourceNotFoundException: /);
      const restore = await rejectsWith(d.apply(planned("restore", "c/missing", { changes: ["tags"], tags: OURS }), v.value), "destination-write-failed", "c/missing", [value]);
      assert.match(restore.message, /^RestoreSecret c\/missing: ResourceNotFoundException: /);
      assert.deepEqual((await d.inventory("c")).secrets, []);
    });
  });
}

contract("MemoryDestination", async () => {
  const fake = new MemoryDestination();
  return {
    destination: fake,
    reset: async () => fake.reset(),
    versionIds: async (name) => fake.versions(name).map((v) => v.versionId).sort(),
    outsiderPut: async (name, value) => fake.outsiderPut(name, value),
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

contract("SecretsManagerDestination on moto", async () => {
  const moto: MotoPeer = await startMoto();
  const client = () =>
    new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 2 });
  const sdk = client();
  const recorder = new ApiCallRecorder();
  return {
    destination: new SecretsManagerDestination({ client: client(), recorder }),
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
    countCalls: () => {
      recorder.reset();
      return () => Object.fromEntries(Object.entries(recorder.byOperation()).map(([op, n]) => [op.replace(/^aws /, ""), n]));
    },
    stop: () => moto.stop(),
  };
});
