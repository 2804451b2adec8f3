import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { helperPath } from "../helper/path.ts";
import { packageRoot } from "../package-root.ts";
import { OCI_VERSION } from "../spec/default-spec.ts";

export function versionText(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
  const helper = spawnSync(helperPath(), ["--version"], { encoding: "utf8" });
  const commit = helper.status === 0 ? helper.stdout.trim() : "unknown (helper not built)";
  return `husk version ${pkg.version}\nspec: ${OCI_VERSION}\nhelper: ${commit}\n`;
}
