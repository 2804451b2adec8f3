/**
 * Everything the plan compiler needs beyond the spec: facts about the host and the
 * invocation, gathered by the runtime (I/O) so that compilePlan itself stays pure.
 */
import type { CgroupJoin, DeviceFilter, LeavesPlan } from "../cgroups/cgroup.ts";
import type { LinuxSeccomp } from "../oci/types.ts";
import type { CompiledSeccomp } from "../seccomp/wanted.ts";

export type Mode = "run" | "create" | "exec";

/** How to give the container its cgroup filesystem for a spec mount of type "cgroup". */
export type CgroupMountSource =
  /** Pure v2 (or the container's unified hierarchy): mount cgroup2. */
  | { kind: "v2" }
  /**
   * v1 or hybrid: a tmpfs with one directory per hierarchy. With a new cgroup namespace each
   * hierarchy is mounted fresh (`cgroup` fs with its controllers as data); without one, the
   * container's own cgroup directory on the host is bind-mounted there.
   */
  | {
      kind: "v1";
      hierarchies: { name: string; hostPath: string; data: string; fstype: "cgroup" | "cgroup2" }[];
    };

/**
 * A fresh cgroup made by the helper's parent before it opens it (the runtime's planFreshCgroup):
 * the directories, then each file's values, one write each.
 */
export interface CgroupMake extends LeavesPlan {
  /** A parent another process removed since husk looked may be made again (husk's default parent only). */
  parents: boolean;
  /** Written once the directories are made: what set() writes there (Cgroup.planSet), device rules and limits. */
  writes: { path: string; values: string[]; origin: string }[];
}

/** What a container's native monitor is told (native/monitor.c): its log, exit file, cleanup, attach socket. */
export interface MonitorParams {
  log: string;
  exitFile: string;
  cleanup: string[];
  env: string[];
  /** A socket clients attach through (`husk attach`); stdin: they may write to the container's stdin. */
  attach?: { socket: string; stdin: boolean };
}

export interface HostFacts {
  /** The caller is root in the initial user namespace (rootless otherwise). */
  root: boolean;
  /** Host path → is it a directory? Used to create bind mount targets as dirs or files. */
  isDirectory: (hostPath: string) => boolean;
  /** Does the host path exist (e.g. /proc/kcore)? */
  exists: (hostPath: string) => boolean;
  /**
   * The caller may set supplementary groups: root of the user namespace it runs in, whose
   * setgroups is not "deny" (runc's test). Rootless podman's namespace allows it, so a
   * container that makes no user namespace of its own gets its groups there. Default: root.
   */
  setgroups?: boolean;
  /** SELinux is enabled on the host (labels would have to be applied). */
  selinux?: boolean;
  /** The mount point of the mount that holds hostPath (the longest mount point prefix). */
  mountPointOf?: (hostPath: string) => string;
}

export interface PlanContext {
  id: string;
  mode: Mode;
  /** Absolute bundle directory; relative paths in the spec are relative to it. */
  bundle: string;
  /** Absolute path of the create/start barrier, exec.fifo in the state directory (create mode). */
  execFifo: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  /** --init: the helper stays as the container's PID 1, a minimal init, with the program its child. */
  init?: boolean;
  /** Number of extra fds (3 … 3+N-1) passed to the container. */
  preserveFds: number;
  /** Unix socket that receives the pty master, when process.terminal is set. */
  consoleSocket?: string;
  cgroupMount: CgroupMountSource;
  /**
   * Mount this filesystem on root.path in the container's new mount namespace, instead of
   * binding root.path on itself (the engine's overlayfs over image layers): the mount lives
   * and dies with the container's mount namespace, so nothing is left on the host.
   */
  rootfsMount?: { fstype: string; source: string; data: string };
  /** Kill the container if husk's process dies while it runs (run mode; the ownerLifeline op). */
  ownerLifeline?: boolean;
  /**
   * run mode without --keep: the container's own cgroup directories, which the helper's parent
   * removes once it has reaped the container (the cgroupRemoveOnExit op), off husk's thread.
   * With ownerLifeline only: its MSG_EXITED says whether they are gone.
   */
  cgroupRemoveOnExit?: string[];
  /** The container's cgroup to make first, in the helper's parent (see CgroupMake). */
  cgroupMake?: CgroupMake;
  /**
   * The netlink message that sets lo up (network/netlink.ts builds it; the plan stays free of
   * I/O and of the network module): sent by the container process itself into its new network
   * namespace once its namespaces are made. What the engine's --network none needs, without
   * stopping the process for husk.
   */
  loopbackUp?: Uint8Array;
  /**
   * Stop the container process so the caller can act (onWaiting at hooksStep): where prestart
   * hooks run, or without hooks, after its root switch and before its credentials.
   */
  pauseForCaller?: boolean;
  /**
   * The helper's parent runs a netlink plan of the caller's once the child exists (parentNetlink,
   * before clone); the child waits for it (waitParentNetlink) just before its pause for the
   * caller, or where that pause would be.
   */
  parentNetlink?: boolean;
  /** A native monitor as the parent of the container process (detached engine containers; native/monitor.c). */
  monitor?: MonitorParams;
  /**
   * A proxied terminal (run mode): these keys, typed by the caller, make the helper's parent
   * the container's monitor with these parameters (`run -it`'s ^P^Q; native/monitor.c).
   */
  detachKeys?: { keys: Uint8Array; monitor: MonitorParams };
  /** The files the container process joins its cgroup through (none: rootless). */
  cgroupJoin?: CgroupJoin;
  /** cgroup v2's device rules as an eBPF program, attached before clone. */
  deviceFilter?: DeviceFilter;
  /**
   * compileSeccomp (src/seccomp), or the runtime's cached stand-in for it. Passed in, so that
   * compiling a plan does not load the seccomp compiler when the spec has no filter.
   */
  compileSeccomp: (seccomp: LinuxSeccomp) => CompiledSeccomp;
  host: HostFacts;
}
