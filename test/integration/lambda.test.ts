// The Lambda handler invoked in-process against real OpenBao and moto, as the deployed function
// runs: settings from environment variables, the Vault connection from a Secrets Manager secret,
// failures published to SNS (read back through an SQS subscription in moto).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { pino } from "pino";
import { DEADLINE_MARGIN_MS, handler, runLambda } from "../../src/runtime/lambda/handler.js";
import { peersForThisFile, type Scenario } from "../helpers/harness.js";

// Real peers for this file; every byte emitted is scanned for canaries at the end.
const peers = peersForThisFile();

const invoke = (s: Scenario, env: Record<string, string> = {}, remainingMs = 300_000) => s.lambda(env, remainingMs);

async function connectionSecret(s: Scenario, value: Record<string, unknown>): Promise<void> {
  await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}/vault-connection-secret`, SecretString: JSON.stringify(value) }));
}

describe("Lambda handler", () => {
  test("first run creates, a kv put updates exactly one, a no-change run writes nothing", async () => {
    const s = await peers.scenario();
    await s.put("first-secret-for-replication", { secrets: peers.secret("l1") });
    await s.put("second-secret-for-replication", { k: peers.secret("l2") });
    const token = await s.readOnlyToken();
    await connectionSecret(s, { vaultAddress: peers.bao.url, vaultToken: token });

    const first = await invoke(s);
    assert.equal(first.summary.exitCode, 0, JSON.stringify(first.summary));
    assert.deepEqual(first.summary.created.sort(), [`${s.prefix}/first-secret-for-replication`, `${s.prefix}/second-secret-for-replication`]);
    assert.match(first.logs, /"msg":"secretbridge run summary"/);

    await s.put("second-secret-for-replication", { k: peers.secret("l2b") });
    const second = await invoke(s);
    assert.deepEqual(second.summary.updated, [`${s.prefix}/second-secret-for-replication`]);
    assert.deepEqual(second.summary.created, []);
    assert.equal((await s.destination()).get(`${s.prefix}/second-secret-for-replication`)?.version, "2");

    const third = await invoke(s);
    assert.deepEqual(third.summary.counts, { create: 0, update: 0, unchanged: 2, conflict: 0, skip: 0, restore: 0, adopt: 0, drift: 0, delete: 0, orphan: 0, failed: 0, deferred: 0 });
  });

  test("failures are published to SNS (paths and classes, no values) and the function errors", async () => {
    const s = await peers.scenario();
    const { topicArn, messages } = await peers.snsCapture();
    await s.put("fine", { v: peers.secret("fine") });
    await s.put("bad name", { v: peers.secret("badname") });
    const token = await s.readOnlyToken();
    await connectionSecret(s, { vaultAddress: peers.bao.url, vaultToken: token });

    const run = await invoke(s, { SNS_TOPIC_ARN: topicArn });
    assert.equal(run.summary.exitCode, 1);
    assert.deepEqual(run.summary.failed.map((f) => [f.path, f.errorClass]), [["bad name", "invalid-name"]]);
    const published = await messages();
    assert.equal(published.length, 1);
    const notice = JSON.parse(published[0] ?? "{}") as { syncName: string; failures: { path: string; errorClass: string }[] };
    assert.equal(notice.syncName, "lambda");
    assert.deepEqual(notice.failures.map((f) => [f.path, f.errorClass]), [["bad name", "invalid-name"]]);
    peers.emitted.push(...published);

    // The exported handler turns the same outcome into a function error (for the CloudWatch alarm).
    const previous = { ...process.env };
    Object.assign(process.env, peers.moto.awsEnv, { SECRETS_PREFIX: s.prefix, VAULT_MOUNT: s.mount, SYNC_NAME: "lambda", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" });
    try {
      await assert.rejects(handler({}, { getRemainingTimeInMillis: () => 300_000 } as never), /secretbridge run .* failed: 1 secret\(s\) failed/);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in previous)) delete process.env[k];
      Object.assign(process.env, previous);
    }
  });

  test("an empty token in the connection secret: exit 2, nothing written, notification sent", async () => {
    const s = await peers.scenario();
    const { topicArn, messages } = await peers.snsCapture();
    await s.put("a", { v: peers.secret("a") });
    await connectionSecret(s, { vaultAddress: peers.bao.url, vaultToken: "" });
    const run = await invoke(s, { SNS_TOPIC_ARN: topicArn });
    assert.equal(run.summary.exitCode, 2);
    assert.equal(run.summary.fatal?.errorClass, "config-invalid");
    assert.match(run.summary.fatal?.message ?? "", /empty vaultToken: put the read-only token into it/);
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/vault-connection-secret`]);
    const published = await messages();
    assert.equal(published.length, 1);
    assert.match(published[0] ?? "", /"errorClass": "config-invalid"/);
  });

  test("a revoked token: exit 2 with source-auth, nothing written", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("a") });
    const token = await s.readOnlyToken();
    await peers.bao.api("POST", "auth/token/revoke", { token });
    await connectionSecret(s, { vaultAddress: peers.bao.url, vaultToken: token });
    const run = await invoke(s);
    assert.equal(run.summary.exitCode, 2);
    assert.equal(run.summary.fatal?.errorClass, "source-auth");
    assert.equal((await s.destination()).size, 1);
  });

  test("past the deadline no write starts: everything is deferred and the next run converges", async () => {
    const s = await peers.scenario();
    for (const p of ["a", "b", "c"]) await s.put(p, { v: peers.secret(p) });
    const token = await s.readOnlyToken();
    await connectionSecret(s, { vaultAddress: peers.bao.url, vaultToken: token });

    const late = await invoke(s, {}, DEADLINE_MARGIN_MS - 1);
    assert.equal(late.summary.exitCode, 0);
    assert.deepEqual(late.summary.deferred.sort(), ["a", "b", "c"].map((p) => `${s.prefix}/${p}`));
    assert.equal(late.summary.counts.deferred, 3);
    assert.deepEqual(late.summary.created, []);
    assert.match(late.logs, /deadline reached: writes not started are deferred to the next run/);
    assert.deepEqual([...(await s.destination()).keys()], [`${s.prefix}/vault-connection-secret`]);

    const next = await invoke(s);
    assert.equal(next.summary.created.length, 3);
    assert.equal(next.summary.counts.deferred, 0);
  });

  test("AppRole auth: the connection secret holds a role id and secret id, no token", async () => {
    const s = await peers.scenario();
    await s.put("app", { v: peers.secret("approle") });
    const token = await s.readOnlyToken();
    const policyName = `ro-${s.mount}-scan`;
    assert.ok(token);
    await peers.bao.api("POST", "sys/auth/approle", { type: "approle" }).catch(() => undefined);
    await peers.bao.api("POST", `auth/approle/role/${s.mount}`, { token_policies: [policyName], token_ttl: "10m", token_max_ttl: "30m" });
    const roleId = ((await peers.bao.api("GET", `auth/approle/role/${s.mount}/role-id`)).json as { data: { role_id: string } }).data.role_id;
    const secretId = ((await peers.bao.api("POST", `auth/approle/role/${s.mount}/secret-id`)).json as { data: { secret_id: string } }).data.secret_id;
    peers.canaries.push(secretId);
    await connectionSecret(s, { vaultAddress: peers.bao.url, auth: { method: "approle", roleId, secretId } });
    const run = await invoke(s);
    assert.equal(run.summary.exitCode, 0, JSON.stringify(run.summary));
    assert.deepEqual(run.summary.created, [`${s.prefix}/app`]);

    await peers.sm().send(
      new PutSecretValueCommand({
        SecretId: `${s.prefix}/vault-connection-secret`,
        SecretString: JSON.stringify({ vaultAddress: peers.bao.url, auth: { method: "approle", roleId, secretId: "wrong-secret-id" } }),
      }),
    );
    const refused = await invoke(s);
    assert.equal(refused.summary.exitCode, 2);
    assert.equal(refused.summary.fatal?.errorClass, "source-auth");
    assert.match(refused.summary.fatal?.message ?? "", /refused the approle credentials/);
  });
});

describe("the deployable bundle", () => {
  test("the esbuild bundle CDK deploys runs the same flow (first run creates)", async () => {
    const { bundleLambda } = await import("../../infra/bundle.js");
    const dir = bundleLambda();
    const bundle = (await import(`${dir}/index.mjs`)) as { runLambda: typeof runLambda; handler: typeof handler };
    const s = await peers.scenario();
    await s.put("bundled", { v: peers.secret("bundle") });
    const token = await s.readOnlyToken();
    await connectionSecret(s, { vaultAddress: peers.bao.url, vaultToken: token });
    const summary = await bundle.runLambda(
      { getRemainingTimeInMillis: () => 300_000 },
      { env: { ...peers.moto.awsEnv, SECRETS_PREFIX: s.prefix, VAULT_MOUNT: s.mount, SYNC_NAME: "bundle" }, secretsManager: peers.sm(), logger: pino({ level: "silent" }) },
    );
    assert.equal(summary.exitCode, 0, JSON.stringify(summary));
    assert.deepEqual(summary.created, [`${s.prefix}/bundled`]);
    assert.equal(typeof bundle.handler, "function");
  });
});
