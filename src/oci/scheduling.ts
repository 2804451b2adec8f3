/**
 * Kernel numbers for the process attributes the spec names: scheduling policy and flags
 * (sched_setattr, linux/sched.h), I/O priority classes (ioprio_set, linux/ioprio.h), and
 * personality domains (sys/personality.h). Generic Linux values.
 */
import type { IOPriorityClass, LinuxPersonality, SchedulerFlag, SchedulerPolicy } from "./types.ts";

export const SCHED_POLICY: Readonly<Record<SchedulerPolicy, number>> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

export const SCHED_FLAG: Readonly<Record<SchedulerFlag, number>> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

export const IOPRIO_CLASS: Readonly<Record<IOPriorityClass, number>> = {
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
};

/** ioprio_set's value: the class in the top bits, the level (0 highest … 7) below. */
export const ioprioValue = (cls: IOPriorityClass, priority: number): number => (IOPRIO_CLASS[cls] << 13) | priority;

export const PERSONALITY: Readonly<Record<LinuxPersonality["domain"], number>> = {
  LINUX: 0x0000,
  LINUX32: 0x0008,
};
