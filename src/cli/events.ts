import { HuskError } from "../errors.ts";
import { stdout } from "../sys/stdio.ts";
import { runtimeOf, type Verb } from "./verb.ts";

/** Go durations as runc takes them: 5s, 500ms, 1m. */
function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!m) throw new HuskError(`invalid --interval "${text}": expected a duration like 5s or 500ms`);
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

const verb: Verb = {
  name: "events",
  interspersed: true,
  takesId: true,
  usage: "[command options] <container-id>",
  summary: "display container events such as resource usage statistics",
  flags: [
    { name: "interval", type: "string", help: 'set the stats collection interval (default: "5s")' },
    { name: "stats", type: "bool", help: "display the container's stats then exit" },
  ],
  async run({ flags, positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"events" requires exactly 1 argument: the container id');
    const id = positionals[0] as string;
    const rt = runtimeOf(globals);
    if (flags.stats) {
      stdout(`${await rt.statsEvent(id)}\n`);
      return 0;
    }
    for await (const line of rt.events(id, parseDuration((flags.interval as string | undefined) ?? "5s"))) stdout(`${line}\n`);
    return 0;
  },
};
export default verb;
