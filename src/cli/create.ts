import { fstatSync, readFileSync } from "node:fs";
import { HuskError, quote } from "../errors.ts";
import { type CreateOptions, createContainer } from "../runtime/create.ts";
import type { FlagSpec, FlagValues } from "./args.ts";
import type { Globals, Verb } from "./verb.ts";

/** The flags `create` and `run` share, as runc spells them. */
export const CREATE_FLAGS: FlagSpec[] = [
  { name: "bundle", short: "b", type: "string", help: "path to the root of the bundle directory (default: current directory)" },
  { name: "console-socket", type: "string", help: "unix socket that receives the pty master when process.terminal is set" },
  { name: "pid-file", type: "string", help: "file to write the container's init pid to" },
  { name: "no-pivot", type: "bool", help: "do not use pivot_root to jail the process inside rootfs" },
  { name: "no-new-keyring", type: "bool", help: "do not create a new session keyring for the container" },
  { name: "preserve-fds", type: "int", help: "pass N additional file descriptors to the container (3 … 3+N-1)" },
];

/** Used when /proc/self/limits cannot be read: the kernel's default ceiling (fs.nr_open). */
const NR_OPEN_DEFAULT = 1 << 20;

/** This process's RLIMIT_NOFILE soft limit (Bun raises it to the hard limit at start). */
function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (line) return Number(line[1]);
  } catch {}
  return NR_OPEN_DEFAULT;
}

/**
 * --preserve-fds N: fds 3 … 3+N-1 are handed to the container, and husk's sync channel to the
 * helper takes the next number, so N is bounded by the open file limit (unbounded, 2000000000
 * made husk allocate tens of gigabytes) and every one of those fds must be open.
 */
export function preserveFdsFlag(flags: FlagValues): number {
  const n = flags["preserve-fds"] as number | undefined;
  if (n === undefined) return 0;
  const invalid = (why: string) => new HuskError(`invalid value ${quote(String(n))} for flag --preserve-fds: ${why}`);
  if (n < 0) throw invalid("must not be negative");
  const limit = openFileLimit();
  if (n > limit - 4) throw invalid(`must be at most ${limit - 4} (the open file limit is ${limit})`);
  for (let fd = 3; fd < 3 + n; fd++) {
    try {
      fstatSync(fd);
    } catch {
      throw invalid(`fd ${fd} is not open`);
    }
  }
  return n;
}

/** The one container id argument both verbs take, and their flags as library options. */
export function createOptions(
  verb: string,
  flags: FlagValues,
  positionals: string[],
  globals: Globals,
): Omit<CreateOptions, "mode"> {
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new HuskError(`"${verb}" requires exactly 1 argument: the container id`);
  return {
    id,
    root: globals.root,
    bundle: (flags.bundle as string | undefined) ?? ".",
    consoleSocket: flags["console-socket"] as string | undefined,
    pidFile: flags["pid-file"] as string | undefined,
    noPivot: flags["no-pivot"] === true,
    noNewKeyring: flags["no-new-keyring"] === true,
    preserveFds: preserveFdsFlag(flags),
    debug: globals.debug,
  };
}

const verb: Verb = {
  name: "create",
  takesId: true,
  usage: "[command options] <container-id>",
  summary: "create a container; its process waits until `husk start`",
  flags: CREATE_FLAGS,
  async run({ flags, positionals }, globals) {
    await createContainer({ ...createOptions("create", flags, positionals, globals), mode: "create" });
    return 0;
  },
};
export default verb;
