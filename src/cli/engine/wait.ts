import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "wait",
  usage: "CONTAINER [CONTAINER...]",
  summary: "wait for containers to stop, then print their exit codes",
  flags: [],
  async run(p, g) {
    const refs = needArgs(p, 1, "wait");
    const engine = await engineOf(g);
    for (const ref of refs) stdout(`${(await engine.wait(ref)).exitCode}\n`);
    return 0;
  },
};
export default verb;
