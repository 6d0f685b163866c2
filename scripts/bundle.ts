// `npm run bundle`: the whole CLI in one file, dist/secretbridge.mjs, runnable with plain `node`
// and no node_modules (`node dist/secretbridge.mjs sync -c secretbridge.yaml`). Every dependency is
// inlined except classic-level, a native module: `serve` with service.stateDir needs it installed
// next to the file (npm install classic-level); everything else runs from the file alone.
import { buildSync } from "esbuild";
import { chmodSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const bundleFile = join(repoRoot, "dist", "secretbridge.mjs");

export function bundleCli(): string {
  const { version } = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
  buildSync({
    stdin: {
      contents: 'import { main } from "./src/runtime/cli/main.ts";\nprocess.exitCode = await main(process.argv.slice(2));\n',
      resolveDir: repoRoot,
      sourcefile: "secretbridge-bundle-entry.ts",
      loader: "ts",
    },
    outfile: bundleFile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    minify: true,
    legalComments: "eof",
    // No package.json travels with the file: the version is inlined (see src/runtime/cli/version.ts).
    define: { __SECRETBRIDGE_VERSION__: JSON.stringify(version) },
    // Native (N-API prebuilds), loaded only by `serve` with service.stateDir.
    external: ["classic-level"],
    // Some dependencies are CommonJS and need `require`.
    banner: { js: "#!/usr/bin/env node\nimport { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);" },
    logLevel: "warning",
  });
  chmodSync(bundleFile, 0o755);
  return bundleFile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`bundled ${bundleCli()}\n`);
}
