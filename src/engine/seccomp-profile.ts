/**
 * husk's default seccomp profile: in effect docker's (moby's profiles/seccomp/default.json),
 * written as data in docker's own format so one converter (seccomp-docker.ts) serves it and the
 * profiles users give. What it does:
 *
 *   - every syscall not named fails with EPERM;
 *   - an allowlist of what ordinary programs use (ALLOWED below);
 *   - syscalls that only make sense with a capability are allowed only when the container
 *     holds it (CAP_SYS_ADMIN: mount, unshare, setns, clone with namespace flags …;
 *     CAP_SYS_PTRACE: ptrace, process_vm_*; CAP_SYS_MODULE, CAP_SYS_TIME, CAP_SYS_BOOT …);
 *   - argument conditions: personality only with the harmless personas, socket not for
 *     AF_ALG (38) or AF_VSOCK (40), clone only without namespace flags (unless CAP_SYS_ADMIN),
 *     and clone3 — whose flags sit in memory a filter cannot read — fails with ENOSYS, so
 *     libc falls back to clone, which the filter can check;
 *   - x86_64 with its i386 and x32 ABIs, as docker does on amd64.
 *
 * Only the engine loads this (the runtime never does): it is data for `husk run`.
 */
import type { LinuxSeccomp } from "../oci/types.ts";
import { kernelRelease } from "../runtime/host-facts.ts";
import { type DockerSeccompProfile, type DockerSyscall, dockerProfileToOci } from "./seccomp-docker.ts";

/** Allowed for everyone: files, memory, signals, time, sockets, ids, IPC … */
const ALLOWED = `
  _llseek _newselect
  accept accept4 access adjtimex alarm
  bind brk
  cachestat capget capset chdir chmod chown chown32 clock_adjtime clock_adjtime64 clock_getres
  clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range
  connect copy_file_range creat
  dup dup2 dup3
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
  eventfd eventfd2 execve execveat exit exit_group
  faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown
  fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat
  fstat64 fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait
  futex_waitv futex_wake futimesat
  get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid
  getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom
  getresgid getresgid32 getresuid getresuid32 getrlimit getrusage getsid getsockname getsockopt gettid
  gettimeofday getuid getuid32 getxattr getxattrat
  inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents
  io_pgetevents io_pgetevents_time64 io_setup io_submit ioctl ioprio_get ioprio_set ipc
  kill
  landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
  listen listmount listxattr listxattrat llistxattr lremovexattr lseek lsetxattr lstat lstat64
  madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock
  mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64
  mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl msgget msgrcv msgsnd msync munlock munlockall
  munmap
  name_to_handle_at nanosleep newfstatat
  open openat openat2
  pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64
  prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2
  read readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
  removexattr removexattrat rename renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq rt_sigaction
  rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait
  rt_sigtimedwait_time64 rt_tgsigqueueinfo
  sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr sched_getparam
  sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr
  sched_setparam sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
  semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto set_robust_list set_thread_area
  set_tid_address setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer
  setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
  setrlimit setsid setsockopt setuid setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown
  sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs
  statfs64 statmount statx symlink symlinkat sync sync_file_range syncfs sysinfo
  tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
  timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times
  tkill truncate truncate64
  ugetrlimit umask uname unlink unlinkat uretprobe utime utimensat utimensat_time64 utimes
  vfork vmsplice
  wait4 waitid waitpid write writev
`;

/**
 * The namespace flags clone(2) takes: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
 * NEWNET (CLONE_NEWTIME shares its bit with the exit signal there; only unshare/clone3 take it).
 */
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

/** personality(2) personas a container may switch to: PER_LINUX, PER_LINUX32, UNAME26 variants, and the query. */
const PERSONAS = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

const allow = (names: string, more: Omit<DockerSyscall, "names" | "action"> = {}): DockerSyscall => ({
  names: names.trim().split(/\s+/),
  action: "SCMP_ACT_ALLOW",
  ...more,
});

const withCap = (cap: string, names: string): DockerSyscall => allow(names, { includes: { caps: [cap] } });

export const DEFAULT_PROFILE: DockerSeccompProfile = {
  defaultAction: "SCMP_ACT_ERRNO",
  defaultErrnoRet: 1,
  archMap: [{ architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] }],
  syscalls: [
    allow(ALLOWED),
    // Since 4.8 a seccomp filter cannot be bypassed with ptrace, so tracing one's own children is safe.
    allow("process_vm_readv process_vm_writev ptrace", { includes: { minKernel: "4.8" } }),
    // Every family but AF_ALG (38) and AF_VSOCK (40).
    allow("socket", { args: [{ index: 0, value: 38, op: "SCMP_CMP_LT" }] }),
    allow("socket", { args: [{ index: 0, value: 39, op: "SCMP_CMP_EQ" }] }),
    allow("socket", { args: [{ index: 0, value: 40, op: "SCMP_CMP_GT" }] }),
    ...PERSONAS.map((p) => allow("personality", { args: [{ index: 0, value: p, op: "SCMP_CMP_EQ" }] })),
    allow("arch_prctl", { includes: { arches: ["amd64", "x32"] } }),
    allow("modify_ldt", { includes: { arches: ["amd64", "x32", "x86"] } }),
    withCap("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
    withCap(
      "CAP_SYS_ADMIN",
      `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr lsm_list_modules
       lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname
       sethostname setns syslog umount umount2 unshare`,
    ),
    // Without CAP_SYS_ADMIN: clone with no namespace flag (argument 0 on x86), clone3 not at all.
    allow("clone", {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
      excludes: { caps: ["CAP_SYS_ADMIN"] },
    }),
    { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38, excludes: { caps: ["CAP_SYS_ADMIN"] } },
    withCap("CAP_SYS_BOOT", "reboot"),
    withCap("CAP_SYS_CHROOT", "chroot"),
    withCap("CAP_SYS_MODULE", "delete_module init_module finit_module"),
    withCap("CAP_SYS_PACCT", "acct"),
    withCap("CAP_SYS_PTRACE", "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"),
    withCap("CAP_SYS_RAWIO", "iopl ioperm"),
    withCap("CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"),
    withCap("CAP_SYS_TTY_CONFIG", "vhangup"),
    withCap("CAP_SYS_NICE", "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"),
    withCap("CAP_SYSLOG", "syslog"),
    withCap("CAP_BPF", "bpf"),
    withCap("CAP_PERFMON", "perf_event_open"),
  ],
};

/** The default filter for a container holding `caps` (its bounding set), on this kernel. */
export function defaultSeccomp(caps: readonly string[], kernel = kernelRelease()): LinuxSeccomp {
  return dockerProfileToOci(DEFAULT_PROFILE, { caps, kernel, source: "husk's default profile" }, "seccomp") as LinuxSeccomp;
}
