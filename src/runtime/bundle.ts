/** Reading an OCI bundle: config.json (or a spec in memory) parsed and validated, the rootfs located. */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fromSystemError, HuskError, oneLine, quote } from "../errors.ts";
import { parseJson } from "../oci/json.ts";
import type { Spec } from "../oci/types.ts";
import { parseSpec } from "../oci/validate.ts";

export interface Bundle {
  dir: string;
  spec: Spec;
  rootfs: string;
}

/**
 * A bundle directory's config.json, or a spec given in memory (a library caller's) with the
 * directory its relative root.path is taken from. Validation warnings go to onWarning.
 */
export function loadBundle(dir: string, onWarning: (message: string) => void, inMemory?: unknown): Bundle {
  const abs = resolve(dir);
  let json = inMemory;
  if (inMemory === undefined) {
    const configPath = join(abs, "config.json");
    let text: string;
    try {
      text = readFileSync(configPath, "utf8");
    } catch (err) {
      throw fromSystemError(err, `read ${quote(configPath)}`);
    }
    json = parseJson(text, `parse ${quote(configPath)}`);
  }
  const spec = parseSpec(json, {
    rootless: process.geteuid?.() !== 0,
    onWarning: (w) => onWarning(oneLine(`${w.path}: ${w.message}`)),
  });
  const rootfs = resolve(abs, spec.root.path);
  if (!existsSync(rootfs) || !statSync(rootfs).isDirectory()) {
    throw new HuskError("does not exist or is not a directory", { what: `rootfs ${quote(rootfs)}`, origin: "root.path" });
  }
  return { dir: abs, spec, rootfs };
}
