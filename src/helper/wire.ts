/**
 * The contract between husk and the native helper, written once: op codes, field names and
 * kinds, message types and the small enums both sides use. native/wire.h is generated from
 * this file (`npm run gen-wire`, see wire-header.ts) and a unit test checks the committed
 * header against it, so the TypeScript and C halves cannot drift apart.
 *
 * Field kinds: i int (i64) · s string (UTF-8, no NUL) · b bytes · l NUL-terminated string
 * list · u u32 array. Codes are the wire format: append new ops, never renumber.
 */
import type { Op } from "../plan/ops.ts";

export type FieldKind = "i" | "s" | "b" | "l" | "u";

type FieldsOf<O> = { [F in Exclude<keyof O, "op">]: FieldKind };

/** Per op: its code and its fields in wire order (the object's key order is the order). */
type WireTable = { [K in Op["op"]]: { code: number; fields: FieldsOf<Extract<Op, { op: K }>> } };

export const WIRE: WireTable = {
  setns: { code: 1, fields: { path: "s", nstype: "i" } },
  unshare: { code: 2, fields: { flags: "i" } },
  clone: { code: 3, fields: { flags: "i", mode: "i" } },
  waitContinue: { code: 4, fields: {} },
  writeFile: { code: 5, fields: { path: "s", where: "i", data: "b" } },
  sethostname: { code: 6, fields: { name: "s" } },
  setdomainname: { code: 7, fields: { name: "s" } },
  openRoot: { code: 8, fields: { path: "s" } },
  mount: {
    code: 9,
    fields: { source: "s", sourceWhere: "i", target: "s", targetWhere: "i", fstype: "s", flags: "i", data: "s" },
  },
  mkdirAll: { code: 10, fields: { path: "s", mode: "i" } },
  mkfile: { code: 11, fields: { path: "s", mode: "i" } },
  mknod: { code: 12, fields: { path: "s", mode: "i", dev: "i" } },
  symlink: { code: 13, fields: { target: "s", path: "s" } },
  chown: { code: 14, fields: { path: "s", uid: "i", gid: "i" } },
  pivotRoot: { code: 15, fields: {} },
  chrootMove: { code: 16, fields: {} },
  mask: { code: 17, fields: { path: "s" } },
  readonly: { code: 18, fields: { path: "s" } },
  setrlimit: { code: 19, fields: { resource: "i", soft: "i", hard: "i" } },
  setsid: { code: 20, fields: {} },
  joinKeyring: { code: 21, fields: { name: "s" } },
  prctl: { code: 22, fields: { option: "i", arg: "i" } },
  setgroups: { code: 23, fields: { gids: "u" } },
  setresgid: { code: 24, fields: { gid: "i" } },
  setresuid: { code: 25, fields: { uid: "i" } },
  capBounding: { code: 26, fields: { keep: "i" } },
  capset: { code: 27, fields: { effective: "i", permitted: "i", inheritable: "i" } },
  capAmbient: { code: 28, fields: { raise: "i" } },
  umask: { code: 29, fields: { mask: "i" } },
  chdir: { code: 30, fields: { path: "s", optional: "i" } },
  closeFrom: { code: 31, fields: { first: "i" } },
  seccomp: { code: 32, fields: { filter: "b", flags: "i" } },
  openExecFifo: { code: 33, fields: { path: "s" } },
  waitStart: { code: 34, fields: {} },
  consoleConnect: { code: 35, fields: { path: "s" } },
  console: { code: 36, fields: { rows: "i", cols: "i", uid: "i", gid: "i" } },
  exec: { code: 37, fields: { argv: "l", env: "l" } },
  checkExec: { code: 38, fields: { argv: "l", env: "l" } },
  chroot: { code: 39, fields: { path: "s" } },
  openCgroup: { code: 40, fields: { tasks: "l", dir: "s" } },
  joinCgroup: { code: 41, fields: {} },
  openNs: { code: 42, fields: { path: "s", nstype: "i" } },
  joinOpenedNs: { code: 43, fields: {} },
  runHook: { code: 44, fields: { path: "s", args: "l", env: "l", timeout: "i", state: "l" } },
  deviceFilter: { code: 45, fields: { dir: "s", program: "b" } },
  listenerConnect: { code: 46, fields: { path: "s" } },
  sendListener: { code: 47, fields: { state: "l" } },
  personality: { code: 48, fields: { persona: "i" } },
  schedSetattr: {
    code: 49,
    fields: { policy: "i", flags: "i", nice: "i", priority: "i", runtime: "i", deadline: "i", period: "i" },
  },
  ioprioSet: { code: 50, fields: { value: "i" } },
  setAffinity: { code: 51, fields: { cpus: "u" } },
  idmapMount: { code: 52, fields: { slot: "i", source: "s", recursion: "i", uidMap: "u", gidMap: "u" } },
  attachMount: { code: 53, fields: { slot: "i", target: "s" } },
  tmpfs: { code: 54, fields: { target: "s", flags: "i", data: "s", source: "s", copyUp: "i", inheritMode: "i" } },
  mountSetattr: { code: 55, fields: { target: "s", attrSet: "i", attrClr: "i" } },
  mkfifo: { code: 56, fields: { path: "s", mode: "i", uid: "i", gid: "i" } },
  init: { code: 57, fields: {} },
  consoleProxy: { code: 58, fields: {} },
  ownerLifeline: { code: 59, fields: {} },
  // 60–69: image layers (src/image).
  setxattr: { code: 60, fields: { path: "s", name: "s", value: "b" } },
  // 70–79: networking (src/network)
  netlink: { code: 70, fields: { ns: "s", messages: "b" } },
  umount: { code: 71, fields: { path: "s", flags: "i" } },
  // 80–89: the engine (src/engine): the monitor of a detached container (native/monitor.c).
  monitor: { code: 80, fields: { log: "s", exitFile: "s", cleanup: "l", env: "l" } },
  // 90–99: more of the container's setup (1–59 are taken).
  refuseLink: { code: 90, fields: { path: "s" } },
  openTree: { code: 91, fields: { slot: "i", source: "s", recursive: "i" } },
  detachKeys: { code: 92, fields: { keys: "b", log: "s", exitFile: "s", cleanup: "l", env: "l" } },
  attach: { code: 93, fields: { socket: "s", stdin: "i" } },
  parentNetlink: { code: 94, fields: {} },
  waitParentNetlink: { code: 95, fields: {} },
  fsMount: { code: 96, fields: { slot: "i", fstype: "s", source: "s", data: "s" } },
  precreate: { code: 97, fields: { slot: "i", path: "s", dir: "i" } },
  mountRootfs: { code: 98, fields: { slot: "i", target: "s", fstype: "s", source: "s", data: "s" } },
  cgroupRemoveOnExit: { code: 99, fields: { dirs: "l" } },
  cgroupMkdirs: { code: 101, fields: { dirs: "l", parents: "i", frozen: "l", delegate: "l", cpuset: "s" } },
  cgroupWrite: { code: 102, fields: { path: "s", values: "l" } },
};

