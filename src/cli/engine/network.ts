/** `husk network create|ls|inspect|rm|connect|disconnect|prune`: bridge networks (src/network). */
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { parse } from "./args.ts";
import { FORMAT, printFormatted, QUIET } from "./format.ts";
import { confirm, printPruned } from "./prune.ts";
import { type EngineVerb, engineOf, needArgs, table } from "./verb.ts";

const verb: EngineVerb = {
  name: "network",
  usage: "create|ls|inspect|rm|connect|disconnect|prune …",
  summary: "manage bridge networks",
  flags: [],
  command: true,
  async run(p, g) {
    const [sub, ...rest] = needArgs(p, 1, "network");
    const engine = await engineOf(g);
    const nets = engine.networks;
    switch (sub) {
      case "create": {
        const a = parse(
          rest,
          [
            { name: "subnet", type: "string", help: "" },
            { name: "gateway", type: "string", help: "" },
            { name: "bridge", type: "string", help: "" },
            { name: "driver", short: "d", type: "string", help: "" },
          ],
          false,
        );
        const [name] = a.positionals;
        if (!name || a.positionals.length > 1) throw new HuskError('"husk network create" requires exactly 1 argument');
        const driver = (a.flags.driver as string | undefined) ?? "bridge";
        if (driver !== "bridge") throw new HuskError(`unsupported network driver ${JSON.stringify(driver)}: bridge only`);
        if (nets.list().some((n) => n.name === name)) throw new HuskError(`network with name ${name} already exists`);
        const def = await nets.ensureNetwork({
          name,
          subnet: a.flags.subnet as string | undefined,
          gateway: a.flags.gateway as string | undefined,
          bridge: a.flags.bridge as string | undefined,
        });
        stdout(`${def.name}\n`);
        return 0;
      }
      case "ls":
      case "list": {
        const a = parse(rest, [QUIET, FORMAT], false);
        const list = nets.list();
        const rows = list.map((n) => ({
          Name: n.name,
          Driver: "bridge",
          Bridge: n.bridge,
          Subnet: n.subnet,
          Gateway: n.gateway,
        }));
        if (printFormatted(a.flags.format, rows)) return 0;
        if (a.flags.quiet) stdout(list.map((n) => `${n.name}\n`).join(""));
        else
          stdout(
            table(
              ["NAME", "DRIVER", "BRIDGE", "SUBNET", "GATEWAY"],
              list.map((n) => [n.name, "bridge", n.bridge, n.subnet, n.gateway]),
            ),
          );
        return 0;
      }
      case "inspect": {
        const a = parse(rest, [FORMAT], false);
        const names = a.positionals;
        if (names.length === 0) throw new HuskError('"husk network inspect" requires at least 1 argument');
        const out = names.map((name) => {
          const rec = nets.inspect(name);
          const n = rec.network;
          return {
            Name: n.name,
            Created: n.created,
            Driver: "bridge",
            IPAM: { Driver: "default", Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
            Options: { "com.docker.network.bridge.name": n.bridge, "com.docker.network.driver.mtu": String(n.mtu) },
            Containers: Object.fromEntries(
              rec.leases.map((l) => [l.containerId, { IPv4Address: `${l.address}`, MacAddress: l.mac, Interface: l.ifname }]),
            ),
          };
        });
        if (printFormatted(a.flags.format, out)) return 0;
        stdout(`${JSON.stringify(out, null, 4)}\n`);
        return 0;
      }
      case "rm":
      case "remove": {
        const names = parse(rest, [], false).positionals;
        if (names.length === 0) throw new HuskError('"husk network rm" requires at least 1 argument');
        for (const name of names) {
          await nets.removeNetwork(name);
          stdout(`${name}\n`);
        }
        return 0;
      }
      case "connect":
      case "disconnect": {
        const flags = sub === "connect" ? [{ name: "alias", type: "list" as const, help: "" }] : [];
        const a = parse(rest, flags, false);
        const args = a.positionals;
        if (args.length !== 2) throw new HuskError(`"husk network ${sub}" requires exactly 2 arguments: NETWORK CONTAINER`);
        const [network, container] = args as [string, string];
        if (sub === "connect") await engine.connect(network, container, { aliases: a.flags.alias as string[] | undefined });
        else await engine.disconnect(network, container);
        return 0;
      }
      case "prune": {
        const a = parse(rest, [{ name: "force", short: "f", type: "bool", help: "" }], false);
        if (a.positionals.length > 0) throw new HuskError('"husk network prune" accepts no arguments');
        confirm(
          a.flags.force === true,
          "WARNING! This will remove all custom networks not used by at least one container.",
          "network prune",
        );
        printPruned(await engine.prune({ networks: true }), false);
        return 0;
      }
      default:
        throw new HuskError(`unknown command "${sub}" for "husk network"`);
    }
  },
};
export default verb;
