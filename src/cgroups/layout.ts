/**
 * Which cgroup hierarchies this machine has, read from /proc/self/mountinfo:
 *   v1      only `cgroup` mounts, one hierarchy per controller (or co-mounted set);
 *   v2      one `cgroup2` mount holding every controller (usually /sys/fs/cgroup);
 *   hybrid  v1 controller mounts plus a `cgroup2` mount (systemd puts it at
 *           /sys/fs/cgroup/unified) that holds whatever controllers v1 did not take.
 * Everything downstream takes a CgroupLayout, so tests inject mount tables that point
 * into a temp dir.
 */
import * as fs from "node:fs";
import { unescapeMountPath } from "../sys/mountinfo.ts";
import { CgroupError } from "./errors.ts";

export type CgroupMode = "v1" | "v2" | "hybrid";

export interface CgroupLayout {
  mode: CgroupMode;
  /** v1 controller ("cpu", "memory", … and named hierarchies as "name=systemd") → mountpoint. */
  v1: Map<string, string>;
  /** Mountpoint of the cgroup2 hierarchy, if one is mounted. */
  v2Root?: string;
  /** Controllers the cgroup2 root offers (its cgroup.controllers). */
  v2Controllers: string[];
  /**
   * The cgroup each mount shows as its root (mountinfo field 4), by v1 controller and "" for
   * cgroup2. It is "/" except in a container without a cgroup namespace whose runtime
   * bind-mounted its own cgroup; /proc/self/cgroup paths are relative to the real root, so
   * resolving "our own cgroup" must strip it.
   */
  mountRoots: Map<string, string>;
}

/** Super options of a v1 cgroup mount that are not controller names. */
const notControllers = new Set(["rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods"]);

export function detectCgroupLayout(mountinfo?: string): CgroupLayout {
  const text = mountinfo ?? fs.readFileSync("/proc/self/mountinfo", "utf8");
  const v1 = new Map<string, string>();
  const mountRoots = new Map<string, string>();
  let v2Root: string | undefined;

  // A mount hidden by a later one on the same mount point or on a directory above it (a tmpfs
  // over /sys/fs/cgroup/unified, a cgroup2 mount over all of /sys/fs/cgroup) is not there for
  // us: mountinfo lists the mounts of a namespace in the order they were made.
  const entries: { fstype: string; root: string; mountpoint: string; options: string }[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    if (pre.length < 5 || post.length < 3) continue;
    const mountpoint = unescapeMountPath(pre[4] as string);
    entries.push({
      fstype: post[0] as string,
      root: unescapeMountPath(pre[3] as string),
      mountpoint,
      options: post[2] as string,
    });
  }

  const hidden = new Set<number>();
  const later = new Set<string>();
  for (let i = entries.length - 1; i >= 0; i--) {
    const { mountpoint } = entries[i] as (typeof entries)[number];
    // "/" is left out: the root is covered only when it moved, and then the old tree is gone.
    for (let p = mountpoint; p !== "/" && p !== ""; p = p.slice(0, p.lastIndexOf("/"))) {
      if (later.has(p)) {
        hidden.add(i);
        break;
      }
    }
    later.add(mountpoint);
  }

  for (const [i, { fstype, root, mountpoint, options }] of entries.entries()) {
    if (hidden.has(i)) continue;
    if (fstype === "cgroup2") {
      if (v2Root === undefined) {
        v2Root = mountpoint;
        mountRoots.set("", root);
      }
    } else if (fstype === "cgroup") {
      for (const opt of options.split(",")) {
        if (notControllers.has(opt)) continue;
        if (opt.includes("=") && !opt.startsWith("name=")) continue;
        if (!v1.has(opt)) {
          v1.set(opt, mountpoint);
          mountRoots.set(opt, root);
        }
      }
    }
  }

  const hasV1Controllers = [...v1.keys()].some((c) => !c.startsWith("name="));
  if (!hasV1Controllers && v2Root === undefined) {
    throw new CgroupError("detect cgroups", "no cgroup filesystem is mounted (see /proc/self/mountinfo)");
  }
  const mode: CgroupMode = !hasV1Controllers ? "v2" : v2Root === undefined ? "v1" : "hybrid";
  let v2Controllers: string[] = [];
  if (v2Root !== undefined) {
    try {
      v2Controllers = fs.readFileSync(`${v2Root}/cgroup.controllers`, "utf8").split(/\s+/).filter(Boolean);
    } catch {
      v2Controllers = [];
    }
  }
  return { mode, v1, v2Root, v2Controllers, mountRoots };
}

/**
 * Parse /proc/<pid>/cgroup ("4:memory:/a/b", "0::/c") into hierarchy key → cgroup path. A
 * v1 line lists every controller of its hierarchy ("3:cpu,cpuacct:/x"), each becomes a key;
 * the cgroup2 line has the key "".
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (controllers === "") out.set("", path);
    else for (const c of controllers.split(",")) out.set(c, path);
  }
  return out;
}

/** The controller that lives in the v2 tree rather than in a v1 hierarchy. */
export function isV2Controller(layout: CgroupLayout, controller: string): boolean {
  return !layout.v1.has(controller) && layout.v2Root !== undefined && layout.v2Controllers.includes(controller);
}
