/**
 * Where husk's package lives: the helper binary and package.json are found from here. From
 * the sources that is one level above this module; the bundled CLI cannot know it that way
 * (the bundler bakes import.meta.url in at build time), so its entry point says where it runs.
 */
import { fileURLToPath } from "node:url";

let root = fileURLToPath(new URL("..", import.meta.url));

export function packageRoot(): string {
  return root;
}

/** Set by the CLI entry point from the script it runs as (src/cli or dist/cli, two levels down). */
export function setPackageRoot(dir: string): void {
  root = dir;
}
