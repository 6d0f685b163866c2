// Push without a server: function URL events, signed as `serve`'s /webhook expects, handed to the
// Lambda's handler against real OpenBao and moto. Forged, replayed, malformed and hostile requests
// are refused before anything is read or written.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import type { LambdaFunctionURLEvent } from "aws-lambda";
import { handlePush, handler, resetPushState, type FunctionUrlResult } from "../../src/runtime/lambda/handler.js";
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
  push(event: LambdaFunctionURLEvent, env?: Record<string, string>): Promise<FunctionUrlResult & { json: Record<string, unknown> }>;
}

async function rig(): Promise<PushRig> {
  const s = await peers.scenario();
  await peers.sm().send(new CreateSecretCommand({ Name: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }));
  const key = peers.secret("webhook-key-0123456789abcdef0123456789");
  await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}-conn/webhook-signing-key`, SecretString: key }));
  const push = async (event: LambdaFunctionURLEvent, env: Record<string, string> = {}) => {
    const { logger, logs } = captureLogger(REDACTING_LOGGER);
    const result = await handlePush(event, context, { env: s.lambdaEnv({ env: { WEBHOOK_SECRET_NAME: `${s.prefix}-conn/webhook-signing-key`, ...env } }), logger, secretsManager: peers.sm() });
    peers.emitted.push(logs(), result.body);
    return { ...result, json: JSON.parse(result.body) as Record<string, unknown> };
  };
  return { s, key, push };
}

describe("function URL push", () => {
  beforeEach(() => resetPushState());

  test("a signed push syncs exactly the named secret; a replay is refused; a new signature of the same body is accepted", async () => {
    const { s, key, push } = await rig();
    const db = peers.secret("push-db");
    await s.put("app/db", { password: db });
    await s.put("app/other", { password: peers.secret("push-other") });
    const request = signed(key, { changes: [{ mount: s.mount, path: "app/db" }] });
    const first = await push(urlEvent(request.body, request.headers));
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json.accepted, 1);
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/app/db`]);
    assert.equal(await s.value("app/db"), JSON.stringify({ password: db }));

    const replay = await push(urlEvent(request.body, request.headers));
    assert.equal(replay.statusCode, 409);
    assert.equal(replay.json.error, "this signed request was already accepted");

    await s.put("app/db", { password: peers.secret("push-db-2") });
    const again = signed(key, { changes: [{ mount: s.mount, path: "app/db" }] }, now() + 1);
    const second = await push(urlEvent(again.body, again.headers));
    assert.equal(second.statusCode, 200, second.body);
    assert.equal(await s.versionCount("app/db"), 2);
  });

  test("forged and stale requests are refused with nothing read or written", async () => {
    const { s, key, push } = await rig();
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
    assert.equal((await s.destination()).size, 0);
  });

  test("a hostile corpus gets clear refusals, and the function keeps answering", async () => {
    const { s, key, push } = await rig();
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
    assert.equal((await s.destination()).size, 0, "nothing written by any refused request");

    // Without a configured signing secret there is no push endpoint at all.
    const request = sign({ changes: [{ mount: s.mount, path: "ok" }] });
    const none = await push(urlEvent(request.body, request.headers), { WEBHOOK_SECRET_NAME: "" });
    assert.equal(none.statusCode, 404);

    // Out of every mapping's scope: accepted, nothing to do. Then a base64 body with mixed-case headers works.
    const outside = s.writeConfig({ name: "lambda", sourceYaml: "  include: ['app/**']" });
    const skipped = await push(urlEvent(request.body, request.headers), { SECRETBRIDGE_CONFIG: outside });
    assert.equal(skipped.statusCode, 202, skipped.body);
    assert.equal(skipped.json.accepted, 0);
    const b64 = signed(key, { changes: [{ mount: s.mount, path: "ok" }] }, now() + 1);
    const mixed = Object.fromEntries(Object.entries(b64.headers).map(([k, v]) => [k.toUpperCase(), v]));
    const fine = await push(urlEvent(b64.body, mixed, { base64: true }));
    assert.equal(fine.statusCode, 200, fine.body);
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/ok`]);
  });

  test("a push whose run fails answers 500, and the next scheduled run picks the change up", async () => {
    const { s, key, push } = await rig();
    await s.put("late", { v: peers.secret("late") });
    const token = await s.readOnlyToken();
    await peers.bao.api("POST", "auth/token/revoke", { token });
    await peers.sm().send(new PutSecretValueCommand({ SecretId: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: token }) }));
    const request = signed(key, { changes: [{ mount: s.mount, path: "late" }] });
    const failed = await push(urlEvent(request.body, request.headers));
    assert.equal(failed.statusCode, 500, failed.body);
    assert.match(failed.body, /the next scheduled run picks these changes up/);
    assert.equal((await s.destination()).size, 0);

    await peers.sm().send(new PutSecretValueCommand({ SecretId: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }));
    const scheduled = await s.lambda();
    assert.deepEqual(scheduled.summary.created, [`${s.prefix}/late`]);
  });

  test("the entry point routes a function URL event to the push path and anything else to a full sync", async () => {
    const { s, key } = await rig();
    await s.put("routed", { v: peers.secret("routed") });
    await s.put("unpushed", { v: peers.secret("unpushed") });
    const previous = { ...process.env };
    Object.assign(process.env, s.lambdaEnv({ env: { WEBHOOK_SECRET_NAME: `${s.prefix}-conn/webhook-signing-key`, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } }));
    const stdout = process.stdout.write.bind(process.stdout);
    let captured = "";
    process.stdout.write = ((chunk: string | Uint8Array) => ((captured += String(chunk)), true)) as typeof process.stdout.write;
    try {
      const request = signed(key, { changes: [{ mount: s.mount, path: "routed" }] });
      const answer = (await handler(urlEvent(request.body, request.headers), context as never)) as FunctionUrlResult;
      assert.equal(answer.statusCode, 200, answer.body);
      assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/routed`]);
      captured = "";
      const scheduled = await handler({ "detail-type": "Scheduled Event", source: "aws.events" }, context as never);
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
