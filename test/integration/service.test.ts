// `secretbridge serve` against a real OpenBao with a socket audit device declared in its config
// file (beside a file device, as operators must) and a real moto: pushes reach AWS without a
// scheduled run, bursts coalesce, the webhook refuses what it must, and a restart converges.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { signWebhook } from "../../src/runtime/webhook.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { wire, type Wiring } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { assertNoCanary, canaryBook } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";
import { freePort, startMoto, startOpenBaoWithAuditDevice, type MotoPeer, type OpenBaoPeer } from "../helpers/peers.js";

let bao: OpenBaoPeer;
let moto: MotoPeer;
let auditPort: number;
const { canaries, emitted, secret } = canaryBook();
const MOUNT = "pushed";
const PREFIX = "push-dest";

before(async () => {
  auditPort = await freePort();
  [bao, moto] = await Promise.all([startOpenBaoWithAuditDevice({ auditPort }), startMoto()]);
  await bao.mountKv(MOUNT);
});
after(async () => {
  try {
    assertNoCanary(emitted, canaries);
  } finally {
    await Promise.allSettled([bao.stop(), moto.stop()]);
  }
});

async function startService(options: { audit?: boolean; webhookSecret?: string } = {}) {
  const { logger, logs } = captureLogger();
  const config = parseConfigText(`name: svc\nsource:\n  address: ${bao.url}\n  mount: ${MOUNT}\ndestination:\n  prefix: ${PREFIX}\n`);
  const recorder = new ApiCallRecorder();
  const wiring: Wiring = await wire(config, { env: { ...moto.awsEnv, VAULT_TOKEN: bao.rootToken, PATH: process.env.PATH ?? "" }, recorder });
  const service = new SyncService({
    wiring,
    logger,
    recorder,
    listen: { host: "127.0.0.1", port: 0 },
    ...(options.audit === false ? {} : { audit: { host: "127.0.0.1", port: auditPort } }),
    apiToken: "test-api-token",
    ...(options.webhookSecret ? { webhookSecret: options.webhookSecret } : {}),
    coalesceMs: 100,
  });
  const { httpPort } = await service.start();
  await service.idle();
  const url = `http://127.0.0.1:${httpPort}`;
  return {
    service,
    url,
    logs,
    stop: async () => {
      await service.stop();
      await wiring.close();
      emitted.push(logs());
    },
  };
}

const { GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
const sm = () => new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
async function destValue(path: string): Promise<string | undefined> {
  try {
    return (await sm().send(new GetSecretValueCommand({ SecretId: `${PREFIX}/${path}` }))).SecretString;
  } catch {
    return undefined;
  }
}
/** Polls (bounded) until the destination holds the expected value. No timing is asserted. */
async function eventually(path: string, expected: string, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await destValue(path)) === expected) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
const put = (path: string, data: Record<string, string>) => bao.api("POST", `${MOUNT}/data/${path}`, { data });

