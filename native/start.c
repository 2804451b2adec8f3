/*
 * The create/start barrier (runc's exec fifo) and the hooks the container process runs itself
 * (createContainer before the root switch, startContainer after `start`).
 */
#include "helper.h"

/* ---------------------------------------------------------------- create/start, console */

/* exec.fifo, made by the helper's parent before clone: node:fs has no mkfifo. */
int op_mkfifo(const struct field *f)
{
	if (mknod(f[0].s, S_IFIFO | 0600, 0) < 0)
		return -1;
	if (lchown(f[0].s, (uid_t)f[2].i, (gid_t)f[3].i) < 0)
		return -1;
	return chmod(f[0].s, (mode_t)f[1].i & 07777);
}

/*
 * The create/start barrier, held by the fifo's read end: not its directory, since a host
 * directory fd in the init would let a cwd (or anything else the container steers through
 * /proc/self/fd) reach the host (CVE-2024-21626); and opened here, before the root switch,
 * so that waiting needs no path and no /proc. O_NONBLOCK: opening a read end does not wait
 * for a writer. O_NOFOLLOW and the type check make sure it is the fifo husk made.
 */
int op_open_exec_fifo(const struct field *f)
{
	int fd = open(f[0].s, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		xclose(fd);
		errno = EINVAL;
		return -1;
	}
	xclose(fifofd);
	fifofd = fd;
	return 0;
}

/*
 * Wait for `husk start`, which opens the fifo for writing (that fails with ENXIO once we are
 * gone: start can tell a dead init) and writes one byte. poll() reports a FIFO readable once a
 * writer has written, or hung up once one has come and gone; either is the start.
 */
int op_wait_start(const struct field *f)
{
	(void)f;
	char c;
	linger_say('S');
	xclose(lingerfd); /* the parent of clone may leave: we stay alive */
	lingerfd = -1;
	send_msg(MSG_CREATED, step, 0, 0);
	struct pollfd p = { .fd = fifofd, .events = POLLIN };
	int n;
	while ((n = poll(&p, 1, -1)) < 0 && errno == EINTR)
		;
	int err = n < 0 ? errno : 0;
	if (n > 0)
		(void)!read(fifofd, &c, 1);
	xclose(fifofd);
	fifofd = -1;
	errno = err;
	return err ? -1 : 0;
}

/* ---------------------------------------------------------------- hooks in the container */

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
char *join_pid(const struct field *parts, size_t *len)
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

int op_run_hook(const struct field *f)
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
