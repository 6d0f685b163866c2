// Bundles the Lambda runtime with esbuild into one ESM file, so `cdk synth` needs neither Docker
// nor network. The AWS SDK is bundled too: the version we test is the version we deploy.
import { buildSync } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const lambdaOutDir = join(repoRoot, "dist", "lambda");

export function bundleLambda(): string {
  buildSync({
    entryPoints: [join(repoRoot, "src", "runtime", "lambda", "handler.ts")],
    outfile: join(lambdaOutDir, "index.mjs"),
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    minify: true,
    sourcemap: true,
    legalComments: "none",
    // Nothing is external: the function gets only this file (no node_modules), so every import
    // must be inside it. Some dependencies are CommonJS and need `require`.
    banner: { js: "import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);" },
    logLevel: "warning",
  });
  return lambdaOutDir;
}

/**
 * The function's package: the bundle and the files beside it (the config, a CA). One directory
 * per content, so two stacks with different configs never share (or overwrite) a package.
 */
export function packageLambda(bundleDir: string, files: Record<string, string>): string {
  const hash = createHash("sha256");
  for (const [name, text] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) hash.update(`${name}\0${text}\0`);
  const dir = join(repoRoot, "dist", "lambda-packages", hash.digest("hex").slice(0, 16));
  mkdirSync(dir, { recursive: true });
  for (const name of ["index.mjs", "index.mjs.map"]) {
    if (existsSync(join(bundleDir, name))) copyFileSync(join(bundleDir, name), join(dir, name));
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`bundled ${bundleLambda()}\n`);
}
