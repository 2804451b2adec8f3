/** --format for the listings and inspect: "json", a Go template (go-template.ts), or the verb's own table. */
import { stdout } from "../../sys/stdio.ts";
import type { Flag } from "./args.ts";
import { formatOf } from "./go-template.ts";
import { alignColumns } from "./verb.ts";

/** The flags of a listing's subcommand (volume ls, network ls …). */
export const FORMAT: Flag = { name: "format", short: "f", type: "string", help: '"json" or a Go template' };
export const QUIET: Flag = { name: "quiet", short: "q", type: "bool", help: "only names" };

/** A field's column title where the verb names none: "RunningFor" → "RUNNING FOR". */
const titleOf = (field: string) => field.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();

/**
 * What --format makes of the rows: "json", a JSON object a line; a Go template, each row
 * through it; "table TEMPLATE", a header line (the template applied to the column titles:
 * `headers`, else the field's name in capitals) then the rows, tab-separated cells aligned.
 * undefined when there is no --format (or `table` alone): the caller's own table.
 */
export function formatRows(format: unknown, rows: object[], headers: Record<string, string> = {}): string | undefined {
  const f = formatOf(format);
  if (!f) return undefined;
  if ("json" in f) return rows.map((r) => `${JSON.stringify(r)}\n`).join("");
  const out = rows.map((r) => f.template(r));
  if (!f.table) return out.map((o) => `${o}\n`).join("");
  // Any field the template names has a title: a header object that answers every name.
  const titles = new Proxy({} as Record<string, string>, {
    has: () => true,
    get: (_, k) => (typeof k === "string" ? (headers[k] ?? titleOf(k)) : undefined),
  });
  const lines = [f.template(titles), ...out].flatMap((o) => o.split("\n"));
  return alignColumns(lines.map((l) => l.split("\t")));
}

/** Print formatRows' text; false when the caller prints its own table. */
export function printFormatted(format: unknown, rows: object[], headers: Record<string, string> = {}): boolean {
  const text = formatRows(format, rows, headers);
  if (text === undefined) return false;
  stdout(text);
  return true;
}
