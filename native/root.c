/*
 * Paths, mounts and files inside the container's root. Until the root switch every path from
 * the spec is resolved with openat2(RESOLVE_IN_ROOT) against the opened root, so no symlink or
 * ".." in the rootfs can lead to the host.
 */
#include "helper.h"

/* ---------------------------------------------------------------- paths inside the root */

/*
 * Open path inside the root. Before the switch, openat2's RESOLVE_IN_ROOT treats rootfd as
 * "/" for absolute symlinks and "..", so nothing in the rootfs can lead to the host; magic
 * links (/proc/<pid>/root …) are refused outright. After the switch "/" is the root.
 */
static int resolve(const char *path, int flags)
{
	if (switched)
		return open(path, flags | O_CLOEXEC);
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd, tries = 0;
	/* EAGAIN: a concurrent rename raced with ".."; the kernel asks us to try again. */
	do
		fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN && ++tries < 32);
	return fd;
}

/* Anything but Where.Host is taken as InRoot: the confined reading is the safe one. */
static int open_where(const char *path, int64_t where, int flags)
{
	if (where == WHERE_HOST)
		return open(path, flags | O_CLOEXEC);
	return resolve(path, flags);
}

/*
 * A path for syscalls that take no dirfd (mount, statvfs). An InRoot path before the switch
 * is pinned as an O_PATH fd and named through its /proc/self/fd magic link: mount(2) follows
 * it to exactly the resolved object. The host /proc is still visible in the new mount
 * namespace until pivot_root.
 */
struct loc {
	int fd;
	const char *path;
	char buf[32];
};

static int locate(struct loc *l, const char *path, int64_t where)
{
	l->fd = -1;
	l->path = path;
	if (where == WHERE_HOST || switched)
		return 0;
	if ((l->fd = resolve(path, O_PATH)) < 0)
		return -1;
	snprintf(l->buf, sizeof l->buf, "/proc/self/fd/%d", l->fd);
	l->path = l->buf;
	return 0;
}

static void unlocate(struct loc *l)
{
	xclose(l->fd);
	l->fd = -1;
}

static int mkdir_walk(const char *path, mode_t mode);

/*
 * Copy path into dir without its trailing slashes and point *base at its last name there
 * (dir itself when it has no slash); -1 (ENAMETOOLONG) if it does not fit.
 */
static int split_last(const char *path, char dir[PATH_MAX], char **base)
{
	size_t len = strlen(path);
	if (len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, len + 1);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = 0;
	char *slash = strrchr(dir, '/');
	*base = slash ? slash + 1 : dir;
	return 0;
}

/*
 * mkdir -p inside the root; returns an O_PATH fd of the directory. Each path is resolved from
 * the root (so a symlinked component is followed inside the root), and only a last name is
 * created, with mkdirat relative to its resolved parent: mkdirat never follows a symlink in
 * its final component, so a link planted in the rootfs is never created through.
 *
 * Most paths a plan makes exist already (/proc, /sys, /dev in an image) or lack only their last
 * name (/dev/pts on a fresh tmpfs): those are tried first, one openat2 or three instead of one
 * per prefix (~40 fewer openat2 and closes a container); anything else is walked.
 */
static int mkdir_all(const char *path, mode_t mode)
{
	int fd = resolve(path, O_PATH | O_DIRECTORY);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	char parent[PATH_MAX], last[NAME_MAX + 1], *base;
	if (split_last(path, parent, &base) < 0)
		return -1;
	if (base == parent || !*base || !strcmp(base, ".") || !strcmp(base, "..") || strlen(base) > NAME_MAX)
		return mkdir_walk(path, mode);
	strcpy(last, base);
	*base = 0; /* parent is now the directory above, "/" for the root's child */
	int dir = resolve(parent, O_PATH | O_DIRECTORY);
	if (dir < 0)
		return errno == ENOENT ? mkdir_walk(path, mode) : -1;
	if (mkdirat(dir, last, mode) < 0 && errno != EEXIST) {
		xclose(dir);
		return -1;
	}
	xclose(dir);
	/* EEXIST from a dangling symlink leaves this ENOENT: refused, not followed out. */
	return resolve(path, O_PATH | O_DIRECTORY);
}

