/**
 * `linux.resources` → cgroup files, for v1, v2 and hybrid alike: every controller is written
 * wherever this machine keeps it (`SetContext.home`), in that hierarchy's dialect. On hybrid,
 * memory goes to v1's memory.limit_in_bytes while hugetlb goes to v2's hugetlb.2MB.max.
 *
 * Zero means "unset" for the numeric limits, as in runc (the spec's Go types cannot tell an
 * explicit 0 from an absent field), so an update touches only what it names. Orderings that
 * the kernel's cross-checks force (memory before or after memsw, cfs period around quota,
 * rt period around runtime) follow runc.
 */
import { blkioWeightToIoWeight, int, parseCounter, sharesToWeight, swapToV2, v2Limit } from "./convert.ts";
import { compileDeviceFilter, emulateDeviceRules } from "./device-filter.ts";
import { v1DeviceWriteRuns } from "./devices.ts";
import type { CgroupDir } from "./dir.ts";
import { CgroupError } from "./errors.ts";
import type { LinuxBlockIO, LinuxCPU, LinuxMemory, LinuxResources, LinuxThrottleDevice } from "./resources.ts";

export interface SetContext {
  /** The directory of `controller` for this cgroup, or undefined if the machine lacks it. */
  home(controller: string): CgroupDir | undefined;
  /** The v1 devices hierarchy, if mounted. */
  devicesV1?: CgroupDir;
  /** This cgroup in the cgroup2 tree, if there is one (v2 or hybrid). */
  unified?: CgroupDir;
  /** Huge page sizes the kernel has ("2MB"); empty when unknown. Read only when a limit names one. */
  hugePageSizes(): string[];
  warn(message: string): void;
  /** v2: the eBPF program (bytes) that enforces the device rules, for the caller to attach. */
  deviceFilter(program: Uint8Array): void;
}

const R = "linux.resources";

function need(ctx: SetContext, controller: string, field: string): CgroupDir {
  const d = ctx.home(controller);
  if (!d) throw new CgroupError(`${R}.${field}`, `the ${controller} cgroup controller is not available on this machine`);
  return d;
}

const nonzero = (v: number | undefined): v is number => v !== undefined && v !== 0;

export function setResources(ctx: SetContext, r: LinuxResources): void {
  if (r.cpu && ((r.cpu.cpus ?? "") !== "" || (r.cpu.mems ?? "") !== "")) setCpuset(ctx, r.cpu);
  if (r.devices) setDevices(ctx, r);
  if (r.memory) setMemory(ctx, r.memory);
  if (r.cpu) setCpu(ctx, r.cpu);
  if (r.pids?.limit !== undefined) {
    const limit = r.pids.limit;
    need(ctx, "pids", "pids.limit").write(`${R}.pids.limit`, "pids.max", limit > 0 ? int(limit) : "max");
  }
  if (r.blockIO) setBlockIO(ctx, r.blockIO);
  if (r.hugepageLimits?.length) setHugepages(ctx, r);
  if (r.network) setNetwork(ctx, r);
  if (r.rdma && Object.keys(r.rdma).length > 0) {
    throw new CgroupError(`${R}.rdma`, "rdma limits are not supported by husk");
  }
  if (r.unified && Object.keys(r.unified).length > 0) setUnified(ctx, r.unified);
}

function setCpuset(ctx: SetContext, cpu: LinuxCPU): void {
  for (const k of ["cpus", "mems"] as const) {
    const v = cpu[k];
    if (v === undefined || v === "") continue;
    const d = need(ctx, "cpuset", `cpu.${k}`);
    // A v1 cpuset mounted with -o noprefix names its files "cpus", "mems".
    const file = d.version === 1 && !d.has(`cpuset.${k}`) && d.has(k) ? k : `cpuset.${k}`;
    d.write(`${R}.cpu.${k}`, file, v);
  }
}

function setDevices(ctx: SetContext, r: LinuxResources): void {
  const rules = r.devices ?? [];
  const field = `${R}.devices`;
  if (ctx.devicesV1) {
    // docker's default rules: 13 writes through 2 opens instead of 13.
    for (const run of v1DeviceWriteRuns(rules)) ctx.devicesV1.writeEach(field, run.file, run.values);
    return;
  }
  if (!ctx.unified) throw new CgroupError(field, "the devices cgroup controller is not mounted, device rules cannot be enforced");
  const state = emulateDeviceRules(rules);
  // Everything allowed: no program to attach.
  if (state.defaultAllow && state.exceptions.length === 0) return;
  ctx.deviceFilter(compileDeviceFilter(state));
}

