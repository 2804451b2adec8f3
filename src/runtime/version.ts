/**
 * What `husk-runtime --version` prints: husk's version, the spec version, and the commit the
 * helper was built from (asked of the helper, which may have been rebuilt on its own). Kept
 * apart from features.ts so that a `--version` loads no table and no `node:` module: the
 * package version is baked in by `npm run build`, and read from package.json only when
 * running from the sources.
 */
import { helperPath } from "../helper/path.ts";
import { OCI_VERSION } from "../oci/default-spec.ts";
import { packageRoot } from "../package-root.ts";

declare const HUSK_VERSION: string | undefined;

/** husk's version from package.json. */
export function packageVersion(): string {
  if (typeof HUSK_VERSION === "string") return HUSK_VERSION;
  const { readFileSync } = process.getBuiltinModule("node:fs") as typeof import("node:fs");
  return (JSON.parse(readFileSync(`${packageRoot()}/package.json`, "utf8")) as { version: string }).version;
}

function helperVersion(): string | undefined {
  const argv = [helperPath(), "--version"];
  if (typeof Bun !== "undefined") {
    try {
      const r = Bun.spawnSync(argv, { stdio: ["ignore", "pipe", "ignore"] });
      return r.exitCode === 0 ? r.stdout.toString().trim() : undefined;
    } catch {
      return undefined; // not built: Bun throws where Node reports ENOENT in the result
    }
  }
  const { spawnSync } = process.getBuiltinModule("node:child_process") as typeof import("node:child_process");
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** husk's version, the spec version, and the commit the helper was built from. */
export function versionInfo(): { version: string; spec: string; helper: string } {
  return { version: packageVersion(), spec: OCI_VERSION, helper: helperVersion() ?? "unknown (helper not built)" };
}
