/** What every CLI verb module exports: its flags and a run function over the library. */
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
