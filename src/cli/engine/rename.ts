/** `husk rename CONTAINER NEW_NAME`: docker's rename; its user networks resolve the new name. */
import { HuskError } from "../../errors.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "rename",
  usage: "CONTAINER NEW_NAME",
  summary: "give a container another name",
  flags: [],
  async run(p, g) {
    const [ref, name, ...extra] = needArgs(p, 2, "rename");
    if (extra.length > 0) throw new HuskError('"husk rename" takes a container and its new name');
    await (await engineOf(g)).rename(ref!, name!);
    return 0;
  },
};
export default verb;
