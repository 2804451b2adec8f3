import { HuskError } from "../errors.ts";
import { runtimeOf, type Verb } from "./verb.ts";

const verb: Verb = {
  name: "pause",
  interspersed: true,
  takesId: true,
  usage: "<container-id>",
  summary: "suspend all processes of a container (cgroup freezer)",
  flags: [],
  async run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"pause" requires exactly 1 argument: the container id');
    await runtimeOf(globals).pause(positionals[0] as string);
    return 0;
  },
};
export default verb;
