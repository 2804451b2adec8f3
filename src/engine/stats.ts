/**
 * `husk stats` (docker stats): what a running container uses, sampled from its cgroup (the
 * directories the runtime recorded, read per controller by src/cgroups/stats.ts, so v1, v2 and
 * hybrid all work), its network namespace and the host's CPU time.
 *
 *   CPU %      container CPU time over host CPU time between two samples, times online CPUs
 *              (docker's formula; so one busy thread on any machine reads about 100%)
 *   MEM        usage minus inactive file cache (v1 total_inactive_file, v2 inactive_file), as
 *              docker's CLI; the limit is the cgroup's, or the host's memory when unlimited
 *   NET I/O    /proc/<pid>/net/dev through the host's /proc: that file shows the network
 *              namespace of <pid>, so no setns is needed; loopback left out
 *   BLOCK I/O  blkio (v1) or io.stat (v2) bytes read and written
 */
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { type CgroupStats, cgroupStats } from "../cgroups/stats.ts";
import { HuskError } from "../errors.ts";
import { reopenCgroup } from "../runtime/cgroup-setup.ts";
import { isAlive } from "../runtime/proc.ts";
import { readState } from "../runtime/state.ts";
import type { Engine } from "./engine.ts";
import type { ContainerRecord } from "./records.ts";

export interface ContainerStats {
  id: string;
  name: string;
  /** When this sample was read (ISO 8601). */
  read: string;
  /** Whether it was running; a container that is not has every figure 0. */
  running: boolean;
  /** Over the time since the previous sample; 0 in a first sample. */
  cpuPercent: number;
  /** The container's CPU time, and the host's, in ns (the two counters CPU % is made from). */
  cpuTotalNs: number;
  systemCpuNs: number;
  onlineCpus: number;
  /** Bytes, as docker shows them (inactive file cache left out). */
  memoryUsage: number;
  memoryLimit: number;
  memoryPercent: number;
  netRxBytes: number;
  netTxBytes: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  pids: number;
  /** Everything the cgroup reported (runc's events --stats data); absent when not running. */
  cgroup?: CgroupStats;
}

/** USER_HZ: /proc/stat counts in clock ticks, 100 on every Linux ABI husk targets. */
const CLOCK_TICKS = 100;

/** The host's CPU time (ns) and the number of CPUs /proc/stat lists. */
export function hostCpu(text = readFileSync("/proc/stat", "utf8")): { ns: number; cpus: number } {
  let ns = 0;
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("cpu ")) {
      // user nice system idle iowait irq softirq steal (guest time is inside user already)
      const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
      ns = (f.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) * 1e9) / CLOCK_TICKS;
    } else if (/^cpu\d+ /.test(line)) n++;
  }
  return { ns, cpus: n || cpus().length };
}

/** Bytes received and sent on every interface but lo, from a /proc/<pid>/net/dev text. */
export function netTotals(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split("\n").slice(2)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    if (line.slice(0, colon).trim() === "lo") continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    rx += f[0] ?? 0;
    tx += f[8] ?? 0;
  }
  return { rx, tx };
}

/** docker's memory figure: usage without the inactive file cache (which the kernel reclaims first). */
export function memoryUsage(s: CgroupStats): number {
  const usage = s.memory.usage.usage;
  const v1 = s.memory.raw.total_inactive_file;
  if (v1 !== undefined && v1 < usage) return usage - v1;
  const v2 = s.memory.raw.inactive_file;
  if (v2 !== undefined && v2 < usage) return usage - v2;
  return usage;
}

/** The cgroup's memory limit, or the host's memory when it has none (v1's huge number, v2's "max"). */
export function memoryLimit(s: CgroupStats, host = totalmem()): number {
  const limit = s.memory.usage.limit;
  return limit > 0 && limit < host ? limit : host;
}

export function blockBytes(s: CgroupStats): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const e of s.blkio.ioServiceBytesRecursive) {
    const op = e.op.toLowerCase();
    if (op === "read") read += e.value;
    else if (op === "write") write += e.value;
  }
  return { read, write };
}

/** CPU % between two samples of the same container (docker's calculateCPUPercentUnix). */
export function cpuPercent(prev: ContainerStats | undefined, cur: ContainerStats): number {
  if (!prev?.running || !cur.running) return 0;
  const cpu = cur.cpuTotalNs - prev.cpuTotalNs;
  const system = cur.systemCpuNs - prev.systemCpuNs;
  if (cpu <= 0 || system <= 0) return 0;
  return (cpu / system) * cur.onlineCpus * 100;
}

