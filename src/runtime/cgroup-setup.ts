/**
 * The runtime's use of the cgroups module: make the container's cgroup from the spec, tell the
 * plan compiler how to show it inside the container, reopen it later from the state file, and
 * remove what husk made of it.
 *
 * A cgroupsPath may name a cgroup that exists already, with other processes in it. husk then
 * shares it, as runc does: it warns about the processes it finds, and it never kills them nor
 * removes a directory it did not make (the record of what it made is cgroup.json, see state.ts).
 * `delete` of a container whose processes are gone removes its cgroup without this module
 * (cgroup-remove.ts), and comes here only when rmdir alone is not enough.
 */
import { readFileSync } from "node:fs";
import { basename, posix } from "node:path";
// The cgroup module's files one by one, not its index: `delete` must not load the stats reader.
import { Cgroup, type DeviceFilter, openCgroup } from "../cgroups/cgroup.ts";
import { defaultDeviceRules } from "../cgroups/devices.ts";
import { CgroupError } from "../cgroups/errors.ts";
import { type CgroupLayout, detectCgroupLayout, parseProcCgroup } from "../cgroups/layout.ts";
import { resolveCgroupPath } from "../cgroups/paths.ts";
import type { LinuxResources } from "../cgroups/resources.ts";
import { validateResourcesFor } from "../cgroups/validate.ts";
import { HuskError } from "../errors.ts";
import type { Spec } from "../oci/types.ts";
import type { CgroupMake, CgroupMountSource } from "../plan/context.ts";
import { removeCreatedParents, removeDefaultParent } from "./cgroup-remove.ts";
import { isRootless } from "./default-root.ts";
import type { CgroupRecord } from "./state.ts";

export interface ContainerCgroup {
  cgroup: Cgroup;
  /** Hierarchy key → host directory, kept in the state file. */
  paths: Record<string, string>;
  mountSource: CgroupMountSource;
  /** cgroup v2: the device rules' eBPF program, attached by the helper before the container runs. */
  deviceFilter?: DeviceFilter;
  /** What the helper's parent makes and writes before it opens the cgroup (planFreshCgroup). */
  make?: CgroupMake;
}

let cachedLayout: CgroupLayout | undefined;

export function cgroupLayout(): CgroupLayout {
  cachedLayout ??= detectCgroupLayout();
  return cachedLayout;
}

/** Resources as written: the given ones, with runc's default device rules after their own. */
export function withDefaultDevices(resources: LinuxResources): LinuxResources {
  if (!resources.devices) return resources;
  return { ...resources, devices: [...resources.devices, ...defaultDeviceRules] };
}

function mountSource(layout: CgroupLayout, cg: Cgroup, cgroupNs: boolean): CgroupMountSource {
  if (layout.mode === "v2") return { kind: "v2" };
  // One directory per hierarchy, named like the host's mountpoint (cpu, memory, systemd, unified).
  const byDir = new Map<string, string[]>();
  for (const [key, mountpoint] of layout.v1) {
    if (cg.paths[key] === undefined) continue;
    byDir.set(mountpoint, [...(byDir.get(mountpoint) ?? []), key]);
  }
  const hierarchies: Extract<CgroupMountSource, { kind: "v1" }>["hierarchies"] = [];
  for (const [mountpoint, keys] of byDir) {
    hierarchies.push({
      name: basename(mountpoint),
      hostPath: cgroupNs ? "" : (cg.paths[keys[0] as string] as string),
      data: keys.join(","),
      fstype: "cgroup",
    });
  }
  if (layout.v2Root !== undefined && cg.paths[""] !== undefined) {
    hierarchies.push({ name: basename(layout.v2Root), hostPath: cgroupNs ? "" : cg.paths[""], data: "", fstype: "cgroup2" });
  }
  return { kind: "v1", hierarchies };
}

const cgroupNsOf = (spec: Spec) => (spec.linux?.namespaces ?? []).some((ns) => ns.type === "cgroup" && !ns.path);

/**
 * cgroup v1 without a cgroup of the container's own (rootless): the container is in the
 * caller's cgroups, and sees those, as runc shows it the cgroups its init is in.
 */
function ownMountSource(layout: CgroupLayout, cgroupNs: boolean): CgroupMountSource {
  if (layout.mode === "v2") return { kind: "v1", hierarchies: [] };
  let own: Map<string, string>;
  try {
    own = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"));
  } catch {
    return { kind: "v1", hierarchies: [] };
  }
  const paths: Record<string, string> = {};
  const keys: [string, string | undefined][] = [...layout.v1];
  if (layout.v2Root !== undefined) keys.push(["", layout.v2Root]);
  for (const [key, mountpoint] of keys) {
    // Named hierarchies other than systemd's belong to someone else.
    if (key.startsWith("name=") && key !== "name=systemd") continue;
    const path = own.get(key);
    if (path === undefined || mountpoint === undefined) continue;
    const rel = posix.relative(layout.mountRoots.get(key) ?? "/", path);
    if (rel.startsWith("..")) continue;
    paths[key] = posix.join(mountpoint, rel);
  }
  return mountSource(layout, Cgroup.fromPaths(layout, paths), cgroupNs);
}

