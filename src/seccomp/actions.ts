/**
 * OCI seccomp actions and flags → the kernel's SECCOMP_RET_* return values and
 * SECCOMP_FILTER_FLAG_* bits (linux/seccomp.h), with runc's defaults: SCMP_ACT_KILL is
 * KILL_THREAD, and SCMP_ACT_ERRNO / SCMP_ACT_TRACE without errnoRet carry EPERM.
 */
import type { SeccompAction, SeccompFlag } from "../oci/types.ts";

export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

/** SECCOMP_RET_DATA: errno for ERRNO, the ptrace message for TRACE. */
export const SECCOMP_RET_DATA = 0xffff;

export const EPERM = 1;
export const ENOSYS = 38;

const BASE: Record<SeccompAction, number> = {
  SCMP_ACT_KILL: SECCOMP_RET.KILL_THREAD,
  SCMP_ACT_KILL_THREAD: SECCOMP_RET.KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: SECCOMP_RET.KILL_PROCESS,
  SCMP_ACT_TRAP: SECCOMP_RET.TRAP,
  SCMP_ACT_ERRNO: SECCOMP_RET.ERRNO,
  SCMP_ACT_TRACE: SECCOMP_RET.TRACE,
  SCMP_ACT_ALLOW: SECCOMP_RET.ALLOW,
  SCMP_ACT_LOG: SECCOMP_RET.LOG,
  SCMP_ACT_NOTIFY: SECCOMP_RET.USER_NOTIF,
};

export function isKnownAction(action: string): action is SeccompAction {
  return Object.hasOwn(BASE, action);
}

/** Whether the action carries errnoRet in SECCOMP_RET_DATA. */
export function takesErrno(action: SeccompAction): boolean {
  return action === "SCMP_ACT_ERRNO" || action === "SCMP_ACT_TRACE";
}

/** The filter's return value; `errnoRet` must already be checked to fit SECCOMP_RET_DATA. */
export function actionValue(action: SeccompAction, errnoRet?: number): number {
  const data = takesErrno(action) ? (errnoRet ?? EPERM) : 0;
  return (BASE[action] | data) >>> 0;
}

export const FILTER_FLAGS: Readonly<Record<SeccompFlag, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};

/** SECCOMP_FILTER_FLAG_NEW_LISTENER: seccomp() returns the fd an agent reads notifications from. */
export const NEW_LISTENER = 8;

/** Only meaningful with SECCOMP_FILTER_FLAG_NEW_LISTENER, which husk sets when SCMP_ACT_NOTIFY is used. */
export const LISTENER_ONLY_FLAGS: readonly SeccompFlag[] = ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"];

/** Readable form of a return value, for warnings and tests: `ERRNO(13)`, `ALLOW`. */
export function describeRet(k: number): string {
  const action = (k & 0xffff0000) >>> 0;
  const data = k & SECCOMP_RET_DATA;
  const name = (Object.keys(SECCOMP_RET) as (keyof typeof SECCOMP_RET)[]).find((n) => SECCOMP_RET[n] === action);
  if (!name) return `0x${(k >>> 0).toString(16)}`;
  return name === "ERRNO" || name === "TRACE" ? `${name}(${data})` : name;
}
