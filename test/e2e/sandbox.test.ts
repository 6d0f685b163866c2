// The README's first command as a new user meets it: `npm run sandbox -- --keep` (the built
// dist/scripts/sandbox.js) runs the walkthrough, then prints commands to look around. Each printed
// command is run as printed, in one shell with nothing but PATH and HOME from this machine, against
// the sandbox's own servers, for both destinations (default and `--destination ssm`). Run after
// `npm run build`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../helpers/peers.js";

const sandboxScript = join(repoRoot, "dist", "scripts", "sandbox.js");
const MARK = "@@secretbridge-sandbox-test@@";

interface Ran {
  line: string;
  code: number;
  output: string;
}

/** Runs `lines` in order in one bash (exports carry over), each one's output and exit code apart. */
function runInOneShell(lines: string[]): Promise<Ran[]> {
  const script = lines.map((line, i) => `echo "${MARK} start ${i}"\n${line}\necho "${MARK} end ${i} $?"`).join("\n");
  return new Promise((resolve, reject) => {
    // A fresh machine: node and the system's own tools, nothing installed beside them (no aws CLI).
    const shell = spawn("bash", ["-c", `exec 2>&1\n${script}`], { env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: tmpdir() }, cwd: tmpdir() });
    let out = "";
    shell.stdout.on("data", (c: Buffer) => (out += c.toString()));
    shell.on("error", reject);
    shell.on("exit", () => {
      resolve(
        lines.map((line, i) => {
          const start = out.indexOf(`${MARK} start ${i}\n`);
          const end = /(\d+)\n/.exec(out.slice(out.indexOf(`${MARK} end ${i} `) + `${MARK} end ${i} `.length));
          const output = start < 0 ? "" : out.slice(start + `${MARK} start ${i}\n`.length, out.indexOf(`${MARK} end ${i} `));
          return { line, code: end ? Number(end[1]) : -1, output };
        }),
      );
    });
  });
}

/**
 * Runs the sandbox with `--keep` and `args`, then every command it prints, each as printed, in one
 * shell; `check` looks at the sandbox's output and at what each command printed.
 */
async function sandboxAndItsCommands(args: string[], check: (sandboxOutput: string, outputOf: (needle: string) => string) => void): Promise<void> {
  assert.ok(existsSync(sandboxScript), "run `npm run build` first (npm run test:integration does)");
  // No aws CLI on PATH: the commands must not need one.
  const sandbox = spawn(process.execPath, [sandboxScript, "--keep", ...args], { env: { PATH: "/usr/bin:/bin", HOME: tmpdir() }, cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  sandbox.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  sandbox.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => sandbox.on("exit", (code) => resolve(code)));
  try {
    const deadline = Date.now() + 180_000;
    while (!stdout.includes("Servers keep running") && sandbox.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.ok(stdout.includes("Servers keep running"), `the sandbox did not get to its look-around commands:\n${stdout}\n${stderr}`);

    // The indented lines after "Look for yourself ...".
    const after = stdout.slice(stdout.indexOf("\nLook for yourself"));
    const lines = after.split("\n").slice(2).filter((_, i, all) => all.slice(0, i + 1).every((l) => l.startsWith("  "))).map((l) => l.trim());
    assert.ok(lines.length > 0, `printed commands:\n${lines.join("\n")}`);
    const ran = await runInOneShell(lines);
    for (const r of ran) {
      if (r.line.includes("# denied")) {
        assert.notEqual(r.code, 0, `${r.line}\n${r.output}`);
        assert.match(r.output, /Code: 403\. /, r.line);
      } else {
        assert.equal(r.code, 0, `${r.line}\n${r.output}`);
      }
    }
    assert.ok(lines.some((l) => /AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1/.test(l)), "both Region variables: botocore and awscli v1 read AWS_DEFAULT_REGION");
    const outputOf = (needle: string) => ran.find((r) => r.line.includes(needle))?.output ?? "";
    assert.match(outputOf("secretbridge.js plan"), /Plan sandbox: 0 to create, 0 to update, 2 unchanged, 0 conflicts, 0 skipped, 0 failures/);
    assert.match(outputOf("secretbridge.js verify"), /Verify sandbox: 2 in sync, 0 differ, 0 missing/);
    assert.match(outputOf("bao kv get hybrid-aws-secrets/first-secret-for-replication"), /^secrets\s+manager-v2$/m);
    check(stdout, outputOf);
  } finally {
    sandbox.kill("SIGINT");
    await exited;
  }
}

test("every command the sandbox prints runs on a machine with only Node.js and Python 3 (no aws CLI)", { timeout: 240_000 }, async () => {
  await sandboxAndItsCommands([], (sandboxOutput, outputOf) => {
    assert.match(sandboxOutput, /^Destination: AWS Secrets Manager, account 123456789012, Region us-east-1, prefix hybrid-aws-secrets\/$/m);
    assert.match(outputOf("list_secrets"), /^hybrid-aws-secrets\/first-secret-for-replication \{.*'version': '2'/m);
    assert.match(outputOf("list_secrets"), /^hybrid-aws-secrets\/second-secret-for-replication \{.*'version': '1'/m);
    assert.equal(outputOf("get_secret_value").trim(), '{"secrets":"manager-v2"}');
  });
});

test("--destination ssm: the same walkthrough into Parameter Store, and its commands run as printed", { timeout: 240_000 }, async () => {
  await sandboxAndItsCommands(["--destination", "ssm"], (sandboxOutput, outputOf) => {
    assert.match(sandboxOutput, /^Destination: AWS Systems Manager Parameter Store, account 123456789012, Region us-east-1, prefix hybrid-aws-secrets\/$/m);
    assert.match(sandboxOutput, /^Sync sandbox: 2 created, 0 updated, 0 unchanged/m);
    assert.match(sandboxOutput, /^Sync sandbox: 0 created, 0 updated, 2 unchanged, .*\nAPI calls: ssm:DescribeParameters=3 vault:/m);
    assert.match(sandboxOutput, /^Sync sandbox: 0 created, 1 updated, 1 unchanged/m);
    assert.match(outputOf("describe_parameters"), /^\/hybrid-aws-secrets\/first-secret-for-replication Standard \{.*'secretbridge:source-version': '2'/m);
    assert.match(outputOf("describe_parameters"), /^\/hybrid-aws-secrets\/second-secret-for-replication Standard \{.*'secretbridge:source-version': '1'/m);
    assert.equal(outputOf("get_parameter").trim(), '{"secrets":"manager-v2"}');
  });
});
