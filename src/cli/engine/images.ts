import { ago } from "../../engine/human-time.ts";
import { stdout } from "../../sys/stdio.ts";
import { printFormatted } from "./format.ts";
import { type EngineVerb, engineOf, table } from "./verb.ts";

/** docker's sizes: decimal units, one decimal. */
export function humanSize(n: number): string {
  if (n < 1000) return `${n}B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)}kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)}MB`;
  return `${(n / 1e9).toFixed(2)}GB`;
}

const verb: EngineVerb = {
  name: "images",
  usage: "[options]",
  summary: "list images",
  flags: [
    { name: "all", short: "a", type: "bool", help: "show all images" },
    { name: "quiet", short: "q", type: "bool", help: "only ids" },
    { name: "no-trunc", type: "bool", help: "full ids" },
    { name: "format", type: "string", help: '"json" (a JSON object per line) or a Go template: {{.Repository}}:{{.Tag}}' },
  ],
  async run(p, g) {
    const engine = await engineOf(g);
    const images = await engine.images.list();
    const id = (d: string) => (p.flags["no-trunc"] ? d : d.slice(7, 19));
    if (p.flags.quiet) {
      stdout([...new Set(images.map((i) => id(i.id)))].map((i) => `${i}\n`).join(""));
      return 0;
    }
    const rows = images.flatMap((i) =>
      (i.repoTags.length ? i.repoTags : ["<none>:<none>"]).map((t) => {
        const at = t.lastIndexOf(":");
        return { repo: t.slice(0, at), tag: t.slice(at + 1), id: id(i.id), created: i.created ?? "", size: i.size };
      }),
    );
    const objects = rows.map((r) => ({
      Repository: r.repo,
      Tag: r.tag,
      ID: r.id,
      CreatedAt: r.created,
      CreatedSince: ago(r.created),
      Size: humanSize(r.size),
    }));
    if (printFormatted(p.flags.format, objects, { ID: "IMAGE ID", CreatedSince: "CREATED" })) return 0;
    stdout(
      table(
        ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        objects.map((o) => [o.Repository, o.Tag, o.ID, o.CreatedSince, o.Size]),
      ),
    );
    return 0;
  },
};
export default verb;