function setMemory(ctx: SetContext, m: LinuxMemory): void {
  const f = (k: string) => `${R}.memory.${k}`;
  const limit = m.limit ?? 0;
  const swap = m.swap ?? 0;
  const wanted =
    limit !== 0 ||
    swap !== 0 ||
    nonzero(m.reservation) ||
    m.swappiness !== undefined ||
    m.disableOOMKiller !== undefined ||
    m.useHierarchy !== undefined;
  const d = wanted ? need(ctx, "memory", "memory") : ctx.home("memory");

  for (const k of ["kernel", "kernelTCP"] as const) {
    if (!nonzero(m[k])) continue;
    const file = k === "kernel" ? "memory.kmem.limit_in_bytes" : "memory.kmem.tcp.limit_in_bytes";
    if (!d || d.version === 2 || !d.has(file)) {
      ctx.warn(
        `${f(k)}: ignored, ${d?.version === 2 ? "cgroup v2 has no kernel memory limit" : `this kernel has no ${file} file`}`,
      );
      continue;
    }
    const errno = d.tryWrite(file, int(m[k]));
    if (errno === "EOPNOTSUPP" || errno === "ENOTSUP") ctx.warn(`${f(k)}: ignored, this kernel no longer supports it`);
    else if (errno) d.write(f(k), file, int(m[k]));
    else if (k === "kernel" && m.kernel !== -1 && parseCounter(d.read(f(k), file)) >= 2 ** 62) {
      // Since 5.16 the knob accepts writes but keeps kernel memory unlimited.
      ctx.warn(`${f(k)}: ignored, this kernel no longer enforces kernel memory limits`);
    }
  }
  if (!d || !wanted) return;

  if (m.checkBeforeUpdate && (limit > 0 || swap > 0)) {
    const usage = parseCounter(d.tryRead(d.version === 1 ? "memory.usage_in_bytes" : "memory.current") ?? "0");
    if (limit > 0 && limit <= usage)
      throw new CgroupError(f("limit"), `refusing a memory limit of ${limit}, at or below the current usage ${usage}`);
    if (swap > 0 && swap <= usage)
      throw new CgroupError(f("swap"), `refusing a memory+swap limit of ${swap}, at or below the current usage ${usage}`);
  }

  if (d.version === 1) {
    setMemoryV1(d, limit, swap);
    if (nonzero(m.reservation)) d.write(f("reservation"), "memory.soft_limit_in_bytes", int(m.reservation));
    if (m.disableOOMKiller !== undefined) d.write(f("disableOOMKiller"), "memory.oom_control", m.disableOOMKiller ? "1" : "0");
    if (m.swappiness !== undefined) d.write(f("swappiness"), "memory.swappiness", int(m.swappiness));
    if (m.useHierarchy !== undefined) d.write(f("useHierarchy"), "memory.use_hierarchy", m.useHierarchy ? "1" : "0");
    return;
  }

  if (m.swappiness !== undefined) throw new CgroupError(f("swappiness"), "cgroup v2 has no memory.swappiness file");
  if (m.disableOOMKiller)
    throw new CgroupError(f("disableOOMKiller"), "cgroup v2 cannot disable the OOM killer (no memory.oom_control file)");
  if (m.useHierarchy === false) throw new CgroupError(f("useHierarchy"), "cgroup v2 memory accounting is always hierarchical");
  const converted = swapToV2(swap, limit);
  if ("error" in converted) throw new CgroupError(f("swap"), converted.error);
  if (converted.value !== 0 || swap > 0) {
    const value = v2Limit(converted.value);
    if (!d.has("memory.swap.max")) {
      // No swap accounting: "unlimited" needs nothing; "no swap beyond memory" (swap ==
      // limit, what docker sets by default) cannot be enforced — say so, as runc ignores it.
      if (value !== "max") ctx.warn(`${f("swap")}: ignored, this kernel has no memory.swap.max file (swap accounting disabled)`);
    } else {
      d.write(f("swap"), "memory.swap.max", value);
    }
  }
  if (limit !== 0) d.write(f("limit"), "memory.max", v2Limit(limit));
  if (nonzero(m.reservation)) d.write(f("reservation"), "memory.low", v2Limit(m.reservation));
}

