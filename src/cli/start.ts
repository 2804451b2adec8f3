import { HuskError } from "../errors.ts";
import { startContainer } from "../runtime/start.ts";
import { withStateLock } from "../runtime/state.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "start",
  takesId: true,
  usage: "<container-id>",
  summary: "start the user process of a created container",
  flags: [],
  async run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"start" requires exactly 1 argument: the container id');
    const id = positionals[0] as string;
    await withStateLock(globals.root, id, () => startContainer(globals.root, id));
    return 0;
  },
};
export default verb;
