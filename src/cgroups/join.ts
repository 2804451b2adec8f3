import type { CgroupJoin } from "./cgroup.ts";

/**
 * The files a new process joins a container's cgroup by, from the paths its state recorded
 * (hierarchy key → directory): each v1 hierarchy's `tasks` (controllers mounted together share
 * a directory) and the cgroup2 directory (key ""). The same as Cgroup.fromPaths(…).joinFiles()
 * without sub-cgroups, which needs neither the host's layout (/proc/self/mountinfo) nor the
 * cgroup module: `exec`'s path.
 */
export function joinFilesOf(paths: Readonly<Record<string, string>>): CgroupJoin {
  const tasks: string[] = [];
  let dir = "";
  const seen = new Set<string>();
  for (const [key, path] of Object.entries(paths)) {
    if (seen.has(path)) continue; // a directory already listed: the first key's version counts
    seen.add(path);
    if (key === "") dir = path;
    else tasks.push(`${path}/tasks`);
  }
  return { tasks, dir };
}