/**
 * v1 refuses memsw below memory (EINVAL), so the two are written in whichever order keeps
 * memory <= memsw at every step, judged against the current memory limit.
 */
function setMemoryV1(d: CgroupDir, limit: number, swapIn: number): void {
  let swap = swapIn;
  // Unlimited memory with swap unspecified means unlimited memsw too, if swap is accounted.
  if (limit === -1 && swap === 0 && d.has("memory.memsw.limit_in_bytes")) swap = -1;
  const writeLimit = () => {
    if (limit === 0) return;
    const errno = d.tryWrite("memory.limit_in_bytes", int(limit));
    if (errno === "EBUSY") {
      const usage = parseCounter(d.tryRead("memory.usage_in_bytes") ?? "0");
      const peak = parseCounter(d.tryRead("memory.max_usage_in_bytes") ?? "0");
      throw new CgroupError(
        `${R}.memory.limit`,
        `cannot set the memory limit to ${limit}: current usage ${usage}, peak ${peak}`,
        "EBUSY",
      );
    }
    if (errno) d.write(`${R}.memory.limit`, "memory.limit_in_bytes", int(limit));
  };
  const writeSwap = () => {
    if (swap !== 0) d.write(`${R}.memory.swap`, "memory.memsw.limit_in_bytes", int(swap));
  };
  if (limit !== 0 && swap !== 0) {
    const current = parseCounter(d.read(`${R}.memory.limit`, "memory.limit_in_bytes"));
    if (swap === -1 || current < swap) {
      writeSwap();
      writeLimit();
      return;
    }
  }
  writeLimit();
  writeSwap();
}

