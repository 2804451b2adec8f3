/**
 * What the plan compiler and the runtime need to know about seccomp without loading the
 * compiler itself (its syscall tables and policy cost a create ~3 ms to load): whether a
 * profile asks for a filter, and the shape of a compiled one. index.ts re-exports both.
 */
import type { LinuxSeccomp } from "../oci/types.ts";

export interface CompiledSeccomp {
  /** struct sock_filter[], little endian: the plan op's `filter`. */
  filter: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* bits: the plan op's `flags`. */
  flags: number;
  /** One line each, naming the spec path: skipped syscalls, ignored fields. */
  warnings: string[];
}

/** runc's rule: no default action and no syscalls means no filter. */
export function seccompWanted(seccomp: LinuxSeccomp | undefined): seccomp is LinuxSeccomp {
  return seccomp !== undefined && (seccomp.defaultAction !== undefined || (seccomp.syscalls?.length ?? 0) > 0);
}
