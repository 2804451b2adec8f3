/*
 * --batch COUNT SHAPE: spare helpers forked on request from one start (src/sys/node.ts).
 *
 * A caller that makes container after container keeps a helper started ahead for its next
 * one (src/helper/spares.ts). Node starts a process by fork(), which copies its whole address
 * space's page tables: ~1.4 ms of its one JavaScript thread per helper, the largest single cost
 * of a container there. This process is started once for COUNT helpers and forks each when
 * asked (a fork of a small static process is ~0.1 ms), at the moment the caller would have
 * started it: one at a time, each making its network namespace ahead while the container
 * before it runs, not all at once.
 *
 * SHAPE says what each helper's stdin, stdout and stderr are: a letter each, 'i' this
 * process's own (the caller's, inherited), 'n' /dev/null, 'p' a pipe of the caller's. The
 * caller passes, from fd 3 on, a set per helper: one fd per 'p' in SHAPE's order, then the
 * helper's sync channel; after the last set, the control channel. A helper's set becomes its
 * fds 0–2 and 3 (its sync fd), and nothing else of the batch stays open in it; this process
 * closes each set once it has forked its helper, so a helper's channel ends when it does.
 *
 * On the control channel the caller writes a byte for each helper it wants forked, in order.
 * This process answers in 12-byte records (u32 type, i32 index, i32 value, little endian):
 * BATCH_STARTED(index, pid) once it forked one, BATCH_EXITED(index, status) once it reaped it
 * (its exit code, 128+N when killed by signal N; 255 for one that could not be forked). EOF
 * on the control channel, or all COUNT forked: no more; the sets left are closed, and this
 * process exits once its helpers have.
 */
#include "helper.h"
#include <poll.h>
#include <sys/signalfd.h>

enum { BATCH_STARTED = 1, BATCH_EXITED = 2, BATCH_MAX = 64 };

static int ctlfd = -1;

static void say(uint32_t type, int32_t index, int32_t value)
{
	unsigned char m[12];
	put32(m, type);
	put32(m + 4, (uint32_t)index);
	put32(m + 8, (uint32_t)value);
	/* The caller may be gone: then nobody waits for the statuses, and the reaping goes on. */
	if (ctlfd >= 0 && write_all(ctlfd, (const char *)m, sizeof m) < 0) {
		close(ctlfd);
		ctlfd = -1;
	}
}

/* The child of the fork for the set at `first`: its stdio and sync fd in place, nothing else. */
static int become_helper(const char *shape, int first)
{
	int next = first;
	for (int std = 0; std < 3; std++) {
		int from;
		if (shape[std] == 'p')
			from = next++;
		else if (shape[std] == 'n')
			from = open("/dev/null", O_RDWR | O_CLOEXEC);
		else
			continue;
		if (from < 0 || dup2(from, std) < 0)
			die(1, "batch: stdio", errno);
	}
	/* fd 3 is free now: every set starts at 3 or later and its stdio fds were copied below it. */
	if (dup2(next, 3) < 0)
		die(1, "batch: sync fd", errno);
	if (syscall(SYS_close_range, 4U, ~0U, 0) < 0)
		die(1, "batch: close_range", errno);
	return 3;
}

/* Done forking (all forked, or the caller said no more): the sets left go, and our stdio. */
static void no_more(int from, int controlfd)
{
	if (from < controlfd && syscall(SYS_close_range, (unsigned)from, (unsigned)controlfd - 1, 0) < 0)
		die(1, "batch: close_range", errno);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int std = 0; null >= 0 && std < 3; std++)
		dup2(null, std);
	xclose(null);
}

int run_batch(const char *countText, const char *shape)
{
	char *end;
	long count = strtol(countText, &end, 10);
	if (*end || count < 1 || count > BATCH_MAX || strlen(shape) != 3 || strspn(shape, "inp") != 3)
		die(2, "usage: husk-helper --batch <1-64> <shape: 3 of i, n, p>", 0);
	int width = 1;
	for (int std = 0; std < 3; std++)
		width += shape[std] == 'p';
	int controlfd = 3 + (int)count * width;
	if (fcntl(controlfd, F_GETFD) < 0)
		die(2, "batch: no control fd after the sets", errno);
	ctlfd = controlfd;
	/* Blocking, whatever the caller left it: a read after POLLIN, a status write, wait rather than fail. */
	int fl = fcntl(controlfd, F_GETFL);
	if (fl < 0 || fcntl(controlfd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		die(2, "batch: control fd", errno);
	/* The caller passes nothing above the control channel: anything else leaked to us goes. */
	if (syscall(SYS_close_range, (unsigned)controlfd + 1, ~0U, 0) < 0)
		die(2, "batch: close_range", errno);
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &old) < 0)
		die(1, "batch: sigprocmask", errno);
	int sigfd = signalfd(-1, &chld, SFD_CLOEXEC);
	if (sigfd < 0)
		die(1, "batch: signalfd", errno);
	signal(SIGPIPE, SIG_IGN);
	pid_t pids[BATCH_MAX];
	int forked = 0, live = 0, asking = 1;
	for (;;) {
		/* The caller gone (a status could not be written): no more to fork. */
		if (asking && ctlfd < 0) {
			asking = 0;
			no_more(3 + forked * width, controlfd);
		}
		if ((!asking || forked == count) && live == 0)
			_exit(0);
		struct pollfd pfd[2] = { { .fd = sigfd, .events = POLLIN }, { .fd = asking ? ctlfd : -1, .events = POLLIN } };
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(1, "batch: poll", errno);
		}
		if (pfd[1].revents) {
			char want[BATCH_MAX];
			ssize_t n = read(ctlfd, want, sizeof want);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			for (ssize_t w = 0; w < n && forked < count; w++) {
				int k = forked++, first = 3 + k * width;
				pids[k] = fork();
				if (pids[k] == 0) {
					close(sigfd);
					signal(SIGPIPE, SIG_DFL);
					sigprocmask(SIG_SETMASK, &old, NULL);
					return become_helper(shape, first);
				}
				/* Its set is its own now (or, not forked, nobody's). */
				if (syscall(SYS_close_range, (unsigned)first, (unsigned)(first + width - 1), 0) < 0)
					die(1, "batch: close_range", errno);
				if (pids[k] < 0) {
					say(BATCH_EXITED, k, 255);
					continue;
				}
				say(BATCH_STARTED, k, pids[k]);
				live++;
			}
			if (n <= 0 || forked == count || ctlfd < 0) {
				asking = 0;
				no_more(3 + forked * width, controlfd);
			}
		}
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			(void)!read(sigfd, &si, sizeof si);
			int st;
			pid_t p;
			while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
				for (int k = 0; k < forked; k++) {
					if (pids[k] != p)
						continue;
					say(BATCH_EXITED, k, WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
					live--;
				}
			}
		}
	}
}
