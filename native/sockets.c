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
