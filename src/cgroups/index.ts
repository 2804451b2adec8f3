/**
 * husk's cgroup module: layout detection (v1, v2, hybrid), cgroupsPath resolution, and a
 * container's cgroup (create, set linux.resources, join, freeze, stats, kill, destroy).
 */
export { Cgroup, type CgroupOptions, type DeviceFilter, openCgroup } from "./cgroup.ts";
export {
  blkioWeightToIoWeight,
  hugePageSizeName,
  hugePageSizes,
  parseCpuList,
  sharesToWeight,
  swapToV2,
  UNLIMITED,
} from "./convert.ts";
export { compileDeviceFilter, type DeviceState, emulateDeviceRules, runDeviceFilter } from "./device-filter.ts";
export { defaultDeviceRules, deviceRuleString, v1DeviceWriteRuns, v1DeviceWrites } from "./devices.ts";
export { CgroupDir } from "./dir.ts";
export { CgroupError } from "./errors.ts";
export { type CgroupFs, nodeCgroupFs } from "./fsio.ts";
export { type CgroupLayout, type CgroupMode, detectCgroupLayout, parseProcCgroup } from "./layout.ts";
export { resolveCgroupPath } from "./paths.ts";
export type * from "./resources.ts";
export { type BlkioEntry, type CgroupStats, cgroupStats, emptyStats, type MemoryEntry, statsToJSON } from "./stats.ts";
export { validateResources } from "./validate.ts";

/** The `linux.cgroup` object of `husk features` (runc's features JSON). */
export interface CgroupFeatures {
  v1: boolean;
  v2: boolean;
  systemd: boolean;
  systemdUser: boolean;
  rdma: boolean;
}

/** What husk's cgroup support covers, independent of this machine (as runc reports it). */
export function cgroupFeatures(): CgroupFeatures {
  return { v1: true, v2: true, systemd: false, systemdUser: false, rdma: false };
}
