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
 *
 * Log lines are docker's json-file format: {"log":"…\n","stream":"stdout","time":"RFC 3339"}.
 * The exit file: {"exitCode":N,"signal":S,"finishedAt":"RFC 3339"} (signal 0 unless killed).
 */
#include "helper.h"
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

const char *detachkeys; /* detachKeys: the sequence, NULL without one */
size_t ndetachkeys;

/*
 * detachKeys(keys, log, exitFile, cleanup, env), before clone in a proxied run: the monitor's
 * parameters, kept until the keys are typed (the log is opened only then).
 */
int op_detach_keys(const struct field *f)
{
	if (f[0].len == 0) {
		errno = EINVAL;
		return -1;
	}
	detachkeys = f[0].s;
	ndetachkeys = f[0].len;
	return monitor_params(f + 1);
}

/*
 * The keys were typed (sockets.c's proxy loop, terminal already restored): tell husk, let the
 * caller's terminal and husk go, and become the monitor of the child we already wait for.
 */
_Noreturn void monitor_detach(pid_t child, int master)
{
	(void)send_msg(MSG_DETACHED, 0, 0, 0);
	xclose(syncfd);
	syncfd = -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; null >= 0 && fd < 3; fd++)
		(void)dup2(null, fd);
	xclose(null);
	/* Out of the caller's session, so its terminal's hangup does not reach us (fails only for a group leader). */
	(void)setsid();
	if (open_log() < 0)
		logfd = open("/dev/null", O_WRONLY | O_CLOEXEC); /* the container outlives a lost log */
	monitor_run(child, master);
}

/* In the child of clone: the pipes become its stdout and stderr. */
void monitor_child(void)
{
	if (dup2(outpipe[1], 1) < 0 || dup2(errpipe[1], 2) < 0)
		fail(errno);
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
	outpipe[1] = errpipe[1] = -1;
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

static void write_exit(int status)
{
	char text[160], ts[64], tmp[PATH_MAX];
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	int code = sig ? 128 + sig : WEXITSTATUS(status);
	rfc3339(ts, sizeof ts);
	int n = snprintf(text, sizeof text, "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\"}\n", code, sig, ts);
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

/* The parent of clone once the child is set up: the monitor's life, then the cleanup. */
_Noreturn void monitor_run(pid_t child, int master)
{
	static struct linebuf out = { .stream = "stdout" }, err = { .stream = "stderr" };
	struct linebuf *bufs[2] = { &out, &err };
	char chunk[65536];
	int status = 0, exited = 0;
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
	 * tty log has no stderr), until it reads EIO (no slave left) or the child is gone.
	 */
	if (master >= 0) {
		close(outpipe[0]);
		outpipe[0] = master;
	}
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	struct pollfd p[3] = {
		{ .fd = outpipe[0], .events = POLLIN },
		{ .fd = errpipe[0], .events = POLLIN },
		{ .fd = pidfd, .events = POLLIN },
	};
	/* Until both pipes end; once the child is gone, only what is already in them. */
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		int n = poll(p, 3, exited ? 0 : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (int k = 0; k < 2; k++) {
			if (p[k].fd < 0 || !p[k].revents)
				continue;
			ssize_t r = read(p[k].fd, chunk, sizeof chunk);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(p[k].fd);
				p[k].fd = -1;
				continue;
			}
			log_data(bufs[k], chunk, (size_t)r);
		}
		if (p[2].fd >= 0 && p[2].revents) {
			while (waitpid(child, &status, 0) < 0 && errno == EINTR)
				;
			exited = 1;
			close(p[2].fd);
			p[2].fd = -1;
		}
	}
	while (!exited && waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			break;
	log_flush(&out);
	log_flush(&err);
	fsync(logfd);
	close(logfd);
	write_exit(status);
	if (!cleanup || !cleanup[0])
		_exit(0);
	reset_signals();
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	execve(cleanup[0], cleanup, cleanenv);
	_exit(127);
}
