/*
 * The monitor: for a detached engine container, the parent side of `clone` stays as a small
 * native process (conmon's job, with no JavaScript runtime resident) that holds the
 * container's stdout and stderr, writes them to a log, records the exit status and then runs
 * the cleanup husk asked for.
 *
 *   husk (TS)           helper H                  monitor M                 container C
 *   spawn H, plan ────▶ ops before `monitor`
 *                       monitor: open log, pipes,
 *                       fork ───────────────────▶ setsid, rest of the plan
 *                       exit 0 (husk reaps it)    clone ──────────────────▶ stdout/stderr = the pipes
 *   ◀──────────────────────────────────── MSG_PID (as op_clone draws it)
 *                                                 after C's 'S': the monitor
 *                                                 loop, until C exits:
 *                                                 pipes → JSON log lines    runs; exits
 *                                                 exit file (tmp + rename)
 *                                                 execve(cleanup argv)
 *
 * Leaving H at once (a double fork) makes M an orphan that the host's init (or subreaper)
 * reaps: no husk process waits for it, and a library caller gets no long-lived child. M is in
 * a session of its own, so a terminal's signals do not reach it. The exit file is written
 * only after the log is closed: once it exists, M writes nothing more in the container's
 * directory (`husk rm` waits for it before removing the directory).
 *
 * With a terminal (consoleProxy before `monitor` in the plan) M holds the pty master instead of
 * the stdout pipe, and logs what the container writes to it.
 *
 * A foreground terminal (`run -it`, detachKeys before clone in the plan) gets its monitor late:
 * the helper's parent proxies the caller's terminal (sockets.c) until the caller types the
 * detach keys, then says MSG_DETACHED on the sync channel, lets the terminal go (its settings
 * restored, stdio on /dev/null, a session of its own) and goes on here with the pty master, as
 * the parent the container already has. husk stops waiting for it and records it as the monitor.
 * Its log is opened with the keys and written while it proxies, so it has everything.
 *
 * Log lines are docker's json-file format: {"log":"…\n","stream":"stdout","time":"RFC 3339"}.
 * The exit file: {"exitCode":N,"signal":S,"finishedAt":"RFC 3339"} (signal 0 unless killed).
 *
 * Attaching (`husk attach`, the attach op before clone): M listens on a unix socket in the
 * container's directory, as conmon's "attach" socket (from before the container runs, so
 * `start -a` misses nothing; for a detached run -it, from the detach on), and any number of
 * clients (up to MAX_ATTACHERS at once) come and go while the log goes on. conmon speaks SOCK_SEQPACKET; Node
 * and Bun reach only stream sockets, so here every message is a frame: type (1 byte), length
 * (2 bytes, big-endian), payload.
 *
 *   client → M   1 stdin data (≤ FRAME_IN bytes; dropped unless the container has -i)
 *                5 resize: rows, cols (2 bytes each, big-endian; with a terminal)
 *                6 close stdin (the container reads EOF; not with a terminal)
 *   M → client   2 stdout, 3 stderr (what the container writes from the moment it connected)
 *                4 exit: the status (4 bytes, big-endian; 128+N if killed by N), then M closes
 *
 * No output is lost on the way to an attacher, as with docker's attach (its broadcaster blocks
 * on an attacher's full buffer) and conmon's (a blocking write to each attach socket): output
 * goes into a bounded queue per client (ATTACH_QUEUE, beside as much in the kernel's socket
 * buffer), and while any client's queue is above HOLD_MARK M stops reading the container's
 * stdout and stderr (they leave the poll set) until it drains, so the container's writes
 * block as on a full pipe and the log gets its lines later, never fewer. The price, as on a
 * pipe: a client that stops reading (SIGSTOP'd, its own reader stalled) holds the container's
 * output, and the log's, for as long as it stays attached; one that leaves (detach keys,
 * killed, closed) lets go at once. Once the container's process is gone, a client that reads
 * nothing for EXIT_GRACE_MS no longer holds (the rest of the pipes goes to the log and, as far
 * as its queue has room, to it), as docker waits 2 s for its streams after an exit; one that
 * keeps reading, however slowly, gets everything and the exit status. Stdin goes through one
 * bounded queue to the container; clients are read only while it has room. A client that
 * leaves is forgotten; the detach keys are the client's business (it just closes).
 */
