// Lint: the recommended rules of ESLint and typescript-eslint, a ban on console.* in src/
// (everything user-facing goes through the logger or the renderer, which are the redaction points),
// and imports that only go down: runtimes wire the layers below them, never the other way round.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", ".peers/**", ".sandbox/**", "cdk.out/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly", AbortController: "readonly", AbortSignal: "readonly", fetch: "readonly", performance: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/runtime/cli/output.ts"],
    rules: { "no-console": "error" },
  },
  {
    // config, core, engine and the providers never import a runtime.
    files: ["src/config/**/*.ts", "src/core/**/*.ts", "src/engine/**/*.ts", "src/sources/**/*.ts", "src/destinations/**/*.ts", "src/notify/**/*.ts", "src/util/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["**/runtime/**", "**/runtime/*"], message: "imports only go down: a runtime wires this module, never the other way round" }] }] },
  },
  // A destination provider takes what AWS providers share from aws-common, never from another
  // provider's folder (the runtime ban above is repeated: a later rule of the same name replaces it).
  ...[
    ["src/destinations/aws-secrets-manager/**/*.ts", ["aws-ssm-parameter-store"]],
    ["src/destinations/aws-ssm-parameter-store/**/*.ts", ["aws-secrets-manager"]],
    ["src/destinations/aws-common/**/*.ts", ["aws-secrets-manager", "aws-ssm-parameter-store"]],
  ].map(([folder, others]) => ({
    files: [folder],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/runtime/**", "**/runtime/*"], message: "imports only go down: a runtime wires this module, never the other way round" },
            { group: others.flatMap((o) => [`**/${o}/**`, `**/${o}/*`]), message: "a provider never imports another provider: move what both need to destinations/aws-common" },
          ],
        },
      ],
    },
  })),
  {
    // core is pure: no provider, engine, runtime or SDK.
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/runtime/**", "**/runtime/*", "**/engine/*", "**/sources/**", "**/destinations/**", "**/notify/*", "**/config/*"], message: "core is pure: it imports nothing above it" },
            { group: ["@aws-sdk/*", "@smithy/*", "undici", "pino"], message: "core holds no SDK or I/O library" },
          ],
        },
      ],
    },
  },
);
