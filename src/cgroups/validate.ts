/**
 * Checks on `linux.resources` values that need no kernel: types, ranges, syntax. set()
 * runs them all before writing anything, so a bad spec changes nothing.
 */
import { isCpuList } from "./convert.ts";
import { CgroupError } from "./errors.ts";
import type { CgroupMode } from "./layout.ts";
import type { LinuxBlockIODevice, LinuxResources } from "./resources.ts";

const base = "linux.resources";

function fail(field: string, message: string): never {
  throw new CgroupError(`${base}.${field}`, message);
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

function intField(field: string, v: unknown, min: number, max = Number.MAX_VALUE, hint?: string): void {
  if (v === undefined) return;
  if (!isInt(v)) fail(field, `must be an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) fail(field, hint ?? `must be between ${min} and ${max}, got ${v}`);
}

/** -1 (unlimited), 0 (unset) or a positive number of bytes. */
function limitField(field: string, v: unknown): void {
  intField(field, v, -1, Number.MAX_VALUE, `must be -1 (unlimited) or a non-negative number of bytes, got ${v}`);
}

function device(field: string, d: LinuxBlockIODevice): void {
  intField(`${field}.major`, d.major, 0);
  intField(`${field}.minor`, d.minor, 0);
  if (d.major === undefined || d.minor === undefined) fail(field, "needs major and minor");
}

export function validateResources(r: LinuxResources): void {
  const m = r.memory;
  if (m) {
    for (const k of ["limit", "reservation", "swap", "kernel", "kernelTCP"] as const) limitField(`memory.${k}`, m[k]);
    intField("memory.swappiness", m.swappiness, 0, 100);
    const limit = m.limit ?? 0;
    const swap = m.swap ?? 0;
    if (limit > 0 && swap > 0 && swap < limit) {
      fail("memory.swap", `the memory+swap limit (${swap}) must not be lower than the memory limit (${limit})`);
    }
  }

  const c = r.cpu;
  if (c) {
    if (c.shares !== undefined && c.shares !== 0) intField("cpu.shares", c.shares, 2, 262144);
    intField(
      "cpu.quota",
      c.quota,
      -1,
      Number.MAX_VALUE,
      `must be -1 (unlimited) or a positive number of microseconds, got ${c.quota}`,
    );
    if (c.period !== undefined && c.period !== 0) intField("cpu.period", c.period, 1000, 1000000);
    intField("cpu.burst", c.burst, 0);
    intField("cpu.realtimeRuntime", c.realtimeRuntime, -1);
    intField("cpu.realtimePeriod", c.realtimePeriod, 0);
    intField("cpu.idle", c.idle, 0, 1);
    for (const k of ["cpus", "mems"] as const) {
      const v = c[k];
      if (v !== undefined && v !== "" && (typeof v !== "string" || !isCpuList(v))) {
        fail(`cpu.${k}`, `must be a list such as "0-3,5", got ${JSON.stringify(v)}`);
      }
    }
  }

  if (r.pids) intField("pids.limit", r.pids.limit, Number.MIN_SAFE_INTEGER);

  const b = r.blockIO;
  if (b) {
    intField("blockIO.weight", b.weight, 0, 1000);
    intField("blockIO.leafWeight", b.leafWeight, 0, 1000);
    b.weightDevice?.forEach((d, i) => {
      device(`blockIO.weightDevice[${i}]`, d);
      intField(`blockIO.weightDevice[${i}].weight`, d.weight, 0, 1000);
      intField(`blockIO.weightDevice[${i}].leafWeight`, d.leafWeight, 0, 1000);
    });
    for (const k of [
      "throttleReadBpsDevice",
      "throttleWriteBpsDevice",
      "throttleReadIOPSDevice",
      "throttleWriteIOPSDevice",
    ] as const) {
      b[k]?.forEach((d, i) => {
        device(`blockIO.${k}[${i}]`, d);
        intField(`blockIO.${k}[${i}].rate`, d.rate, 0);
        if (d.rate === undefined) fail(`blockIO.${k}[${i}].rate`, "is required");
      });
    }
  }

  r.hugepageLimits?.forEach((h, i) => {
    if (typeof h.pageSize !== "string" || !/^\d+[KMG]B$/.test(h.pageSize)) {
      fail(`hugepageLimits[${i}].pageSize`, `must look like "2MB" or "1GB", got ${JSON.stringify(h.pageSize)}`);
    }
    intField(`hugepageLimits[${i}].limit`, h.limit, 0);
  });

  r.devices?.forEach((d, i) => {
    const f = `devices[${i}]`;
    if (typeof d.allow !== "boolean") fail(`${f}.allow`, "must be true or false");
    if (d.type !== undefined && !["a", "b", "c"].includes(d.type))
      fail(`${f}.type`, `must be "a", "b" or "c", got ${JSON.stringify(d.type)}`);
    intField(`${f}.major`, d.major, -1);
    intField(`${f}.minor`, d.minor, -1);
    // Letters only (they are written to devices.allow as they are, minus the ones that mean nothing).
    if (d.access !== undefined && (d.access === "" || !/^[a-z]+$/.test(d.access))) {
      fail(`${f}.access`, `must be made of "r", "w" and "m" (other letters are ignored), got ${JSON.stringify(d.access)}`);
    }
  });

  const n = r.network;
  if (n) {
    intField("network.classID", n.classID, 0, 0xffffffff);
    n.priorities?.forEach((p, i) => {
      if (typeof p.name !== "string" || p.name === "" || /\s/.test(p.name))
        fail(`network.priorities[${i}].name`, "must be an interface name");
      intField(`network.priorities[${i}].priority`, p.priority, 0, 0xffffffff);
    });
  }

  for (const [key, value] of Object.entries(r.unified ?? {})) {
    const f = `unified[${JSON.stringify(key)}]`;
    if (!/^[a-z0-9_]+\.[A-Za-z0-9_.]+$/.test(key) || key.includes("..")) {
      fail(f, "must be a cgroup v2 file name of the form controller.parameter");
    }
    if (typeof value !== "string") fail(f, "must be a string");
  }
}

/**
 * linux.resources.unified on a host that is not pure cgroup v2 is refused, as runc refuses it
 * (in its words, which callers match on): a hybrid host's cgroup2 tree holds only what v1 left
 * over, and keys written there would not mean what they say on a v2 host.
 */
export function validateResourcesFor(mode: CgroupMode, r: LinuxResources): void {
  if (mode !== "v2" && Object.keys(r.unified ?? {}).length > 0) {
    fail("unified", `invalid configuration: cannot use unified on cgroup v1 (this host's cgroups are ${mode})`);
  }
}
