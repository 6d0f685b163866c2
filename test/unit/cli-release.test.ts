// What a release promises before any peer is involved: `--version` prints package.json's version,
// and the example configs shipped in examples/ pass `validate`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { main } from "../../src/runtime/cli/main.js";

const repoRoot = join(fileURLToPath(import.meta.url), "..", "..", "..");
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { env, output: { out: (t) => out.push(t), err: (t) => err.push(t) } });
  return { code, out: out.join(""), err: err.join("") };
}

describe("secretbridge --version", () => {
  test("prints package.json's version and exits 0", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await run([flag]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), pkg.version);
      assert.equal(r.err, "");
    }
  });

  test("--help lists it", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /-V, --version\s+print the version and exit/);
  });
});

describe("examples/", () => {
  for (const file of ["secretbridge.yaml", "multi-mapping.yaml"]) {
    test(`${file} passes validate`, async () => {
      const r = await run(["validate", "-c", join(repoRoot, "examples", file)], { VAULT_ADDR: "https://vault.example.com:8200" });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /: valid\. sync "/);
    });
  }
});
