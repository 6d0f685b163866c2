// Logins are redone: AppRole tokens with a short max TTL (5 s TTL, 12 s max) are renewed and then
// replaced by a new login, so a source configured with `source.auth` keeps reading through several
// max-TTL periods; a token revoked behind the keeper's back is replaced on the refused request;
// a failed login is logged with its class (never the secret id) and recovered from.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseConfigText } from "../../src/config/load.js";
import { SyncError } from "../../src/core/errors.js";
import { wire, type Wiring } from "../../src/runtime/wire.js";
import { TokenKeeper } from "../../src/sources/vault/auth.js";
import { VaultKvSource } from "../../src/sources/vault/vault-source.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import type { Logger } from "../../src/util/logger.js";
import { approleConfigText } from "../helpers/approle-config.js";
import { captureLogger } from "../helpers/logs.js";
import { startOpenBao, type OpenBaoPeer } from "../helpers/peers.js";

let bao: OpenBaoPeer;
const MOUNT = "relogin";
const secretIds: string[] = [];

before(async () => {
  bao = await startOpenBao();
  await bao.mountKv(MOUNT);
  await bao.api("PUT", "sys/policies/acl/reader", {
    policy: `path "${MOUNT}/*" { capabilities = ["read", "list"] }\npath "sys/internal/ui/mounts/*" { capabilities = ["read"] }\npath "${MOUNT}/data/denied/*" { capabilities = ["deny"] }`,
  });
  await bao.api("POST", "sys/auth/approle", { type: "approle" });
  await bao.api("POST", `${MOUNT}/data/app/db`, { data: { pw: "first" } });
  await bao.api("POST", `${MOUNT}/data/denied/x`, { data: { pw: "never-read" } });
});
after(async () => {
  await bao.stop();
});

/** An AppRole role with these token limits; its role id and a fresh secret id (written to a file). */
async function role(name: string, limits: Record<string, unknown>): Promise<{ roleId: string; secretId: string; secretIdFile: string }> {
  const res = await bao.api("POST", `auth/approle/role/${name}`, { token_policies: ["reader"], secret_id_num_uses: 0, ...limits });
  assert.equal(res.status, 204);
  const roleId = ((await bao.api("GET", `auth/approle/role/${name}/role-id`)).json as { data: { role_id: string } }).data.role_id;
  const secretId = await newSecretId(name);
  const secretIdFile = join(mkdtempSync(join(tmpdir(), "sb-secret-id-")), "secret-id");
  writeFileSync(secretIdFile, `${secretId}\n`);
  return { roleId, secretId, secretIdFile };
}

async function newSecretId(name: string): Promise<string> {
  const secretId = ((await bao.api("POST", `auth/approle/role/${name}/secret-id`)).json as { data: { secret_id: string } }).data.secret_id;
  secretIds.push(secretId);
  return secretId;
}

