#!/usr/bin/env bun
import { setPackageRoot } from "../package-root.ts";
import { main } from "./main.ts";

// The package is two levels above the running CLI: src/cli/husk.ts from the sources, or
// dist/cli/husk, the executable `npm run build` compiles (whose script is /$bunfs/…, so its
// own path is the one to go by). String work only: node:path costs ~1 ms to load under Bun.
const self = process.argv[1]?.startsWith("/$bunfs/") ? process.execPath : (process.argv[1] ?? ".");
setPackageRoot(self.split("/").slice(0, -3).join("/") || "/");

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

// No top-level await: the installed CLI is compiled with a bytecode cache (see package.json
// "build"), which takes CommonJS only.
run.then((code) => {
  process.exitCode = code;
});
