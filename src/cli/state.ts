import { HuskError } from "../errors.ts";
import { stdout } from "../sys/stdio.ts";
import { runtimeOf, type Verb } from "./verb.ts";

const verb: Verb = {
  name: "state",
  interspersed: true,
  takesId: true,
  libcFiles: true,
  usage: "<container-id>",
  summary: "print the state of a container as JSON",
  flags: [],
  async run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"state" requires exactly 1 argument: the container id');
    const state = await runtimeOf(globals).state(positionals[0] as string);
    stdout(`${JSON.stringify(state, null, "  ")}\n`);
    return 0;
  },
};
export default verb;
