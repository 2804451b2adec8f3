/** `husk system df|prune|reset`: disk usage, removing what nothing uses, and everything of husk (src/engine/system.ts). */
import type { DiskUsage } from "../../engine/df.ts";
import { humanSize, reclaimableText } from "../../engine/df.ts";
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { parse } from "./args.ts";
import { confirm, printPruned } from "./prune.ts";
import { type EngineVerb, engineOf, needArgs, table } from "./verb.ts";

function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

function printDf(u: DiskUsage, verbose: boolean, format: string | undefined): void {
  if (format !== undefined && format !== "json" && format !== "table")
    throw new HuskError(`invalid --format ${JSON.stringify(format)}: table or json`);
  if (format === "json") {
    for (const r of u.rows)
      stdout(
        `${JSON.stringify({
          Active: String(r.active),
          Reclaimable: reclaimableText(r.reclaimable, r.size),
          Size: humanSize(r.size),
          TotalCount: String(r.total),
          Type: r.type,
        })}\n`,
      );
    return;
  }
  if (!verbose) {
    stdout(
      table(
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        u.rows.map((r) => [r.type, String(r.total), String(r.active), humanSize(r.size), reclaimableText(r.reclaimable, r.size)]),
      ),
    );
    return;
  }
  stdout("Images space usage:\n\n");
  stdout(
    table(
      ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"],
      u.images.flatMap((i) => {
        const tags = i.repoTags.length > 0 ? i.repoTags : ["<none>:<none>"];
        return tags.map((t) => {
          const at = t.lastIndexOf(":");
          return [
            t.slice(0, at),
            t.slice(at + 1),
            shortId(i.id),
            i.created ?? "",
            humanSize(i.size),
            humanSize(i.sharedSize),
            humanSize(i.uniqueSize),
            String(i.containers),
          ];
        });
      }),
    ),
  );
  stdout("\nContainers space usage:\n\n");
  stdout(
    table(
      ["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"],
      u.containers.map((c) => [
        c.id.slice(0, 12),
        c.image,
        JSON.stringify(c.command.length > 20 ? `${c.command.slice(0, 19)}…` : c.command),
        String(c.volumes.length),
        humanSize(c.size),
        c.created,
        c.status,
        c.name,
      ]),
    ),
  );
  stdout("\nLocal Volumes space usage:\n\n");
  stdout(
    table(
      ["VOLUME NAME", "LINKS", "SIZE"],
      u.volumes.map((v) => [v.name, String(v.links), humanSize(v.size)]),
    ),
  );
  stdout("\nBuild cache usage: 0B\n");
}

const PRUNE_WARNING = (all: boolean, volumes: boolean) =>
  `WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
${volumes ? "  - all anonymous volumes not used by at least one container\n" : ""}${
  all ? "  - all images without at least one container associated to them" : "  - all dangling images"
}
`;

const verb: EngineVerb = {
  name: "system",
  usage: "df|prune|reset …",
  summary: "disk usage, pruning, and removing everything of husk",
  flags: [],
  command: true,
  async run(p, g) {
    const [sub, ...rest] = needArgs(p, 1, "system");
    switch (sub) {
      case "df": {
        const a = parse(
          rest,
          [
            { name: "verbose", short: "v", type: "bool", help: "" },
            { name: "format", type: "string", help: "" },
          ],
          false,
        );
        if (a.positionals.length > 0) throw new HuskError('"husk system df" accepts no arguments');
        const engine = await engineOf(g);
        printDf(await engine.df(), a.flags.verbose === true, a.flags.format as string | undefined);
        return 0;
      }
      case "prune": {
        const a = parse(
          rest,
          [
            { name: "all", short: "a", type: "bool", help: "" },
            { name: "volumes", type: "bool", help: "" },
            { name: "force", short: "f", type: "bool", help: "" },
          ],
          false,
        );
        if (a.positionals.length > 0) throw new HuskError('"husk system prune" accepts no arguments');
        const all = a.flags.all === true;
        const volumes = a.flags.volumes === true;
        confirm(a.flags.force === true, PRUNE_WARNING(all, volumes), "system prune");
        const engine = await engineOf(g);
        printPruned(await engine.prune({ containers: true, networks: true, volumes, images: true, all }));
        return 0;
      }
      case "reset": {
        const a = parse(rest, [{ name: "force", short: "f", type: "bool", help: "" }], false);
        if (a.positionals.length > 0) throw new HuskError('"husk system reset" accepts no arguments');
        confirm(
          a.flags.force === true,
          `WARNING! This will remove all containers, images, volumes, networks, leases and husk's nftables table of
${g.dataRoot ?? "/var/lib/husk"}, and everything under it.`,
          "system reset",
        );
        const engine = await engineOf(g);
        await engine.reset();
        return 0;
      }
      default:
        throw new HuskError(`unknown command "${sub}" for "husk system"`);
    }
  },
};
export default verb;
