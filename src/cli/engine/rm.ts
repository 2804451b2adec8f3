import { stderr, stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "rm",
  usage: "[options] CONTAINER [CONTAINER...]",
  summary: "remove containers (a running one only with -f)",
  flags: [{ name: "force", short: "f", type: "bool", help: "kill a running container first" }],
  async run(p, g) {
    const refs = needArgs(p, 1, "rm");
    const engine = await engineOf(g);
    let code = 0;
    for (const ref of refs) {
      try {
        await engine.remove(ref, { force: p.flags.force === true });
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
