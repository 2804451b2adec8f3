import { Writable } from "node:stream";
import { HuskError, quote } from "../../errors.ts";
import { type EngineVerb, engineOf, needArgs } from "./verb.ts";

/** "NAME:PATH" → [NAME, PATH]; a host path has no ":" before its first "/" (docker's rule). */
function split(arg: string): [string, string] | undefined {
  if (arg.startsWith("/") || arg.startsWith(".")) return undefined;
  const colon = arg.indexOf(":");
  const slash = arg.indexOf("/");
  if (colon <= 0 || (slash >= 0 && slash < colon)) return undefined;
  return [arg.slice(0, colon), arg.slice(colon + 1)];
}

/** Our stdout as a stream, written synchronously (the process may exit right after). */
const stdoutStream = () =>
  new Writable({
    write(chunk: Buffer, _enc, done) {
      try {
        const { writeSync } = process.getBuiltinModule("node:fs") as typeof import("node:fs");
        let off = 0;
        while (off < chunk.length) {
          try {
            off += writeSync(1, chunk, off);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
          }
        }
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });

const verb: EngineVerb = {
  name: "cp",
  usage: "[options] CONTAINER:SRC_PATH DEST_PATH|-\n       husk cp [options] SRC_PATH|- CONTAINER:DEST_PATH",
  summary: 'copy files between a container and the host ("-": a tar stream on stdin or stdout)',
  flags: [
    { name: "archive", short: "a", type: "bool", help: "keep uid/gid of the source" },
    { name: "follow-link", short: "L", type: "bool", help: "follow a symlink given as SRC_PATH" },
    { name: "quiet", short: "q", type: "bool", help: "print nothing (husk prints nothing anyway)" },
  ],
  async run(p, g) {
    const [src, dest, ...extra] = needArgs(p, 2, "cp");
    if (extra.length > 0) throw new HuskError(`"husk cp" takes 2 arguments, got ${2 + extra.length}`);
    const from = split(src!);
    const to = split(dest!);
    if (from && to) throw new HuskError("copying between containers is not supported");
    if (!from && !to) throw new HuskError(`must specify at least one container source: ${quote(src!)} or ${quote(dest!)}`);
    const opts = { archive: p.flags.archive === true, followLink: p.flags["follow-link"] === true };
    const engine = await engineOf(g);
    if (from) {
      const [ref, path] = from;
      if (path === "") throw new HuskError(`empty path in ${quote(src!)}`);
      await engine.copyFrom(ref, path, dest === "-" ? stdoutStream() : dest!, opts);
    } else {
      const [ref, path] = to!;
      if (path === "") throw new HuskError(`empty path in ${quote(dest!)}`);
      await engine.copyTo(ref, src === "-" ? process.stdin : src!, path, opts);
    }
    return 0;
  },
};
export default verb;
