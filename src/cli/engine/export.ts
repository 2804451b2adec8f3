/** `husk export [-o FILE] CONTAINER`: docker's tar of a container's root filesystem. */
import { createWriteStream } from "node:fs";
import { HuskError } from "../../errors.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "export",
  usage: "[-o FILE] CONTAINER",
  summary: "write a container's root filesystem as a tar archive (stdout, or -o FILE)",
  flags: [{ name: "output", short: "o", type: "string", help: "write to a file instead of stdout" }],
  async run(p, g) {
    const [ref, ...extra] = needArgs(p, 1, "export");
    if (extra.length > 0) throw new HuskError('"husk export" takes one container');
    const out = p.flags.output as string | undefined;
    if (!out && process.stdout.isTTY) throw new HuskError("refusing to write an archive to a terminal: use -o FILE or redirect");
    const engine = await engineOf(g);
    engine.record(ref!); // an unknown container fails before -o makes a file
    const dest = out ? createWriteStream(out, { mode: 0o644 }) : process.stdout;
    await engine.exportContainer(ref!, dest);
    if (out) await new Promise<void>((resolve, reject) => dest.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return 0;
  },
};
export default verb;
