/*
 * Joining the container's cgroup without a cgroup.procs write (see src/plan/cgroup.ts), and
 * cgroup v2's eBPF device filter (compiled by src/cgroups/device-filter.ts).
 */
#include "helper.h"

/* ---------------------------------------------------------------- cgroup and late namespaces */

void close_cgroup_fds(void)
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
int op_open_cgroup(const struct field *f)
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
int op_join_cgroup(const struct field *f)
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

/*
 * The container's own cgroup directories, rmdir'd by the helper's parent once it has reaped the
 * container (a foreground run with the lifeline), before MSG_EXITED says the exit and whether
 * they are all gone: husk's thread then need not look for them. A refusal (a process left
 * behind without a pid namespace, a sub-cgroup) is left to husk.
 */
static char **exitdirs;

int op_cgroup_remove_on_exit(const struct field *f)
{
	exitdirs = split_list(&f[0]);
	return exitdirs ? 0 : -1;
}

int remove_cgroup_on_exit(void)
{
	int gone = exitdirs != NULL;
	for (char **d = exitdirs; d && *d; d++)
		if (rmdir(*d) < 0 && errno != ENOENT)
			gone = 0;
	return gone;
}

/* A cgroup file of `dir`'s, opened. */
static int open_knob(const char *dir, const char *name, int flags)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, flags | O_CLOEXEC);
}

