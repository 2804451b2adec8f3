/*
 * husk-helper: executes a plan compiled by husk (src/plan/ops.ts, wire format in
 * src/plan/encode.ts). It has no policy: every decision (which namespaces, which mounts,
 * in which order) was made in TypeScript. It exists because a multi-threaded runtime
 * (Node, Bun) may not unshare(CLONE_NEWUSER), setns() into a mount namespace, or do much
 * of anything between fork and exec.
 *
 * Usage: husk-helper <syncfd>
 *
 * The sync channel (src/runtime/sync-protocol.ts; keep the two drawings in step):
 *
 *   husk (TS)                          helper parent (H)             container child (C)
 *   [u32 len][plan] ─────────────────▶ read plan
 *                                      ops before `clone` (open cgroup files, setns,
 *                                      unshare, timens offsets)
 *                                      clone ───────────────────────▶ (born here, in its v2
 *                                                                      cgroup; joins v1 itself)
 *   ◀──────────────── MSG_PID(pid) ──  send child pid, close channel
 *                                      Wait: waitpid(C), exit with its status (128+sig)
 *                                      Detach: exit 0
 *   ◀──────────────────────────────────────────── MSG_WAITING(step) ── at `waitContinue`
 *   id maps (user namespace only),
 *   prestart/createRuntime hooks
 *   MSG_CONTINUE ───────────────────────────────────────────────────▶ the rest of the plan
 *   ◀──────────────────────────────────────────── MSG_CREATED(step) ── at `waitStart`, then
 *                                                                      blocks on exec.fifo
 *   ◀──────────────────────────────────────────── MSG_ERROR(step, errno, status) on failure, exit 1
 *   EOF ◀──────────────────────────────────────────────────────────── execve succeeded
 *
 * Every message is 16 bytes: u32 type · i32 a · i32 b · i32 c, little endian. A step is the
 * 0-based index of the op in the plan. EOF while waiting for MSG_CONTINUE: exit 1 silently.
 * Exit status: 1 after a failed step, 2 for a malformed plan or bad usage (a husk bug).
 *
 * Op codes (ops.ts OP_CODES; append only) and field kinds (i int, s string, b bytes,
 * l NUL-terminated string list, u u32 array), in encode.ts FIELDS order:
 *
 *    1 setns        s path, i nstype            20 setsid
 *    2 unshare      i flags                     21 joinKeyring  s name
 *    3 clone        i flags, i mode             22 prctl        i option, i arg
 *    4 waitContinue                             23 setgroups    u gids
 *    5 writeFile    s path, i where, b data     24 setresgid    i gid
 *    6 sethostname  s name                      25 setresuid    i uid
 *    7 setdomainname s name                     26 capBounding  i keep
 *    8 openRoot     s path                      27 capset       i eff, i perm, i inh
 *    9 mount        s src, i srcWhere, s target, 28 capAmbient  i raise
 *                   i targetWhere, s fstype,     29 umask        i mask
 *                   i flags, s data             30 chdir        s path, i optional
 *   10 mkdirAll     s path, i mode              31 closeFrom    i first
 *   11 mkfile       s path, i mode              32 seccomp      b filter, i flags
 *   12 mknod        s path, i mode, i dev       33 openStateDir s path
 *   13 symlink      s target, s path            34 waitStart
 *   14 chown        s path, i uid, i gid        35 consoleConnect s path
 *   15 pivotRoot                                36 console      i rows, i cols
 *   16 chrootMove                               37 exec         l argv, l env
 *   17 mask         s path                      38 checkExec    l argv, l env
 *                                               39 chroot       s path
 *                                               40 openCgroup   l tasks, s dir
 *                                               41 joinCgroup
 *                                               42 openNs       s path, i nstype
 *                                               43 joinOpenedNs
 *                                               44 runHook      s path, l args, l env,
 *                                                               i timeout, l state
 *                                               45 deviceFilter s dir, b program
 *                                               46 listenerConnect s path
 *                                               47 sendListener l state
 *   18 readonly     s path
 *   19 setrlimit    i resource, i soft, i hard
 */
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
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
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

enum { MSG_PID = 1, MSG_WAITING = 2, MSG_CREATED = 3, MSG_ERROR = 4, MSG_CONTINUE = 100 };
enum { MSG_SIZE = 16 };
enum { WHERE_HOST = 0, WHERE_INROOT = 1 };
enum { CLONE_WAIT = 0, CLONE_DETACH = 1 };
enum { KIND_INT = 1, KIND_BYTES = 2 };

#define PLAN_MAGIC "HUSKPLAN"
#define PLAN_VERSION 1
#define PLAN_MAX (64u << 20)
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

static int syncfd = -1;       /* the sync channel; CLOEXEC, so execve closes it */
static int rootfd = -1;       /* openRoot: the root for Where.InRoot paths until the switch */
static int statefd = -1;      /* openStateDir: where exec.fifo lives */
static int consfd = -1;       /* consoleConnect: the --console-socket connection */
static int lingerfd = -1;     /* child of a Detach clone: the parent waits for this to close */
static int cgtasks[16];       /* openCgroup: v1 `tasks` files the child writes "0" to */
static int ncgtasks;
static int cgdirfd = -1;      /* openCgroup: the v2 cgroup, for clone3(CLONE_INTO_CGROUP) */
static int cgprocsfd = -1;    /* openCgroup: its cgroup.procs, if clone3 could not place the child */
static int cgplaced;          /* clone3 put the child in the v2 cgroup */
static int heldns[8][2];      /* openNs: (fd, nstype) to join after clone */
static int nheldns;
static int switched;          /* after pivotRoot/chrootMove, "/" is the container's root */
static int step = -1;         /* index of the op being run, for MSG_ERROR */
static int32_t errdetail;     /* MSG_ERROR's third field: a failed hook's status (see op_run_hook) */
static int32_t hostpid;       /* the child's pid as husk sees it (from the parent, see op_clone) */
static int listenfd = -1;     /* listenerConnect: the seccomp agent's socket */
static int notifyfd = -1;     /* seccomp: the listener of a filter with SCMP_ACT_NOTIFY rules */
static const char *opname = "startup";

