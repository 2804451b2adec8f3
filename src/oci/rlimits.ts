/**
 * RLIMIT_* names (as the spec writes them in process.rlimits[].type) and the resource numbers
 * setrlimit(2) takes. The numbers are the generic Linux ones (x86, arm, riscv, s390 …);
 * alpha, mips and sparc number a few differently, and husk does not run there.
 */

export const RLIMITS = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
} as const;

export type RlimitName = keyof typeof RLIMITS;

export const RLIMIT_NAMES = Object.keys(RLIMITS) as RlimitName[];

export function isRlimitName(name: string): name is RlimitName {
  return Object.hasOwn(RLIMITS, name);
}

/** Resource number for an RLIMIT_* name, or undefined if unknown. */
export function rlimitResource(name: string): number | undefined {
  return isRlimitName(name) ? RLIMITS[name] : undefined;
}

/**
 * RLIM_INFINITY is 2^64-1. JSON.parse turns 18446744073709551615 into 2^64 (the nearest
 * double), as it does everything from 2^64-1024 up, so any value that large is "infinity".
 * The largest value a uint64 field may hold after parsing is therefore 2^64 itself.
 */
export const RLIM_INFINITY_DOUBLE = 2 ** 64;

export function isRlimInfinity(value: number): boolean {
  return value >= RLIM_INFINITY_DOUBLE;
}

/**
 * A limit as the plan's setrlimit op takes it: -1 for RLIM_INFINITY, otherwise the value.
 * Finite values above 2^53 are already rounded by JSON parsing; the kernel treats anything
 * that large like infinity for every resource anyway.
 */
export function rlimitValue(value: number): number {
  return isRlimInfinity(value) ? -1 : value;
}
