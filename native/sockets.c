/*
 * What the container process hands out over unix sockets: the pty master to --console-socket,
 * and the seccomp listener to the agent at linux.seccomp.listenerPath.
 */
#include "helper.h"

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

int op_console_connect(const struct field *f)
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
static int proxied; /* consoleProxy was asked for (inherited by the child through clone) */
static void copy_size(int from, int to);

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

int op_console(const struct field *f)
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
	} else if (proxied) {
		/* Proxied: the caller's terminal is still our stdin; its size is there before exec. */
		copy_size(0, slave);
	}
	/* The process' own terminal; EINVAL (id not mapped), EPERM, EROFS: left as it is, as runc does. */
	if ((f[2].i >= 0 || f[3].i >= 0) && fchown(slave, (uid_t)f[2].i, (gid_t)f[3].i) < 0 && errno != EINVAL &&
	    errno != EPERM && errno != EROFS)
		goto fail;
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


/* ---------------------------------------------------------------- a terminal in the foreground */

/*
 * consoleProxy, in the helper's parent before clone: a socketpair instead of --console-socket.
 * The child sends the pty master over its end (op_console, as to a console socket); the parent,
 * which waits for the child anyway, receives it and proxies the caller's terminal to it.
 */
int op_console_proxy(const struct field *f)
{
	(void)f;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	xclose(proxyfd);
	xclose(consfd);
	proxyfd = sv[0];
	consfd = sv[1];
	proxied = 1;
	return 0;
}

static int recv_fd(int sock)
{
	char data[16];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

static void copy_size(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(to, TIOCSWINSZ, &ws);
}

/*
 * runc's `run -t` without a console socket: our stdin/stdout become the pty's other side. The
 * caller's terminal goes raw (the container's line discipline does the editing and turns ^C
 * into SIGINT), its size follows SIGWINCH, and it is restored however the child ends. Returns
 * the child's wait status.
 */
/* The pty master the child sent over the consoleProxy pair (before its 'S'); -1 without one. */
int proxied_master(void)
{
	if (proxyfd < 0)
		return -1;
	int master = recv_fd(proxyfd);
	xclose(proxyfd);
	proxyfd = -1;
	return master;
}

/*
 * The caller's input on its way to the pty: the detach keys are held back while they match
 * (docker's way: a lone ^P waits for the next key, then both go on), and the whole sequence is
 * never written. Returns 1 once it is complete; `held` is how much of it has been typed.
 */
static int pass_input(int master, const char *p, size_t n, size_t *held)
{
	char out[16384 + 64];
	size_t o = 0;
	for (size_t k = 0; k < n; k++) {
		if (*held < ndetachkeys && p[k] == detachkeys[*held]) {
			if (++*held == ndetachkeys) {
				(void)write_all(master, out, o);
				return 1;
			}
			continue;
		}
		/* Not the sequence after all: what was held goes first, then this key, itself maybe a start. */
		memcpy(out + o, detachkeys, *held);
		o += *held;
		*held = 0;
		if (ndetachkeys && p[k] == detachkeys[0])
			*held = 1;
		else
			out[o++] = p[k];
		if (o >= 16384) {
			(void)write_all(master, out, o);
			o = 0;
		}
	}
	(void)write_all(master, out, o);
	return 0;
}

int proxy_console(pid_t child, int lifeline)
{
	int master = proxied_master();
	int status = 0, exited = 0;
	if (master < 0) {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		return status;
	}
	struct termios saved;
	int tty = isatty(0) && tcgetattr(0, &saved) == 0;
	if (tty) {
		struct termios raw = saved;
		cfmakeraw(&raw);
		(void)tcsetattr(0, TCSANOW, &raw);
		copy_size(0, master);
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGWINCH);
	signal(SIGWINCH, SIG_DFL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	int in_open = 1;
	size_t held = 0;
	char buf[16384];
	for (;;) {
		/* A child that exited before we blocked SIGCHLD: look once per round. */
		if (!exited && waitpid(child, &status, WNOHANG) == child)
			exited = 1;
		/* The sync channel is still open only with detach keys (see op_clone). */
		struct pollfd p[4] = {
			{ .fd = master, .events = POLLIN },
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = syncfd, .events = POLLIN },
		};
		int n = poll(p, 4, exited ? 0 : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (p[3].revents) {
			char c[16];
			ssize_t r = read(syncfd, c, sizeof c);
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
				/* husk is gone: no one to tell of a detach; with ownerLifeline the container goes too. */
				if (lifeline && !exited)
					kill(child, SIGKILL);
				close(syncfd);
				syncfd = -1;
			}
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGWINCH && tty)
				copy_size(0, master);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(master, buf, sizeof buf);
			if (r > 0) {
				(void)write_all(1, buf, (size_t)r);
				monitor_log(buf, (size_t)r);
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			/* EIO: no process holds the slave any more. */
			if (!exited) {
				while (waitpid(child, &status, 0) < 0 && errno == EINTR)
					;
				exited = 1;
			}
			break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(0, buf, sizeof buf);
			if (r > 0 && syncfd >= 0 && !exited && detachkeys) {
				if (pass_input(master, buf, (size_t)r, &held)) {
					if (tty)
						(void)tcsetattr(0, TCSANOW, &saved);
					xclose(sfd);
					sigprocmask(SIG_UNBLOCK, &set, NULL);
					monitor_detach(child, master);
				}
			} else if (r > 0)
				(void)write_all(master, buf, (size_t)r);
			else if (r == 0 || errno != EINTR)
				in_open = 0;
		}
		if (exited && n == 0)
			break;
	}
	if (tty)
		(void)tcsetattr(0, TCSANOW, &saved);
	xclose(sfd);
	xclose(master);
	monitor_log_end();
	return status;
}

/* ---------------------------------------------------------------- seccomp agent */

/* Before the root switch: the agent's socket lives on the host. */
int op_listener_connect(const struct field *f)
{
	return unix_connect(&f[0], &listenfd);
}

/*
 * Right after the filter is loaded (so sendmsg must not be one of the notified syscalls, which
 * husk checks): the container process state JSON with the listener fd, in one message, as
 * runc sends it. From here on the agent answers this process' notified syscalls.
 */
int op_send_listener(const struct field *f)
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
