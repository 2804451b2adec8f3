#!/usr/bin/env bun
import { setPackageRoot } from "../package-root.ts";
import { normalJitLater } from "../sys/jit.ts";
import { main } from "./main.ts";

// Two ways in. Built (`npm run build`): dist/cli/husk, one executable that bin/husk and
// bin/husk-runtime link to; its script is /$bunfs/…, so it goes by its own path and by the
// name it was started as (process.argv0). From the sources: bun src/cli/husk.ts <face> …, as
// the built CLI starts it under HUSK_FROM_SRC=1 (see from-sources.ts). String work only here:
// node:path would cost each call a millisecond.
normalJitLater();
const built = process.argv[1]?.startsWith("/$bunfs/") === true;
const self = built ? process.execPath : (process.argv[1] ?? ".");
const packageRoot = self.split("/").slice(0, -3).join("/") || "/";
setPackageRoot(packageRoot);
const [face, ...args] = built
  ? [process.argv0.slice(process.argv0.lastIndexOf("/") + 1), ...process.argv.slice(2)]
  : process.argv.slice(2);

// husk-runtime is the OCI runtime; husk is the engine, whose `husk runtime …` is the runtime
// too. Faces never guess from the arguments. Started from the sources without a face
// (bun src/cli/husk.ts create …), it is the runtime, as before.
const run =
  built && process.env.HUSK_FROM_SRC
    ? import("./from-sources.ts").then((m) => m.execSources(packageRoot, face as string, args))
    : face === "husk-runtime"
      ? main(args)
      : face !== "husk"
        ? // Any other name is the runtime under that name (a drop-in `runc` link): help and
          // --version say the name it was started as.
          built
          ? main(args, face)
          : main(process.argv.slice(2))
        : args[0] === "runtime"
          ? main(args.slice(1), "husk runtime")
          : import("./engine/main.ts").then((m) => m.main(args));

run.then((code) => {
  process.exitCode = code;
});
