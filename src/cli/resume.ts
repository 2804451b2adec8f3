import { HuskError } from "../errors.ts";
import { resumeContainer } from "../runtime/pause.ts";
import { withStateLock } from "../runtime/state.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "resume",
  takesId: true,
  usage: "<container-id>",
  summary: "resume all processes of a paused container",
  flags: [],
  async run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"resume" requires exactly 1 argument: the container id');
    const id = positionals[0] as string;
    await withStateLock(globals.root, id, () => resumeContainer(globals.root, id));
    return 0;
  },
};
export default verb;
