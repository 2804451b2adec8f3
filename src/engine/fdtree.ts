/**
 * A directory tree reached only through open directory fds, one name at a time, so that what a
 * container does to its files while husk copies them cannot send husk anywhere else.
 *
 * Node has no openat(2), but /proc/self/fd/<fd>/<name> is one: the kernel jumps from the magic
 * link to the open directory itself (wherever it has been moved since) and looks up <name> in
 * it. With <name> a single component (never "..", never with a "/") and O_NOFOLLOW, that is
 * openat(fd, name, O_NOFOLLOW). Every operation here is of that kind:
 *   - opening a child directory or file: O_NOFOLLOW, and the opened fd is checked with fstat;
 *   - lstat, readlink, unlink, symlink and mkdir act on the last component, never through it;
 *   - modes, owners and times are set through the opened fd (fchmod, fchown, futimes) or with
 *     the l-variants for symlinks, never by a path that could be swapped for a symlink: followed
 *     from husk's process, a container's absolute symlink would name a host file.
 * resolveIn() walks a path inside a root the way openat2(RESOLVE_IN_ROOT) does: a symlink's
 * target is resolved against the root (absolute ones from the root itself), ".." stops at the
 * root, and each step is one of the fd-relative lookups above, so a race can make a step fail
 * but never leave the root.
 */
import { constants as C, promises as fsp, type Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { HuskError } from "../errors.ts";

const MAX_LINKS = 40;

function checkName(name: string): void {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0"))
    throw new HuskError(`invalid file name ${JSON.stringify(name)}`);
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** An open directory. */
export class Dir {
  private constructor(
    readonly handle: FileHandle,
    /** For messages: the path it was reached by. */
    readonly label: string,
  ) {}

  /** Open a trusted path (host paths the caller named, /proc/<pid>/root): symlinks in it are followed. */
  static async open(path: string, label = path): Promise<Dir> {
    const h = await fsp.open(path, C.O_RDONLY | C.O_DIRECTORY);
    return new Dir(h, label);
  }

  get fd(): number {
    return this.handle.fd;
  }

  /** The path that names `name` in this directory without following it. */
  at(name: string): string {
    checkName(name);
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  sub(name: string): string {
    return this.label.endsWith("/") ? `${this.label}${name}` : `${this.label}/${name}`;
  }

  async lstat(name: string): Promise<Stats | null> {
    try {
      return await fsp.lstat(this.at(name));
    } catch (err) {
      if (code(err) === "ENOENT") return null;
      throw err;
    }
  }

  /** A child directory; a symlink (or anything not a directory) there is refused. */
  async child(name: string): Promise<Dir> {
    const h = await fsp.open(this.at(name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    return new Dir(h, this.sub(name));
  }

  /** A regular file for reading; anything else there (a symlink, a fifo swapped in) is refused. */
  async openFile(name: string): Promise<FileHandle> {
    const h = await fsp.open(this.at(name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    const st = await h.stat();
    if (!st.isFile()) {
      await h.close();
      throw new HuskError("not a regular file any more", { what: `read ${this.sub(name)}` });
    }
    return h;
  }

  /** Create a regular file that did not exist (O_EXCL: an entry put there meanwhile fails it). */
  async createFile(name: string): Promise<FileHandle> {
    return fsp.open(this.at(name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
  }

  async names(): Promise<string[]> {
    return (await fsp.readdir(`/proc/self/fd/${this.fd}`)).sort();
  }

  readlink(name: string): Promise<string> {
    return fsp.readlink(this.at(name));
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}

export interface Resolved {
  /** The directory holding the last component (or, when name is null, the object itself). */
  dir: Dir;
  /** The last component; null when the path named the root or a directory reached by "..". */
  name: string | null;
  /** lstat of the last component (of dir when name is null); null when it does not exist. */
  stat: Stats | null;
}

/**
 * Resolve path inside root, as openat2(RESOLVE_IN_ROOT) would. The last component is followed
 * when it is a symlink only with followLast. A missing last component resolves (stat null);
 * a missing directory on the way is ENOENT. The caller closes `dir` (never root itself: it
 * gets its own fd).
 */
export async function resolveIn(root: Dir, path: string, followLast: boolean): Promise<Resolved> {
  const stack: Dir[] = [await Dir.open(`/proc/self/fd/${root.fd}`, root.label)];
  const closeAbove = async (n: number) => {
    while (stack.length > n) await stack.pop()!.close();
  };
  try {
    let parts = path.split("/");
    let links = 0;
    while (parts.length > 0) {
      const c = parts.shift()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        if (stack.length > 1) await closeAbove(stack.length - 1);
        continue;
      }
      const top = stack[stack.length - 1]!;
      const last = parts.every((p) => p === "" || p === ".");
      const st = await top.lstat(c);
      if (!st) {
        if (last) return { dir: stack.splice(stack.length - 1)[0]!, name: c, stat: null };
        throw new HuskError("no such file or directory", { what: `resolve ${JSON.stringify(path)}`, errno: "ENOENT" });
      }
      if (st.isSymbolicLink() && (!last || followLast)) {
        if (++links > MAX_LINKS)
          throw new HuskError("too many levels of symbolic links", { what: `resolve ${JSON.stringify(path)}`, errno: "ELOOP" });
        const target = await top.readlink(c);
        if (target.startsWith("/")) await closeAbove(1);
        parts = [...target.split("/"), ...parts];
        continue;
      }
      if (last) return { dir: stack.splice(stack.length - 1)[0]!, name: c, stat: st };
      if (!st.isDirectory())
        throw new HuskError("not a directory", { what: `resolve ${JSON.stringify(path)}`, errno: "ENOTDIR" });
      stack.push(await top.child(c));
    }
    const dir = stack.splice(stack.length - 1)[0]!;
    return { dir, name: null, stat: await dir.handle.stat() };
  } finally {
    await closeAbove(0);
  }
}
