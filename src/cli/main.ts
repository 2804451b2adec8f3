/**
 * husk's command line: runc's global flags and verbs. Each verb lives in its own module and is
 * loaded only when called, so a `husk state` does not pay for what `husk run` needs
 * (test/unit/startup-modules.test.ts pins what each verb loads).
 */

import { HuskError, oneLine } from "../errors.ts";
import { validateId } from "../runtime/container-id.ts";
import { defaultRoot } from "../runtime/default-root.ts";
import { stderr, stdout, stdoutAsync } from "../sys/stdio.ts";
import { type FlagSpec, parseArgs, usageOf } from "./args.ts";
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
};

function usage(): string {
  return `husk-runtime — the OCI runtime of husk (runc-compatible command line; also "husk runtime")

usage: husk-runtime [global options] command [command options] [arguments...]

commands:
   ${Object.keys(VERBS).join(", ")}

global options:
${usageOf(GLOBAL_FLAGS)}
`;
}

let logTarget: { file?: string; json: boolean } = { json: false };

/** One line on stderr and, with --log, in the log file (JSON lines with --log-format json). */
export function reportError(text: string): void {
  // HuskErrors are one line already; errors from elsewhere (Node, Bun) may not be.
  const message = oneLine(text);
  stderr(`husk: ${message}\n`);
  if (!logTarget.file) return;
  const line = logTarget.json
    ? JSON.stringify({ level: "error", msg: message, time: new Date().toISOString() })
    : `time="${new Date().toISOString()}" level=error msg="${message.replaceAll('"', '\\"')}"`;
  try {
    // Loaded here, not at the top: node:fs costs a `--version` ~2 ms to load under Bun.
    const { appendFileSync } = process.getBuiltinModule("node:fs") as typeof import("node:fs");
    appendFileSync(logTarget.file, `${line}\n`);
  } catch {
    // the error itself is already on stderr
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { flags, positionals } = parseArgs(argv, GLOBAL_FLAGS);
    const logFormat = (flags["log-format"] as string | undefined) ?? "text";
    if (logFormat !== "text" && logFormat !== "json")
      throw new HuskError(`invalid log format "${logFormat}": must be "text" or "json"`);
    logTarget = { file: flags.log as string | undefined, json: logFormat === "json" };
    if (flags.version) {
      const { versionText } = await import("./version.ts");
      await stdoutAsync(versionText());
      return 0;
    }
    const [name, ...rest] = positionals;
    if (flags.help || !name) {
      stdout(usage());
      return name || flags.help ? 0 : 1;
    }
    const load = VERBS[name];
    if (!load) throw new HuskError(`no such command: ${name}`);
    const verb = (await load()).default;
    const globals: Globals = {
      root: (flags.root as string | undefined) ?? defaultRoot(),
      log: flags.log as string | undefined,
      logFormat,
      debug: flags.debug === true,
      systemdCgroup: flags["systemd-cgroup"] === true,
      rootless: (flags.rootless as string | undefined) ?? "auto",
    };
    if (globals.systemdCgroup) throw new HuskError("--systemd-cgroup is not supported yet: use cgroupfs paths");
    const parsed = parseArgs(rest, [...verb.flags, { name: "help", short: "h", type: "bool", help: "show help" }]);
    if (parsed.flags.help) {
      stdout(`usage: husk-runtime ${verb.name} ${verb.usage}\n\n${verb.summary}\n\noptions:\n${usageOf(verb.flags)}\n`);
      return 0;
    }
    const id = parsed.positionals[0];
    if (verb.takesId && id !== undefined) validateId(id);
    return await verb.run(parsed, globals);
  } catch (err) {
    reportError(err instanceof Error ? err.message : String(err));
    if (!(err instanceof HuskError) && process.env.HUSK_DEBUG && err instanceof Error) stderr(`${err.stack}\n`);
    return 1;
  }
}
