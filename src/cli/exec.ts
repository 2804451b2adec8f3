import { readFileSync } from "node:fs";
import { fromSystemError, HuskError, quote } from "../errors.ts";
import { parseJson } from "../oci/json.ts";
import { ID_MAX } from "../oci/schema.ts";
import type { Process } from "../oci/types.ts";
import { parseProcess } from "../oci/validate.ts";
import type { ExecOverrides } from "../runtime/exec-process.ts";
import type { FlagValues } from "./args.ts";
import { preserveFdsFlag } from "./create.ts";
import { forwardSignals } from "./forward-signals.ts";
import { runtimeOf, type Verb } from "./verb.ts";

/** A uid or gid from a flag: one the kernel can set, as process.user's are checked. */
function idFlag(text: string, flag: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n <= ID_MAX)) throw new HuskError(`invalid ${flag} id ${quote(text)}: must be a number from 0 to ${ID_MAX}`);
  return n;
}

/** What to run: --process replaces the container's process; flags change it (runc's rule, in the runtime). */
function whatToRun(flags: FlagValues, args: string[]): ExecOverrides | { process: Process } {
  if (flags.process) {
    const path = flags.process as string;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw fromSystemError(err, `read process file ${quote(path)}`);
    }
    const json = parseJson(text, `parse process file ${quote(path)}`);
    // runc reads the file into a process whose user is a plain struct: none given is uid 0, gid 0.
    if (json !== null && typeof json === "object" && !Array.isArray(json) && !("user" in json)) {
      (json as Record<string, unknown>).user = { uid: 0, gid: 0 };
    }
    return { process: parseProcess(json) };
  }
  if (args.length === 0) throw new HuskError('"exec" requires a command to run, or --process');
  const o: ExecOverrides = { args, terminal: flags.tty === true };
  if (flags.cwd) o.cwd = flags.cwd as string;
  if (flags.env) o.env = flags.env as string[];
  if (flags["no-new-privs"]) o.noNewPrivileges = true;
  if (flags.user) {
    const user = flags.user as string;
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    if (!m) throw new HuskError(`invalid --user ${quote(user)}: expected <uid>[:<gid>]`);
    o.uid = idFlag(m[1] as string, "--user");
    if (m[2] !== undefined) o.gid = idFlag(m[2], "--user");
  }
  if (flags["additional-gids"])
    o.additionalGids = (flags["additional-gids"] as string[]).map((g) => idFlag(g, "--additional-gids"));
  if (flags.cap) o.addCapabilities = flags.cap as string[];
  return o;
}

const verb: Verb = {
  name: "exec",
  takesId: true,
  usage: "[command options] <container-id> <command> [command options]  ||  -p process.json <container-id>",
  summary: "run a new process inside a running container",
  // runc's: a failure of exec itself is 255, apart from any status of the process.
  failureStatus: 255,
  flags: [
    { name: "console-socket", type: "string", help: "unix socket that receives the pty master" },
    { name: "cwd", type: "string", help: "current working directory in the container" },
    { name: "env", short: "e", type: "list", help: "set environment variables" },
    { name: "tty", short: "t", type: "bool", help: "allocate a pseudo-TTY" },
    { name: "user", short: "u", type: "string", help: "UID (format: <uid>[:<gid>])" },
    { name: "additional-gids", short: "g", type: "list", help: "additional gids" },
    { name: "process", short: "p", type: "string", help: "path to the process.json" },
    { name: "detach", short: "d", type: "bool", help: "detach from the container's process" },
    { name: "pid-file", type: "string", help: "file to write the process id to" },
    { name: "process-label", type: "string", help: "set the asm process label (not supported)" },
    { name: "apparmor", type: "string", help: "set the apparmor profile (not supported)" },
    { name: "no-new-privs", type: "bool", help: "set the no new privileges value for the process" },
    { name: "cap", short: "c", type: "list", help: "add a capability to the bounding set for the process" },
    { name: "preserve-fds", type: "int", help: "pass N additional file descriptors to the process" },
    { name: "cgroup", type: "list", help: "run the process in a sub-cgroup: PATH or CONTROLLER[,CONTROLLER]:PATH" },
    { name: "ignore-paused", type: "bool", help: "allow exec in a paused container (the process runs once it is resumed)" },
  ],
  async run({ flags, positionals }, globals) {
    const [id, ...args] = positionals;
    if (!id) throw new HuskError('"exec" requires at least 1 argument: the container id');
    const preserveFds = preserveFdsFlag(flags);
    for (const unsupported of ["process-label", "apparmor"]) {
      if (flags[unsupported]) throw new HuskError(`--${unsupported} is not supported`);
    }
    const detach = flags.detach === true;
    const forwarder = detach ? undefined : forwardSignals();
    try {
      return await runtimeOf(globals).exec(id, whatToRun(flags, args), {
        detach,
        pidFile: flags["pid-file"] as string | undefined,
        consoleSocket: flags["console-socket"] as string | undefined,
        preserveFds,
        ignorePaused: flags["ignore-paused"] === true,
        subCgroups: flags.cgroup as string[] | undefined,
        onStart: (pid) => forwarder?.target(pid),
      });
    } finally {
      forwarder?.stop();
    }
  },
};
export default verb;
