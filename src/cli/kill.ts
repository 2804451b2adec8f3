import { HuskError } from "../errors.ts";
import { killContainer } from "../runtime/kill.ts";
import { parseSignal } from "../runtime/signals.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "kill",
  takesId: true,
  usage: "[command options] <container-id> [signal]",
  summary: "send a signal (default SIGTERM) to the container's init",
  flags: [{ name: "all", short: "a", type: "bool", help: "send the signal to all processes in the container" }],
  run({ flags, positionals }, globals) {
    const [id, signal = "SIGTERM", ...extra] = positionals;
    if (!id || extra.length) throw new HuskError('"kill" requires 1 or 2 arguments: the container id and a signal');
    killContainer(globals.root, id, parseSignal(signal), flags.all === true);
    return 0;
  },
};
export default verb;
