/**
 * Compiled seccomp filters, kept between runs. docker and podman give every container the
 * same ~340-syscall profile, and compiling it is ~8 ms of a cold create or exec (plus ~3 ms to
 * load the compiler, which a cache hit never loads). The key is the SHA-256 of the build id and
 * the profile's JSON; files live in <root>/@seccomp, a name no container id can take (see
 * validateId).
 *
 * A file is read without parsing: one header line `husk-seccomp <flags> <warning lines>`, the
 * warnings one per line (each a one-line message), then the filter's bytes as the helper takes them.
 *
 * Only a built CLI caches: `npm run build` defines HUSK_BUILD, so a rebuilt compiler never
 * reads an older one's output. Run from the sources, husk compiles every time.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { isDeepFrozen } from "../oci/frozen.ts";
import type { LinuxSeccomp } from "../oci/types.ts";
import { type CompiledSeccomp, seccompWanted } from "../seccomp/wanted.ts";
import { sha256 } from "../sys/index.ts";

declare const HUSK_BUILD: string | undefined;

const build = typeof HUSK_BUILD === "string" ? HUSK_BUILD : undefined;
const MAGIC = "husk-seccomp";

function decode(file: Buffer): CompiledSeccomp | undefined {
  let at = file.indexOf(10);
  const [magic, flags, count] = file.subarray(0, at).toString().split(" ");
  if (magic !== MAGIC || flags === undefined || count === undefined) return undefined;
  const warnings: string[] = [];
  for (let i = 0; i < Number(count); i++) {
    const end = file.indexOf(10, at + 1);
    if (end < 0) return undefined;
    warnings.push(file.subarray(at + 1, end).toString());
    at = end;
  }
  const filter = file.subarray(at + 1);
  // struct sock_filter is 8 bytes: anything else is a torn or foreign file.
  if (filter.length === 0 || filter.length % 8 !== 0) return undefined;
  return { flags: Number(flags), warnings, filter: new Uint8Array(filter) };
}

function encode(c: CompiledSeccomp): Buffer {
  const warnings = c.warnings.map((w) => w.replaceAll("\n", " "));
  const head = [`${MAGIC} ${c.flags} ${warnings.length}`, ...warnings].join("\n");
  return Buffer.concat([Buffer.from(`${head}\n`), c.filter]);
}

/**
 * The compiler for `seccomp` (the spec's linux.seccomp, or an exec'd process's): answered from
 * the cache under `root` when this build compiled the profile before, else the seccomp
 * compiler, loaded now (and its result stored). Async only to load the compiler when needed:
 * the plan compiler calls the result synchronously.
 */
export async function seccompCompiler(
  root: string,
  seccomp: LinuxSeccomp | undefined,
): Promise<(seccomp: LinuxSeccomp) => CompiledSeccomp> {
  if (!seccompWanted(seccomp)) return compilerNotNeeded;
  const frozen = isDeepFrozen(seccomp);
  const known = frozen ? compiledFrozen.get(seccomp) : undefined;
  if (known) return (asked) => (asked === seccomp ? known : otherProfile());
  // Kept, it is shared by every container of the profile: frozen, so that none changes it for the others.
  const keep = (compiled: CompiledSeccomp) => {
    if (!frozen) return compiled;
    Object.freeze(compiled.warnings);
    compiledFrozen.set(seccomp, Object.freeze(compiled));
    return compiled;
  };
  const file = build ? `${root}/@seccomp/${sha256(`${build}\n${JSON.stringify(seccomp)}`)}` : undefined;
  if (file) {
    let cached: CompiledSeccomp | undefined;
    try {
      cached = decode(readFileSync(file));
    } catch {
      // not cached yet (or unreadable): compile
    }
    if (cached) {
      const hit = keep(cached);
      return (asked) => (asked === seccomp ? hit : otherProfile());
    }
  }
  const { compileSeccomp } = await import("../seccomp/index.ts");
  return (asked) => {
    const compiled = compileSeccomp(asked);
    if (asked !== seccomp) return compiled;
    if (file) store(root, file, compiled);
    return keep(compiled);
  };
}

/**
 * Filters compiled from deep-frozen profiles (oci/frozen.ts), by the profile: an engine's
 * containers share one frozen default profile, which the validator hands on as one frozen
 * object, so a long-lived process hashes, reads and decodes it once, not per container. A memo
 * of a pure compile: the filter depends on nothing but the profile and this build.
 */
const compiledFrozen = new WeakMap<object, CompiledSeccomp>();

function compilerNotNeeded(): never {
  throw new Error("seccomp compiler called for a spec without a filter");
}

function otherProfile(): never {
  throw new Error("seccomp compiler called with another profile than the one it was made for");
}

function store(root: string, file: string, compiled: CompiledSeccomp): void {
  writeCacheFile(`${root}/@seccomp`, file, encode(compiled));
}

/**
 * A cache file in dir (root's, 0700), written whole then renamed so that a reader never sees
 * part of it; the engine's converted profiles use it too. Best effort: a cache that cannot be
 * written is only slower.
 */
export function writeCacheFile(dir: string, file: string, data: string | Uint8Array): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {}
}
