import { HuskError } from "../errors.ts";
import { runtimeOf, type Verb } from "./verb.ts";

const verb: Verb = {
  name: "resume",
  interspersed: true,
  takesId: true,
  usage: "<container-id>",
  summary: "resume all processes of a paused container",
  flags: [],
  async run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"resume" requires exactly 1 argument: the container id');
    await runtimeOf(globals).resume(positionals[0] as string);
    return 0;
  },
};
export default verb;
