/** `husk pause` and `husk unpause`: freeze and thaw containers' processes (the cgroup freezer), as docker's. */
import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

function freezerVerb(name: "pause" | "unpause", summary: string): EngineVerb {
  return {
    name,
    usage: "CONTAINER [CONTAINER...]",
    summary,
    flags: [],
    async run(p, g) {
      const refs = needArgs(p, 1, name);
      const engine = await engineOf(g);
      return eachRef(refs, async (ref) => {
        await (name === "pause" ? engine.pause(ref) : engine.unpause(ref));
        return undefined;
      });
    },
  };
}

export const pause = freezerVerb("pause", "freeze every process of running containers");
export const unpause = freezerVerb("unpause", "thaw paused containers");
export default pause;
