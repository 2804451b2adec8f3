import { HuskError } from "../../errors.ts";
import { stderr, stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "logs",
  usage: "[options] CONTAINER",
  summary: "print a detached container's output",
  flags: [
    { name: "follow", short: "f", type: "bool", help: "keep printing until the container exits" },
    { name: "tail", short: "n", type: "string", help: 'lines from the end ("all" by default)' },
    { name: "timestamps", short: "t", type: "bool", help: "show each line's time" },
    { name: "since", type: "string", help: "lines from this time on: 10m, 2026-12-07T10:00:00Z, Unix seconds" },
    { name: "until", type: "string", help: "lines up to this time (same forms)" },
  ],
  async run(p, g) {
    const [ref] = needArgs(p, 1, "logs");
    const tailText = (p.flags.tail as string | undefined) ?? "all";
    if (tailText !== "all" && !/^\d+$/.test(tailText))
      throw new Error(`invalid --tail ${JSON.stringify(tailText)}: a number or "all"`);
    const engine = await engineOf(g);
    const rec = engine.record(ref!);
    if (!rec.detached) throw new Error(`container ${rec.name} ran in the foreground: its output went to the terminal, not a log`);
    const logs = engine.logs(ref!, {
      follow: p.flags.follow === true,
      tail: tailText === "all" ? undefined : Number(tailText),
      since: p.flags.since as string | undefined,
      until: p.flags.until as string | undefined,
    });
    try {
      for await (const e of logs) {
        const text = p.flags.timestamps ? `${e.time} ${e.log}` : e.log;
        (e.stream === "stderr" ? stderr : stdout)(text);
      }
    } catch (err) {
      // The library names LogsOptions.since; the user typed --since.
      if (err instanceof HuskError && /^LogsOptions\./.test(err.origin ?? ""))
        throw new HuskError(err.message.replace(/^LogsOptions\.(\w+): /, "--$1: "));
      throw err;
    }
    return 0;
  },
};
export default verb;
