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
import { basename, dirname, posix } from "node:path";
import { files } from "../sys/files.ts";
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
  return dir.startsWith("/") && dir !== "/" && posix.normalize(dir) === dir && !dir.endsWith("/") && onCgroupFs(dirname(dir));
}

/**
 * Remove the cgroup directories the record says husk made, by rmdir alone, then the parents it
 * made and husk's default parent once free. False, with nothing more done, once a directory
 * refuses (EBUSY: processes or sub-cgroups in it): the caller then hands the record to
 * removeCgroup. Directories already gone are fine; ones outside the cgroup filesystems are
 * left alone, as removeCgroup leaves them.
 */
export function removeRecordedCgroup(record: CgroupRecord): boolean {
  const leaves = [...new Set(Object.values(record.paths))].filter(insideCgroupFs);
  const created = new Set(record.created);
  for (const dir of leaves) {
    if (!created.has(dir)) continue; // someone else's: it stays
    try {
      files().rmdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") return false;
    }
  }
  // Of the other directories made, only those removeCreatedParents removes need the check.
  removeCreatedParents(leaves, record.created, insideCgroupFs);
  removeDefaultParent(leaves);
  return true;
}

/** The parent of a cgroup directory if it is husk's default one (`…/husk/<id>`). */
function defaultParentOf(dir: string): string | undefined {
  const parent = dirname(dir);
  return basename(parent) === "husk" ? parent : undefined;
}

/**
 * The parents husk made on the way to the container's cgroup (a cgroupsPath `/a/b/c` where
 * only `/a` existed), deepest first, once empty; one that another cgroup uses now stays.
 * `leaves` are checked directories (insideCgroupFs, or the layout's mounts); of `created`, those
 * that pass `check`.
 */
export function removeCreatedParents(
  leaves: readonly string[],
  created: readonly string[],
  check: (dir: string) => boolean = () => true,
): void {
  // husk's default parent is removeDefaultParent's: it stops at the first one still in use.
  const skip = new Set([...leaves, ...leaves.map(defaultParentOf)]);
  const parents = created.filter((d) => !skip.has(d) && check(d)).sort((a, b) => b.length - a.length);
  for (const dir of parents) {
    try {
      files().rmdir(dir);
    } catch {}
  }
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