function setCpu(ctx: SetContext, cpu: LinuxCPU): void {
  const f = (k: string) => `${R}.cpu.${k}`;
  const wanted =
    nonzero(cpu.shares) ||
    nonzero(cpu.quota) ||
    nonzero(cpu.period) ||
    cpu.burst !== undefined ||
    nonzero(cpu.realtimeRuntime) ||
    nonzero(cpu.realtimePeriod) ||
    cpu.idle !== undefined;
  if (!wanted) return;
  const d = need(ctx, "cpu", "cpu");

  if (d.version === 2) {
    if (nonzero(cpu.realtimeRuntime) || nonzero(cpu.realtimePeriod)) {
      throw new CgroupError(
        f(nonzero(cpu.realtimeRuntime) ? "realtimeRuntime" : "realtimePeriod"),
        "cgroup v2 has no realtime group scheduling (no cpu.rt_* files)",
      );
    }
    if (cpu.idle !== undefined) d.write(f("idle"), "cpu.idle", int(cpu.idle));
    if (nonzero(cpu.shares)) d.write(f("shares"), "cpu.weight", int(sharesToWeight(cpu.shares)));
    // Burst may not exceed the quota: write it before a quota change and again after.
    let burstPending = false;
    if (cpu.burst !== undefined) {
      const errno = d.tryWrite("cpu.max.burst", int(cpu.burst));
      if (errno === "EINVAL" && nonzero(cpu.quota)) burstPending = true;
      else if (errno) d.write(f("burst"), "cpu.max.burst", int(cpu.burst));
    }
    if (nonzero(cpu.quota) || nonzero(cpu.period)) {
      // cpu.max is "QUOTA PERIOD"; keep whichever half the spec leaves unset.
      const [curQuota = "max", curPeriod = "100000"] = (d.tryRead("cpu.max") ?? "").trim().split(/\s+/).filter(Boolean);
      const quota = nonzero(cpu.quota) ? v2Limit(cpu.quota) : curQuota;
      const period = nonzero(cpu.period) ? int(cpu.period) : curPeriod;
      d.write(f(nonzero(cpu.quota) ? "quota" : "period"), "cpu.max", `${quota} ${period}`);
    }
    if (burstPending) d.write(f("burst"), "cpu.max.burst", int(cpu.burst as number));
    return;
  }

  if (nonzero(cpu.shares)) {
    d.write(f("shares"), "cpu.shares", int(cpu.shares));
    const got = parseCounter(d.read(f("shares"), "cpu.shares"));
    if (got !== cpu.shares) throw new CgroupError(f("shares"), `the kernel set cpu.shares to ${got} instead of ${cpu.shares}`);
  }
  // A new period can be refused (EINVAL) while the old quota/new period exceeds the
  // parent's bandwidth; a new burst while it exceeds the old quota. Retry both after quota.
  let periodPending = false;
  let burstPending = false;
  if (nonzero(cpu.period)) {
    const errno = d.tryWrite("cpu.cfs_period_us", int(cpu.period));
    if (errno === "EINVAL" && nonzero(cpu.quota)) periodPending = true;
    else if (errno) d.write(f("period"), "cpu.cfs_period_us", int(cpu.period));
  }
  if (cpu.burst !== undefined) {
    const errno = d.tryWrite("cpu.cfs_burst_us", int(cpu.burst));
    if (errno === "EINVAL" && nonzero(cpu.quota)) burstPending = true;
    else if (errno) d.write(f("burst"), "cpu.cfs_burst_us", int(cpu.burst));
  }
  if (nonzero(cpu.quota)) {
    d.write(f("quota"), "cpu.cfs_quota_us", int(cpu.quota));
    if (periodPending) d.write(f("period"), "cpu.cfs_period_us", int(cpu.period as number));
    if (burstPending) d.write(f("burst"), "cpu.cfs_burst_us", int(cpu.burst as number));
  }
  if (cpu.idle !== undefined) d.write(f("idle"), "cpu.idle", int(cpu.idle));
  // The rt runtime must fit the rt period: same retry dance.
  let rtPeriodPending = false;
  if (nonzero(cpu.realtimePeriod)) {
    const errno = d.tryWrite("cpu.rt_period_us", int(cpu.realtimePeriod));
    if (errno === "EINVAL" && nonzero(cpu.realtimeRuntime)) rtPeriodPending = true;
    else if (errno) d.write(f("realtimePeriod"), "cpu.rt_period_us", int(cpu.realtimePeriod));
  }
  if (nonzero(cpu.realtimeRuntime)) {
    d.write(f("realtimeRuntime"), "cpu.rt_runtime_us", int(cpu.realtimeRuntime));
    if (rtPeriodPending) d.write(f("realtimePeriod"), "cpu.rt_period_us", int(cpu.realtimePeriod as number));
  }
}

