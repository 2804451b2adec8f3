/** --format for the listings and inspect: "json", a Go template (go-template.ts), or the verb's own table. */
import { stdout } from "../../sys/stdio.ts";
import { formatOf } from "./go-template.ts";

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
