import { stderr, stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "rmi",
  usage: "[options] IMAGE [IMAGE...]",
  summary: "remove images",
  flags: [{ name: "force", short: "f", type: "bool", help: "remove an image with several tags, or used by stopped containers" }],
  async run(p, g) {
    const refs = needArgs(p, 1, "rmi");
    const engine = await engineOf(g);
    let code = 0;
    for (const ref of refs) {
      try {
        const r = await engine.removeImage(ref, { force: p.flags.force === true });
        for (const t of r.untagged) stdout(`Untagged: ${t}\n`);
        for (const d of r.deleted) stdout(`Deleted: ${d}\n`);
      } catch (err) {
        stderr(`husk: ${(err as Error).message}\n`);
        code = 1;
      }
    }
    return code;
  },
};
export default verb;
