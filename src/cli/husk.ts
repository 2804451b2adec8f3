#!/usr/bin/env bun
import { dirname, resolve } from "node:path";
import { setPackageRoot } from "../package-root.ts";
import { main } from "./main.ts";

// src/cli/husk.ts or dist/cli/husk.js: the package is two levels up from the running script.
setPackageRoot(resolve(dirname(process.argv[1] ?? "."), "../.."));

// bin/husk passes the name it was started as: husk-runtime is the OCI runtime; husk is the
// engine, whose `husk runtime …` is the runtime too. Faces never guess from the arguments.
// Started directly (bun src/cli/husk.ts create …), there is no face: the runtime, as before.
const [face, ...args] = process.argv.slice(2);
const run =
  face === "husk-runtime"
    ? main(args)
    : face !== "husk"
      ? main(process.argv.slice(2))
      : args[0] === "runtime"
        ? main(args.slice(1))
        : import("./engine/main.ts").then((m) => m.main(args));

// No top-level await: the installed CLI is this file bundled as CommonJS with a bytecode
// cache (see package.json "build"), and CommonJS has none.
run.then((code) => {
  process.exitCode = code;
});
