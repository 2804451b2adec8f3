import { HuskError } from "../errors.ts";
import { resumeContainer } from "../runtime/pause.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "resume",
  takesId: true,
  usage: "<container-id>",
  summary: "resume all processes of a paused container",
  flags: [],
  run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"resume" requires exactly 1 argument: the container id');
    resumeContainer(globals.root, positionals[0] as string);
    return 0;
  },
};
export default verb;
