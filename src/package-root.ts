/**
 * Where husk's package lives: the helper binary and package.json are found from here. From the
 * sources (src/) and the library build (dist/lib/) it is the nearest directory above this
 * module with a package.json; the bundled CLI cannot know it that way (the bundler bakes
 * import.meta.url in at build time), so its entry point says where it runs.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Memoised: the package does not move while the process runs. */
export function packageRoot(): string {
  root ??= findPackageRoot();
  return root;
}

/** Set by the CLI entry point from the script it runs as (src/cli or dist/cli, two levels down). */
export function setPackageRoot(dir: string): void {
  root = dir;
}
