/** The facts about this host the plan compiler asks for, read when it asks. */
import { existsSync, readFileSync, statSync } from "node:fs";
import type { HostFacts } from "../plan/context.ts";
import { mountPointOf } from "../sys/mountinfo.ts";
import { runningInUserNs } from "./default-root.ts";

export const hostFacts: HostFacts = {
  // Root of a user namespace (rootless podman) is not: it may not set groups or make cgroups.
  root: process.geteuid?.() === 0 && !runningInUserNs(),
  isDirectory: (p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
  exists: (p) => existsSync(p),
  mountPointOf: (p) => mountPointOf(p, readFileSync("/proc/self/mountinfo", "utf8")),
  selinux: existsSync("/sys/fs/selinux/enforce"),
  // Memoised: this process's user namespace has its gid_map already, and a setgroups file
  // changes only before that is written.
  get setgroups() {
    if (process.geteuid?.() !== 0) return false;
    ownSetgroups ??= setgroupsAllowed("self");
    return ownSetgroups;
  },
};
let ownSetgroups: boolean | undefined;

/** Does the user namespace of process `pid` allow setgroups (its /proc/PID/setgroups is not "deny")? */
export function setgroupsAllowed(pid: number | "self"): boolean {
  try {
    return readFileSync(`/proc/${pid}/setgroups`, "utf8").trim() !== "deny";
  } catch {
    // Kernels before 3.19 have no such file: setgroups was allowed.
    return true;
  }
}

/**
 * The kernel's release, as uname(2) gives it (os.release()), read from /proc: node:os costs a
 * cold CLI ~0.3 ms to load, and the engine's `run` wants only this from it.
 */
export function kernelRelease(): string {
  try {
    return readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {
    return (process.getBuiltinModule("node:os") as typeof import("node:os")).release();
  }
}

/** Whether the kernel is release major.minor or later (a release it cannot parse counts as older). */
export function kernelAtLeast(major: number, minor: number, release = kernelRelease()): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [have, haveMinor] = [Number(m[1]), Number(m[2])];
  return have > major || (have === major && haveMinor >= minor);
}
