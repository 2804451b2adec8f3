import { CREATE_FLAGS, createArgs } from "./create.ts";
import { forwardSignals } from "./forward-signals.ts";
import { runtimeOf, type Verb } from "./verb.ts";

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
    const { id, bundle, options } = createArgs("run", flags, positionals);
    const rt = runtimeOf(globals);
    if (flags.detach) {
      await rt.create(id, bundle, options);
      await rt.start(id);
      return 0;
    }
    // Signals that reach husk go to the container's init, from before it exists (queued) on.
    const forwarder = forwardSignals();
    try {
      return await rt.run(id, bundle, { ...options, keep: flags.keep === true, onStart: (pid) => forwarder.target(pid) });
    } finally {
      forwarder.stop();
    }
  },
};
export default verb;
