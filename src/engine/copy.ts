/**
 * `husk cp` (docker cp): files between a container and the host, with docker's rules (file to
 * file, file into a directory, directory to a new directory or into one, "dir/." for its
 * contents, tar streams for "-", -a keeping owners, -L following a symlink given as the source).
 *
 * The path inside the container is hostile: the container may swap any part of it for a
 * symlink to "/" while the copy runs. It is resolved inside the container's root with
 * resolveIn (openat2 RESOLVE_IN_ROOT's rules, one fd-relative step at a time, fdtree.ts), and the
 * copy itself only ever opens one name under a directory fd with O_NOFOLLOW; on the host side
 * the writer refuses ".." names and symlinks in the way, so a container-made tree or tar cannot
 * write outside the destination either.
 *
 * Where the container's root is reached:
 *   running (or created): /proc/<pid>/root, opened as a directory fd. The overlay is mounted
 *     only in the container's mount namespace; that magic link enters it, and lookups under the
 *     fd go on in it (volumes and /etc/hosts included, as docker cp sees them).
 *   exited: the overlay is mounted again, in a mount namespace of its own: a helper child
 *     (clone CLONE_NEWNS, "/" made rprivate) mounts it and waits while this process opens it
 *     through /proc/<child>/root, then exits. The open fd keeps the detached mount usable until
 *     the copy closes it, and nothing ever shows in the host's mount table, so a killed copy
 *     leaves no mount behind. Reading the layers directly was the other way; it would mean
 *     re-implementing overlayfs (whiteouts, opaque directories, copy-up for writes), which the
 *     kernel already does. The copy holds the container's lock, so rm waits for it.
 */
import { promises as fsp, type Stats } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { Writable } from "node:stream";
import { ConflictError, fromSystemError, HuskError, NotFoundError, quote } from "../errors.ts";
import { helperPath, launch } from "../helper/driver.ts";
import { CloneMode } from "../helper/wire.ts";
import { prepareRootfs } from "../image/rootfs.ts";
import { MS_PRIVATE, MS_REC } from "../oci/mount-options.ts";
import { CLONE_NEWNS } from "../oci/namespaces.ts";
import { hostMountOp } from "../plan/rootfs.ts";
import { isAlive } from "../runtime/proc.ts";
import type { Engine } from "./engine.ts";
import { Dir, type Resolved, resolveIn } from "./fdtree.ts";
import { type ContainerRecord, Records } from "./records.ts";
import { type CopyEntry, TreeWriter, tarEntries, walk, writeTar } from "./tree-copy.ts";
import { XattrReader } from "./xattrs.ts";

export interface CopyOptions {
  /** Keep the source's uid/gid (docker cp -a); else the destination's user: the caller on the host, root in the container. */
  archive?: boolean;
  /** When the source path is a symlink, copy what it points to (docker cp -L). */
  followLink?: boolean;
  onWarning?: (message: string) => void;
}

function checkOptions(o: CopyOptions): CopyOptions {
  if (typeof o !== "object" || o === null) throw new HuskError("must be an object", { origin: "CopyOptions" });
  for (const k of ["archive", "followLink"] as const)
    if (o[k] !== undefined && typeof o[k] !== "boolean") throw new HuskError("must be a boolean", { origin: `CopyOptions.${k}` });
  return o;
}

function checkPath(path: unknown, origin: string): string {
  if (typeof path !== "string" || path === "" || path.includes("\0"))
    throw new HuskError("must be a non-empty path without NUL bytes", { origin });
  return path;
}

/** "dir/." asks for the directory's contents rather than the directory. */
const contentsOnly = (p: string) => p === "." || p.endsWith("/.");
/** The name a copy of p gets in a destination directory; "" for a root. */
const baseOf = (p: string) => basename(resolve("/", p));

