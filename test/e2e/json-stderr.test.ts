// stderr as a log shipper sees it: the built binary run with stderr piped (not a TTY) must write
// one JSON object per line and nothing else, through a failing sync (with an unreachable
// webhook) and `serve` from start to SIGTERM. Node warnings (the AWS SDK's Node.js version notice
// on Node < 22) are among those records. The one exception is the readable line that ends a
// command that cannot start (a config error here). Run after `npm run build`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { peersForThisFile } from "../helpers/harness.js";
import { freePort, repoRoot } from "../helpers/peers.js";

const bin = join(repoRoot, "bin", "secretbridge.js");
const peers = peersForThisFile();

interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** Runs the binary; `stopAfter` waits for it, then sends SIGTERM. */
function cli(args: string[], env: Record<string, string>, stopAfter?: (stderr: () => string) => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    if (stopAfter) {
      stopAfter(() => stderr).then(
        () => child.kill("SIGTERM"),
        (error: unknown) => {
          child.kill("SIGKILL");
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    }
  });
}

/** Every line of stderr parsed as one JSON object; fails naming the first line that is not. */
function records(stderr: string): LogRecord[] {
  assert.ok(stderr.endsWith("\n"), "stderr ends with a complete line");
  return stderr
    .slice(0, -1)
    .split("\n")
    .map((line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        assert.fail(`a stderr line is not JSON: ${JSON.stringify(line)}\n--- stderr ---\n${stderr}`);
      }
      assert.ok(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), `not an object: ${line}`);
      assert.equal(typeof (parsed as LogRecord).level, "number", line);
      assert.equal(typeof (parsed as LogRecord).msg, "string", line);
      return parsed as LogRecord;
    });
}

const nodeWarnsAboutItsVersion = Number(process.versions.node.split(".")[0]) < 22;

describe("stderr when it is not a TTY (built binary)", () => {
  test("sync with a failing secret and an unreachable webhook: JSON records only, warnings and the notification error included", async () => {
    assert.ok(existsSync(join(repoRoot, "dist", "src", "runtime", "cli", "main.js")), "run `npm run build` first (npm test does)");
    const s = await peers.scenario();
    await s.put("good", { v: peers.secret("good") });
    await s.put("bad name", { v: peers.secret("bad") });
    const config = s.writeConfig({ yaml: "notifications:\n  webhook:\n    url: http://127.0.0.1:9/hook\n    timeoutSeconds: 2\n" });
    const run = await cli(["sync", "-c", config], { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken() });
    peers.emitted.push(run.stdout, run.stderr);
    assert.equal(run.code, 1, run.stderr);
    const logs = records(run.stderr);
    assert.ok(logs.some((r) => r.msg === "run finished"));
    assert.ok(logs.some((r) => r.errorClass === "invalid-name" && r.path === "bad name" && r.level === 40));
    assert.ok(logs.some((r) => r.msg === "failure notification not sent" && r.notifier === "webhook" && r.level === 50));
    if (nodeWarnsAboutItsVersion) {
      const warning = logs.find((r) => r.warning !== undefined);
      assert.equal(warning?.level, 40);
      assert.match(warning?.msg ?? "", /^NodeVersionSupportWarning: The AWS SDK for JavaScript \(v3\) .* will require node >=22\./);
    }
    assert.match(run.stdout, /Sync it: 1 created/);
  });

  test("a command that cannot start ends with one readable line, not a record: the exception to JSON-only", async () => {
    const config = join(tmpdir(), "no-such-secretbridge.yaml");
    const run = await cli(["sync", "-c", config], {});
    assert.equal(run.code, 2);
    assert.equal(run.stderr, `secretbridge: [config-invalid] cannot read config file ${config}: ENOENT\n`);
    assert.equal(run.stdout, "");
  });

  test("serve, from start to SIGTERM: JSON records only, the listening address among them", async () => {
    const s = await peers.scenario();
    await s.put("app/db", { v: peers.secret("served") });
    const port = await freePort();
    const config = join(s.dir, "serve.yaml");
    writeFileSync(config, `name: served\nsource:\n  address: ${peers.bao.url}\n  mount: ${s.mount}\ndestination:\n  prefix: ${s.prefix}\nservice:\n  listen: 127.0.0.1:${port}\n`);
    const run = await cli(["serve", "-c", config], { ...peers.moto.awsEnv, VAULT_TOKEN: await s.readOnlyToken() }, async (stderr) => {
      for (let i = 0; i < 200; i++) {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`serve never became ready:\n${stderr()}`);
    });
    peers.emitted.push(run.stdout, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    const logs = records(run.stderr);
    assert.deepEqual(
      logs.filter((r) => r.msg === "secretbridge serve: listening").map((r) => [r.level, r.http]),
      [[30, `127.0.0.1:${port}`]],
    );
    assert.ok(logs.some((r) => r.msg === "run finished"));
    if (nodeWarnsAboutItsVersion) assert.ok(logs.some((r) => r.warning !== undefined));
  });
});
