// `secretbridge serve` under the conditions the hardening issue lists, against a real OpenBao (with
// a socket audit device pointed at the service, beside a file device) and a real moto: the first
// full sync retried until it succeeds, reconnect storms and pending-path floods bounded, forged
// pushes leaving no trace, held deletions approved through the API, `kv patch` and KV v1 writes
// pushed, the paged secrets API, and state kept across a restart.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretsCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseConfigText } from "../../src/config/load.js";
import type { Page, RunStatus, SecretStatus } from "../../src/runtime/service/control.js";
import { SyncService, type ServiceSettings } from "../../src/runtime/service/service.js";
import { signWebhook } from "../../src/runtime/webhook.js";
import { wire } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { FaultProxy } from "../helpers/fault-proxy.js";
import { assertNoCanary, canaryBook } from "../helpers/harness.js";
import { captureLogger } from "../helpers/logs.js";
import { freePort, startMoto, startOpenBaoWithAuditDevice, uniqueMount, type MotoPeer, type OpenBaoPeer } from "../helpers/peers.js";

let bao: OpenBaoPeer;
let moto: MotoPeer;
let auditPort: number;
/** canaries: values written; emitted: every log line and API body the services produced: scanned for canaries at the end. */
const { canaries, emitted, secret } = canaryBook();
const TOKEN = "test-api-token";
const HOOK_KEY = "hardening-webhook-key";

before(async () => {
  auditPort = await freePort();
  [bao, moto] = await Promise.all([startOpenBaoWithAuditDevice({ auditPort }), startMoto()]);
});
after(async () => {
  try {
    assertNoCanary(emitted, canaries);
  } finally {
    await Promise.allSettled([bao?.stop(), moto?.stop()]);
  }
});

// ---- helpers ---------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls (bounded) until `check` is true; fails with `what` otherwise. Nothing about timing is asserted. */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

const sm = () => new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 2 });

async function destValue(name: string): Promise<string | undefined> {
  try {
    return (await sm().send(new GetSecretValueCommand({ SecretId: name }))).SecretString;
  } catch {
    return undefined;
  }
}

async function destNames(prefix: string): Promise<string[]> {
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await sm().send(new ListSecretsCommand({ NextToken, MaxResults: 100 }));
    for (const s of page.SecretList ?? []) if (s.Name?.startsWith(`${prefix}/`)) names.push(s.Name);
    NextToken = page.NextToken;
  } while (NextToken);
  return names.sort();
}

/** A fresh KV mount (and a clean moto); its destination prefix. */
async function scenario(kvVersion: 1 | 2 = 2): Promise<{ mount: string; prefix: string }> {
  await moto.reset();
  const mount = uniqueMount("hd");
  await bao.mountKv(mount, kvVersion);
  return { mount, prefix: `dest-${mount}` };
}

/** Opens and closes one connection to the audit listener: a "(re)connect" as the service sees it. */
function knockAudit(): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = connect(auditPort, "127.0.0.1", () => socket.end());
    socket.on("error", () => resolve());
    socket.on("close", () => resolve());
    socket.setTimeout(2000, () => socket.destroy());
  });
}

async function put(mount: string, path: string, data: Record<string, string>, kvVersion: 1 | 2 = 2): Promise<void> {
  const res = await bao.api("POST", kvVersion === 2 ? `${mount}/data/${path}` : `${mount}/${path}`, kvVersion === 2 ? { data } : data);
  assert.ok(res.status < 300, `put ${path}: HTTP ${res.status}`);
}

interface Running {
  service: SyncService;
  url: string;
  recorder: ApiCallRecorder;
  api(path: string, init?: { method?: string; body?: unknown }): Promise<{ status: number; json: unknown; text: string }>;
  hook(changes: { mount: string; path: string }[], signed?: { timestamp: number; body: string }): Promise<{ status: number; json: unknown; timestamp: number; body: string }>;
  /** Sum of a metric's samples (those carrying `label`, e.g. `counter="changes"`, when given). */
  metric(name: string, label?: string): Promise<number>;
  fullRuns(): number;
  stop(): Promise<void>;
}