/* mkdir_all's walk: each prefix resolved from the root again, the missing ones made in turn. */
static int mkdir_walk(const char *path, mode_t mode)
{
	char prefix[PATH_MAX];
	size_t len = 0;
	int dir = resolve("/", O_PATH | O_DIRECTORY);
	for (const char *p = path; dir >= 0;) {
		p += strspn(p, "/");
		size_t n = strcspn(p, "/");
		if (n == 0)
			return dir;
		if (len + n + 2 > sizeof prefix) {
			xclose(dir);
			errno = ENAMETOOLONG;
			return -1;
		}
		prefix[len++] = '/';
		memcpy(prefix + len, p, n);
		len += n;
		prefix[len] = 0;
		p += n;
		int fd = resolve(prefix, O_PATH | O_DIRECTORY);
		if (fd < 0 && errno == ENOENT) {
			if (mkdirat(dir, prefix + len - n, mode) < 0 && errno != EEXIST) {
				xclose(dir);
				return -1;
			}
			/* EEXIST from a dangling symlink leaves this ENOENT: refused, not followed out. */
			fd = resolve(prefix, O_PATH | O_DIRECTORY);
		}
		xclose(dir);
		dir = fd;
	}
	return dir;
}

/*
 * Split path into its parent directory (an O_PATH fd inside the root; created like mkdirAll
 * 0755 if create is set) and its last name. A last component of "/", "." or ".." names an
 * existing directory: then name is "" and the fd is that directory itself, so callers never
 * pass ".." to an *at() call where the parent is the root.
 */
static int at_parent(const char *path, int create, char name[NAME_MAX + 1])
{
	char dir[PATH_MAX], *base;
	if (split_last(path, dir, &base) < 0)
		return -1;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		name[0] = 0;
		return resolve(path, O_PATH);
	}
	if (strlen(base) > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(name, base);
	*base = 0; /* dir is now the parent, "" meaning the root */
	return create ? mkdir_all(dir, 0755) : resolve(*dir ? dir : "/", O_PATH | O_DIRECTORY);
}

/* ---------------------------------------------------------------- mounts */

/*
 * In a user namespace the kernel locks the nosuid/nodev/noexec/atime/rdonly flags a mount
 * had when it was copied from a more privileged namespace, and a bind remount that would
 * clear one fails EPERM. Retry once keeping the flags the mount has now.
 */
