/** `husk container ls|rm|prune|…`: docker's container group; each name is the top-level verb, prune is its own. */
import { HuskError } from "../../errors.ts";
import { parse } from "./args.ts";
import { confirm, printPruned } from "./prune.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const SUB: Record<string, () => Promise<{ default: EngineVerb }>> = {
  ls: () => import("./ps.ts"),
  list: () => import("./ps.ts"),
  ps: () => import("./ps.ts"),
  rm: () => import("./rm.ts"),
  remove: () => import("./rm.ts"),
  run: () => import("./run.ts"),
  create: () => import("./create.ts"),
  start: () => import("./start.ts"),
  stop: () => import("./stop.ts"),
  restart: () => import("./restart.ts"),
  kill: () => import("./kill.ts"),
  pause: () => import("./pause.ts"),
  unpause: async () => ({ default: (await import("./pause.ts")).unpause }),
  update: () => import("./update.ts"),
  port: () => import("./port.ts"),
  rename: () => import("./rename.ts"),
  exec: () => import("./exec.ts"),
  logs: () => import("./logs.ts"),
  commit: () => import("./commit.ts"),
  diff: () => import("./diff.ts"),
  export: () => import("./export.ts"),
  inspect: () => import("./inspect.ts"),
  wait: () => import("./wait.ts"),
  top: () => import("./top.ts"),
  stats: () => import("./stats.ts"),
  cp: () => import("./cp.ts"),
};

const verb: EngineVerb = {
  name: "container",
  usage: `${Object.keys(SUB).join("|")}|prune …`,
  summary: "manage containers",
  flags: [],
  command: true,
  async run(p, g) {
    const [sub, ...rest] = needArgs(p, 1, "container");
    if (sub === "prune") {
      const a = parse(rest, [{ name: "force", short: "f", type: "bool", help: "" }], false);
      if (a.positionals.length > 0) throw new HuskError('"husk container prune" accepts no arguments');
      confirm(a.flags.force === true, "WARNING! This will remove all stopped containers.", "container prune");
      const engine = await engineOf(g);
      printPruned(await engine.prune({ containers: true }));
      return 0;
    }
    const load = SUB[sub!];
    if (!load) throw new HuskError(`unknown command "${sub}" for "husk container"`);
    const v = (await load()).default;
    return v.run(parse(rest, v.flags, v.command === true), g);
  },
};
export default verb;
