import { HuskError } from "../errors.ts";
import { runtimeOf, type Verb } from "./verb.ts";

const verb: Verb = {
  name: "delete",
  interspersed: true,
  takesId: true,
  libcFiles: true,
  usage: "[command options] <container-id>",
  summary: "delete a stopped container (--force: also a running one)",
  flags: [{ name: "force", short: "f", type: "bool", help: "kill the container first if it is still running" }],
  async run({ flags, positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"delete" requires exactly 1 argument: the container id');
    await runtimeOf(globals).delete(positionals[0] as string, { force: flags.force === true });
    return 0;
  },
};
export default verb;