function setBlockIO(ctx: SetContext, b: LinuxBlockIO): void {
  const f = (k: string) => `${R}.blockIO.${k}`;
  const throttles: [keyof LinuxBlockIO, string, string][] = [
    ["throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"],
    ["throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"],
    ["throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"],
    ["throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops"],
  ];
  const wanted =
    nonzero(b.weight) ||
    nonzero(b.leafWeight) ||
    (b.weightDevice?.length ?? 0) > 0 ||
    throttles.some(([k]) => ((b[k] as LinuxThrottleDevice[] | undefined)?.length ?? 0) > 0);
  if (!wanted) return;
  const d = ctx.home("blkio") ?? ctx.home("io");
  if (!d)
    throw new CgroupError(
      `${R}.blockIO`,
      "neither the blkio (v1) nor the io (v2) cgroup controller is available on this machine",
    );

  if (d.version === 1) {
    // Without CFQ the weights live in BFQ's files (blkio.bfq.*); leaf weights were CFQ-only.
    const weightFile = d.has("blkio.weight") || !d.has("blkio.bfq.weight") ? "blkio.weight" : "blkio.bfq.weight";
    const weightDeviceFile = weightFile === "blkio.weight" ? "blkio.weight_device" : "blkio.bfq.weight_device";
    if (nonzero(b.weight)) d.write(f("weight"), weightFile, int(b.weight));
    if (nonzero(b.leafWeight)) d.write(f("leafWeight"), "blkio.leaf_weight", int(b.leafWeight));
    b.weightDevice?.forEach((w, i) => {
      if (nonzero(w.weight)) d.write(f(`weightDevice[${i}].weight`), weightDeviceFile, `${w.major}:${w.minor} ${int(w.weight)}`);
      if (nonzero(w.leafWeight))
        d.write(f(`weightDevice[${i}].leafWeight`), "blkio.leaf_weight_device", `${w.major}:${w.minor} ${int(w.leafWeight)}`);
    });
    for (const [k, file] of throttles) {
      for (const [i, t] of ((b[k] as LinuxThrottleDevice[] | undefined) ?? []).entries()) {
        d.write(f(`${k}[${i}]`), file, `${t.major}:${t.minor} ${int(t.rate)}`);
      }
    }
    return;
  }

  // v2: BFQ's io.bfq.weight takes blkio's 1–1000 scale as is; io.weight (iocost) wants 1–10000.
  const bfq = d.has("io.bfq.weight");
  const scale = (w: number) => int(bfq ? w : blkioWeightToIoWeight(w));
  const weightFile = bfq ? "io.bfq.weight" : "io.weight";
  if (nonzero(b.weight)) d.write(f("weight"), weightFile, scale(b.weight));
  if (nonzero(b.leafWeight)) throw new CgroupError(f("leafWeight"), "cgroup v2 has no leaf weights (no blkio.leaf_weight file)");
  b.weightDevice?.forEach((w, i) => {
    if (nonzero(w.leafWeight)) throw new CgroupError(f(`weightDevice[${i}].leafWeight`), "cgroup v2 has no leaf weights");
    if (nonzero(w.weight)) d.write(f(`weightDevice[${i}].weight`), weightFile, `${w.major}:${w.minor} ${scale(w.weight)}`);
  });
  for (const [k, , key] of throttles) {
    // v1 reads a rate of 0 as "no limit"; v2 spells that "max".
    for (const [i, t] of ((b[k] as LinuxThrottleDevice[] | undefined) ?? []).entries()) {
      d.write(f(`${k}[${i}]`), "io.max", `${t.major}:${t.minor} ${key}=${t.rate === 0 ? "max" : int(t.rate)}`);
    }
  }
}

function setHugepages(ctx: SetContext, r: LinuxResources): void {
  const limits = r.hugepageLimits ?? [];
  const d = need(ctx, "hugetlb", "hugepageLimits");
  // Reservation limits (.rsvd) also stop a task from reserving pages it would fault in
  // later beyond the limit; the spec asks for them where the kernel has them.
  let rsvd = true;
  const sizes = limits.length > 0 ? ctx.hugePageSizes() : [];
  limits.forEach((h, i) => {
    const field = `${R}.hugepageLimits[${i}]`;
    if (sizes.length > 0 && !sizes.includes(h.pageSize)) {
      throw new CgroupError(`${field}.pageSize`, `this kernel has no ${h.pageSize} huge pages (it has ${sizes.join(", ")})`);
    }
    const suffix = d.version === 1 ? "limit_in_bytes" : "max";
    const value = int(h.limit);
    d.write(`${field}.limit`, `hugetlb.${h.pageSize}.${suffix}`, value);
    if (rsvd) {
      const file = `hugetlb.${h.pageSize}.rsvd.${suffix}`;
      if (d.has(file)) d.write(`${field}.limit`, file, value);
      else rsvd = false;
    }
  });
}

function setNetwork(ctx: SetContext, r: LinuxResources): void {
  const n = r.network ?? {};
  if (nonzero(n.classID)) {
    const d = ctx.home("net_cls");
    if (d?.version !== 1)
      throw new CgroupError(`${R}.network.classID`, "the net_cls cgroup controller (v1 only) is not available on this machine");
    d.write(`${R}.network.classID`, "net_cls.classid", int(n.classID));
  }
  n.priorities?.forEach((p, i) => {
    const d = ctx.home("net_prio");
    if (d?.version !== 1)
      throw new CgroupError(
        `${R}.network.priorities`,
        "the net_prio cgroup controller (v1 only) is not available on this machine",
      );
    d.write(`${R}.network.priorities[${i}]`, "net_prio.ifpriomap", `${p.name} ${int(p.priority)}`);
  });
}

function setUnified(ctx: SetContext, unified: Record<string, string>): void {
  const d = ctx.unified;
  if (!d) throw new CgroupError(`${R}.unified`, "needs cgroup v2, and this machine has only cgroup v1");
  for (const [key, value] of Object.entries(unified)) {
    d.write(`${R}.unified[${JSON.stringify(key)}]`, key, value);
  }
}
