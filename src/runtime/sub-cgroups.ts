/**
 * runc's `exec --cgroup`: the process joins sub-cgroups of the container's. Each value is
 * "PATH" (every controller) or "CONTROLLER[,CONTROLLER]:PATH"; a PATH must stay under the
 * container's cgroup, and a sub-cgroup must exist (the container made it).
 */
import { existsSync } from "node:fs";
import { posix } from "node:path";
import type { Cgroup, CgroupJoin } from "../cgroups/cgroup.ts";
import { HuskError, quote } from "../errors.ts";

/** Controller ("" for all) → relative path, checked. */
export function parseSubCgroups(values: string[], known: (controller: string) => boolean): Map<string, string> {
  const sub = new Map<string, string>();
  for (const value of values) {
    const colon = value.indexOf(":");
    const controllers = colon < 0 ? [""] : value.slice(0, colon).split(",");
    const path = colon < 0 ? value : value.slice(colon + 1);
    const clean = posix.normalize(path === "" ? "/" : path).replace(/^\/+/, "");
    if (clean === ".." || clean.startsWith("../")) throw new HuskError(`--cgroup: ${path} is not a sub cgroup path`);
    for (const c of controllers) {
      if (c !== "" && !known(c)) throw new HuskError(`--cgroup: unknown controller ${quote(c)}`);
      sub.set(c, clean === "." ? "" : clean);
    }
  }
  return sub;
}

/** The files an exec'd process joins for `values` under `cgroup`, each checked to exist. */
export function subCgroupJoin(cgroup: Cgroup, values: string[]): CgroupJoin {
  const layout = cgroup.layout;
  const sub = parseSubCgroups(values, (c) => layout.v1.has(c) || layout.v2Controllers.includes(c));
  const join = cgroup.joinFiles(sub);
  const dirs = [...join.tasks.map((t) => t.slice(0, -"/tasks".length)), ...(join.dir ? [join.dir] : [])];
  for (const dir of dirs) {
    // runc's words: the process is added through cgroup.procs, which a missing cgroup lacks.
    if (!existsSync(`${dir}/cgroup.procs`))
      throw new HuskError(`--cgroup: adding pid to cgroups: ${dir}/cgroup.procs: no such file or directory`);
  }
  return join;
}
