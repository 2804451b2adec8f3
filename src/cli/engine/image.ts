/** `husk image inspect|ls|rm|prune|history|import|load|save|tag`: the image verbs under one name, as docker has them. */
import type { Engine } from "../../engine/engine.ts";
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { parse } from "./args.ts";
import { confirm, printPruned } from "./prune.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

/** docker's `image inspect` shape. */
export async function imageInspect(engine: Engine, ref: string): Promise<unknown> {
  const i = await engine.images.inspect(ref);
  const c = i.config ?? {};
  return {
    Id: i.id,
    RepoTags: i.repoTags,
    RepoDigests: [],
    Created: i.created ?? "",
    Architecture: i.architecture,
    Os: i.os,
    Size: i.size,
    Config: {
      User: c.User ?? "",
      Env: c.Env ?? null,
      Cmd: c.Cmd ?? null,
      Entrypoint: c.Entrypoint ?? null,
      WorkingDir: c.WorkingDir ?? "",
      Labels: c.Labels ?? null,
      ExposedPorts: c.ExposedPorts,
      Volumes: c.Volumes ?? null,
      StopSignal: c.StopSignal,
    },
    RootFS: { Type: "layers", Layers: i.layers.map((l) => l.diffId) },
  };
}

const SUB: Record<string, () => Promise<{ default: EngineVerb }>> = {
  ls: () => import("./images.ts"),
  list: () => import("./images.ts"),
  rm: () => import("./rmi.ts"),
  history: () => import("./history.ts"),
  import: () => import("./import.ts"),
  push: () => import("./push.ts"),
  load: () => import("./load.ts"),
  save: () => import("./save.ts"),
  tag: () => import("./tag.ts"),
};

const verb: EngineVerb = {
  name: "image",
  usage: "inspect|ls|rm|prune|import|save|tag …",
  summary: "manage images",
  flags: [],
  command: true,
  async run(p, g) {
    const [sub, ...rest] = needArgs(p, 1, "image");
    if (sub === "inspect") {
      const args = parse(rest, [], false).positionals;
      if (args.length === 0) throw new HuskError('"husk image inspect" requires at least 1 argument');
      const engine = await engineOf(g);
      const out = [];
      for (const ref of args) out.push(await imageInspect(engine, ref));
      stdout(`${JSON.stringify(out, null, 4)}\n`);
      return 0;
    }
    if (sub === "prune") {
      const f = parse(
        rest,
        [
          { name: "all", short: "a", type: "bool", help: "" },
          { name: "force", short: "f", type: "bool", help: "" },
        ],
        false,
      );
      if (f.positionals.length > 0) throw new HuskError('"husk image prune" accepts no arguments');
      const all = f.flags.all === true;
      confirm(
        f.flags.force === true,
        all
          ? "WARNING! This will remove all images without at least one container associated to them."
          : "WARNING! This will remove all dangling images.",
        "image prune",
      );
      const engine = await engineOf(g);
      // Untagged images no container uses; with -a, every image no container uses.
      printPruned(await engine.prune({ images: true, all }));
      return 0;
    }
    const load = SUB[sub!];
    if (!load) throw new HuskError(`unknown command "${sub}" for "husk image"`);
    const v = (await load()).default;
    return v.run(parse(rest, v.flags, v.command === true), g);
  },
};
export default verb;
