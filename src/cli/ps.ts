import { ConflictError, HuskError } from "../errors.ts";
import { stdout } from "../sys/stdio.ts";
import { runtimeOf, type Verb } from "./verb.ts";

const verb: Verb = {
  name: "ps",
  takesId: true,
  usage: "[command options] <container-id> [ps options]",
  summary: "list the processes running inside a container",
  flags: [{ name: "format", short: "f", type: "string", help: 'select one of: table or json (default: "table")' }],
  async run({ flags, positionals }, globals) {
    const [id, ...psArgs] = positionals;
    if (!id) throw new HuskError('"ps" requires at least 1 argument: the container id');
    // A stopped container has no processes: runc prints the bare header.
    const pids = await runtimeOf(globals)
      .pids(id)
      .catch((err) => {
        if (err instanceof ConflictError) return [] as number[];
        throw err;
      });
    const format = (flags.format as string | undefined) ?? "table";
    if (format === "json") {
      stdout(`${JSON.stringify(pids)}\n`);
      return 0;
    }
    if (format !== "table") throw new HuskError(`invalid format option "${format}": must be table or json`);
    // Like runc: the host's ps output, filtered to the container's pids. node:child_process is
    // loaded here: the verbs that come with this one (per-container.ts) never need it.
    const { spawnSync } = await import("node:child_process");
    const out = spawnSync("ps", psArgs.length ? psArgs : ["-ef"], { encoding: "utf8" });
    if (out.status !== 0) throw new HuskError(`ps failed: ${out.stderr.trim()}`);
    const [header = "", ...lines] = out.stdout.split("\n");
    const pidColumn = header.trim().split(/\s+/).indexOf("PID");
    if (pidColumn < 0) throw new HuskError("couldn't find PID field in ps output");
    const wanted = new Set(pids);
    const kept = lines.filter((l) => wanted.has(Number(l.trim().split(/\s+/)[pidColumn])));
    stdout(`${[header, ...kept].join("\n")}\n`);
    return 0;
  },
};
export default verb;