export const PLAN_MAGIC = "HUSKPLAN";
export const PLAN_VERSION = 1;
/** The largest plan the helper reads. */
export const PLAN_MAX = 64 * 1024 * 1024;

/** A field's first byte on the wire. */
export enum WireKind {
  Int = 1,
  Bytes = 2,
}

/** Sync-channel message types (drawn in sync-protocol.ts). Every message is MSG_SIZE bytes. */
export enum Msg {
  /** helper → husk: a = child pid as seen from husk's pid namespace. */
  Pid = 1,
  /** helper → husk: a = step; the child waits for MSG_CONTINUE. */
  Waiting = 2,
  /** helper → husk: a = step; the child is about to block on exec.fifo until `start`. */
  Created = 3,
  /** helper → husk: a = step, b = errno (positive), c = a failed hook's exit status (negative: signal). */
  Error = 4,
  /** helper → husk: the child died during setup without MSG_ERROR; a = 128+N for signal N, else its exit status. */
  Died = 5,
  /** helper → husk: the child has exec'd; with ownerLifeline the channel stays open (Wait mode) as husk's lifeline. */
  Running = 6,
  /**
   * helper → husk: a --netlink plan ran to its end (a = its length); husk need not wait for the
   * exit. Also the parent's netlink plan (parentNetlink) ran to its end.
   */
  Done = 7,
  /** helper → husk: the detach keys were typed; the helper's parent is now the container's monitor. */
  Detached = 8,
  /**
   * helper → husk: with ownerLifeline, the container's init was reaped; a = its status (128+N
   * for signal N); b = 1 when every cgroupRemoveOnExit directory is gone (removed, or not
   * there), else 0. The helper exits with it next: husk need not wait for that exit to know.
   */
  Exited = 9,
  /**
   * helper → husk: after MSG_PID, the child's start time (field 22 of /proc/<pid>/stat, clock
   * ticks since boot): a = its low 32 bits, b = its high ones. Before MSG_RUNNING; not said if
   * it could not be read.
   */
  Started = 10,
  /** husk → helper: go on with the plan. */
  Continue = 100,
}

export const MSG_SIZE = 16;

/** How a path field is resolved (plan ops' `where`). */
export enum Where {
  /** An absolute path resolved in the helper's current mount namespace, as is. */
  Host = 0,
  /** A path inside the container's root (openat2 RESOLVE_IN_ROOT before the root switch). */
  InRoot = 1,
}

/** What the parent side of `clone` does once the child exists. */
export enum CloneMode {
  /** Wait for the child, exit with its status (128+N if killed by signal N). Used by `run`. */
  Wait = 0,
  /** Exit once the child is set up, so it is reparented to the caller's subreaper. Used by `create`/`exec -d`. */
  Detach = 1,
  /**
   * After a `monitor` op: the child's stdout/stderr are the monitor's pipes; once the child is
   * set up, the parent stays as its monitor (native/monitor.c). Used by the engine's detached containers.
   */
  Monitor = 2,
}
