// Push without a server: function URL events, signed as `serve`'s /webhook expects, handed to the
// admission function, whose queued runs the worker consumes from a FIFO queue in moto, against real
// OpenBao. Forged, replayed, malformed and hostile requests are refused before anything is queued,
// and hostile queue messages are dropped without holding back the others.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { LambdaFunctionURLEvent, SQSEvent } from "aws-lambda";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { consumeBatch, handlePush, handler, resetPushState, type FunctionUrlResult, type LambdaSummary } from "../../src/runtime/lambda/handler.js";
import { RUN_MESSAGE_GROUP } from "../../src/runtime/lambda/queue.js";
import { signWebhook } from "../../src/runtime/webhook.js";
import { peersForThisFile, REDACTING_LOGGER, type Scenario } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";

const peers = peersForThisFile();
const context = { getRemainingTimeInMillis: () => 300_000 };

function urlEvent(body: string, headers: Record<string, string>, options: { method?: string; path?: string; base64?: boolean } = {}): LambdaFunctionURLEvent {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: options.path ?? "/webhook",
    rawQueryString: "",
    headers: { "content-type": "application/json", ...headers },
    requestContext: {
      accountId: "anonymous",
      apiId: "url-id",
      domainName: "url-id.lambda-url.eu-west-1.on.aws",
      domainPrefix: "url-id",
      http: { method: options.method ?? "POST", path: options.path ?? "/webhook", protocol: "HTTP/1.1", sourceIp: "203.0.113.9", userAgent: "test" },
      requestId: "r",
      routeKey: "$default",
      stage: "$default",
      time: "24/Nov/2026:00:00:00 +0000",
      timeEpoch: Date.now(),
    },
    body: options.base64 ? Buffer.from(body).toString("base64") : body,
    isBase64Encoded: Boolean(options.base64),
  };
}

const now = () => Math.floor(Date.now() / 1000);

function signed(key: string, body: unknown, timestamp = now()): { body: string; headers: Record<string, string> } {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return { body: text, headers: { "x-secretbridge-timestamp": String(timestamp), "x-secretbridge-signature": signWebhook(key, timestamp, text) } };
}

interface PushRig {
  s: Scenario;
  key: string;
  queueUrl: string;
  /** The admission function's answer. */
  push(event: LambdaFunctionURLEvent, env?: Record<string, string>): Promise<FunctionUrlResult & { json: Record<string, unknown> }>;
  /** The worker, given what the queue holds (undefined: nothing to run). */
  work(env?: Record<string, string>): Promise<{ summary: LambdaSummary | undefined; logs: string; messages: number }>;
  send(body: string): Promise<void>;
  depth(): Promise<number>;
  batch(): Promise<SQSEvent>;
}

