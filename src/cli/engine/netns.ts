/**
 * `husk netns add|ls|rm|exec`: named network namespaces as iproute2 keeps them (/run/netns), so
 * `ip netns` and husk see the same ones; `exec` runs a command in one (the helper joins it:
 * a multi-threaded runtime cannot).
 */
import { HuskError } from "../../errors.ts";
import { launch } from "../../helper/driver.ts";
import { CloneMode } from "../../helper/wire.ts";
import { netnsAdd, netnsList, netnsPath, netnsRemove } from "../../network/netns.ts";
import { stdout } from "../../sys/stdio.ts";
import { forwardSignals } from "../forward-signals.ts";
import { parse } from "./args.ts";
import { type EngineVerb, needArgs } from "./verb.ts";

const CLONE_NEWNET = 0x40000000;

const verb: EngineVerb = {
  name: "netns",
  usage: "add|ls|rm|exec …",
  summary: "manage named network namespaces (iproute2's /run/netns)",
  flags: [],
  command: true,
  async run(p) {
    const [sub, ...rest] = needArgs(p, 1, "netns");
    switch (sub) {
      case "add": {
        const [name] = parse(rest, [], false).positionals;
        if (!name) throw new HuskError('"husk netns add" requires a name');
        await netnsAdd(name);
        return 0;
      }
      case "ls":
      case "list":
        stdout(
          netnsList()
            .map((n) => `${n}\n`)
            .join(""),
        );
        return 0;
      case "rm":
      case "delete":
      case "del": {
        const names = parse(rest, [], false).positionals;
        if (names.length === 0) throw new HuskError('"husk netns rm" requires a name');
        for (const name of names) await netnsRemove(name);
        return 0;
      }
      case "exec": {
        const [name, ...cmd] = rest;
        if (!name || cmd.length === 0) throw new HuskError('"husk netns exec" requires a name and a command');
        const path = netnsPath(name);
        const env = Object.entries(process.env).map(([k, v]) => `${k}=${v}`);
        const forwarder = forwardSignals();
        try {
          const launched = await launch(
            [
              {
                what: `join network namespace ${name}`,
                errors: { ENOENT: `network namespace ${name} does not exist` },
                op: { op: "setns", path, nstype: CLONE_NEWNET },
              },
              { what: "start the command", op: { op: "clone", flags: 0, mode: CloneMode.Wait } },
              {
                what: `exec ${JSON.stringify(cmd[0])}`,
                origin: "process.args",
                errors: cmd[0]!.includes("/") ? undefined : { ENOENT: "executable file not found in $PATH" },
                op: { op: "exec", argv: cmd, env },
              },
            ],
            { preserveFds: 0 },
          );
          forwarder.target(launched.pid);
          return await launched.exited;
        } finally {
          forwarder.stop();
        }
      }
      default:
        throw new HuskError(`unknown command "${sub}" for "husk netns"`);
    }
  },
};
export default verb;
