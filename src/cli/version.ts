import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { HELPER_PATH } from "../runtime/helper-driver.ts";
import { OCI_VERSION } from "../spec/default-spec.ts";

export function versionText(): string {
  // Two levels up from src/cli and from the bundled dist/cli alike.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  const helper = spawnSync(HELPER_PATH, ["--version"], { encoding: "utf8" });
  const commit = helper.status === 0 ? helper.stdout.trim() : "unknown (helper not built)";
  return `husk version ${pkg.version}\nspec: ${OCI_VERSION}\nhelper: ${commit}\n`;
}
