// How a user points `secretbridge sync` at Vault / OpenBao with the Vault CLI's conventions, against
// a real OpenBao: $VAULT_NAMESPACE / $BAO_NAMESPACE and $VAULT_CACERT / $BAO_CACERT where the config
// leaves namespace and tls.caCertFile unset (the config wins), and a read-only token whose policy
// has no auth/token/lookup-self (the policy users write by hand from the reference walkthrough).
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { peersForThisFile } from "../helpers/harness.js";
import { startOpenBao, uniqueMount } from "../helpers/peers.js";

const peers = peersForThisFile();

/** A namespace with a KV v2 mount in it, addressed from the root namespace by path prefix. */
async function namespacedMount(): Promise<{ namespace: string; mount: string }> {
  const namespace = uniqueMount("team");
  const mount = uniqueMount("kv");
  const bao = peers.bao;
  assert.equal((await bao.api("POST", `sys/namespaces/${namespace}`, {})).status, 200);
  assert.equal((await bao.api("POST", `${namespace}/sys/mounts/${mount}`, { type: "kv", options: { version: "2" } })).status, 204);
  for (let i = 0; i < 100 && (await bao.api("GET", `${namespace}/${mount}/config`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  return { namespace, mount };
}

describe("namespace from the environment", () => {
  test("$VAULT_NAMESPACE (and $BAO_NAMESPACE before it) reach a mount inside the namespace; source.namespace wins over both", async () => {
    const s = await peers.scenario();
    const { namespace, mount } = await namespacedMount();
    const value = peers.secret("ns-db");
    assert.equal((await peers.bao.api("POST", `${namespace}/${mount}/data/app/db`, { data: { pw: value } })).status, 200);
    const config = s.writeConfig({ mount });

    const rootNamespace = await s.cli(["sync", "-c", config], peers.bao.rootToken);
    assert.equal(rootNamespace.code, 2, "without a namespace the mount is not there");
    assert.match(rootNamespace.stderr, new RegExp(`mount ${mount} does not exist`));

    const fromEnv = await s.cli(["sync", "-c", config], peers.bao.rootToken, { VAULT_NAMESPACE: namespace });
    assert.equal(fromEnv.code, 0, fromEnv.stdout + fromEnv.stderr);
    assert.equal(await s.value("app/db"), JSON.stringify({ pw: value }));
    assert.equal((await s.destination()).get(`${s.prefix}/app/db`)?.["secretbridge:namespace"], namespace);

    const baoFirst = await s.cli(["sync", "-c", config], peers.bao.rootToken, { BAO_NAMESPACE: namespace, VAULT_NAMESPACE: "no-such-namespace" });
    assert.equal(baoFirst.code, 0, baoFirst.stdout);
    assert.match(baoFirst.stdout, /1 unchanged/);

    const configured = s.writeConfig({ mount, sourceYaml: `  namespace: ${namespace}` });
    const configWins = await s.cli(["sync", "-c", configured], peers.bao.rootToken, { BAO_NAMESPACE: "no-such-namespace", VAULT_NAMESPACE: "no-such-namespace" });
    assert.equal(configWins.code, 0, configWins.stdout);
    assert.match(configWins.stdout, /1 unchanged/);
  });

  test("bootstrap-vault creates its engines and policy in $VAULT_NAMESPACE", async () => {
    const s = await peers.scenario();
    const namespace = uniqueMount("team");
    assert.equal((await peers.bao.api("POST", `sys/namespaces/${namespace}`, {})).status, 200);
    const mount = uniqueMount("hybrid");
    const run = await s.cli(["bootstrap-vault", "--mount", mount, "--restricted-mount", uniqueMount("super"), "--policy-name", "sb-read"], peers.bao.rootToken, {
      VAULT_ADDR: peers.bao.url,
      VAULT_NAMESPACE: namespace,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const mounts = (await peers.bao.api("GET", `${namespace}/sys/mounts`)).json as { data: Record<string, unknown> };
    assert.ok(`${mount}/` in mounts.data, Object.keys(mounts.data).join());
    const rootMounts = (await peers.bao.api("GET", "sys/mounts")).json as { data: Record<string, unknown> };
    assert.ok(!(`${mount}/` in rootMounts.data), "nothing in the root namespace");
  });
});

describe("CA certificate from the environment", () => {
  test("$VAULT_CACERT trusts the private CA of a server with a self-signed certificate; source.tls.caCertFile wins", async () => {
    const tlsBao = await startOpenBao({ tls: true });
    try {
      const s = await peers.scenario();
      const value = peers.secret("tls-db");
      assert.equal((await tlsBao.api("POST", "secret/data/tls/db", { data: { pw: value } })).status, 200);
      const caFile = join(s.dir, "vault-ca.pem");
      writeFileSync(caFile, tlsBao.caCertPem ?? "");
      const config = s.writeConfig({ address: tlsBao.url, mount: "secret" });

      const untrusted = await s.cli(["sync", "-c", config], tlsBao.rootToken);
      assert.equal(untrusted.code, 2);
      assert.match(untrusted.stderr, /certificate is not trusted: set source\.tls\.caCertFile/);

      const trusted = await s.cli(["sync", "-c", config], tlsBao.rootToken, { VAULT_CACERT: caFile });
      assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
      assert.equal(await s.value("tls/db"), JSON.stringify({ pw: value }));

      const baoFirst = await s.cli(["sync", "-c", config], tlsBao.rootToken, { BAO_CACERT: caFile, VAULT_CACERT: join(s.dir, "missing.pem") });
      assert.equal(baoFirst.code, 0, baoFirst.stdout + baoFirst.stderr);

      const configured = s.writeConfig({ address: tlsBao.url, mount: "secret", sourceYaml: ["  tls:", `    caCertFile: ${caFile}`].join("\n") });
      const configWins = await s.cli(["sync", "-c", configured], tlsBao.rootToken, { VAULT_CACERT: join(s.dir, "missing.pem") });
      assert.equal(configWins.code, 0, configWins.stdout + configWins.stderr);

      const missing = await s.cli(["sync", "-c", config], tlsBao.rootToken, { VAULT_CACERT: join(s.dir, "missing.pem") });
      assert.equal(missing.code, 2);
      assert.equal(missing.stderr, `secretbridge: [config-invalid] $VAULT_CACERT: cannot read ${join(s.dir, "missing.pem")}: ENOENT\n`);
    } finally {
      await tlsBao.stop();
    }
  });
});

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
