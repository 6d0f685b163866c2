// An address with a user name and password (`http://user:PW@host`) carries the password into
// every place the address is shown: the secretbridge:source tag of every secret, reports, logs,
// health answers. The config file refuses one; an address from the environment ($VAULT_ADDR,
// $BAO_ADDR) is refused the same way where the address is resolved, for every runtime. The canary
// password must appear nowhere: not in stdout, stderr, logs, the Lambda's summary, or AWS.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { peersForThisFile, type Scenario } from "../helpers/harness.js";

const peers = peersForThisFile();

/** A config with no source.address, so the address comes from the environment. */
function configWithoutAddress(s: Scenario, name = "it"): string {
  const path = join(s.dir, `no-address-${name}.yaml`);
  writeFileSync(path, [`name: ${name}`, "source:", `  mount: ${s.mount}`, "  maxAttempts: 1", "destination:", `  prefix: ${s.prefix}`, "  maxAttempts: 2", ""].join("\n"));
  return path;
}

const withUserinfo = (password: string) => peers.bao.url.replace("http://", `http://reader:${password}@`);
const REFUSAL = (variable: string) =>
  `${variable} must not hold a user name or password (user:pass@host): the token goes in source.auth, source.tokenFile, $VAULT_TOKEN or the Lambda's connection secret`;

describe("an address with user:pass@ from the environment", () => {
  test("sync, plan and verify refuse $VAULT_ADDR (and $BAO_ADDR) with userinfo before any request; nothing written, the password shown nowhere", async () => {
    const s = await peers.scenario();
    await s.put("db", { v: peers.secret("db") });
    const token = await s.readOnlyToken();
    const password = peers.secret("addr-password");
    const config = configWithoutAddress(s);
    for (const [variable, args] of [
      ["VAULT_ADDR", ["sync", "-c", config, "--json"]],
      ["VAULT_ADDR", ["plan", "-c", config, "--json"]],
      ["BAO_ADDR", ["verify", "-c", config, "--json"]],
    ] as const) {
      const run = await s.cli([...args], token, { [variable]: withUserinfo(password) });
      assert.equal(run.code, 2, `${args[0]} with $${variable} userinfo: exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assert.ok(`${run.stdout}${run.stderr}${run.logs}`.includes(REFUSAL(`$${variable}`)), `${args[0]}: ${run.stderr}${run.logs}`);
      assert.equal(run.recorder.count("vault"), 0, `${args[0]}: no request to the source`);
    }
    assert.deepEqual([...(await s.destination()).keys()], [], "nothing written (and so no tag carrying the address)");
    // The same address without the userinfo works, and its tag carries no credential.
    const plain = await s.cli(["sync", "-c", config], token, { VAULT_ADDR: peers.bao.url });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal((await s.destination()).get(`${s.prefix}/db`)?.["secretbridge:source"], peers.bao.url);
  });

  test("bootstrap-vault refuses --address with userinfo, naming the flag", async () => {
    const s = await peers.scenario();
    const password = peers.secret("bootstrap-password");
    const run = await s.cli(["bootstrap-vault", "--address", withUserinfo(password), "--mount", `${s.mount}-boot`], "", { VAULT_TOKEN: peers.bao.rootToken });
    assert.equal(run.code, 2);
    assert.ok(`${run.stderr}${run.logs}`.includes(REFUSAL("--address")), run.stderr + run.logs);
  });

  test("the Lambda refuses $VAULT_ADDR with userinfo: exit 2 config-invalid, nothing written", async () => {
    const s = await peers.scenario();
    await s.put("db", { v: peers.secret("lambda-db") });
    const password = peers.secret("lambda-password");
    await peers.sm().send(new CreateSecretCommand({ Name: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken: await s.readOnlyToken() }) }));
    const run = await s.lambda({ config: configWithoutAddress(s, "lambda"), env: { VAULT_ADDR: withUserinfo(password) } });
    assert.equal(run.summary.exitCode, 2);
    assert.deepEqual(run.summary.fatal, { errorClass: "config-invalid", message: REFUSAL("$VAULT_ADDR") });
    assert.deepEqual([...(await s.destination()).keys()], []);
  });
});
