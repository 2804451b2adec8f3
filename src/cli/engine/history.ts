/** `husk history [-q] [--no-trunc] [--format json] IMAGE`: docker's view of how an image's layers were made. */

import { ago } from "../../engine/human-time.ts";
import { HuskError } from "../../errors.ts";
import { imageHistory } from "../../image/history.ts";
import { stdout } from "../../sys/stdio.ts";
import { printFormatted } from "./format.ts";
import { humanSize } from "./images.ts";
import { type EngineVerb, engineOf, needArgs, table } from "./verb.ts";

const verb: EngineVerb = {
  name: "history",
  usage: "[options] IMAGE",
  summary: "show how an image's layers were made, newest first",
  flags: [
    { name: "quiet", short: "q", type: "bool", help: "only image ids" },
    { name: "no-trunc", type: "bool", help: "full ids and commands" },
    { name: "format", type: "string", help: '"json" (a JSON object per line) or a Go template: {{.CreatedBy}}' },
  ],
  async run(p, g) {
    const [ref, ...extra] = needArgs(p, 1, "history");
    if (extra.length > 0) throw new HuskError('"husk history" takes one image');
    const engine = await engineOf(g);
    const rows = imageHistory(await engine.images.inspect(ref!));
    const full = p.flags["no-trunc"] === true;
    const id = (d: string) => (d === "<missing>" || full ? d : d.slice(7, 19));
    if (p.flags.quiet) {
      stdout(rows.map((r) => `${id(r.id)}\n`).join(""));
      return 0;
    }
    const objects = rows.map((r) => ({
      ID: r.id,
      CreatedAt: r.created,
      CreatedSince: ago(r.created),
      CreatedBy: r.createdBy,
      Size: humanSize(r.size),
      Comment: r.comment,
    }));
    if (printFormatted(p.flags.format, objects, { ID: "IMAGE", CreatedSince: "CREATED" })) return 0;
    const by = (s: string) => (full || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
    stdout(
      table(
        ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
        objects.map((o) => [id(o.ID), o.CreatedSince, by(o.CreatedBy), o.Size, o.Comment]),
      ),
    );
    return 0;
  },
};
export default verb;