/** Run fn on the container's root directory; a system error becomes a HuskError naming the copy. */
export async function withRoot<T>(engine: Engine, rec: ContainerRecord, what: string, fn: (root: Dir) => Promise<T>): Promise<T> {
  try {
    return await inRoot(engine, rec, fn);
  } catch (err) {
    throw err instanceof HuskError ? err : fromSystemError(err, what);
  }
}

/** Run fn on the container's root directory (see the file's comment for how it is reached). */
async function inRoot<T>(engine: Engine, rec: ContainerRecord, fn: (root: Dir) => Promise<T>): Promise<T> {
  if (rec.pid > 0 && isAlive(rec.pid, rec.pidStartTime) && engine.live(rec).status !== "exited") {
    const root = await Dir.open(`/proc/${rec.pid}/root`, `${rec.name}:`);
    try {
      // The fd is the container's root only if the pid was still its process after the open.
      if (!isAlive(rec.pid, rec.pidStartTime)) throw new ConflictError(`container ${rec.name} stopped`);
      return await fn(root);
    } finally {
      await root.close();
    }
  }
  const records = new Records(engine.dataRoot);
  return records.locked(rec.id, async () => {
    const now = records.read(rec.id);
    if (!now) throw new NotFoundError(`no such container: ${rec.id}`);
    if (now.pid > 0 && isAlive(now.pid, now.pidStartTime)) throw new ConflictError(`container ${now.name} started meanwhile`);
    const root = await mountExited(engine, now);
    try {
      return await fn(root);
    } finally {
      await root.close();
    }
  });
}

