/*
 * Namespaces (setns, unshare, the clone that makes the container process, joins after it),
 * the process' limits, credentials and seccomp filter, and the final exec.
 */
#include "helper.h"

/* ---------------------------------------------------------------- namespaces and process */

int op_setns(const struct field *f)
{
	int fd = open(f[0].s, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = setns(fd, (int)f[1].i);
	xclose(fd);
	return rc;
}

int op_unshare(const struct field *f)
{
	return unshare((int)f[0].i);
}


/*
 * ownerLifeline: husk keeps its end of the sync channel for as long as it wants the container.
 * Its process dying (SIGKILL, a crash) closes that end, the kernel's doing, so the helper's
 * parent sees EOF there and kills the child: a library's foreground container does not outlive
 * its owner. Not PR_SET_PDEATHSIG: that fires when the parent *thread* exits (husk's runtimes
 * are multi-threaded) and is cleared by the child's own setuid.
 */
static int lifeline;

int op_owner_lifeline(const struct field *f)
{
	(void)f;
	lifeline = 1;
	return 0;
}

/* fds 0–2 onto /dev/null (a failed open leaves them as they are: they only delay an EOF). */
static void release_stdio(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return;
	for (int std = 0; std < 3; std++)
		dup2(null, std);
	close(null);
}

/*
 * MSG_STARTED: the child's start time (field 22 of /proc/<pid>/stat, clock ticks since boot;
 * a = its low 32 bits, b = its high ones), which husk keeps to tell its pid from a reused one.
 * Read here, beside the child's setup: a new pid's first /proc read costs ~50-75 us, and husk's
 * thread need not pay it. Nothing is said if it cannot be read (husk reads it then).
 */
static void say_start_time(pid_t pid)
{
	char path[32], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	for (int field = 2; p && *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (!p || *p < '0' || *p > '9')
		return;
	unsigned long long t = strtoull(p, NULL, 10);
	send_msg(MSG_STARTED, (int32_t)(uint32_t)t, (int32_t)(uint32_t)(t >> 32), 0);
}

/* Until pid exits: poll the sync channel and a pidfd; EOF on the channel SIGKILLs pid. */
static void watch_lifeline(pid_t pid)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return; /* before Linux 5.3: no watch, a plain wait */
	struct pollfd p[2] = { { .fd = syncfd, .events = POLLIN }, { .fd = pfd, .events = POLLIN } };
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents) {
			char buf[64];
			ssize_t n = read(syncfd, buf, sizeof buf);
			if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
				continue; /* husk says nothing on it; only its closing matters */
			kill(pid, SIGKILL);
			break;
		}
	}
	close(pfd);
}

/*
 * The raw syscall with a NULL stack has fork semantics and, unlike fork(), takes namespace
 * flags: CLONE_NEWPID and CLONE_NEWUSER only apply to children, which is why `clone` is an
 * op and not an unshare. (x86_64/arm64 argument order; the unused tid/tls args are 0.)
 */
