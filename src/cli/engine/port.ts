/** `husk port CONTAINER [PRIVATE_PORT[/PROTO]]`: docker's listing of a running container's published ports. */

import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "port",
  usage: "CONTAINER [PRIVATE_PORT[/PROTO]]",
  summary: "list a container's published ports, or the host address of one",
  flags: [],
  async run(p, g) {
    const [ref, port, ...extra] = needArgs(p, 1, "port");
    if (extra.length > 0)
      throw new HuskError(`"husk port" takes a container and at most one port, not ${p.positionals.length} arguments`);
    const engine = await engineOf(g);
    const mappings = await engine.port(ref!, port);
    for (const m of mappings)
      stdout(port === undefined ? `${m.containerPort}/${m.proto} -> ${m.hostIp}:${m.hostPort}\n` : `${m.hostIp}:${m.hostPort}\n`);
    return 0;
  },
};
export default verb;
