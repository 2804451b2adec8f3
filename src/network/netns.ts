/**
 * Named network namespaces, pinned as iproute2 pins them, so `ip netns exec NAME` and husk see
 * the same ones: /run/netns is made a shared mount point (bound on itself first if it is not
 * one), an empty file /run/netns/NAME is created, and a process that unshared its network
 * namespace bind-mounts its /proc/self/ns/net there. That process is the helper (a Node or Bun
 * process has threads, and only the calling thread would move): a plan of `unshare` and `mount`.
 * Removing unmounts (MNT_DETACH) and unlinks: a namespace still in use lives on until its last
 * user leaves.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { HuskError } from "../errors.ts";
import { launch } from "../helper/driver.ts";
import { helperPath } from "../helper/path.ts";
import { Where } from "../helper/wire.ts";
import type { Plan, Step } from "../plan/ops.ts";
import { lockExclusive } from "../sys/index.ts";
import { mountPointOf } from "../sys/mountinfo.ts";

export const NETNS_DIR = "/run/netns";

const CLONE_NEWNET = 0x40000000;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_SHARED = 1 << 20;
const MNT_DETACH = 2;

export interface NetnsOptions {
  /** Where the pins live (default /run/netns, iproute2's). */
  dir?: string;
}

function checkName(name: string): string {
  if (!name || name === "." || name === ".." || name.includes("/") || name.includes("\0") || name.length > 255) {
    throw new HuskError(`invalid network namespace name ${JSON.stringify(name)}`);
  }
  return name;
}

/** The path of the pin for name (whether or not it exists). */
export function netnsPath(name: string, opts: NetnsOptions = {}): string {
  return join(opts.dir ?? NETNS_DIR, checkName(name));
}

function mountStep(what: string, source: string, target: string, flags: number): Step {
  return {
    what,
    op: { op: "mount", source, sourceWhere: Where.Host, target, targetWhere: Where.Host, fstype: "", flags, data: "" },
  };
}

async function run(plan: Plan): Promise<void> {
  const launched = await launch(plan, { preserveFds: 0 });
  await launched.exited;
}

/** Make a new network namespace pinned at dir/name; refuses a name in use. Returns its path. */
export async function netnsAdd(name: string, opts: NetnsOptions = {}): Promise<string> {
  const dir = opts.dir ?? NETNS_DIR;
  const path = netnsPath(name, opts);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  // Two callers making dir a mount point at once would stack two binds; the lock is on the
  // directory's inode, which the bind onto itself keeps.
  const release = await lockExclusive(dir, helperPath());
  try {
    try {
      closeSync(openSync(path, "wx", 0o000));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new HuskError(`network namespace ${name} exists`);
      throw err;
    }
    const isMountPoint = mountPointOf(dir, readFileSync("/proc/self/mountinfo", "utf8")) === dir;
    try {
      await run([
        ...(isMountPoint ? [] : [mountStep(`bind ${dir} on itself`, dir, dir, MS_BIND | MS_REC)]),
        // Shared, so a pin made later is seen in mount namespaces made from this one (ip netns exec's).
        mountStep(`make ${dir} shared`, "", dir, MS_SHARED | MS_REC),
        { what: "unshare the network namespace", op: { op: "unshare", flags: CLONE_NEWNET } },
        mountStep(`pin the network namespace at ${path}`, "/proc/self/ns/net", path, MS_BIND),
      ]);
    } catch (err) {
      unlinkSync(path);
      throw err;
    }
  } finally {
    release();
  }
  return path;
}

/** The names pinned in dir, sorted. */
export function netnsList(opts: NetnsOptions = {}): string[] {
  try {
    return readdirSync(opts.dir ?? NETNS_DIR, { withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => d.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Unpin name. A namespace some process still uses lives on until it is left. */
export async function netnsRemove(name: string, opts: NetnsOptions = {}): Promise<void> {
  const path = netnsPath(name, opts);
  try {
    await run([
      { what: `unpin ${path}`, errors: { EINVAL: "not a pinned namespace" }, op: { op: "umount", path, flags: MNT_DETACH } },
    ]);
  } catch (err) {
    // EINVAL: a file that is not a mount point (a pin that failed half way): remove it all the same.
    if (!(err instanceof HuskError && err.errno === "EINVAL")) {
      if (err instanceof HuskError && err.errno === "ENOENT") throw new HuskError(`network namespace ${name} does not exist`);
      throw err;
    }
  }
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new HuskError(`network namespace ${name} does not exist`);
    throw err;
  }
}
