import { readFileSync } from "node:fs";
import { HuskError } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "login",
  usage: "[OPTIONS] SERVER",
  summary: "check credentials against a registry and keep them for pulls",
  flags: [
    { name: "username", short: "u", type: "string", help: "user name" },
    { name: "password", short: "p", type: "string", help: "password (prefer --password-stdin)" },
    { name: "password-stdin", type: "bool", help: "read the password from standard input" },
    { name: "insecure", type: "bool", help: "plain http to a registry that is not on this machine" },
  ],
  async run(p, g) {
    const [server] = needArgs(p, 1, "login");
    const username = p.flags.username as string | undefined;
    if (!username) throw new HuskError("login needs --username");
    const password = p.flags["password-stdin"]
      ? readFileSync(0, "utf8").replace(/\r?\n$/, "")
      : (p.flags.password as string | undefined);
    if (!password) throw new HuskError("login needs --password or --password-stdin");
    await (await engineOf(g)).login(server as string, username, password, { insecure: p.flags.insecure === true });
    stdout("Login Succeeded\n");
    return 0;
  },
};
export default verb;
