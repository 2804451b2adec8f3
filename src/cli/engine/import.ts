import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "import",
  usage: "FILE|- [REPOSITORY[:TAG]]",
  summary: "import an image: a docker or OCI archive, an OCI layout directory, or a rootfs tarball (- reads stdin)",
  flags: [],
  async run(p, g) {
    const [file, tag] = needArgs(p, 1, "import");
    const engine = await engineOf(g);
    const source = file === "-" ? (process.stdin as AsyncIterable<Uint8Array>) : file!;
    const r = await engine.importImage(source, { tags: tag ? [tag] : [] });
    for (const img of r.images) stdout(img.tags.length ? img.tags.map((t) => `Loaded image: ${t}\n`).join("") : `${img.id}\n`);
    return 0;
  },
};
export default verb;
