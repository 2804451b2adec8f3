import type { Engine } from "../../engine/engine.ts";
import { HuskError } from "../../errors.ts";
import { stderr, stdout } from "../../sys/stdio.ts";
import { forwardSignals } from "../forward-signals.ts";
import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

/** A detached container that already runs: its output from now on, then its exit status (docker's attach). */
async function follow(engine: Engine, ref: string): Promise<number> {
  for await (const e of engine.logs(ref, { follow: true, tail: 0 })) (e.stream === "stderr" ? stderr : stdout)(e.log);
  return (await engine.wait(ref)).exitCode;
}

const verb: EngineVerb = {
  name: "start",
  usage: "[options] CONTAINER [CONTAINER...]",
  summary: "start created or stopped containers (detached unless -a)",
  flags: [
    { name: "attach", short: "a", type: "bool", help: "attach stdout and stderr and exit with the container's status" },
    { name: "interactive", short: "i", type: "bool", help: "attach stdin too" },
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
    const ref = refs[0]!;
    const rec = engine.record(ref);
    if (engine.live(rec).status === "running" && rec.detached) return follow(engine, ref);
    // Signals that reach husk go to the container, from before it exists (queued) on.
    const forwarder = forwardSignals();
    try {
      const r = await engine.startContainer(ref, {
        attach: true,
        stdio: "inherit",
        interactive: p.flags.interactive === true,
        onStart: (_id, pid) => forwarder.target(pid),
      });
      return r.exitCode;
    } finally {
      forwarder.stop();
    }
  },
};
export default verb;
