// How a user points `secretbridge sync` at Vault / OpenBao with the Vault CLI's conventions, against
// a real OpenBao: $VAULT_NAMESPACE / $BAO_NAMESPACE and $VAULT_CACERT / $BAO_CACERT where the config
// leaves namespace and tls.caCertFile unset (the config wins), and a read-only token whose policy
// has no auth/token/lookup-self (the policy users write by hand from the reference walkthrough).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { peersForThisFile } from "../helpers/harness.js";

const peers = peersForThisFile();

describe("a read-only token without auth/token/lookup-self", () => {
  test("syncs, and the run says once that the token's TTL is unknown", async () => {
    const s = await peers.scenario();
    await s.put("app/db", { pw: peers.secret("nolookup") });
    await s.put("app/api", { key: peers.secret("nolookup") });
    // The reference walkthrough's policy, as users write it by hand: read and list, nothing else.
    const policy = `path "${s.mount}/*" { capabilities = ["read", "list"] }`;
    assert.equal((await peers.bao.api("PUT", `sys/policies/acl/${s.mount}-ro`, { policy })).status, 204);
    const created = await peers.bao.api("POST", "auth/token/create-orphan", { policies: [`${s.mount}-ro`], no_default_policy: true, ttl: "1h" });
    const token = (created.json as { auth: { client_token: string } }).auth.client_token;

    const run = await s.cli(["sync", "-c", s.writeConfig()], token);
    assert.equal(run.code, 0, run.stdout);
    assert.deepEqual([...(await s.destination()).keys()].sort(), [`${s.prefix}/app/api`, `${s.prefix}/app/db`]);
    const notices = run.logs.split("\n").filter((l) => l.includes("TTL is unknown"));
    assert.equal(notices.length, 1, run.logs);
    assert.match(notices[0] ?? "", /"level":30/);
  });
});