/** The exited container's overlay, mounted in a private mount namespace and opened (see above). */
async function mountExited(engine: Engine, rec: ContainerRecord): Promise<Dir> {
  const overlay = await prepareRootfs(engine.images, rec.imageId, new Records(engine.dataRoot).path(rec.id));
  let root: Dir | undefined;
  await launch(
    [
      { what: "clone a mount namespace", op: { op: "clone", flags: CLONE_NEWNS, mode: CloneMode.Wait } },
      { what: 'make "/" private', op: hostMountOp("", "/", "", MS_REC | MS_PRIVATE, "") },
      {
        what: `mount the overlay of ${rec.name} on ${quote(overlay.target)}`,
        op: hostMountOp("overlay", overlay.target, "overlay", 0, overlay.data),
      },
      { what: "wait while the rootfs is opened", op: { op: "waitContinue" } },
      // The helper's parent takes a child that ends without exec for one that died in setup:
      // end with an exec of the helper's own --version (its output goes to /dev/null).
      { what: "end the mount namespace's process", op: { op: "exec", argv: [helperPath(), "--version"], env: [] } },
    ],
    {
      preserveFds: 0,
      stdio: ["ignore", "ignore", "inherit"],
      onWaiting: async (pid) => {
        root = await Dir.open(`/proc/${pid}/root${overlay.target}`, `${rec.name}:`);
      },
    },
  ).then((l) => l.exited);
  if (!root) throw new HuskError("the rootfs was not opened", { what: `mount the overlay of ${rec.name}` });
  return root;
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await fsp.stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Where a copy goes: entries are written under dir, the top one named name ("" for "into dir itself"). */
interface Target {
  dir: Dir;
  name: string;
}

/**
 * docker's destination rules, given what is at the destination. `open` opens the directory
 * that holds the destination, or the destination itself when it is a directory.
 */
async function target(
  dest: string,
  st: Stats | null,
  src: { isDir: boolean; contents: boolean; base: string },
  open: { parent(): Promise<Dir>; self(): Promise<Dir> },
  destName: string,
): Promise<Target> {
  if (!st) {
    if (!src.isDir && dest.endsWith("/")) throw new HuskError(`destination directory ${quote(dest)} must exist`);
    return { dir: await open.parent(), name: destName };
  }
  if (st.isDirectory()) {
    if (src.isDir && src.contents) return { dir: await open.self(), name: "" };
    return { dir: await open.self(), name: src.base };
  }
  if (src.isDir) throw new HuskError(`cannot copy a directory to a file: ${quote(dest)}`);
  if (dest.endsWith("/")) throw new HuskError(`destination ${quote(dest)} is not a directory`);
  return { dir: await open.parent(), name: destName };
}

async function copyEntries(entries: AsyncIterable<CopyEntry>, writer: TreeWriter): Promise<void> {
  try {
    for await (const e of entries) await writer.write(e);
  } finally {
    await writer.finish();
  }
}

/** Resolve the source path in the container: not found and "dir/" on a file are errors. */
async function resolveSource(root: Dir, rec: ContainerRecord, path: string, o: CopyOptions): Promise<Resolved> {
  const wantsDir = path.endsWith("/") || contentsOnly(path);
  let r: Resolved;
  try {
    r = await resolveIn(root, path, o.followLink === true || wantsDir);
  } catch (err) {
    if (err instanceof HuskError && (err.errno === "ENOENT" || err.errno === "ENOTDIR"))
      throw new NotFoundError(`could not find the file ${path} in container ${rec.name}`);
    throw err;
  }
  if (!r.stat) {
    await r.dir.close();
    throw new NotFoundError(`could not find the file ${path} in container ${rec.name}`);
  }
  if (wantsDir && !r.stat.isDirectory()) {
    await r.dir.close();
    throw new HuskError(`${quote(path)} in container ${rec.name} is not a directory`);
  }
  return r;
}

/** Container → host path, or → a tar stream. */
export async function copyFrom(
  engine: Engine,
  ref: string,
  containerPath: string,
  dest: string | Writable,
  options: CopyOptions = {},
): Promise<void> {
  const o = checkOptions(options ?? {});
  checkPath(containerPath, "containerPath");
  if (typeof dest === "string") checkPath(dest, "dest");
  else if (!dest || typeof (dest as Writable).write !== "function")
    throw new HuskError("must be a path or a writable stream", { origin: "dest" });
  const rec = engine.record(ref);
  await withRoot(engine, rec, `copy ${rec.name}:${containerPath}`, async (root) => {
    const src = await resolveSource(root, rec, containerPath, o);
    try {
      const isDir = src.stat!.isDirectory();
      const base = baseOf(containerPath);
      const contents = isDir && (contentsOnly(containerPath) || base === "");
      if (typeof dest !== "string") {
        // A tar out keeps extended attributes (security.capability …), as export's does.
        const xattrs = new XattrReader();
        try {
          await writeTar(walk(src.dir, src.name, contents ? "" : base, { xattrs }), dest);
        } finally {
          await xattrs.close();
        }
        return;
      }
      const abs = resolve(dest);
      const t = await target(
        dest,
        await statOrNull(abs),
        { isDir, contents, base },
        {
          parent: async () => {
            const st = await statOrNull(dirname(abs));
            if (!st?.isDirectory()) throw new NotFoundError(`no such directory: ${quote(dirname(abs))}`);
            return Dir.open(dirname(abs));
          },
          self: () => Dir.open(abs),
        },
        basename(abs),
      );
      const owner = o.archive ? "keep" : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      const writer = new TreeWriter(t.dir, { owner, clearSetId: !o.archive, onWarning: o.onWarning });
      try {
        await copyEntries(walk(src.dir, src.name, t.name), writer);
      } finally {
        await t.dir.close();
      }
    } finally {
      await src.dir.close();
    }
  });
}

/**
 * docker export: the container's root filesystem as a tar stream, its contents at the top ("bin/",
 * "etc/" …), owners and extended attributes kept (security.capability …, as PAX SCHILY.xattr
 * records); what is mounted on it (proc, sys, dev, volumes, /etc/hosts …) left out, running or not.
 */
export async function exportRootfs(engine: Engine, ref: string, dest: Writable): Promise<void> {
  if (!dest || typeof (dest as Writable).write !== "function")
    throw new HuskError("must be a writable stream", { origin: "dest" });
  const rec = engine.record(ref);
  await withRoot(engine, rec, `export ${rec.name}`, async (root) => {
    const dev = (await root.handle.stat()).dev;
    const xattrs = new XattrReader();
    try {
      await writeTar(walk(root, null, "", { dev, xattrs }), dest);
    } finally {
      await xattrs.close();
    }
  });
}

/** Host path, or a tar stream (extracted into an existing directory), → container. */
export async function copyTo(
  engine: Engine,
  ref: string,
  source: string | AsyncIterable<Uint8Array>,
  containerPath: string,
  options: CopyOptions = {},
): Promise<void> {
  const o = checkOptions(options ?? {});
  checkPath(containerPath, "containerPath");
  if (typeof source === "string") checkPath(source, "source");
  else if (!source || typeof (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] !== "function")
    throw new HuskError("must be a path or a stream of tar bytes", { origin: "source" });
  const rec = engine.record(ref);
  // The host side first: a missing source fails before the container is touched.
  let srcParent: Dir | undefined;
  let srcName: string | null = null;
  let srcBase = "";
  let srcStat: Stats | undefined;
  if (typeof source === "string") {
    const abs = resolve(source);
    const wantsDir = source.endsWith("/") || contentsOnly(source);
    try {
      srcStat = o.followLink || wantsDir ? await fsp.stat(abs) : await fsp.lstat(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new NotFoundError(`no such file or directory: ${quote(source)}`);
      throw err;
    }
    if (wantsDir && !srcStat.isDirectory()) throw new HuskError(`${quote(source)} is not a directory`);
    if (srcStat.isDirectory() && (contentsOnly(source) || abs === "/")) srcParent = await Dir.open(abs);
    else {
      // The host side is the caller's: with -L a symlink is followed here (realpath), and the
      // copy keeps the name the caller gave.
      const real = o.followLink || wantsDir ? await fsp.realpath(abs) : abs;
      srcParent = await Dir.open(dirname(real));
      srcName = basename(real);
      srcBase = basename(abs);
    }
  }
  try {
    await withRoot(engine, rec, `copy to ${rec.name}:${containerPath}`, async (root) => {
      const owner = o.archive ? "keep" : { uid: 0, gid: 0 };
      let r: Resolved;
      try {
        r = await resolveIn(root, containerPath, true);
      } catch (err) {
        if (err instanceof HuskError && (err.errno === "ENOENT" || err.errno === "ENOTDIR"))
          throw new NotFoundError(`no such directory in container ${rec.name}: ${quote(dirname(resolve("/", containerPath)))}`);
        throw err;
      }
      try {
        const openSelf = () => (r.name === null ? Dir.open(`/proc/self/fd/${r.dir.fd}`, r.dir.label) : r.dir.child(r.name));
        if (typeof source !== "string") {
          if (!r.stat?.isDirectory()) throw new HuskError(`destination ${quote(containerPath)} must be an existing directory`);
          const dir = await openSelf();
          try {
            await copyEntries(tarEntries(source), new TreeWriter(dir, { owner, onWarning: o.onWarning }));
          } finally {
            await dir.close();
          }
          return;
        }
        const isDir = srcStat!.isDirectory();
        const base = srcBase;
        const t = await target(
          containerPath,
          r.stat,
          { isDir, contents: isDir && srcName === null, base },
          { parent: async () => Dir.open(`/proc/self/fd/${r.dir.fd}`, r.dir.label), self: openSelf },
          r.name ?? "",
        );
        try {
          await copyEntries(walk(srcParent!, srcName, t.name), new TreeWriter(t.dir, { owner, onWarning: o.onWarning }));
        } finally {
          await t.dir.close();
        }
      } finally {
        await r.dir.close();
      }
    });
  } finally {
    await srcParent?.close();
  }
}
