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
 * A directory deeper than MAX_DEPTH (a container can nest them without end) is moved up beside
 * the tree's top and removed from there, so neither fds nor path lengths run out: Node's own
 * fs.rm fails on such a tree with ENAMETOOLONG. Moved ones are named .husk-deep-<pid>-<n>; a
 * removal cut short leaves them beside the tree (in husk's .removing, which is swept).
 */
#include "helper.h"

#include <dirent.h>

static int remove_in(int parent, const char *name, dev_t dev, int depth, int isdir);

enum { MAX_DEPTH = 64 };
static int besidefd = -1;               /* the directory that holds the tree being removed */
static unsigned long moved_next;        /* how many directories were moved up so far */

static void moved_name(char *buf, size_t cap, unsigned long k)
{
	snprintf(buf, cap, ".husk-deep-%d-%lu", (int)getpid(), k);
}

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
		int err = remove_in(dirfd(d), e->d_name, dev, depth + 1, e->d_type == DT_DIR);
		if (err && !rc)
			rc = err;
	}
	closedir(d);
	return rc;
}

/*
 * unlinkat(parent, name), emptying it first if it is a directory on `dev`; 0 or an errno.
 * `isdir`: known to be a directory (readdir's d_type), so no unlinkat is tried that would fail.
 */
static int remove_in(int parent, const char *name, dev_t dev, int depth, int isdir)
{
	if (!isdir) {
		if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
			return 0;
		if (errno != EISDIR && errno != EPERM)
			return errno;
	}
	if (depth > MAX_DEPTH && besidefd >= 0) {
		char to[64];
		moved_name(to, sizeof to, moved_next);
		if (renameat(parent, name, besidefd, to) < 0)
			return errno == ENOENT ? 0 : errno;
		moved_next++;
		return 0;
	}
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
	if (n == 0)
		n = 1; /* the tree is right under "/" */
	memcpy(dir, path, n);
	dir[n] = 0;
	int parent = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return errno == ENOENT ? 0 : errno;
	struct stat st;
	int rc = fstatat(parent, slash + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 ? (errno == ENOENT ? -1 : errno) : 0;
	if (rc == 0) {
		unsigned long first = moved_next;
		besidefd = parent;
		rc = remove_in(parent, slash + 1, st.st_dev, 0, S_ISDIR(st.st_mode));
		/* What was moved up, and what moving it up moved in turn. */
		for (unsigned long k = first; k < moved_next; k++) {
			char name[64];
			moved_name(name, sizeof name, k);
			int err = remove_in(parent, name, st.st_dev, 0, 0);
			if (err && !rc)
				rc = err;
		}
		besidefd = -1;
	}
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