function isPermissionError(err: unknown): boolean {
  const errno = err instanceof HuskError ? err.errno : (err as NodeJS.ErrnoException)?.code;
  return errno === "EACCES" || errno === "EPERM" || errno === "EROFS";
}

/** What the host's cgroup layout cannot take at all, refused before anything is made. */
export function checkCgroupResources(spec: Spec): void {
  validateResourcesFor(cgroupLayout().mode, (spec.linux?.resources ?? {}) as LinuxResources);
}

/** The container's cgroup as the spec places it; nothing is made yet (see setUpCgroup). */
export function openContainerCgroup(spec: Spec, id: string): Cgroup {
  return openCgroup(cgroupLayout(), resolveCgroupPath(spec.linux?.cgroupsPath, id));
}

export interface SetUpHooks {
  /** Keep the record where a later `delete --force` finds it; called before the first mkdir and after the last. */
  record(record: CgroupRecord): void;
  warn(message: string): void;
  /** --rootless: true, false, or "auto" (not root, or root of a user namespace). */
  rootless?: boolean | "auto";
}

/**
 * Make the container's cgroup (from openContainerCgroup) and write its resources. On failure
 * the directories made so far are known to `cgroup` (its `created`) and to the record: the
 * caller's cleanup (removeCgroup) takes them away.
 */
export function setUpCgroup(cgroup: Cgroup, spec: Spec, hooks: SetUpHooks): ContainerCgroup {
  const layout = cgroupLayout();
  // The record comes before each mkdir it covers: first the cgroup's own directories (its
  // parents are nearly always there), and only if a parent is missing, every level not there.
  hooks.record({ paths: { ...cgroup.paths }, created: cgroup.missingLeaves(), pending: true });
  try {
    if (!cgroup.createLeaves()) {
      hooks.record({
        paths: { ...cgroup.paths },
        created: [...new Set([...cgroup.created, ...cgroup.missing()])],
        pending: true,
      });
      cgroup.create();
    }
  } catch (err) {
    // Rootless, like runc: a caller who may not make cgroups runs the container without one.
    const rootless = isRootless(hooks.rootless) && isPermissionError(err);
    hooks.record({ paths: rootless ? {} : { ...cgroup.paths }, created: cgroup.created });
    if (!rootless) throw err;
    const none = Cgroup.fromPaths(layout, {}, { created: [] });
    return { cgroup: none, paths: {}, mountSource: ownMountSource(layout, cgroupNsOf(spec)) };
  }
  hooks.record({ paths: { ...cgroup.paths }, created: cgroup.created });
  // runc's checks before it lets a process in: one that joins a frozen cgroup stops at once,
  // and the container would hang in create; processes already there are someone else's.
  const frozen = cgroup.frozenForNewcomers();
  if (frozen !== undefined) throw new CgroupError(`join cgroup ${frozen}`, "container's cgroup unexpectedly frozen");
  const others = cgroup.sharedPids().length;
  if (others > 0) hooks.warn(`container's cgroup is not empty: ${others} process(es) found`);
  const set = cgroup.set(withDefaultDevices((spec.linux?.resources ?? {}) as LinuxResources));
  for (const warning of set.warnings) hooks.warn(warning);
  const cgroupNs = cgroupNsOf(spec);
  return {
    cgroup,
    paths: { ...cgroup.paths },
    mountSource: mountSource(layout, cgroup, cgroupNs),
    deviceFilter: set.deviceFilter,
  };
}

/**
 * setUpCgroup for a fresh cgroup, one whose directories cannot exist yet (the engine's: its
 * ids are 256 random bits): the record, the checks of its parents and what is read of them
 * here, the mkdirs and set()'s writes left to the helper's parent (`make`, the plan's
 * cgroupMkdirs and cgroupWrite ops; on cgroup2 the device filter is attached there already),
 * off this thread, where making a cgroup in every hierarchy of a hybrid host was the largest
 * piece of an Engine.run's time on it. The writes are v1's, device rules and limits alike, as
 * Cgroup.planSet can tell them ahead. Undefined, with nothing made or written, where that does
 * not apply (a limit on cgroup2, a setting only a made cgroup tells, a missing parent):
 * setUpCgroup. For root of the host only (the caller asks): a rootless caller runs without a
 * cgroup it may not make, which only setUpCgroup does.
 */
