/** What every engine verb module exports, and the library objects it works through. */

import type { Engine } from "../../engine/engine.ts";
import { HuskError } from "../../errors.ts";
import { printWarning, stderr, stdout } from "../../sys/stdio.ts";
import { trace } from "../../trace.ts";
import type { Flag, Parsed } from "./args.ts";

export interface Globals {
  dataRoot?: string;
  stateRoot?: string;
  nftTable?: string;
}

export interface EngineVerb {
  name: string;
  usage: string;
  summary: string;
  flags: Flag[];
  /** Parsing stops at the first positional (the command's own flags follow it). */
  command?: boolean;
  run(parsed: Parsed, globals: Globals): Promise<number> | number;
}

export async function engineOf(g: Globals): Promise<Engine> {
  trace("cli: engine loading");
  const { Engine } = await import("../../engine/engine.ts");
  trace("cli: engine loaded");
  return new Engine({
    dataRoot: g.dataRoot,
    stateRoot: g.stateRoot,
    nftTable: g.nftTable,
    onWarning: printWarning,
    // Tests and benchmarks leave the host's forwarding alone.
    ipForward: process.env.HUSK_IP_FORWARD !== "0",
  });
}

/** At least `min` positionals, or docker's complaint. */
export function needArgs(p: Parsed, min: number, verb: string): string[] {
  if (p.positionals.length < min)
    throw new HuskError(`"husk ${verb}" requires at least ${min} argument${min === 1 ? "" : "s"}; see husk ${verb} --help`);
  return p.positionals;
}

/**
 * Rows of cells as columns: each cell but a row's last padded to its column's widest plus
 * three spaces, as docker's tables (Go's tabwriter with padding 3).
 */
export function alignColumns(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, (r[i] as string).length);
  }
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
      .join("")
      .trimEnd();
  return rows.map((r) => `${line(r)}\n`).join("");
}

/** A table with columns padded as docker pads them (3 spaces between). */
export function table(head: string[], rows: string[][]): string {
  return alignColumns([head, ...rows]);
}

/**
 * Do `fn` for each container or image named, as docker does: what succeeds is printed (by
 * default its name), each failure is one `husk:` line, and the status is 1 if any failed.
 */
export async function eachRef(refs: string[], fn: (ref: string) => Promise<string | undefined>): Promise<number> {
  let code = 0;
  for (const ref of refs) {
    try {
      const out = await fn(ref);
      stdout(out ?? `${ref}\n`);
    } catch (err) {
      stderr(`husk: ${(err as Error).message}\n`);
      code = 1;
    }
  }
  return code;
}
