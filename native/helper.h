/*
 * Shared by the helper's source files (helper.c has the overview and the protocol): the plan's
 * types, the process-wide state the ops share, and the functions more than one file uses.
 * The helper is single-threaded, so plain globals are the state.
 */
#ifndef HUSK_HELPER_H
#define HUSK_HELPER_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include "mount-api.h" /* after sys/mount.h: fills in what the libc lacks */
#include <dirent.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3; older kernels reject it with EINVAL */
#endif

#include "wire.h" /* op codes, field kinds, messages: generated from src/helper/wire.ts */

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

struct field {
	int64_t i;
	char *s; /* bytes, copied and NUL-terminated */
	uint32_t len;
};

struct op {
	unsigned code;
	struct field *f;
};

struct opdef {
	const char *name;
	const char *kinds;
	int (*run)(const struct field *f);
};

/* ---------------------------------------------------------------- shared state (helper.c) */

extern int syncfd; /* the sync channel; CLOEXEC, so execve closes it */
extern int rootfd; /* openRoot: the root for Where.InRoot paths until the switch */
extern int fifofd; /* openExecFifo: the read end of exec.fifo, never its directory */
extern int consfd; /* consoleConnect: the --console-socket connection */
extern int proxyfd; /* consoleProxy: the parent's end, where the child sends the pty master */
extern int lingerfd; /* the child's word to the parent of clone: 'S' set up, 'F' failed */
extern int cgtasks[16]; /* openCgroup: v1 `tasks` files the child writes "0" to */
extern int ncgtasks;
extern int cgdirfd; /* openCgroup: the v2 cgroup, for clone3(CLONE_INTO_CGROUP) */
extern int cgprocsfd; /* openCgroup: its cgroup.procs, if clone3 could not place the child */
extern int cgplaced; /* clone3 put the child in the v2 cgroup */
extern int heldns[8][2]; /* openNs: (fd, nstype) to join after clone */
extern int nheldns;
extern int switched; /* after pivotRoot/chrootMove, "/" is the container's root */
extern int step; /* index of the op being run, for MSG_ERROR */
extern int32_t errdetail; /* MSG_ERROR's third field: a failed hook's status (see op_run_hook) */
extern int32_t hostpid; /* the child's pid as husk sees it (from the parent, see op_clone) */
extern int listenfd; /* listenerConnect: the seccomp agent's socket */
extern int notifyfd; /* seccomp: the listener of a filter with SCMP_ACT_NOTIFY rules */
extern const char *opname;

/* ---------------------------------------------------------------- shared functions */

/* helper.c: the sync channel and the one error path */
int send_msg(uint32_t type, int32_t a, int32_t b, int32_t c);
size_t read_full(int fd, void *buf, size_t n);
int write_all(int fd, const char *p, size_t n);
void linger_say(char what);
_Noreturn void fail(int err);
_Noreturn void die(int status, const char *what, int err);
void xclose(int fd);
uint32_t get32(const unsigned char *p);
void put32(unsigned char *p, uint32_t v);

/* root.c */
const char *or_null(const struct field *f);
int keep_dir(const char *path, int *slot);

/* process.c */
char **split_list(const struct field *f);
void reset_signals(void);

/* start.c: the state JSON a plan compiled with holes for this process' pid, filled in */
char *join_pid(const struct field *parts, size_t *len);

/* monitor.c: the parent of a clone in mode CLONE_MONITOR */
void monitor_child(void);
void monitor_parent(void);
_Noreturn void monitor_run(pid_t child, int master);
/* monitor.c: a proxied terminal's detach keys (detachKeys), and becoming the monitor on them */
extern const char *detachkeys;
extern size_t ndetachkeys;
_Noreturn void monitor_detach(pid_t child, int master);
void monitor_log(const char *p, size_t n);
void monitor_log_end(void);

/* sockets.c: the foreground terminal, after clone in the parent; returns the wait status */
int proxy_console(pid_t child, int lifeline);
/* sockets.c: the pty master from a consoleProxy pair (the monitor's, for a detached terminal) */
int proxied_master(void);

/* cgroup.c */
void close_cgroup_fds(void);
int remove_cgroup_on_exit(void); /* cgroupRemoveOnExit's directories, once the child is reaped: 1 if all gone */
/* root.c: the parent's copies of the detached mounts, once the child has its own. */
void close_detached_mounts(void);

/* net.c: parentNetlink (see op_parent_netlink) */
extern int parentnet_step; /* the parentNetlink op's step, -1 without one */
extern int aheadnet; /* --netns-ahead: our own network namespace while we sit in one made ahead (op_clone) */
int leave_netns_ahead(void); /* helper.c: back in it; -1 (errno) if setns failed */
extern int parentnet_ready; /* the child's end of the pipe the parent says 'N' on once its plan ran */
void parent_netlink(struct op *plan, unsigned n, int ready);
/* helper.c: the parent's netlink plan (parentNetlink) read from the channel; NULL at EOF */
struct op *read_netlink_plan(unsigned *count);

/* ops, one per plan operation (the list is wire.h's; dispatch table in helper.c) */
#define X(code, name, kinds, fn) int fn(const struct field *f);
HUSK_OPS(X)
#undef X

/* xattrs.c: --xattrs, the extended attributes of paths for a caller without getxattr. */
_Noreturn void serve_xattrs(void);

/* remove.c: --remove, directory trees deleted for a caller (Node) whose own walk is costly. */
_Noreturn void serve_removals(void);

/* batch.c: --batch, spare helpers forked from one start; returns only in each helper (its sync fd). */
int run_batch(const char *count, const char *shape);

/* helper.c: one line of stdin for the --flocks and --remove protocols; -1 at EOF. */
ssize_t read_stdin_line(char *buf, const char *mode);

#endif
