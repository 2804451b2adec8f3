import { HuskError } from "../errors.ts";
import { stdout } from "../sys/stdio.ts";
import { runtimeOf, type Verb } from "./verb.ts";

const verb: Verb = {
  name: "list",
  usage: "[command options]",
  summary: "list the containers under --root",
  flags: [
    { name: "format", short: "f", type: "string", help: 'select one of: table or json (default: "table")' },
    { name: "quiet", short: "q", type: "bool", help: "display only container IDs" },
  ],
  async run({ flags }, globals) {
    const states = await runtimeOf(globals).list();
    const format = (flags.format as string | undefined) ?? "table";
    if (flags.quiet) {
      stdout(states.map((s) => `${s.id}\n`).join(""));
    } else if (format === "json") {
      stdout(`${JSON.stringify(states)}\n`);
    } else if (format === "table") {
      const rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
      for (const s of states) rows.push([s.id, s.pid, s.status, s.bundle, s.created, s.owner || "root"].map(String));
      const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
      stdout(
        rows
          .map(
            (r) =>
              `${r
                .map((v, c) => v.padEnd((widths[c] ?? 0) + 3))
                .join("")
                .trimEnd()}\n`,
          )
          .join(""),
      );
    } else {
      throw new HuskError(`invalid format option "${format}": must be table or json`);
    }
    return 0;
  },
};
export default verb;
