import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "rm",
  usage: "[options] CONTAINER [CONTAINER...]",
  summary: "remove containers (a running one only with -f)",
  flags: [
    { name: "force", short: "f", type: "bool", help: "kill a running container first" },
    { name: "volumes", short: "v", type: "bool", help: "remove its anonymous volumes too" },
  ],
  async run(p, g) {
    const refs = needArgs(p, 1, "rm");
    const engine = await engineOf(g);
    return eachRef(refs, async (ref) => {
      await engine.remove(ref, { force: p.flags.force === true, volumes: p.flags.volumes === true });
      return undefined;
    });
  },
};
export default verb;
