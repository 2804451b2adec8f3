/** What every CLI verb module exports: its flags and a run function over the library. */

import { HuskError, quote } from "../errors.ts";
import { Runtime } from "../runtime/runtime.ts";
import { printWarning } from "../sys/stdio.ts";
import type { FlagSpec, Parsed } from "./args.ts";
import { logDebug } from "./log.ts";

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
  /** Flags may follow the container id (`update ID --memory …`), as runc's argument reordering allows. */
  interspersed?: boolean;
  /**
   * The verb's path needs nothing of node:fs beyond files.ts: on Bun, the CLI points files.ts
   * at libc through bun:ffi before it runs (~1 ms less than loading node:fs).
   */
  libcFiles?: boolean;
  /** The exit status of a failure (runc's exec fails with 255, so that it differs from the process's own). */
  failureStatus?: number;
  run(parsed: Parsed, globals: Globals): Promise<number> | number;
}

/** The library's runtime for the global flags; its warnings are printed as `husk: warning:` lines. */
export function runtimeOf(globals: Globals): Runtime {
  const r = globals.rootless;
  if (r !== "auto" && r !== "true" && r !== "false") {
    throw new HuskError(`invalid value ${quote(r)} for --rootless: "true", "false" or "auto"`);
  }
  const rootless = r === "auto" ? "auto" : r === "true";
  return new Runtime({ root: globals.root, debug: globals.debug, onDebug: logDebug, onWarning: printWarning, rootless });
}
