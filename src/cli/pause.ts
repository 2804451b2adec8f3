import { HuskError } from "../errors.ts";
import { pauseContainer } from "../runtime/pause.ts";
import { withStateLock } from "../runtime/state.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "pause",
  takesId: true,
  usage: "<container-id>",
  summary: "suspend all processes of a container (cgroup freezer)",
  flags: [],
  async run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"pause" requires exactly 1 argument: the container id');
    const id = positionals[0] as string;
    await withStateLock(globals.root, id, () => pauseContainer(globals.root, id));
    return 0;
  },
};
export default verb;
