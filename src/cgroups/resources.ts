/**
 * OCI runtime-spec `linux.resources`, field for field (config-linux.md, specs-go/config.go).
 * int64/uint64 fields are JSON numbers. Kept here, so that the cgroup module has no upward
 * dependency; src/oci/types.ts re-exports them as the spec's.
 */

export interface LinuxDeviceCgroup {
  allow: boolean;
  /** "a" (all), "c" or "b"; absent means "a". */
  type?: string;
  /** Absent or -1 means any. */
  major?: number;
  minor?: number;
  /** Some of "rwm". */
  access?: string;
}

export interface LinuxMemory {
  /** Bytes; -1 unlimited. */
  limit?: number;
  /** Soft limit in bytes; -1 unlimited. */
  reservation?: number;
  /** memory + swap limit in bytes (v1 semantics); -1 unlimited. */
  swap?: number;
  /** Deprecated kernel memory limit (v1 only). */
  kernel?: number;
  /** Kernel TCP buffer limit (v1 only). */
  kernelTCP?: number;
  /** 0–100. */
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  /** Refuse a limit lower than current usage instead of reclaiming/OOM-killing. */
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  /** v1 cpu.shares; on v2 converted to cpu.weight. */
  shares?: number;
  /** Microseconds per period; -1 unlimited. */
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  /** cpuset list syntax: "0-3,5". */
  cpus?: string;
  mems?: string;
  /** 0 or 1 (SCHED_IDLE for the group). */
  idle?: number;
}

export interface LinuxPids {
  /** 0 or negative means no limit. */
  limit?: number;
}

export interface LinuxBlockIODevice {
  major: number;
  minor: number;
}

export interface LinuxWeightDevice extends LinuxBlockIODevice {
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice extends LinuxBlockIODevice {
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** "<size><unit>B": "64KB", "2MB", "1GB". */
  pageSize: string;
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  pids?: LinuxPids;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 file name → content. */
  unified?: Record<string, string>;
}
