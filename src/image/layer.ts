/**
 * Applying a layer tarball to an empty directory, treating the tarball as hostile.
 *
 * The rules that keep every write inside the layer directory:
 *   - names are made relative and any ".." is refused (layer-entry.ts);
 *   - every parent of an entry must be a real directory inside the layer: each component is
 *     lstat'ed (or was made by us), and a symlink or file in the way refuses the layer, so
 *     `a -> /etc` followed by `a/passwd` cannot write through the link;
 *   - an existing entry at the path is removed first (a later entry replaces an earlier one,
 *     as in tar), and files are created O_EXCL|O_NOFOLLOW, so nothing is opened through a link;
 *   - a hard link's target must be a non-directory already in the layer, found by the same rules.
 * The directory is ours, freshly made, and nothing else writes to it meanwhile, so checks done
 * by path stay true until the write.
 *
 * Node writes files, directories and symlinks and sets owners, modes and times itself. What it
 * cannot do — mknod (devices, fifos, overlayfs whiteouts) and setxattr (security.capability,
 * the opaque marker) — is queued as helper plan ops and run at the end in one helper process
 * (openRoot on the layer dir, so these paths are also resolved with RESOLVE_IN_ROOT). Extracting
 * everything in the helper would have put a tar parser in the C code, which must stay small and
 * without parsing; this way it runs only tiny syscall ops.
 */
import { constants, promises as fsp, type Stats } from "node:fs";
import { join } from "node:path";
import { fromSystemError, HuskError } from "../errors.ts";
import { launch } from "../helper/driver.ts";
import type { Op, Step } from "../plan/ops.ts";
import { classifyEntry, entryPath, nodeOps, opaqueOps, whiteoutOps, xattrOps } from "./layer-entry.ts";
import type { TarEntry } from "./tar.ts";

export interface ApplyResult {
  /** Bytes of regular file data written. */
  size: number;
  /** Tar entries read. */
  entries: number;
}

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

function refuse(name: string, why: string): HuskError {
  return new HuskError(why, { what: `tar entry ${JSON.stringify(name)}` });
}

function describe(op: Op): string {
  return op.op === "setxattr" ? `setxattr ${op.name} on "${op.path}"` : `${op.op} "${"path" in op ? op.path : ""}"`;
}

class Extractor {
  /** Layer-relative paths known to be real directories (made or lstat'ed by us). */
  private readonly dirs = new Set<string>([""]);
  /** Helper ops waiting for the next flush, by the path they act on. */
  private readonly pending = new Map<string, Op[]>();
  /** mtimes to set at the end: directories (after their contents) and nodes the helper makes. */
  private readonly times = new Map<string, number>();
  size = 0;
  entries = 0;

  constructor(
    private readonly root: string,
    private readonly warn: (message: string) => void,
  ) {}

  private abs(path: string): string {
    return path ? join(this.root, path) : this.root;
  }

  /**
   * Check every parent of path is a real directory in the layer; missing ones are made 0755
   * when create is set, else refused with `missing`.
   */
  private async parents(name: string, path: string, create: boolean, missing = ""): Promise<void> {
    const parts = path.split("/");
    parts.pop();
    let cur = "";
    for (const part of parts) {
      cur = cur ? `${cur}/${part}` : part;
      if (this.dirs.has(cur)) continue;
      const st = await lstatOrNull(this.abs(cur));
      if (!st && create) await this.mkdir(cur);
      else if (!st) throw refuse(name, missing);
      else if (!st.isDirectory()) {
        const what = st.isSymbolicLink() ? "is a symbolic link" : "is not a directory";
        throw refuse(name, `its parent "${cur}" ${what}: refusing to write through it`);
      }
      this.dirs.add(cur);
    }
  }

  /** A directory the tar did not list (or not yet): 0755, whatever the umask. */
  private async mkdir(path: string): Promise<void> {
    await fsp.mkdir(this.abs(path));
    await fsp.chmod(this.abs(path), 0o755);
  }

  /** Everything known about path and below it is gone. */
  private forget(path: string): void {
    const under = (p: string) => p === path || p.startsWith(`${path}/`);
    for (const m of [this.pending, this.times]) for (const k of [...m.keys()]) if (under(k)) m.delete(k);
    for (const d of [...this.dirs]) if (under(d)) this.dirs.delete(d);
  }

  /**
   * Make way for a new entry at path: remove what is there (and what is queued for it), unless
   * it is a directory and keepDir; true if a directory was kept.
   */
  private async replace(path: string, keepDir: boolean): Promise<boolean> {
    const st = await lstatOrNull(this.abs(path));
    if (st && keepDir && st.isDirectory()) return true;
    if (!st) {
      // Nothing on disk, but maybe a device or fifo still queued for the helper.
      this.pending.delete(path);
      this.times.delete(path);
      return false;
    }
    if (st.isDirectory()) await fsp.rm(this.abs(path), { recursive: true, force: true });
    else await fsp.unlink(this.abs(path));
    this.forget(path);
    return false;
  }

