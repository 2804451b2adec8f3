/** `husk commit [-a AUTHOR] [-m MESSAGE] [-p=false] CONTAINER [REPOSITORY[:TAG]]`: docker's image of a container's changes. */
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "commit",
  usage: "[options] CONTAINER [REPOSITORY[:TAG]]",
  summary: "make an image of a container's changes",
  flags: [
    { name: "author", short: "a", type: "string", help: 'the author ("Name <email>")' },
    { name: "message", short: "m", type: "string", help: "a comment for the new layer" },
    { name: "pause", short: "p", type: "bool", help: "pause a running container meanwhile (default true; -p=false not to)" },
  ],
  async run(p, g) {
    const [ref, tag, ...extra] = needArgs(p, 1, "commit");
    if (extra.length > 0) throw new HuskError('"husk commit" takes a container and at most one image name');
    const engine = await engineOf(g);
    const id = await engine.commit(ref!, {
      ...(tag ? { tag } : {}),
      ...(p.flags.message !== undefined ? { message: p.flags.message as string } : {}),
      ...(p.flags.author !== undefined ? { author: p.flags.author as string } : {}),
      ...(p.flags.pause !== undefined ? { pause: p.flags.pause as boolean } : {}),
    });
    stdout(`${id}\n`);
    return 0;
  },
};
export default verb;
