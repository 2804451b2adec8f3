/** `restore`: runc's verb, refused: husk has no CRIU support (see README, "not supported"). */
import { HuskError } from "../errors.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "restore",
  takesId: true,
  usage: "[command options] <container-id>",
  summary: "restore a container from a previous checkpoint (not supported: husk has no CRIU support)",
  flags: [
    { name: "image-path", type: "string", help: "path to criu image files for restoring" },
    { name: "work-path", type: "string", help: "path for saving work files and logs" },
    { name: "bundle", short: "b", type: "string", help: "path to the root of the bundle directory" },
  ],
  run() {
    throw new HuskError("restore is not supported: husk has no CRIU support");
  },
};
export default verb;
