/*
 * --remove: delete directory trees for a caller whose own recursive delete is costly (Node's
 * fs.rm walks a tree in JavaScript, an event-loop turn per entry: ~1.4 ms of its one thread for
 * a removed container's directory, src/sys/node.ts). One process serves a caller's removals:
 * each line on stdin names an absolute path, deleted with everything under it; the answer is
 * a line "0" (done, or it was not there) or the errno that stopped it. EOF: exit 0.
 *
 * The walk is fd-relative and never follows a symlink (each directory is opened with
 * O_NOFOLLOW below the one before it, and entries are unlinked by name in it), so nothing a
 * container left in its writable layer can point the deletion elsewhere; it stays on the
 * tree's own filesystem (a mount found inside is left alone, and its directory with it).
 */
#include "helper.h"

#include <dirent.h>

static int remove_in(int parent, const char *name, dev_t dev, int depth);

/* Everything in the directory `fd` (on device dev); 0, or the first errno met. */
static int empty_dir(int fd, dev_t dev, int depth)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		int err = errno;
		close(fd);
		return err;
	}
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			if (errno && !rc)
				rc = errno;
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		int err = remove_in(dirfd(d), e->d_name, dev, depth + 1);
		if (err && !rc)
			rc = err;
	}
	closedir(d);
	return rc;
}

/* unlinkat(parent, name), emptying it first if it is a directory on `dev`; 0 or an errno. */
static int remove_in(int parent, const char *name, dev_t dev, int depth)
{
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return errno;
	if (depth > 256)
		return ELOOP;
	/* Entries removed while a directory is read may make readdir skip one: a second pass then. */
	for (int pass = 0;; pass++) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? 0 : errno;
		struct stat st;
		if (fstat(fd, &st) < 0) {
			int err = errno;
			close(fd);
			return err;
		}
		if (st.st_dev != dev) {
			close(fd);
			return EXDEV; /* a mount inside: not ours to empty */
		}
		int rc = empty_dir(fd, dev, depth);
		if (rc)
			return rc;
		if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != ENOTEMPTY || pass == 1)
			return errno;
	}
}

/* The whole tree at `path` (absolute, not "/"); 0 or the first errno met. */
static int remove_tree(const char *path)
{
	if (path[0] != '/' || path[1] == 0)
		return EINVAL;
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	size_t n = (size_t)(slash - path);
	if (n >= sizeof dir || slash[1] == 0 || strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0)
		return EINVAL;
	memcpy(dir, path, n);
	dir[n ? n : 1] = 0;
	if (n == 0)
		dir[0] = '/';
	int parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return errno == ENOENT ? 0 : errno;
	struct stat st;
	int rc = fstatat(parent, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 ? (errno == ENOENT ? -1 : errno) : 0;
	if (rc == 0)
		rc = remove_in(parent, slash + 1, st.st_dev, 0);
	close(parent);
	return rc < 0 ? 0 : rc;
}

_Noreturn void serve_removals(void)
{
	char path[PATH_MAX + 1];
	while (read_stdin_line(path, "--remove") >= 0) {
		char answer[16];
		int k = snprintf(answer, sizeof answer, "%d\n", remove_tree(path));
		if (write(1, answer, (size_t)k) != k)
			_exit(1);
	}
	_exit(0);
}