int op_clone(const struct field *f)
{
	static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGPIPE };
	int gate[2], linger[2] = { -1, -1 }, ready[2] = { -1, -1 };
	char c;
	if (pipe2(gate, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(linger, O_CLOEXEC) < 0 || (parentnet_step >= 0 && pipe2(ready, O_CLOEXEC) < 0)) {
		xclose(gate[0]);
		xclose(gate[1]);
		xclose(linger[0]);
		xclose(linger[1]);
		return -1;
	}
	long pid = -1;
	/* A network namespace made ahead (helper.c) is the child's: it inherits ours. */
	uint64_t flags = (uint64_t)f[0].i & ~(uint64_t)(aheadnet >= 0 ? CLONE_NEWNET : 0);
	if (cgdirfd >= 0) {
		/*
		 * Born in its v2 cgroup: no cgroup.procs write later, whose global lock costs an
		 * RCU grace period (~20 ms). Any refusal (old kernel, a joined cgroup namespace
		 * that does not contain us) falls back to clone and a write in the child.
		 */
		struct clone_args args = {
			.flags = flags | CLONE_INTO_CGROUP,
			.exit_signal = SIGCHLD,
			.cgroup = (uint64_t)cgdirfd,
		};
		pid = syscall(SYS_clone3, &args, sizeof args);
		cgplaced = pid >= 0;
	}
	if (pid < 0)
		pid = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0) {
		xclose(gate[0]);
		xclose(gate[1]);
		xclose(linger[0]);
		xclose(linger[1]);
		xclose(ready[0]);
		xclose(ready[1]);
		return -1;
	}
	if (pid == 0) {
		xclose(aheadnet); /* the host's network namespace: not the container's to hold, even until exec */
		aheadnet = -1;
		if (f[1].i == CLONE_MONITOR)
			monitor_child();
		xclose(proxyfd);
		proxyfd = -1;
		close(linger[0]);
		lingerfd = linger[1];
		xclose(ready[1]);
		parentnet_ready = ready[0];
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
	xclose(ready[0]);
	close_cgroup_fds();
	close_detached_mounts();
	/* Back in our own network namespace: parentNetlink works from the host's. */
	if (aheadnet >= 0 && leave_netns_ahead() < 0) {
		int err = errno;
		kill((pid_t)pid, SIGKILL);
		errno = err;
		return -1;
	}
	/*
	 * The console and seccomp agent connections (made before clone) and the child's end of a
	 * consoleProxy pair are the child's alone: a receiver must see them close when it is done.
	 */
	xclose(consfd);
	consfd = -1;
	xclose(listenfd);
	listenfd = -1;
	if (f[1].i == CLONE_MONITOR)
		monitor_parent();
	/* husk forwards signals to the child by pid; a terminal's signal must not kill us first. */
	for (size_t k = 0; f[1].i == CLONE_WAIT && k < sizeof forwarded / sizeof forwarded[0]; k++)
		signal(forwarded[k], SIG_IGN);
	send_msg(MSG_PID, (int32_t)pid, 0, 0);
	/*
	 * parentNetlink (net.c): asked for before the gate opens, so husk hears it before anything
	 * the child says. A child in a new user namespace reads the channel too (MSG_CONTINUE after
	 * its id maps): then the plan is read before the gate opens, else while the child runs on.
	 */
	int netlink = parentnet_step >= 0, hold = netlink && (f[0].i & CLONE_NEWUSER);
	struct op *netplan = NULL;
	unsigned nnet = 0;
	if (netlink)
		send_msg(MSG_WAITING, parentnet_step, 0, 0);
	if (hold)
		netplan = read_netlink_plan(&nnet);
	/* The child's pid in our (husk's) pid namespace, for the state JSON it hands out. */
	int32_t hp = (int32_t)pid;
	(void)!write(gate[1], &hp, sizeof hp);
	close(gate[1]);
	if (netlink && !hold)
		netplan = read_netlink_plan(&nnet);
	if (netplan)
		parent_netlink(netplan, nnet, ready[1]);
	else if (netlink)
		kill((pid_t)pid, SIGKILL); /* husk gave up: the child must not run without its network */
	xclose(ready[1]);
	say_start_time((pid_t)pid);
	/*
	 * Stay until the child is set up. It writes 'S' when it is (at the start barrier, or just
	 * before execve) and 'F' when a step failed (then it sends MSG_ERROR itself); its end of
	 * the linger pipe closes at exec (CLOEXEC) or death. A child that died without a word (a
	 * seccomp kill, the OOM killer) is reaped here, not left an orphan zombie, and reported
	 * as MSG_DIED; after a last 'S' a detached child lives on and we leave.
	 */
	char last = 0;
	ssize_t n;
	while ((n = read(linger[0], &c, 1)) != 0)
		if (n == 1)
			last = c;
		else if (errno != EINTR)
			break;
	close(linger[0]);
	int status = 0, reaped = last != 'S';
	while (reaped && waitpid((pid_t)pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	if (reaped && last != 'F')
		send_msg(MSG_DIED, code, 0, 0);
	int watch = lifeline && f[1].i == CLONE_WAIT && !reaped && proxyfd < 0;
	/* A proxied terminal with detach keys keeps the channel to say MSG_DETACHED on (sockets.c). */
	int proxy_keeps = detachkeys && f[1].i == CLONE_WAIT && !reaped && proxyfd >= 0;
	if (watch || proxy_keeps) {
		send_msg(MSG_RUNNING, 0, 0, 0);
		/*
		 * Watching, this process needs no stdio of its own any more: its copies of the
		 * container's pipes would hold their reader's EOF back until its own exit.
		 */
		if (watch)
			release_stdio();
	} else {
		close(syncfd);
		syncfd = -1;
	}
	if (f[1].i == CLONE_MONITOR && last == 'S')
		monitor_run((pid_t)pid, proxied_master());
	if (f[1].i != CLONE_WAIT)
		_exit(last == 'S' ? 0 : 1);
	if (!reaped && proxyfd >= 0) {
		status = proxy_console((pid_t)pid, lifeline);
		reaped = 1;
	}
	if (watch)
		watch_lifeline((pid_t)pid);
	while (!reaped && waitpid((pid_t)pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	int cgroup_gone = remove_cgroup_on_exit();
	/* Said before this process's own exit, which husk would otherwise wait for (Node: a hop more, through --batch). */
	if (watch)
		send_msg(MSG_EXITED, code, cgroup_gone, 0);
	_exit(code);
}

int op_wait_continue(const struct field *f)
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

int op_sethostname(const struct field *f)
{
	return sethostname(f[0].s, f[0].len);
}

int op_setdomainname(const struct field *f)
{
	return setdomainname(f[0].s, f[0].len);
}

int op_setrlimit(const struct field *f)
{
	struct rlimit rl = {
		.rlim_cur = f[1].i == -1 ? RLIM_INFINITY : (rlim_t)f[1].i,
		.rlim_max = f[2].i == -1 ? RLIM_INFINITY : (rlim_t)f[2].i,
	};
	return prlimit(0, (int)f[0].i, &rl, NULL);
}

int op_personality(const struct field *f)
{
	return personality((unsigned long)f[0].i) < 0 ? -1 : 0;
}

/* struct sched_attr as of Linux 3.14 (SCHED_ATTR_SIZE_VER0); the kernel takes its size. */
struct sched_attr_v0 {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

int op_sched_setattr(const struct field *f)
{
	struct sched_attr_v0 attr = {
		.size = sizeof attr,
		.sched_policy = (uint32_t)f[0].i,
		.sched_flags = (uint64_t)f[1].i,
		.sched_nice = (int32_t)f[2].i,
		.sched_priority = (uint32_t)f[3].i,
		.sched_runtime = (uint64_t)f[4].i,
		.sched_deadline = (uint64_t)f[5].i,
		.sched_period = (uint64_t)f[6].i,
	};
	return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}

int op_ioprio_set(const struct field *f)
{
	return (int)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)f[0].i);
}

int op_set_affinity(const struct field *f)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	for (uint32_t k = 0; k + 4 <= f[0].len; k += 4) {
		uint32_t cpu;
		memcpy(&cpu, f[0].s + k, 4);
		if (cpu >= CPU_SETSIZE) {
			errno = EINVAL;
			return -1;
		}
		CPU_SET(cpu, &set);
	}
	return sched_setaffinity(0, sizeof set, &set);
}

int op_setsid(const struct field *f)
{
	(void)f;
	return setsid() < 0 ? -1 : 0;
}

/* An empty name joins a new anonymous session keyring. */
int op_join_keyring(const struct field *f)
{
	return syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, or_null(&f[0])) < 0 ? -1 : 0;
}

int op_prctl(const struct field *f)
{
	return prctl((int)f[0].i, (unsigned long)f[1].i, 0UL, 0UL, 0UL) < 0 ? -1 : 0;
}

/*
 * Credentials go through raw syscalls: the libc's wrappers (glibc's and musl's alike)
 * broadcast to every thread it knows of, and after a raw clone its idea of "this thread" is
 * the parent's.
 */
int op_setgroups(const struct field *f)
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

/*
 * (uid_t)-1 means "leave unchanged" to setresuid: a spec id of 4294967295 would keep root.
 * husk refuses such ids; the helper also checks that it got exactly the ids it asked for.
 */
static int check_ids(long call, int64_t want)
{
	uid_t r, e, s;
	if (syscall(call, &r, &e, &s) < 0)
		return -1;
	if (r != (uid_t)want || e != (uid_t)want || s != (uid_t)want) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int op_setresgid(const struct field *f)
{
	gid_t g = (gid_t)f[0].i;
	if (f[0].i < 0 || f[0].i >= 0xffffffffLL) {
		errno = EINVAL;
		return -1;
	}
	return syscall(SYS_setresgid, g, g, g) < 0 ? -1 : check_ids(SYS_getresgid, f[0].i);
}

int op_setresuid(const struct field *f)
{
	uid_t u = (uid_t)f[0].i;
	if (f[0].i < 0 || f[0].i >= 0xffffffffLL) {
		errno = EINVAL;
		return -1;
	}
	return syscall(SYS_setresuid, u, u, u) < 0 ? -1 : check_ids(SYS_getresuid, f[0].i);
}

/* PR_CAPBSET_READ answers EINVAL past the kernel's last capability: no /proc needed. */
int op_cap_bounding(const struct field *f)
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

int op_capset(const struct field *f)
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

int op_cap_ambient(const struct field *f)
{
	uint64_t raise = (uint64_t)f[0].i;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) < 0)
		return -1;
	for (unsigned long cap = 0; cap < 64; cap++)
		if ((raise >> cap & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0UL, 0UL) < 0)
			return -1;
	return 0;
}