#include "helper.h"
#include <stddef.h>
#include <time.h>

#define LINE_MAX_BYTES 16384

static int logfd = -1;
static int outpipe[2] = { -1, -1 }, errpipe[2] = { -1, -1 };
static const char *exitpath;
static char **cleanup, **cleanenv;

struct linebuf {
	const char *stream;
	size_t len;
	char data[LINE_MAX_BYTES];
};

/*
 * monitor(log, exitFile, cleanup, env): open the log, make the stdout/stderr pipes, and leave
 * husk (see above). The clone that follows, in mode CLONE_MONITOR, hands the pipes to the
 * child and makes the parent the monitor.
 */
static const char *logpath;

/* log, exitFile, cleanup, env: the fields op_monitor and op_detach_keys share. */
static int monitor_params(const struct field *f)
{
	logpath = f[0].s;
	exitpath = f[1].s;
	cleanup = f[2].len ? split_list(&f[2]) : NULL;
	cleanenv = split_list(&f[3]);
	return (f[2].len && !cleanup) || !cleanenv ? -1 : 0;
}

static int open_log(void)
{
	logfd = open(logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return logfd < 0 ? -1 : 0;
}

int op_monitor(const struct field *f)
{
	if (monitor_params(f) < 0 || open_log() < 0)
		return -1;
	if (pipe2(outpipe, O_CLOEXEC) < 0 || pipe2(errpipe, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	return setsid() < 0 ? -1 : 0;
}

static void attach_listen(void);

const char *detachkeys; /* detachKeys: the sequence, NULL without one */
size_t ndetachkeys;

/*
 * detachKeys(keys, log, exitFile, cleanup, env), before clone in a proxied run: the monitor's
 * parameters, kept until the keys are typed. The log is opened now and written from the
 * start (monitor_log), so that once detached it has everything, as docker's.
 */
int op_detach_keys(const struct field *f)
{
	if (f[0].len == 0) {
		errno = EINVAL;
		return -1;
	}
	detachkeys = f[0].s;
	ndetachkeys = f[0].len;
	if (monitor_params(f + 1) < 0)
		return -1;
	if (open_log() < 0)
		logfd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* the container outlives a lost log */
	return 0;
}

/*
 * The keys were typed (sockets.c's proxy loop, terminal already restored): tell husk, let the
 * caller's terminal and husk go, and become the monitor of the child we already wait for.
 */
_Noreturn void monitor_detach(pid_t child, int master)
{
	attach_listen(); /* before husk hears of it, so an attach right after finds the socket */
	(void)send_msg(MSG_DETACHED, 0, 0, 0);
	xclose(syncfd);
	syncfd = -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; null >= 0 && fd < 3; fd++)
		(void)dup2(null, fd);
	xclose(null);
	/* Out of the caller's session, so its terminal's hangup does not reach us (fails only for a group leader). */
	(void)setsid();
	monitor_run(child, master);
}

/* ---------------------------------------------------------------- attach socket */

#define MAX_ATTACHERS 8
#define ATTACH_QUEUE (1024 * 1024)
#define FRAME_IN 4096
#define FRAME_OUT 65535
#define CHUNK 65536
/* Room above the mark for what one turn of the loop adds: a chunk of each stream, framed, and the exit frame. */
#define HOLD_MARK (ATTACH_QUEUE - 4 * CHUNK)
#define EXIT_GRACE_MS 2000
enum { F_STDIN = 1, F_STDOUT = 2, F_STDERR = 3, F_EXIT = 4, F_RESIZE = 5, F_CLOSE_STDIN = 6 };

static const char *attachpath; /* attach: the socket's path; NULL without one */
static int attach_stdin;       /* the container has -i: clients' stdin goes to it */
static int inpipe[2] = { -1, -1 };

struct attacher {
	int fd;
	size_t inlen, head, outlen; /* out[head, outlen) is still to be sent */
	unsigned char in[3 + FRAME_IN];
	unsigned char out[ATTACH_QUEUE];
};
static struct attacher att[MAX_ATTACHERS];
static int nattached, listener = -1;
static int stdinfd = -1, stdin_closing, termfd = -1; /* termfd: the pty master, for resizes */
static unsigned char inq[65536];
static size_t inqlen;

/* bind(2) at `path`; a path longer than sun_path is reached through its directory's fd. */
static int bind_path(int fd, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	int dfd = -1, rc;
	if (strlen(path) < sizeof sa.sun_path) {
		strcpy(sa.sun_path, path);
	} else {
		const char *slash = strrchr(path, '/');
		if (!slash || (size_t)(slash - path) >= sizeof dir)
			return -1;
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -1;
		if (snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, slash + 1) >= (int)sizeof sa.sun_path) {
			close(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
	}
	(void)unlink(sa.sun_path);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	if (rc == 0)
		(void)chmod(sa.sun_path, 0600);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* The socket clients connect to; without it the container runs on, only unattachable. */
static void attach_listen(void)
{
	if (!attachpath)
		return;
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listener >= 0 && (bind_path(listener, attachpath) < 0 || listen(listener, MAX_ATTACHERS) < 0)) {
		close(listener);
		listener = -1;
	}
}

/*
 * attach(socket, stdin), after monitor (or detachKeys) and before clone: where M listens once it
 * runs, and whether the container reads its clients' stdin. Without a terminal that needs a
 * pipe for its stdin, made here so that the child gets its read end.
 */
int op_attach(const struct field *f)
{
	attachpath = f[0].len ? f[0].s : NULL;
	attach_stdin = f[1].i != 0;
	if (attach_stdin && pipe2(inpipe, O_CLOEXEC) < 0)
		return -1;
	/*
	 * After monitor (M, a detached start): listen now, before husk hears that the container
	 * is created, so that `start -a` can connect before the container runs and miss nothing
	 * (clients wait in the backlog until the loop). After detachKeys: once they are typed.
	 */
	if (logfd >= 0)
		attach_listen();
	return 0;
}

/* A client gone: the last one takes its slot (callers walk the slots from the end). */
static void attach_drop(struct attacher *a)
{
	struct attacher *last = &att[--nattached];
	close(a->fd);
	if (a != last) {
		memcpy(a, last, offsetof(struct attacher, out));
		memcpy(a->out + a->head, last->out + last->head, last->outlen - last->head);
	}
	last->fd = -1;
}

/* Everyone waiting to connect; past MAX_ATTACHERS a client sees the end at once (attach.ts says why). */
static void attach_accept(void)
{
	int fd;
	while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (nattached == MAX_ATTACHERS) {
			close(fd);
			continue;
		}
		/* Room in the kernel too, where a burst costs no copying here (root only; else the default). */
		int size = ATTACH_QUEUE;
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
		struct attacher *a = &att[nattached++];
		a->fd = fd;
		a->inlen = a->head = a->outlen = 0;
	}
}

/* What is queued for a client, as far as its socket takes it now; 0, or -1 when it is gone. */
static int attach_flush(struct attacher *a)
{
	while (a->head < a->outlen) {
		ssize_t w = send(a->fd, a->out + a->head, a->outlen - a->head, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		a->head += (size_t)w;
	}
	a->head = a->outlen = 0;
	return 0;
}

/* One frame to every client. The hold keeps room for it; were there none, it would be dropped whole. */
static void attach_send(int type, const unsigned char *p, size_t n)
{
	for (int k = nattached - 1; k >= 0; k--) {
		struct attacher *a = &att[k];
		if (a->outlen - a->head + 3 + n > sizeof a->out)
			continue;
		if (a->outlen + 3 + n > sizeof a->out) {
			memmove(a->out, a->out + a->head, a->outlen - a->head);
			a->outlen -= a->head;
			a->head = 0;
		}
		a->out[a->outlen] = (unsigned char)type;
		a->out[a->outlen + 1] = (unsigned char)(n >> 8);
		a->out[a->outlen + 2] = (unsigned char)n;
		memcpy(a->out + a->outlen + 3, p, n);
		a->outlen += 3 + n;
		if (attach_flush(a) < 0)
			attach_drop(a);
	}
}

/* Some client's queue is past the mark: the container's output waits in its pipes (see above). */
static int attach_held(void)
{
	for (int k = 0; k < nattached; k++)
		if (att[k].outlen - att[k].head > HOLD_MARK)
			return 1;
	return 0;
}

static void attach_output(int type, const char *p, size_t n)
{
	for (size_t off = 0; nattached > 0 && off < n; off += FRAME_OUT)
		attach_send(type, (const unsigned char *)p + off, n - off < FRAME_OUT ? n - off : FRAME_OUT);
}

static void frame_in(struct attacher *a, size_t len)
{
	const unsigned char *p = a->in + 3;
	if (a->in[0] == F_STDIN && stdinfd >= 0 && !stdin_closing && inqlen + len <= sizeof inq) {
		memcpy(inq + inqlen, p, len);
		inqlen += len;
	} else if (a->in[0] == F_RESIZE && termfd >= 0 && len == 4) {
		struct winsize ws = { .ws_row = (unsigned short)(p[0] << 8 | p[1]), .ws_col = (unsigned short)(p[2] << 8 | p[3]) };
		(void)ioctl(termfd, TIOCSWINSZ, &ws);
	} else if (a->in[0] == F_CLOSE_STDIN && stdinfd >= 0 && stdinfd != termfd) {
		stdin_closing = 1;
	}
}

/* A frame at a time: its header, then exactly its payload. -1: the client is gone or broke the protocol. */
static int attach_read(struct attacher *a)
{
	size_t len = a->inlen >= 3 ? (size_t)(a->in[1] << 8 | a->in[2]) : 0;
	if (len > FRAME_IN)
		return -1;
	size_t want = a->inlen < 3 ? 3 - a->inlen : 3 + len - a->inlen;
	ssize_t r = want ? read(a->fd, a->in + a->inlen, want) : 0;
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (r == 0 && want)
		return -1;
	a->inlen += (size_t)r;
	if (a->inlen >= 3) {
		len = (size_t)(a->in[1] << 8 | a->in[2]);
		if (len > FRAME_IN)
			return -1;
		if (a->inlen == 3 + len) {
			frame_in(a, len);
			a->inlen = 0;
		}
	}
	return 0;
}

/* The clients' stdin on its way to the container, as far as it takes it now. */
static void stdin_flush(void)
{
	while (inqlen > 0) {
		ssize_t w = write(stdinfd, inq, inqlen);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (w < 0) {
			inqlen = 0; /* no reader left: what was typed has nowhere to go */
			break;
		}
		memmove(inq, inq + w, inqlen - (size_t)w);
		inqlen -= (size_t)w;
	}
	if (stdin_closing && stdinfd >= 0 && stdinfd != termfd) {
		close(stdinfd);
		stdinfd = -1;
	}
}

/* The end: no more clients; those attached get the rest and the exit status while they keep reading. */
static void attach_finish(int code)
{
	if (listener >= 0) {
		close(listener);
		listener = -1;
	}
	unsigned char st[4] = { (unsigned char)(code >> 24), (unsigned char)(code >> 16), (unsigned char)(code >> 8),
				(unsigned char)code };
	attach_send(F_EXIT, st, sizeof st);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		size_t before = 0, after = 0;
		struct pollfd p[MAX_ATTACHERS];
		int n = 0;
		for (int k = 0; k < nattached; k++)
			if (att[k].outlen)
				p[n++] = (struct pollfd){ .fd = att[k].fd, .events = POLLOUT };
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = EXIT_GRACE_MS - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (n == 0 || left <= 0 || poll(p, (nfds_t)n, (int)left) <= 0)
			break;
		for (int k = nattached - 1; k >= 0; k--) {
			before += att[k].outlen - att[k].head;
			if (att[k].outlen && attach_flush(&att[k]) < 0)
				attach_drop(&att[k]);
			else
				after += att[k].outlen - att[k].head;
		}
		if (after < before) /* a reader that keeps up gets all of it, however slow */
			start = now;
	}
	while (nattached > 0)
		attach_drop(&att[0]);
}

/* In the child of clone: the pipes become its stdout and stderr (and stdin, with -i). */
void monitor_child(void)
{
	if (dup2(outpipe[1], 1) < 0 || dup2(errpipe[1], 2) < 0)
		fail(errno);
	if (inpipe[0] >= 0 && dup2(inpipe[0], 0) < 0)
		fail(errno);
	xclose(inpipe[0]);
	xclose(inpipe[1]);
	xclose(outpipe[0]);
	xclose(errpipe[0]);
	xclose(outpipe[1]);
	xclose(errpipe[1]);
	xclose(logfd);
}

/* In the parent of clone: only the child holds the write ends, so its exit is our EOF. */
void monitor_parent(void)
{
	xclose(outpipe[1]);
	xclose(errpipe[1]);
	xclose(inpipe[0]);
	outpipe[1] = errpipe[1] = inpipe[0] = -1;
}

static size_t rfc3339(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	return n + (size_t)snprintf(out + n, size - n, ".%09ldZ", ts.tv_nsec);
}

/* One log entry: the text JSON-escaped (bytes >= 0x80 pass as they are: UTF-8 stays UTF-8). */
static void log_entry(const char *stream, const char *text, size_t len)
{
	static char out[LINE_MAX_BYTES * 6 + 128];
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	o += (size_t)snprintf(out, sizeof out, "{\"log\":\"");
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)text[k];
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(out + o, "\\u00", 4);
			out[o + 4] = hex[c >> 4];
			out[o + 5] = hex[c & 15];
			o += 6;
		} else {
			out[o++] = (char)c;
		}
	}
	o += (size_t)snprintf(out + o, sizeof out - o, "\",\"stream\":\"%s\",\"time\":\"", stream);
	o += rfc3339(out + o, sizeof out - o);
	o += (size_t)snprintf(out + o, sizeof out - o, "\"}\n");
	(void)write_all(logfd, out, o); /* a full disk loses log lines, not the container */
}

