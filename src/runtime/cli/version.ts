// The version `secretbridge --version` prints: package.json's, read at run time so it cannot drift.
// The single-file bundle (scripts/bundle.ts) inlines it through esbuild's `define`, since no
// package.json travels with that file.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

declare const __SECRETBRIDGE_VERSION__: string | undefined;

export function packageVersion(): string {
  if (typeof __SECRETBRIDGE_VERSION__ === "string") return __SECRETBRIDGE_VERSION__;
  // The nearest package.json named secretbridge above this module: src/runtime/cli under tsx,
  // dist/src/runtime/cli when compiled, <prefix>/lib/node_modules/secretbridge/... when installed.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
      if (pkg.name === "secretbridge" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // no package.json here (or not readable): keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}