describe("secretbridge serve", () => {
  test("a kv put reaches AWS through the audit stream, without a full sync", async () => {
    await moto.reset();
    await put("app/db", { pw: secret("v1") });
    const svc = await startService();
    try {
      assert.ok(await eventually("app/db", JSON.stringify({ pw: canaries.at(-1) })), "startup full sync");
      const fullRuns = svc.service.runs().filter((r) => r.kind === "full").length;
      const v2 = { pw: secret("v2") };
      await put("app/db", v2);
      assert.ok(await eventually("app/db", JSON.stringify(v2)), "pushed change");
      await svc.service.idle();
      assert.equal(svc.service.runs().filter((r) => r.kind === "full").length, fullRuns, "no full sync was needed");
      assert.ok(svc.service.runs().some((r) => r.kind === "targeted" && r.counts.update === 1));

      // A burst of writes to one path coalesces into fewer targeted syncs than writes.
      const before = svc.service.runs().length;
      let last = "";
      for (let i = 0; i < 15; i++) {
        last = secret(`burst${i}`);
        await put("app/burst", { v: last });
      }
      assert.ok(await eventually("app/burst", JSON.stringify({ v: last })));
      await svc.service.idle();
      const burstRuns = svc.service.runs().length - before;
      assert.ok(burstRuns >= 1 && burstRuns < 15, `${burstRuns} runs for 15 writes`);

      // Health, readiness, metrics, status.
      assert.equal((await fetch(`${svc.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${svc.url}/readyz`)).status, 200);
      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      assert.match(metrics, /secretbridge_runs_total\{kind="targeted",outcome="ok",target="default"\} \d+/);
      assert.match(metrics, /secretbridge_api_calls_total\{provider="aws",operation="PutSecretValue",status="200"\} \d+/);
      assert.match(metrics, /secretbridge_replication_lag_seconds_count \d+/);
      assert.equal((await fetch(`${svc.url}/api/status`)).status, 401);
      const auth = { headers: { authorization: "Bearer test-api-token" } };
      const status = (await (await fetch(`${svc.url}/api/status`, auth)).json()) as { ready: boolean; secrets?: Record<string, number> };
      assert.equal(status.ready, true);
      assert.deepEqual(Object.keys(status.secrets ?? {}), ["in-sync", "pending", "failed", "drifted", "conflict", "held"], "secrets are counted here, paged through /api/secrets, never listed in the status");
      const page = (await (await fetch(`${svc.url}/api/secrets?filter=${encodeURIComponent("app/db")}`, auth)).json()) as { items: { name: string; state: string; version?: string }[] };
      const row = page.items.find((r) => r.name === `${PREFIX}/app/db`);
      assert.deepEqual([row?.state, row?.version], ["in-sync", "2"]);
      emitted.push(metrics, JSON.stringify(status));
    } finally {
      await svc.stop();
    }
  });

  test("writes while the service is down are not lost: the restart's full sync converges", async () => {
    const missed = { v: secret("missed") };
    await put("app/missed", missed);
    const svc = await startService();
    try {
      assert.equal(await destValue("app/missed"), JSON.stringify(missed));
    } finally {
      await svc.stop();
    }
  });

  test("the webhook refuses bad signatures, old timestamps and huge bodies; a signed one syncs the path", async () => {
    const key = "webhook-shared-secret";
    const svc = await startService({ audit: false, webhookSecret: key });
    try {
      const post = (body: string, headers: Record<string, string>) => fetch(`${svc.url}/webhook`, { method: "POST", body, headers });
      const now = Math.floor(Date.now() / 1000);
      const body = JSON.stringify({ changes: [{ mount: MOUNT, path: "app/hooked" }] });
      assert.equal((await post(body, { "x-secretbridge-timestamp": String(now), "x-secretbridge-signature": "sha256=00" })).status, 401);
      assert.equal((await post(body, { "x-secretbridge-timestamp": String(now - 3600), "x-secretbridge-signature": signWebhook(key, now - 3600, body) })).status, 401);
      const huge = "x".repeat(100_000);
      assert.equal((await post(huge, { "x-secretbridge-timestamp": String(now), "x-secretbridge-signature": signWebhook(key, now, huge) })).status, 413);
      const runsBefore = svc.service.runs().length;
      await svc.service.idle();
      assert.equal(svc.service.runs().length, runsBefore, "nothing synced for refused requests");

      const hooked = { v: secret("hooked") };
      await put("app/hooked", hooked);
      const ok = await post(body, { "x-secretbridge-timestamp": String(now), "x-secretbridge-signature": signWebhook(key, now, body) });
      assert.equal(ok.status, 202);
      assert.ok(await eventually("app/hooked", JSON.stringify(hooked)));
      const listed = await sm().send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: [`${PREFIX}/`] }] }));
      assert.ok((listed.SecretList ?? []).length >= 3);
    } finally {
      await svc.stop();
    }
  });
});
