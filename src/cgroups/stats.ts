/**
 * What `runc events --stats` reports, read from v1 or v2 files (per controller, so hybrid
 * works), shaped like runc's types.Stats JSON (types/events.go): same keys, same units
 * (nanoseconds, bytes). Missing files leave zeros, as in runc: stats describe, they do not
 * configure.
 */

import type { Cgroup } from "./cgroup.ts";
import { parseCounter, parseCpuList, parseFlatKeyed, UNLIMITED } from "./convert.ts";
import type { CgroupDir } from "./dir.ts";

export interface MemoryEntry {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

export interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface CgroupStats {
  cpu: {
    usage: { total: number; percpu: number[]; percpu_kernel: number[]; percpu_user: number[]; kernel: number; user: number };
    throttling: { periods: number; throttledPeriods: number; throttledTime: number };
  };
  cpuset: { cpus: number[]; mems: number[] } & Record<string, number | number[]>;
  memory: {
    cache: number;
    usage: MemoryEntry;
    /** memory + swap, as v1's memsw reports it. */
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw: Record<string, number>;
  };
  pids: { current: number; limit: number };
  blkio: {
    ioServiceBytesRecursive: BlkioEntry[];
    ioServicedRecursive: BlkioEntry[];
    ioQueueRecursive: BlkioEntry[];
    ioServiceTimeRecursive: BlkioEntry[];
    ioWaitTimeRecursive: BlkioEntry[];
    ioMergedRecursive: BlkioEntry[];
    ioTimeRecursive: BlkioEntry[];
    sectorsRecursive: BlkioEntry[];
  };
  hugetlb: Record<string, { usage: number; max: number; failcnt: number }>;
}

const entry = (): MemoryEntry => ({ limit: 0, usage: 0, max: 0, failcnt: 0 });

export function emptyStats(): CgroupStats {
  return {
    cpu: {
      usage: { total: 0, percpu: [], percpu_kernel: [], percpu_user: [], kernel: 0, user: 0 },
      throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
    },
    cpuset: { cpus: [], mems: [] },
    memory: { cache: 0, usage: entry(), swap: entry(), kernel: entry(), kernelTCP: entry(), raw: {} },
    pids: { current: 0, limit: 0 },
    blkio: {
      ioServiceBytesRecursive: [],
      ioServicedRecursive: [],
      ioQueueRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
    hugetlb: {},
  };
}

/**
 * JSON text of stats with large counters printed digit for digit (JSON.stringify would print
 * v1's "unlimited" 9223372036854771712 as 9223372036854772000), and the u64 "max" (held as
 * 2^64, see convert.UNLIMITED) as 18446744073709551615 like runc, so Go's uint64 decoding
 * of `husk events` output gets the kernel's values.
 */
export function statsToJSON(stats: CgroupStats): string {
  const tag = "\u0000u64:";
  const text = JSON.stringify(stats, (_k, v) =>
    typeof v === "number" && Number.isInteger(v) && v > Number.MAX_SAFE_INTEGER
      ? `${tag}${v >= UNLIMITED ? "18446744073709551615" : BigInt(v).toString()}`
      : v,
  );
  return text.replace(/"\\u0000u64:(\d+)"/g, "$1");
}

/** Where each controller's stats come from. */
export interface StatsSources {
  home(controller: string): CgroupDir | undefined;
  hugePageSizes: string[];
}

const num = (d: CgroupDir, name: string): number => parseCounter(d.tryRead(name) ?? "0");
const nums = (text: string | undefined): number[] => (text ?? "").trim().split(/\s+/).filter(Boolean).map(Number);

/** USER_HZ: cpuacct.stat counts in clock ticks, 100 on every Linux ABI husk targets. */
const clockTicks = 100;

/** The statistics of a container's cgroup (runc's `events --stats` data). */
export function cgroupStats(cgroup: Cgroup): CgroupStats {
  return readStats({ home: (c) => cgroup.home(c), hugePageSizes: cgroup.hugePageSizes() });
}

export function readStats(src: StatsSources): CgroupStats {
  const s = emptyStats();
  readCpu(s, src.home("cpu"), src.home("cpuacct"));
  readCpuset(s, src.home("cpuset"));
  const mem = src.home("memory");
  if (mem) (mem.version === 1 ? readMemoryV1 : readMemoryV2)(s, mem);
  const pids = src.home("pids");
  if (pids) {
    s.pids.current = num(pids, "pids.current");
    const limit = num(pids, "pids.max");
    s.pids.limit = limit === UNLIMITED ? 0 : limit;
  }
  const blkio = src.home("blkio");
  const io = src.home("io");
  if (blkio?.version === 1) readBlkioV1(s, blkio);
  else if (io) readIoV2(s, io);
  const hugetlb = src.home("hugetlb");
  if (hugetlb) readHugetlb(s, hugetlb, src.hugePageSizes);
  return s;
}

function readCpu(s: CgroupStats, cpu: CgroupDir | undefined, cpuacct: CgroupDir | undefined): void {
  const u = s.cpu.usage;
  const t = s.cpu.throttling;
  if (cpu?.version === 2) {
    const st = parseFlatKeyed(cpu.tryRead("cpu.stat") ?? "");
    u.total = (st.usage_usec ?? 0) * 1000;
    u.user = (st.user_usec ?? 0) * 1000;
    u.kernel = (st.system_usec ?? 0) * 1000;
    t.periods = st.nr_periods ?? 0;
    t.throttledPeriods = st.nr_throttled ?? 0;
    t.throttledTime = (st.throttled_usec ?? 0) * 1000;
    return;
  }
  if (cpu) {
    const st = parseFlatKeyed(cpu.tryRead("cpu.stat") ?? "");
    t.periods = st.nr_periods ?? 0;
    t.throttledPeriods = st.nr_throttled ?? 0;
    t.throttledTime = st.throttled_time ?? 0;
  }
  if (cpuacct) {
    u.total = num(cpuacct, "cpuacct.usage");
    u.percpu = nums(cpuacct.tryRead("cpuacct.usage_percpu"));
    const st = parseFlatKeyed(cpuacct.tryRead("cpuacct.stat") ?? "");
    u.user = ((st.user ?? 0) * 1e9) / clockTicks;
    u.kernel = ((st.system ?? 0) * 1e9) / clockTicks;
    // "cpu user system" header, then one line per cpu.
    const rows = (cpuacct.tryRead("cpuacct.usage_all") ?? "").trim().split("\n").slice(1).map(nums);
    u.percpu_user = rows.map((r) => r[1] ?? 0);
    u.percpu_kernel = rows.map((r) => r[2] ?? 0);
  }
}

function readCpuset(s: CgroupStats, d: CgroupDir | undefined): void {
  if (!d) return;
  const read = (k: string) => d.tryRead(`cpuset.${k}`) ?? (d.version === 1 ? d.tryRead(k) : undefined);
  s.cpuset.cpus = parseCpuList(read(d.version === 1 ? "cpus" : "cpus.effective") ?? "");
  s.cpuset.mems = parseCpuList(read(d.version === 1 ? "mems" : "mems.effective") ?? "");
  if (d.version !== 1) return;
  for (const k of [
    "cpu_exclusive",
    "mem_hardwall",
    "mem_exclusive",
    "memory_migrate",
    "memory_spread_page",
    "memory_spread_slab",
    "memory_pressure",
    "sched_load_balance",
    "sched_relax_domain_level",
  ]) {
    const v = read(k);
    if (v !== undefined) s.cpuset[k] = Number(v.trim());
  }
}

function memoryEntryV1(d: CgroupDir, prefix: string): MemoryEntry {
  return {
    limit: num(d, `${prefix}.limit_in_bytes`),
    usage: num(d, `${prefix}.usage_in_bytes`),
    max: num(d, `${prefix}.max_usage_in_bytes`),
    failcnt: num(d, `${prefix}.failcnt`),
  };
}

function readMemoryV1(s: CgroupStats, d: CgroupDir): void {
  const m = s.memory;
  m.raw = parseFlatKeyed(d.tryRead("memory.stat") ?? "");
  m.cache = m.raw.cache ?? 0;
  m.usage = memoryEntryV1(d, "memory");
  m.swap = memoryEntryV1(d, "memory.memsw");
  m.kernel = memoryEntryV1(d, "memory.kmem");
  m.kernelTCP = memoryEntryV1(d, "memory.kmem.tcp");
}

function readMemoryV2(s: CgroupStats, d: CgroupDir): void {
  const m = s.memory;
  m.raw = parseFlatKeyed(d.tryRead("memory.stat") ?? "");
  m.cache = m.raw.file ?? 0;
  const events = parseFlatKeyed(d.tryRead("memory.events") ?? "");
  m.usage = {
    limit: num(d, "memory.max"),
    usage: num(d, "memory.current"),
    max: num(d, "memory.peak"),
    failcnt: events.max ?? 0,
  };
  // runc reports swap the v1 way, memory + swap.
  if (d.has("memory.swap.current")) {
    const swapLimit = num(d, "memory.swap.max");
    m.swap = {
      limit: swapLimit === UNLIMITED || m.usage.limit === UNLIMITED ? UNLIMITED : swapLimit + m.usage.limit,
      usage: num(d, "memory.swap.current") + m.usage.usage,
      max: 0,
      failcnt: parseFlatKeyed(d.tryRead("memory.swap.events") ?? "").max ?? 0,
    };
  }
}

/** "8:0 Read 1282048" / "8:0 1282048" lines, skipping the "Total N" line. */
function blkioEntries(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.trim().split(/[\s:]+/);
    if (f.length < 3 || f[0] === "Total") continue;
    const [major, minor] = [Number(f[0]), Number(f[1])];
    const op = f.length >= 4 ? (f[2] as string) : "";
    out.push({ major, minor, op, value: Number(f[f.length - 1]) });
  }
  return out;
}

function readBlkioV1(s: CgroupStats, d: CgroupDir): void {
  const b = s.blkio;
  // Which scheduler's statistics exist depends on the kernel (CFQ gone since 5.0); take the
  // first family that does, as runc does: BFQ, legacy CFQ, then the throttle layer's own.
  const families = [
    ["blkio.bfq.io_service_bytes_recursive", "blkio.bfq.io_serviced_recursive"],
    ["blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive"],
    ["blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_serviced_recursive"],
    ["blkio.throttle.io_service_bytes", "blkio.throttle.io_serviced"],
  ] as const;
  for (const [bytes, ios] of families) {
    if (!d.has(bytes)) continue;
    b.ioServiceBytesRecursive = blkioEntries(d.tryRead(bytes));
    b.ioServicedRecursive = blkioEntries(d.tryRead(ios));
    break;
  }
  if (d.has("blkio.io_queued_recursive")) {
    b.ioQueueRecursive = blkioEntries(d.tryRead("blkio.io_queued_recursive"));
    b.ioServiceTimeRecursive = blkioEntries(d.tryRead("blkio.io_service_time_recursive"));
    b.ioWaitTimeRecursive = blkioEntries(d.tryRead("blkio.io_wait_time_recursive"));
    b.ioMergedRecursive = blkioEntries(d.tryRead("blkio.io_merged_recursive"));
    b.ioTimeRecursive = blkioEntries(d.tryRead("blkio.time_recursive"));
    b.sectorsRecursive = blkioEntries(d.tryRead("blkio.sectors_recursive"));
  }
}

function readIoV2(s: CgroupStats, d: CgroupDir): void {
  const ops: Record<string, [keyof CgroupStats["blkio"], string]> = {
    rbytes: ["ioServiceBytesRecursive", "Read"],
    wbytes: ["ioServiceBytesRecursive", "Write"],
    rios: ["ioServicedRecursive", "Read"],
    wios: ["ioServicedRecursive", "Write"],
  };
  for (const line of (d.tryRead("io.stat") ?? "").split("\n")) {
    const [dev, ...items] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? "");
    if (!m) continue;
    for (const item of items) {
      const [k, v] = item.split("=");
      const target = ops[k ?? ""];
      if (target) s.blkio[target[0]].push({ major: Number(m[1]), minor: Number(m[2]), op: target[1], value: Number(v) });
    }
  }
}

function readHugetlb(s: CgroupStats, d: CgroupDir, sizes: string[]): void {
  for (const size of sizes) {
    const p = `hugetlb.${size}`;
    if (d.version === 1) {
      if (!d.has(`${p}.usage_in_bytes`)) continue;
      s.hugetlb[size] = {
        usage: num(d, `${p}.usage_in_bytes`),
        max: num(d, `${p}.max_usage_in_bytes`),
        failcnt: num(d, `${p}.failcnt`),
      };
    } else {
      if (!d.has(`${p}.current`)) continue;
      s.hugetlb[size] = {
        usage: num(d, `${p}.current`),
        max: 0,
        failcnt: parseFlatKeyed(d.tryRead(`${p}.events`) ?? "").max ?? 0,
      };
    }
  }
}
