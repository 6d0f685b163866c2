// The Secrets Manager destination on its own, against a real moto: paginated inventory by prefix,
// writes with tags and KMS keys, request-token idempotency, batch reads, per-attempt rate limiting
// and call counting, and error classes. Where moto and AWS differ, the test says so.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  InvalidRequestException,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import pLimit from "p-limit";
import { SyncError } from "../../src/core/errors.js";
import type { ActionType, AppliedWrite } from "../../src/core/model.js";
import { handBuilt, type AnyAction } from "../helpers/actions.js";
import type { RenderedValue } from "../../src/core/value.js";
import {
  classifySecretsManagerError,
  instrumentClient,
  MIDDLEWARE_NAME,
  SecretsManagerDestination,
} from "../../src/destinations/aws-secrets-manager/index.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { TokenBucket } from "../../src/util/rate-limiter.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { canary, freePort, startMoto, type MotoPeer } from "../helpers/peers.js";
import { rejectsWith } from "../helpers/assertions.js";

let moto: MotoPeer;
/** A loopback port nobody listens on: connection refused, at once. */
let deadEndpoint: string;
before(async () => {
  moto = await startMoto();
  deadEndpoint = `http://127.0.0.1:${await freePort()}`;
});
after(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
});

/** Client settings from moto's environment, passed explicitly so no test depends on process.env. */
function clientConfig(endpoint = moto.awsEnv.AWS_ENDPOINT_URL) {
  return {
    endpoint,
    region: moto.awsEnv.AWS_REGION,
    credentials: { accessKeyId: moto.awsEnv.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: moto.awsEnv.AWS_SECRET_ACCESS_KEY ?? "" },
  };
}
const client = (maxAttempts = 3, endpoint?: string) => new SecretsManagerClient({ ...clientConfig(endpoint), maxAttempts });

function destination(recorder?: ApiCallRecorder): SecretsManagerDestination {
  // Limits lifted so setup-heavy tests do not wait on the (separately tested) limiter.
  return new SecretsManagerDestination({
    client: client(),
    ...(recorder ? { recorder } : {}),
    rateLimits: { write: 10_000, tag: 10_000, list: 10_000, "batch-read": 10_000, read: 10_000 },
  });
}

/** Fails if any canary value appears in the error's message, JSON or stack. */
function assertNoCanary(error: unknown, canaries: string[]): void {
  const e = error as SyncError;
  const text = `${e.message}\n${JSON.stringify(e)}\n${e.stack ?? ""}`;
  for (const c of canaries) assert.ok(!text.includes(c), `error text contains a secret value: ${text}`);
}

/** A planned action as the planner would hand it to `apply`: only the fields a test sets beyond the required ones. */
function action(type: ActionType, destinationName: string, fields: Partial<AnyAction> = {}): AppliedWrite {
  return handBuilt(type, { mapping: "source", sourcePath: destinationName, destinationName, sourceVersion: 1, reason: "test" }, fields);
}
/** The value thunk `apply` takes, rendering this string. */
const valueOf =
  (secretString: string) =>
  async (): Promise<RenderedValue> => ({ secretString });
/** For actions that write no value: rendering it would read the source for nothing. */
const noValue = async (): Promise<RenderedValue> => assert.fail("this action must not render the value");

const tokenOf = (digit: number) => `${digit}`.repeat(8) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(4) + "-" + `${digit}`.repeat(12);

