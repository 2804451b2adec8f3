/**
 * The sync channel between husk (TypeScript) and the native helper: one SOCK_STREAM unix
 * socket, handed to the helper as the fd number in its argv[1]. Drawn once here and once at
 * the top of native/helper.c; keep them in step. Message types are wire.ts's Msg.
 *
 *   husk (TS)                          helper parent (H)             container child (C)
 *   ---------                          -----------------             -------------------
 *   spawn helper <syncfd>
 *   [u32 len][plan] ─────────────────▶ read plan
 *                                      ops before `clone` (open cgroup files, setns,
 *                                      unshare, timens offsets)
 *                                      clone ───────────────────────▶ (born here, in its v2
 *                                                                      cgroup; joins v1 itself)
 *   ◀──────────────── MSG_PID(pid) ──  send child pid, wait for C's
 *                                      word on the linger pipe ('S' set
 *                                      up, 'F' failed, EOF at exec/death)
 *   ◀──────────── MSG_WAITING(step) ── parentNetlink's step: the parent
 *   [u32 len][netlink plan] ─────────▶ reads the plan (the gate opened
 *                                      first without a user namespace),
 *                                      runs it from the host's namespaces
 *   ◀──────────────── MSG_DONE(n) ──  then 'N' to C (waitParentNetlink),
 *                                      or MSG_ERROR(step, errno, op<<16|msg)
 *   ◀─────── MSG_STARTED(lo, hi) ──  C's start time (/proc/<pid>/stat's
 *                                      field 22), read beside C's setup
 *   ◀──────────── MSG_DIED(status) ──  C died without MSG_ERROR (seccomp
 *                                      kill, OOM): how; close channel
 *                                      Wait: waitpid(C), exit with its status
 *                                      Detach: exit (0 once C is set up)
 *   ◀──────────────────────────────────────────── MSG_WAITING(step) ── at `waitContinue`
 *   write uid_map/gid_map (new user
 *   namespace), run prestart and
 *   createRuntime hooks
 *   MSG_CONTINUE ───────────────────────────────────────────────────▶ the rest of the plan
 *   ◀──────────────────────────────────────────── MSG_CREATED(step) ── at `waitStart` (create only),
 *                                                                      then blocks on exec.fifo
 *   ◀──────────────────────────────────────────── MSG_ERROR(step, errno, status) on failure, exit 1
 *   ◀──────────────── MSG_DONE(n) ──  (--netlink) the whole plan ran; exit 0
 *   EOF ◀──────────────────────────────────────────────────────────── execve succeeded (channel is CLOEXEC)
 *   ◀──────────────── MSG_RUNNING ──  instead of that EOF, with ownerLifeline
 *   keep the channel open while        (Wait mode): C has exec'd; fds 0–2 to
 *   the container should live          /dev/null; poll the channel and C; EOF
 *                                      on it → SIGKILL C
 *                                      (also with detachKeys, beside a proxied terminal)
 *   ◀──── MSG_EXITED(status, gone) ── C reaped (without a proxied terminal);
 *   the container's status; gone: 1    then exit with it
 *   once every cgroupRemoveOnExit
 *   directory is removed
 *   ◀─────────────── MSG_DETACHED ──  detachKeys typed: H is now C's monitor
 *   stop waiting for H                 (native/monitor.c); closes the channel
 *
 * Every message is 16 bytes: u32 type · i32 a · i32 b · i32 c, little endian.
 * A step is the 0-based index of the op in the plan. If the channel reaches EOF while the helper
 * waits for MSG_CONTINUE, the helper exits 1 (husk died; nothing may run half set up); so it does,
 * silently, at EOF instead of a plan (husk started it early and then had nothing to run).
 */

import { MSG_SIZE, Msg } from "./wire.ts";

export { MSG_SIZE, Msg };

export interface Message {
  type: Msg;
  a: number;
  b: number;
  c: number;
}

export function encodeMessage(type: Msg, a = 0, b = 0, c = 0): Buffer {
  const buf = Buffer.alloc(MSG_SIZE);
  buf.writeUInt32LE(type, 0);
  buf.writeInt32LE(a, 4);
  buf.writeInt32LE(b, 8);
  buf.writeInt32LE(c, 12);
  return buf;
}

export function decodeMessage(buf: Buffer): Message {
  return { type: buf.readUInt32LE(0), a: buf.readInt32LE(4), b: buf.readInt32LE(8), c: buf.readInt32LE(12) };
}
