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

/*
 * A fresh cgroup's own directories, made by the helper's parent (husk planned them: the
 * engine's containers, whose ids are new): the kernel's work of making a cgroup in every
 * hierarchy off husk's thread. A refusal names the directory by its index (errdetail).
 */
int op_cgroup_mkdirs(const struct field *f)
{
	char **dirs = split_list(&f[0]);
	if (!dirs)
		return -1;
	int rc = 0;
	errdetail = -1;
	for (int k = 0; dirs[k]; k++)
		if (mkdir(dirs[k], 0755) < 0) {
			errdetail = k;
			rc = -1;
			break;
		}
	free(dirs);
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