/* The per-mount flags a mount has now, as MS_* bits; -1 if statvfs fails. */
static long current_flags(const char *path)
{
	static const struct { unsigned long st, ms; } map[] = {
		{ ST_NOSUID, MS_NOSUID },   { ST_NODEV, MS_NODEV },         { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME }, { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
		{ ST_RDONLY, MS_RDONLY },
	};
	struct statvfs st;
	if (statvfs(path, &st) < 0)
		return -1;
	long flags = 0;
	for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
		if (st.f_flag & map[k].st)
			flags |= (long)map[k].ms;
	return flags;
}

static int mount_retry(const char *src, const char *tgt, const char *fstype, unsigned long flags,
		       const char *data)
{
	if (mount(src, tgt, fstype, flags, data) == 0)
		return 0;
	if (errno != EPERM || (flags & (MS_REMOUNT | MS_BIND)) != (MS_REMOUNT | MS_BIND))
		return -1;
	long kept = current_flags(tgt);
	if (kept < 0) {
		errno = EPERM;
		return -1;
	}
	return mount(src, tgt, fstype, flags | (unsigned long)kept, data);
}

const char *or_null(const struct field *f)
{
	return f->len ? f->s : NULL;
}

/*
 * procfs and sysfs go only on a directory of the rootfs itself, never through a symlink there
 * (runc refuses it too): masks and the kernel's checks of what a new procfs may show expect
 * /proc where it is. Nothing there yet is fine: mkdirAll makes it next.
 */
int op_refuse_link(const struct field *f)
{
	int fd = resolve(f[0].s, O_PATH | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	int rc = fstat(fd, &st);
	xclose(fd);
	if (rc == 0 && !S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return rc;
}

int op_mount(const struct field *f)
{
	struct loc src = { .fd = -1 }, tgt;
	const char *source = NULL;
	if (f[0].len) {
		if (locate(&src, f[0].s, f[1].i) < 0)
			return -1;
		source = src.path;
	}
	if (locate(&tgt, f[2].s, f[3].i) < 0) {
		unlocate(&src);
		return -1;
	}
	int rc = mount_retry(source, tgt.path, or_null(&f[4]), (unsigned long)f[5].i, or_null(&f[6]));
	unlocate(&src);
	unlocate(&tgt);
	return rc;
}

int op_mask(const struct field *f)
{
	struct loc l;
	struct stat st;
	int rc = -1;
	if (locate(&l, f[0].s, WHERE_IN_ROOT) < 0 || stat(l.path, &st) < 0)
		goto out;
	if (S_ISDIR(st.st_mode))
		rc = mount("tmpfs", l.path, "tmpfs", MS_RDONLY, "size=0");
	else
		rc = mount("/dev/null", l.path, NULL, MS_BIND, NULL);
out:
	unlocate(&l);
	return rc < 0 && errno == ENOENT ? 0 : rc;
}

int op_readonly(const struct field *f)
{
	struct loc l;
	if (locate(&l, f[0].s, WHERE_IN_ROOT) < 0)
		return errno == ENOENT ? 0 : -1;
	int rc = mount(l.path, l.path, NULL, MS_BIND | MS_REC, NULL);
	unlocate(&l);
	if (rc < 0)
		return errno == ENOENT ? 0 : -1;
	/* The pinned fd still names the covered directory; resolve again to reach the bind. */
	if (locate(&l, f[0].s, WHERE_IN_ROOT) < 0)
		return -1;
	/* Keep nosuid/nodev/noexec and the atime flags the path had (/proc/sys stays noexec). */
	long kept = current_flags(l.path);
	rc = mount_retry(NULL, l.path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | (unsigned long)(kept < 0 ? 0 : kept), NULL);
	unlocate(&l);
	return rc;
}

static int root_switched(void)
{
	xclose(rootfd);
	rootfd = -1;
	switched = 1;
	return 0;
}

/*
 * pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only
 * the container's tree. The old root may still be a peer of the host's mounts (a shared
 * rootfsPropagation): it is made a slave first so the detach cannot propagate to the host.
 */
int op_pivot_root(const struct field *f)
{
	(void)f;
	/*
	 * pivot_root(".", ".") stacks the old root on top of the new one. Before detaching it,
	 * make it slave from the old root's own directory: "." after the pivot is the new root,
	 * and a slave flag there would silently undo the container's own shared mounts; a shared
	 * old root left as is would carry the unmount over to the host.
	 */
	int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0)
		return -1;
	int ok = fchdir(rootfd) == 0 && syscall(SYS_pivot_root, ".", ".") == 0 && fchdir(oldroot) == 0 &&
		 mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) == 0 && umount2(".", MNT_DETACH) == 0;
	int err = errno;
	close(oldroot);
	errno = err;
	if (!ok)
		return -1;
	return chdir("/") < 0 ? -1 : root_switched();
}

/* Undo mountinfo's octal escapes (\040 for a space …) in place. */
static void unescape_mountinfo(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = 0;
}

/*
 * Without pivot_root the host's mounts stay in the container's mount namespace, out of sight
 * under the chroot but there. The kernel lets a user namespace mount a new procfs or sysfs only
 * where a fully visible one already exists in the namespace (mount_too_revealing), so a visible
 * host /proc would let the container mount an unmasked one. Every proc and sysfs mount outside
 * the root is detached, or, where it cannot be (locked under a user namespace), covered with an
 * empty read-only tmpfs.
 */
static int hide_host_proc_sys(void)
{
	char root[PATH_MAX], self[32];
	snprintf(self, sizeof self, "/proc/self/fd/%d", rootfd);
	ssize_t n = readlink(self, root, sizeof root - 1);
	if (n < 0)
		return -1;
	root[n] = 0;
	size_t rootlen = (size_t)n;
	FILE *mi = fopen("/proc/self/mountinfo", "re");
	if (!mi)
		return -1;
	/* Collected first: unmounting changes mountinfo under the reader. */
	char *targets[256];
	int count = 0, err = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, mi) > 0) {
		char *fields[5], *save = NULL, *tok = strtok_r(line, " ", &save);
		int i = 0;
		for (; tok && i < 5; i++, tok = strtok_r(NULL, " ", &save))
			fields[i] = tok;
		char *dash = tok ? strstr(save ? save : "", "- ") : NULL;
		if (i < 5 || !dash)
			continue;
		char *fstype = dash + 2, *end = strchr(fstype, ' ');
		if (end)
			*end = 0;
		if (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs") != 0)
			continue;
		unescape_mountinfo(fields[4]);
		if (strncmp(fields[4], root, rootlen) == 0 && (fields[4][rootlen] == '/' || fields[4][rootlen] == 0))
			continue;
		/* One that cannot be recorded would stay visible: fail rather than go on without it. */
		if (count == (int)(sizeof targets / sizeof targets[0])) {
			err = E2BIG;
			break;
		}
		if (!(targets[count] = strdup(fields[4]))) {
			err = ENOMEM;
			break;
		}
		count++;
	}
	free(line);
	fclose(mi);
	/* Deepest last in mountinfo order, so undo in reverse: children before their parents. */
	for (int i = count - 1; i >= 0; i--) {
		/* EINVAL: locked (under a user namespace), or gone already with its parent. */
		if (umount2(targets[i], MNT_DETACH) < 0 && errno != ENOENT &&
		    (errno != EINVAL ||
		     (mount("tmpfs", targets[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 &&
		      errno != ENOENT)) &&
		    !err)
			err = errno;
		free(targets[i]);
	}
	errno = err;
	return err ? -1 : 0;
}

/* For roots pivot_root refuses (a ramfs/initramfs root cannot be pivoted away). */
int op_chroot_move(const struct field *f)
{
	(void)f;
	if (hide_host_proc_sys() < 0 || fchdir(rootfd) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		return -1;
	return root_switched();
}

/* No mount namespace of its own: the container may not touch the host's mounts, only root. */
int op_chroot(const struct field *f)
{
	if (chroot(f[0].s) < 0 || chdir("/") < 0)
		return -1;
	return root_switched();
}

/* ---------------------------------------------------------------- files inside the root */

/* openRoot: a host directory kept as an O_PATH fd for later ops. */
int keep_dir(const char *path, int *slot)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	xclose(*slot);
	*slot = fd;
	return 0;
}

int op_open_root(const struct field *f)
{
	return keep_dir(f[0].s, &rootfd);
}

int op_mkdir_all(const struct field *f)
{
	int fd = mkdir_all(f[0].s, (mode_t)f[1].i);
	xclose(fd);
	return fd < 0 ? -1 : 0;
}

int op_mkfile(const struct field *f)
{
	char name[NAME_MAX + 1];
	int dir = at_parent(f[0].s, 1, name), rc = 0;
	if (dir < 0)
		return -1;
	/* mknodat(S_IFREG) creates without opening and, like O_EXCL, never follows a symlink. */
	if (*name && mknodat(dir, name, S_IFREG | ((mode_t)f[1].i & 07777), 0) < 0 && errno != EEXIST)
		rc = -1;
	xclose(dir);
	return rc;
}

int op_mknod(const struct field *f)
{
	char name[NAME_MAX + 1];
	int dir = at_parent(f[0].s, 0, name), rc = -1;
	if (dir >= 0 && !*name)
		errno = EEXIST;
	else if (dir >= 0)
		rc = mknodat(dir, name, (mode_t)f[1].i, (dev_t)f[2].i);
	xclose(dir);
	return rc;
}

int op_symlink(const struct field *f)
{
	char name[NAME_MAX + 1];
	int dir = at_parent(f[1].s, 0, name), rc = 0;
	if (dir < 0)
		return -1;
	if (*name && symlinkat(f[0].s, dir, name) < 0 && errno != EEXIST)
		rc = -1;
	xclose(dir);
	return rc;
}

int op_chown(const struct field *f)
{
	char name[NAME_MAX + 1];
	int dir = at_parent(f[0].s, 0, name);
	if (dir < 0)
		return -1;
	int rc = fchownat(dir, name, (uid_t)f[1].i, (gid_t)f[2].i,
			  AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH));
	xclose(dir);
	return rc;
}

int op_write_file(const struct field *f)
{
	int fd = open_where(f[0].s, f[1].i, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, f[2].s, f[2].len);
	int err = n < 0 ? errno : (size_t)n != f[2].len ? EIO : 0;
	close(fd);
	errno = err;
	return err ? -1 : 0;
}

/* ---------------------------------------------------------------- id-mapped mounts */

/* Detached mounts made by idmapMount, openTree or fsMount in the helper's parent, attached by the child. */
static int detachedfds[128] = { [0 ... 127] = -1 };

/* Whether slot names one of detachedfds (E2BIG if not): checked before the mount is made. */
static int slot_in_range(int64_t slot)
{
	if (slot >= 0 && slot < (int64_t)(sizeof detachedfds / sizeof detachedfds[0]))
		return 0;
	errno = E2BIG;
	return -1;
}

/* A detached mount (or -1) into its slot, in place of what was there. */
static void keep_detached(int64_t slot, int fd)
{
	xclose(detachedfds[slot]);
	detachedfds[slot] = fd;
}

/* Write one map ("c h s" lines from u32 triples) to /proc/<pid>/<file>. */
static int write_map(pid_t pid, const char *file, const struct field *map)
{
	char path[64], text[4096];
	size_t n = 0;
	for (uint32_t k = 0; k + 12 <= map->len; k += 12) {
		uint32_t t[3];
		memcpy(t, map->s + k, sizeof t);
		int w = snprintf(text + n, sizeof text - n, "%u %u %u\n", t[0], t[1], t[2]);
		if (w < 0 || (size_t)w >= sizeof text - n) {
			errno = E2BIG;
			return -1;
		}
		n += (size_t)w;
	}
	snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, n);
	int err = errno;
	close(fd);
	errno = err;
	return w == (ssize_t)n ? 0 : -1;
}

