import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "logout",
  usage: "SERVER",
  summary: "forget a registry's credentials",
  flags: [],
  async run(p, g) {
    const [server] = needArgs(p, 1, "logout");
    const had = await (await engineOf(g)).logout(server as string);
    stdout(had ? `Removing login credentials for ${server}\n` : `Not logged in to ${server}\n`);
    return 0;
  },
};
export default verb;
