/**
 * Where husk's package lives: the helper binary and package.json are found from here. From the
 * sources (src/) and the library build (dist/lib/) it is the nearest directory above this
 * module with a package.json; the built CLI cannot know it that way (the bundler bakes
 * import.meta in at build time), so its entry point says where it runs.
 *
 * No `node:` module is loaded until a lookup needs one: under Bun each costs the CLI
 * milliseconds per start (see README, "where the time goes").
 */

let root: string | undefined;

const parent = (dir: string): string => dir.slice(0, Math.max(dir.lastIndexOf("/"), 1));

function findPackageRoot(): string {
  const { existsSync } = process.getBuiltinModule("node:fs") as typeof import("node:fs");
  let dir = import.meta.dirname;
  while (!existsSync(`${dir}/package.json`) && parent(dir) !== dir) dir = parent(dir);
  return dir;
}

/** Memoised: the package does not move while the process runs. */
export function packageRoot(): string {
  root ??= findPackageRoot();
  return root;
}

/** Set by the CLI entry point from where it runs (src/cli or dist/cli, two levels down). */
export function setPackageRoot(dir: string): void {
  root = dir;
}
