/**
 * Pure conversions between OCI (cgroup v1 shaped) values and kernel file contents.
 */
import * as fs from "node:fs";

/**
 * cpu.shares [2, 262144] (default 1024) → cpu.weight [1, 10000] (default 100).
 * The quadratic in log2(shares) that current runc (opencontainers/cgroups) and crun use: it
 * maps min→min, max→max and, unlike runc ≤1.2's linear formula (1024 → 39), default→default.
 * 0 means unset and stays 0.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(10 ** exponent);
}

/** blkio.weight [10, 1000] → io.weight [1, 10000], linearly (runc, crun). 0 stays unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is the v1 memory+swap limit; cgroup v2's memory.swap.max is swap alone.
 * Returns the memory.swap.max value (-1 = "max", 0 = leave unset) or an error text.
 * Mirrors runc's ConvertMemorySwapToCgroupV2Value.
 */
export function swapToV2(swap: number, limit: number): { value: number } | { error: string } {
  // memory unlimited and swap not given: v1 would leave memsw unlimited too.
  if (limit === -1 && swap === 0) return { value: -1 };
  if (swap === -1 || swap === 0) return { value: swap };
  if (limit === -1) return { value: swap };
  if (limit === 0) return { error: "cannot set a swap limit without a memory limit on cgroup v2" };
  if (swap < limit) return { error: `memory+swap limit ${swap} must not be lower than the memory limit ${limit}` };
  return { value: swap - limit };
}

/** Integers as decimal digits, never exponent notation (String(1e21) is "1e+21"). */
export function int(n: number): string {
  return BigInt(Math.trunc(n)).toString();
}

/** cgroup v2 spelling of a limit: -1 → "max". */
export function v2Limit(n: number): string {
  return n === -1 ? "max" : int(n);
}

/** "hugepages-2048kB" directory name size (kB) → the OCI/cgroup page size name "2MB". */
export function hugePageSizeName(kB: number): string {
  if (kB >= 1024 * 1024 && kB % (1024 * 1024) === 0) return `${kB / (1024 * 1024)}GB`;
  if (kB >= 1024 && kB % 1024 === 0) return `${kB / 1024}MB`;
  return `${kB}KB`;
}

/** Huge page sizes this kernel supports, as cgroup file names spell them ("2MB", "1GB"). */
export function hugePageSizes(dir = "/sys/kernel/mm/hugepages"): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const sizes: number[] = [];
  for (const name of names) {
    const m = /^hugepages-(\d+)kB$/.exec(name);
    if (m) sizes.push(Number(m[1]));
  }
  return sizes.sort((a, b) => a - b).map(hugePageSizeName);
}

/** cpuset list syntax: "0-3,5,7-8". */
export function isCpuList(s: string): boolean {
  return /^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(s.trim());
}

export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  if (!isCpuList(s)) return out;
  for (const part of s.trim().split(",")) {
    const [a, b] = part.split("-").map(Number) as [number, number | undefined];
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/**
 * 2^64, standing for the kernel's "max"/unlimited u64 (18446744073709551615), which a JS
 * number cannot hold exactly. statsToJSON prints it back as the u64 maximum.
 */
export const UNLIMITED = 2 ** 64;

/** A counter file's content: decimal, or "max". */
export function parseCounter(s: string): number {
  const t = s.trim();
  if (t === "max") return UNLIMITED;
  const n = Number(t);
  return Number.isFinite(n) ? n : 0;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) → map. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = parseCounter(v);
  }
  return out;
}
