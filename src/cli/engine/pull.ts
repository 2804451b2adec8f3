import { stderr, stdout } from "../../sys/stdio.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

const verb: EngineVerb = {
  name: "pull",
  usage: "[OPTIONS] NAME[:TAG|@DIGEST]",
  summary: "pull an image from a registry (plain http only for localhost or --insecure)",
  flags: [
    { name: "platform", type: "string", help: 'os/arch[/variant] to pick from a multi-platform image (default "linux/amd64")' },
    { name: "insecure", type: "bool", help: "plain http to a registry that is not on this machine" },
    { name: "quiet", short: "q", type: "bool", help: "print only the image's name" },
  ],
  async run(p, g) {
    const [ref] = needArgs(p, 1, "pull");
    const engine = await engineOf(g);
    const { PullProgressView } = await import("../../image/progress.ts");
    // Progress goes to stderr, redrawn in place on a terminal, a line a layer otherwise.
    const view = new PullProgressView({ tty: process.stderr.isTTY === true, columns: process.stderr.columns });
    const ac = new AbortController();
    const onInt = () => ac.abort();
    process.once("SIGINT", onInt);
    try {
      const r = await engine.pull(ref as string, {
        platform: p.flags.platform as string | undefined,
        insecure: p.flags.insecure === true,
        signal: ac.signal,
        onProgress: p.flags.quiet ? undefined : (e) => stderr(view.update(e)),
      });
      stdout(p.flags.quiet ? `${ref}\n` : `Digest: ${r.digest}\nStatus: image ${ref} is up to date (${r.id.slice(7, 19)})\n`);
      return 0;
    } finally {
      process.off("SIGINT", onInt);
    }
  },
};
export default verb;
