/**
 * Where a container's cgroup lives: OCI `linux.cgroupsPath` → the directory in each hierarchy.
 *
 * - Absolute ("/a/b"): relative to the root of each hierarchy (what this mount namespace sees
 *   as the mount's root), as the spec says and runc does.
 * - Relative ("a/b"): relative to the cgroup the runtime itself is in, per hierarchy — runc's
 *   cgroupfs driver reads /proc/self/cgroup for each v1 controller. For the cgroup2 tree runc
 *   uses the *parent* of its own cgroup, because cgroup2's no-internal-process rule makes a
 *   cgroup that holds processes (the runtime's own) unable to hand controllers to children;
 *   husk does the same.
 * - Absent: `/husk/<id>`. runc defaults to the container id *relative* to its own cgroup, and
 *   crun to `/<id>`. husk takes an absolute default under one parent: on v1 (and hybrid) the
 *   caller's own cgroup differs per hierarchy (here: memory in a supervisor's sub-cgroup,
 *   everything else at the root), so runc's default scatters a container across unrelated
 *   places and silently puts it under whatever limits the caller happens to have; a fixed
 *   `/husk` parent keeps every husk container in one findable place on every layout.
 *   Callers who want delegation semantics pass a relative cgroupsPath.
 * - "slice:prefix:name" is the systemd driver's form, which husk does not implement.
 *
 * Like runc's CleanPath, `..` cannot climb out of the base: relative paths are cleaned as if
 * rooted, so "../../x" becomes "x".
 */
import * as path from "node:path";
import { CgroupError } from "./errors.ts";

const field = "linux.cgroupsPath";

export function resolveCgroupPath(cgroupsPath: string | undefined, id: string): string {
  if (cgroupsPath === undefined || cgroupsPath === "") {
    const name = path.posix.normalize(`/${id}`);
    if (name === "/" || name.lastIndexOf("/") !== 0) {
      throw new CgroupError(field, `container id ${JSON.stringify(id)} cannot name a cgroup`);
    }
    return `/husk${name}`;
  }
  if (!cgroupsPath.startsWith("/") && /^[^/:]*:[^/:]*:[^/:]*$/.test(cgroupsPath)) {
    throw new CgroupError(
      field,
      `${JSON.stringify(cgroupsPath)} is in the systemd "slice:prefix:name" form; the systemd cgroup driver is not supported yet`,
    );
  }
  const rooted = path.posix.normalize(`/${cgroupsPath}`).replace(/\/+$/, "");
  if (rooted === "") {
    throw new CgroupError(field, `${JSON.stringify(cgroupsPath)} names the parent cgroup itself, not a cgroup of its own`);
  }
  return cgroupsPath.startsWith("/") ? rooted : rooted.slice(1);
}

/**
 * The directory of cgroup `inner` (a result of resolveCgroupPath) in one hierarchy mounted at
 * `mountpoint`, whose mount shows cgroup `mountRoot` as its root. `own` is this process's
 * cgroup in that hierarchy (from /proc/self/cgroup); only relative paths need it.
 */
export function hierarchyDir(
  mountpoint: string,
  mountRoot: string,
  inner: string,
  own: string | undefined,
  useParentOfOwn: boolean,
): string {
  if (inner.startsWith("/")) return path.posix.join(mountpoint, inner);
  if (own === undefined) {
    throw new CgroupError(
      field,
      `cannot place relative cgroup ${JSON.stringify(inner)}: /proc/self/cgroup has no entry for ${mountpoint}`,
    );
  }
  const rel = path.posix.relative(mountRoot, own);
  if (rel.startsWith("..") || path.posix.isAbsolute(rel)) {
    throw new CgroupError(
      field,
      `cannot place relative cgroup ${JSON.stringify(inner)}: our cgroup ${own} is outside the part of the hierarchy mounted at ${mountpoint}`,
    );
  }
  const base = useParentOfOwn && rel !== "" ? path.posix.dirname(rel) : rel;
  return path.posix.join(mountpoint, base === "." ? "" : base, inner);
}
