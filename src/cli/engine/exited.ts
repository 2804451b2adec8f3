/** Hidden: what a detached container's monitor runs once the container has exited (see native/monitor.c). */
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "_exited",
  usage: "ID",
  summary: "record a detached container's exit and release what it held (run by its monitor)",
  flags: [],
  async run(p, g) {
    const [id] = needArgs(p, 1, "_exited");
    const engine = await engineOf(g);
    await engine.exited(id!);
    return 0;
  },
};
export default verb;