/*
 * A user namespace with these mappings, as an fd: a child unshares one and waits while we
 * write its maps, then leaves. Only the mapping matters to an id-mapped mount, not the process.
 */
static int userns_with(const struct field *uidmap, const struct field *gidmap)
{
	int ready[2], done[2], fd = -1, err = 0;
	char c;
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(done, O_CLOEXEC) < 0) {
		xclose(ready[0]);
		xclose(ready[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(done[1]);
		c = unshare(CLONE_NEWUSER) == 0 ? 'u' : 'x';
		(void)!write(ready[1], &c, 1);
		(void)!read(done[0], &c, 1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	if (pid < 0 || read(ready[0], &c, 1) != 1 || c != 'u') {
		err = pid < 0 ? errno : EPERM;
	} else if (write_map(pid, "uid_map", uidmap) < 0 || write_map(pid, "gid_map", gidmap) < 0) {
		err = errno;
	} else {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? errno : 0;
	}
	close(ready[0]);
	close(done[1]); /* the child's read returns: it leaves */
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	errno = err;
	return fd;
}

/*
 * In the helper's parent, on the host, before clone: a detached copy of `source` whose ids are
 * mapped through a user namespace with the mount's mappings. Needs CAP_SYS_ADMIN over the
 * filesystem, which the container process (maybe in a new user namespace) would not have.
 */
int op_idmap_mount(const struct field *f)
{
	if (slot_in_range(f[0].i) < 0)
		return -1;
	int userns = userns_with(&f[3], &f[4]);
	if (userns < 0)
		return -1;
	/* recursion: 1 copies the submounts too (rbind), 2 id-maps them too (ridmap). */
	unsigned copy_all = f[2].i & 1 ? AT_RECURSIVE : 0, map_all = f[2].i & 2 ? AT_RECURSIVE : 0;
	int fd = open_tree(AT_FDCWD, f[1].s, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | copy_all);
	if (fd < 0) {
		xclose(userns);
		return -1;
	}
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
	int rc = mount_setattr(fd, "", AT_EMPTY_PATH | map_all, &attr, sizeof attr);
	xclose(userns);
	if (rc < 0) {
		xclose(fd);
		return -1;
	}
	keep_detached(f[0].i, fd);
	return 0;
}

/*
 * In the helper's parent, on the host, before clone: a detached bind of `source`, opened while
 * its path still resolves with the caller's rights. The child, root of a new user namespace but
 * nobody on the host, may not be able to walk to it (runc passes such sources as fds too).
 */
int op_open_tree(const struct field *f)
{
	if (slot_in_range(f[0].i) < 0)
		return -1;
	int fd = open_tree(AT_FDCWD, f[1].s, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (f[2].i ? AT_RECURSIVE : 0));
	if (fd < 0)
		return -1;
	keep_detached(f[0].i, fd);
	return 0;
}

/*
 * The parent's copies, once the child has its own: an overlay's superblock, kept alive by one,
 * would outlive the container's mount namespace for as long as a monitor runs.
 */
void close_detached_mounts(void)
{
	for (size_t k = 0; k < sizeof detachedfds / sizeof detachedfds[0]; k++)
		keep_detached((int64_t)k, -1);
}

/* The detached mount waiting in slot, or -1 (EBADF) if there is none. */
static int detached(int64_t slot)
{
	if (slot_in_range(slot) < 0 || detachedfds[slot] < 0) {
		errno = EBADF;
		return -1;
	}
	return detachedfds[slot];
}

/* The detached mount in slot (there: see detached()) moved onto target, an fd (-1: errno set); the slot is emptied. */
static int move_detached(int64_t slot, int target)
{
	if (target < 0)
		return -1;
	int rc = move_mount(detachedfds[slot], "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	int err = errno;
	xclose(target);
	keep_detached(slot, -1);
	errno = err;
	return rc;
}

/* In the child: put the id-mapped mount made before clone on its mount point in the root. */
int op_attach_mount(const struct field *f)
{
	if (detached(f[0].i) < 0)
		return -1;
	return move_detached(f[0].i, resolve(f[1].s, O_PATH));
}

/* ---------------------------------------------------------------- tmpfs */

/* MS_* flags as fsmount/mount_setattr take them. */
static unsigned mount_attrs(unsigned long ms)
{
	unsigned a = 0;
	a |= ms & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0;
	a |= ms & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0;
	a |= ms & MS_NODEV ? MOUNT_ATTR_NODEV : 0;
	a |= ms & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0;
	a |= ms & MS_NOATIME ? MOUNT_ATTR_NOATIME : ms & MS_STRICTATIME ? MOUNT_ATTR_STRICTATIME : 0;
	a |= ms & MS_NODIRATIME ? MOUNT_ATTR_NODIRATIME : 0;
	return a;
}

static int copy_tree(int src, int dst, int depth);

/* One directory entry, never following a symlink: the image cannot point the copy elsewhere. */
static int copy_entry(int src, int dst, const char *name, int depth)
{
	struct stat st;
	int rc = 0;
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst, name, st.st_mode & 07777) < 0)
			return -1;
		int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int d = s < 0 ? -1 : openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		rc = d < 0 ? -1 : copy_tree(s, d, depth + 1);
		xclose(s);
		xclose(d);
	} else if (S_ISREG(st.st_mode)) {
		int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		int d = s < 0 ? -1 : openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
		ssize_t n = d < 0 ? -1 : 0;
		off_t left = st.st_size;
		while (d >= 0 && left > 0 && (n = sendfile(d, s, NULL, left > (1 << 30) ? 1 << 30 : (size_t)left)) > 0)
			left -= n;
		rc = d < 0 || n < 0 ? -1 : 0;
		xclose(s);
		xclose(d);
	} else if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(src, name, target, sizeof target - 1);
		if (n < 0)
			return -1;
		target[n] = 0;
		rc = symlinkat(target, dst, name);
	} else {
		rc = mknodat(dst, name, st.st_mode, st.st_rdev);
	}
	if (rc < 0)
		return -1;
	/* Owner, then the mode again (chown clears set-id bits), then times. */
	if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (!S_ISLNK(st.st_mode) && fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
		return -1;
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	return utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW);
}

