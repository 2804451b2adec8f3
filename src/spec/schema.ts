/**
 * The shape of config.json: which fields exist, their types and the per-field rules (absolute
 * paths, integer ranges, known names). Rules that relate several fields (a hostname needs a UTS
 * namespace, mappings must not overlap …) live in rules.ts.
 *
 * Each field has a check: a plain function that returns the field's value, with objects and
 * arrays copied (the rules normalise the copy in place), or throws at the first problem with a
 * message written for the reader ("must be an absolute path"). The containers (obj, arr, rec)
 * keep the JSON path of the value being checked on a stack, so when a check throws, the stack
 * is the path to the problem.
 *
 * Objects are loose: the spec allows extension fields, so unknown keys are kept, not refused.
 *
 * These checks replaced valibot: loading it, building its schemas and the first, JIT-cold parse
 * took 10–14 ms of every runtime process, and containerd starts the runtime 4–6 times per
 * container. The output is what valibot produced, down to the key order of each object.
 */
import { PROPAGATION_NAMES } from "./mount-options.ts";
import { NAMESPACE_TYPES } from "./namespaces.ts";
import { RLIMIT_NAMES } from "./rlimits.ts";
import type {
  DeviceType,
  IOPriorityClass,
  RootfsPropagation,
  SchedulerFlag,
  SchedulerPolicy,
  SeccompAction,
  SeccompArch,
  SeccompFlag,
  SeccompOperator,
  TimeOffsetClock,
} from "./types.ts";

// ---- closed sets --------------------------------------------------------------------------

export const SCHEDULER_POLICIES: readonly SchedulerPolicy[] = [
  "SCHED_OTHER",
  "SCHED_FIFO",
  "SCHED_RR",
  "SCHED_BATCH",
  "SCHED_ISO",
  "SCHED_IDLE",
  "SCHED_DEADLINE",
];

export const SCHEDULER_FLAGS: readonly SchedulerFlag[] = [
  "SCHED_FLAG_RESET_ON_FORK",
  "SCHED_FLAG_RECLAIM",
  "SCHED_FLAG_DL_OVERRUN",
  "SCHED_FLAG_KEEP_POLICY",
  "SCHED_FLAG_KEEP_PARAMS",
  "SCHED_FLAG_UTIL_CLAMP_MIN",
  "SCHED_FLAG_UTIL_CLAMP_MAX",
];

export const IOPRIO_CLASSES: readonly IOPriorityClass[] = ["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"];

export const DEVICE_TYPES: readonly DeviceType[] = ["c", "b", "u", "p"];

export const SECCOMP_ACTIONS: readonly SeccompAction[] = [
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
];

export const SECCOMP_OPERATORS: readonly SeccompOperator[] = [
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
];

export const SECCOMP_FLAGS: readonly SeccompFlag[] = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];

export const SECCOMP_ARCHES: readonly SeccompArch[] = [
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_LOONGARCH64",
];

/** Only these clocks can be offset in a time namespace (/proc/<pid>/timens_offsets). */
export const TIME_CLOCKS: readonly TimeOffsetClock[] = ["monotonic", "boottime"];

@@REST@@