/* ---------------------------------------------------------------- sync channel */

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* MSG_NOSIGNAL: husk may be gone; a SIGPIPE must not kill us before we can say why. */
static int send_msg(uint32_t type, int32_t a, int32_t b, int32_t c)
{
	unsigned char m[MSG_SIZE];
	put32(m, type);
	put32(m + 4, a);
	put32(m + 8, b);
	put32(m + 12, c);
	if (syncfd < 0)
		return -1;
	return send(syncfd, m, sizeof m, MSG_NOSIGNAL) == sizeof m ? 0 : -1;
}

/* Read exactly n bytes unless EOF or an error comes first; returns the count read. */
static size_t read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += r;
	}
	return got;
}

/* The one error path: husk turns (step, errno) into a message naming the spec path. */
/* Tell the parent of a Detach clone how setup went (see op_clone). */
static void linger_say(char what)
{
	if (lingerfd >= 0)
		(void)!write(lingerfd, &what, 1);
}

static _Noreturn void fail(int err)
{
	if (err == 0)
		err = EIO;
	linger_say('F');
	if (send_msg(MSG_ERROR, step, err, errdetail) == 0)
		_exit(1);
	/* Nobody listens any more (a startContainer hook after `start`): say it on stderr. */
	if (err == ECHILD && errdetail > 0)
		dprintf(2, "husk-helper: step %d (%s): exited with status %d\n", step, opname, errdetail);
	else if (err == ECHILD && errdetail < 0)
		dprintf(2, "husk-helper: step %d (%s): killed by signal %d\n", step, opname, -errdetail);
	else
		dprintf(2, "husk-helper: step %d (%s): %s\n", step, opname, strerror(err));
	_exit(1);
}

