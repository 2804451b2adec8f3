/** `husk update [--memory M] [--cpus N] [--pids-limit N] CONTAINER...`: docker's update of a container's limits. */
import { HuskError } from "../../errors.ts";
import { flagMessage } from "./run.ts";
import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "update",
  usage: "[options] CONTAINER [CONTAINER...]",
  summary: "change containers' memory, CPU or pids limits (a running one's at once), or their restart policy",
  flags: [
    { name: "memory", short: "m", type: "string", help: "memory limit (e.g. 512m)" },
    { name: "cpus", type: "string", help: "number of CPUs (e.g. 0.5)" },
    { name: "pids-limit", type: "int", help: "most processes in the container (-1: unlimited)" },
    { name: "restart", type: "string", help: "its restart policy: no, always, unless-stopped, on-failure[:N]" },
  ],
  async run(p, g) {
    const refs = needArgs(p, 1, "update");
    const limits = {
      ...(p.flags.memory !== undefined ? { memory: p.flags.memory as string } : {}),
      ...(p.flags.cpus !== undefined ? { cpus: p.flags.cpus as string } : {}),
      ...(p.flags["pids-limit"] !== undefined ? { pidsLimit: p.flags["pids-limit"] as number } : {}),
      ...(p.flags.restart !== undefined ? { restart: p.flags.restart as string } : {}),
    };
    if (Object.keys(limits).length === 0) throw new HuskError("you must provide one or more flags when using this command");
    const engine = await engineOf(g);
    return eachRef(refs, async (ref) => {
      try {
        await engine.update(ref, limits);
      } catch (err) {
        throw flagMessage(err);
      }
      return undefined;
    });
  },
};
export default verb;