/**
 * Builds the service as `serve` does (wire(parseConfigText(yaml)), new SyncService) with small
 * intervals. `yaml` is the whole config; `awsEndpoint` puts a proxy between the service and moto.
 */
async function startService(yaml: string, options: Partial<Omit<ServiceSettings, "logger" | "recorder" | "listen" | "audit">> & { audit?: boolean; awsEndpoint?: string; waitIdle?: boolean } = {}): Promise<Running> {
  const { logger, logs } = captureLogger();
  const recorder = new ApiCallRecorder();
  const env = { ...moto.awsEnv, ...(options.awsEndpoint ? { AWS_ENDPOINT_URL: options.awsEndpoint } : {}), VAULT_TOKEN: bao.rootToken, PATH: process.env.PATH ?? "" };
  const wiring = await wire(parseConfigText(yaml), { env, recorder, logger });
  const { audit, awsEndpoint: _endpoint, waitIdle, ...rest } = options;
  const service = new SyncService({
    wiring,
    logger,
    recorder,
    listen: { host: "127.0.0.1", port: 0 },
    ...(audit ? { audit: { host: "127.0.0.1", port: auditPort } } : {}),
    apiToken: TOKEN,
    webhookSecret: HOOK_KEY,
    coalesceMs: 50,
    ...rest,
  });
  const { httpPort } = await service.start();
  const url = `http://127.0.0.1:${httpPort}`;
  if (waitIdle !== false) await service.idle();
  const api: Running["api"] = async (path, init = {}) => {
    const res = await fetch(`${url}${path}`, {
      method: init.method ?? "GET",
      headers: { authorization: `Bearer ${TOKEN}`, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    const text = await res.text();
    emitted.push(text);
    let json: unknown = undefined;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      // text answers (readyz, metrics)
    }
    return { status: res.status, json, text };
  };
  return {
    service,
    url,
    recorder,
    api,
    hook: async (changes, signed) => {
      const timestamp = signed?.timestamp ?? Math.floor(Date.now() / 1000);
      const body = signed?.body ?? JSON.stringify({ changes });
      const res = await fetch(`${url}/webhook`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "x-secretbridge-timestamp": String(timestamp), "x-secretbridge-signature": signWebhook(HOOK_KEY, timestamp, body) },
      });
      const text = await res.text();
      emitted.push(text);
      return { status: res.status, json: JSON.parse(text) as unknown, timestamp, body };
    },
    metric: async (name, label) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      emitted.push(text);
      let total = 0;
      for (const line of text.split("\n")) {
        const [series = "", value] = line.split(" ");
        const [metricName, labels = ""] = series.split("{");
        if (metricName === name && (label === undefined || labels.includes(label))) total += Number(value);
      }
      return total;
    },
    fullRuns: () => service.runs(200).filter((r) => r.kind === "full").length,
    stop: async () => {
      await service.stop();
      await wiring.close();
      emitted.push(logs());
    },
  };
}

const config = (mount: string, prefix: string, extra = "") =>
  [`name: hardening`, "source:", `  address: ${bao.url}`, `  mount: ${mount}`, "  maxAttempts: 2", "destination:", `  prefix: ${prefix}`, "  maxAttempts: 1", extra].join("\n");

const readyz = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  const text = await res.text();
  emitted.push(text);
  return { status: res.status, text };
};

// ---- the cases -------------------------------------------------------------------------------

