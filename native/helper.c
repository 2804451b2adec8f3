/*
 * husk-helper: executes a plan compiled by husk (src/plan/ops.ts, wire format in
 * src/helper/encode.ts and wire.ts). It has no policy: every decision (which namespaces, which mounts,
 * in which order) was made in TypeScript. It exists because a multi-threaded runtime
 * (Node, Bun) may not unshare(CLONE_NEWUSER), setns() into a mount namespace, or do much
 * of anything between fork and exec.
 *
 * Usage: husk-helper [--netlink | --netns-ahead] <syncfd>
 *        husk-helper --batch COUNT SHAPE           (COUNT spare helpers from one start, see batch.c)
 *        husk-helper --flock PATH | --flocks      (flock for Node, see hold_flock)
 *        husk-helper --xattrs                      (read xattrs for node:fs, see xattrs.c)
 *        husk-helper --remove                      (delete trees for Node, see remove.c)
 *
 * --netlink: the plan is only `netlink` ops (the host side of a container's network). Such a
 * helper never joins a container's pid or mount namespace nor runs its code, so no container
 * can reach its /proc/<pid>/exe and the sealed re-exec below (a whole second exec of this
 * binary) is skipped; a plan with any other op is refused.
 *
 * Files: helper.c (this: the sync channel, reading the plan, dispatch), root.c (paths, mounts
 * and files inside the root), process.c (namespaces, credentials, seccomp, exec), cgroup.c,
 * start.c (the start barrier, the container's own hooks), sockets.c (console, seccomp agent),
 * xattrs.c (--xattrs), remove.c (--remove), batch.c (--batch);
 * helper.h holds what they share.
 *
 * The sync channel (src/helper/sync-protocol.ts; keep the two drawings in step):
 *
 *   husk (TS)                          helper parent (H)             container child (C)
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
 *                                      Wait: waitpid(C), exit with its status (128+sig)
 *                                      Detach: exit (0 once C is set up)
 *   ◀──────────────────────────────────────────── MSG_WAITING(step) ── at `waitContinue`
 *   id maps (user namespace only),
 *   prestart/createRuntime hooks
 *   MSG_CONTINUE ───────────────────────────────────────────────────▶ the rest of the plan
 *   ◀──────────────────────────────────────────── MSG_CREATED(step) ── at `waitStart`, then
 *                                                                      blocks on exec.fifo
 *   ◀──────────────────────────────────────────── MSG_ERROR(step, errno, status) on failure, exit 1
 *   ◀──────────────── MSG_DONE(n) ──  (--netlink) the whole plan ran; exit 0
 *   EOF ◀──────────────────────────────────────────────────────────── execve succeeded
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
 * Every message is 16 bytes: u32 type · i32 a · i32 b · i32 c, little endian. A step is the
 * 0-based index of the op in the plan. EOF instead of a plan, or while waiting for MSG_CONTINUE:
 * exit 1 silently.
 * Exit status: 1 after a failed step, 2 for a malformed plan or bad usage (a husk bug).
 *
 * The ops, their codes and field kinds are listed once, in src/helper/wire.ts; native/wire.h is
 * generated from it (HUSK_OPS) and both the dispatch table below and the prototypes in helper.h
 * are built from that list.
 */
#include "helper.h"

int syncfd = -1;       /* the sync channel; CLOEXEC, so execve closes it */
int rootfd = -1;       /* openRoot: the root for Where.InRoot paths until the switch */
int fifofd = -1;       /* openExecFifo: the read end of exec.fifo, never its directory */
int consfd = -1;       /* consoleConnect: the --console-socket connection */
int proxyfd = -1;      /* consoleProxy: the parent's end, where the child sends the pty master */
int lingerfd = -1;     /* the child's word to the parent of clone: 'S' set up, 'F' failed */
int cgtasks[16];       /* openCgroup: v1 `tasks` files the child writes "0" to */
int ncgtasks;
int cgdirfd = -1;      /* openCgroup: the v2 cgroup, for clone3(CLONE_INTO_CGROUP) */
int cgprocsfd = -1;    /* openCgroup: its cgroup.procs, if clone3 could not place the child */
int cgplaced;          /* clone3 put the child in the v2 cgroup */
int heldns[8][2];      /* openNs: (fd, nstype) to join after clone */
int nheldns;
int switched;          /* after pivotRoot/chrootMove, "/" is the container's root */
int step = -1;         /* index of the op being run, for MSG_ERROR */
int32_t errdetail;     /* MSG_ERROR's third field: a failed hook's status (see op_run_hook) */
int32_t hostpid;       /* the child's pid as husk sees it (from the parent, see op_clone) */
int listenfd = -1;     /* listenerConnect: the seccomp agent's socket */
int notifyfd = -1;     /* seccomp: the listener of a filter with SCMP_ACT_NOTIFY rules */
const char *opname = "startup";

/* ---------------------------------------------------------------- sync channel */

void put32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

