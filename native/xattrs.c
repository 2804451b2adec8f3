/*
 * --xattrs: the extended attributes of paths, for a caller whose runtime cannot read them (node:fs
 * has no getxattr; src/engine/xattrs.ts is the other side). One process serves a whole commit or
 * export: it reads NUL-terminated paths on stdin and answers each, in order, on stdout:
 *
 *   u32 errno (0: read) · u32 len · len bytes of [u32 nlen · name · u32 vlen · value]…
 *
 * (little endian; names without their NUL, values as the kernel has them, binary). The last
 * component of a path is never followed (llistxattr/lgetxattr): the caller names an entry as
 * /proc/<its pid>/fd/<directory fd>/<name>, so the lookup is the one of that name in the open
 * directory, and a symlink there is read as the symlink. An attribute removed between the list
 * and the read is left out. EOF on stdin ends the process. No policy: which attributes matter is
 * the caller's business.
 */
#include "helper.h"
#include <sys/xattr.h>

/* XATTR_LIST_MAX and XATTR_SIZE_MAX: the kernel never returns more for one call. */
#define LIST_MAX 65536
#define VALUE_MAX 65536

static char list[LIST_MAX];
static char value[VALUE_MAX];

struct out {
	char *buf;
	size_t len, cap;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 65536;
		while (cap < o->len + n)
			cap *= 2;
		char *b = realloc(o->buf, cap);
		if (!b)
			die(1, "--xattrs: out of memory", ENOMEM);
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void put_u32(struct out *o, uint32_t v)
{
	put(o, &v, sizeof v);
}

/* Append the answer for path to o. */
static void answer(struct out *o, const char *path)
{
	ssize_t n = llistxattr(path, list, sizeof list);
	if (n < 0) {
		put_u32(o, (uint32_t)errno);
		put_u32(o, 0);
		return;
	}
	size_t at = o->len;
	put_u32(o, 0);
	put_u32(o, 0); /* the length, filled in below */
	for (char *name = list; name < list + n; name += strlen(name) + 1) {
		ssize_t v = lgetxattr(path, name, value, sizeof value);
		if (v < 0)
			continue; /* ENODATA: removed meanwhile */
		put_u32(o, (uint32_t)strlen(name));
		put(o, name, strlen(name));
		put_u32(o, (uint32_t)v);
		put(o, value, (size_t)v);
	}
	uint32_t len = (uint32_t)(o->len - at - 8);
	memcpy(o->buf + at + 4, &len, sizeof len);
}

static void flush(struct out *o)
{
	for (size_t off = 0; off < o->len;) {
		ssize_t w = write(1, o->buf + off, o->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(1);
		off += (size_t)w;
	}
	o->len = 0;
}

_Noreturn void serve_xattrs(void)
{
	static char in[PATH_MAX + 4096];
	struct out o = { 0 };
	size_t have = 0;
	for (;;) {
		ssize_t n = read(0, in + have, sizeof in - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		have += (size_t)n;
		/* Answer every whole path read; the answers go out before the next read can block. */
		size_t start = 0;
		for (char *nul; (nul = memchr(in + start, 0, have - start)); start = (size_t)(nul - in) + 1)
			answer(&o, in + start);
		if (start == 0 && have == sizeof in)
			die(2, "--xattrs: path too long", 0);
		memmove(in, in + start, have - start);
		have -= start;
		flush(&o);
	}
}
