// What a user sees from the built CLI (`bin/secretbridge.js` in a child process, real peers): which
// source, account and Region a run targets, a scope that lists nothing, setup errors that always
// end in one readable line, and failures printed once on a terminal. Run after `npm run build`.
import assert from "node:assert/strict";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { peersForThisFile } from "../helpers/harness.js";
import { freePort, repoRoot } from "../helpers/peers.js";

const bin = join(repoRoot, "bin", "secretbridge.js");
const peers = peersForThisFile();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the binary with stdout and stderr piped (not a TTY), as a CI job does. */
function cli(args: string[], env: Record<string, string>): Promise<Result> {
  assert.ok(existsSync(join(repoRoot, "dist", "src", "runtime", "cli", "main.js")), "run `npm run build` first (npm run test:integration does)");
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env }, cwd: tmpdir() }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      peers.emitted.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs the binary under a pseudo-terminal (util-linux `script`), as a user at a shell does: the
 * CLI sees a TTY on stdout and stderr and logs in its readable form. Returns everything the
 * terminal showed, colours removed, with plain newlines.
 */
function onTerminal(args: string[], env: Record<string, string>): Promise<Result> {
  const command = [process.execPath, bin, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  return new Promise((resolve) => {
    execFile("script", ["-qec", command, "/dev/null"], { env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), TERM: "xterm", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...env }, cwd: tmpdir() }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      // eslint-disable-next-line no-control-regex
      const shown = stdout.replace(/\x1b\[[0-9;]*m/g, "").replace(/\r\n/g, "\n");
      peers.emitted.push(shown, stderr);
      resolve({ code, stdout: shown, stderr });
    });
  });
}

const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

describe("setup errors: one readable line on stderr, whatever the log level; with --json an error object on stdout", () => {
  test("a missing config file, with --json and --log-level silent", async () => {
    const config = join(tmpdir(), "no-such-secretbridge.yaml");
    const run = await cli(["sync", "-c", config, "--json", "--log-level", "silent"], {});
    assert.equal(run.code, 2);
    const message = `cannot read config file ${config}: ENOENT`;
    assert.equal(run.stderr, `secretbridge: [config-invalid] ${message}\n`);
    assert.deepEqual(JSON.parse(run.stdout), { error: { class: "config-invalid", message }, exitCode: 2 });
  });

  test("an AppRole login the source refuses, with --log-level silent and with --json", async () => {
    const s = await peers.scenario();
    const config = s.writeConfig({ sourceYaml: "  auth:\n    method: approle\n    roleId: no-such-role\n" });
    const message = `${peers.bao.url} refused the approle credentials (HTTP 403): check source.auth.roleId and the secret id (secretIdFile or $VAULT_SECRET_ID): wrong, expired or used up`;
    const silent = await cli(["plan", "-c", config, "--log-level", "silent"], { ...peers.moto.awsEnv, VAULT_SECRET_ID: "not-a-secret-id" });
    assert.equal(silent.code, 2);
    assert.equal(silent.stderr, `secretbridge: [source-auth] ${message}\n`);
    const json = await cli(["plan", "-c", config, "--json"], { ...peers.moto.awsEnv, VAULT_SECRET_ID: "not-a-secret-id" });
    assert.equal(json.code, 2);
    assert.deepEqual(JSON.parse(json.stdout), { error: { class: "source-auth", message }, exitCode: 2 });
    assert.equal(json.stderr.trimEnd().split("\n").at(-1), `secretbridge: [source-auth] ${message}`);
  });

  test("a static token the source refuses: the error once, on stderr, and the JSON error object", async () => {
    const s = await peers.scenario();
    const config = s.writeConfig();
    const message = `${peers.bao.url} refused the token: it is invalid, expired or revoked (not a policy problem): log in again or replace it`;
    const human = await cli(["sync", "-c", config, "--log-level", "silent"], { ...peers.moto.awsEnv, VAULT_TOKEN: "bogus" });
    assert.equal(human.code, 2);
    assert.equal(human.stderr, `secretbridge: [source-auth] ${message}\n`);
    assert.equal(occurrences(human.stdout, message), 0, human.stdout);
    const json = await cli(["sync", "-c", config, "--json", "--log-level", "silent"], { ...peers.moto.awsEnv, VAULT_TOKEN: "bogus" });
    assert.equal(json.code, 2);
    const parsed = JSON.parse(json.stdout) as { error: unknown; exitCode: number };
    assert.deepEqual([parsed.error, parsed.exitCode], [{ class: "source-auth", message }, 2]);
    assert.equal(json.stderr, `secretbridge: [source-auth] ${message}\n`);
  });

  test("an unreachable source, logs on: JSON records, then the readable line last", async () => {
    const s = await peers.scenario();
    const config = s.writeConfig({ address: `http://127.0.0.1:${await freePort()}` });
    const run = await cli(["plan", "-c", config], { ...peers.moto.awsEnv, VAULT_TOKEN: "t" });
    assert.equal(run.code, 2);
    const lines = run.stderr.trimEnd().split("\n");
    assert.match(lines.at(-1) ?? "", /^secretbridge: \[source-unavailable\] .*ECONNREFUSED/);
    for (const line of lines.slice(0, -1)) assert.equal(typeof (JSON.parse(line) as { level: number }).level, "number", line);
  });
});