async function rig(): Promise<PushRig> {
  const s = await peers.scenario();
  await peers.sm().send(new CreateSecretCommand({ Name: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }));
  const key = peers.secret("webhook-key-0123456789abcdef0123456789");
  await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}-conn/webhook-signing-key`, SecretString: key }));
  const queue = await peers.runQueue();
  const push = async (event: LambdaFunctionURLEvent, env: Record<string, string> = {}) => {
    const { logger, logs } = captureLogger(REDACTING_LOGGER);
    const functionEnv = s.lambdaEnv({ env: { WEBHOOK_SECRET_NAME: `${s.prefix}-conn/webhook-signing-key`, SECRETBRIDGE_QUEUE_URL: queue.url, ...env } });
    const result = await handlePush(event, { env: functionEnv, logger, secretsManager: peers.sm(), sqs: queue.sqs });
    peers.emitted.push(logs(), result.body);
    return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
  };
  const work = async (env: Record<string, string> = {}) => {
    const event = await queue.batch();
    const { logger, logs } = captureLogger(REDACTING_LOGGER);
    const summary = await consumeBatch(event, context, { env: s.lambdaEnv({ env }), logger, secretsManager: peers.sm() });
    peers.emitted.push(logs(), JSON.stringify(summary ?? null));
    return { summary, logs: logs(), messages: event.Records.length };
  };
  const send = async (body: string) => void (await queue.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body, MessageGroupId: RUN_MESSAGE_GROUP })));
  return { s, key, queueUrl: queue.url, push, work, send, depth: queue.depth, batch: queue.batch };
}

describe("function URL push", () => {
  beforeEach(() => resetPushState());

  test("a signed push is queued and the worker syncs exactly the named secret; a replay is refused; a new signature of the same body is accepted", async () => {
    const { s, key, push, work } = await rig();
    const db = peers.secret("push-db");
    await s.put("app/db", { password: db });
    await s.put("app/other", { password: peers.secret("push-other") });
    const request = signed(key, { changes: [{ mount: s.mount, path: "app/db" }] });
    const first = await push(urlEvent(request.body, request.headers));
    assert.equal(first.statusCode, 202, first.body);
    assert.deepEqual(first.json, { accepted: 1, queued: true });
    assert.equal((await s.destination()).size, 0, "the admission function writes nothing itself");
    // The same request reaching a new execution environment is queued again, and SQS drops it.
    // (Sent before the first is consumed: SQS keeps a deduplication id for 5 minutes after a
    // delete too, but moto forgets it once the message is deleted.)
    resetPushState();
    assert.equal((await push(urlEvent(request.body, request.headers))).statusCode, 202);
    const run = await work();
    assert.equal(run.messages, 1, "the queue deduplicates by signature");
    assert.equal(run.summary?.exitCode, 0, run.logs);
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/app/db`]);
    assert.equal(await s.value("app/db"), JSON.stringify({ password: db }));

    const replay = await push(urlEvent(request.body, request.headers));
    assert.equal(replay.statusCode, 409);
    assert.equal(replay.json.error, "this signed request was already accepted");

    await s.put("app/db", { password: peers.secret("push-db-2") });
    const again = signed(key, { changes: [{ mount: s.mount, path: "app/db" }] }, now() + 1);
    const second = await push(urlEvent(again.body, again.headers));
    assert.equal(second.statusCode, 202, second.body);
    assert.deepEqual((await work()).summary?.updated, [`${s.prefix}/app/db`]);
    assert.equal(await s.versionCount("app/db"), 2);
  });

  test("forged and stale requests are refused with nothing queued", async () => {
    const { s, key, push, depth } = await rig();
    await s.put("a", { v: peers.secret("forged-a") });
    const body = JSON.stringify({ changes: [{ mount: s.mount, path: "a" }] });
    const cases: [string, Record<string, string>, number][] = [
      ["no signature", { "x-secretbridge-timestamp": String(now()) }, 401],
      ["no timestamp", { "x-secretbridge-signature": signWebhook(key, now(), body) }, 401],
      ["another key", signed("not-the-key-not-the-key-not-the-key", body).headers, 401],
      ["stale timestamp", signed(key, body, now() - 3600).headers, 401],
      ["future timestamp", signed(key, body, now() + 3600).headers, 401],
      ["signature of another body", signed(key, JSON.stringify({ changes: [{ mount: s.mount, path: "b" }] })).headers, 401],
    ];
    for (const [what, headers, status] of cases) {
      const answer = await push(urlEvent(body, headers));
      assert.equal(answer.statusCode, status, what);
    }
    assert.equal(await depth(), 0);
    assert.equal((await s.destination()).size, 0);
  });

  test("a hostile corpus gets clear refusals, and the function keeps answering", async () => {
    const { s, key, push, work, depth } = await rig();
    await s.put("ok", { v: peers.secret("corpus-ok") });
    const sign = (body: unknown) => signed(key, body);
    const tooMany = { changes: Array.from({ length: 1001 }, (_, i) => ({ mount: s.mount, path: `p${i}` })) };
    const cases: [string, LambdaFunctionURLEvent, number, RegExp][] = [
      ["GET", urlEvent("", {}, { method: "GET" }), 405, /method not allowed/],
      ["unknown path", urlEvent("{}", {}, { path: "/admin" }), 404, /not found/],
      ["not JSON", urlEvent(sign("{nope").body, sign("{nope").headers), 400, /not JSON/],
      ["wrong shape", urlEvent(sign({ paths: ["a"] }).body, sign({ paths: ["a"] }).headers), 400, /changes must be an array/],
      ["empty", urlEvent(sign({ changes: [] }).body, sign({ changes: [] }).headers), 400, /changes is empty/],
      ["1001 changes", urlEvent(sign(tooMany).body, sign(tooMany).headers), 400, /more than 1000 changes/],
      ["dot-dot", urlEvent(sign({ changes: [{ mount: s.mount, path: "app/../ok" }] }).body, sign({ changes: [{ mount: s.mount, path: "app/../ok" }] }).headers), 400, /invalid-path/],
      ["control character", urlEvent(sign({ changes: [{ mount: s.mount, path: "a\u0000b" }] }).body, sign({ changes: [{ mount: s.mount, path: "a\u0000b" }] }).headers), 400, /invalid-path/],
      ["lone surrogate", urlEvent(sign({ changes: [{ mount: s.mount, path: "x\ud800" }] }).body, sign({ changes: [{ mount: s.mount, path: "x\ud800" }] }).headers), 400, /invalid-path.*lone UTF-16 surrogate/],
      ["mount with a query", urlEvent(sign({ changes: [{ mount: `${s.mount}?list=true`, path: "ok" }] }).body, sign({ changes: [{ mount: `${s.mount}?list=true`, path: "ok" }] }).headers), 400, /invalid-path.*the mount has \\"\?\\" in it/],
      ["unknown mount", urlEvent(sign({ changes: [{ mount: "elsewhere", path: "ok" }] }).body, sign({ changes: [{ mount: "elsewhere", path: "ok" }] }).headers), 422, /unknown-mount/],
      ["over 64 KiB", urlEvent("x".repeat(300_000), {}), 413, /body over 65536 bytes/],
      ["base64 that is not UTF-8", { ...urlEvent("", {}), body: Buffer.from([0xff, 0xfe, 0xfd]).toString("base64"), isBase64Encoded: true }, 400, /not UTF-8/],
    ];
    for (const [what, event, status, message] of cases) {
      const answer = await push(event);
      assert.equal(answer.statusCode, status, `${what}: ${answer.body}`);
      assert.match(answer.body, message, what);
      assert.equal(answer.headers["content-type"], "application/json");
    }
    assert.equal(await depth(), 0, "nothing queued by any refused request");

    // Without a configured signing secret there is no push endpoint at all.
    const request = sign({ changes: [{ mount: s.mount, path: "ok" }] });
    const none = await push(urlEvent(request.body, request.headers), { WEBHOOK_SECRET_NAME: "" });
    assert.equal(none.statusCode, 404);

    // Out of every mapping's scope: accepted, nothing to do. Then a base64 body with mixed-case headers works.
    const outside = s.writeConfig({ name: "lambda", sourceYaml: "  include: ['app/**']" });
    const skipped = await push(urlEvent(request.body, request.headers), { SECRETBRIDGE_CONFIG: outside });
    assert.equal(skipped.statusCode, 202, skipped.body);
    assert.deepEqual(skipped.json, { accepted: 0, queued: false });
    assert.equal(await depth(), 0);
    const b64 = signed(key, { changes: [{ mount: s.mount, path: "ok" }] }, now() + 1);
    const mixed = Object.fromEntries(Object.entries(b64.headers).map(([k, v]) => [k.toUpperCase(), v]));
    const fine = await push(urlEvent(b64.body, mixed, { base64: true }));
    assert.equal(fine.statusCode, 202, fine.body);
    await work();
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/ok`]);
  });

  test("a queue that cannot be reached answers 503 and the same request can be sent again", async () => {
    const { s, key, push, work } = await rig();
    await s.put("q", { v: peers.secret("queue-down") });
    const request = signed(key, { changes: [{ mount: s.mount, path: "q" }] });
    const down = await push(urlEvent(request.body, request.headers), { SECRETBRIDGE_QUEUE_URL: `${peers.moto.url}/123456789012/no-such-queue.fifo` });
    assert.equal(down.statusCode, 503, down.body);
    assert.deepEqual(down.json, { error: "destination-unavailable" });
    const retried = await push(urlEvent(request.body, request.headers));
    assert.equal(retried.statusCode, 202, retried.body);
    await work();
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/q`]);
  });

  test("a pushed run that fails consumes its message and reports; the next scheduled run picks the change up", async () => {
    const { s, key, push, work, send, depth } = await rig();
    await s.put("late", { v: peers.secret("late") });
    const token = await s.readOnlyToken();
    await peers.bao.api("POST", "auth/token/revoke", { token });
    await peers.sm().send(new PutSecretValueCommand({ SecretId: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: token }) }));
    const request = signed(key, { changes: [{ mount: s.mount, path: "late" }] });
    assert.equal((await push(urlEvent(request.body, request.headers))).statusCode, 202);
    const failed = await work();
    assert.equal(failed.summary?.exitCode, 2, failed.logs);
    // The stack's metric filter counts this line: { $.msg = "secretbridge run summary" && $.summary.exitCode > 0 }.
    const line = failed.logs.split("\n").map((l) => (l ? (JSON.parse(l) as { msg?: string; summary?: { exitCode?: number } }) : {})).find((l) => l.msg === "secretbridge run summary");
    assert.equal(line?.summary?.exitCode, 2);
    assert.equal(await depth(), 0, "a failed run does not block the queue");
    assert.equal((await s.destination()).size, 0);

    await peers.sm().send(new PutSecretValueCommand({ SecretId: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }));
    await send(JSON.stringify({ secretbridge: "scheduled", time: new Date().toISOString() }));
    const scheduled = await work();
    assert.deepEqual(scheduled.summary?.created, [`${s.prefix}/late`]);
  });

  test("hostile queue messages are dropped by id, and the valid ones in the same batch still run; a scheduled message covers every push", async () => {
    const { s, work, send } = await rig();
    await s.put("good", { v: peers.secret("queue-good") });
    await s.put("other", { v: peers.secret("queue-other") });
    const hostile = [
      "not json",
      "[]",
      JSON.stringify({ secretbridge: "push" }),
      JSON.stringify({ secretbridge: "push", changes: [] }),
      JSON.stringify({ secretbridge: "push", changes: [{ mount: s.mount, path: "good" }], extra: true }),
      JSON.stringify({ secretbridge: "delete-everything" }),
      JSON.stringify({ secretbridge: "push", changes: Array.from({ length: 1001 }, (_, i) => ({ mount: s.mount, path: `p${i}` })) }),
      JSON.stringify({ secretbridge: "push", changes: [{ mount: s.mount, path: "../other" }] }),
      JSON.stringify({ secretbridge: "push", changes: [{ mount: "elsewhere", path: "good" }] }),
    ];
    for (const body of hostile) await send(body);
    await send(JSON.stringify({ secretbridge: "push", changes: [{ mount: s.mount, path: "good" }] }));
    const run = await work();
    assert.equal(run.messages, 10);
    assert.equal(run.summary?.exitCode, 0, run.logs);
    assert.deepEqual(run.summary?.created, [`${s.prefix}/good`], "only the valid change ran; nothing outside it");
    assert.equal((run.logs.match(/dropped a message that is not a queued run/g) ?? []).length, 7);
    assert.match(run.logs, /"refused":2/);

    await send(JSON.stringify({ secretbridge: "push", changes: [{ mount: s.mount, path: "good" }] }));
    await send(JSON.stringify({ secretbridge: "scheduled" }));
    const both = await work();
    assert.equal(both.messages, 2);
    assert.deepEqual(both.summary?.created, [`${s.prefix}/other`], "one full sync for the batch");
  });

  test("the worker's entry point: a function URL event is admitted, a queue batch is consumed, anything else runs a full sync", async () => {
    const { s, key, queueUrl, batch } = await rig();
    await s.put("routed", { v: peers.secret("routed") });
    await s.put("unpushed", { v: peers.secret("unpushed") });
    const previous = { ...process.env };
    Object.assign(process.env, s.lambdaEnv({ env: { WEBHOOK_SECRET_NAME: `${s.prefix}-conn/webhook-signing-key`, SECRETBRIDGE_QUEUE_URL: queueUrl, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } }));
    const stdout = process.stdout.write.bind(process.stdout);
    let captured = "";
    process.stdout.write = ((chunk: string | Uint8Array) => ((captured += String(chunk)), true)) as typeof process.stdout.write;
    try {
      const request = signed(key, { changes: [{ mount: s.mount, path: "routed" }] });
      const answer = (await handler(urlEvent(request.body, request.headers), context as never)) as FunctionUrlResult;
      assert.equal(answer.statusCode, 202, answer.body);
      const pushed = (await handler(await batch(), context as never)) as LambdaSummary;
      assert.deepEqual(pushed.created, [`${s.prefix}/routed`]);
      captured = "";
      const scheduled = (await handler({ "detail-type": "Scheduled Event", source: "aws.events" }, context as never)) as LambdaSummary;
      assert.ok(!("statusCode" in scheduled));
      assert.deepEqual([...(await s.destination()).keys()].sort(), [`${s.prefix}/routed`, `${s.prefix}/unpushed`]);
    } finally {
      process.stdout.write = stdout;
      for (const k of Object.keys(process.env)) if (!(k in previous)) delete process.env[k];
      Object.assign(process.env, previous);
      peers.emitted.push(captured);
    }
  });
});
