import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs, table } from "./verb.ts";

const verb: EngineVerb = {
  name: "top",
  usage: "CONTAINER [ps OPTIONS]",
  summary: "show a container's processes (host pids; ps -ef unless ps options are given)",
  flags: [],
  command: true,
  async run(p, g) {
    const [ref, ...psArgs] = needArgs(p, 1, "top");
    const engine = await engineOf(g);
    const r = await engine.top(ref!, psArgs);
    stdout(table(r.titles, r.processes));
    return 0;
  },
};
export default verb;
