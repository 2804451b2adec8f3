import { stderr, stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "kill",
  usage: "[options] CONTAINER [CONTAINER...]",
  summary: "send a signal to containers (default SIGKILL)",
  flags: [{ name: "signal", short: "s", type: "string", help: "the signal (name or number; default KILL)" }],
  async run(p, g) {
    const refs = needArgs(p, 1, "kill");
    const engine = await engineOf(g);
    const s = (p.flags.signal as string | undefined) ?? "SIGKILL";
    const signal = /^\d+$/.test(s) ? Number(s) : s;
    let code = 0;
    for (const ref of refs) {
      try {
        await engine.kill(ref, signal);
        stdout(`${ref}\n`);
      } catch (err) {
        stderr(`husk: ${(err as Error).message}\n`);
        code = 1;
      }
    }
    return code;
  },
};
export default verb;
