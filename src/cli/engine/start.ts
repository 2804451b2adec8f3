import { HuskError } from "../../errors.ts";
import { useTerminal } from "./attach.ts";
import { flagMessage } from "./run.ts";
import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "start",
  usage: "[options] CONTAINER [CONTAINER...]",
  summary: "start created or stopped containers (detached unless -a)",
  flags: [
    { name: "attach", short: "a", type: "bool", help: "attach stdout and stderr and exit with the container's status" },
    { name: "interactive", short: "i", type: "bool", help: "attach stdin too" },
    { name: "detach-keys", type: "string", help: 'with -a, the keys that detach and leave it running (default "ctrl-p,ctrl-q")' },
  ],
  async run(p, g) {
    const refs = needArgs(p, 1, "start");
    const engine = await engineOf(g);
    const attach = p.flags.attach === true || p.flags.interactive === true;
    if (!attach)
      return eachRef(refs, async (ref) => {
        await engine.startContainer(ref);
        return undefined;
      });
    if (refs.length > 1) throw new HuskError("you cannot start and attach multiple containers at once");
    // docker's way: attached before it starts (detached, under its monitor), so nothing is
    // missed; the detach keys leave it running. One that runs already is only attached to.
    const a = await engine
      .attach(refs[0]!, {
        start: true,
        stdin: p.flags.interactive === true,
        detachKeys: p.flags["detach-keys"] as string | undefined,
      })
      .catch((err) => {
        throw flagMessage(err);
      });
    return useTerminal(a, { endStdin: true, sigProxy: true, pid: engine.record(a.id).pid });
  },
};
export default verb;