static _Noreturn void die(int status, const char *what, int err)
{
	dprintf(2, "husk-helper: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
	_exit(status);
}

static void xclose(int fd)
{
	int saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* ---------------------------------------------------------------- CVE-2019-5736 */

/*
 * A container process that can see this helper (its parent in Wait mode, or a helper
 * that setns'd into it for `exec`) could open /proc/<pid>/exe for writing and overwrite
 * the binary on the host. Running from a sealed memfd copy leaves nothing to overwrite:
 * the seals make the copy immutable, and the host file is not our executable any more.
 */
static void reexec_sealed(char **argv)
{
	int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0)
		die(1, "open /proc/self/exe", errno);
	int seals = fcntl(exe, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS) {
		close(exe);
		return;
	}
	/* Since 6.3 a memfd should say whether it may be executed (vm.memfd_noexec). */
	int mfd = memfd_create("husk-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create("husk-helper", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		die(1, "memfd_create", errno);
	ssize_t n;
	while ((n = sendfile(mfd, exe, NULL, 1 << 20)) > 0)
		;
	if (n < 0)
		die(1, "copy /proc/self/exe", errno);
	close(exe);
	if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		die(1, "seal memfd", errno);
	fexecve(mfd, argv, environ);
	die(1, "fexecve sealed copy", errno);
}

/* ---------------------------------------------------------------- plan */

struct reader {
	const unsigned char *p, *end;
};

static _Noreturn void malformed(const char *why)
{
	die(2, why, 0);
}

static const unsigned char *take(struct reader *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		malformed("malformed plan: truncated");
	const unsigned char *p = r->p;
	r->p += n;
	return p;
}

static void parse_field(struct reader *r, char kind, struct field *f)
{
	unsigned wire = *take(r, 1);
	if (wire != (kind == 'i' ? KIND_INT : KIND_BYTES))
		malformed("malformed plan: field of the wrong kind");
	if (kind == 'i') {
		const unsigned char *p = take(r, 8);
		f->i = (int64_t)((uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32);
		return;
	}
	f->len = get32(take(r, 4));
	const unsigned char *p = take(r, f->len);
	if (!(f->s = malloc(f->len + 1)))
		die(1, "malloc", errno);
	memcpy(f->s, p, f->len);
	f->s[f->len] = 0;
	if (kind == 's' && strlen(f->s) != f->len)
		malformed("malformed plan: NUL inside a string");
	if (kind == 'l' && f->len && f->s[f->len - 1])
		malformed("malformed plan: unterminated string list");
	if (kind == 'u' && f->len % 4)
		malformed("malformed plan: u32 array of odd length");
}

static struct op *read_plan(const struct opdef *table, unsigned ncodes, unsigned *count)
{
	unsigned char lenbuf[4];
	if (read_full(syncfd, lenbuf, 4) != 4)
		malformed("no plan on the sync channel");
	uint32_t len = get32(lenbuf);
	if (len > PLAN_MAX)
		malformed("malformed plan: too large");
	unsigned char *buf = malloc(len ? len : 1);
	if (!buf)
		die(1, "malloc", errno);
	if (read_full(syncfd, buf, len) != len)
		malformed("malformed plan: truncated on the sync channel");

	struct reader r = { buf, buf + len };
	if (memcmp(take(&r, 8), PLAN_MAGIC, 8))
		malformed("malformed plan: bad magic");
	if (get32(take(&r, 4)) != PLAN_VERSION)
		malformed("malformed plan: unsupported version");
	uint32_t n = get32(take(&r, 4));
	if (n > len / 4) /* every op takes at least 4 bytes */
		malformed("malformed plan: bad op count");
	struct op *ops = calloc(n ? n : 1, sizeof *ops);
	if (!ops)
		die(1, "calloc", errno);
	for (uint32_t k = 0; k < n; k++) {
		const unsigned char *h = take(&r, 4);
		unsigned code = h[0] | h[1] << 8, nf = h[2] | h[3] << 8;
		if (code >= ncodes || !table[code].run)
			malformed("malformed plan: unknown op code");
		const char *kinds = table[code].kinds;
		if (nf != strlen(kinds))
			malformed("malformed plan: wrong field count");
		ops[k].code = code;
		if (!(ops[k].f = calloc(nf ? nf : 1, sizeof(struct field))))
			die(1, "calloc", errno);
		for (unsigned j = 0; j < nf; j++)
			parse_field(&r, kinds[j], &ops[k].f[j]);
	}
	if (r.p != r.end)
		malformed("malformed plan: trailing bytes");
	free(buf);
	*count = n;
	return ops;
}

/* ---------------------------------------------------------------- paths inside the root */

/*
 * Open path inside the root. Before the switch, openat2's RESOLVE_IN_ROOT treats rootfd as
 * "/" for absolute symlinks and "..", so nothing in the rootfs can lead to the host; magic
 * links (/proc/<pid>/root …) are refused outright. After the switch "/" is the root.
 */
static int resolve(const char *path, int flags)
{
	if (switched)
		return open(path, flags | O_CLOEXEC);
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd, tries = 0;
	/* EAGAIN: a concurrent rename raced with ".."; the kernel asks us to try again. */
	do
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN && ++tries < 32);
	return fd;
}

/* Anything but Where.Host is taken as InRoot: the confined reading is the safe one. */
static int open_where(const char *path, int64_t where, int flags)
{
	if (where == WHERE_HOST)
		return open(path, flags | O_CLOEXEC);
	return resolve(path, flags);
}

/*
 * A path for syscalls that take no dirfd (mount, statvfs). An InRoot path before the switch
 * is pinned as an O_PATH fd and named through its /proc/self/fd magic link: mount(2) follows
 * it to exactly the resolved object. The host /proc is still visible in the new mount
 * namespace until pivot_root.
 */
struct loc {
	int fd;
	const char *path;
	char buf[32];
};

static int locate(struct loc *l, const char *path, int64_t where)
{
	l->fd = -1;
	l->path = path;
	if (where == WHERE_HOST || switched)
		return 0;
	if ((l->fd = resolve(path, O_PATH)) < 0)
		return -1;
	snprintf(l->buf, sizeof l->buf, "/proc/self/fd/%d", l->fd);
	l->path = l->buf;
	return 0;
}

static void unlocate(struct loc *l)
{
	xclose(l->fd);
	l->fd = -1;
}

/*
 * mkdir -p inside the root; returns an O_PATH fd of the directory. Each prefix is resolved
 * from the root again (so a symlinked component is followed inside the root), and only the
 * last name is created, with mkdirat relative to its resolved parent: mkdirat never follows
 * a symlink in its final component, so a link planted in the rootfs is never created through.
 */
static int mkdir_all(const char *path, mode_t mode)
{
	char prefix[PATH_MAX];
	size_t len = 0;
	int dir = resolve("/", O_PATH | O_DIRECTORY);
	for (const char *p = path; dir >= 0;) {
		p += strspn(p, "/");
		size_t n = strcspn(p, "/");
		if (n == 0)
			return dir;
		if (len + n + 2 > sizeof prefix) {
			xclose(dir);
			errno = ENAMETOOLONG;
			return -1;
		}
		prefix[len++] = '/';
		memcpy(prefix + len, p, n);
		len += n;
		prefix[len] = 0;
		p += n;
		int fd = resolve(prefix, O_PATH | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(dir, prefix + len - n, mode) < 0 && errno != EEXIST) {
				xclose(dir);
				return -1;
			}
			/* EEXIST from a dangling symlink leaves this ENOENT: refused, not followed out. */
			fd = resolve(prefix, O_PATH | O_DIRECTORY);
		}
		xclose(dir);
		dir = fd;
	}
	return dir;
}

/*
 * Split path into its parent directory (an O_PATH fd inside the root; created like mkdirAll
 * 0755 if create is set) and its last name. A last component of "/", "." or ".." names an
 * existing directory: then name is "" and the fd is that directory itself, so callers never
 * pass ".." to an *at() call where the parent is the root.
 */
static int at_parent(const char *path, int create, char name[NAME_MAX + 1])
{
	char dir[PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, len + 1);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = 0;
	char *slash = strrchr(dir, '/');
	char *base = slash ? slash + 1 : dir;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		name[0] = 0;
		return resolve(path, O_PATH);
	}
	if (strlen(base) > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(name, base);
	*base = 0; /* dir is now the parent, "" meaning the root */
	return create ? mkdir_all(dir, 0755) : resolve(*dir ? dir : "/", O_PATH | O_DIRECTORY);
}

/* ---------------------------------------------------------------- mounts */

/*
 * In a user namespace the kernel locks the nosuid/nodev/noexec/atime/rdonly flags a mount
 * had when it was copied from a more privileged namespace, and a bind remount that would
 * clear one fails EPERM. Retry once keeping the flags the mount has now.
 */
/* The per-mount flags a mount has now, as MS_* bits; -1 if statvfs fails. */
static long current_flags(const char *path)
{
	static const struct { unsigned long st, ms; } map[] = {
		{ ST_NOSUID, MS_NOSUID },   { ST_NODEV, MS_NODEV },         { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
		{ ST_RDONLY, MS_RDONLY },
	};
	struct statvfs st;
	if (statvfs(path, &st) < 0)
		return -1;
	long flags = 0;
	for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
		if (st.f_flag & map[k].st)
			flags |= (long)map[k].ms;
	return flags;
}

static int mount_retry(const char *src, const char *tgt, const char *fstype, unsigned long flags,
		       const char *data)
{
	if (mount(src, tgt, fstype, flags, data) == 0)
		return 0;
	if (errno != EPERM || (flags & (MS_REMOUNT | MS_BIND)) != (MS_REMOUNT | MS_BIND))
		return -1;
	long kept = current_flags(tgt);
	if (kept < 0) {
		errno = EPERM;
		return -1;
	}
	return mount(src, tgt, fstype, flags | (unsigned long)kept, data);
}

static const char *or_null(const struct field *f)
{
	return f->len ? f->s : NULL;
}

static int op_mount(const struct field *f)
{
	struct loc src = { .fd = -1 }, tgt;
	const char *source = NULL;
	if (f[0].len) {
		if (locate(&src, f[0].s, f[1].i) < 0)
			return -1;
		source = src.path;
	}
	if (locate(&tgt, f[2].s, f[3].i) < 0) {
		unlocate(&src);
		return -1;
	}
	int rc = mount_retry(source, tgt.path, or_null(&f[4]), (unsigned long)f[5].i, or_null(&f[6]));
	unlocate(&src);
	unlocate(&tgt);
	return rc;
}

static int op_mask(const struct field *f)
{
	struct loc l;
	struct stat st;
	int rc = -1;
	if (locate(&l, f[0].s, WHERE_INROOT) < 0 || stat(l.path, &st) < 0)
		goto out;
	if (S_ISDIR(st.st_mode))
		rc = mount("tmpfs", l.path, "tmpfs", MS_RDONLY, "size=0");
	else
		rc = mount("/dev/null", l.path, NULL, MS_BIND, NULL);
out:
	unlocate(&l);
	return rc < 0 && errno == ENOENT ? 0 : rc;
}

static int op_readonly(const struct field *f)
{
	struct loc l;
	if (locate(&l, f[0].s, WHERE_INROOT) < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = mount(l.path, l.path, NULL, MS_BIND | MS_REC, NULL);
	unlocate(&l);
	if (rc < 0)
		return errno == ENOENT ? 0 : -1;
	/* The pinned fd still names the covered directory; resolve again to reach the bind. */
	if (locate(&l, f[0].s, WHERE_INROOT) < 0)
		return -1;
	/* Keep nosuid/nodev/noexec and the atime flags the path had (/proc/sys stays noexec). */
	long kept = current_flags(l.path);
	rc = mount_retry(NULL, l.path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | (unsigned long)(kept < 0 ? 0 : kept), NULL);
	unlocate(&l);
	return rc;
}

static int root_switched(void)
{
	xclose(rootfd);
	rootfd = -1;
	switched = 1;
	return 0;
}

/*
 * pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only
 * the container's tree. The old root may still be a peer of the host's mounts (a shared
 * rootfsPropagation): it is made a slave first so the detach cannot propagate to the host.
 */
static int op_pivot_root(const struct field *f)
{
	(void)f;
	/*
	 * pivot_root(".", ".") stacks the old root on top of the new one. Before detaching it,
	 * make it slave from the old root's own directory: "." after the pivot is the new root,
	 * and a slave flag there would silently undo the container's own shared mounts; a shared
	 * old root left as is would carry the unmount over to the host.
	 */
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		return -1;
	int ok = fchdir(rootfd) == 0 && syscall(SYS_pivot_root, ".", ".") == 0 && fchdir(oldroot) == 0 &&
		 mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) == 0 && umount2(".", MNT_DETACH) == 0;
	int err = errno;
	close(oldroot);
	errno = err;
	if (!ok)
		return -1;
	return chdir("/") < 0 ? -1 : root_switched();
}

/* For roots pivot_root refuses (a ramfs/initramfs root cannot be pivoted away). */
static int op_chroot_move(const struct field *f)
{
	(void)f;
	if (fchdir(rootfd) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return -1;
	return root_switched();
}

/* No mount namespace of its own: the container may not touch the host's mounts, only root. */
static int op_chroot(const struct field *f)
{
	if (chroot(f[0].s) < 0 || chdir("/") < 0)
		return -1;
	return root_switched();
}

/* ---------------------------------------------------------------- files inside the root */

/* openRoot and openStateDir: a host directory kept as an O_PATH fd for later ops. */
static int keep_dir(const char *path, int *slot)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	xclose(*slot);
	*slot = fd;
	return 0;
}

static int op_open_root(const struct field *f)
{
	return keep_dir(f[0].s, &rootfd);
}

static int op_mkdir_all(const struct field *f)
{
	int fd = mkdir_all(f[0].s, (mode_t)f[1].i);
	xclose(fd);
	return fd < 0 ? -1 : 0;
}

static int op_mkfile(const struct field *f)
{
	char name[NAME_MAX + 1];
	int dir = at_parent(f[0].s, 1, name), rc = 0;
	if (dir < 0)
		return -1;
	/* mknodat(S_IFREG) creates without opening and, like O_EXCL, never follows a symlink. */
	if (*name && mknodat(dir, name, S_IFREG | ((mode_t)f[1].i & 07777), 0) < 0 && errno != EEXIST)
		rc = -1;
	xclose(dir);
	return rc;
}

static int op_mknod(const struct field *f)
{
	char name[NAME_MAX + 1];
	int dir = at_parent(f[0].s, 0, name), rc = -1;
	if (dir >= 0 && !*name)
		errno = EEXIST;
	else if (dir >= 0)
		rc = mknodat(dir, name, (mode_t)f[1].i, (dev_t)f[2].i);
	xclose(dir);
	return rc;
}

static int op_symlink(const struct field *f)
{
	char name[NAME_MAX + 1];
	int dir = at_parent(f[1].s, 0, name), rc = 0;
	if (dir < 0)
		return -1;
	if (*name && symlinkat(f[0].s, dir, name) < 0 && errno != EEXIST)
		rc = -1;
	xclose(dir);
	return rc;
}

static int op_chown(const struct field *f)
{
	char name[NAME_MAX + 1];
	int dir = at_parent(f[0].s, 0, name);
	if (dir < 0)
		return -1;
	int rc = fchownat(dir, name, (uid_t)f[1].i, (gid_t)f[2].i,
			  AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH));
	xclose(dir);
	return rc;
}

static int op_write_file(const struct field *f)
{
	int fd = open_where(f[0].s, f[1].i, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, f[2].s, f[2].len);
	int err = n < 0 ? errno : (size_t)n != f[2].len ? EIO : 0;
	close(fd);
	errno = err;
	return err ? -1 : 0;
}

/* ---------------------------------------------------------------- namespaces and process */

static int op_setns(const struct field *f)
{
	int fd = open(f[0].s, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = setns(fd, (int)f[1].i);
	xclose(fd);
	return rc;
}

static int op_unshare(const struct field *f)
{
	return unshare((int)f[0].i);
}

static void close_cgroup_fds(void);

/*
 * The raw syscall with a NULL stack has fork semantics and, unlike fork(), takes namespace
 * flags: CLONE_NEWPID and CLONE_NEWUSER only apply to children, which is why `clone` is an
 * op and not an unshare. (x86_64/arm64 argument order; the unused tid/tls args are 0.)
 */
static int op_clone(const struct field *f)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGPIPE };
	int gate[2], linger[2];
	char c;
	if (pipe2(gate, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(linger, O_CLOEXEC) < 0) {
		xclose(gate[0]);
		xclose(gate[1]);
		return -1;
	}
	long pid = -1;
	if (cgdirfd >= 0) {
		/*
		 * Born in its v2 cgroup: no cgroup.procs write later, whose global lock costs an
		 * RCU grace period (~20 ms). Any refusal (old kernel, a joined cgroup namespace
		 * that does not contain us) falls back to clone and a write in the child.
		 */
		struct clone_args args = {
			.flags = (uint64_t)f[0].i | CLONE_INTO_CGROUP,
			.exit_signal = SIGCHLD,
			.cgroup = (uint64_t)cgdirfd,
		};
		pid = syscall(SYS_clone3, &args, sizeof args);
		cgplaced = pid >= 0;
	}
	if (pid < 0)
		pid = syscall(SYS_clone, (unsigned long)f[0].i | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0) {
		xclose(gate[0]);
		xclose(gate[1]);
		xclose(linger[0]);
		xclose(linger[1]);
		return -1;
	}
	if (pid == 0) {
		close(linger[0]);
		if (f[1].i == CLONE_WAIT)
			close(linger[1]); /* a waiting parent needs no word: it reaps whatever happens */
		else
			lingerfd = linger[1];
		/*
		 * Both processes write to the same channel, and husk needs MSG_PID before anything
		 * the child says (it writes the id maps to /proc/<pid>). Wait for the parent to close
		 * its end of the gate, which it does once MSG_PID is sent (or when it dies), after
		 * writing the child's pid as husk sees it.
		 */
		close(gate[1]);
		(void)read_full(gate[0], &hostpid, sizeof hostpid); /* then EOF: the parent let go */
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		close(gate[0]);
		return 0;
	}
	close(gate[0]);
	close(linger[1]);
	close_cgroup_fds();
	/* husk forwards signals to the child by pid; a terminal's signal must not kill us first. */
	for (size_t k = 0; f[1].i == CLONE_WAIT && k < sizeof forwarded / sizeof forwarded[0]; k++)
		signal(forwarded[k], SIG_IGN);
	send_msg(MSG_PID, (int32_t)pid, 0, 0);
	close(syncfd);
	syncfd = -1;
	/* The child's pid in our (husk's) pid namespace, for the state JSON it hands out. */
	int32_t hp = (int32_t)pid;
	(void)!write(gate[1], &hp, sizeof hp);
	close(gate[1]);
	if (f[1].i != CLONE_WAIT) {
		/*
		 * Detach, but only once the child is set up, so that a child dying during setup is
		 * reaped here rather than left as an orphan zombie. The child writes 'S' when it is
		 * set up (at the start barrier, or just before execve) and 'F' when it fails; its end
		 * closes at exec (CLOEXEC) or death. EOF after a last 'S': it lives on, leave it.
		 */
		char last = 0;
		ssize_t n;
		while ((n = read(linger[0], &c, 1)) != 0)
			if (n == 1)
				last = c;
			else if (errno != EINTR)
				break;
		if (last != 'S')
			waitpid((pid_t)pid, NULL, 0);
		_exit(0);
	}
	close(linger[0]);
	int status;
	while (waitpid((pid_t)pid, &status, 0) < 0)
		if (errno != EINTR)
			fail(errno);
	_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
}

static int op_wait_continue(const struct field *f)
{
	unsigned char m[MSG_SIZE];
	(void)f;
	send_msg(MSG_WAITING, step, 0, 0);
	if (read_full(syncfd, m, sizeof m) != sizeof m)
		_exit(1); /* husk is gone: nothing may run half set up */
	if (get32(m) != MSG_CONTINUE) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

static int op_sethostname(const struct field *f)
{
	return sethostname(f[0].s, f[0].len);
}

static int op_setdomainname(const struct field *f)
{
	return setdomainname(f[0].s, f[0].len);
}

static int op_setrlimit(const struct field *f)
{
	struct rlimit rl = {
		.rlim_cur = f[1].i == -1 ? RLIM_INFINITY : (rlim_t)f[1].i,
		.rlim_max = f[2].i == -1 ? RLIM_INFINITY : (rlim_t)f[2].i,
	};
	return prlimit(0, (int)f[0].i, &rl, NULL);
}

static int op_setsid(const struct field *f)
{
	(void)f;
	return setsid() < 0 ? -1 : 0;
}

/* An empty name joins a new anonymous session keyring. */
static int op_join_keyring(const struct field *f)
{
	return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, or_null(&f[0])) < 0 ? -1 : 0;
}

static int op_prctl(const struct field *f)
{
	return prctl((int)f[0].i, (unsigned long)f[1].i, 0UL, 0UL, 0UL) < 0 ? -1 : 0;
}

/*
 * Credentials go through raw syscalls: glibc's wrappers broadcast to every thread it
 * knows of, and after a raw clone its idea of "this thread" is the parent's.
 */
static int op_setgroups(const struct field *f)
{
	size_t n = f[0].len / 4;
	gid_t *gids = calloc(n ? n : 1, sizeof *gids);
	if (!gids)
		return -1;
	for (size_t k = 0; k < n; k++)
		gids[k] = get32((const unsigned char *)f[0].s + 4 * k);
	int rc = syscall(SYS_setgroups, n, gids);
	free(gids);
	return rc;
}

static int op_setresgid(const struct field *f)
{
	gid_t g = (gid_t)f[0].i;
	return syscall(SYS_setresgid, g, g, g);
}

static int op_setresuid(const struct field *f)
{
	uid_t u = (uid_t)f[0].i;
	return syscall(SYS_setresuid, u, u, u);
}

/* PR_CAPBSET_READ answers EINVAL past the kernel's last capability: no /proc needed. */
static int op_cap_bounding(const struct field *f)
{
	uint64_t keep = (uint64_t)f[0].i;
	for (unsigned long cap = 0;; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0UL, 0UL, 0UL);
		if (in < 0)
			return errno == EINVAL ? 0 : -1;
		int kept = cap < 64 && (keep >> cap & 1);
		if (in && !kept && prctl(PR_CAPBSET_DROP, cap, 0UL, 0UL, 0UL) < 0)
			return -1;
	}
}

