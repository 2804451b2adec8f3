/**
 * `husk`: the engine's command line (docker's verbs over images, containers, networks and
 * volumes). The OCI runtime is `husk-runtime`, or `husk runtime …`. Each verb lives in its own
 * module, loaded when called; a verb parses and prints, the work is the library's (src/engine).
 */
import { HuskError, oneLine } from "../../errors.ts";
import { stderr, stdout } from "../../sys/stdio.ts";
import { trace } from "../../trace.ts";
import { type Flag, parse, usageOf } from "./args.ts";
import type { EngineVerb, Globals } from "./verb.ts";

const GLOBAL_FLAGS: Flag[] = [
  { name: "data-root", type: "string", help: "images, containers, volumes, networks (default /var/lib/husk; $HUSK_DATA_ROOT)" },
  { name: "state-root", type: "string", help: "the runtime's container state (default /run/husk; $HUSK_STATE_ROOT)" },
  { name: "nft-table", type: "string", help: 'nftables table for published ports (default "husk"; $HUSK_NFT_TABLE)' },
  { name: "help", type: "bool", help: "show help" },
  { name: "version", short: "v", type: "bool", help: "print the version" },
];

const VERBS: Record<string, () => Promise<{ default: EngineVerb }>> = {
  run: () => import("./run.ts"),
  create: () => import("./create.ts"),
  start: () => import("./start.ts"),
  attach: () => import("./attach.ts"),
  restart: () => import("./restart.ts"),
  exec: () => import("./exec.ts"),
  ps: () => import("./ps.ts"),
  logs: () => import("./logs.ts"),
  stop: () => import("./stop.ts"),
  kill: () => import("./kill.ts"),
  pause: () => import("./pause.ts"),
  unpause: async () => ({ default: (await import("./pause.ts")).unpause }),
  update: () => import("./update.ts"),
  rm: () => import("./rm.ts"),
  commit: () => import("./commit.ts"),
  diff: () => import("./diff.ts"),
  export: () => import("./export.ts"),
  inspect: () => import("./inspect.ts"),
  port: () => import("./port.ts"),
  rename: () => import("./rename.ts"),
  wait: () => import("./wait.ts"),
  top: () => import("./top.ts"),
  stats: () => import("./stats.ts"),
  cp: () => import("./cp.ts"),
  images: () => import("./images.ts"),
  history: () => import("./history.ts"),
  import: () => import("./import.ts"),
  pull: () => import("./pull.ts"),
  push: () => import("./push.ts"),
  login: () => import("./login.ts"),
  logout: () => import("./logout.ts"),
  save: () => import("./save.ts"),
  load: () => import("./load.ts"),
  rmi: () => import("./rmi.ts"),
  tag: () => import("./tag.ts"),
  image: () => import("./image.ts"),
  network: () => import("./network.ts"),
  netns: () => import("./netns.ts"),
  volume: () => import("./volume.ts"),
  container: () => import("./container.ts"),
  system: () => import("./system.ts"),
  info: () => import("./info.ts"),
  version: async () => ({ default: (await import("./info.ts")).version }),
  _exited: () => import("./exited.ts"),
};

function usage(): string {
  return `husk — run containers from images (docker's command line); the OCI runtime is husk-runtime

usage: husk [global options] command [options] [arguments...]

commands:
  ${Object.keys(VERBS)
    .filter((v) => !v.startsWith("_"))
    .join(", ")}
  runtime      the OCI runtime (husk-runtime's verbs)

global options:
${usageOf(GLOBAL_FLAGS)}
`;
}

/** What an error exits with: docker's 125 for what run/exec could not do, 126/127 for the command, else 1. */
function exitCodeOf(err: unknown, verb: string | undefined): number {
  const code = (err as { exitCode?: unknown }).exitCode;
  if (typeof code === "number") return code;
  return verb === "run" || verb === "exec" ? 125 : 1;
}

export async function main(argv: string[]): Promise<number> {
  let verbName: string | undefined;
  try {
    const { flags, positionals } = parse(argv, GLOBAL_FLAGS, true);
    if (flags.version) {
      const { versionText } = await import("../version.ts");
      stdout(versionText());
      return 0;
    }
    const [name, ...rest] = positionals;
    verbName = name;
    if (flags.help || !name || name === "help") {
      stdout(usage());
      return name || flags.help ? 0 : 1;
    }
    const load = VERBS[name];
    if (!load) throw new HuskError(`unknown command "${name}" for "husk"`);
    trace("cli: main");
    const verb = (await load()).default;
    trace("cli: verb loaded");
    const parsed = parse(rest, [...verb.flags, { name: "help", type: "bool", help: "show help" }], verb.command === true);
    if (parsed.flags.help) {
      stdout(`usage: husk ${verb.name} ${verb.usage}\n\n${verb.summary}\n\noptions:\n${usageOf(verb.flags)}\n`);
      return 0;
    }
    const env = process.env;
    const globals: Globals = {
      dataRoot: (flags["data-root"] as string | undefined) ?? env.HUSK_DATA_ROOT,
      stateRoot: (flags["state-root"] as string | undefined) ?? env.HUSK_STATE_ROOT,
      nftTable: (flags["nft-table"] as string | undefined) ?? env.HUSK_NFT_TABLE,
    };
    return await verb.run(parsed, globals);
  } catch (err) {
    stderr(`husk: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    if (!(err instanceof HuskError) && process.env.HUSK_DEBUG && err instanceof Error) stderr(`${err.stack}\n`);
    return exitCodeOf(err, verbName);
  }
}