uint32_t get32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* MSG_NOSIGNAL: husk may be gone; a SIGPIPE must not kill us before we can say why. */
int send_msg(uint32_t type, int32_t a, int32_t b, int32_t c)
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
size_t read_full(int fd, void *buf, size_t n)
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

/* Write all of p, whatever a signal or a short write does; -1 with errno on failure. */
int write_all(int fd, const char *p, size_t n)
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

/* The one error path: husk turns (step, errno) into a message naming the spec path. */
/* Tell the parent of clone how setup went (see op_clone). */
void linger_say(char what)
{
	if (lingerfd >= 0)
		(void)!write(lingerfd, &what, 1);
}

_Noreturn void fail(int err)
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

_Noreturn void die(int status, const char *what, int err)
{
	dprintf(2, "husk-helper: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
	_exit(status);
}

void xclose(int fd)
{
	int saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
}

/*
 * --flock PATH: flock(LOCK_EX) for a caller that cannot (Node has no flock): say "L" on stdout
 * once held, keep it until stdin closes (the caller released it, or died).
 */
/* Open path, flock it, say "L": the fd, or the process ends with the error on stderr. */
static int lock_and_say(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(1, path, errno);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			die(1, "flock", errno);
	if (write(1, "L", 1) != 1)
		_exit(1);
	return fd;
}

static _Noreturn void hold_flock(const char *path)
{
	char c;
	(void)lock_and_say(path);
	for (;;) {
		ssize_t n = read(0, &c, 1);
		if (n == 0 || (n < 0 && errno != EINTR))
			_exit(0);
	}
}

/*
 * One line of stdin (the --flocks and --remove protocols) into buf (PATH_MAX + 1 bytes),
 * without its newline: its length, or -1 at EOF or a failed read. A line longer than PATH_MAX
 * ends the process, `mode` naming it in the message.
 */
ssize_t read_stdin_line(char *buf, const char *mode)
{
	/*
	 * Read ahead in chunks, not a byte at a time (a removed container's path was ~120 reads):
	 * nothing else reads this process's stdin, so what is past a line waits here for the next call.
	 */
	static char in[4096];
	static size_t at, end;
	size_t len = 0;
	for (;;) {
		if (at == end) {
			ssize_t n = read(0, in, sizeof in);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			at = 0;
			end = (size_t)n;
		}
		char c = in[at++];
		if (c == '\n') {
			buf[len] = 0;
			return (ssize_t)len;
		}
		if (len == PATH_MAX)
			die(2, mode, ENAMETOOLONG);
		buf[len++] = c;
	}
}

/*
 * --flocks: --flock for one lock after another, so that a caller without flock spawns one
 * process for many locks: each line on stdin names a path, locked as --flock does ("L" once
 * held); an empty line releases it ("U"); EOF releases what is held and exits. A path that
 * cannot be opened or locked ends the process as --flock's does (the message on stderr).
 */
static _Noreturn void hold_flocks(void)
{
	char path[PATH_MAX + 1];
	int fd = -1;
	for (;;) {
		ssize_t len = read_stdin_line(path, "--flocks");
		if (len < 0)
			_exit(0);
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (len == 0) {
			if (write(1, "U", 1) != 1)
				_exit(1);
			continue;
		}
		fd = lock_and_say(path);
	}
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
	size_t got = read_full(syncfd, lenbuf, 4);
	/* husk may start the helper before the plan is made, and then not make it: EOF, no message. */
	if (got == 0)
		return NULL;
	if (got != 4)
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

/* ---------------------------------------------------------------- dispatch */

static const struct opdef OPS[] = {
#define X(code, name, kinds, fn) [code] = { #name, kinds, fn },
	HUSK_OPS(X)
#undef X
};

/*
 * parentNetlink, in the parent of clone: husk's netlink plan read from the channel (see net.c);
 * NULL at EOF instead of a plan (husk gave up). Only netlink ops: anything else is a malformed plan.
 */
struct op *read_netlink_plan(unsigned *count)
{
	struct op *ops = read_plan(OPS, sizeof OPS / sizeof OPS[0], count);
	for (unsigned k = 0; ops && k < *count; k++)
		if (OPS[ops[k].code].run != op_netlink)
			malformed("parentNetlink: the plan has an op other than netlink");
	return ops;
}

/* ---------------------------------------------------------------- --netns-ahead */

/*
 * A spare helper (src/helper/spares.ts) waits for a plan it does not know yet. Most plans give
 * their container a new network namespace, whose making is ~0.7 ms of the kernel's (every
 * pernet subsystem's init, lo): made here while we wait, it is off the container's path. A
 * plan it fits (see netns_ahead_fits) clones without CLONE_NEWNET, so its child starts in this
 * one, and op_clone puts us back in our own; any other plan goes back to it first, and the
 * namespace made ahead goes with its last reference. Unprivileged, unshare fails and nothing
 * is made.
 */
int aheadnet = -1;

static void make_netns_ahead(void)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return;
	if (unshare(CLONE_NEWNET) < 0) {
		close(self);
		return;
	}
	aheadnet = self;
}

/*
 * Ops that may run before the clone in the namespace made ahead: none of them cares which
 * network namespace it runs in (cgroup files, fifos and unix sockets by path, detached mounts
 * of host paths and what is made in them, the monitor and the terminal's proxy).
 */
static int netns_blind(int (*run)(const struct field *))
{
	return run == op_open_cgroup || run == op_owner_lifeline || run == op_cgroup_remove_on_exit ||
	       run == op_open_exec_fifo || run == op_mkfifo || run == op_console_connect || run == op_listener_connect ||
	       run == op_parent_netlink || run == op_detach_keys || run == op_console_proxy || run == op_monitor ||
	       run == op_attach || run == op_precreate || run == op_open_tree || run == op_idmap_mount ||
	       run == op_device_filter || run == op_cgroup_mkdirs || run == op_cgroup_write;
}

/*
 * The plan's first op that makes a process is a clone into a new network namespace, without a
 * new user namespace (which must own the network namespace made for it), and every op before
 * it is netns_blind: the engine's overlay rootfs (fsMount) too, but no other filesystem, which
 * could be a network one, made in a namespace without a route.
 */
static int netns_ahead_fits(const struct op *ops, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		int (*run)(const struct field *) = OPS[ops[k].code].run;
		if (run == op_clone)
			return (ops[k].f[0].i & CLONE_NEWNET) && !(ops[k].f[0].i & CLONE_NEWUSER);
		if (!netns_blind(run) && !(run == op_fs_mount && !strcmp(ops[k].f[1].s, "overlay")))
			return 0;
	}
	return 0;
}

