// The Secrets Manager inventory listed in parallel partitions gives exactly what the sequential
// listing gives, against a real moto, over hostile names: nested folders, names that are a prefix
// of a folder's name, special characters, case, names directly under the prefix, folders of one
// secret and folders of several pages the sample never saw, a secret scheduled for deletion,
// names just outside the prefix; with secrets created and deleted while it lists; at about the
// same number of calls.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { CreateSecretCommand, DeleteSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import pLimit from "p-limit";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/index.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { startLatencyProxy, type LatencyProxy } from "../../scripts/lib/latency-proxy.js";
import { startMoto, type MotoPeer } from "../helpers/peers.js";

let moto: MotoPeer;
let proxy: LatencyProxy;
before(async () => {
  moto = await startMoto();
  // A little latency so parallel pages really overlap, as they would against AWS.
  proxy = await startLatencyProxy({ target: moto.url, latencyMs: 20 });
});
after(async () => {
  await proxy.stop();
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
  proxy.resetStats();
});

const client = (endpoint: string) =>
  new SecretsManagerClient({ endpoint, region: moto.awsEnv.AWS_REGION, credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 3 });

function destination(listing: "partitioned" | "sequential", recorder: ApiCallRecorder): SecretsManagerDestination {
  return new SecretsManagerDestination({ client: client(proxy.url), recorder, listing, rateLimits: { list: 10_000 } });
}

/**
 * 2,000 names under `hp/`, created in this order: the first 100 (the sampled first page) show
 * `team/` and `team-1/` 40 times each and 20 names of the remainder, each once. The remainder
 * holds a 300-secret folder the sample never saw, so its partition pages too.
 */
function hostileNames(): string[] {
  const team = Array.from({ length: 800 }, (_, i) => (i % 5 === 0 ? `hp/team/inner/deep/s${i}` : `hp/team/s${i}`));
  const team1 = Array.from({ length: 600 }, (_, i) => `hp/team-1/s${i}`);
  const odd = [
    "hp/team",
    "hp/team-1",
    "hp/team-10/x",
    "hp/team-1x",
    "hp/teamX/1",
    "hp/Team/1",
    "hp/TEAM/2",
    "hp/a+b=c.d@e-f/1",
    "hp/a+b=c.d@e-f",
    "hp/_/x",
    "hp/-",
    "hp/=",
    "hp/direct",
    "hp/one/only",
    "hp/@/at",
    "hp/x.y/z",
    "hp/ends-abcdef",
    "hp/team-/1",
    "hp/teams/1",
    "hp/tea/1",
  ];
  const unseen = Array.from({ length: 300 }, (_, i) => `hp/big/${i % 3 === 0 ? "nested/" : ""}s${i}`);
  const fill = Array.from({ length: 600 - odd.length - unseen.length }, (_, i) => `hp/direct-${i}`);
  const first = [...team.slice(0, 40), ...team1.slice(0, 40), ...odd];
  return [...first, ...team.slice(40), ...team1.slice(40), ...unseen, ...fill];
}

async function seed(names: string[]): Promise<void> {
  const sm = client(moto.url);
  // In order (moto lists in creation order, so the first page is the first 100 created).
  for (const name of names.slice(0, 100)) await sm.send(new CreateSecretCommand({ Name: name, SecretString: "v" }));
  const limit = pLimit(8);
  await Promise.all(names.slice(100).map((name) => limit(() => sm.send(new CreateSecretCommand({ Name: name, SecretString: "v" })))));
  // Just outside the prefix: never listed.
  for (const name of ["hpx/1", "hp-outside/1", "HP/1", "h/p"]) await sm.send(new CreateSecretCommand({ Name: name, SecretString: "v" }));
  sm.destroy();
}

const namesOf = (inv: { secrets: { name: string }[] }) => inv.secrets.map((s) => s.name).sort();

