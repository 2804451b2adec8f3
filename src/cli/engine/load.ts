/** `husk load [-i FILE] [-q]`: docker's load, the other half of `husk save` (any archive import takes). */
import { HuskError } from "../../errors.ts";
import { importAndPrint } from "./import.ts";
import { type EngineVerb, engineOf } from "./verb.ts";

const verb: EngineVerb = {
  name: "load",
  usage: "[options]",
  summary: "load images from an archive (stdin, or -i FILE), as written by husk save or docker save",
  flags: [
    { name: "input", short: "i", type: "string", help: "read from a file instead of stdin" },
    { name: "quiet", short: "q", type: "bool", help: "print nothing" },
  ],
  async run(p, g) {
    if (p.positionals.length > 0) throw new HuskError(`"husk load" takes no arguments (the archive comes on stdin or with -i)`);
    const input = p.flags.input as string | undefined;
    if (input === undefined && process.stdin.isTTY)
      throw new HuskError("requested load from stdin, but stdin is a terminal: redirect an archive in, or use -i FILE");
    const engine = await engineOf(g);
    await importAndPrint(
      engine,
      input ?? (process.stdin as AsyncIterable<Uint8Array>),
      [],
      p.flags.quiet === true ? "quiet" : "load",
    );
    return 0;
  },
};
export default verb;