static int op_capset(const struct field *f)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	for (int w = 0; w < 2; w++) {
		data[w].effective = (uint32_t)((uint64_t)f[0].i >> (32 * w));
		data[w].permitted = (uint32_t)((uint64_t)f[1].i >> (32 * w));
		data[w].inheritable = (uint32_t)((uint64_t)f[2].i >> (32 * w));
	}
	return syscall(SYS_capset, &hdr, data);
}

static int op_cap_ambient(const struct field *f)
{
	uint64_t raise = (uint64_t)f[0].i;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) < 0)
		return -1;
	for (unsigned long cap = 0; cap < 64; cap++)
		if ((raise >> cap & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0UL, 0UL) < 0)
			return -1;
	return 0;
}

static int op_umask(const struct field *f)
{
	umask((mode_t)f[0].i);
	return 0;
}

static int op_chdir(const struct field *f)
{
	if (chdir(f[0].s) == 0)
		return 0;
	return f[1].i && (errno == EACCES || errno == EPERM) ? 0 : -1;
}

/* CLOEXEC rather than close: fds still in use until execve (the sync channel) keep working. */
/*
 * Mark every fd from `first` on close-on-exec. close_range is one syscall, but a seccomp
 * profile loaded earlier (no no_new_privs: the filter goes in while we still hold
 * CAP_SYS_ADMIN) may refuse it; fcntl over the open fds is what such profiles allow.
 */
