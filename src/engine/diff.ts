/**
 * `husk diff`: what a container changed in its root filesystem, from its overlay upper
 * directory, as docker lists it: A (added), C (changed), D (deleted; an overlayfs whiteout).
 *
 * A path counts as the image's when the image's layers, searched from the top, have it and no
 * layer above hides it (a whiteout, or a file where a directory of its path should be). A
 * directory the container only passed through (copied up to change something below it) is
 * listed as C only when something under it is listed, or its owner or mode changed. The mount
 * points the engine makes for the container (/etc/hosts, /proc …, its volumes and tmpfs) are
 * docker's init layer, not the container's changes, and are left out. Opaque directories
 * (a directory removed and made again) read as changed, not as deletions of what they hide:
 * this walk is synchronous and node:fs has no getxattr (commit reads overlayfs' marker through
 * the helper, xattrs.ts).
 */
import { type Dirent, lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { ContainerRecord } from "./records.ts";

export interface Change {
  kind: "A" | "C" | "D";
  /** Absolute inside the container. */
  path: string;
}

/** The mount points every engine container gets (spec.ts's mounts and the /etc files). */
const ENGINE_MOUNT_POINTS = ["/proc", "/dev", "/sys", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf"] as const;

/**
 * What in a container's upper directory is docker's init layer, not the container's changes:
 * the engine's mount points and those of the container's volumes and tmpfs (diff and commit
 * leave them out).
 */
export function initLayerPaths(rec: Pick<ContainerRecord, "mounts">): string[] {
  return [...ENGINE_MOUNT_POINTS, ...rec.mounts.map((m) => m.destination)];
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

function lstatOrNull(path: string): Stats | null | "hidden" {
  try {
    return lstatSync(path);
  } catch (err) {
    // A file (or whiteout) where a directory of the path should be: nothing below it shows.
    return (err as NodeJS.ErrnoException).code === "ENOTDIR" ? "hidden" : null;
  }
}

/** The image's own entry at path (layers top first), or undefined if the image has none there. */
export function inImage(lowers: string[], path: string): Stats | undefined {
  for (const layer of lowers) {
    const st = lstatOrNull(join(layer, path));
    if (st === "hidden") return undefined;
    if (st) return isWhiteout(st) ? undefined : st;
  }
  return undefined;
}

/** Changes under upper (the container's overlay upper directory), sorted by path. */
export function containerChanges(upper: string, lowers: string[], ignore: Iterable<string>): Change[] {
  const skip = new Set(ignore);
  const out: Change[] = [];
  // Returns whether anything under dir (a path inside the container) was listed.
  const walk = (dir: string, addedDir: boolean): boolean => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(upper, dir), { withFileTypes: true });
    } catch {
      return false;
    }
    let listed = false;
    for (const e of entries) {
      const path = dir === "/" ? `/${e.name}` : `${dir}/${e.name}`;
      if (skip.has(path)) continue;
      const st = lstatSync(join(upper, path));
      if (isWhiteout(st)) {
        out.push({ kind: "D", path });
        listed = true;
        continue;
      }
      const base = addedDir ? undefined : inImage(lowers, path);
      if (!base) {
        out.push({ kind: "A", path });
        listed = true;
        if (st.isDirectory()) walk(path, true);
        continue;
      }
      if (st.isDirectory() && base.isDirectory()) {
        const below = walk(path, false);
        const retouched = st.mode !== base.mode || st.uid !== base.uid || st.gid !== base.gid;
        if (below || retouched) {
          out.push({ kind: "C", path });
          listed = true;
        }
        continue;
      }
      // Replaced by something else; a directory over the image's file holds only new things.
      out.push({ kind: "C", path });
      listed = true;
      if (st.isDirectory()) walk(path, true);
    }
    return listed;
  };
  walk("/", false);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
