/**
 * Removing a container's cgroup from its record (cgroup.json) alone, without the cgroup module:
 * `delete` of a container whose processes are gone needs only rmdir, and loading the cgroup
 * manager and reading the machine's cgroup layout from /proc/self/mountinfo cost every
 * `delete` ~1.5 ms (bench/verb-latency.ts). Anything that rmdir alone cannot do (a process
 * still in the cgroup, sub-cgroups the container made, an error) is left to removeCgroup in
 * cgroup-setup.ts, which kills and retries.
 *
 * The record names what delete may remove, so every directory is checked first: an absolute,
 * normalized path (no `..`) strictly inside a cgroup filesystem, as statfs(2) on its parent
 * tells (the kernel's word for what rmdir would reach, symlinks on the way included; a
 * mount's root is refused, its parent is not a cgroup filesystem).
 */

import { files } from "../sys/files.ts";
import { basename, dirname, normalize } from "../sys/posix-path.ts";
import type { CgroupRecord } from "./state.ts";

const CGROUP_SUPER_MAGIC = 0x27e0eb;
const CGROUP2_SUPER_MAGIC = 0x63677270;

function onCgroupFs(path: string): boolean {
  try {
    const type = files().fsType(path);
    return type === CGROUP_SUPER_MAGIC || type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

/** Whether `dir` is a directory below (not at) the root of a cgroup filesystem, named without `..`. */
export function insideCgroupFs(dir: string): boolean {
  return dir.startsWith("/") && dir !== "/" && normalize(dir) === dir && !dir.endsWith("/") && onCgroupFs(dirname(dir));
}

/**
 * What removeRecordedCgroup takes away, every path checked (insideCgroupFs): planned apart so
 * that `delete --force` does the checking while the kernel tears the killed container down.
 */
export interface CgroupRemoval {
  /** The container's directories (hierarchy → directory, deduplicated) inside cgroup filesystems. */
  leaves: string[];
  /** Those of the leaves husk made: the ones removed. */
  made: string[];
  /** The other directories husk made on the way to them, deepest first (see createdParents). */
  parents: string[];
}

export function planCgroupRemoval(record: CgroupRecord): CgroupRemoval {
  const leaves = [...new Set(Object.values(record.paths))].filter(insideCgroupFs);
  const created = new Set(record.created);
  return {
    leaves,
    made: leaves.filter((d) => created.has(d)), // the others are someone else's: they stay
    parents: createdParents(leaves, record.created).filter(insideCgroupFs),
  };
}

/**
 * Remove the cgroup directories the record says husk made, by rmdir alone, then the parents it
 * made and husk's default parent once free. False, with nothing more done, once a directory
 * refuses (EBUSY: processes or sub-cgroups in it): the caller then hands the record to
 * removeCgroup. Directories already gone are fine; ones outside the cgroup filesystems are
 * left alone, as removeCgroup leaves them.
 */
export function removeRecordedCgroup(removal: CgroupRemoval, keepDefaultParent = false): boolean {
  for (const dir of removal.made) {
    try {
      files().rmdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") return false;
    }
  }
  removeDirs(removal.parents);
  if (!keepDefaultParent) removeDefaultParent(removal.leaves);
  return true;
}

/** The parent of a cgroup directory if it is husk's default one (`…/husk/<id>`). */
function defaultParentOf(dir: string): string | undefined {
  const parent = dirname(dir);
  return basename(parent) === "husk" ? parent : undefined;
}

/**
 * The parents husk made on the way to the container's cgroup (a cgroupsPath `/a/b/c` where
 * only `/a` existed), deepest first. husk's default parent is not among them: it is
 * removeDefaultParent's, which stops at the first one still in use.
 */
function createdParents(leaves: readonly string[], created: readonly string[]): string[] {
  const skip = new Set([...leaves, ...leaves.map(defaultParentOf)]);
  return created.filter((d) => !skip.has(d)).sort((a, b) => b.length - a.length);
}

/** rmdir each, in order; one that another cgroup uses now, or that is gone, stays as it is. */
function removeDirs(dirs: readonly string[]): void {
  for (const dir of dirs) {
    try {
      files().rmdir(dir);
    } catch {}
  }
}

/**
 * After the container's cgroup is gone: the parents husk made on the way to it, once empty.
 * `leaves` and `created` are checked directories (insideCgroupFs, or the layout's mounts).
 */
export function removeCreatedParents(leaves: readonly string[], created: readonly string[]): void {
  removeDirs(createdParents(leaves, created));
}

/**
 * After the container's cgroup is gone: remove husk's default parent (`/husk`, for containers
 * without a cgroupsPath) once no container uses it, so an idle host keeps no trace of husk,
 * whoever made it. Busy or gone is fine. `leaves` are checked directories, so their parent is
 * on a cgroup filesystem.
 */
export function removeDefaultParent(leaves: readonly string[]): void {
  for (const dir of new Set(leaves)) {
    const parent = defaultParentOf(dir);
    if (parent === undefined) continue;
    try {
      files().rmdir(parent);
    } catch (err) {
      // Busy: another container is in it, and so in the other hierarchies' parents too (they
      // are made together): ten more refused rmdirs would cost ~1 ms of every delete while
      // containers run. One left behind empty goes with the next delete that finds it free.
      if ((err as NodeJS.ErrnoException).code === "EBUSY") return;
    }
  }
}
