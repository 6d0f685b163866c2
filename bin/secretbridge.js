#!/usr/bin/env node
// Thin launcher so `npx secretbridge` and the package bin run the compiled CLI. The heap growth
// bound comes first, before the CLI and its libraries load (src/runtime/heap.ts).
import { boundHeapGrowth } from "../dist/src/runtime/heap.js";

boundHeapGrowth();
const { main } = await import("../dist/src/runtime/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