export function planFreshCgroup(cgroup: Cgroup, spec: Spec, hooks: SetUpHooks): ContainerCgroup | undefined {
  const layout = cgroupLayout();
  const resources = withDefaultDevices((spec.linux?.resources ?? {}) as LinuxResources);
  if (!resources.devices) return undefined;
  // No devices controller at all: setUpCgroup says so.
  if (cgroup.paths.devices === undefined && cgroup.paths[""] === undefined) return undefined;
  // Validated (a bad value throws here, nothing made), and what set() would write.
  const planned = cgroup.planSet(resources);
  if (!planned) return undefined;
  // husk's default parent, which the last container's delete removes once it is empty, may go
  // between this look at it and the helper's mkdir: the helper makes it again then, and so
  // need not be looked at here at all.
  const parents = spec.linux?.cgroupsPath === undefined;
  const leaves = cgroup.planLeaves(parents);
  if (!leaves) return undefined;
  // Not pending: the directories are this container's alone, whoever of us makes them.
  hooks.record({ paths: { ...cgroup.paths }, created: leaves.dirs });
  return {
    cgroup,
    paths: { ...cgroup.paths },
    mountSource: mountSource(layout, cgroup, cgroupNsOf(spec)),
    deviceFilter: planned.deviceFilter,
    make: { ...leaves, parents, writes: planned.writes },
  };
}

/**
 * Undo setUpCgroup. In a cgroup husk made, anything still running is the container's (one
 * without its own pid namespace can leave processes behind) and is killed once an rmdir
 * refuses (an empty cgroup is not searched for processes first); in one it shares, nothing
 * is killed here — the caller kills the container's init. Then the directories husk made go,
 * and nothing else. `kill: false` for a record written before the mkdirs, when
 * the directories may be someone else's who made them meanwhile.
 */
export async function removeCgroup(
  cgroup: Cgroup,
  opts: { kill?: boolean; keepDefaultParent?: boolean; leavesGone?: boolean } = {},
): Promise<void> {
  const own = (opts.kill ?? true) && cgroup.isOwn();
  // Gone already when the run's helper said so (cgroupRemoveOnExit: an own cgroup's leaves);
  // else nearly always empty by now: rmdir first, and look for processes to kill only if it refuses.
  if (own && (opts.leavesGone || cgroup.removeIfEmpty())) return removeParents(cgroup, opts);
  const kill = own && cgroup.exists();
  for (let attempt = 1; ; attempt++) {
    if (kill) await cgroup.killAll("SIGKILL");
    try {
      await cgroup.destroy();
      break;
    } catch (err) {
      // The child of a create killed halfway joins the cgroup by itself and may do so after
      // the kill: kill again.
      if (!kill || attempt === 3 || !(err instanceof HuskError && err.errno === "EBUSY")) throw err;
    }
  }
  removeParents(cgroup, opts);
}

/** The parents husk made on the way to the cgroup, and its default parent unless kept. */
function removeParents(cgroup: Cgroup, opts: { keepDefaultParent?: boolean }): void {
  const leaves = Object.values(cgroup.paths);
  removeCreatedParents(leaves, cgroup.created);
  if (!opts.keepDefaultParent) removeDefaultParent(leaves);
}

/** husk's default parent cgroup (/husk) in each hierarchy, once no container is in it (see Runtime.idle). */
export function removeDefaultParents(): void {
  removeDefaultParent(Object.values(openCgroup(cgroupLayout(), resolveCgroupPath(undefined, "leaf")).paths));
}

/** Reopen a container's cgroup from the paths in its state file (to use it, not to remove it). */
export function reopenCgroup(paths: Record<string, string>): Cgroup {
  return Cgroup.fromPaths(cgroupLayout(), paths);
}

/**
 * Reopen a container's cgroup from its record, knowing which directories husk made; without a
 * record, as made by husk nowhere. Only directories inside this machine's cgroup mounts count:
 * the record names what delete may remove.
 */
export function recordedCgroup(paths: Record<string, string>, record?: CgroupRecord): Cgroup {
  const layout = cgroupLayout();
  const mounts = [...layout.v1.values(), ...(layout.v2Root ? [layout.v2Root] : [])];
  const inside = (dir: string) => posix.normalize(dir) === dir && mounts.some((m) => dir.startsWith(`${m}/`));
  const own = Object.fromEntries(Object.entries(record?.paths ?? paths).filter(([, dir]) => inside(dir)));
  return Cgroup.fromPaths(layout, own, { created: (record?.created ?? []).filter(inside) });
}
