import { createContainer } from "../runtime/create.ts";
import { runContainer } from "../runtime/run.ts";
import { startContainer } from "../runtime/start.ts";
import { CREATE_FLAGS, createOptions } from "./create.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "run",
  takesId: true,
  usage: "[command options] <container-id>",
  summary: "create and run a container in the foreground; exits with the container's status",
  flags: [
    ...CREATE_FLAGS,
    { name: "detach", short: "d", type: "bool", help: "detach from the container's process" },
    { name: "keep", type: "bool", help: "do not delete the container after it exits" },
    { name: "no-subreaper", type: "bool", help: "accepted for runc compatibility" },
  ],
  async run({ flags, positionals }, globals) {
    const opts = createOptions("run", flags, positionals, globals);
    if (flags.detach) {
      await createContainer({ ...opts, mode: "create" });
      await startContainer(globals.root, opts.id);
      return 0;
    }
    return runContainer({ ...opts, keep: flags.keep === true });
  },
};
export default verb;
