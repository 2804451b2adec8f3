import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "restart",
  usage: "[options] CONTAINER [CONTAINER...]",
  summary: "restart containers: stop (SIGTERM, then SIGKILL after the grace period), then start",
  flags: [
    { name: "time", short: "t", type: "int", help: "seconds to wait before SIGKILL (default its --stop-timeout, else 10)" },
  ],
  async run(p, g) {
    const refs = needArgs(p, 1, "restart");
    const engine = await engineOf(g);
    const seconds = p.flags.time as number | undefined;
    const options = seconds === undefined ? {} : { timeoutMs: Math.max(0, seconds) * 1000 };
    return eachRef(refs, async (ref) => {
      await engine.restart(ref, options);
      return undefined;
    });
  },
};
export default verb;
