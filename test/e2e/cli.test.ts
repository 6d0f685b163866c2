// The CLI as a user runs it: the built `bin/secretbridge.js` in a child process, real peers,
// exit codes and output as a shell or CI job sees them. Run after `npm run build`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { assertNoCanary, Peers } from "../helpers/harness.js";
import { HEAP_TRACE_FLAGS, heapGrowthFactors } from "../helpers/heap-trace.js";
import { canary, repoRoot } from "../helpers/peers.js";

const run = promisify(execFile);
const bin = join(repoRoot, "bin", "secretbridge.js");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), ...env },
      cwd: tmpdir(),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

let peers: Peers;
const canaries: string[] = [];
const emitted: string[] = [];
const dir = mkdtempSync(join(tmpdir(), "sb-e2e-"));

before(async () => {
  assert.ok(existsSync(join(repoRoot, "dist", "src", "runtime", "cli", "main.js")), "run `npm run build` first (npm test does)");
  peers = await Peers.start();
});
after(async () => {
  try {
    assertNoCanary(emitted, canaries);
  } finally {
    await peers.stop();
  }
});

describe("secretbridge CLI (built binary)", () => {
  test("validate: a good config exits 0; a bad one exits 2 naming every bad key", async () => {
    const good = join(dir, "good.yaml");
    writeFileSync(good, "name: prod\nsource:\n  mount: hybrid-aws-secrets\n");
    const ok = await cli(["validate", "-c", good]);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /valid\. sync "prod": hybrid-aws-secrets -> hybrid-aws-secrets\//);

    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "name: prod\nsource:\n  mount: m\n  kvVersion: 7\ndestination:\n  prefx: x\n");
    const ko = await cli(["validate", "-c", bad]);
    assert.equal(ko.code, 2);
    assert.match(ko.stderr, /\[config-invalid\] .*bad\.yaml is invalid:\n {2}- source\.kvVersion: must be 1, 2 or auto\n {2}- unknown key "prefx" under destination/);
  });

  test("iam-policy prints valid JSON scoped to the prefix", async () => {
    const r = await cli(["iam-policy", "--account", "123456789012", "--region", "eu-west-1", "--prefix", "team-a"]);
    assert.equal(r.code, 0, r.stderr);
    const policy = JSON.parse(r.stdout) as { Statement: { Sid: string; Action: string | string[]; Resource?: string; NotResource?: string }[] };
    assert.deepEqual(policy.Statement.map((s) => s.Sid), ["ListSecretsForInventory", "WriteReplicatedSecretsUnderPrefix", "DenySecretActionsOutsideThePrefix"]);
    const withDeletion = JSON.parse((await cli(["iam-policy", "--account", "123456789012", "--region", "eu-west-1", "--deletion", "--replicas"])).stdout) as typeof policy;
    assert.deepEqual(withDeletion.Statement.find((s) => s.Sid === "LifecycleUnderPrefix")?.Action, [
      "secretsmanager:DeleteSecret",
      "secretsmanager:RemoveRegionsFromReplication",
      "secretsmanager:ReplicateSecretToRegions",
      "secretsmanager:RestoreSecret",
    ]);
    assert.equal(policy.Statement[1]?.Resource, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team-a/*");
    const missing = await cli(["iam-policy", "--region", "eu-west-1"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--account <id>' not specified/);
  });

  test("the bin bounds V8's heap growth to 1.2 times the live data, unless node is given its own", async () => {
    // Without it V8 lets the old generation grow 4-fold between full collections on this machine.
    const factors = async (flags: string[]) => {
      const { stdout } = await run(process.execPath, [...HEAP_TRACE_FLAGS, ...flags, bin, "--version"], { env: { PATH: process.env.PATH ?? "" }, maxBuffer: 64 * 1024 * 1024 });
      return heapGrowthFactors(stdout);
    };
    const ours = await factors([]);
    assert.ok(ours.length >= 2, `V8 set ${ours.length} limits`);
    assert.equal(ours.at(-1), "1.2", `limits set with factors ${ours.join(", ")}`);
    assert.equal((await factors(["--heap-growing-percent=50"])).at(-1), "1.5");
  });

  test("a missing config file and an unknown command exit 2", async () => {
    const missing = await cli(["plan", "-c", join(dir, "nope.yaml")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file .*nope\.yaml: ENOENT/);
    const unknown = await cli(["synk"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'synk'/);
  });

  test("bootstrap-vault, then plan and sync with the printed read-only token; JSON logs when not a TTY", async () => {
    await peers.moto.reset();
    const mount = `e2e-${Date.now().toString(36)}`;
    const boot = await cli(["bootstrap-vault", "--mount", mount, "--json"], { BAO_ADDR: peers.bao.url, BAO_TOKEN: peers.bao.rootToken });
    assert.equal(boot.code, 0, boot.stderr);
    const { token, policy } = JSON.parse(boot.stdout) as { token: string; policy: string };
    assert.match(policy, new RegExp(`path "${mount}/\\*"`));
    const value = canary("e2e");
    canaries.push(value);
    await peers.bao.api("POST", `${mount}/data/app/db`, { data: { password: value } });

    const config = join(dir, "e2e.yaml");
    writeFileSync(config, `name: e2e\nsource:\n  mount: ${mount}\ndestination:\n  prefix: ${mount}\n`);
    const env = { ...peers.moto.awsEnv, BAO_ADDR: peers.bao.url, BAO_TOKEN: token };
    const plan = await cli(["plan", "-c", config], env);
    emitted.push(plan.stdout, plan.stderr);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`create\\s+app/db\\s+${mount}/app/db\\s+1\\s+planned\\s+not in the destination yet`));

    const sync = await cli(["sync", "-c", config], env);
    emitted.push(sync.stdout, sync.stderr);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /Sync e2e: 1 created, 0 updated, 0 unchanged, 0 conflicts, 0 skipped, 0 failures/);
    const logLines = sync.stderr.trim().split("\n").map((l) => JSON.parse(l) as { msg: string; level: number });
    assert.ok(logLines.some((l) => l.msg === "created"), sync.stderr);
    assert.ok(logLines.some((l) => l.msg === "run finished"));
    assert.equal((await peers.destination(mount)).get(`${mount}/app/db`)?.["secretbridge:source-version"], "1");
  });

  test("serve: answers /healthz and /readyz, and exits 0 on SIGTERM after its work", async () => {
    await peers.moto.reset();
    const { spawn } = await import("node:child_process");
    const { freePort } = await import("../helpers/peers.js");
    const port = await freePort();
    const config = join(dir, "serve.yaml");
    writeFileSync(config, `name: e2e\nsource:\n  mount: secret\ndestination:\n  prefix: served\nservice:\n  listen: 127.0.0.1:${port}\n`);
    const child = spawn(process.execPath, [bin, "serve", "-c", config], {
      env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), ...peers.moto.awsEnv, VAULT_ADDR: peers.bao.url, VAULT_TOKEN: peers.bao.rootToken, SECRETBRIDGE_API_TOKEN: "t" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      let ready = 0;
      for (let i = 0; i < 200 && ready !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
      }
      assert.equal(ready, 200, stderr);
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      const status = await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { authorization: "Bearer t" } });
      assert.equal(status.status, 200);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, stderr);
    emitted.push(stderr);
  });

  test("exit 2 and nothing written when the source refuses the token", async () => {
    await peers.moto.reset();
    const config = join(dir, "denied.yaml");
    writeFileSync(config, "name: e2e\nsource:\n  mount: secret\n  maxAttempts: 1\n");
    const r = await cli(["sync", "-c", config], { ...peers.moto.awsEnv, VAULT_ADDR: peers.bao.url, VAULT_TOKEN: "bogus" });
    emitted.push(r.stdout, r.stderr);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^secretbridge: \[source-auth\] .* refused the token/m);
  });
});
