/**
 * Compiled seccomp filters, kept between runs. docker and podman give every container the
 * same ~340-syscall profile, and compiling it is ~8 ms of a cold create or exec. The key is
 * the SHA-256 of the build id and the profile's JSON; files live in <root>/@seccomp, a name
 * no container id can take (see validateId).
 *
 * Only a built CLI caches: `npm run build` defines HUSK_BUILD, so a rebuilt compiler never
 * reads an older one's output. Run from the sources, husk compiles every time.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LinuxSeccomp } from "../oci/types.ts";
import { type CompiledSeccomp, compileSeccomp } from "../seccomp/index.ts";
import { sha256 } from "../sys/index.ts";

declare const HUSK_BUILD: string | undefined;

const build = typeof HUSK_BUILD === "string" ? HUSK_BUILD : undefined;

interface Entry {
  flags: number;
  warnings: string[];
  filter: string;
}

/** compileSeccomp, answered from the cache under `root` when this build compiled it before. */
export function cachedSeccompCompiler(root: string): (seccomp: LinuxSeccomp) => CompiledSeccomp {
  if (!build) return compileSeccomp;
  return (seccomp) => {
    const dir = join(root, "@seccomp");
    const file = join(dir, `${sha256(`${build}\n${JSON.stringify(seccomp)}`)}.json`);
    try {
      const e = JSON.parse(readFileSync(file, "utf8")) as Entry;
      return { flags: e.flags, warnings: e.warnings, filter: new Uint8Array(Buffer.from(e.filter, "base64")) };
    } catch {
      // not cached yet (or unreadable): compile
    }
    const compiled = compileSeccomp(seccomp);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const entry: Entry = {
        flags: compiled.flags,
        warnings: compiled.warnings,
        filter: Buffer.from(compiled.filter).toString("base64"),
      };
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
      renameSync(tmp, file);
    } catch {
      // a cache that cannot be written is only slower
    }
    return compiled;
  };
}