int op_umask(const struct field *f)
{
	umask((mode_t)f[0].i);
	return 0;
}

/*
 * chdir, then make sure the directory reached is inside the root: a path the container can
 * change under us (a shared volume, a rename race to a /proc/self/fd link) must not leave the
 * process in a host directory (CVE-2024-21626). The kernel's getcwd prefixes a directory
 * outside the root with "(unreachable)"; that is refused with EXDEV.
 */
static int same_dir(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/*
 * Is the cwd under the root? Walk ".." up from it: ".." stops at the root for a path inside
 * it, while from outside the walk passes it by and ends at the real top, where ".." is ".".
 * For a seccomp profile that refuses getcwd (runtime-tools' does; crun copes, runc 1.1.12 not).
 */
static int cwd_inside_root(void)
{
	struct stat root, here, up;
	int fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), rc = -1;
	if (fd < 0 || stat("/", &root) < 0 || fstat(fd, &here) < 0)
		goto out;
	for (int depth = 0; depth < 4096; depth++) {
		if (same_dir(&here, &root)) {
			rc = 1;
			break;
		}
		int parent = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0 || fstat(parent, &up) < 0) {
			xclose(parent);
			break;
		}
		xclose(fd);
		fd = parent;
		if (same_dir(&up, &here)) {
			rc = 0;
			break;
		}
		here = up;
	}
