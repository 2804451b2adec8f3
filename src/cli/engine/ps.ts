import { parseFilters } from "../../engine/filters.ts";
import { ago } from "../../engine/human-time.ts";
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { printFormatted } from "./format.ts";
import { type EngineVerb, engineOf, table } from "./verb.ts";

const verb: EngineVerb = {
  name: "ps",
  usage: "[options]",
  summary: "list containers (running ones; -a for all)",
  flags: [
    { name: "all", short: "a", type: "bool", help: "show all containers, not only running ones" },
    { name: "quiet", short: "q", type: "bool", help: "only ids" },
    { name: "no-trunc", type: "bool", help: "do not shorten ids and commands" },
    {
      name: "format",
      type: "string",
      help: '"json" (a JSON object per line), a Go template ({{.Names}} {{.Status}}), or "table" and a template',
    },
    {
      name: "filter",
      short: "f",
      type: "list",
      help: "KEY=VALUE: id, name, label, status (created|running|paused|restarting|exited), exited, ancestor, network, volume, restart-policy",
    },
    { name: "last", short: "n", type: "int", help: "the last N containers made, in any state" },
    { name: "latest", short: "l", type: "bool", help: "the last container made, in any state" },
  ],
  async run(p, g) {
    const filterArgs = p.flags.filter as string[] | undefined;
    const filters = filterArgs ? parseFilters(filterArgs) : undefined;
    const last = p.flags.latest === true ? 1 : (p.flags.last as number | undefined);
    if (last !== undefined && last < 0) throw new HuskError(`--last: must be 0 or more, not ${last}`);
    const engine = await engineOf(g);
    // -n/-l list containers in any state, newest first, as docker's.
    const all = p.flags.all === true || (last !== undefined && last > 0);
    const list = (await engine.list({ all, filters })).slice(0, last === undefined || last === 0 ? undefined : last);
    const full = p.flags["no-trunc"] === true;
    const id = (s: string) => (full ? s : s.slice(0, 12));
    if (p.flags.quiet) {
      stdout(list.map((c) => `${id(c.id)}\n`).join(""));
      return 0;
    }
    const rows = list.map((c) => ({
      ID: id(c.id),
      Image: c.image,
      Command: JSON.stringify(c.command),
      CreatedAt: c.created,
      RunningFor: ago(c.created),
      State: c.state,
      Status: c.status,
      Ports: c.ports.join(", "),
      Names: c.name,
      // Strings, as docker's ps gives them to templates.
      Labels: Object.entries(c.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(","),
      Networks: c.networks.join(","),
      Mounts: c.mounts.join(","),
    }));
    if (printFormatted(p.flags.format, rows, { ID: "CONTAINER ID", RunningFor: "CREATED" })) return 0;
    const cmd = (c: string) => JSON.stringify(full || c.length <= 20 ? c : `${c.slice(0, 19)}…`);
    stdout(
      table(
        ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
        list.map((c) => [id(c.id), c.image, cmd(c.command), ago(c.created), c.status, c.ports.join(", "), c.name]),
      ),
    );
    return 0;
  },
};
export default verb;
