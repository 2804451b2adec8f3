import { HuskError } from "../errors.ts";
import { runtimeOf, type Verb } from "./verb.ts";

const verb: Verb = {
  name: "kill",
  takesId: true,
  libcFiles: true,
  usage: "[command options] <container-id> [signal]",
  summary: "send a signal (default SIGTERM) to the container's init",
  flags: [{ name: "all", short: "a", type: "bool", help: "send the signal to all processes in the container" }],
  async run({ flags, positionals }, globals) {
    const [id, signal = "SIGTERM", ...extra] = positionals;
    if (!id || extra.length) throw new HuskError('"kill" requires 1 or 2 arguments: the container id and a signal');
    await runtimeOf(globals).kill(id, signal, { all: flags.all === true });
    return 0;
  },
};
export default verb;
