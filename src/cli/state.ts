import { HuskError } from "../errors.ts";
import { readState } from "../runtime/state.ts";
import { ociState } from "../runtime/status.ts";
import { stdout } from "../sys/stdio.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "state",
  takesId: true,
  usage: "<container-id>",
  summary: "print the state of a container as JSON",
  flags: [],
  run({ positionals }, globals) {
    if (positionals.length !== 1) throw new HuskError('"state" requires exactly 1 argument: the container id');
    const st = readState(globals.root, positionals[0] as string);
    stdout(`${JSON.stringify(ociState(globals.root, st), null, "  ")}\n`);
    return 0;
  },
};
export default verb;
