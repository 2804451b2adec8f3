/**
 * The library build for Node and Bun: dist/lib/index.js (one ESM bundle for Node ≥ 20; the Bun
 * and Node sys implementations as chunks loaded on first use, so Node never sees bun:ffi) and
 * dist/lib/**.d.ts from tsc, with import paths pointing at .js as Node's resolution expects.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const out = join(root, "dist/lib");
rmSync(out, { recursive: true, force: true });

const built = await Bun.build({
  entrypoints: [join(root, "src/index.ts")],
  outdir: out,
  target: "node",
  format: "esm",
  splitting: true,
  naming: { chunk: "[name]-[hash].js" },
  // As the CLI's build: compiled seccomp filters are cached under the state root, per build.
  define: { HUSK_BUILD: JSON.stringify(`${Date.now()}.${process.pid}`) },
});
if (!built.success) {
  for (const log of built.logs) console.error(log);
  process.exit(1);
}

const tsc = Bun.spawnSync([join(root, "node_modules/.bin/tsc"), "-p", join(root, "tsconfig.lib.json")], { stdio: ["inherit", "inherit", "inherit"] });
if (tsc.exitCode !== 0) process.exit(tsc.exitCode ?? 1);

function rewrite(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) rewrite(path);
    else if (name.endsWith(".d.ts")) {
      writeFileSync(path, readFileSync(path, "utf8").replace(/(from\s+["'][^"']+)\.ts(["'])/g, "$1.js$2"));
    }
  }
}
rewrite(out);
