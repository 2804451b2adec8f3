/**
 * The runtime's use of the cgroups module: make the container's cgroup from the spec, tell the
 * plan compiler how to show it inside the container, reopen it later from the state file.
 */
import { rmdirSync } from "node:fs";
import { basename, dirname } from "node:path";
import {
  Cgroup,
  type DeviceFilter,
  defaultDeviceRules,
  detectCgroupLayout,
  openCgroup,
  resolveCgroupPath,
} from "../cgroups/index.ts";
import type { CgroupLayout } from "../cgroups/layout.ts";
import type { LinuxResources } from "../cgroups/resources.ts";
import { HuskError } from "../errors.ts";
import type { CgroupMountSource } from "../plan/context.ts";
import type { Spec } from "../spec/types.ts";
import { stderr } from "../sys/stdio.ts";

export interface ContainerCgroup {
  cgroup: Cgroup;
  /** Hierarchy key → host directory, kept in the state file. */
  paths: Record<string, string>;
  mountSource: CgroupMountSource;
  /** cgroup v2: the device rules' eBPF program, attached by the helper before the container runs. */
  deviceFilter?: DeviceFilter;
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

function isPermissionError(err: unknown): boolean {
  const errno = err instanceof HuskError ? err.errno : (err as NodeJS.ErrnoException)?.code;
  return errno === "EACCES" || errno === "EPERM" || errno === "EROFS";
}

/** Create the container's cgroup and write its resources; undone if the resources are refused. */
export function setUpCgroup(spec: Spec, id: string): ContainerCgroup {
  const layout = cgroupLayout();
  const cgroup = openCgroup(layout, resolveCgroupPath(spec.linux?.cgroupsPath, id));
  try {
    cgroup.create();
  } catch (err) {
    // Rootless, like runc: a caller who may not make cgroups runs the container without one.
    if (process.geteuid?.() === 0 || !isPermissionError(err)) throw err;
    return { cgroup: Cgroup.fromPaths(layout, {}), paths: {}, mountSource: { kind: "v1", hierarchies: [] } };
  }
  let deviceFilter: DeviceFilter | undefined;
  try {
    const set = cgroup.set(withDefaultDevices((spec.linux?.resources ?? {}) as LinuxResources));
    for (const warning of set.warnings) stderr(`husk: warning: ${warning}\n`);
    deviceFilter = set.deviceFilter;
  } catch (err) {
    cgroup.destroy();
    throw err;
  }
  const cgroupNs = (spec.linux?.namespaces ?? []).some((ns) => ns.type === "cgroup" && !ns.path);
  return { cgroup, paths: { ...cgroup.paths }, mountSource: mountSource(layout, cgroup, cgroupNs), deviceFilter };
}

/**
 * After destroy: remove husk's default parent (`/husk`, for containers without a cgroupsPath)
 * once no container uses it, so an idle host keeps no trace of husk. Busy or gone is fine.
 */
export function removeDefaultParent(paths: Record<string, string>): void {
  for (const dir of new Set(Object.values(paths))) {
    const parent = dirname(dir);
    if (basename(parent) !== "husk") continue;
    try {
      rmdirSync(parent);
    } catch {}
  }
}

/** The cgroup a container gets without a cgroupsPath, if the layout allows one. */
export function defaultCgroup(id: string): Cgroup | undefined {
  try {
    return openCgroup(cgroupLayout(), resolveCgroupPath(undefined, id));
  } catch {
    return undefined;
  }
}

/** Reopen a container's cgroup from the paths in its state file. */
export function reopenCgroup(paths: Record<string, string>): Cgroup {
  return Cgroup.fromPaths(cgroupLayout(), paths);
}
