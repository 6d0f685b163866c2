// Bundles the Lambda runtime with esbuild into one ESM file, so `cdk synth` needs neither Docker
// nor network. The AWS SDK is bundled too: the version we test is the version we deploy.
import { buildSync } from "esbuild";
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
    // pino-pretty is only for terminals; some dependencies are CommonJS and need `require`.
    external: ["pino-pretty"],
    banner: { js: "import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);" },
    logLevel: "warning",
  });
  return lambdaOutDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`bundled ${bundleLambda()}\n`);
}
