/** Reading /proc/self/mountinfo (proc(5)). */

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
export function unescapeMountPath(p: string): string {
  // Most paths have nothing escaped: no regex for them (every runtime verb that reopens a cgroup parses mountinfo).
  if (!p.includes("\\")) return p;
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The longest mount point that is a prefix of path (runc's getParentMount). */
export function mountPointOf(path: string, mountinfo: string): string {
  let best = "/";
  for (const line of mountinfo.split("\n")) {
    const field = line.split(" ")[4];
    if (!field) continue;
    const point = unescapeMountPath(field);
    const inside = path === point || path.startsWith(point === "/" ? "/" : `${point}/`);
    if (inside && point.length > best.length) best = point;
  }
  return best;
}
