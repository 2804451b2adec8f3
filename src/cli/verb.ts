/** What every CLI verb module exports: its flags and a run function over the library. */

import { HuskError, quote } from "../errors.ts";
import { Runtime } from "../runtime/runtime.ts";
import { printWarning } from "../sys/stdio.ts";
import type { FlagSpec, Parsed } from "./args.ts";

export interface Globals {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
}

export interface Verb {
  name: string;
  usage: string;
  summary: string;
  flags: FlagSpec[];
  /** The first argument is a container id: main checks it before run is called. */
  takesId?: boolean;
  run(parsed: Parsed, globals: Globals): Promise<number> | number;
}

/** The library's runtime for the global flags; its warnings are printed as `husk: warning:` lines. */
export function runtimeOf(globals: Globals): Runtime {
  const r = globals.rootless;
  if (r !== "auto" && r !== "true" && r !== "false") {
    throw new HuskError(`invalid value ${quote(r)} for --rootless: "true", "false" or "auto"`);
  }
  const rootless = r === "auto" ? "auto" : r === "true";
  return new Runtime({ root: globals.root, debug: globals.debug, onWarning: printWarning, rootless });
}