describe("a scope that lists nothing", () => {
  test("a sub-path typo: exit 0, and the summary and the JSON report warn, naming the mapping and where", async () => {
    const s = await peers.scenario();
    await s.put("team-a/db", { password: peers.secret("team-a") });
    const config = s.writeConfig({ sourceYaml: "  path: tema-a" });
    const env = { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken() };
    const warning = `source: ${s.mount}/tema-a lists no secrets: check source.mount and source.path for a typo`;
    const human = await cli(["plan", "-c", config], env);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^\(no secrets in scope\)$/m);
    assert.match(human.stdout, new RegExp(`^Warnings:\\n {2}- ${warning.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`, "m"));
    const json = await cli(["plan", "-c", config, "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { warnings: string[] }).warnings, [warning]);
  });
});

describe("on a terminal", () => {
  test("each failure is printed once, with its path and class", async () => {
    const s = await peers.scenario();
    await s.put("good", { v: peers.secret("good") });
    await s.put("bad name", { v: peers.secret("bad") });
    await s.put("taken", { v: peers.secret("taken") });
    // Someone else's secret where "taken" would go: a failure whose message names the destination.
    await peers.sm().send(new CreateSecretCommand({ Name: `${s.prefix}/taken`, SecretString: "not ours" }));
    const run = await onTerminal(["sync", "-c", s.writeConfig()], { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken() });
    assert.equal(run.code, 1, run.stdout);
    assert.equal(occurrences(run.stdout, "the name contains characters AWS does not allow"), 1, run.stdout);
    assert.equal(occurrences(run.stdout, "exists without secretbridge ownership tags"), 1, run.stdout);
    assert.match(run.stdout, /^ {2}- \[invalid-name\] bad name: the name contains characters AWS does not allow \(" "\)/m);
    assert.match(run.stdout, new RegExp(`^ {2}- \\[conflict-unmanaged\\] ${s.prefix}/taken exists without secretbridge ownership tags`, "m"));
    assert.match(run.stdout, /^Sync it: 1 created, 0 updated, 0 unchanged, 1 conflicts, 1 skipped, 2 failures /m);
  });
});

describe("the target of a run, before its output", () => {
  test("plan prints the source, mounts, AWS account, Region and prefixes first; --json reports them as target", async () => {
    const s = await peers.scenario();
    await s.put("app/db", { password: peers.secret("target") });
    const config = s.writeConfig({ yaml: `mappings:\n  - mount: ${s.mount}\n    path: app\n    prefix: ${s.prefix}/app\n  - mount: ${s.mount}\n    path: web\n    prefix: ${s.prefix}/web\n` });
    const env = { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken() };
    const human = await cli(["plan", "-c", config], env);
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.split("\n");
    assert.deepEqual(lines.slice(0, 2), [
      `Source: ${peers.bao.url}, mounts ${s.mount}/app, ${s.mount}/web`,
      `Destination: AWS Secrets Manager, account 123456789012, Region us-east-1, prefixes ${s.prefix}/app/, ${s.prefix}/web/`,
    ]);
    assert.match(lines[2] ?? "", /^ACTION {2}SOURCE PATH/, "then the plan");
    const json = await cli(["plan", "-c", config, "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as { target: unknown }).target, {
      name: "default",
      source: { address: peers.bao.url, mounts: [`${s.mount}/app`, `${s.mount}/web`] },
      destination: { service: "AWS Secrets Manager", account: "123456789012", region: "us-east-1", prefixes: [`${s.prefix}/app/`, `${s.prefix}/web/`] },
    });
  });

  test("credentials in the source address are refused and never shown; an account that cannot be read is 'unknown (<code>)' and the run goes on", async () => {
    const s = await peers.scenario();
    const port = new URL(peers.bao.url).port;
    const withPassword = s.writeConfig({ address: `http://alice:s3cr3t-pw@127.0.0.1:${port}` });
    const refused = await cli(["plan", "-c", withPassword], { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken() });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /\[config-invalid\][^]*source\.address: must not hold a user name or password/);
    assert.ok(!refused.stdout.includes("s3cr3t-pw") && !refused.stderr.includes("s3cr3t-pw"), `${refused.stdout}\n${refused.stderr}`);

    const config = s.writeConfig();
    const run = await cli(["plan", "-c", config], { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken(), AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${await freePort()}` });
    assert.deepEqual(run.stdout.split("\n").slice(0, 2), [
      `Source: http://127.0.0.1:${port}, mount ${s.mount}`,
      `Destination: AWS Secrets Manager, account unknown (ECONNREFUSED), Region us-east-1, prefix ${s.prefix}/`,
    ]);
  });

  test("with destination.assumeRole the account is the role's: the one the secrets are written into", async () => {
    const s = await peers.scenario();
    const config = s.writeConfig({ yaml: "  assumeRole:\n    roleArn: arn:aws:iam::111111111111:role/secretbridge-writer\n" });
    const run = await cli(["plan", "-c", config, "--json"], { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken() });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { target: { destination: { account: string } } }).target.destination.account, "111111111111");
  });
});
