/**
 * The CLI build: dist/cli/husk, one executable (`bun build --compile`) holding Bun, the CLI's
 * code and its bytecode; bin/husk and bin/husk-runtime link to it. Measured on a 2-core VM
 * against the bundle with a bytecode cache it replaces (`bun dist/cli/husk.js` behind a sh
 * wrapper): ~1 ms less of Bun's own start, no shell, and the node: modules a verb loads cost
 * less (README, "where the time goes"). Its cost is size: ~110 MB, a second copy of Bun
 * beside node_modules/bun.
 *
 * Defines: HUSK_VERSION (package.json's, so that `--version` reads no file) and HUSK_BUILD (a
 * build stamp that keys the compiled-seccomp cache, see src/runtime/seccomp-cache.ts).
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
rmSync(join(root, "dist/cli"), { recursive: true, force: true });
const build = Bun.spawnSync(
  [
    process.execPath,
    "build",
    join(root, "src/cli/husk.ts"),
    "--compile",
    "--bytecode",
    "--minify",
    // Each verb (and the engine) in chunks of its own, loaded by the import() that needs it:
    // the entry a `state` evaluates is then ~0.6 ms smaller than one file with everything.
    "--splitting",
    "--format=esm",
    // JavaScriptCore's tier-up thresholds ×100 until src/sys/jit.ts restores them: a verb's
    // code runs once, and the JIT's compiling cost more than it saved (husk run --rm 39 ms
    // against 44, husk-runtime run 27 against 29.6, medians of 40 interleaved; ×30 and ×1000
    // the same). --bytecode-order (a recorded layout) made no difference here.
    "--compile-jit-policy=100",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    "--define",
    `HUSK_VERSION=${JSON.stringify(version)}`,
    "--define",
    `HUSK_BUILD=${JSON.stringify(`${Date.now()}.${process.pid}`)}`,
    "--outfile",
    join(root, "dist/cli/husk"),
  ],
  { stdio: ["inherit", "ignore", "inherit"] },
);
process.exit(build.exitCode ?? 1);