static int op_close_from(const struct field *f)
{
	unsigned first = (unsigned)f[0].i;
	if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	for (unsigned fd = first; fd < rl.rlim_cur; fd++)
		if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
			return -1;
	return 0;
}

static int op_seccomp(const struct field *f)
{
	if (f[0].len % sizeof(struct sock_filter) || f[0].len / sizeof(struct sock_filter) > 0xffff) {
		errno = EINVAL;
		return -1;
	}
	struct sock_fprog prog = {
		.len = (unsigned short)(f[0].len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)f[0].s, /* malloc'd, so aligned */
	};
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)f[1].i, &prog);
	if (rc < 0)
		return -1;
	if (f[1].i & SECCOMP_FILTER_FLAG_NEW_LISTENER)
		notifyfd = (int)rc;
	return 0;
}

/* ---------------------------------------------------------------- create/start, console */

static int op_open_state_dir(const struct field *f)
{
	return keep_dir(f[0].s, &statefd);
}

/* Opening a FIFO for writing blocks until a reader opens it: that reader is `husk start`. */
static int op_wait_start(const struct field *f)
{
	(void)f;
	linger_say('S');
	xclose(lingerfd); /* the parent of a Detach clone may leave: we stay alive */
	lingerfd = -1;
	send_msg(MSG_CREATED, step, 0, 0);
	int fd;
	do
		fd = openat(statefd, "exec.fifo", O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, "0", 1);
	int err = n < 0 ? errno : n != 1 ? EIO : 0;
	close(fd);
	close(statefd);
	statefd = -1;
	errno = err;
	return err ? -1 : 0;
}