/** The CLI config a user writes for AppRole: role id inline, secret id in a file. */
async function wireApprole(roleId: string, secretIdFile: string, logger: Logger): Promise<Wiring> {
  const config = parseConfigText(
    approleConfigText({ name: "relogin", address: bao.url, mount: MOUNT, roleId, secretIdFile, prefix: "relogin-dest" }),
  );
  return wire(config, { env: { AWS_REGION: "us-east-1", PATH: process.env.PATH ?? "" }, logger });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Vault logins are redone", () => {
  test("a source configured with AppRole reads every second through three max-TTL periods", async () => {
    const { roleId, secretIdFile } = await role("short", { token_ttl: "5s", token_max_ttl: "12s" });
    const log = captureLogger();
    const wiring = await wireApprole(roleId, secretIdFile, log.logger);
    const source = wiring.mappings[0]!.source;
    const failures: string[] = [];
    let reads = 0;
    try {
      // Three max-TTL periods (36 s) and a bit: no token lives past 12 s, so every read after the
      // first 12 s needs a token from a later login.
      const end = Date.now() + 37_000;
      for (let i = 0; Date.now() < end; i++) {
        try {
          assert.deepEqual(await source.readValue("app/db", null), { pw: "first" });
          if (i % 5 === 0) assert.deepEqual((await source.inventory()).secrets.map((s) => s.path), ["app/db", "denied/x"]);
          reads += 1;
        } catch (error) {
          failures.push(`${i}: ${(error as Error).message}`);
        }
        await sleep(1_000);
      }
      const health = wiring.sourceHealth();
      console.log(`reads: ${reads}, logins: ${health.auth?.logins}, renewals: ${health.auth?.renewals}`);
      assert.deepEqual(failures, []);
      assert.ok(reads >= 30, `reads: ${reads}`);
      assert.equal(health.usable, true);
      assert.equal(health.reason, undefined);
      assert.equal(health.auth?.method, "approle");
      // The first login plus at least one per max-TTL period.
      assert.ok((health.auth?.logins ?? 0) >= 4, `logins: ${health.auth?.logins}`);
      assert.ok((health.auth?.renewals ?? 0) >= 3, `renewals: ${health.auth?.renewals}`);
      const relogins = log.lines().filter((l) => l.msg === "logged in to Vault again");
      assert.equal(relogins.length, (health.auth?.logins ?? 0) - 1);
      assert.ok(relogins.every((l) => l.method === "approle" && l.reason === "max TTL reached"), JSON.stringify(relogins));
      assert.deepEqual(log.lines().filter((l) => (l.level as number) >= 50), [], "no auth failure logged");
    } finally {
      await wiring.close();
    }
  });

  test("a token revoked behind the keeper's back is replaced on the refused request, once; a policy denial is not a reason to log in", async () => {
    const { roleId, secretId } = await role("long", { token_ttl: "1h", token_max_ttl: "2h" });
    const keeper = await TokenKeeper.login({ address: bao.url }, { method: "approle", roleId, secretId });
    const recorder = new ApiCallRecorder();
    const source = new VaultKvSource({ address: bao.url, token: keeper, mount: MOUNT, recorder, maxAttempts: 1 });
    try {
      assert.deepEqual(await source.readValue("app/db", null), { pw: "first" });
      const revoked = keeper.token;
      assert.equal((await bao.api("POST", "auth/token/revoke", { token: revoked })).status, 204);

      assert.deepEqual(await source.readValue("app/db", null), { pw: "first" });
      assert.notEqual(keeper.token, revoked);
      assert.equal(keeper.logins, 2);
      assert.equal(recorder.count("vault", "read-data", 403), 1, "the refused read");
      assert.equal(recorder.count("vault", "read-data", 200), 2, "the first read and the retry");

      // A valid token refused by its policy: lookup-self says the token is fine, no login, the
      // refusal stands as permission-denied.
      await assert.rejects(source.readValue("denied/x", null), (error: unknown) => {
        assert.ok(error instanceof SyncError);
        assert.equal(error.errorClass, "permission-denied");
        return true;
      });
      assert.equal(keeper.logins, 2);
      assert.equal(keeper.state().lastError, undefined);
    } finally {
      keeper.close();
      await source.close();
    }
  });

  test("a failed login is logged with its class and never the secret id, readiness says why, and a new secret id recovers", async () => {
    const { roleId, secretId, secretIdFile } = await role("tiny", { token_ttl: "2s", token_max_ttl: "4s" });
    const log = captureLogger();
    const wiring = await wireApprole(roleId, secretIdFile, log.logger);
    const source = wiring.mappings[0]!.source;
    try {
      assert.deepEqual(await source.readValue("app/db", null), { pw: "first" });
      // The operator's secret id is destroyed: the next login (at the max TTL, within 4 s) fails.
      assert.equal((await bao.api("POST", "auth/approle/role/tiny/secret-id/destroy", { secret_id: secretId })).status, 204);
      for (let i = 0; i < 100 && wiring.sourceHealth().usable; i++) await sleep(100);
      const down = wiring.sourceHealth();
      assert.equal(down.usable, false);
      assert.match(down.reason ?? "", /^source-auth: .*refused the approle credentials \(HTTP 400\)/);
      const failed = log.lines().filter((l) => l.msg !== undefined && String(l.msg).startsWith("Vault login failed"));
      assert.ok(failed.length >= 1);
      assert.ok(failed.every((l) => l.errorClass === "source-auth" && l.method === "approle" && l.operation === "login" && typeof l.retryInMs === "number"), JSON.stringify(failed));

      // A request now fails as source-auth (fatal: the run stops), not as a policy denial.
      await assert.rejects(source.readValue("app/db", null), (error: unknown) => {
        assert.ok(error instanceof SyncError);
        assert.equal(error.errorClass, "source-auth");
        return true;
      });

      // A new secret id in the file: the next request logs in with it, without waiting for the backoff.
      writeFileSync(secretIdFile, await newSecretId("tiny"));
      assert.deepEqual(await source.readValue("app/db", null), { pw: "first" });
      const up = wiring.sourceHealth();
      assert.equal(up.usable, true);
      assert.equal(up.reason, undefined);
      for (const id of secretIds) assert.ok(!log.logs().includes(id), "a secret id was logged");
    } finally {
      await wiring.close();
    }
  });
});
