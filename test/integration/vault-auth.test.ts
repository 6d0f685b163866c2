// Vault login methods and token renewal against a real OpenBao.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { login, TokenKeeper } from "../../src/sources/vault/auth.js";
import { SyncError } from "../../src/core/errors.js";
import { ApiCallRecorder } from "../../src/util/api-calls.js";
import { startOpenBao, type OpenBaoPeer } from "../helpers/peers.js";

let bao: OpenBaoPeer;
before(async () => {
  bao = await startOpenBao();
  await bao.api("PUT", "sys/policies/acl/reader", { policy: 'path "secret/*" { capabilities = ["read", "list"] }' });
  await bao.api("POST", "sys/auth/approle", { type: "approle" });
  await bao.api("POST", "auth/approle/role/replicator", { token_policies: ["reader"], token_ttl: "2s", token_max_ttl: "1h" });
});
after(async () => {
  await bao.stop();
});

async function approleCredentials(): Promise<{ roleId: string; secretId: string }> {
  const roleId = ((await bao.api("GET", "auth/approle/role/replicator/role-id")).json as { data: { role_id: string } }).data.role_id;
  const secretId = ((await bao.api("POST", "auth/approle/role/replicator/secret-id")).json as { data: { secret_id: string } }).data.secret_id;
  return { roleId, secretId };
}

async function lookupStatus(token: string): Promise<number> {
  return (await bao.api("GET", "auth/token/lookup-self", undefined, token)).status;
}

describe("Vault auth", () => {
  test("AppRole login returns a renewable token with the role's policy and TTL", async () => {
    const recorder = new ApiCallRecorder();
    const result = await login({ address: bao.url, recorder }, { method: "approle", ...(await approleCredentials()) });
    assert.equal(result.renewable, true);
    assert.equal(result.ttlSeconds, 2);
    assert.equal(recorder.count("vault", "login", 200), 1);
    const self = (await bao.api("GET", "auth/token/lookup-self", undefined, result.token)).json as { data: { policies: string[] } };
    assert.deepEqual(self.data.policies.sort(), ["default", "reader"]);
  });

  test("a wrong secret id is refused as source-auth, without echoing it", async () => {
    const { roleId } = await approleCredentials();
    const wrong = "wrong-secret-id-0123456789";
    await assert.rejects(login({ address: bao.url }, { method: "approle", roleId, secretId: wrong }), (error: unknown) => {
      assert.ok(error instanceof SyncError);
      assert.equal(error.errorClass, "source-auth");
      assert.ok(!error.message.includes(wrong));
      return true;
    });
  });

  test("a refused login names the server without the address's userinfo", async () => {
    const { roleId } = await approleCredentials();
    const address = bao.url.replace("http://", "http://ops:CANARY-userinfo@");
    await assert.rejects(login({ address }, { method: "approle", roleId, secretId: "wrong-secret-id-0123456789" }), (error: unknown) => {
      assert.ok(error instanceof SyncError);
      assert.match(error.message, new RegExp(`^${bao.url.replace(/[.]/g, "\\.")} refused the approle credentials \\(HTTP 400\\)`));
      return true;
    });
  });

  test("a static token is checked with lookup-self; a bad one is source-auth", async () => {
    const ok = await login({ address: bao.url }, { method: "token", token: bao.rootToken });
    assert.equal(ok.ttlSeconds, 0);
    await assert.rejects(login({ address: bao.url }, { method: "token", token: "nope" }), /refused the token credentials/);
  });

  test("TokenKeeper renews at half the TTL, keeping a 2-second token alive past its original expiry", async () => {
    const result = await login({ address: bao.url }, { method: "approle", ...(await approleCredentials()) });
    const keeper = new TokenKeeper({ address: bao.url }, result);
    try {
      // Wait (bounded) for three renewals; each one happens at half the TTL, so the token has
      // outlived its original 2 s TTL by then. No timing is asserted, only the outcome.
      for (let i = 0; i < 100 && keeper.renewals < 3; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(keeper.renewals >= 3, `renewals: ${keeper.renewals}`);
      assert.equal(await lookupStatus(result.token), 200);
    } finally {
      keeper.close();
    }
  });

  test("without renewal the same kind of token expires (the test above can fail)", async () => {
    const result = await login({ address: bao.url }, { method: "approle", ...(await approleCredentials()) });
    for (let i = 0; i < 100 && (await lookupStatus(result.token)) === 200; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await lookupStatus(result.token), 403);
  });
});