/* connect(2) to the unix socket at path and keep it in *slot. */
static int unix_connect(const struct field *path, int *slot)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (path->len >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path->s, path->len);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		xclose(fd);
		return -1;
	}
	xclose(*slot);
	*slot = fd;
	return 0;
}

static int op_console_connect(const struct field *f)
{
	return unix_connect(&f[0], &consfd);
}

/* One message: `data` with `fd` attached (SCM_RIGHTS). */
static int send_fd(int sock, int fd, const char *data, size_t len)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf,
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/*
 * /dev/ptmx is opened after the root switch so the pty belongs to the container's devpts.
 * TIOCGPTPEER (4.13) opens the slave through the master, with no path lookup to race.
 * No O_CLOEXEC: if the slave lands on 0-2, dup2 onto itself would keep the flag.
 */
static int open_slave(int master)
{
	int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (fd >= 0 || (errno != EINVAL && errno != ENOTTY))
		return fd;
	unsigned n;
	char path[32];
	if (ioctl(master, TIOCGPTN, &n) < 0)
		return -1;
	snprintf(path, sizeof path, "/dev/pts/%u", n);
	return open(path, O_RDWR | O_NOCTTY);
}

static int op_console(const struct field *f)
{
	int unlock = 0, slave = -1;
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return -1;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || (slave = open_slave(master)) < 0)
		goto fail;
	if (f[0].i > 0 && f[1].i > 0) {
		struct winsize ws = { .ws_row = (unsigned short)f[0].i, .ws_col = (unsigned short)f[1].i };
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			goto fail;
	}
	if (send_fd(consfd, master, "/dev/ptmx", 9) < 0)
		goto fail;
	close(master);
	close(consfd);
	consfd = -1;
	/* A controlling terminal needs a session leader without one: the plan's setsid. */
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		goto fail_slave;
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			goto fail_slave;
	if (slave > 2)
		close(slave);
	return 0;
fail:
	xclose(master);
fail_slave:
	xclose(slave);
	return -1;
}

/* ---------------------------------------------------------------- exec */

/* Ignored signals and the mask survive execve; a program starts from the defaults. */
static void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP and libc's own refuse: fine */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static char **split_list(const struct field *f)
{
	size_t n = 0;
	for (uint32_t k = 0; k < f->len; k++)
		n += f->s[k] == 0;
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return NULL;
	char *p = f->s;
	for (size_t k = 0; k < n; k++, p += strlen(p) + 1)
		v[k] = p;
	return v;
}

/* execvp's search, but in the container's PATH (from env), not the helper's. */
static const char *search_path(const char *file, char **env, char *buf, size_t size)
{
	const char *path = DEFAULT_PATH;
	for (char **e = env; *e; e++)
		if (!strncmp(*e, "PATH=", 5)) {
			path = *e + 5;
			break;
		}
	for (const char *p = path;; p++) {
		size_t n = strcspn(p, ":");
		int len = snprintf(buf, size, "%.*s%s%s", (int)n, p, n ? "/" : "", file);
		struct stat st;
		if (len > 0 && (size_t)len < size && stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(buf, X_OK) == 0)
			return buf;
		p += n;
		if (!*p)
			break;
	}
	errno = ENOENT;
	return NULL;
}

/* The program exec would run: argv[0] itself if it has a '/', else found in env's PATH. */
static const char *program(char **argv, char **env, char *buf, size_t size)
{
	if (!argv[0]) {
		errno = EINVAL;
		return NULL;
	}
	return strchr(argv[0], '/') ? argv[0] : search_path(argv[0], env, buf, size);
}

/* checkExec: fail now, before the start barrier, if exec could not run the program. */
static int op_check_exec(const struct field *f)
{
	char buf[PATH_MAX];
	char **argv = split_list(&f[0]), **env = split_list(&f[1]);
	if (!argv || !env)
		return -1;
	const char *file = program(argv, env, buf, sizeof buf);
	struct stat st;
	int rc = !file || stat(file, &st) < 0 ? -1 : 0;
	/* access(), not faccessat2: seccomp profiles written for older runtimes may lack the latter. */
	if (rc == 0 && (!S_ISREG(st.st_mode) || access(file, X_OK) < 0)) {
		errno = EACCES;
		rc = -1;
	}
	int err = errno;
	free(argv);
	free(env);
	errno = err;
	return rc;
}

