/**
 * What one tar entry of a layer becomes, decided without touching the filesystem: its path
 * inside the layer (refused if it would leave it), and whether it is an ordinary entry, an
 * AUFS-style whiteout to turn into overlayfs form, or bookkeeping to skip. Also the helper plan
 * ops for what Node cannot do itself (mknod, setxattr). Pure, for unit tests; layer.ts applies.
 *
 * Whiteouts (image-spec layer.md) in overlayfs form, as the kernel reads lower layers:
 *   dir/.wh.name         → dir/name as a character device 0/0 ("name was deleted")
 *   dir/.wh..wh..opq     → dir gets trusted.overlay.opaque=y ("hide what lower layers have here")
 *   dir/.wh..wh.<other>  → AUFS's own metadata (.wh..wh.plnk, .wh..wh.aufs): skipped
 */
import { HuskError } from "../errors.ts";
import type { Op } from "../plan/ops.ts";
import type { TarHeader, TarType } from "./tar.ts";

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";
export const OPAQUE_XATTR = "trusted.overlay.opaque";

/** Where overlayfs keeps its own attributes: trusted.*, or user.* when mounted with userxattr (rootless). */
export const OVERLAY_XATTR_PREFIXES = ["trusted.overlay.", "user.overlay."];

/** overlayfs' bookkeeping about the layers (opaque, redirect, origin, metacopy …), never part of a file. */
export const isOverlayAttr = (name: string): boolean => OVERLAY_XATTR_PREFIXES.some((p) => name.startsWith(p));

export type EntryAction =
  /** An ordinary entry at path ("" is the layer's root directory). */
  | { kind: "entry"; path: string }
  /** A whiteout: a character device 0/0 at path. */
  | { kind: "whiteout"; path: string }
  /** An opaque directory: trusted.overlay.opaque=y on dir ("" is the root). */
  | { kind: "opaque"; dir: string }
  | { kind: "skip"; reason: string };

function refuse(name: string, why: string): HuskError {
  return new HuskError(why, { what: `tar entry ${JSON.stringify(name)}` });
}

/**
 * A tar name as a path relative to the layer root: "./a//b/" → "a/b", "/etc/x" → "etc/x"
 * (absolute names are taken as relative to the root, as docker does), "." or "/" → "".
 * Any ".." component is refused, wherever it is: no layer needs one, and a lexical clean of
 * "a/../b" would be wrong if "a" were a symlink.
 */
export function entryPath(name: string): string {
  if (name.includes("\0")) throw refuse(name, "name contains a NUL byte");
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") throw refuse(name, 'a ".." component would leave the layer');
    parts.push(p);
  }
  return parts.join("/");
}

/** Split "a/b/c" into ["a/b", "c"]; the parent of a top-level name is "". */
export function splitPath(path: string): [string, string] {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? ["", path] : [path.slice(0, slash), path.slice(slash + 1)];
}

/** What to do with an entry named `name`. Throws for names that would escape the layer. */
export function classifyEntry(name: string): EntryAction {
  const path = entryPath(name);
  const [dir, base] = splitPath(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: "entry", path };
  if (base === OPAQUE_MARKER) return { kind: "opaque", dir };
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: "skip", reason: `AUFS metadata ${base}` };
  const target = base.slice(WHITEOUT_PREFIX.length);
  if (target === "" || target === "." || target === "..") throw refuse(name, "whiteout of no name");
  return { kind: "whiteout", path: dir ? `${dir}/${target}` : target };
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** Linux's dev_t for (major, minor), as glibc's makedev; majors above 12 bits and minors above 20 do not exist. */
export function makedev(major: number, minor: number): number {
  if (!Number.isInteger(major) || !Number.isInteger(minor) || major < 0 || minor < 0 || major > 0xfff || minor > 0xfffff) {
    throw new HuskError(`device number ${major}:${minor} out of range`, { what: "mknod" });
  }
  // Bit ranges do not overlap: minor's low byte, major in bits 8–19, minor's rest from bit 20.
  return (minor & 0xff) + major * 0x100 + Math.floor(minor / 0x100) * 0x100000;
}

/** A plan path inside the root for a layer-relative path. */
export function rootPath(path: string): string {
  return `/${path}`;
}

/** mknod and chown for a device or fifo entry (mode is the whole st_mode, type included). */
export function nodeOps(path: string, h: Pick<TarHeader, "type" | "mode" | "uid" | "gid" | "devmajor" | "devminor">): Op[] {
  const kind: Partial<Record<TarType, number>> = { char: S_IFCHR, block: S_IFBLK, fifo: S_IFIFO };
  const type = kind[h.type];
  if (type === undefined) throw new Error(`nodeOps: ${h.type} is not a device or fifo`);
  const dev = h.type === "fifo" ? 0 : makedev(h.devmajor, h.devminor);
  return [
    { op: "mknod", path: rootPath(path), mode: type | (h.mode & 0o7777), dev },
    { op: "chown", path: rootPath(path), uid: h.uid, gid: h.gid },
  ];
}

/** A whiteout: character device 0/0 with no permissions, owned as the tar entry was. */
export function whiteoutOps(path: string, uid: number, gid: number): Op[] {
  return [
    { op: "mknod", path: rootPath(path), mode: S_IFCHR, dev: 0 },
    { op: "chown", path: rootPath(path), uid, gid },
  ];
}

export function opaqueOps(dir: string): Op[] {
  return [{ op: "setxattr", path: rootPath(dir), name: OPAQUE_XATTR, value: Buffer.from("y") }];
}

/**
 * setxattr for each of an entry's xattrs. overlayfs' own attributes (trusted.overlay.*, and
 * user.overlay.*, which a userxattr mount reads) are dropped with a warning: in a lower layer
 * they would steer overlayfs (opaque, redirect, metacopy), and only the whiteout conversion
 * above may set them.
 */
export function xattrOps(path: string, xattrs: Map<string, Uint8Array>, warn: (message: string) => void): Op[] {
  const ops: Op[] = [];
  for (const [name, value] of xattrs) {
    if (isOverlayAttr(name)) {
      warn(`${JSON.stringify(path)}: ignoring overlayfs attribute ${name} from the layer`);
      continue;
    }
    ops.push({ op: "setxattr", path: rootPath(path), name, value });
  }
  return ops;
}
