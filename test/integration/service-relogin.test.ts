// `secretbridge serve` with AppRole auth whose tokens live 12 s at most (5 s TTL): the service
// keeps replicating through three max-TTL periods, because the wiring's token keeper logs in
// again and every source request reads its current token. Before logins were redone, every run
// after the first max TTL exited 2 until the process restarted.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseConfigText } from "../../src/config/load.js";
import { SyncService } from "../../src/runtime/service/service.js";
import { wire } from "../../src/runtime/wire.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { assertNoCanary } from "../helpers/harness.js";
import { approleConfigText } from "../helpers/approle-config.js";
import { captureLogger } from "../helpers/logs.js";
import { canary, startMoto, startOpenBao, type MotoPeer, type OpenBaoPeer } from "../helpers/peers.js";

let bao: OpenBaoPeer;
let moto: MotoPeer;
const MOUNT = "rotating";
const PREFIX = "relogin-svc";
const canaries: string[] = [];
const emitted: string[] = [];

before(async () => {
  [bao, moto] = await Promise.all([startOpenBao(), startMoto()]);
  await bao.mountKv(MOUNT);
  await bao.api("PUT", "sys/policies/acl/replicator", {
    policy: `path "${MOUNT}/*" { capabilities = ["read", "list", "scan"] }\npath "sys/internal/ui/mounts/*" { capabilities = ["read"] }`,
  });
  await bao.api("POST", "sys/auth/approle", { type: "approle" });
  const created = await bao.api("POST", "auth/approle/role/replicator", { token_policies: ["replicator"], token_ttl: "5s", token_max_ttl: "12s", secret_id_num_uses: 0 });
  assert.equal(created.status, 204);
});
after(async () => {
  try {
    assertNoCanary(emitted, canaries);
  } finally {
    await Promise.allSettled([bao.stop(), moto.stop()]);
  }
});

async function destValue(path: string): Promise<string | undefined> {
  const client = new SecretsManagerClient({ endpoint: moto.url, region: "us-east-1", credentials: { accessKeyId: "testing", secretAccessKey: "testing" } });
  try {
    return (await client.send(new GetSecretValueCommand({ SecretId: `${PREFIX}/${path}` }))).SecretString;
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

/** Waits for `promise`, at most `ms`: every wait in this test is bounded. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe("secretbridge serve with AppRole", () => {
  test("replication keeps working through three max-TTL periods: the service logs in again, no run exits 2", async () => {
    const roleId = ((await bao.api("GET", "auth/approle/role/replicator/role-id")).json as { data: { role_id: string } }).data.role_id;
    const secretId = ((await bao.api("POST", "auth/approle/role/replicator/secret-id")).json as { data: { secret_id: string } }).data.secret_id;
    canaries.push(secretId);
    const secretIdFile = join(mkdtempSync(join(tmpdir(), "sb-secret-id-")), "secret-id");
    writeFileSync(secretIdFile, secretId);
    const put = async (value: string) => {
      canaries.push(value);
      assert.equal((await bao.api("POST", `${MOUNT}/data/app/db`, { data: { pw: value } })).status, 200);
    };
    await put(canary("start"));

    const { logger, logs } = captureLogger();
    const config = parseConfigText(
      approleConfigText({ name: "relogin-svc", address: bao.url, mount: MOUNT, roleId, secretIdFile, prefix: PREFIX }),
    );
    const recorder = new ApiCallRecorder();
    const wiring = await wire(config, { env: { ...moto.awsEnv, PATH: process.env.PATH ?? "" }, recorder, logger });
    const service = new SyncService({ wiring, logger, recorder, listen: { host: "127.0.0.1", port: 0 }, apiToken: "test-api-token", coalesceMs: 50 });
    try {
      await service.start();
      await within(15_000, "startup sync", service.idle());

      // A new value and a full sync every 3 s for three max-TTL periods (36 s) and a bit.
      let last = "";
      const end = Date.now() + 37_000;
      while (Date.now() < end) {
        last = canary("rotated");
        await put(last);
        service.requestFull("test");
        await within(15_000, "full sync", service.idle());
        await new Promise((r) => setTimeout(r, 3_000));
      }
      assert.equal(await destValue("app/db"), JSON.stringify({ pw: last }));

      const runs = service.runs();
      const health = wiring.sourceHealth();
      console.log(`runs: ${runs.length}, logins: ${health.auth?.logins}, renewals: ${health.auth?.renewals}`);
      assert.ok(runs.length >= 11, `runs: ${runs.length}`);
      assert.deepEqual(
        runs.filter((r) => r.exitCode !== 0),
        [],
        "every run succeeded",
      );
      assert.equal(health.usable, true);
      assert.ok((health.auth?.logins ?? 0) >= 4, `logins: ${health.auth?.logins}`);
      assert.ok(!/"level":(50|60)/.test(logs()), "nothing logged at error level");
      assert.match(logs(), /logged in to Vault again/);
    } finally {
      await service.stop();
      await wiring.close();
      emitted.push(logs());
    }
  });
});

describe("secretbridge serve before it can log in", () => {
  test("the service starts without a login; the first login is retried until it works, then the first full sync follows", async () => {
    const roleId = ((await bao.api("GET", "auth/approle/role/replicator/role-id")).json as { data: { role_id: string } }).data.role_id;
    const secretIdFile = join(mkdtempSync(join(tmpdir(), "sb-secret-id-")), "secret-id"); // not there yet
    const value = canary("deferred");
    canaries.push(value);
    assert.equal((await bao.api("POST", `${MOUNT}/data/app/late`, { data: { pw: value } })).status, 200);
    const { logger, logs } = captureLogger();
    const config = parseConfigText(
      approleConfigText({ name: "relogin-svc", address: bao.url, mount: MOUNT, roleId, secretIdFile, prefix: PREFIX }),
    );
    const recorder = new ApiCallRecorder();
    const wiring = await wire(config, { env: { ...moto.awsEnv, PATH: process.env.PATH ?? "" }, recorder, logger, deferLogin: true });
    const service = new SyncService({ wiring, logger, recorder, listen: { host: "127.0.0.1", port: 0 }, apiToken: "test-api-token", coalesceMs: 50, retryDelayMs: 200, maxRetryDelayMs: 1000 });
    try {
      const { httpPort } = await service.start();
      const readyz = async () => {
        const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
        return { status: res.status, text: await res.text() };
      };
      const before = await readyz();
      assert.equal(before.status, 503);
      assert.match(before.text, /source not usable|last full sync stopped|no full sync yet|first full sync running/);
      assert.equal(wiring.sourceHealth().usable, false);

      const secretId = ((await bao.api("POST", "auth/approle/role/replicator/secret-id")).json as { data: { secret_id: string } }).data.secret_id;
      canaries.push(secretId);
      writeFileSync(secretIdFile, secretId);
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await readyz()).status !== 200) await new Promise((r) => setTimeout(r, 200));
      assert.equal((await readyz()).status, 200, "ready once the login worked and a full sync ran");
      assert.equal(await destValue("app/late"), JSON.stringify({ pw: value }));
      assert.match(logs(), /"errorClass":"config-invalid".*Vault login failed/);
    } finally {
      await service.stop();
      await wiring.close();
      emitted.push(logs());
    }
  });
});