static int copy_tree(int src, int dst, int depth)
{
	if (depth > 128) {
		errno = ELOOP;
		return -1;
	}
	int fd = dup(src);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		xclose(fd);
		return -1;
	}
	int rc = 0;
	for (;;) {
		errno = 0; /* readdir says end and failure apart only through errno */
		struct dirent *e = readdir(dir);
		if (!e) {
			rc = errno ? -1 : 0;
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((rc = copy_entry(src, dst, e->d_name, depth)) < 0)
			break;
	}
	int err = errno;
	closedir(dir);
	errno = err;
	return rc;
}

/*
 * Each option of a comma-separated mount data string (flag, or key=value) given to an fs
 * context. With `layers`, overlayfs' "lowerdir" list goes one layer at a time ("lowerdir+",
 * Linux 6.8): fsconfig takes at most 255 bytes a value, which a few layers' paths pass.
 */
static int fs_options(int fs, char *data, int layers)
{
	for (char *opt = data, *next; opt && *opt; opt = next) {
		next = strchr(opt, ',');
		if (next)
			*next++ = 0;
		char *eq = strchr(opt, '=');
		if (eq)
			*eq = 0;
		if (layers && eq && strcmp(opt, "lowerdir") == 0) {
			for (char *dir = eq + 1, *more; dir; dir = more) {
				more = strchr(dir, ':');
				if (more)
					*more++ = 0;
				if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", dir, 0) < 0)
					return -1;
			}
		} else if (fsconfig(fs, eq ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, opt, eq ? eq + 1 : NULL, 0) < 0) {
			return -1;
		}
	}
	return 0;
}

