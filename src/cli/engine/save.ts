import { HuskError } from "../../errors.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "save",
  usage: "[options] IMAGE [IMAGE...]",
  summary: "save images to a docker archive (stdout, or -o FILE)",
  flags: [
    { name: "output", short: "o", type: "string", help: "write to a file instead of stdout" },
    { name: "format", type: "string", help: '"docker-archive" (default) or "oci-archive"' },
  ],
  async run(p, g) {
    const refs = needArgs(p, 1, "save");
    const format = (p.flags.format as string | undefined) ?? "docker-archive";
    if (format !== "docker-archive" && format !== "oci-archive") throw new HuskError(`unknown format ${JSON.stringify(format)}`);
    const out = p.flags.output as string | undefined;
    if (!out && process.stdout.isTTY) throw new HuskError("refusing to write an archive to a terminal: use -o FILE or redirect");
    const engine = await engineOf(g);
    await engine.saveImage(refs, out ?? process.stdout, { format });
    return 0;
  },
};
export default verb;