describe("secretbridge serve, hardened", () => {
  test("the first full sync is retried with backoff until it succeeds; a later fatal run makes /readyz 503 again", async () => {
    const { mount, prefix } = await scenario();
    await put(mount, "app/one", { v: secret("retry-one") });
    const proxy = new FaultProxy(moto.url, { serverError: 1 });
    const awsEndpoint = await proxy.start();
    // No schedule: only the retry can bring the second full sync.
    const svc = await startService(config(mount, prefix), { awsEndpoint, retryDelayMs: 200, maxRetryDelayMs: 400, waitIdle: false });
    try {
      await until("/readyz names the failed class", async () => /\[destination-unavailable\]/.test((await readyz(svc.url)).text));
      const down = await readyz(svc.url);
      assert.equal(down.status, 503);
      assert.match(down.text, /^last full sync stopped: \[destination-unavailable\] /);
      assert.equal(svc.service.runs(200)[0]?.fatal?.errorClass, "destination-unavailable");
      assert.deepEqual(await destNames(prefix), [], "nothing written while AWS answers 5xx");

      proxy.setRates({});
      await until("/readyz 200 once AWS answers", async () => (await readyz(svc.url)).status === 200);
      assert.equal((await readyz(svc.url)).text, "ready");
      await svc.service.idle();
      assert.deepEqual(await destNames(prefix), [`${prefix}/app/one`]);
      const fulls = svc.service.runs(200).filter((r) => r.kind === "full");
      assert.ok(fulls.length >= 2, `${fulls.length} full runs`);
      assert.equal(fulls[0]?.fatal, undefined, "the newest full run succeeded");
      assert.ok(fulls.slice(1).every((r) => r.fatal?.errorClass === "destination-unavailable"), "every earlier one was the fatal startup sync or its retries");

      // A later full run that cannot use AWS takes readiness away again, with the reason.
      proxy.setRates({ serverError: 1 });
      svc.service.requestFull("test");
      await until("/readyz 503 again after a fatal full run", async () => (await readyz(svc.url)).status === 503);
      assert.match((await readyz(svc.url)).text, /^last full sync stopped: \[destination-unavailable\] /);
      // ... and it recovers by itself (the retry), still without a schedule.
      proxy.setRates({});
      await until("/readyz 200 after the retry", async () => (await readyz(svc.url)).status === 200);
    } finally {
      await svc.stop();
      await proxy.stop();
    }
  });

  test("reconnects converge without amplification: 100 connections in ~1 s are at most 2 full syncs", async () => {
    const { mount, prefix } = await scenario();
    await put(mount, "app/one", { v: secret("reconnect") });
    const svc = await startService(config(mount, prefix), { audit: true, fullSyncMinIntervalMs: 2000 });
    try {
      assert.equal(svc.fullRuns(), 1, "the startup full sync");
      const before = svc.fullRuns();
      for (let i = 0; i < 100; i++) {
        await knockAudit();
        await sleep(8);
      }
      // The interval's deferred full sync fires at most 2 s after the first connection.
      await sleep(2500);
      await svc.service.idle();
      const grew = svc.fullRuns() - before;
      assert.ok(grew >= 1 && grew <= 2, `${grew} full runs for 100 connections`);
      assert.ok((await svc.metric("secretbridge_full_syncs_coalesced_total")) > 0);
      assert.equal((await fetch(`${svc.url}/healthz`)).status, 200);
    } finally {
      await svc.stop();
    }
  });

  test("a full sync held back by the reconnect throttle does not hold back pushes", async () => {
    const { mount, prefix } = await scenario();
    await put(mount, "app/one", { v: secret("throttle-1") });
    const svc = await startService(config(mount, prefix), { audit: true, fullSyncMinIntervalMs: 120_000 });
    try {
      await knockAudit(); // the interval's full sync
      await sleep(300);
      await svc.service.idle();
      await knockAudit(); // the next one waits two minutes
      await sleep(300);
      await svc.service.idle();
      const targetedBefore = svc.service.runs(200).filter((r) => r.kind === "targeted").length;
      const value = { v: secret("throttle-2") };
      await put(mount, "app/one", value);
      assert.equal((await svc.hook([{ mount, path: "app/one" }])).status, 202);
      await svc.service.idle();
      assert.ok(svc.service.runs(200).filter((r) => r.kind === "targeted").length > targetedBefore, "the push ran at once");
    } finally {
      await svc.stop();
    }
  });

  test("pending cap: 50 pushed paths over maxPendingPaths 5 become one full sync, counted as an overflow", async () => {
    const { mount, prefix } = await scenario();
    await put(mount, "app/base", { v: secret("cap") });
    const svc = await startService(config(mount, prefix), { maxPendingPaths: 5, coalesceMs: 2000 });
    try {
      const runsBefore = svc.service.runs(200).length;
      const changes = Array.from({ length: 50 }, (_, i) => ({ mount, path: `flood/p${i}` }));
      const pushed = await svc.hook(changes);
      assert.equal(pushed.status, 202);
      assert.deepEqual(pushed.json, { accepted: 50 });
      const status = (await svc.api("/api/status")).json as { pending: { full: boolean; paths: number } };
      assert.deepEqual(status.pending, { full: true, paths: 0 }, "one full sync pending, not 50 paths");
      await svc.service.idle();
      const newRuns = svc.service.runs(200).slice(0, svc.service.runs(200).length - runsBefore);
      assert.deepEqual(
        newRuns.map((r) => r.kind),
        ["full"],
      );
      assert.ok((await svc.metric("secretbridge_pending_overflow_total")) >= 1);
    } finally {
      await svc.stop();
    }
  });

  test("forged paths: 200 pushed paths that do not exist leave no rows and no writes", async () => {
    const { mount, prefix } = await scenario();
    for (const name of ["a", "b", "c"]) await put(mount, `real/${name}`, { v: secret(`real-${name}`) });
    const svc = await startService(config(mount, prefix));
    try {
      const creates = svc.recorder.count("aws", "CreateSecret");
      const puts = svc.recorder.count("aws", "PutSecretValue");
      assert.equal(creates, 3);
      const forged = Array.from({ length: 200 }, (_, i) => ({ mount, path: `forged/n${i}` }));
      const pushed = await svc.hook(forged);
      assert.equal(pushed.status, 202);
      await svc.service.idle();
      const targeted = svc.service.runs(200).filter((r) => r.kind === "targeted");
      assert.equal(targeted.length, 1);
      assert.equal(targeted[0]?.paths, 200);
      assert.equal(svc.recorder.count("aws", "CreateSecret"), creates, "no CreateSecret for forged paths");
      assert.equal(svc.recorder.count("aws", "PutSecretValue"), puts, "no PutSecretValue for forged paths");
      const listed = (await svc.api("/api/secrets?pageSize=500")).json as Page<SecretStatus>;
      assert.equal(listed.total, 3, "no phantom rows");
      assert.deepEqual(listed.items.map((s) => s.path).sort(), ["real/a", "real/b", "real/c"]);
      assert.deepEqual(await destNames(prefix), ["real/a", "real/b", "real/c"].map((p) => `${prefix}/${p}`));
    } finally {
      await svc.stop();
    }
  });

  test("the webhook: an uncovered mount is 422 naming it, an invalid path 400, a replay 409; refused pushes queue nothing", async () => {
    const { mount, prefix } = await scenario();
    await put(mount, "app/one", { v: secret("hook") });
    const svc = await startService(config(mount, prefix));
    try {
      const runsBefore = svc.service.runs(200).length;
      const unknown = await svc.hook([{ mount: "not-replicated", path: "app/x" }]);
      assert.equal(unknown.status, 422);
      assert.deepEqual(unknown.json, { error: "unknown-mount", mounts: ["not-replicated"] });
      const invalid = await svc.hook([
        { mount, path: "app/one" },
        { mount, path: "app/../other" },
      ]);
      assert.equal(invalid.status, 400);
      assert.deepEqual(invalid.json, { error: "invalid-path", paths: [{ path: "app/../other", problem: 'the path has a ".." segment' }] });
      // Half a character: valid JSON, signed, but no request can carry it.
      const surrogate = await svc.hook([
        { mount, path: "app/one" },
        { mount, path: "app/x\ud800" },
      ]);
      assert.equal(surrogate.status, 400);
      assert.deepEqual(surrogate.json, { error: "invalid-path", paths: [{ path: "app/x\\ud800", problem: "the path contains a lone UTF-16 surrogate (half of a character), which no request can carry" }] });
      await svc.service.idle();
      assert.equal(svc.service.runs(200).length, runsBefore, "a refused push queues nothing, not even its valid changes");

      const accepted = await svc.hook([{ mount, path: "app/one" }]);
      assert.equal(accepted.status, 202);
      const replay = await svc.hook([], { timestamp: accepted.timestamp, body: accepted.body });
      assert.equal(replay.status, 409);
      await svc.service.idle();
      assert.deepEqual(
        svc.service.runs(200).slice(0, svc.service.runs(200).length - runsBefore).map((r) => r.kind),
        ["targeted"],
        "one targeted run: the accepted request, not its replay",
      );
    } finally {
      await svc.stop();
    }
  });

  test("held deletions are approved through the API: exactly the held set is deleted; another id is refused", async () => {
    const { mount, prefix } = await scenario();
    const paths = ["app/s0", "app/s1", "app/s2", "app/s3", "app/s4"];
    for (const p of paths) await put(mount, p, { v: secret(p) });
    const svc = await startService(config(mount, prefix, "policies:\n  deletion:\n    strategy: delete\n"));
    try {
      assert.equal((await destNames(prefix)).length, 5);
      for (const p of paths.slice(0, 3)) assert.ok((await bao.api("DELETE", `${mount}/metadata/${p}`)).status < 300);
      svc.service.requestFull("test");
      await svc.service.idle();
      const gone = paths.slice(0, 3).map((p) => `${prefix}/${p}`);
      const status = (await svc.api("/api/status")).json as { held?: { id: string; names: string[]; reason: string } };
      assert.ok(status.held, "3 of 5 is over the blast radius: held");
      assert.deepEqual(status.held.names, gone);
      assert.match(status.held.id, /^[0-9a-f]{16}$/);
      const heldRows = (await svc.api("/api/secrets?state=held")).json as Page<SecretStatus>;
      assert.deepEqual(heldRows.items.map((s) => s.name).sort(), gone);
      for (const name of gone) assert.equal((await sm().send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate, undefined, `${name} held, not deleted`);

      const other = await svc.api("/api/deletions/approve", { method: "POST", body: { id: "0123456789abcdef" } });
      assert.equal(other.status, 409, "a different set is held");
      const approved = await svc.api("/api/deletions/approve", { method: "POST", body: { id: status.held.id } });
      assert.equal(approved.status, 200);
      assert.deepEqual(approved.json, { approved: true });
      await svc.service.idle();
      for (const name of gone) assert.ok((await sm().send(new DescribeSecretCommand({ SecretId: name }))).DeletedDate, `${name} scheduled for deletion`);
      for (const p of paths.slice(3)) assert.equal((await sm().send(new DescribeSecretCommand({ SecretId: `${prefix}/${p}` }))).DeletedDate, undefined, `${p} kept`);
      const after = (await svc.api("/api/status")).json as { held?: unknown };
      assert.equal(after.held, undefined, "nothing held any more");
      const again = await svc.api("/api/deletions/approve", { method: "POST", body: { id: status.held.id } });
      assert.equal(again.status, 404, "the approved set is gone: nothing is held");
    } finally {
      await svc.stop();
    }
  });

  test("one deletion in ten (within blastRadius.minCount) is deleted without approval", async () => {
    const { mount, prefix } = await scenario();
    const paths = Array.from({ length: 10 }, (_, i) => `app/s${i}`);
    for (const p of paths) await put(mount, p, { v: secret(p) });
    const svc = await startService(config(mount, prefix, "policies:\n  deletion:\n    strategy: delete\n"));
    try {
      assert.equal((await destNames(prefix)).length, 10);
      assert.ok((await bao.api("DELETE", `${mount}/metadata/app/s7`)).status < 300);
      svc.service.requestFull("test");
      await svc.service.idle();
      assert.ok((await sm().send(new DescribeSecretCommand({ SecretId: `${prefix}/app/s7` }))).DeletedDate, "deleted without approval");
      const status = (await svc.api("/api/status")).json as { held?: unknown };
      assert.equal(status.held, undefined);
      assert.equal(svc.service.runs(1)[0]?.counts.delete, 1);
    } finally {
      await svc.stop();
    }
  });

  test("`kv patch` and a KV v1 write reach AWS through the audit stream, without a full sync", async () => {
    await moto.reset();
    const kv2 = uniqueMount("hd2");
    const kv1 = uniqueMount("hd1");
    await bao.mountKv(kv2, 2);
    await bao.mountKv(kv1, 1);
    const original = secret("patch-a");
    await put(kv2, "app/patched", { a: original });
    await put(kv1, "app/v1", { k: secret("v1-before") }, 1);
    const yaml = [
      "name: hardening",
      "source:",
      `  address: ${bao.url}`,
      "destination:",
      "  maxAttempts: 1",
      "mappings:",
      `  - mount: ${kv2}`,
      `    prefix: p2-${kv2}`,
      `  - mount: ${kv1}`,
      `    prefix: p1-${kv1}`,
    ].join("\n");
    const svc = await startService(yaml, { audit: true });
    try {
      assert.equal(await destValue(`p1-${kv1}/app/v1`), JSON.stringify({ k: canaries.at(-1) }), "the startup full sync covers the KV v1 mount");
      // OpenBao's socket device reconnects on its next write: write until the listener sees one.
      await until(
        "OpenBao's audit device connected to the service",
        async () => {
          await put(kv2, "warm/up", { v: "warm" });
          await sleep(200);
          return (await svc.metric("secretbridge_audit_stream", 'counter="changes"')) > 0;
        },
        20_000,
      );
      await until("the reconnect's full sync and the warm-up are done", async () => (await destValue(`p2-${kv2}/warm/up`)) !== undefined);
      await svc.service.idle();
      const fulls = svc.fullRuns();

      const added = secret("patch-b");
      const patch = await fetch(`${bao.url}/v1/${kv2}/data/app/patched`, {
        method: "PATCH",
        headers: { "X-Vault-Token": bao.rootToken, "Content-Type": "application/merge-patch+json" },
        body: JSON.stringify({ data: { b: added } }),
      });
      assert.equal(patch.status, 200, `kv patch: HTTP ${patch.status}`);
      await until("the patched value in AWS", async () => (await destValue(`p2-${kv2}/app/patched`)) === JSON.stringify({ a: original, b: added }));

      const v1 = { k: secret("v1-after") };
      await put(kv1, "app/v1", v1, 1);
      await until("the KV v1 write in AWS", async () => (await destValue(`p1-${kv1}/app/v1`)) === JSON.stringify(v1));
      await svc.service.idle();
      assert.equal(svc.fullRuns(), fulls, "both arrived by targeted syncs");
      assert.ok(svc.service.runs(200).filter((r) => r.kind === "targeted" && r.counts.update >= 1).length >= 2);
    } finally {
      await svc.stop();
    }
  });

  test("a KV v1 mount the service could not reach at start is still pushed once it can be read", async () => {
    await moto.reset();
    const kv1 = uniqueMount("hd1");
    await bao.mountKv(kv1, 1);
    await put(kv1, "app/v1", { k: secret("late-before") }, 1);
    // OpenBao answers 5xx through the proxy at start: the KV version cannot be detected then.
    const proxy = new FaultProxy(bao.url, { serverError: 1 });
    const vaultUrl = await proxy.start();
    const yaml = ["name: hardening", "source:", `  address: ${vaultUrl}`, `  mount: ${kv1}`, "  maxAttempts: 1", "destination:", `  prefix: ${kv1}`, "  maxAttempts: 1"].join("\n");
    const svc = await startService(yaml, { audit: true, retryDelayMs: 200, maxRetryDelayMs: 400, waitIdle: false });
    try {
      await until("/readyz names the source's class", async () => /\[source-[a-z]+\]/.test((await readyz(svc.url)).text));
      proxy.setRates({});
      await until("/readyz 200 once OpenBao answers", async () => (await readyz(svc.url)).status === 200);
      await until(
        "OpenBao's audit device connected to the service",
        async () => {
          await put(kv1, "warm/up", { v: "warm" }, 1);
          await sleep(200);
          return (await svc.metric("secretbridge_audit_stream", 'counter="linesSeen"')) > 0;
        },
        20_000,
      );
      await svc.service.idle();
      const fulls = svc.fullRuns();
      const after = { k: secret("late-after") };
      await put(kv1, "app/v1", after, 1);
      await until("the KV v1 write in AWS", async () => (await destValue(`${kv1}/app/v1`)) === JSON.stringify(after));
      await svc.service.idle();
      assert.equal(svc.fullRuns(), fulls, "it arrived by a targeted sync");
    } finally {
      await svc.stop();
      await proxy.stop();
    }
  });

  test("/api/status lists no secrets; /api/secrets pages, filters by name and state, and shows a failure's class and message", async () => {
    const { mount, prefix } = await scenario();
    const names = ["one", "two", "three", "four", "five"];
    for (const n of names) await put(mount, `app/${n}`, { v: secret(n) });
    // An unmanaged secret already at app/three's name: conflict-unmanaged (onConflict: fail).
    await sm().send(new CreateSecretCommand({ Name: `${prefix}/app/three`, SecretString: secret("unmanaged") }));
    const svc = await startService(config(mount, prefix));
    try {
      const status = await svc.api("/api/status");
      assert.equal(status.status, 200);
      const body = status.json as { secrets?: unknown; runs: RunStatus[] };
      assert.deepEqual(body.secrets, { "in-sync": 4, pending: 0, failed: 0, drifted: 0, conflict: 1, held: 0 }, "counts by state, never a list");
      assert.doesNotMatch(status.text, /app\/one|app\/five/, "no secret listed in the overview");
      const failures = body.runs[0]?.failures ?? [];
      assert.deepEqual(
        failures.map((f) => [f.path, f.destinationName, f.errorClass]),
        [["app/three", `${prefix}/app/three`, "conflict-unmanaged"]],
      );
      assert.ok(failures[0]?.message);

      const seen: string[] = [];
      for (const page of [1, 2, 3]) {
        const p = (await svc.api(`/api/secrets?pageSize=2&page=${page}`)).json as Page<SecretStatus>;
        assert.equal(p.total, 5);
        assert.equal(p.page, page);
        assert.equal(p.pageSize, 2);
        assert.equal(p.items.length, page < 3 ? 2 : 1);
        seen.push(...p.items.map((s) => s.name));
      }
      assert.deepEqual(seen.sort(), names.map((n) => `${prefix}/app/${n}`).sort(), "3 pages, each secret once");
      const past = (await svc.api("/api/secrets?pageSize=2&page=4")).json as Page<SecretStatus>;
      assert.deepEqual(past.items, []);

      const byName = (await svc.api("/api/secrets?filter=TWO")).json as Page<SecretStatus>;
      assert.deepEqual(
        byName.items.map((s) => s.name),
        [`${prefix}/app/two`],
      );
      assert.equal(byName.total, 1);
      const inSync = (await svc.api("/api/secrets?state=in-sync")).json as Page<SecretStatus>;
      assert.equal(inSync.total, 4);
      const conflict = (await svc.api("/api/secrets?state=conflict")).json as Page<SecretStatus>;
      assert.equal(conflict.total, 1);
      const row = conflict.items[0];
      assert.equal(row?.name, `${prefix}/app/three`);
      assert.equal(row?.errorClass, "conflict-unmanaged");
      assert.ok(row?.message && row.message.length > 0);
      assert.equal((await svc.api("/api/secrets?state=bogus")).status, 400);
      assert.equal((await svc.api("/api/secrets?pageSize=0")).status, 400);
    } finally {
      await svc.stop();
    }
  });

  test("state survives a restart: the new service lists the earlier runs before its own first run finishes", async () => {
    const { mount, prefix } = await scenario();
    await put(mount, "app/kept", { v: secret("kept") });
    const stateDir = mkdtempSync(join(tmpdir(), "sb-state-"));
    const first = await startService(config(mount, prefix), { stateDir });
    let earlier: string[] = [];
    try {
      first.service.requestFull("test");
      await first.service.idle();
      earlier = first.service.runs(200).map((r) => r.runId);
      assert.equal(earlier.length, 2);
    } finally {
      await first.stop();
    }
    const second = await startService(config(mount, prefix), { stateDir, coalesceMs: 1000, waitIdle: false });
    try {
      const listed = (await second.api("/api/runs?limit=200")).json as RunStatus[];
      assert.deepEqual(
        listed.map((r) => r.runId),
        earlier,
        "the earlier runs, newest first, and nothing of the new service yet",
      );
      const rows = (await second.api("/api/secrets")).json as Page<SecretStatus>;
      assert.deepEqual(
        rows.items.map((s) => [s.name, s.state]),
        [[`${prefix}/app/kept`, "in-sync"]],
      );
      await second.service.idle();
      const after = (await second.api("/api/runs?limit=200")).json as RunStatus[];
      assert.equal(after.length, earlier.length + 1);
      assert.deepEqual(
        after.slice(1).map((r) => r.runId),
        earlier,
      );
    } finally {
      await second.stop();
    }
  });
});