/* Whole lines become entries; a line longer than the buffer is cut into entries of its size. */
static void log_data(struct linebuf *b, const char *p, size_t n)
{
	while (n > 0) {
		size_t take = sizeof b->data - b->len < n ? sizeof b->data - b->len : n;
		memcpy(b->data + b->len, p, take);
		b->len += take;
		p += take;
		n -= take;
		char *nl;
		size_t start = 0;
		while ((nl = memchr(b->data + start, '\n', b->len - start))) {
			size_t end = (size_t)(nl - b->data) + 1;
			log_entry(b->stream, b->data + start, end - start);
			start = end;
		}
		memmove(b->data, b->data + start, b->len - start);
		b->len -= start;
		if (b->len == sizeof b->data) {
			log_entry(b->stream, b->data, b->len);
			b->len = 0;
		}
	}
}

static void log_flush(struct linebuf *b)
{
	if (b->len)
		log_entry(b->stream, b->data, b->len);
	b->len = 0;
}

static struct linebuf outlines = { .stream = "stdout" }, errlines = { .stream = "stderr" };

/* A proxied terminal with detach keys (sockets.c): what the container writes, logged before any detach. */
void monitor_log(const char *p, size_t n)
{
	if (logfd >= 0)
		log_data(&outlines, p, n);
}

