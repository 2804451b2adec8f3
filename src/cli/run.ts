import { HuskError } from "../errors.ts";
import { runContainer } from "../runtime/run.ts";
import type { Verb } from "./verb.ts";

const verb: Verb = {
  name: "run",
  usage: "[command options] <container-id>",
  summary: "create and run a container in the foreground; exits with the container's status",
  flags: [
    { name: "bundle", short: "b", type: "string", help: "path to the root of the bundle directory (default: current directory)" },
    { name: "console-socket", type: "string", help: "unix socket that receives the pty master when process.terminal is set" },
    { name: "pid-file", type: "string", help: "file to write the container's init pid to" },
    { name: "detach", short: "d", type: "bool", help: "detach from the container's process (not supported yet)" },
    { name: "no-pivot", type: "bool", help: "do not use pivot_root to jail the process inside rootfs" },
    { name: "no-new-keyring", type: "bool", help: "do not create a new session keyring for the container" },
    { name: "preserve-fds", type: "int", help: "pass N additional file descriptors to the container (3 … 3+N-1)" },
    { name: "keep", type: "bool", help: "do not delete the container after it exits" },
    { name: "no-subreaper", type: "bool", help: "accepted for runc compatibility" },
  ],
  async run({ flags, positionals }, globals) {
    const id = positionals[0];
    if (!id) throw new HuskError('"run" requires exactly 1 argument: the container id');
    if (flags.detach) throw new HuskError("run --detach is not supported yet: use create and start");
    return runContainer({
      id,
      root: globals.root,
      bundle: (flags.bundle as string | undefined) ?? ".",
      consoleSocket: flags["console-socket"] as string | undefined,
      pidFile: flags["pid-file"] as string | undefined,
      noPivot: flags["no-pivot"] === true,
      noNewKeyring: flags["no-new-keyring"] === true,
      preserveFds: (flags["preserve-fds"] as number | undefined) ?? 0,
      debug: globals.debug,
    });
  },
};
export default verb;
