/*
 * The new mount API (open_tree, move_mount, mount_setattr, fsopen, fsconfig, fsmount).
 * glibc 2.36 declares these in <sys/mount.h>; musl (the libc the helper is built with when
 * musl-gcc is installed, see the Makefile) does not, so they are called through syscall(2)
 * with the kernel's own constants and struct mount_attr from <linux/mount.h>.
 */
#ifndef HUSK_MOUNT_API_H
#define HUSK_MOUNT_API_H

#ifndef __GLIBC__
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline int open_tree(int dfd, const char *path, unsigned flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}

static inline int move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

static inline int mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr, size_t size)
{
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, size);
}

static inline int fsopen(const char *fsname, unsigned flags)
{
	return (int)syscall(SYS_fsopen, fsname, flags);
}

static inline int fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

static inline int fsmount(int fd, unsigned flags, unsigned attrs)
{
	return (int)syscall(SYS_fsmount, fd, flags, attrs);
}
#endif

#endif