  private queue(path: string, ops: Op[]): void {
    if (ops.length === 0) return;
    const list = this.pending.get(path) ?? [];
    list.push(...ops);
    this.pending.set(path, list);
  }

  async entry(e: TarEntry): Promise<void> {
    this.entries++;
    try {
      const action = classifyEntry(e.path);
      switch (action.kind) {
        case "skip":
          return;
        case "whiteout":
          await this.parents(e.path, action.path, true);
          await this.replace(action.path, false);
          this.queue(action.path, whiteoutOps(action.path, e.uid, e.gid));
          return;
        case "opaque":
          if (action.dir) {
            await this.parents(e.path, action.dir, true);
            if (!(await this.replace(action.dir, true))) await this.mkdir(action.dir);
            this.dirs.add(action.dir);
          }
          this.queue(action.dir, opaqueOps(action.dir));
          return;
        case "entry":
          if (e.type === "link") await this.link(e, action.path);
          else await this.write(e, action.path);
      }
    } catch (err) {
      throw err instanceof HuskError ? err : fromSystemError(err, `extract tar entry ${JSON.stringify(e.path)}`);
    }
  }

  private async write(e: TarEntry, path: string): Promise<void> {
    const abs = this.abs(path);
    if (path === "") {
      if (e.type !== "dir") throw refuse(e.path, "the layer's root can only be a directory");
    } else {
      await this.parents(e.path, path, true);
      const kept = await this.replace(path, e.type === "dir");
      if (e.type === "dir" && !kept) await fsp.mkdir(abs, 0o700);
    }
    switch (e.type) {
      case "dir":
        this.dirs.add(path);
        await fsp.lchown(abs, e.uid, e.gid);
        await fsp.chmod(abs, e.mode);
        this.times.set(path, e.mtime);
        break;
      case "file": {
        const fh = await fsp.open(abs, CREATE, 0o600);
        try {
          for await (const chunk of e.body()) await fh.write(chunk);
          // chown first: it clears the set-id bits chmod then sets.
          await fh.chown(e.uid, e.gid);
          await fh.chmod(e.mode);
          await fh.utimes(e.mtime, e.mtime);
        } finally {
          await fh.close();
        }
        this.size += e.size;
        break;
      }
      case "symlink":
        await fsp.symlink(e.linkname, abs);
        await fsp.lchown(abs, e.uid, e.gid);
        await fsp.lutimes(abs, e.mtime, e.mtime);
        break;
      default: // char, block, fifo: the helper makes them
        this.queue(path, nodeOps(path, e));
        this.times.set(path, e.mtime);
    }
    this.queue(path, xattrOps(path, e.xattrs, this.warn));
  }

  private async link(e: TarEntry, path: string): Promise<void> {
    const target = entryPath(e.linkname);
    const notHere = `hard link target ${JSON.stringify(e.linkname)} is not in the layer`;
    if (target === "" || target === path) throw refuse(e.path, `hard link to ${JSON.stringify(e.linkname)}`);
    await this.parents(e.path, target, false, notHere);
    if (this.pending.has(target)) await this.flush(); // a device or fifo not made yet
    const st = await lstatOrNull(this.abs(target));
    if (!st) throw refuse(e.path, notHere);
    if (st.isDirectory()) throw refuse(e.path, `hard link target ${JSON.stringify(e.linkname)} is a directory`);
    await this.parents(e.path, path, true);
    await this.replace(path, false);
    await fsp.link(this.abs(target), this.abs(path));
  }

  /** Run the queued helper ops: mknods with umask 0, then chowns and setxattrs. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const steps: Step[] = [
      { what: "umask 0", op: { op: "umask", mask: 0 } },
      { what: `open layer directory "${this.root}"`, op: { op: "openRoot", path: this.root } },
    ];
    for (const ops of this.pending.values()) for (const op of ops) steps.push({ what: describe(op), op });
    this.pending.clear();
    await launch(steps, { preserveFds: 0 });
  }

  /** Flush, then set the times that writing inside directories would have changed: deepest first. */
  async finish(): Promise<void> {
    await this.flush();
    const depth = (p: string) => (p === "" ? -1 : p.split("/").length);
    const paths = [...this.times.keys()].sort((a, b) => depth(b) - depth(a));
    for (const p of paths) {
      const t = this.times.get(p)!;
      await fsp.lutimes(this.abs(p), t, t);
    }
  }
}

/**
 * Extract the entries of a layer tarball into root, an empty directory on a filesystem that
 * takes trusted.* xattrs and device nodes (the store's). Needs root (mknod, chown, trusted.*).
 */
export async function applyLayer(
  entries: AsyncIterable<TarEntry>,
  root: string,
  onWarning: (message: string) => void = () => {},
): Promise<ApplyResult> {
  const x = new Extractor(root, onWarning);
  for await (const e of entries) await x.entry(e);
  await x.finish();
  return { size: x.size, entries: x.entries };
}