/* A detached mount of fstype from source and the options in data (a copy: fs_options cuts it up); -1 if refused. */
static int detached_fs(const char *fstype, const struct field *source, const char *data, int layers)
{
	char *opts = strdup(data);
	int fs = opts ? fsopen(fstype, FSOPEN_CLOEXEC) : -1, mnt = -1;
	if (fs >= 0 && (source->len == 0 || fsconfig(fs, FSCONFIG_SET_STRING, "source", source->s, 0) == 0) &&
	    fs_options(fs, opts, layers) == 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
	xclose(fs);
	free(opts);
	return mnt;
}

/*
 * In the helper's parent, before clone: the rootfs filesystem made detached (the engine's
 * overlay), waiting in its slot for mountRootfs. Made here, what it costs (overlayfs makes its
 * work directory, a new directory block) is charged to the caller's memory cgroup, as a
 * daemon's mount is, not to the container's: a page charged there keeps the container's
 * memory cgroup alive, dying, long after it is removed. Best effort: the layers one at a time,
 * else as one list (before Linux 6.8), else the slot stays empty and the child mounts it.
 */
int op_fs_mount(const struct field *f)
{
	if (slot_in_range(f[0].i) < 0)
		return -1;
	int mnt = detached_fs(f[1].s, &f[2], f[3].s, 1);
	if (mnt < 0)
		mnt = detached_fs(f[1].s, &f[2], f[3].s, 0);
	keep_detached(f[0].i, mnt);
	return 0;
}

/* In the child: the rootfs from fsMount moved onto target (a host path), or mounted here if the parent could not. */
int op_mount_rootfs(const struct field *f)
{
	if (detached(f[0].i) < 0) {
		struct loc tgt;
		if (locate(&tgt, f[1].s, WHERE_HOST) < 0)
			return -1;
		int rc = mount_retry(f[3].s, tgt.path, f[2].s, 0, f[4].s);
		unlocate(&tgt);
		return rc;
	}
	return move_detached(f[0].i, open(f[1].s, O_PATH | O_CLOEXEC));
}

/*
 * In the helper's parent, before clone: a mount point made ahead in the detached mount in
 * slot (mkdirAll's directories, or mkfile's empty file), for the same reason as op_fs_mount.
 * Only through plain directories: a symlink (which the child would resolve with the mounts
 * made before it in place), a "." or "..", or any failure ends the attempt quietly, and the
 * child's own step makes the mount point as it always does.
 */
int op_precreate(const struct field *f)
{
	int root = detached(f[0].i);
	if (root < 0)
		return 0; /* the parent made no rootfs: the child's steps make everything */
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	mode_t mask = umask(0); /* the modes the child's steps give, which run under umask 0 */
	int dir = dup(root);
	for (char *name = f[1].s, *next; dir >= 0 && name; name = next) {
		while (*name == '/')
			name++;
		next = strchr(name, '/');
		if (next)
			*next++ = 0;
		while (next && *next == '/')
			next++;
		if (next && !*next)
			next = NULL;
		if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			break;
		if (next || f[2].i) {
			if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
				break;
			if (!next)
				break;
			int sub = (int)syscall(SYS_openat2, dir, name, &how, sizeof how);
			xclose(dir);
			dir = sub;
		} else {
			(void)mknodat(dir, name, S_IFREG | 0644, 0); /* EEXIST: there already */
		}
	}
	xclose(dir);
	umask(mask);
	return 0;
}

/*
 * A tmpfs on target, made detached (fsopen/fsconfig with `data`, fsmount) and moved there:
 * with `copyup` (runc's tmpcopyup) it first gets a copy of what the root has at the target;
 * with `inheritmode` its root takes the mode of the image directory it covers, as runc's does
 * (the plan asks when the data names no mode). `source` is what mountinfo shows as the source.
 */
int op_tmpfs(const struct field *f)
{
	/* A directory the image did not have is made here (0755) and lends no mode: tmpfs's 1777. */
	int inherit = (int)f[5].i;
	int dir = resolve(f[0].s, O_RDONLY | O_DIRECTORY), fs = -1, mnt = -1, rc = -1;
	if (dir < 0 && errno == ENOENT) {
		inherit = 0;
		xclose(mkdir_all(f[0].s, 0755));
		dir = resolve(f[0].s, O_RDONLY | O_DIRECTORY);
	}
	if (dir < 0)
		return -1;
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || (f[3].len && fsconfig(fs, FSCONFIG_SET_STRING, "source", f[3].s, 0) < 0))
		goto out;
	struct stat st;
	if (inherit) {
		char mode[16];
		if (fstat(dir, &st) < 0)
			goto out;
		snprintf(mode, sizeof mode, "%o", st.st_mode & 07777);
		if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0)
			goto out;
	}
	if (fs_options(fs, f[2].s, 0) < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto out;
	unsigned long flags = (unsigned long)f[1].i;
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, mount_attrs(flags & ~MS_RDONLY));
	if (mnt < 0 || (f[4].i && copy_tree(dir, mnt, 0) < 0))
		goto out;
	if (flags & MS_RDONLY) {
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
			goto out;
	}
	rc = move_mount(mnt, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
out:;
	int err = errno;
	xclose(mnt);
	xclose(fs);
	xclose(dir);
	errno = err;
	return rc;
}

