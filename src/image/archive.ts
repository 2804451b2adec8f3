/**
 * Reading the members of an image archive by name: a tar file (docker save, an OCI archive)
 * indexed once, then read by offset; or an OCI layout directory. Symlinks and hard links between
 * members (old `docker save` links duplicate layers: `<id>/layer.tar -> ../<id2>/layer.tar`) are
 * followed inside the archive's own name space; nothing here follows them on the filesystem.
 */
import { createReadStream, promises as fsp } from "node:fs";
import { join, posix } from "node:path";
import { fromSystemError, HuskError } from "../errors.ts";
import { readTar, type TarType } from "./tar.ts";

export interface Archive {
  /** Where it came from, for messages. */
  readonly name: string;
  has(member: string): Promise<boolean>;
  /** The member's bytes; HuskError if there is no such member. */
  open(member: string): Promise<AsyncIterable<Buffer>>;
  /** All of a (small) member, at most `max` bytes. */
  read(member: string, max?: number): Promise<Buffer>;
}

interface Member {
  type: TarType;
  offset: number;
  size: number;
  linkname: string;
}

/** A member name as a clean relative path: "./a//b/" → "a/b"; ".." cannot climb above the top. */
export function memberName(name: string): string {
  return posix.normalize(`/${name}`).slice(1).replace(/\/$/, "");
}

async function collect(stream: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += c.length;
    if (n > max) throw new HuskError(`larger than ${max} bytes`, { what });
    parts.push(c);
  }
  return Buffer.concat(parts);
}

const JSON_MAX = 64 * 1024 * 1024;

/** An uncompressed tar file, indexed by member name. */
export class TarArchive implements Archive {
  private constructor(
    readonly name: string,
    private readonly file: string,
    readonly members: Map<string, Member>,
  ) {}

  /** Read the tar's headers once (names as memberName gives them; the last entry of a name wins). */
  static async open(file: string, name = file): Promise<TarArchive> {
    const members = new Map<string, Member>();
    try {
      for await (const e of readTar(createReadStream(file))) {
        members.set(memberName(e.path), { type: e.type, offset: e.offset, size: e.size, linkname: e.linkname });
      }
    } catch (err) {
      if (err instanceof HuskError) throw new HuskError(`not a readable tar archive: ${err.message}`, { what: `import ${name}` });
      throw fromSystemError(err, `import ${name}`);
    }
    return new TarArchive(name, file, members);
  }

  /** The regular file a name leads to, through links between members. */
  private resolve(member: string): Member | undefined {
    let n = memberName(member);
    for (let depth = 0; depth < 32; depth++) {
      const m = this.members.get(n);
      if (!m || m.type === "file") return m;
      if (m.type === "symlink") n = memberName(posix.join(posix.dirname(n), m.linkname));
      else if (m.type === "link") n = memberName(m.linkname);
      else return undefined;
    }
    return undefined;
  }

  async has(member: string): Promise<boolean> {
    return this.resolve(member) !== undefined;
  }

  async open(member: string): Promise<AsyncIterable<Buffer>> {
    const m = this.resolve(member);
    if (!m) throw new HuskError(`the archive has no file "${member}"`, { what: `import ${this.name}` });
    if (m.size === 0) return (async function* () {})();
    return createReadStream(this.file, { start: m.offset, end: m.offset + m.size - 1 });
  }

  async read(member: string, max = JSON_MAX): Promise<Buffer> {
    return collect(await this.open(member), max, `${this.name}: ${member}`);
  }
}

/** An OCI image layout directory. */
export class DirArchive implements Archive {
  constructor(readonly name: string) {}

  private path(member: string): string {
    return join(this.name, memberName(member));
  }

  async has(member: string): Promise<boolean> {
    return fsp.stat(this.path(member)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  async open(member: string): Promise<AsyncIterable<Buffer>> {
    if (!(await this.has(member))) throw new HuskError(`the layout has no file "${member}"`, { what: `import ${this.name}` });
    return createReadStream(this.path(member));
  }

  async read(member: string, max = JSON_MAX): Promise<Buffer> {
    return collect(await this.open(member), max, `${this.name}: ${member}`);
  }
}
