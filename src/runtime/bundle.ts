/** Reading an OCI bundle: config.json parsed and validated, the rootfs located. */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fromSystemError, HuskError, oneLine, quote } from "../errors.ts";
import { parseJson } from "../spec/json.ts";
import type { Spec } from "../spec/types.ts";
import { parseSpec } from "../spec/validate.ts";
import { stderr } from "../sys/stdio.ts";

export interface Bundle {
  dir: string;
  spec: Spec;
  rootfs: string;
}

export function loadBundle(dir: string): Bundle {
  const abs = resolve(dir);
  const configPath = join(abs, "config.json");
  let text: string;
  try {
    text = readFileSync(configPath, "utf8");
  } catch (err) {
    throw fromSystemError(err, `read ${quote(configPath)}`);
  }
  const json = parseJson(text, `parse ${quote(configPath)}`);
  const spec = parseSpec(json, {
    rootless: process.geteuid?.() !== 0,
    onWarning: (w) => stderr(`husk: warning: ${oneLine(`${w.path}: ${w.message}`)}\n`),
  });
  const rootfs = resolve(abs, spec.root.path);
  if (!existsSync(rootfs) || !statSync(rootfs).isDirectory()) {
    throw new HuskError("does not exist or is not a directory", { what: `rootfs ${quote(rootfs)}`, origin: "root.path" });
  }
  return { dir: abs, spec, rootfs };
}
