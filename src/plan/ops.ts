/**
 * The plan: the closed set of operations the native helper (native/, dispatch in helper.c) can execute.
 *
 * TypeScript decides everything — which namespaces, in which order, which mounts with which
 * flags — and compiles it into a list of these operations. The helper executes them one by
 * one with raw syscalls and has no policy of its own. Each op keeps, on the TypeScript side
 * only, a human description (`what`) and the spec path it came from (`origin`), so a failure
 * reported by the helper as (step index, errno) becomes a one-line error naming both.
 *
 * Path conventions, fixed by `where` fields:
 *   - Where.Host:   an absolute path resolved in the helper's current mount namespace, as is.
 *   - Where.InRoot: a path inside the container's root (the directory opened by `openRoot`).
 *                   Before `pivotRoot`/`chrootMove` the helper resolves it with
 *                   openat2(rootfd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so neither a
 *                   symlink nor `..` in the rootfs can reach the host; after the switch the
 *                   container's root *is* "/", and plain path resolution is already confined.
 *
 * The numeric codes, field order and kinds of each op are the wire format, listed once in
 * src/helper/wire.ts (native/wire.h is generated from it).
 */

import { CloneMode, Where } from "../helper/wire.ts";

export { CloneMode, Where };

export type Op =
  /** setns(open(path), nstype). */
  | { op: "setns"; path: string; nstype: number }
  /** unshare(flags). */
  | { op: "unshare"; flags: number }
  /**
   * clone(flags | SIGCHLD). The parent sends MSG_PID(child), closes the sync channel and
   * waits or detaches per `mode`; the child executes the rest of the plan.
   */
  | { op: "clone"; flags: number; mode: CloneMode }
  /**
   * Open the log (append), make the stdout/stderr pipes and leave husk (fork; the parent exits,
   * the child goes on in a session of its own); the next clone must be in CloneMode.Monitor.
   * When the container exits: its exit status to exitFile, then execve(cleanup, env) unless empty.
   */
  | { op: "monitor"; log: string; exitFile: string; cleanup: string[]; env: string[] }
  /** A proxied terminal: these keys typed by the caller turn the helper's parent into the monitor. */
  | { op: "detachKeys"; keys: Uint8Array; log: string; exitFile: string; cleanup: string[]; env: string[] }
  /**
   * After monitor or detachKeys, before clone: the monitor listens on `socket` for clients
   * (`husk attach`); with stdin, what they type goes to the container (a pipe for its stdin is
   * made here when it has no terminal).
   */
  | { op: "attach"; socket: string; stdin: number }
  /**
   * Before clone, in the helper's parent: once the child exists (MSG_PID), the parent sends
   * MSG_WAITING(this step) and reads a plan of netlink ops from the channel (husk's reply),
   * before the child runs on; it runs that plan from the host's namespaces beside the child's
   * setup (the container's network: the parent can reach both namespaces, and no second helper
   * is spawned), then says MSG_DONE, or MSG_ERROR(this step, errno, sub-step << 16 | message).
   */
  | { op: "parentNetlink" }
  /** In the child: wait until the parent ran its netlink plan (parentNetlink); exit quietly if it failed. */
  | { op: "waitParentNetlink" }
  /** Send MSG_WAITING(step) and block until MSG_CONTINUE (id maps and hooks are done by TS). */
  | { op: "waitContinue" }
  /** open(path, O_WRONLY) and write data in one write(2). */
  | { op: "writeFile"; path: string; where: Where; data: string }
  | { op: "sethostname"; name: string }
  | { op: "setdomainname"; name: string }
  /** open(path, O_PATH|O_DIRECTORY) and keep it as the root for Where.InRoot paths. */
  | { op: "openRoot"; path: string }
  /**
   * mount(source, target, fstype, flags, data). Empty source/fstype/data mean NULL.
   * `sourceWhere` applies to bind sources. A bind remount (MS_REMOUNT|MS_BIND) that fails
   * with EPERM is retried once with the flags the kernel has locked on that mount
   * (nosuid, nodev, noexec, the atime flags) added, as statvfs reports them.
   */
  | {
      op: "mount";
      source: string;
      sourceWhere: Where;
      target: string;
      targetWhere: Where;
      fstype: string;
      flags: number;
      data: string;
    }
  /** mkdir -p inside the root, each component created with mode if missing. */
  | { op: "mkdirAll"; path: string; mode: number }
  /** ENOTDIR if path (inside the root, last component not followed) exists and is not a directory. */
  | { op: "refuseLink"; path: string }
  /** Create an empty regular file if nothing exists at path (parents as mkdirAll 0755). */
  | { op: "mkfile"; path: string; mode: number }
  /** mknod(path, mode, dev) inside the root; EEXIST is an error. */
  | { op: "mknod"; path: string; mode: number; dev: number }
  /** symlink(target, path) inside the root; an existing entry at path is left alone. */
  | { op: "symlink"; target: string; path: string }
  /** lchown(path) inside the root. */
  | { op: "chown"; path: string; uid: number; gid: number }
  /** fchdir(root); pivot_root(".", "."); umount2(".", MNT_DETACH); chdir("/"). */
  | { op: "pivotRoot" }
  /** fchdir(root); mount(".", "/", MS_MOVE); chroot("."); chdir("/"). For roots pivot_root refuses (ramfs). */
  | { op: "chrootMove" }
  /** Mask path: a directory gets a read-only empty tmpfs, anything else /dev/null bound over it. Missing is fine. */
  | { op: "mask"; path: string }
  /** Make path read-only: bind it onto itself, then bind-remount it MS_RDONLY. Missing is fine. */
  | { op: "readonly"; path: string }
  /** setrlimit(resource, {soft, hard}); -1 means RLIM_INFINITY. */
  | { op: "setrlimit"; resource: number; soft: number; hard: number }
  | { op: "setsid" }
  /** keyctl(KEYCTL_JOIN_SESSION_KEYRING, name). */
  | { op: "joinKeyring"; name: string }
  /** prctl(option, arg). */
  | { op: "prctl"; option: number; arg: number }
  | { op: "setgroups"; gids: number[] }
  | { op: "setresgid"; gid: number }
  | { op: "setresuid"; uid: number }
  /** Drop every capability not in `keep` from the bounding set. */
  | { op: "capBounding"; keep: bigint }
  /** capset(effective, permitted, inheritable). */
  | { op: "capset"; effective: bigint; permitted: bigint; inheritable: bigint }
  /** Clear the ambient set, then raise each capability in `raise`. */
  | { op: "capAmbient"; raise: bigint }
  | { op: "umask"; mask: number }
  /**
   * chdir(path); with `optional`, EACCES/EPERM are ignored (a later chdir will retry as the final
   * user). Without it, nothing is done when an optional chdir already got there (runc's order).
   */
  | { op: "chdir"; path: string; optional: boolean }
  /** close_range(first, ~0, CLOSE_RANGE_CLOEXEC): nothing at or above `first` survives exec. */
  | { op: "closeFrom"; first: number }
  /**
   * seccomp(SECCOMP_SET_MODE_FILTER, flags, prog); `filter` is struct sock_filter[] bytes.
   * With SECCOMP_FILTER_FLAG_NEW_LISTENER the listener fd is kept for `sendListener`.
   */
  | { op: "seccomp"; filter: Uint8Array; flags: number }
  /**
   * Open exec.fifo's read end (O_NONBLOCK; never its directory: no host directory fd may reach
   * the init), kept for waitStart. Before the root switch, while the host path resolves.
   */
  | { op: "openExecFifo"; path: string }
  /**
   * The create/start barrier (runc's exec fifo, read the other way round): send
   * MSG_CREATED(step), then poll the fifo's read end until `start` has opened it for writing
   * and written its byte (or come and gone), read it and close.
   */
  | { op: "waitStart" }
  /** connect(2) to the unix socket at path (on the host side, before the root switch) and keep it. */
  | { op: "consoleConnect"; path: string }
  /**
   * Open a pty pair from /dev/ptmx, size it, send the master over the console socket with
   * SCM_RIGHTS (message body: "/dev/ptmx"), make the slave the controlling terminal
   * (TIOCSCTTY) and stdin/stdout/stderr. The slave is given to uid and gid first (-1: as the
   * kernel made it), so the process can use its own terminal; a refusal is ignored, as runc does.
   */
  | { op: "console"; rows: number; cols: number; uid: number; gid: number }
  /** execve(argv[0] searched in env's PATH when it has no "/", argv, env). */
  | { op: "exec"; argv: string[]; env: string[] }
  /** Find the program exec would run and check it is an executable regular file (else EACCES). */
  | { op: "checkExec"; argv: string[]; env: string[] }
  /** chroot(path); chdir("/"). For a container without a mount namespace: no mounts, only a root. */
  | { op: "chroot"; path: string }
  /**
   * In the helper's parent, before any setns: open each v1 `tasks` file and the v2 cgroup
   * directory (empty: none) with its cgroup.procs. `clone` then uses clone3(CLONE_INTO_CGROUP)
   * on the directory, falling back to plain clone.
   */
  | { op: "openCgroup"; tasks: string[]; dir: string }
  /** In the child: write "0" to each `tasks` file, and to cgroup.procs unless clone3 placed it. */
  | { op: "joinCgroup" }
  /** open(path) now (its path resolves only here), setns(fd, nstype) at `joinOpenedNs`. */
  | { op: "openNs"; path: string; nstype: number }
  | { op: "joinOpenedNs" }
  /**
   * fork, execve(path, args, env) with the state on stdin: the parts of `state` joined by this
   * process' pid as husk sees it (which the helper's parent hands the child at clone). Wait,
   * killing it after `timeout` seconds (0: never). Fails with ETIMEDOUT, or ECHILD with the
   * exit status (negative: signal) as the detail.
   */
  | { op: "runHook"; path: string; args: string[]; env: string[]; timeout: number; state: string[] }
  /**
   * Load `program` (eBPF instructions, BPF_PROG_TYPE_CGROUP_DEVICE) and attach it to the
   * cgroup2 directory `dir` with BPF_F_ALLOW_MULTI, then detach the programs attached before.
   */
  | { op: "deviceFilter"; dir: string; program: Uint8Array }
  /** connect(2) to the seccomp agent's unix socket (host side, before the root switch) and keep it. */
  | { op: "listenerConnect"; path: string }
  /**
   * After a `seccomp` load with SECCOMP_FILTER_FLAG_NEW_LISTENER: send the container process
   * state (`state` joined by the pid, as for runHook) with the listener fd (SCM_RIGHTS), close both.
   */
  | { op: "sendListener"; state: string[] }
  /** personality(persona). */
  | { op: "personality"; persona: number }
  /** sched_setattr(0, {policy, flags, nice, priority, runtime, deadline, period}, 0). */
  | {
      op: "schedSetattr";
      policy: number;
      flags: number;
      nice: number;
      priority: number;
      runtime: number;
      deadline: number;
      period: number;
    }
  /** ioprio_set(IOPRIO_WHO_PROCESS, 0, value). */
  | { op: "ioprioSet"; value: number }
  /** sched_setaffinity(0, the CPUs listed). */
  | { op: "setAffinity"; cpus: number[] }
  /**
   * In the helper's parent before clone: open_tree(source, OPEN_TREE_CLONE) and
   * mount_setattr(MOUNT_ATTR_IDMAP) through a user namespace with these maps (flat
   * containerID, hostID, size triples); the detached mount waits in `slot`. `recursion`:
   * 1 copies the submounts too (rbind), 2 id-maps them too (ridmap).
   */
  | { op: "idmapMount"; slot: number; source: string; recursion: number; uidMap: number[]; gidMap: number[] }
  /**
   * In the helper's parent before clone: open_tree(source, OPEN_TREE_CLONE), a detached bind of
   * source (with its submounts if `recursive`) that waits in `slot` for `attachMount`. For a
   * container in a new user namespace, whose root may not reach the source on the host (a 0700
   * bundle), as runc opens mount sources before it enters the namespace.
   */
  | { op: "openTree"; slot: number; source: string; recursive: boolean }
  /**
   * In the helper's parent before clone: the rootfs filesystem made detached (fsopen(fstype),
   * fsconfig of `source` and of each comma-separated option in `data`, fsmount), waiting in
   * `slot` for mountRootfs. The engine's overlay is made so: what making it costs (overlayfs
   * creates its work directory) is then the caller's, as a daemon's mount is, not charged to
   * the container's memory cgroup, where a cached page would keep the removed cgroup alive.
   * Best effort: where the kernel will not take the options so (fsconfig takes at most 255
   * bytes a value; "lowerdir+" needs Linux 6.8), the slot stays empty and the child mounts.
   */
  | { op: "fsMount"; slot: number; fstype: string; source: string; data: string }
  /**
   * In the helper's parent before clone: a mount point (a directory, or with `dir` false an
   * empty file, with the modes mkdirAll and mkfile give) made ahead in the detached rootfs in
   * `slot`, so that it too is the caller's cost. Only through plain directories: at a symlink,
   * a "." or "..", an empty slot or any failure nothing more is done here, and the child's own
   * step makes the mount point as it always does.
   */
  | { op: "precreate"; slot: number; path: string; dir: boolean }
  /** In the child: the rootfs from `slot` moved onto `target` (a host path), or if there is none, mount(2) of these. */
  | { op: "mountRootfs"; slot: number; target: string; fstype: string; source: string; data: string }
  /** In the child: move_mount the detached mount from `slot` onto `target` inside the root. */
  | { op: "attachMount"; slot: number; target: string }
  /**
   * A tmpfs made detached (fsopen/fsconfig with `data`, fsmount with `flags`) and moved onto
   * `target` inside the root (created 0755 if missing). `copyUp` (runc's tmpcopyup) first copies
   * what the root has there into it; `inheritMode` gives its root the mode of the directory it
   * covers, if the image had one.
   */
  | {
      op: "tmpfs";
      target: string;
      flags: number;
      data: string;
      source: string;
      copyUp: boolean;
      inheritMode: boolean;
    }
  /** mount_setattr(target, AT_RECURSIVE, {attr_set, attr_clr}): "rro", "rnosuid" … inside the root. */
  | { op: "mountSetattr"; target: string; attrSet: number; attrClr: number }
  /**
   * In the helper's parent before clone: a socketpair in place of --console-socket. The child's
   * `console` sends the pty master over it; the parent (Wait mode) proxies its own stdin and
   * stdout to it (raw mode, window size) until the child ends: runc's foreground `run -t`.
   */
  | { op: "consoleProxy" }
  /**
   * Before a Wait-mode clone: once the child has exec'd the helper's parent says MSG_RUNNING and
   * keeps the sync channel open instead of closing it, watching it with the child; EOF on it
   * (husk closed its end, or husk's process died and the kernel did) SIGKILLs the child. A
   * library caller's foreground container does not outlive the caller.
   */
  | { op: "ownerLifeline" }
  /**
   * With ownerLifeline, before a Wait-mode clone: once the helper's parent has reaped the child,
   * it rmdirs these directories (the container's own cgroup, leaves only), and MSG_EXITED says
   * whether all are gone, so that husk's thread need not look for them. One that refuses (a
   * process left behind, a sub-cgroup) stays for husk's removal, which kills and retries.
   */
  | { op: "cgroupRemoveOnExit"; dirs: string[] }
  /**
   * In the helper's parent, before the cgroup is opened: mkdir (0755) each of the container's
   * own cgroup directories, which must not exist yet; the detail of a refusal is the index of
   * the directory. The engine's fresh cgroups (Cgroup.planLeaves): its kernel work off husk's
   * thread. `parents` (husk's default parent): a parent gone since husk looked (another
   * process removed it, empty) is made again first, as the runtime makes it (a v1 cpuset's cpus
   * and mems and clone_children, cgroup2's controllers handed down).
   *
   * First, `frozen`: parent directories where a new child would stop at once (a v1 freezer's
   * state, a cgroup2 freeze or an ancestor's) refuse the whole op with EBUSY, before any mkdir,
   * the detail then dirs.length + the index; `delegate`: cgroup2 parents that hand their
   * controllers down. After the mkdirs, `cpuset` (a v1 cpuset directory among dirs, or ""):
   * its cpus and mems, if empty, copied from its parent (detail dirs.length + frozen.length).
   */
  | {
      op: "cgroupMkdirs";
      dirs: string[];
      parents: boolean;
      frozen: string[];
      delegate: string[];
      cpuset: string;
    }
  /** After cgroupMkdirs: each value in a write(2) of its own to the cgroup file `path` (one open); the detail is the value's index. */
  | { op: "cgroupWrite"; path: string; values: string[] }
  /**
   * --init: fork; the child goes on (to exec), this process stays as the container's PID 1,
   * passing signals on to the child and reaping every child, and exits as the child does.
   */
  | { op: "init" }
  /** mknod(path, S_IFIFO) on the host, lchown(uid, gid) (-1: unchanged), then chmod(mode) (the umask would trim it). */
  | { op: "mkfifo"; path: string; mode: number; uid: number; gid: number }
  /**
   * Send NETLINK_ROUTE messages (src/network/netlink.ts builds them; whole nlmsghdr-framed
   * messages back to back) on a socket made in the network namespace at path `ns` ("" = the
   * helper's own), one at a time with NLM_F_ACK, each answered before the next goes. A refusal
   * fails the step with the kernel's errno and the message's index as the detail.
   */
  | { op: "netlink"; ns: string; messages: Uint8Array }
  /** umount2(path, flags): unpin a network namespace (MNT_DETACH). */
  | { op: "umount"; path: string; flags: number }
  /**
   * Set the extended attribute `name` to `value` (binary) on path inside the root, never
   * following a symlink in its last component (an lsetxattr confined to the root). Layer
   * extraction uses it for tar xattrs (security.capability …) and overlayfs' opaque marker.
   */
  | { op: "setxattr"; path: string; name: string; value: Uint8Array };

/** An op together with the TypeScript-side context that turns a helper failure into a message. */
export interface Step {
  /** What the step does, for error messages: `mount "proc" on "/proc"`. */
  what: string;
  /** Where in the spec it came from, if anywhere: `mounts[0]`, `process.rlimits[2]`. */
  origin?: string;
  /** Messages for particular errnos where the kernel's words would mislead (by errno name). */
  errors?: Record<string, string>;
  /** For an op made of parts that reports which part failed (netlink: one per message): what each does. */
  parts?: string[];
  op: Op;
}

export type Plan = Step[];
