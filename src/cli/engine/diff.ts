/** `husk diff CONTAINER`: docker's list of what a container changed in its root filesystem. */
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "diff",
  usage: "CONTAINER",
  summary: "list what a container changed in its filesystem (A added, C changed, D deleted)",
  flags: [],
  async run(p, g) {
    const [ref, ...extra] = needArgs(p, 1, "diff");
    if (extra.length > 0) throw new HuskError('"husk diff" takes one container');
    const engine = await engineOf(g);
    stdout((await engine.diff(ref!)).map((c) => `${c.kind} ${c.path}\n`).join(""));
    return 0;
  },
};
export default verb;
