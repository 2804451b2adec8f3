/**
 * Whether a cgroup is frozen, read from its directory alone. `state`, `start`, `kill` and
 * `delete` ask this of every container (its status is derived, never stored), so it needs
 * neither the machine's cgroup layout nor the rest of the cgroup module: a CLI started per
 * call loads only this file (see test/unit/startup-modules.test.ts).
 */
import { CgroupDir } from "./dir.ts";
import { CgroupError } from "./errors.ts";
import { nodeCgroupFs } from "./fsio.ts";

/**
 * Whether the cgroup in `dir` was frozen itself (v1: not merely by a frozen parent). v1's
 * FREEZING (a freeze under way) counts as frozen when the cgroup itself is being frozen, as
 * FROZEN does: the answer comes at once, never after waiting for the freeze to settle.
 */
export function isFrozen(dir: CgroupDir, what: string): boolean {
  if (dir.version === 2) return (dir.tryRead("cgroup.freeze") ?? "0").trim() === "1";
  const state = (dir.tryRead("freezer.state") ?? "THAWED").trim();
  if (state === "THAWED") return false;
  if (state !== "FROZEN" && state !== "FREEZING") throw new CgroupError(what, `unexpected freezer.state ${state}`);
  return (dir.tryRead("freezer.self_freezing") ?? "1").trim() === "1";
}

/**
 * The freezer of a container's cgroup from the paths of its state file (runc's cgroup_paths):
 * the v1 freezer hierarchy's directory if it has one, else its cgroup2 directory.
 */
export function recordedFreezer(paths: Readonly<Record<string, string>>): CgroupDir | undefined {
  if (paths.freezer !== undefined) return new CgroupDir(nodeCgroupFs, paths.freezer, 1);
  if (paths[""] !== undefined) return new CgroupDir(nodeCgroupFs, paths[""], 2);
  return undefined;
}
