/** `husk volume create|ls|inspect|rm|prune`: named volumes (src/engine/volumes.ts). */
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { parse } from "./args.ts";
import { FORMAT, printFormatted, QUIET } from "./format.ts";
import { confirm, printPruned } from "./prune.ts";
import { type EngineVerb, engineOf, needArgs, table } from "./verb.ts";

const verb: EngineVerb = {
  name: "volume",
  usage: "create|ls|inspect|rm|prune …",
  summary: "manage named volumes",
  flags: [],
  command: true,
  async run(p, g) {
    const [sub, ...rest] = needArgs(p, 1, "volume");
    const engine = await engineOf(g);
    switch (sub) {
      case "create": {
        const [name] = parse(rest, [], false).positionals;
        // Without a name it is anonymous, as docker marks it: `volume prune` takes it unless used.
        const v = name === undefined ? await engine.volumes.createAnonymous() : await engine.volumes.create(name);
        stdout(`${v.Name}\n`);
        return 0;
      }
      case "ls":
      case "list": {
        const a = parse(rest, [QUIET, FORMAT], false);
        const list = engine.volumes.list();
        if (printFormatted(a.flags.format, list, { Name: "VOLUME NAME" })) return 0;
        if (a.flags.quiet) stdout(list.map((v) => `${v.Name}\n`).join(""));
        else
          stdout(
            table(
              ["DRIVER", "VOLUME NAME"],
              list.map((v) => [v.Driver, v.Name]),
            ),
          );
        return 0;
      }
      case "inspect": {
        const a = parse(rest, [FORMAT], false);
        const names = a.positionals;
        if (names.length === 0) throw new HuskError('"husk volume inspect" requires at least 1 argument');
        if (
          printFormatted(
            a.flags.format,
            names.map((n) => engine.volumes.inspect(n)),
          )
        )
          return 0;
        stdout(
          `${JSON.stringify(
            names.map((n) => engine.volumes.inspect(n)),
            null,
            4,
          )}\n`,
        );
        return 0;
      }
      case "rm":
      case "remove": {
        const a = parse(rest, [{ name: "force", short: "f", type: "bool", help: "" }], false);
        if (a.positionals.length === 0) throw new HuskError('"husk volume rm" requires at least 1 argument');
        for (const name of a.positionals) {
          await engine.volumes.remove(name, (n) => engine.volumeUsers(n));
          stdout(`${name}\n`);
        }
        return 0;
      }
      case "prune": {
        const a = parse(
          rest,
          [
            { name: "all", short: "a", type: "bool", help: "" },
            { name: "force", short: "f", type: "bool", help: "" },
          ],
          false,
        );
        if (a.positionals.length > 0) throw new HuskError('"husk volume prune" accepts no arguments');
        const all = a.flags.all === true;
        confirm(
          a.flags.force === true,
          `WARNING! This will remove ${all ? "all" : "anonymous"} local volumes not used by at least one container.`,
          "volume prune",
        );
        printPruned(await engine.prune({ volumes: true, allVolumes: all }));
        return 0;
      }
      default:
        throw new HuskError(`unknown command "${sub}" for "husk volume"`);
    }
  },
};

export default verb;
