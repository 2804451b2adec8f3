import { HuskError } from "../errors.ts";
import { runtimeOf, type Verb } from "./verb.ts";

const verb: Verb = {
  name: "start",
  interspersed: true,
  takesId: true,
  libcFiles: true,
  usage: "<container-id>",
  summary: "start the user process of a created container",
  flags: [],
  async run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"start" requires exactly 1 argument: the container id');
    await runtimeOf(globals).start(positionals[0] as string);
    return 0;
  },
};
export default verb;
