import { forwardSignals } from "../forward-signals.ts";
import { envOf } from "./run.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "exec",
  usage: "[options] CONTAINER COMMAND [ARG...]",
  summary: "run a command in a running container",
  flags: [
    { name: "detach", short: "d", type: "bool", help: "run the command in the background" },
    { name: "env", short: "e", type: "list", help: "set an environment variable" },
    { name: "env-file", type: "list", help: "read environment variables from a file" },
    { name: "interactive", short: "i", type: "bool", help: "keep stdin open" },
    { name: "tty", short: "t", type: "bool", help: "allocate a pseudo-terminal (proxied to this one)" },
    { name: "privileged", type: "bool", help: "every capability for the command" },
    { name: "user", short: "u", type: "string", help: "user (name|uid[:group|gid])" },
    { name: "workdir", short: "w", type: "string", help: "working directory inside the container" },
  ],
  command: true,
  async run(p, g) {
    const [ref, ...cmd] = needArgs(p, 2, "exec");
    const f = p.flags;
    const engine = await engineOf(g);
    const env = envOf(f);
    const forwarder = forwardSignals();
    try {
      const r = await engine.exec(ref!, cmd, {
        env: env.length ? env : undefined,
        user: f.user as string | undefined,
        cwd: f.workdir as string | undefined,
        detach: f.detach === true,
        privileged: f.privileged === true,
        tty: f.tty === true && f.detach !== true,
        stdio: "inherit",
        // Without -i the command reads nothing (docker's); with -t its pty is the terminal's.
        stdin: f.interactive || f.tty ? undefined : "",
        onStart: (pid) => forwarder.target(pid),
      });
      return r.exitCode;
    } finally {
      forwarder.stop();
    }
  },
};
export default verb;
