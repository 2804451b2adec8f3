import { readFileSync } from "node:fs";
import { fromSystemError, HuskError, quote } from "../errors.ts";
import { execInContainer } from "../runtime/exec.ts";
import { readState } from "../runtime/state.ts";
import { parseJson } from "../spec/json.ts";
import { ID_MAX } from "../spec/schema.ts";
import type { Process } from "../spec/types.ts";
import { parseProcess } from "../spec/validate.ts";
import type { FlagValues } from "./args.ts";
import { preserveFdsFlag } from "./create.ts";
import type { Verb } from "./verb.ts";

/** A uid or gid from a flag: one the kernel can set, as process.user's are checked. */
function idFlag(text: string, flag: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n <= ID_MAX)) throw new HuskError(`invalid ${flag} id ${quote(text)}: must be a number from 0 to ${ID_MAX}`);
  return n;
}

/** runc's rule: --process replaces everything; otherwise the container's process, overridden by flags. */
function buildProcess(base: Process, flags: FlagValues, args: string[]): Process {
  if (flags.process) {
    const path = flags.process as string;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw fromSystemError(err, `read process file ${quote(path)}`);
    }
    return parseProcess(parseJson(text, `parse process file ${quote(path)}`));
  }
  if (args.length === 0) throw new HuskError('"exec" requires a command to run, or --process');
  const p: Process = structuredClone(base);
  p.args = args;
  p.terminal = flags.tty === true;
  if (flags.cwd) p.cwd = flags.cwd as string;
  if (flags.env) p.env = [...(p.env ?? []), ...(flags.env as string[])];
  if (flags["no-new-privs"]) p.noNewPrivileges = true;
  if (flags.user) {
    const user = flags.user as string;
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    if (!m) throw new HuskError(`invalid --user ${quote(user)}: expected <uid>[:<gid>]`);
    p.user = { ...p.user, uid: idFlag(m[1] as string, "--user"), gid: m[2] !== undefined ? idFlag(m[2], "--user") : p.user.gid };
  }
  if (flags["additional-gids"]) {
    p.user = { ...p.user, additionalGids: (flags["additional-gids"] as string[]).map((g) => idFlag(g, "--additional-gids")) };
  }
  for (const cap of (flags.cap as string[] | undefined) ?? []) {
    p.capabilities ??= {};
    const caps = p.capabilities;
    for (const set of ["bounding", "effective", "inheritable", "permitted", "ambient"] as const)
      caps[set] = [...(caps[set] ?? []), cap];
  }
  return p;
}

const verb: Verb = {
  name: "exec",
  takesId: true,
  usage: "[command options] <container-id> <command> [command options]  ||  -p process.json <container-id>",
  summary: "run a new process inside a running container",
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
    { name: "cgroup", type: "list", help: "run the process in a sub-cgroup (not supported)" },
    { name: "ignore-paused", type: "bool", help: "allow exec in a paused container (not supported)" },
  ],
  async run({ flags, positionals }, globals) {
    const [id, ...args] = positionals;
    if (!id) throw new HuskError('"exec" requires at least 1 argument: the container id');
    const preserveFds = preserveFdsFlag(flags);
    for (const unsupported of ["process-label", "apparmor", "cgroup"]) {
      if (flags[unsupported]) throw new HuskError(`--${unsupported} is not supported`);
    }
    const st = readState(globals.root, id);
    const base = st.spec.process;
    if (!base) throw new HuskError("the container has no process to base the new one on");
    return execInContainer({
      root: globals.root,
      id,
      process: buildProcess(base, flags, args),
      detach: flags.detach === true,
      pidFile: flags["pid-file"] as string | undefined,
      consoleSocket: flags["console-socket"] as string | undefined,
      preserveFds,
    });
  },
};
export default verb;
