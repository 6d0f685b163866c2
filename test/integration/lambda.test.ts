// The Lambda run invoked in-process against real OpenBao and moto, as the deployed function runs:
// the config file the CLI tests write (Scenario.writeConfig), the credentials from a Secrets
// Manager secret, failures published to SNS (read back through an SQS subscription in moto).
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { CreateSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { pino } from "pino";
import { deployConfigFromFile, PACKAGED_CONFIG } from "../../infra/config.js";
import { DEADLINE_MARGIN_MS, handler, runLambda } from "../../src/runtime/lambda/handler.js";
import { verifyWebhook } from "../../src/runtime/webhook.js";
import { peersForThisFile, webhookReceiver, type Scenario } from "../helpers/harness.js";
import { startOpenBao } from "../helpers/peers.js";

// Real peers for this file; every byte emitted is scanned for canaries at the end.
const peers = peersForThisFile();

async function connectionSecret(s: Scenario, value: Record<string, unknown>): Promise<void> {
  await peers.sm().send(new CreateSecretCommand({ Name: s.connectionSecretName, SecretString: JSON.stringify(value) }));
}

/** A scenario whose connection secret holds a read-only token. */
async function tokenScenario(): Promise<Scenario> {
  const s = await peers.scenario();
  await connectionSecret(s, { vaultToken: await s.readOnlyToken() });
  return s;
}

describe("Lambda run with the CLI's config file", () => {
  test("first run creates, a kv put updates exactly one, a no-change run writes nothing", async () => {
    const s = await tokenScenario();
    await s.put("first-secret-for-replication", { secrets: peers.secret("l1") });
    await s.put("second-secret-for-replication", { k: peers.secret("l2") });

    const first = await s.lambda();
    assert.equal(first.summary.exitCode, 0, JSON.stringify(first.summary));
    assert.deepEqual(first.summary.created.sort(), [`${s.prefix}/first-secret-for-replication`, `${s.prefix}/second-secret-for-replication`]);
    assert.match(first.logs, /"msg":"secretbridge run summary"/);

    await s.put("second-secret-for-replication", { k: peers.secret("l2b") });
    const second = await s.lambda();
    assert.deepEqual(second.summary.updated, [`${s.prefix}/second-secret-for-replication`]);
    assert.deepEqual(second.summary.created, []);
    assert.equal((await s.destination()).get(`${s.prefix}/second-secret-for-replication`)?.version, "2");

    const third = await s.lambda();
    assert.deepEqual(third.summary.counts, { create: 0, update: 0, unchanged: 2, conflict: 0, skip: 0, restore: 0, adopt: 0, drift: 0, delete: 0, orphan: 0, released: 0, release: 0, reclaim: 0, failed: 0, deferred: 0 });
  });

  test("mappings and policies from the file: two mounts, deletion with a recovery window, and the CLI agrees afterwards", async () => {
    const s = await peers.scenario();
    const other = `${s.mount}-other`;
    await peers.bao.mountKv(other, 2);
    // One token for both mounts: the config's second mapping reads the other mount.
    const token = await s.readOnlyToken({ extraPolicy: `path "${other}/*" { capabilities = ["read", "list"] }\npath "${other}/detailed-metadata/*" { capabilities = ["read", "list", "scan"] }` });
    await connectionSecret(s, { vaultToken: token });
    for (const p of ["a", "b", "c"]) await s.put(`app/${p}`, { v: peers.secret(`m1-${p}`) });
    await peers.bao.api("POST", `${other}/data/x`, { data: { v: peers.secret("m2-x") } });
    const config = s.writeConfig({
      name: "lambda-mappings",
      yaml: [
        "policies:",
        "  deletion:",
        "    strategy: delete",
        "    recoveryWindowDays: 7",
        "  blastRadius:",
        "    maxShare: 1",
        "mappings:",
        `  - mount: ${s.mount}`,
        "    path: app",
        `    prefix: ${s.prefix}/apps`,
        `  - mount: ${other}`,
        `    prefix: ${s.prefix}/other`,
        "    policies:",
        "      deletion:",
        "        strategy: retain",
        "",
      ].join("\n"),
    });
    const first = await s.lambda({ config });
    assert.equal(first.summary.exitCode, 0, JSON.stringify(first.summary));
    assert.deepEqual(first.summary.created.sort(), [`${s.prefix}/apps/app/a`, `${s.prefix}/apps/app/b`, `${s.prefix}/apps/app/c`, `${s.prefix}/other/x`]);

    await peers.bao.api("DELETE", `${s.mount}/metadata/app/c`);
    await peers.bao.api("DELETE", `${other}/metadata/x`);
    const second = await s.lambda({ config });
    assert.equal(second.summary.exitCode, 0, JSON.stringify(second.summary));
    // The first mapping deletes (7-day window), the second retains: the policies of the file.
    assert.equal(second.summary.counts.delete, 1, JSON.stringify(second.summary));
    assert.equal(second.summary.counts.skip, 1, "the retained one is reported as kept");
    const tags = await s.destination();
    assert.ok(tags.has(`${s.prefix}/other/x`));

    // The same file under the CLI: nothing left to do (it reports the retained orphan, writes nothing).
    const plan = await s.cli(["plan", "-c", config, "--json"], token);
    const report = JSON.parse(plan.stdout) as { counts: Record<string, number> };
    assert.equal(report.counts.create, 0);
    assert.equal(report.counts.update, 0);
    assert.equal(report.counts.delete, 0);
  });

  test("failures are published to the stack's topic (paths and classes, no values) and the function errors", async () => {
    const s = await tokenScenario();
    const { topicArn, messages } = await peers.snsCapture();
    await s.put("fine", { v: peers.secret("fine") });
    await s.put("bad name", { v: peers.secret("badname") });

    const run = await s.lambda({ env: { SECRETBRIDGE_SNS_TOPIC_ARN: topicArn } });
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
    Object.assign(process.env, s.lambdaEnv(), { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" });
    try {
      await assert.rejects(handler({}, { getRemainingTimeInMillis: () => 300_000 } as never), /secretbridge run .* failed: 1 secret\(s\) failed/);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in previous)) delete process.env[k];
      Object.assign(process.env, previous);
    }
  });

  test("a topic in the config file is used, and a signed webhook notification gets its key from the connection secret", async () => {
    const s = await peers.scenario();
    const { topicArn, messages } = await peers.snsCapture();
    const hook = await webhookReceiver();
    const signingKey = peers.secret("notify-signing-key");
    await connectionSecret(s, { vaultToken: await s.readOnlyToken(), notifySigningSecret: signingKey });
    await s.put("bad name", { v: peers.secret("n1") });
    const config = s.writeConfig({ name: "lambda-notify", yaml: ["notifications:", "  sns:", `    topicArn: ${topicArn}`, "  webhook:", `    url: ${hook.url}`, "    signingSecretEnv: HOOK_KEY", ""].join("\n") });
    try {
      const run = await s.lambda({ config });
      assert.equal(run.summary.exitCode, 1);
      assert.equal((await messages()).length, 1);
      assert.equal(hook.requests.length, 1);
      const request = hook.requests[0];
      assert.ok(request);
      const verdict = verifyWebhook(signingKey, { timestamp: String(request.headers["x-secretbridge-timestamp"]), signature: String(request.headers["x-secretbridge-signature"]) }, request.body);
      assert.deepEqual(verdict, { ok: true });
      peers.emitted.push(...hook.received);
    } finally {
      await hook.close();
    }
  });

  test("webhook credentials from the connection secret (notifyEnv): the packaged config names variables, the notice arrives with the header and the query token", async () => {
    const s = await peers.scenario();
    const hook = await webhookReceiver();
    const bearer = peers.secret("notify-bearer");
    const queryToken = peers.secret("notify-query-token");
    const vaultToken = await s.readOnlyToken();
    await connectionSecret(s, { vaultToken, notifyEnv: { HOOK_AUTH: `Bearer ${bearer}`, HOOK_TOKEN: queryToken } });
    await s.put("bad name", { v: peers.secret("h1") });
    const written = s.writeConfig({
      name: "lambda-headers",
      yaml: ["notifications:", "  webhook:", `    url: ${hook.url}?channel=ops`, "    headers: { X-Team: ops }", "    headersFromEnv: { Authorization: HOOK_AUTH }", "    queryFromEnv: { token: HOOK_TOKEN }", ""].join("\n"),
    });
    // As synth packages it: the validated config, serialised, alone in the function's directory.
    const packaged = join(mkdtempSync(join(s.dir, "package-")), PACKAGED_CONFIG);
    writeFileSync(packaged, deployConfigFromFile(written).files[PACKAGED_CONFIG] ?? "");
    try {
      const run = await s.lambda({ config: packaged });
      assert.equal(run.summary.exitCode, 1, JSON.stringify(run.summary));
      assert.equal(hook.requests.length, 1);
      const request = hook.requests[0];
      assert.equal(request?.headers.authorization, `Bearer ${bearer}`);
      assert.equal(request?.headers["x-team"], "ops");
      assert.equal(request?.url, `/hook?${new URLSearchParams({ channel: "ops", token: queryToken }).toString()}`);
      assert.deepEqual((JSON.parse(request?.body ?? "{}") as { failures: { path: string }[] }).failures.map((f) => f.path), ["bad name"]);

      // A variable the config does not name is refused by name; the setup failure is still notified, without the credentials.
      await peers.sm().send(new PutSecretValueCommand({ SecretId: s.connectionSecretName, SecretString: JSON.stringify({ vaultToken, notifyEnv: { HOOK_AUHT: `Bearer ${bearer}` } }) }));
      const typo = await s.lambda({ config: packaged });
      assert.equal(typo.summary.exitCode, 2);
      assert.equal(
        typo.summary.fatal?.message,
        `the Vault connection secret ${s.connectionSecretName}: notifyEnv.HOOK_AUHT is not a variable notifications.webhook names in headersFromEnv or queryFromEnv (it names HOOK_AUTH, HOOK_TOKEN)`,
      );
      assert.equal(hook.requests.length, 2);
      assert.equal(hook.requests[1]?.headers.authorization, undefined);
      assert.equal(hook.requests[1]?.url, "/hook?channel=ops");
      peers.emitted.push(...hook.received);
    } finally {
      await hook.close();
    }
  });

  test("an empty token in the connection secret: exit 2, nothing written, notification sent", async () => {
    const s = await peers.scenario();
    const { topicArn, messages } = await peers.snsCapture();
    await s.put("a", { v: peers.secret("a") });
    await connectionSecret(s, { vaultToken: "" });
    const run = await s.lambda({ env: { SECRETBRIDGE_SNS_TOPIC_ARN: topicArn } });
    assert.equal(run.summary.exitCode, 2);
    assert.equal(run.summary.fatal?.errorClass, "config-invalid");
    assert.match(run.summary.fatal?.message ?? "", /empty vaultToken: put the read-only token into it/);
    assert.deepEqual([...(await s.destination()).keys()], []);
    const published = await messages();
    assert.equal(published.length, 1);
    assert.match(published[0] ?? "", /"errorClass": "config-invalid"/);
  });

  test("a bad connection secret or config file: exit 2 naming the key or the file, never a value", async () => {
    const s = await peers.scenario();
    const token = peers.secret("typo-token");
    await connectionSecret(s, { vaultTokn: token });
    const typo = await s.lambda();
    assert.equal(typo.summary.exitCode, 2);
    assert.match(typo.summary.fatal?.message ?? "", /is invalid: unknown key\(s\) vaultTokn/);

    const broken = join(s.dir, "broken.yaml");
    writeFileSync(broken, "name: x\nsource:\n  mount: kv\n  kvVersion: 7\n");
    const bad = await s.lambda({ config: broken });
    assert.equal(bad.summary.exitCode, 2);
    assert.match(bad.summary.fatal?.message ?? "", /source.kvVersion: must be 1, 2 or auto/);
    const missing = await s.lambda({ config: join(s.dir, "nope.yaml") });
    assert.match(missing.summary.fatal?.message ?? "", /cannot read config file .*nope.yaml: ENOENT/);
  });

  test("a revoked token: exit 2 with source-auth, nothing written", async () => {
    const s = await peers.scenario();
    await s.put("a", { v: peers.secret("a") });
    const token = await s.readOnlyToken();
    await peers.bao.api("POST", "auth/token/revoke", { token });
    await connectionSecret(s, { vaultToken: token });
    const run = await s.lambda();
    assert.equal(run.summary.exitCode, 2);
    assert.equal(run.summary.fatal?.errorClass, "source-auth");
    assert.equal((await s.destination()).size, 0);
  });

  test("past the deadline no write starts: everything is deferred and the next run converges", async () => {
    const s = await tokenScenario();
    for (const p of ["a", "b", "c"]) await s.put(p, { v: peers.secret(p) });

    const late = await s.lambda({ remainingMs: DEADLINE_MARGIN_MS - 1 });
    assert.equal(late.summary.exitCode, 0);
    assert.deepEqual(late.summary.deferred.sort(), ["a", "b", "c"].map((p) => `${s.prefix}/${p}`));
    assert.equal(late.summary.counts.deferred, 3);
    assert.deepEqual(late.summary.created, []);
    assert.match(late.logs, /deadline reached: writes not started are deferred to the next run/);
    assert.deepEqual([...(await s.destination()).keys()], []);

    const next = await s.lambda();
    assert.equal(next.summary.created.length, 3);
    assert.equal(next.summary.counts.deferred, 0);
  });

  test("AppRole from the config file: the connection secret holds only the secret id", async () => {
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
    await connectionSecret(s, { secretId });
    const config = s.writeConfig({ name: "lambda-approle", sourceYaml: ["  auth:", "    method: approle", `    roleId: ${roleId}`].join("\n") });
    const run = await s.lambda({ config });
    assert.equal(run.summary.exitCode, 0, JSON.stringify(run.summary));
    assert.deepEqual(run.summary.created, [`${s.prefix}/app`]);

    await peers.sm().send(new PutSecretValueCommand({ SecretId: s.connectionSecretName, SecretString: JSON.stringify({ secretId: "wrong-secret-id" }) }));
    const refused = await s.lambda({ config });
    assert.equal(refused.summary.exitCode, 2);
    assert.equal(refused.summary.fatal?.errorClass, "source-auth");
    assert.match(refused.summary.fatal?.message ?? "", /refused the approle credentials/);
  });

  test("a private CA: tls.caCertFile relative to the config file is trusted; without it the run stops before writing", async () => {
    const tlsBao = await startOpenBao({ tls: true });
    try {
      const s = await peers.scenario();
      const mount = s.mount;
      await tlsBao.mountKv(mount, 2);
      await tlsBao.api("POST", `${mount}/data/db`, { data: { v: peers.secret("tls-db") } });
      await connectionSecret(s, { vaultToken: tlsBao.rootToken });
      peers.canaries.push(tlsBao.rootToken);
      writeFileSync(join(s.dir, "vault-ca.pem"), tlsBao.caCertPem ?? "");
      const trusted = s.writeConfig({ name: "lambda-tls", address: tlsBao.url, sourceYaml: ["  tls:", "    caCertFile: vault-ca.pem"].join("\n") });
      const ok = await s.lambda({ config: trusted });
      assert.equal(ok.summary.exitCode, 0, JSON.stringify(ok.summary));
      assert.deepEqual(ok.summary.created, [`${s.prefix}/db`]);

      const untrusted = s.writeConfig({ name: "lambda-tls", address: tlsBao.url });
      const refused = await s.lambda({ config: untrusted });
      assert.equal(refused.summary.exitCode, 2);
      assert.match(refused.summary.fatal?.message ?? "", /certificate is not trusted: set source.tls.caCertFile/);
    } finally {
      await tlsBao.stop();
    }
  });
});

describe("the deployable bundle", () => {
  test("the esbuild bundle runs the packaged config next to it (first run creates)", async () => {
    const { bundleLambda } = await import("../../infra/bundle.js");
    const s = await tokenScenario();
    await s.put("bundled", { v: peers.secret("bundle") });
    const dir = bundleLambda();
    // As the stack packages it: the config file beside index.mjs, found without SECRETBRIDGE_CONFIG.
    copyFileSync(s.writeConfig({ name: "bundle" }), join(dir, "secretbridge.yaml"));
    const bundle = (await import(`${dir}/index.mjs?${Date.now()}`)) as { runLambda: typeof runLambda; handler: typeof handler };
    const env: Record<string, string> = { ...s.lambdaEnv() };
    delete env.SECRETBRIDGE_CONFIG;
    const summary = await bundle.runLambda({ getRemainingTimeInMillis: () => 300_000 }, { env, secretsManager: peers.sm(), logger: pino({ level: "silent" }) });
    assert.equal(summary.exitCode, 0, JSON.stringify(summary));
    assert.deepEqual(summary.created, [`${s.prefix}/bundled`]);
    assert.equal(typeof bundle.handler, "function");
  });
});