function idle(rec: ContainerRecord, now: string): ContainerStats {
  return {
    id: rec.id,
    name: rec.name,
    read: now,
    running: false,
    cpuPercent: 0,
    cpuTotalNs: 0,
    systemCpuNs: 0,
    onlineCpus: 0,
    memoryUsage: 0,
    memoryLimit: 0,
    memoryPercent: 0,
    netRxBytes: 0,
    netTxBytes: 0,
    blockReadBytes: 0,
    blockWriteBytes: 0,
    pids: 0,
  };
}

/** One reading of a container, without CPU % (that needs the one before: see Sampler). */
export function readSample(engine: Engine, rec: ContainerRecord): ContainerStats {
  const now = new Date().toISOString();
  if (engine.live(rec).status !== "running") return idle(rec, now);
  let cg: CgroupStats;
  let net = { rx: 0, tx: 0 };
  try {
    cg = cgroupStats(reopenCgroup(readState(rec.stateRoot, rec.id).cgroupPaths));
    // A host-network container's counters are the host's: docker shows none.
    if (rec.hostConfig.networkMode !== "host") net = netTotals(readFileSync(`/proc/${rec.pid}/net/dev`, "utf8"));
  } catch {
    return idle(rec, now); // it stopped while being read
  }
  // The pid was the container's when the files were read only if it still is now.
  if (!isAlive(rec.pid, rec.pidStartTime)) return idle(rec, now);
  const host = hostCpu();
  const mem = memoryUsage(cg);
  const limit = memoryLimit(cg);
  const block = blockBytes(cg);
  return {
    id: rec.id,
    name: rec.name,
    read: now,
    running: true,
    cpuPercent: 0,
    cpuTotalNs: cg.cpu.usage.total,
    systemCpuNs: host.ns,
    onlineCpus: cg.cpu.usage.percpu.length || host.cpus,
    memoryUsage: mem,
    memoryLimit: limit,
    memoryPercent: limit > 0 ? (mem / limit) * 100 : 0,
    netRxBytes: net.rx,
    netTxBytes: net.tx,
    blockReadBytes: block.read,
    blockWriteBytes: block.write,
    pids: cg.pids.current,
    cgroup: cg,
  };
}

/** Samples containers again and again, each against its own previous sample (for CPU %). */
export class Sampler {
  readonly #prev = new Map<string, ContainerStats>();
  constructor(readonly engine: Engine) {}

  sample(rec: ContainerRecord): ContainerStats {
    const cur = readSample(this.engine, rec);
    cur.cpuPercent = cpuPercent(this.#prev.get(rec.id), cur);
    this.#prev.set(rec.id, cur);
    return cur;
  }

  /** Forget containers not in ids (gone from the list). */
  keep(ids: Iterable<string>): void {
    const keep = new Set(ids);
    for (const id of this.#prev.keys()) if (!keep.has(id)) this.#prev.delete(id);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function checkInterval(intervalMs: unknown): number {
  if (intervalMs === undefined) return 1000;
  if (typeof intervalMs !== "number" || !Number.isFinite(intervalMs) || intervalMs < 10 || intervalMs > 3_600_000)
    throw new HuskError("must be a number of milliseconds from 10 to 3600000", { origin: "StatsOptions.intervalMs" });
  return intervalMs;
}

export interface StatsOptions {
  /** Time between the two samples CPU % is made from (default 1000, as docker). */
  intervalMs?: number;
}

/** One sample, CPU % over intervalMs. */
export async function stats(engine: Engine, ref: string, options: StatsOptions = {}): Promise<ContainerStats> {
  const interval = checkInterval(options?.intervalMs);
  const sampler = new Sampler(engine);
  const rec = engine.record(ref);
  const first = sampler.sample(rec);
  if (!first.running) return first;
  await sleep(interval);
  return sampler.sample(rec);
}

/** A sample every intervalMs, from the second reading on, until the caller stops (or the container goes). */
export async function* statsStream(
  engine: Engine,
  ref: string,
  options: StatsOptions & { signal?: AbortSignal } = {},
): AsyncGenerator<ContainerStats> {
  const interval = checkInterval(options?.intervalMs);
  const sampler = new Sampler(engine);
  const rec = engine.record(ref);
  sampler.sample(rec);
  for (;;) {
    await sleep(interval);
    if (options.signal?.aborted) return;
    let now: ContainerRecord;
    try {
      now = engine.record(rec.id);
    } catch {
      return; // removed
    }
    yield sampler.sample(now);
  }
}
