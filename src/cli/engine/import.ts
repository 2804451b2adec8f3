import type { Engine } from "../../engine/index.ts";
import { stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

/**
 * Import an archive (a path, or stdin's bytes) and say what it loaded: its tags, and an untagged
 * image by its id (docker load's "Loaded image ID: …", docker import's bare id).
 */
export async function importAndPrint(
  engine: Engine,
  source: string | AsyncIterable<Uint8Array>,
  tags: string[],
  untagged: "id" | "load" | "quiet",
) {
  const r = await engine.importImage(source, { tags });
  if (untagged === "quiet") return;
  for (const img of r.images) {
    if (img.tags.length) stdout(img.tags.map((t) => `Loaded image: ${t}\n`).join(""));
    else stdout(untagged === "load" ? `Loaded image ID: ${img.id}\n` : `${img.id}\n`);
  }
}

const verb: EngineVerb = {
  name: "import",
  usage: "FILE|- [REPOSITORY[:TAG]]",
  summary: "import an image: a docker or OCI archive, an OCI layout directory, or a rootfs tarball (- reads stdin)",
  flags: [],
  async run(p, g) {
    const [file, tag] = needArgs(p, 1, "import");
    const engine = await engineOf(g);
    await importAndPrint(engine, file === "-" ? (process.stdin as AsyncIterable<Uint8Array>) : file!, tag ? [tag] : [], "id");
    return 0;
  },
};
export default verb;
