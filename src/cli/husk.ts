#!/usr/bin/env bun
import { dirname, resolve } from "node:path";
import { setPackageRoot } from "../package-root.ts";
import { main } from "./main.ts";

// src/cli/husk.ts or dist/cli/husk.js: the package is two levels up from the running script.
setPackageRoot(resolve(dirname(process.argv[1] ?? "."), "../.."));

// No top-level await: the installed CLI is this file bundled as CommonJS with a bytecode
// cache (see package.json "build"), and CommonJS has none.
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
