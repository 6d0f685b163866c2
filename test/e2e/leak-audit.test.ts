// Leak audit: the whole CLI, Lambda and service flows run over secrets holding canary values,
// including the paths that fail (oversized, unrenderable, throttled writes, drift, a refused
// webhook); every byte they emit is scanned for the canaries, raw, JSON-escaped and base64.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { parseConfigText } from "../../src/config/load.js";
import { consumeBatch, handlePush, runLambda } from "../../src/runtime/lambda/handler.js";
import { signWebhook } from "../../src/runtime/webhook.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { wire } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { Peers, webhookReceiver } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";

let peers: Peers;
before(async () => {
  peers = await Peers.start();
});
after(async () => {
  await peers.stop();
});

test("no canary in anything the CLI, the Lambda handler or the service emits", async () => {
  const s = await peers.scenario();
  const canaries = peers.canaries;
  await s.put("app/db", { password: peers.secret("db"), user: "app" });
  await s.put("app/huge", { blob: peers.secret("huge") + "x".repeat(70_000) });
  await s.put("app/bad name", { v: peers.secret("badname") });
  await s.put("app/nested", { v: { deep: peers.secret("nested") } as unknown as string });
  await s.put("app/drifted", { v: peers.secret("drift") });
  const token = await s.readOnlyToken();
  const emitted: string[] = [];

  // Notifications: an SNS topic read back through SQS, and a webhook receiver.
  const topic = await peers.snsCapture();
  const hook = await webhookReceiver();
  const hooks = hook.received;
  const hookUrl = hook.url;
  const notifications = `notifications:\n  webhook: { url: "${hookUrl}" }\n  sns: { topicArn: "${topic.topicArn}" }\n`;

  try {
    // CLI: plan, sync (table and JSON), verify, a drift report, a string shape that cannot render.
    const config = s.writeConfig({ yaml: notifications });
    for (const args of [["plan", "-c", config], ["plan", "-c", config, "--json"], ["sync", "-c", config], ["sync", "-c", config, "--json"], ["verify", "-c", config], ["verify", "-c", config, "--json"]]) {
      await s.cli(args, token);
    }
    await peers.sm().send(new PutSecretValueCommand({ SecretId: `${s.prefix}/app/drifted`, SecretString: peers.secret("outside") }));
    await s.cli(["sync", "-c", s.writeConfig({ yaml: `${notifications}policies:\n  drift: report\n` })], token);
    await s.cli(["sync", "-c", s.writeConfig({ yaml: "  valueShape: string\n  valueKey: v\n" })], token);
    // Throttled writes: the SDK's error objects and messages.
    const throttling = new FaultProxy(peers.moto.url, { throttle: 1, only: (req) => String(req.headers["x-amz-target"]).endsWith("PutSecretValue") });
    const throttled = await throttling.start();
    await s.put("app/db", { password: peers.secret("db2"), user: "app" });
    await s.cli(["sync", "-c", s.writeConfig({ yaml: notifications })], token, { AWS_ENDPOINT_URL: throttled });
    await throttling.stop();

    // Lambda: the CLI's config file, the connection secret, its logs and summary; then a signed
    // push through the function URL handler.
    await peers.sm().send(new CreateSecretCommand({ Name: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: token }) }));
    await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}-conn/webhook-key`, SecretString: "leak-audit-webhook-signing-key-0123456789" }));
    const lambdaEnv = s.lambdaEnv({ config: s.writeConfig({ yaml: notifications }), env: { WEBHOOK_SECRET_NAME: `${s.prefix}-conn/webhook-key` } });
    const lambdaLog = captureLogger();
    const summary = await runLambda({ getRemainingTimeInMillis: () => 300_000 }, { env: lambdaEnv, secretsManager: peers.sm(), logger: lambdaLog.logger });
    assert.notEqual(summary.runId, "setup", JSON.stringify(summary.fatal));
    const queue = await peers.runQueue();
    const pushBody = JSON.stringify({ changes: [{ mount: s.mount, path: "app/db" }] });
    const ts = Math.floor(Date.now() / 1000);
    const pushed = await handlePush(
      {
        version: "2.0",
        rawPath: "/webhook",
        headers: { "x-secretbridge-timestamp": String(ts), "x-secretbridge-signature": signWebhook("leak-audit-webhook-signing-key-0123456789", ts, pushBody) },
        requestContext: { http: { method: "POST" } },
        body: pushBody,
        isBase64Encoded: false,
      } as never,
      { env: { ...lambdaEnv, SECRETBRIDGE_QUEUE_URL: queue.url }, secretsManager: peers.sm(), sqs: queue.sqs, logger: lambdaLog.logger },
    );
    assert.equal(pushed.statusCode, 202, pushed.body);
    const worked = await consumeBatch(await queue.batch(), { getRemainingTimeInMillis: () => 300_000 }, { env: lambdaEnv, secretsManager: peers.sm(), logger: lambdaLog.logger });
    assert.equal(worked?.exitCode, 0, JSON.stringify(worked));
    emitted.push(lambdaLog.logs(), JSON.stringify(summary), pushed.body, JSON.stringify(worked));

    // Service: status API, page, metrics, a refused webhook, logs.
    const serviceLog = captureLogger();
    const recorder = new ApiCallRecorder();
    const wiring = await wire(parseConfigText(`name: it\nsource:\n  address: ${peers.bao.url}\n  mount: ${s.mount}\ndestination:\n  prefix: ${s.prefix}\n`), {
      env: { ...peers.moto.awsEnv, VAULT_TOKEN: token, PATH: process.env.PATH ?? "" },
      recorder,
    });
    const service = new SyncService({
      wiring,
      recorder,
      logger: serviceLog.logger,
      listen: { host: "127.0.0.1", port: 0 },
      apiToken: "leak-token",
      webhookSecret: "leak-hook",
    });
    const url = `http://127.0.0.1:${(await service.start()).httpPort}`;
    await service.idle();
    const auth = { authorization: "Bearer leak-token" };
    for (const path of ["/", "/metrics", "/healthz", "/readyz"]) emitted.push(await (await fetch(url + path)).text());
    emitted.push(await (await fetch(`${url}/api/status`, { headers: auth })).text());
    emitted.push(await (await fetch(`${url}/webhook`, { method: "POST", body: JSON.stringify({ changes: [{ mount: s.mount, path: "app/db" }] }) })).text());
    await service.stop();
    await wiring.close();
    emitted.push(serviceLog.logs());

    // Notifications as delivered.
    const published = await topic.messages();
    assert.ok(published.length >= 1, "SNS notices were delivered");
    assert.ok(hooks.length >= 1, "webhook notices were delivered");
    emitted.push(...published, ...hooks, ...peers.emitted);

    assert.equal(canaries.length, 7);
    assert.ok(emitted.join("").length > 20_000, "there is a lot of output to scan");
    peers.assertNoLeaks();
    const { assertNoCanary } = await import("../helpers/harness.js");
    assertNoCanary(emitted, canaries);
    // And the check itself works: a canary planted in the output is caught.
    assert.throws(() => assertNoCanary([...emitted, `...${Buffer.from(canaries[0] ?? "").toString("base64")}...`], canaries), /secret material leaked/);
  } finally {
    await hook.close();
  }
});