describe("SecretsManagerDestination against moto", () => {
  test("inventory pages through ListSecrets (3 calls for 230 secrets) and keeps exactly the names under prefix/", async () => {
    const raw = client();
    const limit = pLimit(16);
    const ours = Array.from({ length: 230 }, (_, i) => `app/s${String(i).padStart(3, "0")}`);
    // Names the prefix filter must not let through: 120 elsewhere (more than a page, so a filter
    // applied after paging would show up as a 4th call), a sibling prefix, the bare prefix, and
    // another case (AWS's name filter is case-sensitive).
    const others = [...Array.from({ length: 120 }, (_, i) => `other/s${i}`), "app-other/x", "app", "App/x", "other/app/x"];
    await Promise.all(
      [...ours.map((name, i) => ({ name, tags: [{ Key: "i", Value: String(i) }, { Key: "team", Value: "a" }] })), ...others.map((name) => ({ name, tags: [] }))].map((s) =>
        limit(() => raw.send(new CreateSecretCommand({ Name: s.name, SecretString: canary(), Tags: s.tags }))),
      ),
    );
    const recorder = new ApiCallRecorder();
    const inv = await destination(recorder).inventory("app");

    assert.deepEqual(inv.secrets.map((s) => s.name).sort(), ours);
    for (const s of inv.secrets) {
      assert.deepEqual(s.tags, { i: String(Number(s.name.slice(5))), team: "a" });
      assert.match(s.arn ?? "", new RegExp(`^arn:aws:secretsmanager:us-east-1:\\d{12}:secret:${s.name}-[A-Za-z0-9]{6}$`));
      // Only what planning reads: no dates or other listing fields, and a single current version
      // by its id alone (an object keyed by a version id is a hidden class per secret).
      assert.deepEqual(Object.keys(s).sort(), ["arn", "currentVersionId", "name", "tags"]);
      assert.equal(s.deletedDate, undefined);
      assert.equal(s.provider, undefined);
      assert.match(s.currentVersionId ?? "", /^[0-9a-f-]{36}$/);
    }
    // Metadata only: no Describe, no value read.
    assert.deepEqual(recorder.snapshot(), { "aws ListSecrets 200": 3 });

    // A second value: the listing keeps both labelled versions, so the previous one can still prove the secret.
    const first = inv.secrets.find((s) => s.name === "app/s000")?.currentVersionId ?? "";
    const second = await raw.send(new PutSecretValueCommand({ SecretId: "app/s000", SecretString: canary() }));
    const again = (await destination(new ApiCallRecorder()).inventory("app")).secrets.find((s) => s.name === "app/s000");
    assert.equal(again?.currentVersionId, second.VersionId);
    assert.deepEqual(again?.versionStages, { [first]: ["AWSPREVIOUS"], [second.VersionId ?? ""]: ["AWSCURRENT"] });
  });

  test("without the identity client the runtime's factory builds, target() asks no account (no STS client made up on the side)", async () => {
    assert.deepEqual(await destination().target(), { service: "AWS Secrets Manager", account: null, accountUnknown: "not asked", region: "us-east-1" });
  });

  test("validate makes one cheap ListSecrets call", async () => {
    const recorder = new ApiCallRecorder();
    await destination(recorder).validate();
    assert.deepEqual(recorder.snapshot(), { "aws ListSecrets 200": 1 });
  });

  test("create sends tags, KMS key and description; DescribeSecret reads them back", async () => {
    const key = await new KMSClient(clientConfig()).send(new CreateKeyCommand({ Description: "secretbridge test" }));
    const recorder = new ApiCallRecorder();
    const value = canary("create");
    let rendered = 0;
    await destination(recorder).apply(
      action("create", "p/db", {
        requestToken: tokenOf(1),
        tags: { owner: "team-a", "secretbridge:sync": "s1" },
        provider: { kmsKeyId: key.KeyMetadata?.Arn, description: "Replicated by secretbridge" },
      }),
      async () => {
        rendered++;
        return { secretString: value };
      },
    );
    assert.equal(rendered, 1);
    const described = await client().send(new DescribeSecretCommand({ SecretId: "p/db" }));
    assert.equal(described.KmsKeyId, key.KeyMetadata?.Arn);
    assert.equal(described.Description, "Replicated by secretbridge");
    assert.deepEqual(described.Tags, [
      { Key: "owner", Value: "team-a" },
      { Key: "secretbridge:sync", Value: "s1" },
    ]);
    assert.deepEqual(described.VersionIdsToStages, { [tokenOf(1)]: ["AWSCURRENT"] });
    assert.equal((await client().send(new GetSecretValueCommand({ SecretId: "p/db" }))).SecretString, value);
    assert.deepEqual(recorder.snapshot(), { "aws CreateSecret 200": 1 });
  });

  test("create retried with the same token and value is a no-op (crash after AWS applied it)", async () => {
    const d = destination();
    const value = canary();
    await d.apply(action("create", "p/once", { requestToken: tokenOf(1), tags: {} }), valueOf(value));
    await d.apply(action("create", "p/once", { requestToken: tokenOf(1), tags: {} }), valueOf(value));
    const versions = await client().send(new ListSecretVersionIdsCommand({ SecretId: "p/once" }));
    assert.deepEqual(versions.Versions?.map((v) => v.VersionId), [tokenOf(1)]);
  });

  test("a value write without the token its plan derives is refused, and writes nothing: a random token could never prove the secret ours", async () => {
    const d = destination();
    await assert.rejects(d.apply(action("create", "p/tokenless", { tags: {} }), valueOf(canary())), (e: SyncError) => e.errorClass === "config-invalid" && e.message === "p/tokenless: a value write needs the request token its plan derives");
    const listed = await client().send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["p/tokenless"] }] }));
    assert.deepEqual(listed.SecretList ?? [], []);
  });

  test("a value update: same token and value twice makes one version; same token with another value is refused (moto matches AWS)", async () => {
    const d = destination();
    await d.apply(action("create", "p/db", { requestToken: tokenOf(1), tags: {} }), valueOf(canary("first")));
    const second = canary("second");
    const update = action("update", "p/db", { sourceVersion: 2, requestToken: tokenOf(2), changes: ["value"], tags: {} });
    const recorder = new ApiCallRecorder();
    const recorded = new SecretsManagerDestination({ client: client(), recorder });
    await recorded.apply(update, valueOf(second));
    await recorded.apply(update, valueOf(second));
    // A value-only update with no tags to set is the put and nothing else.
    assert.deepEqual(recorder.snapshot(), { "aws PutSecretValue 200": 2 });
    const versions = await client().send(new ListSecretVersionIdsCommand({ SecretId: "p/db" }));
    assert.deepEqual(versions.Versions?.map((v) => v.VersionId).sort(), [tokenOf(1), tokenOf(2)]);
    assert.equal((await client().send(new GetSecretValueCommand({ SecretId: "p/db" }))).VersionId, tokenOf(2));

    // AWS documents ResourceExistsException for this ("you can't modify an existing version");
    // moto 5.2.5 answers the same.
    const third = canary("third");
    const error = await rejectsWith(d.apply(update, valueOf(third)), "destination-write-failed", "p/db");
    assert.match(error.message, /^PutSecretValue p\/db: ResourceExistsException: /);
    assertNoCanary(error, [second, third]);
    assert.equal((await client().send(new ListSecretVersionIdsCommand({ SecretId: "p/db" }))).Versions?.length, 2);
    assert.equal((await client().send(new GetSecretValueCommand({ SecretId: "p/db" }))).SecretString, second);
  });

  test("a tags-only update overwrites the given keys, leaves the others, and renders no value", async () => {
    const d = destination();
    await d.apply(action("create", "p/t", { requestToken: tokenOf(3), tags: { a: "1", b: "1" } }), valueOf(canary()));
    const recorder = new ApiCallRecorder();
    await new SecretsManagerDestination({ client: client(), recorder }).apply(action("update", "p/t", { changes: ["tags"], tags: { b: "2", c: "3" } }), noValue);
    assert.deepEqual(recorder.snapshot(), { "aws TagResource 200": 1 });
    const tags = (await client().send(new DescribeSecretCommand({ SecretId: "p/t" }))).Tags ?? [];
    assert.deepEqual(Object.fromEntries(tags.map((t) => [t.Key, t.Value])), { a: "1", b: "2", c: "3" });
  });

  test("readValues: 31 secrets in 2 batch calls, by their listed ARNs, keyed by name; one that does not exist is left out", async () => {
    const raw = client();
    const names = Array.from({ length: 30 }, (_, i) => `b/s${String(i).padStart(2, "0")}`);
    const values = new Map(names.map((n) => [n, canary(n)]));
    for (const n of names) await raw.send(new CreateSecretCommand({ Name: n, SecretString: values.get(n) }));
    const recorder = new ApiCallRecorder();
    const listed = (await destination().inventory("b")).secrets;
    assert.ok(listed.every((s) => s.arn?.startsWith("arn:aws:secretsmanager:")));
    const read = await destination(recorder).readValues([...listed, { name: "b/missing" }]);
    assert.deepEqual(new Map([...read].sort(([a], [b]) => a.localeCompare(b))), new Map([...values].map(([n, value]) => [n, { value }])));
    assert.deepEqual(recorder.snapshot(), { "aws BatchGetSecretValue 200": 2 });
  });

  test("readValues: a secret the batch cannot read is an error for that name only; the others are read", async () => {
    const raw = client();
    const ok = canary("ok");
    const gone = canary("gone");
    await raw.send(new CreateSecretCommand({ Name: "b/ok", SecretString: ok }));
    await raw.send(new CreateSecretCommand({ Name: "b/gone", SecretString: gone }));
    await raw.send(new DeleteSecretCommand({ SecretId: "b/gone", RecoveryWindowInDays: 7 }));
    const recorder = new ApiCallRecorder();
    // By the ARNs the inventory lists (pending deletions included); the answer is keyed by name.
    const read = await destination(recorder).readValues((await destination().inventory("b")).secrets);
    assert.deepEqual([...read.keys()].sort(), ["b/gone", "b/ok"]);
    assert.deepEqual(read.get("b/ok"), { value: ok });
    const entry = read.get("b/gone");
    assert.ok(entry && "error" in entry, `expected an error for b/gone: ${JSON.stringify(entry)}`);
    const error = entry.error;
    assert.ok(error instanceof SyncError);
    assert.equal(error.errorClass, "pending-deletion", error.message);
    assert.equal(error.secretPath, "b/gone");
    assert.match(error.message, /^BatchGetSecretValue b\/gone: InvalidRequestException: /);
    assertNoCanary(error, [ok, gone]);
    assert.deepEqual(recorder.snapshot(), { "aws BatchGetSecretValue 200": 1 });
  });

  test("readValues: a batch that fails as a whole is an error for each of its names; a fatal failure still throws", async () => {
    // Every BatchGetSecretValue throttled past the SDK's attempts: not fatal, so every name of the
    // batch gets the error and the caller decides per secret.
    const proxy = new FaultProxy(moto.url, { throttle: 1 });
    const url = await proxy.start();
    try {
      const recorder = new ApiCallRecorder();
      const d = new SecretsManagerDestination({ client: client(2, url), recorder });
      const read = await d.readValues([{ name: "b/one" }, { name: "b/two" }]);
      assert.deepEqual([...read.keys()].sort(), ["b/one", "b/two"]);
      for (const [name, entry] of read) {
        assert.ok("error" in entry, `expected an error for ${name}`);
        assert.equal(entry.error.errorClass, "throttled", entry.error.message);
        assert.equal(entry.error.secretPath, name);
        assert.match(entry.error.message, new RegExp(`^${name}: BatchGetSecretValue \\(2 secrets from b/one\\): ThrottlingException: `));
      }
      assert.deepEqual(recorder.snapshot(), { "aws BatchGetSecretValue 400": 2 });
    } finally {
      await proxy.stop();
    }
    // Nobody listening: the destination as a whole is unusable, which throws (no per-name entries).
    const recorder = new ApiCallRecorder();
    const dead = new SecretsManagerDestination({ client: client(1, deadEndpoint), recorder });
    const error = await rejectsWith(dead.readValues([{ name: "b/one" }]), "destination-unavailable");
    assert.match(error.message, /^BatchGetSecretValue \(1 secrets from b\/one\): ECONNREFUSED: /);
    assert.deepEqual(recorder.snapshot(), { "aws BatchGetSecretValue ECONNREFUSED": 1 });
  });

  test("a secret scheduled for deletion is in the inventory with its date, and create on its name is pending-deletion", async () => {
    const d = destination();
    const value = canary("old");
    await d.apply(action("create", "p/old", { requestToken: tokenOf(4), tags: { owner: "me" } }), valueOf(value));
    await client().send(new DeleteSecretCommand({ SecretId: "p/old", RecoveryWindowInDays: 7 }));
    const inv = await d.inventory("p");
    assert.deepEqual(inv.secrets.map((s) => [s.name, s.tags, s.deletedDate instanceof Date]), [["p/old", { owner: "me" }, true]]);

    // AWS answers InvalidRequestException ("...already scheduled for deletion"), classified from
    // the code and message; moto 5.2.5 answers ResourceExistsException ("already exists"), and the
    // destination tells it apart with one DescribeSecret.
    const recorder = new ApiCallRecorder();
    const again = canary("again");
    const recorded = new SecretsManagerDestination({ client: client(), recorder });
    const error = await rejectsWith(recorded.apply(action("create", "p/old", { requestToken: tokenOf(5), tags: {} }), valueOf(again)), "pending-deletion", "p/old");
    assert.match(error.message, /^CreateSecret p\/old: ResourceExistsException: the secret is scheduled for deletion \(DeletedDate \d{4}-\d\d-\d\dT[\d:.]+Z\): restore it \(aws secretsmanager restore-secret\) or let it be purged$/);
    assertNoCanary(error, [value, again]);
    assert.deepEqual(recorder.snapshot(), { "aws CreateSecret 400": 1, "aws DescribeSecret 200": 1 });

    // An existing, live secret (created by someone else) is a plain write failure, not pending-deletion.
    await client().send(new CreateSecretCommand({ Name: "p/live", SecretString: canary() }));
    const exists = await rejectsWith(d.apply(action("create", "p/live", { requestToken: tokenOf(6), tags: {} }), valueOf(again)), "destination-write-failed", "p/live");
    assert.match(exists.message, /^CreateSecret p\/live: ResourceExistsException: .*already exists/);
  });

  test("names AWS rejects: moto 5.2.5 accepts them; AWS's ValidationException is invalid-name", async () => {
    // Peer gap: moto validates no name (space, '!', 513 characters all pass), which is why the
    // planner checks names (core/naming) before anything is sent.
    const d = destination();
    await d.apply(action("create", "p/bad name!", { requestToken: tokenOf(7), tags: {} }), valueOf(canary()));
    assert.equal((await client().send(new DescribeSecretCommand({ SecretId: "p/bad name!" }))).Name, "p/bad name!");
    // What AWS answers for the same request (the message AWS sends for an invalid name).
    const aws = Object.assign(new Error("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"), {
      name: "ValidationException",
      $metadata: { httpStatusCode: 400 },
    });
    const error = classifySecretsManagerError(aws, { what: "CreateSecret p/bad name!", scope: "secret", name: "p/bad name!" });
    assert.equal(error.errorClass, "invalid-name");
    assert.equal(error.secretPath, "p/bad name!");
    assert.match(error.message, /^CreateSecret p\/bad name!: ValidationException: Invalid name\. /);
  });

  test("a value over 65,536 bytes: moto 5.2.5 stores it; AWS's ValidationException is too-large, without the value", async () => {
    // Peer gap: AWS refuses this; moto stores it. The engine's own size check (nothing sent) is
    // tested in sync.test.ts.
    const big = canary("big") + "x".repeat(70_000);
    await destination().apply(action("create", "p/big", { requestToken: tokenOf(8), tags: {} }), valueOf(big));
    assert.equal((await client().send(new GetSecretValueCommand({ SecretId: "p/big" }))).SecretString?.length, big.length);
    // AWS omits sensitive values from validation messages; scrubbing covers an endpoint that does not.
    const aws = Object.assign(new Error(`1 validation error detected: Value '${big}' at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536`), {
      name: "ValidationException",
    });
    const error = classifySecretsManagerError(aws, { what: "PutSecretValue p/big", scope: "secret", name: "p/big", secrets: [big] });
    assert.equal(error.errorClass, "too-large");
    assertNoCanary(error, [big]);
    assert.match(error.message, /^PutSecretValue p\/big: ValidationException: 1 validation error detected: Value '\[REDACTED\]' at 'secretString'/);
  });

  test("AWS errors moto does not produce are classified from their code and message", () => {
    const err = (name: string, message: string, status = 400) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
    // Secrets Manager's own exceptions as the SDK throws them: instances of its classes.
    const sm = (type: typeof InvalidRequestException | typeof ResourceExistsException, message: string) => new type({ message, $metadata: { httpStatusCode: 400 } });
    const cases: [Error, "destination" | "secret", string][] = [
      [sm(InvalidRequestException, "You can't create this secret because a secret with this name is already scheduled for deletion."), "secret", "pending-deletion"],
      [sm(InvalidRequestException, "You can't perform this operation on the secret because it was marked for deletion."), "secret", "pending-deletion"],
      [err("AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized to perform: secretsmanager:ListSecrets"), "destination", "destination-auth"],
      [err("AccessDeniedException", "not authorized to perform: secretsmanager:PutSecretValue"), "secret", "permission-denied"],
      [err("UnrecognizedClientException", "The security token included in the request is invalid."), "destination", "destination-auth"],
      [err("InvalidSignatureException", "The request signature we calculated does not match"), "destination", "destination-auth"],
      [Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }), "destination", "destination-auth"],
      [err("ThrottlingException", "Rate exceeded"), "secret", "throttled"],
      [err("ValidationException", "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint"), "secret", "invalid-tags"],
      [sm(ResourceExistsException, "The operation failed because the secret p/x already exists."), "secret", "destination-write-failed"],
      [err("InternalServiceError", "internal", 500), "destination", "destination-unavailable"],
      [err("InternalServiceError", "internal", 500), "secret", "destination-write-failed"],
    ];
    assert.deepEqual(
      cases.map(([e, scope]) => classifySecretsManagerError(e, { what: "op p/x", scope, name: "p/x" }).errorClass),
      cases.map(([, , expected]) => expected),
    );
    const throttled = classifySecretsManagerError(err("ThrottlingException", "Rate exceeded"), { what: "PutSecretValue p/x", scope: "secret", name: "p/x" });
    assert.equal(throttled.retryable, true);
    assert.equal(throttled.message, "PutSecretValue p/x: ThrottlingException: Rate exceeded: still throttled after retries; lower destination.rateLimits or sync.concurrency");
  });

  test("replicas: each Region's KMS key is sent on create and on later additions", async () => {
    const raw = client();
    const bodies: string[] = [];
    raw.middlewareStack.add(
      (next) => async (args) => {
        const body = (args.request as { body?: unknown }).body;
        bodies.push(body instanceof Uint8Array ? new TextDecoder().decode(body) : String(body ?? ""));
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "captureBody" },
    );
    const d = new SecretsManagerDestination({ client: raw });
    await d.apply(action("create", "r/a", { requestToken: tokenOf(9), tags: {}, provider: { replicas: [{ region: "eu-west-1", kmsKeyId: "alias/eu" }] } }), valueOf(canary()));
    await d.apply(
      action("update", "r/a", {
        changes: ["replicas"],
        provider: {
          replicas: [
            { region: "eu-west-1", kmsKeyId: "alias/eu" },
            { region: "us-west-2", kmsKeyId: "alias/us" },
          ],
        },
      }),
      noValue,
    );
    const sent = bodies.map((b) => JSON.parse(b || "{}") as { AddReplicaRegions?: unknown });
    assert.deepEqual(sent.filter((b) => b.AddReplicaRegions).map((b) => b.AddReplicaRegions), [
      [{ Region: "eu-west-1", KmsKeyId: "alias/eu" }],
      [{ Region: "us-west-2", KmsKeyId: "alias/us" }],
    ]);
    const status = (await raw.send(new DescribeSecretCommand({ SecretId: "r/a" }))).ReplicationStatus ?? [];
    assert.deepEqual(status.map((r) => r.Region).sort(), ["eu-west-1", "us-west-2"]);
  });

  test("validate against an endpoint nobody listens on is destination-unavailable, one record per attempt", async () => {
    const recorder = new ApiCallRecorder();
    const d = new SecretsManagerDestination({ client: client(2, deadEndpoint), recorder });
    const error = await rejectsWith(d.validate(), "destination-unavailable");
    assert.match(error.message, /^AWS Secrets Manager ListSecrets: ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:\d+: check the Region, the endpoint and the network$/);
    assert.deepEqual(recorder.snapshot(), { "aws ListSecrets ECONNREFUSED": 2 });
  });

  test("a client the destination builds itself takes its endpoint from AWS_ENDPOINT_URL (and the service-specific variable first)", async () => {
    await client().send(new CreateSecretCommand({ Name: "env/one", SecretString: canary() }));
    const saved = { ...process.env };
    try {
      Object.assign(process.env, moto.awsEnv);
      delete process.env.AWS_PROFILE;
      const recorder = new ApiCallRecorder();
      const d = new SecretsManagerDestination({ maxAttempts: 1, recorder });
      assert.deepEqual((await d.inventory("env")).secrets.map((s) => s.name), ["env/one"]);
      await d.close();
      // AWS_ENDPOINT_URL_SECRETS_MANAGER wins over AWS_ENDPOINT_URL.
      process.env.AWS_ENDPOINT_URL = deadEndpoint;
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = moto.url;
      const specific = new SecretsManagerDestination({ maxAttempts: 1, recorder });
      await specific.validate();
      await specific.close();
      assert.deepEqual(recorder.snapshot(), { "aws ListSecrets 200": 2 });
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  test("close() leaves a client it was given usable", async () => {
    const given = client();
    await new SecretsManagerDestination({ client: given }).close();
    assert.deepEqual((await given.send(new ListSecretsCommand({}))).SecretList, []);
  });
});

describe("rate limiting and call counting, per attempt", () => {
  /** A fake-clock bucket that counts how often it was asked for a token and when it granted. */
  function countingBucket(ratePerSecond: number) {
    let t = 0;
    const grants: number[] = [];
    const bucket = new TokenBucket({ ratePerSecond, burst: 1, now: () => t, sleep: async (ms) => void (t += ms) });
    const take = bucket.take.bind(bucket);
    bucket.take = async () => {
      await take();
      grants.push(Math.round(t));
    };
    return { bucket, grants };
  }

  test("the middleware sits between the SDK's retry and signing middleware, and is added once", () => {
    const raw = client();
    instrumentClient(raw);
    instrumentClient(raw);
    new SecretsManagerDestination({ client: raw });
    const stack = raw.middlewareStack.identify();
    const at = (prefix: string) => stack.findIndex((entry) => entry.startsWith(prefix));
    assert.equal(stack.filter((entry) => entry.startsWith(MIDDLEWARE_NAME)).length, 1);
    assert.ok(at("retryMiddleware") < at(MIDDLEWARE_NAME), stack.join("\n"));
    assert.ok(at(MIDDLEWARE_NAME) < at("httpSigningMiddleware"), stack.join("\n"));
  });

  test("each call waits for its family's limiter: 5 ListSecrets at 10/s are granted at 0, 100, 200, 300, 400 ms", async () => {
    const { bucket, grants } = countingBucket(10);
    const raw = client();
    const recorder = new ApiCallRecorder();
    instrumentClient(raw, { recorder, limiters: { list: bucket } });
    const d = new SecretsManagerDestination({ client: raw });
    for (let i = 0; i < 5; i++) await d.validate();
    assert.deepEqual(grants, [0, 100, 200, 300, 400]);
    assert.deepEqual(recorder.snapshot(), { "aws ListSecrets 200": 5 });
  });

  test("throttled attempts are retried by the SDK and each retry waits for the limiter again", async () => {
    // Real HTTP: a proxy answers the first two attempts with ThrottlingException, then forwards.
    let throttled = 0;
    const proxy = new FaultProxy(moto.url, { throttle: 1, only: () => throttled++ < 2 });
    const url = await proxy.start();
    try {
      const { bucket, grants } = countingBucket(10);
      const raw = client(3, url);
      const recorder = new ApiCallRecorder();
      instrumentClient(raw, { recorder, limiters: { list: bucket } });
      await new SecretsManagerDestination({ client: raw }).validate();
      assert.deepEqual(grants, [0, 100, 200]);
      assert.deepEqual(recorder.snapshot(), { "aws ListSecrets 200": 1, "aws ListSecrets 400": 2 });
      assert.equal(proxy.injected.throttle, 2);
    } finally {
      await proxy.stop();
    }
  });

  test("still throttled after every attempt is the throttled class", async () => {
    const proxy = new FaultProxy(moto.url, { throttle: 1 });
    const url = await proxy.start();
    try {
      const { bucket, grants } = countingBucket(10);
      const raw = client(2, url);
      const recorder = new ApiCallRecorder();
      instrumentClient(raw, { recorder, limiters: { write: bucket } });
      const value = canary("throttled");
      const error = await rejectsWith(
        new SecretsManagerDestination({ client: raw }).apply(action("update", "p/x", { requestToken: tokenOf(1), changes: ["value"], tags: {} }), valueOf(value)),
        "throttled",
        "p/x",
      );
      assert.match(error.message, /^PutSecretValue p\/x: ThrottlingException: Rate exceeded: still throttled after retries/);
      assertNoCanary(error, [value]);
      assert.deepEqual(grants, [0, 100]);
      assert.deepEqual(recorder.snapshot(), { "aws PutSecretValue 400": 2 });
    } finally {
      await proxy.stop();
    }
  });

  test("connection refused: every attempt is limited and counted", async () => {
    const { bucket, grants } = countingBucket(10);
    const raw = client(3, deadEndpoint);
    const recorder = new ApiCallRecorder();
    instrumentClient(raw, { recorder, limiters: { list: bucket } });
    await rejectsWith(new SecretsManagerDestination({ client: raw }).validate(), "destination-unavailable");
    assert.deepEqual(grants, [0, 100, 200]);
    assert.deepEqual(recorder.snapshot(), { "aws ListSecrets ECONNREFUSED": 3 });
  });
});