/* It ended in the foreground: the last partial line too. */
void monitor_log_end(void)
{
	if (logfd >= 0)
		log_flush(&outlines);
}

static int exit_code(int status)
{
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

static void write_exit(int status)
{
	char text[160], ts[64], tmp[PATH_MAX];
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	rfc3339(ts, sizeof ts);
	int n = snprintf(text, sizeof text, "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\"}\n", exit_code(status), sig, ts);
	if (snprintf(tmp, sizeof tmp, "%s.tmp", exitpath) >= (int)sizeof tmp)
		return;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return; /* the container's directory is gone: `rm -f` got there first */
	(void)write_all(fd, text, (size_t)n);
	fsync(fd);
	close(fd);
	(void)rename(tmp, exitpath);
}

/* The poll set's fixed slots; the clients' come after them. */
enum { PS_OUT, PS_ERR, PS_PID, PS_LISTEN, PS_STDIN, PS_CLIENTS };

/* The parent of clone once the child is set up: the monitor's life, then the cleanup. */
_Noreturn void monitor_run(pid_t child, int master)
{
	struct linebuf *bufs[2] = { &outlines, &errlines };
	char chunk[CHUNK];
	int status = 0, exited = 0, letgo = 0; /* letgo: the container is gone and a held client stopped reading */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	if (chdir("/") < 0)
		_exit(1);
	/*
	 * A terminal (run -dt): the plan's consoleProxy pair was made before the fork above, so
	 * the child sent the pty master here (op_console runs before its 'S'); a detached run -it
	 * passes the master it proxied. The pipes ended when the slave replaced them (a detached
	 * run -it has none); the master is what the container writes, logged as stdout (docker's
	 * tty log has no stderr), until it reads EIO (no slave left) or the child is gone. Clients'
	 * stdin goes to the master too (with -i), or else to the stdin pipe.
	 */
	if (master >= 0) {
		close(outpipe[0]);
		outpipe[0] = master;
		termfd = master;
		xclose(inpipe[0]);
		xclose(inpipe[1]);
		inpipe[0] = inpipe[1] = -1;
		stdinfd = attach_stdin ? master : -1;
	} else {
		stdinfd = inpipe[1];
	}
	if (stdinfd >= 0)
		(void)fcntl(stdinfd, F_SETFL, fcntl(stdinfd, F_GETFL) | O_NONBLOCK);
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	int streams[2] = { outpipe[0], errpipe[0] }; /* stdout (or the pty master), stderr; -1 once ended */
	struct pollfd p[PS_CLIENTS + MAX_ATTACHERS] = {
		[PS_PID] = { .fd = pidfd, .events = POLLIN },
	};
	/* Until both pipes end; once the child is gone, only what is already in them. */
	while (streams[0] >= 0 || streams[1] >= 0) {
		/* Held, the streams are out of the poll set: a pipe's POLLHUP would wake us for nothing. */
		int held = !letgo && attach_held();
		for (int k = 0; k < 2; k++)
			p[k] = (struct pollfd){ .fd = held ? -1 : streams[k], .events = POLLIN };
		p[PS_LISTEN] = (struct pollfd){ .fd = exited ? -1 : listener, .events = POLLIN };
		p[PS_STDIN] = (struct pollfd){ .fd = inqlen || stdin_closing ? stdinfd : -1, .events = POLLOUT };
		int room = sizeof inq - inqlen >= FRAME_IN;
		for (int k = 0; k < nattached; k++)
			p[PS_CLIENTS + k] = (struct pollfd){
				.fd = att[k].fd,
				.events = (short)((room ? POLLIN : 0) | (att[k].outlen ? POLLOUT : 0)),
			};
		int np = nattached;
		/* Once the child is gone, the pipes are read while they have something (a held client drains first). */
		int n = poll(p, (nfds_t)(PS_CLIENTS + np), !exited ? -1 : held ? EXIT_GRACE_MS : 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && held) {
			letgo = 1;
			continue;
		}
		if (n < 0 || (exited && !held && !p[PS_OUT].revents && !p[PS_ERR].revents))
			break;
		/* Clients first: one that connected before this output came gets it. */
		if (p[PS_LISTEN].revents)
			attach_accept();
		for (int k = 0; k < 2; k++) {
			if (p[k].fd < 0 || !p[k].revents)
				continue;
			ssize_t r = read(p[k].fd, chunk, sizeof chunk);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				if (p[k].fd == stdinfd)
					stdinfd = -1;
				close(p[k].fd);
				streams[k] = -1;
				if (k == PS_OUT)
					termfd = -1;
				continue;
			}
			log_data(bufs[k], chunk, (size_t)r);
			attach_output(k == PS_OUT ? F_STDOUT : F_STDERR, chunk, (size_t)r);
		}
		if (p[PS_PID].fd >= 0 && p[PS_PID].revents) {
			while (waitpid(child, &status, 0) < 0 && errno == EINTR)
				;
			exited = 1;
			close(p[PS_PID].fd);
			p[PS_PID].fd = -1;
		}
		if (p[PS_STDIN].revents && stdinfd >= 0)
			stdin_flush();
		/* From the last slot down: a dropped client's slot takes the last one, already seen. */
		for (int k = np - 1; k >= 0; k--) {
			short ev = p[PS_CLIENTS + k].revents;
			if (!ev || att[k].fd != p[PS_CLIENTS + k].fd)
				continue;
			int gone = (ev & POLLOUT) && attach_flush(&att[k]) < 0;
			if (!gone && (ev & (POLLIN | POLLHUP | POLLERR)))
				gone = attach_read(&att[k]) < 0;
			if (gone)
				attach_drop(&att[k]);
		}
		if (inqlen && stdinfd >= 0)
			stdin_flush();
	}
	while (!exited && waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			break;
	if (attachpath)
		(void)unlink(attachpath); /* before the exit file: after it, nothing more in the directory */
	log_flush(&outlines);
	log_flush(&errlines);
	fsync(logfd);
	close(logfd);
	write_exit(status);
	attach_finish(exit_code(status));
	if (!cleanup || !cleanup[0])
		_exit(0);
	reset_signals();
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	execve(cleanup[0], cleanup, cleanenv);
	_exit(127);
}
