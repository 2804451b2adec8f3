/** `checkpoint`: runc's verb, refused: husk has no CRIU support (see README, "not supported"). */
import { HuskError } from "../errors.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "checkpoint",
  takesId: true,
  usage: "[command options] <container-id>",
  summary: "checkpoint a running container (not supported: husk has no CRIU support)",
  flags: [
    { name: "image-path", type: "string", help: "path for saving criu image files" },
    { name: "work-path", type: "string", help: "path for saving work files and logs" },
    { name: "leave-running", type: "bool", help: "leave the process running after checkpointing" },
  ],
  run() {
    throw new HuskError("checkpoint is not supported: husk has no CRIU support");
  },
};
export default verb;
