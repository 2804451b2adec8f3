/**
 * The seccomp ABIs an x86_64 kernel can present to a filter, and how husk tells them apart.
 *
 * seccomp_data.arch is the AUDIT_ARCH of the calling convention, not of the binary:
 *   - x86_64 (`syscall`):          AUDIT_ARCH_X86_64, nr below 0x40000000;
 *   - x32 (`syscall`, ILP32):      AUDIT_ARCH_X86_64 too, nr with __X32_SYSCALL_BIT (0x40000000) set;
 *   - i386 (`int 0x80`, compat):   AUDIT_ARCH_I386, its own numbering.
 * As in libseccomp, x86_64 is always in the filter; x32 and i386 only when `architectures`
 * lists SCMP_ARCH_X32 / SCMP_ARCH_X86. Arguments are compared on 64 bits for x86_64 and on
 * their low 32 bits for x32 and i386 (libseccomp treats both as 32-bit ABIs).
 */
import type { SeccompArch } from "../oci/types.ts";
import { SYSCALLS_I386 } from "./syscalls-i386.ts";
import { SYSCALLS_X32 } from "./syscalls-x32.ts";
import { SYSCALLS_X86_64 } from "./syscalls-x86_64.ts";

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const X32_SYSCALL_BIT = 0x40000000;

export interface Abi {
  arch: SeccompArch;
  /** seccomp_data.arch for this ABI. */
  audit: number;
  /** Added to every number of `table` (the x32 bit). */
  nrBase: number;
  table: Readonly<Record<string, number>>;
  /** Compare all 64 bits of an argument (else only the low 32). */
  wideArgs: boolean;
}

export const ABIS: Readonly<Record<"SCMP_ARCH_X86_64" | "SCMP_ARCH_X32" | "SCMP_ARCH_X86", Abi>> = {
  SCMP_ARCH_X86_64: { arch: "SCMP_ARCH_X86_64", audit: AUDIT_ARCH_X86_64, nrBase: 0, table: SYSCALLS_X86_64, wideArgs: true },
  SCMP_ARCH_X32: {
    arch: "SCMP_ARCH_X32",
    audit: AUDIT_ARCH_X86_64,
    nrBase: X32_SYSCALL_BIT,
    table: SYSCALLS_X32,
    wideArgs: false,
  },
  SCMP_ARCH_X86: { arch: "SCMP_ARCH_X86", audit: AUDIT_ARCH_I386, nrBase: 0, table: SYSCALLS_I386, wideArgs: false },
};

/** The architectures an x86_64 host can run, for `husk features`. */
export const SUPPORTED_ARCHES: readonly SeccompArch[] = ["SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"];

/** The syscall's number (x32 bit included) in this ABI, or undefined if it has none. */
export function syscallNumber(abi: Abi, name: string): number | undefined {
  return Object.hasOwn(abi.table, name) ? abi.nrBase + abi.table[name]! : undefined;
}