/* Back in our own network namespace, the one made ahead let go (ours no longer held). */
int leave_netns_ahead(void)
{
	if (setns(aheadnet, CLONE_NEWNET) < 0)
		return -1;
	close(aheadnet);
	aheadnet = -1;
	return 0;
}

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
	if (argc == 3 && strcmp(argv[1], "--flock") == 0)
		hold_flock(argv[2]);
	if (argc == 2 && strcmp(argv[1], "--flocks") == 0)
		hold_flocks();
	if (argc == 2 && strcmp(argv[1], "--xattrs") == 0)
		serve_xattrs();
	if (argc == 2 && strcmp(argv[1], "--remove") == 0)
		serve_removals();
	long fd = 0;
	int batch = argc == 4 && strcmp(argv[1], "--batch") == 0;
	int netlink_only = argc == 3 && strcmp(argv[1], "--netlink") == 0;
	int ahead = batch || (argc == 3 && strcmp(argv[1], "--netns-ahead") == 0);
	if (!batch) {
		const char *fdtext = argv[1 + (netlink_only || ahead)];
		if (argc != 2 + (netlink_only || ahead) || !*fdtext)
			die(2, "usage: husk-helper [--netlink | --netns-ahead] <syncfd>", 0);
		fd = strtol(fdtext, &end, 10);
		if (*end || fd < 0 || fd > INT_MAX)
			die(2, "usage: husk-helper [--netlink | --netns-ahead] <syncfd>", 0);
	}

	/*
	 * Started from a sealed copy that husk's process keeps (src/helper/sealed-image.ts), the
	 * kernel named us after its /proc/<pid>/fd/<n> path: a number. Say what we are.
	 */
	prctl(PR_SET_NAME, "husk-helper", 0, 0, 0);
	if (!netlink_only)
		reexec_sealed(argv);
	/* A batch returns in each helper it forks (see batch.c), with its sync fd. */
	if (batch)
		fd = run_batch(argv[2], argv[3]);

	syncfd = (int)fd;
	if (fcntl(syncfd, F_SETFD, FD_CLOEXEC) < 0)
		die(2, "sync fd", errno);
	/*
	 * husk passes stdio, the preserved fds and then the sync channel, nothing above it: close
	 * anything else a caller leaked to us before it could reach a container.
	 */
	if (syscall(SYS_close_range, (unsigned)syncfd + 1, ~0U, 0) < 0)
		die(2, "close_range", errno);

	if (ahead)
		make_netns_ahead();
	unsigned n;
	struct op *ops = read_plan(OPS, sizeof OPS / sizeof OPS[0], &n);
	if (!ops)
		_exit(1);
	if (aheadnet >= 0 && !netns_ahead_fits(ops, n) && leave_netns_ahead() < 0)
		die(1, "setns back to our network namespace", errno);
	for (unsigned k = 0; netlink_only && k < n; k++)
		if (OPS[ops[k].code].run != op_netlink)
			malformed("--netlink: the plan has an op other than netlink");
	for (step = 0; step < (int)n; step++) {
		const struct opdef *d = &OPS[ops[step].code];
		opname = d->name;
		if (d->run(ops[step].f) < 0)
			fail(errno);
	}
	/* Said before exiting: husk goes on without waiting to reap us. */
	if (netlink_only)
		(void)send_msg(MSG_DONE, (int32_t)n, 0, 0);
	_exit(0);
}
