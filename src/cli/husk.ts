#!/usr/bin/env bun
import { main } from "./main.ts";

// No top-level await: the installed CLI is this file bundled as CommonJS with a bytecode
// cache (see package.json "build"), and CommonJS has none.
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