static int op_exec(const struct field *f)
{
	char buf[PATH_MAX];
	char **argv = split_list(&f[0]), **env = split_list(&f[1]);
	if (!argv || !env)
		return -1;
	const char *file = program(argv, env, buf, sizeof buf);
	if (!file)
		return -1;
	reset_signals();
	linger_say('S');
	execve(file, argv, env);
	return -1;
}

/* ---------------------------------------------------------------- cgroup and late namespaces */

static void close_cgroup_fds(void)
{
	for (int k = 0; k < ncgtasks; k++)
		xclose(cgtasks[k]);
	ncgtasks = 0;
	xclose(cgprocsfd);
	xclose(cgdirfd);
	cgprocsfd = cgdirfd = -1;
}

/*
 * Opened by the helper's parent before it joins any namespace (paths are host paths, and the
 * kernel checks a cgroup write against the opener's credentials and cgroup namespace).
 */
static int op_open_cgroup(const struct field *f)
{
	char **tasks = split_list(&f[0]);
	if (!tasks)
		return -1;
	for (char **t = tasks; *t; t++) {
		if (ncgtasks == (int)(sizeof cgtasks / sizeof cgtasks[0])) {
			errno = E2BIG;
			return -1;
		}
		int fd = open(*t, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		cgtasks[ncgtasks++] = fd;
	}
	free(tasks);
	if (f[1].len == 0)
		return 0;
	cgdirfd = open(f[1].s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgdirfd < 0)
		return -1;
	cgprocsfd = openat(cgdirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	return cgprocsfd < 0 ? -1 : 0;
}

/*
 * In the child, first thing: "0" means the writer itself. Moving one thread through `tasks`
 * skips the global threadgroup lock that a cgroup.procs write takes (and its RCU grace
 * period); the child is single-threaded, so the thread is the whole process.
 */
static int op_join_cgroup(const struct field *f)
{
	(void)f;
	int rc = 0;
	for (int k = 0; rc == 0 && k < ncgtasks; k++)
		if (write(cgtasks[k], "0", 1) != 1)
			rc = -1;
	if (rc == 0 && cgprocsfd >= 0 && !cgplaced && write(cgprocsfd, "0", 1) != 1)
		rc = -1;
	close_cgroup_fds();
	return rc;
}

/* A namespace to join after clone, opened now while its path still resolves. */
static int op_open_ns(const struct field *f)
{
	if (nheldns == (int)(sizeof heldns / sizeof heldns[0])) {
		errno = E2BIG;
		return -1;
	}
	int fd = open(f[0].s, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	heldns[nheldns][0] = fd;
	heldns[nheldns++][1] = (int)f[1].i;
	return 0;
}

static int op_join_opened_ns(const struct field *f)
{
	(void)f;
	int rc = 0;
	for (int k = 0; k < nheldns; k++) {
		if (rc == 0 && setns(heldns[k][0], heldns[k][1]) < 0)
			rc = -1;
		xclose(heldns[k][0]);
	}
	nheldns = 0;
	return rc;
}

/* ---------------------------------------------------------------- cgroup v2 device filter */

static long bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/*
 * Load the eBPF device program husk compiled (src/cgroups/device-filter.ts) and attach it to
 * the cgroup; programs attached there before (an earlier `update`) are detached afterwards,
 * so there is no moment without a filter.
 */
static int op_device_filter(const struct field *f)
{
	union bpf_attr a;
	uint32_t old[64];
	int dirfd = open(f[0].s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)f[1].s;
	a.insn_cnt = f[1].len / sizeof(struct bpf_insn);
	a.license = (uint64_t)(uintptr_t)"Apache-2.0";
	int prog = (int)bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		xclose(dirfd);
		return -1;
	}
	memset(&a, 0, sizeof a);
	a.query.target_fd = (uint32_t)dirfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uint64_t)(uintptr_t)old;
	a.query.prog_cnt = sizeof old / sizeof old[0];
	uint32_t nold = bpf(BPF_PROG_QUERY, &a) == 0 ? a.query.prog_cnt : 0;
	memset(&a, 0, sizeof a);
	a.target_fd = (uint32_t)dirfd;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	int rc = (int)bpf(BPF_PROG_ATTACH, &a);
	for (uint32_t k = 0; rc == 0 && k < nold && k < sizeof old / sizeof old[0]; k++) {
		memset(&a, 0, sizeof a);
		a.prog_id = old[k];
		int fd = (int)bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&a, 0, sizeof a);
		a.target_fd = (uint32_t)dirfd;
		a.attach_bpf_fd = (uint32_t)fd;
		a.attach_type = BPF_CGROUP_DEVICE;
		if (bpf(BPF_PROG_DETACH, &a) < 0)
			rc = -1;
		xclose(fd);
	}
	xclose(prog);
	xclose(dirfd);
	return rc;
}

