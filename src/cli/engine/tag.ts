import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "tag",
  usage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  summary: "give an image another name",
  flags: [],
  async run(p, g) {
    const [source, target] = needArgs(p, 2, "tag");
    const engine = await engineOf(g);
    await engine.images.tag(source!, target!);
    return 0;
  },
};
export default verb;