describe("partitioned ListSecrets inventory", () => {
  test("the same secrets as the sequential listing, none twice, none missed, in parallel, at the sequential number of calls (within 5%)", async () => {
    const names = hostileNames();
    await seed(names);
    await client(moto.url).send(new DeleteSecretCommand({ SecretId: "hp/big/s7", RecoveryWindowInDays: 7 }));

    const seqCalls = new ApiCallRecorder();
    const sequential = await destination("sequential", seqCalls).inventory("hp");
    const seqInFlight = proxy.stats().ListSecrets?.maxInFlight;
    proxy.resetStats();
    const parCalls = new ApiCallRecorder();
    const partitioned = await destination("partitioned", parCalls).inventory("hp");

    assert.deepEqual(namesOf(sequential), [...names].sort());
    assert.deepEqual(namesOf(partitioned), namesOf(sequential));
    assert.equal(new Set(namesOf(partitioned)).size, 2000);
    assert.ok(partitioned.secrets.find((s) => s.name === "hp/big/s7")?.deletedDate, "the secret scheduled for deletion is listed with its DeletedDate");
    assert.equal(seqInFlight, 1);
    assert.ok((proxy.stats().ListSecrets?.maxInFlight ?? 0) >= 3, `ListSecrets in flight at once: ${JSON.stringify(proxy.stats())}`);
    // Sequential: 20 pages. Partitioned: the sampled first page, then team/ (8 pages), team-1/ (6)
    // and the remainder (6).
    assert.equal(seqCalls.count("aws", "ListSecrets"), 20);
    assert.equal(parCalls.count("aws", "ListSecrets"), 21);
    assert.ok(Math.abs(parCalls.count("aws", "ListSecrets") - 20) <= 20 * 0.05);
  });

  test("secrets created and scheduled for deletion while it lists: every secret that existed throughout is listed once", async () => {
    const names = hostileNames();
    await seed(names);
    const sm = client(moto.url);
    const recorder = new ApiCallRecorder();
    const dest = destination("partitioned", recorder);
    // After the first page, while the partitions list: a new secret in a partitioned folder, one in
    // the remainder, and one of each scheduled for deletion.
    const listing = dest.inventory("hp");
    const changes = (async () => {
      while (recorder.count("aws", "ListSecrets") < 2) await new Promise((r) => setTimeout(r, 5));
      await sm.send(new CreateSecretCommand({ Name: "hp/team/created-during", SecretString: "v" }));
      await sm.send(new CreateSecretCommand({ Name: "hp/created-during", SecretString: "v" }));
      await sm.send(new DeleteSecretCommand({ SecretId: "hp/team/s799", RecoveryWindowInDays: 7 }));
      await sm.send(new DeleteSecretCommand({ SecretId: "hp/direct", RecoveryWindowInDays: 7 }));
    })();
    const [inventory] = await Promise.all([listing, changes]);
    assert.ok((proxy.stats().ListSecrets?.maxInFlight ?? 0) >= 3, `the changes landed during a parallel listing: ${JSON.stringify(proxy.stats())}`);
    const listed = namesOf(inventory);
    assert.equal(new Set(listed).size, listed.length, "no name twice");
    const during = new Set(["hp/team/created-during", "hp/created-during"]);
    assert.deepEqual(
      listed.filter((n) => !during.has(n)),
      [...names].sort(),
    );
    sm.destroy();
  });

  test("a secret of the first page gone when the partitions list it: the listing falls back to sequential and says why", async () => {
    const names = hostileNames();
    await seed(names);
    const sm = client(moto.url);
    const listingClient = client(proxy.url);
    // Every page after the first waits until a sampled secret is deleted at once (no recovery
    // window, so it is no longer listed).
    let first = true;
    let deleted: Promise<unknown> | undefined;
    listingClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "ListSecretsCommand") {
          if (first) first = false;
          else await (deleted ??= sm.send(new DeleteSecretCommand({ SecretId: "hp/team/s1", ForceDeleteWithoutRecovery: true })));
        }
        return next(args);
      },
      { step: "initialize", name: "deleteDuringListing" },
    );
    const recorder = new ApiCallRecorder();
    const dest = new SecretsManagerDestination({ client: listingClient, recorder, rateLimits: { list: 10_000 } });
    const inventory = await dest.inventory("hp");
    assert.deepEqual(dest.lastListing, { mode: "sequential", partitions: 1, fallback: "1 secret(s) of the first page missing from the partitions" });
    assert.deepEqual(namesOf(inventory), names.filter((n) => n !== "hp/team/s1").sort());
    // The partitioned attempt (21 pages) and the sequential listing (20).
    assert.equal(recorder.count("aws", "ListSecrets"), 41);
    sm.destroy();
  });

  test("an estate that fits in one page is listed with one call, as sequentially; one page more and it lists in parallel", async () => {
    const names = hostileNames();
    await seed(names.slice(0, 100));
    const recorder = new ApiCallRecorder();
    assert.deepEqual(namesOf(await destination("partitioned", recorder).inventory("hp")), names.slice(0, 100).sort());
    assert.equal(recorder.count("aws", "ListSecrets"), 1);
    assert.equal(proxy.stats().ListSecrets?.maxInFlight, 1);

    const sm = client(moto.url);
    for (const name of names.slice(100, 250)) await sm.send(new CreateSecretCommand({ Name: name, SecretString: "v" }));
    sm.destroy();
    proxy.resetStats();
    assert.deepEqual(namesOf(await destination("partitioned", new ApiCallRecorder()).inventory("hp")), names.slice(0, 250).sort());
    assert.ok((proxy.stats().ListSecrets?.maxInFlight ?? 0) >= 2, `ListSecrets in flight at once: ${JSON.stringify(proxy.stats())}`);
  });
});
