/**
 * husk's command line: runc's global flags and verbs. Each verb lives in its own module and is
 * loaded only when called, so a `husk state` does not pay for what `husk run` needs
 * (test/unit/startup-modules.test.ts pins what each verb loads).
 */

import { HuskError, oneLine } from "../errors.ts";
import { validateId } from "../runtime/container-id.ts";
import { defaultRoot } from "../runtime/default-root.ts";
import { useFiles } from "../sys/files.ts";
import { stderr, stdout, stdoutAsync } from "../sys/stdio.ts";
import { trace } from "../trace.ts";
import { type FlagSpec, parseArgs, usageOf } from "./args.ts";
import { logError, setLogTarget } from "./log.ts";
import type { Globals, Verb } from "./verb.ts";

const GLOBAL_FLAGS: FlagSpec[] = [
  {
    name: "root",
    type: "string",
    help: 'root directory for storage of container state (default "/run/husk", or "$XDG_RUNTIME_DIR/husk" when rootless)',
  },
  { name: "log", type: "string", help: "set the log file to write husk logs to (default is stderr)" },
  { name: "log-format", type: "string", help: 'set the log format ("text" (default), or "json")' },
  { name: "debug", type: "bool", help: "enable debug logging" },
  { name: "systemd-cgroup", type: "bool", help: "enable systemd cgroup support (not supported yet)" },
  { name: "rootless", type: "string", help: 'ignore cgroup permission errors ("true", "false", or "auto")' },
  { name: "criu", type: "string", help: "path to the criu binary (checkpoint is not supported)" },
  { name: "version", short: "v", type: "bool", help: "print the version" },
  { name: "help", short: "h", type: "bool", help: "show help" },
];

const VERBS: Record<string, () => Promise<{ default: Verb }>> = {
  create: () => import("./create.ts"),
  start: () => import("./start.ts"),
  run: () => import("./run.ts"),
  exec: () => import("./exec.ts"),
  state: () => import("./state.ts"),
  kill: () => import("./kill.ts"),
  delete: () => import("./delete.ts"),
  list: () => import("./list.ts"),
  ps: () => import("./ps.ts"),
  pause: () => import("./pause.ts"),
  resume: () => import("./resume.ts"),
  update: () => import("./update.ts"),
  events: () => import("./events.ts"),
  features: () => import("./features.ts"),
  spec: () => import("./spec.ts"),
  checkpoint: () => import("./checkpoint.ts"),
  restore: () => import("./restore.ts"),
};

/** Help in runc's layout (NAME:, USAGE:, COMMANDS:, GLOBAL OPTIONS:), which tools and users know, under the name husk was started as. */
function usage(prog: string): string {
  return `NAME:
   ${prog} - Open Container Initiative runtime (husk's, with runc's command line)

USAGE:
   ${prog} [global options] command [command options] [arguments...]

COMMANDS:
${Object.keys(VERBS)
  .map((v) => `   ${v}`)
  .join("\n")}
   help, h   shows a list of commands or help for one command

GLOBAL OPTIONS:
${usageOf(GLOBAL_FLAGS)}
`;
}

function verbUsage(prog: string, verb: Verb): string {
  return `NAME:
   ${prog} ${verb.name} - ${verb.summary}

USAGE:
   ${prog} ${verb.name} ${verb.usage}

OPTIONS:
${usageOf(verb.flags)}
`;
}

/** `help`, `help VERB`, `VERB -h`: the verb's page, or runc's complaint for an unknown one. */
async function help(prog: string, topic: string | undefined): Promise<number> {
  if (topic === undefined) {
    stdout(usage(prog));
    return 0;
  }
  const load = VERBS[topic];
  if (!load) throw new HuskError(`No help topic for '${topic}'`);
  stdout(verbUsage(prog, (await load()).default));
  return 0;
}

export async function main(argv: string[], prog = "husk-runtime"): Promise<number> {
  let failureStatus = 1;
  trace("cli: main");
  try {
    const { flags, positionals } = parseArgs(argv, GLOBAL_FLAGS);
    const logFormat = (flags["log-format"] as string | undefined) ?? "text";
    if (logFormat !== "text" && logFormat !== "json")
      throw new HuskError(`invalid log format "${logFormat}": must be "text" or "json"`);
    setLogTarget({ file: flags.log as string | undefined, json: logFormat === "json" });
    if (flags.version) {
      const { versionText } = await import("./version.ts");
      await stdoutAsync(versionText(prog));
      return 0;
    }
    const [name, ...rest] = positionals;
    if (!name) {
      stdout(usage(prog));
      return flags.help ? 0 : 1;
    }
    if (name === "help" || name === "h") return await help(prog, rest[0]);
    const load = VERBS[name];
    // `husk-runtime foo -h` is a request for help on foo, as in runc.
    if (!load)
      throw new HuskError(
        rest.includes("-h") || rest.includes("--help") || flags.help ? `No help topic for '${name}'` : `no such command: ${name}`,
      );
    if (flags.help) return await help(prog, name);
    const verb = (await load()).default;
    trace(`cli: ${name} loaded`);
    failureStatus = verb.failureStatus ?? 1;
    const globals: Globals = {
      root: (flags.root as string | undefined) ?? defaultRoot(),
      log: flags.log as string | undefined,
      logFormat,
      debug: flags.debug === true,
      systemdCgroup: flags["systemd-cgroup"] === true,
      rootless: (flags.rootless as string | undefined) ?? "auto",
    };
    if (globals.systemdCgroup) throw new HuskError("--systemd-cgroup is not supported yet: use cgroupfs paths");
    const parsed = parseArgs(
      rest,
      [...verb.flags, { name: "help", short: "h", type: "bool", help: "show help" }],
      !verb.interspersed,
    );
    if (parsed.flags.help) {
      stdout(verbUsage(prog, verb));
      return 0;
    }
    const id = parsed.positionals[0];
    if (verb.takesId && id !== undefined) validateId(id);
    if (verb.libcFiles && typeof Bun !== "undefined") useFiles((await import("../sys/bun-libc.ts")).libcFiles());
    const status = await verb.run(parsed, globals);
    trace(`cli: ${name} done`);
    return status;
  } catch (err) {
    // On stderr and, with --log, in the log file. HuskErrors are one line already; errors from
    // elsewhere (Node, Bun) may not be.
    logError(oneLine(err instanceof Error ? err.message : String(err)));
    if (!(err instanceof HuskError) && process.env.HUSK_DEBUG && err instanceof Error) stderr(`${err.stack}\n`);
    return failureStatus;
  }
}
