/*
 * Networking: NETLINK_ROUTE messages built by husk (src/network/netlink.ts) sent from a given
 * network namespace, and unpinning a namespace. The helper reads nothing of a message beyond
 * its nlmsghdr framing and the kernel's nlmsgerr answer: what the messages say is TypeScript's.
 */
#include "helper.h"
#include <linux/netlink.h>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/*
 * A NETLINK_ROUTE socket of the network namespace at ns ("" = ours). A socket stays in the
 * namespace it was made in, so: setns there, make it, setns back. Only a single-threaded
 * process may do this, which the helper is; failing to get back would leave the rest of the
 * plan in the wrong namespace, so that ends the helper.
 */
static int route_socket(const char *ns)
{
	if (!*ns)
		return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -1;
	int sock = -1, target = open(ns, O_RDONLY | O_CLOEXEC);
	if (target >= 0 && setns(target, CLONE_NEWNET) == 0) {
		sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		int err = errno;
		if (setns(self, CLONE_NEWNET) < 0)
			fail(errno);
		errno = err;
	}
	xclose(target);
	xclose(self);
	return sock;
}

/*
 * The kernel's answer to message seq: 0 (acknowledged) or its errno. Other messages are
 * skipped; the socket's receive timeout ends a wait for an answer that never comes.
 */
static int answer(int sock, uint32_t seq)
{
	union {
		struct nlmsghdr h;
		char buf[8192];
	} u;
	for (;;) {
		ssize_t n = recv(sock, u.buf, sizeof u.buf, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? ETIMEDOUT : errno;
		int len = (int)n;
		for (struct nlmsghdr *h = &u.h; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) /* the end of a dump, which gets no ack */
				return 0;
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
				return EPROTO;
			return -((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

/*
 * Each message goes with NLM_F_ACK and seq = its index + 1 and is answered before the next
 * is sent, so a refusal names its message: the step fails with the errno, the index as detail.
 * NETLINK_CAP_ACK keeps an error answer from echoing the whole request back.
 */
int op_netlink(const struct field *f)
{
	int one = 1, sock = route_socket(f[0].s);
	struct timeval limit = { .tv_sec = 30 };
	if (sock < 0)
		return -1;
	(void)setsockopt(sock, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
	(void)setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	char *p = f[1].s, *end = f[1].s + f[1].len; /* malloc'd: aligned for nlmsghdr */
	int err = 0;
	for (uint32_t k = 0; p < end && !err; k++) {
		struct nlmsghdr *h = (struct nlmsghdr *)p;
		if ((size_t)(end - p) < sizeof *h || h->nlmsg_len < sizeof *h || h->nlmsg_len > (size_t)(end - p)) {
			err = EINVAL;
			errdetail = (int32_t)k;
			break;
		}
		h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
		h->nlmsg_seq = k + 1;
		if (send(sock, h, h->nlmsg_len, 0) < 0)
			err = errno;
		else
			err = answer(sock, k + 1);
		if (err)
			errdetail = (int32_t)k;
		p += NLMSG_ALIGN(h->nlmsg_len);
	}
	xclose(sock);
	errno = err;
	return err ? -1 : 0;
}

int op_umount(const struct field *f)
{
	return umount2(f[0].s, (int)f[1].i);
}

/*
 * parentNetlink and waitParentNetlink: the container's network made by the parent of clone,
 * which stays in the host's namespaces and can open the child's (/proc/<pid>/ns/net), so no
 * second helper process is spawned for it. The plan comes from husk once the child exists (its
 * pid names the namespace; husk takes the address lease meanwhile):
 *
 *   husk (TS)                      parent (H)                      child (C)
 *   ◀──────────── MSG_PID(pid) ──  clone
 *   ◀─────── MSG_WAITING(step) ──  (parentNetlink's step)          held at the gate
 *                                  open the gate ────────────────▶ its setup: mounts, root…
 *   [u32 len][netlink plan] ────▶  read it, run it (veth, bridge,
 *                                  address, route)
 *   ◀────────────── MSG_DONE(n) ── 'N' on the ready pipe ────────▶ waitParentNetlink returns
 *   ◀── MSG_ERROR(step, errno, op << 16 | message) ── on failure:  EOF there: 'F', exit 1
 *
 * A child in a new user namespace reads the channel too (MSG_CONTINUE after its id maps), and
 * two readers of one stream would take each other's bytes: then the gate opens only once the
 * plan is read. MSG_DONE goes before the child can say anything after waitParentNetlink, so
 * husk hears it first. The plan's ops are netlink only (anything else: a malformed plan).
 */
int parentnet_step = -1;
int parentnet_ready = -1;

int op_parent_netlink(const struct field *f)
{
	(void)f;
	parentnet_step = step;
	return 0;
}

/*
 * In the parent, the gate open: run the plan (read before), tell husk how it went and the child
 * whether to go on ('N'; the pipe closed without it: no).
 */
void parent_netlink(struct op *plan, unsigned n, int ready)
{
	for (unsigned k = 0; k < n; k++) {
		errdetail = 0;
		if (op_netlink(plan[k].f) < 0) {
			send_msg(MSG_ERROR, parentnet_step, errno ? errno : EIO, (int32_t)(k << 16 | ((uint32_t)errdetail & 0xffff)));
			xclose(ready);
			return;
		}
	}
	send_msg(MSG_DONE, (int32_t)n, 0, 0);
	(void)!write(ready, "N", 1);
	xclose(ready);
}

int op_wait_parent_netlink(const struct field *f)
{
	char c = 0;
	(void)f;
	ssize_t n;
	while ((n = read(parentnet_ready, &c, 1)) < 0 && errno == EINTR)
		;
	xclose(parentnet_ready);
	parentnet_ready = -1;
	if (n == 1 && c == 'N')
		return 0;
	/* The parent said why (MSG_ERROR) or husk gave up: nothing may run without its network. */
	linger_say('F');
	_exit(1);
}