out:
	xclose(fd);
	return rc;
}

/*
 * runc's order: the cwd is entered before the uid switch (a directory only root may enter,
 * while root still has CAP_DAC_OVERRIDE) and, only if that was refused, again after it (a
 * directory only the container's user may enter: root squash on NFS, a 0700 volume).
 * Repeating a chdir that worked could fail once the capabilities are gone.
 */
static int cwd_entered;

int op_chdir(const struct field *f)
{
	if (!f[1].i && cwd_entered)
		return 0;
	if (chdir(f[0].s) < 0)
		return f[1].i && (errno == EACCES || errno == EPERM) ? 0 : -1;
	char cwd[PATH_MAX];
	int inside = syscall(SYS_getcwd, cwd, sizeof cwd) >= 0 ? cwd[0] == '/' : cwd_inside_root();
	if (inside < 0)
		return -1;
	if (!inside) {
		errno = EXDEV;
		return -1;
	}
	cwd_entered = f[1].i != 0;
	return 0;
}

/* CLOEXEC rather than close: fds still in use until execve (the sync channel) keep working. */
/*
 * Mark every fd from `first` on close-on-exec. close_range is one syscall, but a seccomp
 * profile loaded earlier (no no_new_privs: the filter goes in while we still hold
 * CAP_SYS_ADMIN) may refuse it; fcntl over the open fds is what such profiles allow.
 */
int op_close_from(const struct field *f)
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

int op_seccomp(const struct field *f)
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


/* ---------------------------------------------------------------- exec */

/* Ignored signals and the mask survive execve; a program starts from the defaults. */
void reset_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP and libc's own refuse: fine */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

char **split_list(const struct field *f)
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
int op_check_exec(const struct field *f)
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

int op_exec(const struct field *f)
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


/* ---------------------------------------------------------------- namespaces joined after clone */

int op_open_ns(const struct field *f)
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

int op_join_opened_ns(const struct field *f)
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

/* ---------------------------------------------------------------- --init */

/*
 * A minimal PID 1 (tini's job): fork; the child goes on to exec the container's program, this
 * process stays as the init. Every signal is blocked and taken with sigwaitinfo: the kernel
 * drops a signal PID 1 has no handler for, but never a blocked one. A signal is passed on to
 * the program; SIGCHLD reaps every exited child (orphans reparented to us included), and the
 * program's end is ours: its exit status, or 128+N for signal N.
 */
int op_init(const struct field *f)
{
	(void)f;
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	/* The channel, the linger pipe and any other fd are the program's business, not ours. */
	xclose(syncfd);
	syncfd = -1;
	xclose(lingerfd);
	lingerfd = -1;
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	prctl(PR_SET_NAME, (unsigned long)"husk-init", 0UL, 0UL, 0UL);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == child)
				_exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
	}
}
