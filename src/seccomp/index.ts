/**
 * Seccomp: compile an OCI `linux.seccomp` profile into the classic BPF program the helper
 * loads with seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) — husk's own libseccomp, for x86_64.
 *
 *   policy.ts   spec → validated rules per ABI and syscall number (runc/libseccomp semantics)
 *   emit.ts     rules → BPF (arch check, interval search tree, argument checks)
 *   bpf.ts      opcodes, assembler with long jumps, struct sock_filter bytes, disassembler
 *   arches.ts   x86_64 / x32 / i386 and their syscall tables (syscalls-*.ts)
 *   features.ts `husk features` → linux.seccomp
 *
 * Callers skip seccomp entirely when the spec has neither `defaultAction` nor `syscalls`
 * (runc treats that as "seccomp off"); see `seccompWanted`.
 */
import { HuskError } from "../errors.ts";
import type { LinuxSeccomp } from "../oci/types.ts";
import { BPF_MAXINSNS, encodeFilter } from "./bpf.ts";
import { emitProgram } from "./emit.ts";
import { buildPolicy } from "./policy.ts";
import type { CompiledSeccomp } from "./wanted.ts";

export { decodeFilter, disassemble } from "./bpf.ts";
export { type SeccompFeatures, seccompFeatures } from "./features.ts";
export { type CompiledSeccomp, seccompWanted } from "./wanted.ts";

export interface CompileOptions {
  /** The kernel's architecture; only x86_64 is supported. */
  arch?: "x86_64";
  /**
   * runc's -ENOSYS stub: with a blocking default action, numbers above the highest syscall
   * the profile names return ENOSYS (default true). See policy.ts.
   */
  enosysStub?: boolean;
}

export function compileSeccomp(seccomp: LinuxSeccomp, opts: CompileOptions = {}): CompiledSeccomp {
  if ((opts.arch ?? "x86_64") !== "x86_64") {
    throw new HuskError(`seccomp filters can only be built for x86_64, not ${opts.arch}`, {
      what: "seccomp",
      origin: "linux.seccomp",
    });
  }
  const policy = buildPolicy(seccomp, { enosysStub: opts.enosysStub });
  const program = emitProgram(policy);
  if (program.length > BPF_MAXINSNS) {
    throw new HuskError(`the filter needs ${program.length} BPF instructions; the kernel allows at most ${BPF_MAXINSNS}`, {
      what: "seccomp",
      origin: "linux.seccomp.syscalls",
    });
  }
  return { filter: encodeFilter(program), flags: policy.flags, warnings: policy.warnings };
}