/* A small cgroup file's text (at most `size` - 1 bytes, NUL-terminated, the newline cut); -1 if unreadable. */
static int read_knob(const char *dir, const char *name, char *buf, size_t size)
{
	int fd = open_knob(dir, name, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

static int write_knob(const char *dir, const char *name, const char *value)
{
	int fd = open_knob(dir, name, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -1 : 0;
}

/* The directory `path` is in, into `out`; -1 for a path with none (no '/' but the first). */
static int parent_dir(char *out, size_t size, const char *path)
{
	if (snprintf(out, size, "%s", path) >= (int)size)
		return -1;
	char *slash = strrchr(out, '/');
	if (!slash || slash == out)
		return -1;
	*slash = 0;
	return 0;
}

/*
 * cgroup2: the controllers `dir` has that its subtree_control does not hand down yet, enabled
 * (all at once, or one by one when that is refused: one that cannot be, e.g. while the parent
 * holds processes, is left out, as the runtime's delegate does).
 */
static void delegate_controllers(const char *dir)
{
	char have[4096], on[4096], plus[sizeof have * 2], *out = plus;
	if (read_knob(dir, "cgroup.controllers", have, sizeof have) < 0)
		return;
	if (read_knob(dir, "cgroup.subtree_control", on, sizeof on) < 0)
		on[0] = 0;
	for (char *c = strtok(have, " "); c; c = strtok(NULL, " ")) {
		size_t n = strlen(c);
		int enabled = 0;
		for (const char *o = on; !enabled && (o = strstr(o, c)); o += n)
			enabled = (o == on || o[-1] == ' ') && (o[n] == 0 || o[n] == ' ');
		if (!enabled)
			out += sprintf(out, "%s+%s", out == plus ? "" : " ", c);
	}
	if (out != plus && write_knob(dir, "cgroup.subtree_control", plus) < 0)
		for (char *c = strtok(plus, " "); c; c = strtok(NULL, " "))
			write_knob(dir, "cgroup.subtree_control", c);
}

/* A v1 cpuset's file names: with the prefix, or (the hierarchy mounted noprefix) without. */
static const char *const cpuset_files[][2] = { { "cpuset.cpus", "cpuset.mems" }, { "cpus", "mems" } };

/*
 * A new v1 cpuset starts with empty cpus and mems (unless its parent has clone_children) and
 * refuses tasks until both are set: each empty one copied from the parent, as runc does. A
 * parent empty too is filled in first, from its own parent: husk's default parent, just made
 * by another container's helper that has not filled it in yet (the hierarchy's root never is
 * empty). NOT_A_CPUSET when dir has neither file name's cpus (errno from the last read).
 */
enum { NOT_A_CPUSET = 1 };
static int inherit_cpuset(const char *dir)
{
	char up[PATH_MAX], buf[4096];
	for (int k = 0; k < 2; k++) {
		if (read_knob(dir, cpuset_files[k][0], buf, sizeof buf) < 0)
			continue;
		if (parent_dir(up, sizeof up, dir) < 0)
			return -1;
		for (int f = 0; f < 2; f++) {
			const char *file = cpuset_files[k][f];
			if (f == 1 && read_knob(dir, file, buf, sizeof buf) < 0)
				return -1;
			if (buf[0] != 0)
				continue;
			if (read_knob(up, file, buf, sizeof buf) < 0)
				return -1;
			if (buf[0] == 0 && (inherit_cpuset(up) != 0 || read_knob(up, file, buf, sizeof buf) < 0))
				return -1;
			if (write_knob(dir, file, buf) < 0)
				return -1;
		}
		return 0;
	}
	return NOT_A_CPUSET;
}

/*
 * husk's default parent (its /husk) made again, when another process removed it, empty, after
 * husk saw it: as the runtime makes it (src/cgroups/cgroup.ts' createIn), a v1 cpuset's cpus
 * and mems from its own parent and clone_children, a cgroup2 directory's controllers handed
 * down. EEXIST is fine: someone made it meanwhile, and may not have filled it in yet (another
 * container's helper, a moment ahead): what follows only fills in what is missing.
 */
static int make_parent(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	char buf[64];
	if (read_knob(dir, "cgroup.controllers", buf, sizeof buf) == 0) {
		delegate_controllers(dir);
		return 0;
	}
	int cpuset = inherit_cpuset(dir);
	if (cpuset == NOT_A_CPUSET)
		return 0;
	return cpuset < 0 ? -1 : write_knob(dir, "cgroup.clone_children", "1");
}

/*
 * Would a process joining a child of `dir` now stop at once? A v1 freezer's state (its
 * ancestors' freezing shows there too); cgroup2's own freeze, or an ancestor's, which
 * cgroup.events reports. A directory that is not there (husk's parent, made again below) is not.
 */
static int stops_newcomers(const char *dir)
{
	char buf[256];
	if (read_knob(dir, "freezer.state", buf, sizeof buf) == 0)
		return strcmp(buf, "THAWED") != 0;
	if (read_knob(dir, "cgroup.freeze", buf, sizeof buf) == 0 && strcmp(buf, "1") == 0)
		return 1;
	return read_knob(dir, "cgroup.events", buf, sizeof buf) == 0 && (strncmp(buf, "frozen 1", 8) == 0 || strstr(buf, "\nfrozen 1"));
}

/*
 * A fresh cgroup's own directories, made by the helper's parent (husk planned them: the
 * engine's containers, whose ids are new): the kernel's work of making a cgroup in every
 * hierarchy, and the looks at its parents that come with it, off husk's thread. A frozen parent
 * refuses it first (EBUSY); cgroup2 parents hand their controllers down. With `parents` (husk's
 * default parent), a parent another process removed since husk looked is made again. Then the
 * cpuset's cpus and mems. A refusal names its part by index (errdetail): a directory, then a
 * frozen parent, then the cpuset.
 */
int op_cgroup_mkdirs(const struct field *f)
{
	char **dirs = split_list(&f[0]), **frozen = split_list(&f[2]), **delegate = split_list(&f[3]);
	int rc = dirs && frozen && delegate ? 0 : -1, ndirs = 0, nfrozen = 0;
	errdetail = -1;
	while (rc == 0 && dirs[ndirs])
		ndirs++;
	for (; rc == 0 && frozen[nfrozen]; nfrozen++)
		if (stops_newcomers(frozen[nfrozen])) {
			errdetail = ndirs + nfrozen;
			errno = EBUSY;
			rc = -1;
		}
	for (int k = 0; rc == 0 && delegate[k]; k++)
		delegate_controllers(delegate[k]);
	for (int k = 0; rc == 0 && dirs[k]; k++) {
		int ok = mkdir(dirs[k], 0755) == 0;
		char parent[PATH_MAX];
		/* The parent may go again between its mkdir and ours (the last container's delete
		 * removes it once empty): a few walks, as the runtime's create() takes. */
		for (int walk = 0; !ok && errno == ENOENT && f[1].i && walk < 5 && parent_dir(parent, sizeof parent, dirs[k]) == 0; walk++)
			ok = make_parent(parent) == 0 && mkdir(dirs[k], 0755) == 0;
		if (!ok) {
			errdetail = k;
			rc = -1;
		}
	}
	if (rc == 0 && f[4].len && inherit_cpuset(f[4].s) != 0) {
		errdetail = ndirs + nfrozen;
		rc = -1;
	}
	int err = errno;
	free(dirs);
	free(frozen);
	free(delegate);
	errno = err;
	return rc;
}

/* Each value in a write of its own (v1 device rules: the kernel takes one rule per write). */
int op_cgroup_write(const struct field *f)
{
	char **values = split_list(&f[1]);
	if (!values)
		return -1;
	int fd = open(f[0].s, O_WRONLY | O_CLOEXEC);
	int rc = fd < 0 ? -1 : 0;
	errdetail = -1; /* no value named: the file itself */
	for (int k = 0; rc == 0 && values[k]; k++) {
		size_t len = strlen(values[k]);
		ssize_t n = write(fd, values[k], len);
		if (n != (ssize_t)len) {
			if (n >= 0)
				errno = EIO; /* a cgroup file takes a value whole or refuses it */
			errdetail = k;
			rc = -1;
		}
	}
	int err = errno;
	if (fd >= 0)
		close(fd);
	free(values);
	errno = err;
	return rc;
}

/* A namespace to join after clone, opened now while its path still resolves. */

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
int op_device_filter(const struct field *f)
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
