import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { printFormatted } from "./format.ts";
import { imageInspect } from "./image.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "inspect",
  usage: "[options] NAME|ID [NAME|ID...]",
  summary: "low-level information on containers (or images), as a JSON array",
  flags: [
    { name: "type", type: "string", help: '"container" or "image" (default: a container, else an image)' },
    { name: "format", short: "f", type: "string", help: "a Go template for each object: {{.State.Pid}}, {{json .Config}}" },
  ],
  async run(p, g) {
    const refs = needArgs(p, 1, "inspect");
    const engine = await engineOf(g);
    const type = p.flags.type as string | undefined;
    const out: unknown[] = [];
    for (const ref of refs) {
      if (type !== "image") {
        try {
          out.push(await engine.inspect(ref));
          continue;
        } catch (err) {
          if (type === "container" || !(err instanceof HuskError && /no such container/.test(err.message))) throw err;
        }
      }
      try {
        out.push(await imageInspect(engine, ref));
      } catch {
        throw new HuskError(`no such object: ${ref}`);
      }
    }
    if (printFormatted(p.flags.format, out as object[])) return 0;
    stdout(`${JSON.stringify(out, null, 4)}\n`);
    return 0;
  },
};
export default verb;
