/**
 * Copying a tree entry by entry, with both ends hostile-safe (fdtree.ts): a walker that reads
 * a tree through directory fds (never following a symlink: it is copied as a symlink), and a
 * writer that makes entries under a directory fd, where a ".." name is refused and a symlink
 * or file in the way of a parent is refused, so neither a tar made by a container nor a tree it
 * swaps while it is walked can write outside the destination. Tar streams (husk cp's "-") are
 * one more source and sink of the same entries.
 */

import { promises as fsp, type Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";
import { HuskError } from "../errors.ts";
import { entryPath, splitPath } from "../image/layer-entry.ts";
import type { TarType } from "../image/tar.ts";
import { readTar } from "../image/tar.ts";
import { TAR_END, tarHeader, tarPadding } from "../image/tar-writer.ts";
import { devNumbers } from "./devices.ts";
import type { Dir } from "./fdtree.ts";
import { copiedXattrs, type XattrReader, type Xattrs } from "./xattrs.ts";

export interface CopyEntry {
  /** Relative to the copy's top ("" is the top directory itself). */
  path: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes the copy carries (a tar's SCHILY.xattr records). */
  xattrs?: Map<string, Uint8Array>;
  /** A file's data, exactly size bytes. */
  body(): AsyncGenerator<Buffer>;
}

const join = (rel: string, name: string) => (rel === "" ? name : `${rel}/${name}`);

export async function* nothing(): AsyncGenerator<Buffer> {}

/** Exactly size bytes of an open file (zeros if it shrank meanwhile: a tar header promised size). */
async function* fileBytes(h: FileHandle, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.alloc(Math.min(size, 1 << 20) || 1);
  let left = size;
  try {
    while (left > 0) {
      const { bytesRead } = await h.read(buf, 0, Math.min(buf.length, left), null);
      if (bytesRead === 0) {
        yield Buffer.alloc(left);
        return;
      }
      left -= bytesRead;
      yield Buffer.from(buf.subarray(0, bytesRead));
    }
  } finally {
    await h.close();
  }
}

function typeOf(st: Stats): TarType | undefined {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return undefined; // sockets are not copied (nor by tar)
}

export function entryOf(path: string, st: Stats, type: TarType): Omit<CopyEntry, "body"> {
  return {
    path,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: Math.floor(st.mtimeMs / 1000),
    size: 0,
    linkname: "",
    devmajor: devNumbers(st.rdev).major,
    devminor: devNumbers(st.rdev).minor,
  };
}

export interface WalkOptions {
  /**
   * Only what is on this filesystem: what is mounted on it (proc, a volume, a bound file) is left
   * out, a mount point directory kept empty.
   */
  dev?: number;
  /** Read each entry's extended attributes with this (overlayfs' own are left out). */
  xattrs?: XattrReader;
}

/**
 * The entries of `name` in `parent` (its own entry first, named `rel`), depth first. With name
 * null, `parent` is the directory to copy itself. `known` is the entry's xattrs when the caller
 * has read them already (a directory's names are read in one batch).
 */
export async function* walk(
  parent: Dir,
  name: string | null,
  rel: string,
  opts: WalkOptions = {},
  known?: Xattrs,
): AsyncGenerator<CopyEntry> {
  if (name === null) {
    // The top directory itself: a tar has no entry for it, so its own xattrs are not read.
    yield* walkDir(parent, rel, await parent.handle.stat(), opts);
    return;
  }
  yield* walkEntry(parent, name, rel, opts, 3, known);
}

async function* walkEntry(
  parent: Dir,
  name: string,
  rel: string,
  opts: WalkOptions,
  tries: number,
  known?: Xattrs,
): AsyncGenerator<CopyEntry> {
  const st = await parent.lstat(name);
  if (!st) return; // gone meanwhile
  // A mount point: the directory stays (empty, as the image has it), what is mounted there does not.
  if (opts.dev !== undefined && st.dev !== opts.dev) {
    if (st.isDirectory()) yield { ...entryOf(rel, st, "dir"), body: nothing };
    return;
  }
  // Swapped again and again between lstat and open: something keeps changing it on purpose.
  if (tries === 0) throw new HuskError("it keeps changing while being copied", { what: `copy ${parent.sub(name)}` });
  const type = typeOf(st);
  if (!type) return;
  const x = known ?? (opts.xattrs ? (await opts.xattrs.read(parent, [name])).get(name) : undefined);
  const xattrs = copiedXattrs(x);
  if (type === "dir") {
    let dir: Dir;
    try {
      dir = await parent.child(name);
    } catch (err) {
      // Swapped for something else since the lstat: copy what is there now, without following it.
      if ((err as NodeJS.ErrnoException).code === "ELOOP" || (err as NodeJS.ErrnoException).code === "ENOTDIR") {
        yield* walkEntry(parent, name, rel, opts, tries - 1);
        return;
      }
      throw err;
    }
    try {
      yield* walkDir(dir, rel, await dir.handle.stat(), opts, x);
    } finally {
      await dir.close();
    }
    return;
  }
  if (type === "file") {
    let h: FileHandle;
    try {
      h = await parent.openFile(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ELOOP" || err instanceof HuskError) {
        yield* walkEntry(parent, name, rel, opts, tries - 1);
        return;
      }
      throw err;
    }
    const fst = await h.stat();
    yield { ...entryOf(rel, fst, "file"), size: fst.size, xattrs, body: () => fileBytes(h, fst.size) };
    return;
  }
  const linkname = type === "symlink" ? await parent.readlink(name) : "";
  yield { ...entryOf(rel, st, type), linkname, xattrs, body: nothing };
}

async function* walkDir(dir: Dir, rel: string, st: Stats, opts: WalkOptions, x?: Xattrs): AsyncGenerator<CopyEntry> {
  yield { ...entryOf(rel, st, "dir"), xattrs: copiedXattrs(x), body: nothing };
  const names = await dir.names();
  const all = opts.xattrs ? await opts.xattrs.read(dir, names) : undefined;
  for (const n of names) yield* walkEntry(dir, n, join(rel, n), opts, 3, all?.get(n));
}

/** The entries of a tar stream (names checked by the writer, which refuses ".."). */
export async function* tarEntries(source: AsyncIterable<Uint8Array>): AsyncGenerator<CopyEntry> {
  for await (const e of readTar(source)) yield { ...e, body: () => e.body() };
}

async function writeChunk(out: Writable, chunk: Buffer): Promise<void> {
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      out.off("drain", done);
      out.off("error", done);
      err ? reject(err) : resolve();
    };
    out.on("drain", done);
    out.on("error", done);
  });
}

