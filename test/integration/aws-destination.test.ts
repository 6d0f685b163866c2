// The Secrets Manager destination on its own, against a real moto: paginated inventory by prefix,
// writes with tags and KMS keys, request-token idempotency, batch reads, per-attempt rate limiting
// and call counting, and error classes.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  ListSecretVersionIdsCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import pLimit from "p-limit";
import { SyncError } from "../../src/core/errors.js";
import { SecretsManagerDestination } from "../../src/destinations/aws-secrets-manager/index.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { TokenBucket } from "../../src/util/rate-limiter.js";
import { canary, startMoto, type MotoPeer } from "../helpers/peers.js";
import { instrumentClient } from "../../src/destinations/aws-secrets-manager/middleware.js";

let moto: MotoPeer;
before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
});

const clientConfig = () => ({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
const client = (maxAttempts = 3) => new SecretsManagerClient({ ...clientConfig(), maxAttempts });

function destination(recorder?: ApiCallRecorder): SecretsManagerDestination {
  return new SecretsManagerDestination({ client: client(), ...(recorder ? { recorder } : {}), rateLimits: { write: 10_000, list: 10_000 } });
}

describe("SecretsManagerDestination", () => {
  test("inventory pages through ListSecrets, keeps only names under prefix/, with tags, no value reads", async () => {
    const raw = client();
    const limit = pLimit(16);
    await Promise.all([
      ...Array.from({ length: 230 }, (_, i) =>
        limit(() => raw.send(new CreateSecretCommand({ Name: `app/s${String(i).padStart(3, "0")}`, SecretString: "x", Tags: [{ Key: "i", Value: String(i) }] }))),
      ),
      limit(() => raw.send(new CreateSecretCommand({ Name: "app-other/x", SecretString: "x" }))),
      limit(() => raw.send(new CreateSecretCommand({ Name: "other/app/x", SecretString: "x" }))),
    ]);
    const recorder = new ApiCallRecorder();
    const inv = await destination(recorder).inventory("app");
    assert.equal(inv.secrets.length, 230);
    assert.ok(inv.secrets.every((s) => s.name.startsWith("app/")));
    assert.equal(inv.secrets.find((s) => s.name === "app/s042")?.tags.i, "42");
    assert.deepEqual(recorder.byOperation(), { "aws ListSecrets": 3 });
  });

  test("create with tags, KMS key and description; putValue is idempotent per request token", async () => {
    const kms = new KMSClient(clientConfig());
    const key = await kms.send(new CreateKeyCommand({}));
    const d = destination();
    const first = canary("first");
    await d.create({ name: "p/db", secretString: first, requestToken: "11111111-1111-1111-1111-111111111111", tags: { owner: "me" }, kmsKeyId: key.KeyMetadata?.Arn, description: "desc" });
    const described = await client().send(new DescribeSecretCommand({ SecretId: "p/db" }));
    assert.equal(described.KmsKeyId, key.KeyMetadata?.Arn);
    assert.equal(described.Description, "desc");
    assert.deepEqual(described.Tags, [{ Key: "owner", Value: "me" }]);

    const second = canary("second");
    const token = "22222222-2222-2222-2222-222222222222";
    await d.putValue({ name: "p/db", secretString: second, requestToken: token });
    await d.putValue({ name: "p/db", secretString: second, requestToken: token });
    const versions = await client().send(new ListSecretVersionIdsCommand({ SecretId: "p/db" }));
    assert.equal(versions.Versions?.length, 2);

    // Same token, different value: refused (as in AWS), reported without the value.
    const third = canary("third");
    await assert.rejects(d.putValue({ name: "p/db", secretString: third, requestToken: token }), (e: unknown) => {
      assert.ok(e instanceof SyncError);
      assert.equal(e.errorClass, "destination-write-failed");
      assert.match(e.message, /^PutSecretValue p\/db: ResourceExistsException/);
      assert.ok(!e.message.includes(third));
      return true;
    });
    assert.equal((await client().send(new ListSecretVersionIdsCommand({ SecretId: "p/db" }))).Versions?.length, 2);
  });

  test("tag overwrites the given keys and leaves the others", async () => {
    const d = destination();
    await d.create({ name: "p/t", secretString: "x", requestToken: "33333333-3333-3333-3333-333333333333", tags: { a: "1", b: "1" } });
    await d.tag("p/t", { b: "2", c: "3" });
    const tags = (await client().send(new DescribeSecretCommand({ SecretId: "p/t" }))).Tags ?? [];
    assert.deepEqual(Object.fromEntries(tags.map((t) => [t.Key, t.Value])), { a: "1", b: "2", c: "3" });
  });

  test("readValues batches by 20", async () => {
    const raw = client();
    const names = Array.from({ length: 45 }, (_, i) => `b/s${i}`);
    for (const n of names) await raw.send(new CreateSecretCommand({ Name: n, SecretString: `v-${n}` }));
    const recorder = new ApiCallRecorder();
    const values = await destination(recorder).readValues(names);
    assert.equal(values.size, 45);
    assert.equal(values.get("b/s44"), "v-b/s44");
    assert.equal(recorder.count("aws", "BatchGetSecretValue"), 3);
  });

  test("a secret scheduled for deletion shows in the inventory with its date (the planner never recreates it)", async () => {
    const d = destination();
    await d.create({ name: "p/old", secretString: "x", requestToken: "44444444-4444-4444-4444-444444444444", tags: {} });
    await client().send(new DeleteSecretCommand({ SecretId: "p/old", RecoveryWindowInDays: 7 }));
    const inv = await d.inventory("p");
    assert.ok(inv.secrets.find((s) => s.name === "p/old")?.deletedDate instanceof Date);
    // AWS answers InvalidRequestException ("already scheduled for deletion"); moto 5.2.5 answers
    // ResourceExistsException. Either way the create fails without a write.
    await assert.rejects(
      d.create({ name: "p/old", secretString: "y", requestToken: "55555555-5555-5555-5555-555555555555", tags: {} }),
      (e: unknown) => e instanceof SyncError && /ResourceExistsException|InvalidRequestException/.test(e.message),
    );
  });

  test("AWS's pending-deletion error is classified as pending-deletion", async () => {
    const { classifyAwsError } = await import("../../src/destinations/aws-secrets-manager/errors.js");
    const aws = Object.assign(new Error("You can't create this secret because a secret with this name is already scheduled for deletion."), { name: "InvalidRequestException" });
    assert.equal(classifyAwsError(aws, "CreateSecret p/old", "secret").errorClass, "pending-deletion");
  });

  test("moto does not enforce the 65,536-byte limit, which is why secretbridge checks before sending", async () => {
    // Recorded peer gap: AWS rejects this; moto 5.2.5 stores it. The engine's own check is tested
    // in sync.test.ts (too-large, nothing sent).
    await destination().create({ name: "p/big", secretString: "x".repeat(70_000), requestToken: "66666666-6666-6666-6666-666666666666", tags: {} });
    assert.equal((await client().send(new DescribeSecretCommand({ SecretId: "p/big" }))).Name, "p/big");
  });

  test("replicas: each Region's KMS key is sent on create and on later additions", async () => {
    const raw = client();
    const bodies: string[] = [];
    raw.middlewareStack.add(
      (next) => async (args) => {
        bodies.push(String((args.request as { body?: unknown }).body ?? ""));
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "captureBody" },
    );
    const d = new SecretsManagerDestination({ client: raw });
    await d.create({ name: "r/a", secretString: "x", requestToken: "88888888-8888-8888-8888-888888888888", tags: {}, replicas: [{ region: "eu-west-1", kmsKeyId: "alias/eu" }] });
    await d.setReplicas("r/a", [{ region: "eu-west-1", kmsKeyId: "alias/eu" }, { region: "us-west-2", kmsKeyId: "alias/us" }]);
    const sent = bodies.map((b) => JSON.parse(b || "{}") as { AddReplicaRegions?: unknown });
    assert.deepEqual(sent.filter((b) => b.AddReplicaRegions).map((b) => b.AddReplicaRegions), [
      [{ Region: "eu-west-1", KmsKeyId: "alias/eu" }],
      [{ Region: "us-west-2", KmsKeyId: "alias/us" }],
    ]);
    const status = (await raw.send(new DescribeSecretCommand({ SecretId: "r/a" }))).ReplicationStatus ?? [];
    assert.deepEqual(status.map((r) => r.Region).sort(), ["eu-west-1", "us-west-2"]);
  });

  test("validate: an unreachable endpoint is destination-unavailable", async () => {
    const d = new SecretsManagerDestination({ client: new SecretsManagerClient({ ...clientConfig(), endpoint: "http://127.0.0.1:9", maxAttempts: 1 }) });
    await assert.rejects(d.validate(), (e: unknown) => e instanceof SyncError && e.errorClass === "destination-unavailable");
  });

  test("the rate limiter and the call counter run once per attempt, retries included", async () => {
    // A client whose every attempt fails with a retryable network error, 3 attempts per call.
    const failing = new SecretsManagerClient({ ...clientConfig(), endpoint: "http://127.0.0.1:9", maxAttempts: 3 });
    let takes = 0;
    const bucket = new TokenBucket({ ratePerSecond: 1_000_000 });
    const original = bucket.take.bind(bucket);
    bucket.take = () => {
      takes += 1;
      return original();
    };
    const recorder = new ApiCallRecorder();
    instrumentClient(failing, { recorder, limiters: { list: bucket } });
    instrumentClient(failing, { recorder, limiters: { list: bucket } }); // idempotent: not added twice
    const d = new SecretsManagerDestination({ client: failing });
    await assert.rejects(d.validate());
    assert.equal(takes, 3);
    assert.equal(recorder.count("aws", "ListSecrets"), 3);
  });
});
