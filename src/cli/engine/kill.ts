import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

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
    return eachRef(refs, async (ref) => {
      await engine.kill(ref, signal);
      return undefined;
    });
  },
};
export default verb;