/* ---------------------------------------------------------------- hooks in the container */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Wait for pid at most timeout_ms (< 0: forever); 1 when it timed out. */
static int wait_timed(pid_t pid, int *status, int timeout_ms)
{
	int pfd = timeout_ms < 0 ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		int n;
		while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
			;
		close(pfd);
		if (n == 0)
			return 1;
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/*
 * createContainer and startContainer hooks: fork, exec the hook with the state JSON on its
 * stdin, wait (killing it at the timeout). The state is pre + husk's pid of this process +
 * post. A failure is ECHILD with the status in errdetail (negative: killed by that signal),
 * or ETIMEDOUT.
 */
/*
 * The state JSON husk compiled with holes for this process' pid, which only exists now: the
 * parts of the list joined by the pid in decimal. Returns a malloc'd string.
 */
static char *join_pid(const struct field *parts, size_t *len)
{
	char pidtext[16];
	int pidlen = snprintf(pidtext, sizeof pidtext, "%d", hostpid);
	char *out = malloc(parts->len + 16 * (size_t)parts->len + 1), *o = out;
	if (!out)
		return NULL;
	const char *p = parts->s, *end = parts->s + parts->len;
	for (int first = 1; p < end; first = 0) {
		if (!first) {
			memcpy(o, pidtext, (size_t)pidlen);
			o += pidlen;
		}
		size_t n = strlen(p);
		memcpy(o, p, n);
		o += n;
		p += n + 1;
	}
	*o = 0;
	*len = (size_t)(o - out);
	return out;
}

static int op_run_hook(const struct field *f)
{
	char **argv = split_list(&f[1]), **env = split_list(&f[2]);
	size_t total;
	char *state = join_pid(&f[4], &total);
	if (!argv || !env || !state)
		return -1;
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	/* The whole state fits in the pipe, so writing it cannot block on a hook that never reads. */
	if (total > 65536)
		(void)fcntl(in[1], F_SETPIPE_SZ, (int)total);
	pid_t pid = fork();
	if (pid < 0) {
		xclose(in[0]);
		xclose(in[1]);
		return -1;
	}
	if (pid == 0) {
		reset_signals();
		if (dup2(in[0], 0) < 0)
			_exit(127);
		/* The hook gets stdio only: not the preserved fds, sockets or dirs the plan holds. */
		if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		execve(f[0].s, argv, env);
		_exit(127);
	}
	close(in[0]);
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	sigaction(SIGPIPE, &ign, &old); /* a hook that exits without reading is no error */
	(void)write_all(in[1], state, total);
	sigaction(SIGPIPE, &old, NULL);
	close(in[1]);
	free(argv);
	free(env);
	free(state);
	int status = 0;
	int timed_out = wait_timed(pid, &status, f[3].i > 0 ? (int)f[3].i * 1000 : -1);
	if (timed_out < 0)
		return -1;
	if (timed_out) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = ETIMEDOUT;
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	errdetail = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
	errno = ECHILD;
	return -1;
}

/* ---------------------------------------------------------------- seccomp agent */

/* Before the root switch: the agent's socket lives on the host. */
static int op_listener_connect(const struct field *f)
{
	return unix_connect(&f[0], &listenfd);
}

/*
 * Right after the filter is loaded (so sendmsg must not be one of the notified syscalls, which
 * husk checks): the container process state JSON with the listener fd, in one message, as
 * runc sends it. From here on the agent answers this process' notified syscalls.
 */
static int op_send_listener(const struct field *f)
{
	size_t len;
	char *state = join_pid(&f[0], &len);
	if (!state)
		return -1;
	if (notifyfd < 0 || listenfd < 0) {
		free(state);
		errno = EBADF;
		return -1;
	}
	int rc = send_fd(listenfd, notifyfd, state, len);
	free(state);
	xclose(notifyfd);
	xclose(listenfd);
	notifyfd = listenfd = -1;
	return rc;
}

/* ---------------------------------------------------------------- dispatch */

static const struct opdef OPS[] = {
	[1] = { "setns", "si", op_setns },
	[2] = { "unshare", "i", op_unshare },
	[3] = { "clone", "ii", op_clone },
	[4] = { "waitContinue", "", op_wait_continue },
	[5] = { "writeFile", "sib", op_write_file },
	[6] = { "sethostname", "s", op_sethostname },
	[7] = { "setdomainname", "s", op_setdomainname },
	[8] = { "openRoot", "s", op_open_root },
	[9] = { "mount", "sisisis", op_mount },
	[10] = { "mkdirAll", "si", op_mkdir_all },
	[11] = { "mkfile", "si", op_mkfile },
	[12] = { "mknod", "sii", op_mknod },
	[13] = { "symlink", "ss", op_symlink },
	[14] = { "chown", "sii", op_chown },
	[15] = { "pivotRoot", "", op_pivot_root },
	[16] = { "chrootMove", "", op_chroot_move },
	[17] = { "mask", "s", op_mask },
	[18] = { "readonly", "s", op_readonly },
	[19] = { "setrlimit", "iii", op_setrlimit },
	[20] = { "setsid", "", op_setsid },
	[21] = { "joinKeyring", "s", op_join_keyring },
	[22] = { "prctl", "ii", op_prctl },
	[23] = { "setgroups", "u", op_setgroups },
	[24] = { "setresgid", "i", op_setresgid },
	[25] = { "setresuid", "i", op_setresuid },
	[26] = { "capBounding", "i", op_cap_bounding },
	[27] = { "capset", "iii", op_capset },
	[28] = { "capAmbient", "i", op_cap_ambient },
	[29] = { "umask", "i", op_umask },
	[30] = { "chdir", "si", op_chdir },
	[31] = { "closeFrom", "i", op_close_from },
	[32] = { "seccomp", "bi", op_seccomp },
	[33] = { "openStateDir", "s", op_open_state_dir },
	[34] = { "waitStart", "", op_wait_start },
	[35] = { "consoleConnect", "s", op_console_connect },
	[36] = { "console", "ii", op_console },
	[37] = { "exec", "ll", op_exec },
	[38] = { "checkExec", "ll", op_check_exec },
	[39] = { "chroot", "s", op_chroot },
	[40] = { "openCgroup", "ls", op_open_cgroup },
	[41] = { "joinCgroup", "", op_join_cgroup },
	[42] = { "openNs", "si", op_open_ns },
	[43] = { "joinOpenedNs", "", op_join_opened_ns },
	[44] = { "runHook", "sllil", op_run_hook },
	[45] = { "deviceFilter", "sb", op_device_filter },
	[46] = { "listenerConnect", "s", op_listener_connect },
	[47] = { "sendListener", "l", op_send_listener },
};

#ifndef HUSK_COMMIT
#define HUSK_COMMIT "unknown"
#endif

int main(int argc, char **argv)
{
	char *end;
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		puts(HUSK_COMMIT);
		return 0;
	}
	if (argc != 2 || !*argv[1])
		die(2, "usage: husk-helper <syncfd>", 0);
	long fd = strtol(argv[1], &end, 10);
	if (*end || fd < 0 || fd > INT_MAX)
		die(2, "usage: husk-helper <syncfd>", 0);

	reexec_sealed(argv);

	syncfd = (int)fd;
	if (fcntl(syncfd, F_SETFD, FD_CLOEXEC) < 0)
		die(2, "sync fd", errno);

	unsigned n;
	struct op *ops = read_plan(OPS, sizeof OPS / sizeof OPS[0], &n);
	for (step = 0; step < (int)n; step++) {
		const struct opdef *d = &OPS[ops[step].code];
		opname = d->name;
		if (d->run(ops[step].f) < 0)
			fail(errno);
	}
	_exit(0);
}
