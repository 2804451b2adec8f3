import { HuskError, quote } from "../../errors.ts";
import { stdout } from "../../sys/stdio.ts";
import { flagMessage, RUN_FLAGS, runOptionsOf } from "./run.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "create",
  usage: "[options] IMAGE [COMMAND] [ARG...]",
  summary: "create a container from an image without starting it (husk start runs it)",
  // run's flags; -d means nothing here (start decides), --detach-keys are start's and attach's.
  flags: RUN_FLAGS.filter((f) => f.name !== "detach" && f.name !== "detach-keys"),
  command: true,
  async run(p, g) {
    const [image, ...cmd] = needArgs(p, 1, "create");
    if (image === undefined || image === "") throw new HuskError(`invalid reference format: ${quote(image ?? "")}`);
    const engine = await engineOf(g);
    const box = await engine
      .create(image, cmd, { ...runOptionsOf(p.flags), tty: p.flags.tty === true, interactive: p.flags.interactive === true })
      .catch((err) => {
        throw flagMessage(err);
      });
    stdout(`${box.id}\n`);
    return 0;
  },
};
export default verb;
