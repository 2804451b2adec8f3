/**
 * Linux capability names and numbers (include/uapi/linux/capability.h). The index in this
 * list is the capability number, which is the bit in the masks capset(2) takes.
 *
 * A kernel may know fewer capabilities than this table (see /proc/sys/kernel/cap_last_cap);
 * dropping the ones it lacks is the job of whoever builds the plan, not of this table.
 */

export const CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
] as const;

export type CapabilityName = (typeof CAPABILITIES)[number];

/** Highest capability number husk knows (CAP_CHECKPOINT_RESTORE). */
export const CAP_LAST_CAP = CAPABILITIES.length - 1;

const numbers = new Map<string, number>(CAPABILITIES.map((name, i) => [name, i]));

/** Capability number for an exact "CAP_*" name, or undefined if unknown. */
export function capNumber(name: string): number | undefined {
  return numbers.get(name);
}

/** "CAP_*" name for a capability number, or undefined if unknown. */
export function capName(cap: number): CapabilityName | undefined {
  return CAPABILITIES[cap];
}

export function isCapabilityName(name: string): name is CapabilityName {
  return numbers.has(name);
}

/**
 * Bit mask of the named capabilities (bit N = capability N), as capset(2) and the bounding
 * set operations take it. Names must be known: parseSpec has already dropped unknown ones
 * with a warning, so an unknown name here is a bug and throws.
 */
export function capMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const cap = numbers.get(name);
    if (cap === undefined) throw new Error(`unknown capability "${name}"`);
    mask |= 1n << BigInt(cap);
  }
  return mask;
}

/** Names of the capabilities set in a mask, in number order (the inverse of capMask). */
export function capNames(mask: bigint): CapabilityName[] {
  return CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}
