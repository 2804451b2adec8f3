import { HuskError } from "../errors.ts";
import { checkPreserveFds } from "../runtime/preserve-fds.ts";
import type { CreateOptions } from "../runtime/runtime.ts";
import type { FlagSpec, FlagValues } from "./args.ts";
import { runtimeOf, type Verb } from "./verb.ts";

/** The flags `create` and `run` share, as runc spells them. */
export const CREATE_FLAGS: FlagSpec[] = [
  { name: "bundle", short: "b", type: "string", help: "path to the root of the bundle directory (default: current directory)" },
  { name: "console-socket", type: "string", help: "unix socket that receives the pty master when process.terminal is set" },
  { name: "pid-file", type: "string", help: "file to write the container's init pid to" },
  { name: "no-pivot", type: "bool", help: "do not use pivot_root to jail the process inside rootfs" },
  { name: "no-new-keyring", type: "bool", help: "do not create a new session keyring for the container" },
  { name: "preserve-fds", type: "int", help: "pass N additional file descriptors to the container (3 … 3+N-1)" },
];

/** --preserve-fds, checked with the flag's name (the runtime checks it again as preserveFds). */
export function preserveFdsFlag(flags: FlagValues): number {
  return checkPreserveFds(flags["preserve-fds"] as number | undefined, "flag --preserve-fds");
}

/** The one container id argument both verbs take, the bundle, and their flags as library options. */
export function createArgs(
  verb: string,
  flags: FlagValues,
  positionals: string[],
): { id: string; bundle: string; options: CreateOptions } {
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new HuskError(`"${verb}" requires exactly 1 argument: the container id`);
  return {
    id,
    bundle: (flags.bundle as string | undefined) ?? ".",
    options: {
      consoleSocket: flags["console-socket"] as string | undefined,
      pidFile: flags["pid-file"] as string | undefined,
      noPivot: flags["no-pivot"] === true,
      noNewKeyring: flags["no-new-keyring"] === true,
      preserveFds: preserveFdsFlag(flags),
    },
  };
}

const verb: Verb = {
  name: "create",
  takesId: true,
  usage: "[command options] <container-id>",
  summary: "create a container; its process waits until `husk start`",
  flags: CREATE_FLAGS,
  async run({ flags, positionals }, globals) {
    const { id, bundle, options } = createArgs("create", flags, positionals);
    await runtimeOf(globals).create(id, bundle, options);
    return 0;
  },
};
export default verb;
