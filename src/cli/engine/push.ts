/** `husk push [--insecure] [-q] NAME[:TAG]`: docker's upload of a tagged image to its registry. */
import { HuskError } from "../../errors.ts";
import { stderr, stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "push",
  usage: "[OPTIONS] NAME[:TAG]",
  summary: "push an image to the registry its name says (plain http only for localhost or --insecure)",
  flags: [
    { name: "insecure", type: "bool", help: "plain http to a registry that is not on this machine" },
    { name: "quiet", short: "q", type: "bool", help: "print only the digest" },
  ],
  async run(p, g) {
    const [ref, ...extra] = needArgs(p, 1, "push");
    if (extra.length > 0) throw new HuskError('"husk push" takes one image');
    const engine = await engineOf(g);
    const ac = new AbortController();
    const onInt = () => ac.abort();
    process.once("SIGINT", onInt);
    try {
      const r = await engine.push(ref!, {
        insecure: p.flags.insecure === true,
        signal: ac.signal,
        onProgress: p.flags.quiet ? undefined : (e) => stderr(`${e.id}: ${e.status}\n`),
      });
      const tag = ref!.includes("@") ? "" : (ref!.split("/").pop()!.split(":")[1] ?? "latest");
      stdout(p.flags.quiet ? `${r.digest}\n` : `${tag}: digest: ${r.digest} size: ${r.size}\n`);
      return 0;
    } finally {
      process.off("SIGINT", onInt);
    }
  },
};
export default verb;