/* ---------------------------------------------------------------- extended attributes */

/*
 * lsetxattr inside the root. There is no setxattr with a dirfd before Linux 6.13, so the
 * object itself is pinned (O_PATH|O_NOFOLLOW: a symlink or device node is never followed nor
 * opened) and named through its /proc/self/fd magic link, which setxattr follows to exactly
 * that inode.
 */
int op_setxattr(const struct field *f)
{
	struct loc l = { .fd = resolve(f[0].s, O_PATH | O_NOFOLLOW) };
	if (l.fd < 0)
		return -1;
	snprintf(l.buf, sizeof l.buf, "/proc/self/fd/%d", l.fd);
	int rc = setxattr(l.buf, f[1].s, f[2].s, f[2].len, 0);
	unlocate(&l);
	return rc;
}

/* ---------------------------------------------------------------- recursive attributes */

/* "rro", "rnosuid" …: mount_setattr(AT_RECURSIVE) on the mount at target and all below it. */
int op_mount_setattr(const struct field *f)
{
	int target = resolve(f[0].s, O_PATH);
	if (target < 0)
		return -1;
	struct mount_attr attr = { .attr_set = (uint64_t)f[1].i, .attr_clr = (uint64_t)f[2].i };
	int rc = mount_setattr(target, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
	xclose(target);
	return rc;
}
