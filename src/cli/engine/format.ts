/** --format for the listings and inspect: "json", a Go template (go-template.ts), or the verb's own table. */
import { stdout } from "../../sys/stdio.ts";
import type { Flag } from "./args.ts";
import { formatOf } from "./go-template.ts";

/** The flags of a listing's subcommand (volume ls, network ls …). */
export const FORMAT: Flag = { name: "format", short: "f", type: "string", help: '"json" or a Go template' };
export const QUIET: Flag = { name: "quiet", short: "q", type: "bool", help: "only names" };

/**
 * "json" prints each row as a JSON object on a line, a Go template prints each row through it;
 * false when there is no --format (the caller prints its table).
 */
export function printFormatted(format: unknown, rows: object[]): boolean {
  const f = formatOf(format);
  if (!f) return false;
  stdout(rows.map((r) => `${"json" in f ? JSON.stringify(r) : f.template(r)}\n`).join(""));
  return true;
}
