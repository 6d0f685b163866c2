#!/usr/bin/env node
// Thin launcher so `npx secretbridge` and the package bin run the compiled CLI.
import { main } from "../dist/src/runtime/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