/** Write entries as a tar stream (the top directory "" is left out, as it has no name). */
export async function writeTar(entries: AsyncIterable<CopyEntry>, out: Writable): Promise<void> {
  for await (const e of entries) {
    if (e.path === "") continue;
    await writeChunk(out, tarHeader({ ...e, linkname: e.linkname || undefined }));
    if (e.type !== "file") continue;
    for await (const c of e.body()) await writeChunk(out, c);
    await writeChunk(out, tarPadding(e.size));
  }
  await writeChunk(out, TAR_END);
}

export interface WriterOptions {
  /** Owner of what is made: the entry's own ("keep", docker cp -a) or these ids. */
  owner: "keep" | { uid: number; gid: number };
  /** Clear set-user-ID and set-group-ID bits (files from a container given to a host user). */
  clearSetId?: boolean;
  onWarning?: (message: string) => void;
}

/** Makes entries under a root directory fd (see the file's comment for the rules). */
export class TreeWriter {
  readonly #dirs = new Map<string, Dir>();
  readonly #dirTimes: [string, number][] = [];
  readonly #warn: (message: string) => void;

  constructor(
    readonly root: Dir,
    readonly options: WriterOptions,
  ) {
    this.#warn = options.onWarning ?? (() => {});
  }

  #ids(e: CopyEntry): [number, number] {
    const o = this.options.owner;
    return o === "keep" ? [e.uid, e.gid] : [o.uid, o.gid];
  }

  #mode(e: CopyEntry): number {
    return this.options.clearSetId ? e.mode & 0o1777 & ~0o6000 : e.mode & 0o7777;
  }

  /** The directory at rel (made 0755 when missing); a symlink or file in the way is refused. */
  async #dir(rel: string, entry: string): Promise<Dir> {
    if (rel === "") return this.root;
    const known = this.#dirs.get(rel);
    if (known) return known;
    const [up, name] = splitPath(rel);
    const parent = await this.#dir(up, entry);
    let d: Dir;
    try {
      d = await parent.child(name);
    } catch (err) {
      const c = (err as NodeJS.ErrnoException).code;
      if (c === "ENOENT") {
        await fsp.mkdir(parent.at(name), 0o755);
        d = await parent.child(name);
      } else if (c === "ELOOP" || c === "ENOTDIR") {
        throw new HuskError(`${JSON.stringify(rel)} is not a directory (a symlink or file is in the way)`, {
          what: `copy ${JSON.stringify(entry)}`,
        });
      } else throw err;
    }
    this.#dirs.set(rel, d);
    return d;
  }

  async write(e: CopyEntry): Promise<void> {
    const what = `copy ${JSON.stringify(e.path)}`;
    let path: string;
    try {
      path = entryPath(e.path);
    } catch (err) {
      throw new HuskError((err as Error).message, { what });
    }
    if (path === "") {
      if (e.type !== "dir") throw new HuskError("the top of the copy is not a directory", { what });
      await this.#finishDir(this.root, e, "");
      return;
    }
    const [up, name] = splitPath(path);
    const dir = await this.#dir(up, e.path);
    const st = await dir.lstat(name);
    if (e.type === "dir") {
      if (st && !st.isDirectory()) await fsp.unlink(dir.at(name));
      if (!st?.isDirectory()) await fsp.mkdir(dir.at(name), 0o700);
      const d = await this.#dir(path, e.path);
      await this.#finishDir(d, e, path);
      return;
    }
    if (st?.isDirectory()) throw new HuskError("cannot overwrite a directory with a non-directory", { what });
    if (st) await fsp.unlink(dir.at(name));
    const [uid, gid] = this.#ids(e);
    switch (e.type) {
      case "file": {
        const h = await dir.createFile(name);
        try {
          for await (const c of e.body()) await h.write(c);
          await h.chown(uid, gid).catch((err) => this.#chownFailed(err, what));
          await h.chmod(this.#mode(e));
          await h.utimes(e.mtime, e.mtime);
        } finally {
          await h.close();
        }
        return;
      }
      case "symlink":
        await fsp.symlink(e.linkname, dir.at(name));
        await fsp.lchown(dir.at(name), uid, gid).catch((err) => this.#chownFailed(err, what));
        await fsp.lutimes(dir.at(name), e.mtime, e.mtime);
        return;
      case "link": {
        // A hard link to an entry already written under the same root, found by the same rules.
        const [tu, tn] = splitPath(entryPath(e.linkname));
        const td = await this.#dir(tu, e.path);
        const tst = await td.lstat(tn);
        if (!tst || tst.isDirectory())
          throw new HuskError(`hard link target ${JSON.stringify(e.linkname)} is not in the copy`, { what });
        await fsp.link(td.at(tn), dir.at(name));
        return;
      }
      default:
        this.#warn(`${e.path}: a ${e.type} device or fifo is not copied`);
    }
  }

  async #finishDir(d: Dir, e: CopyEntry, path: string): Promise<void> {
    const [uid, gid] = this.#ids(e);
    await d.handle.chown(uid, gid).catch((err) => this.#chownFailed(err, `copy ${JSON.stringify(e.path)}`));
    await d.handle.chmod(this.#mode(e));
    this.#dirTimes.push([path, e.mtime]);
  }

  #chownFailed(err: unknown, what: string): void {
    // Not root (a rootless engine): what is made stays the caller's, as cp without -a.
    if ((err as NodeJS.ErrnoException).code === "EPERM" && this.options.owner !== "keep") return;
    throw new HuskError((err as Error).message, { what });
  }

  /** Directory times last (writing inside changed them), deepest first; close every fd. */
  async finish(): Promise<void> {
    try {
      for (const [path, t] of this.#dirTimes.reverse()) {
        const d = path === "" ? this.root : this.#dirs.get(path);
        await d?.handle.utimes(t, t);
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    for (const d of this.#dirs.values()) await d.close();
    this.#dirs.clear();
  }
}
