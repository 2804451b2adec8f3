import { type EngineVerb, eachRef, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "rmi",
  usage: "[options] IMAGE [IMAGE...]",
  summary: "remove images",
  flags: [{ name: "force", short: "f", type: "bool", help: "remove an image with several tags, or used by stopped containers" }],
  async run(p, g) {
    const refs = needArgs(p, 1, "rmi");
    const engine = await engineOf(g);
    return eachRef(refs, async (ref) => {
      const r = await engine.removeImage(ref, { force: p.flags.force === true });
      return [...r.untagged.map((t) => `Untagged: ${t}\n`), ...r.deleted.map((d) => `Deleted: ${d}\n`)].join("");
    });
  },
};
export default verb;
