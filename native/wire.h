/*
 * Generated from src/helper/wire.ts by `npm run gen-wire`: edit that file, not this one.
 * X(code, name, field kinds, function): one line per plan op (kinds: i int, s string,
 * b bytes, l NUL-terminated string list, u u32 array).
 */
#ifndef HUSK_WIRE_H
#define HUSK_WIRE_H

#define HUSK_OPS(X) \
	X(1, setns, "si", op_setns) \
	X(2, unshare, "i", op_unshare) \
	X(3, clone, "ii", op_clone) \
	X(4, waitContinue, "", op_wait_continue) \
	X(5, writeFile, "sib", op_write_file) \
	X(6, sethostname, "s", op_sethostname) \
	X(7, setdomainname, "s", op_setdomainname) \
	X(8, openRoot, "s", op_open_root) \
	X(9, mount, "sisisis", op_mount) \
	X(10, mkdirAll, "si", op_mkdir_all) \
	X(11, mkfile, "si", op_mkfile) \
	X(12, mknod, "sii", op_mknod) \
	X(13, symlink, "ss", op_symlink) \
	X(14, chown, "sii", op_chown) \
	X(15, pivotRoot, "", op_pivot_root) \
	X(16, chrootMove, "", op_chroot_move) \
	X(17, mask, "s", op_mask) \
	X(18, readonly, "s", op_readonly) \
	X(19, setrlimit, "iii", op_setrlimit) \
	X(20, setsid, "", op_setsid) \
	X(21, joinKeyring, "s", op_join_keyring) \
	X(22, prctl, "ii", op_prctl) \
	X(23, setgroups, "u", op_setgroups) \
	X(24, setresgid, "i", op_setresgid) \
	X(25, setresuid, "i", op_setresuid) \
	X(26, capBounding, "i", op_cap_bounding) \
	X(27, capset, "iii", op_capset) \
	X(28, capAmbient, "i", op_cap_ambient) \
	X(29, umask, "i", op_umask) \
	X(30, chdir, "si", op_chdir) \
	X(31, closeFrom, "i", op_close_from) \
	X(32, seccomp, "bi", op_seccomp) \
	X(33, openExecFifo, "s", op_open_exec_fifo) \
	X(34, waitStart, "", op_wait_start) \
	X(35, consoleConnect, "s", op_console_connect) \
	X(36, console, "iiii", op_console) \
	X(37, exec, "ll", op_exec) \
	X(38, checkExec, "ll", op_check_exec) \
	X(39, chroot, "s", op_chroot) \
	X(40, openCgroup, "ls", op_open_cgroup) \
	X(41, joinCgroup, "", op_join_cgroup) \
	X(42, openNs, "si", op_open_ns) \
	X(43, joinOpenedNs, "", op_join_opened_ns) \
	X(44, runHook, "sllil", op_run_hook) \
	X(45, deviceFilter, "sb", op_device_filter) \
	X(46, listenerConnect, "s", op_listener_connect) \
	X(47, sendListener, "l", op_send_listener) \
	X(48, personality, "i", op_personality) \
	X(49, schedSetattr, "iiiiiii", op_sched_setattr) \
	X(50, ioprioSet, "i", op_ioprio_set) \
	X(51, setAffinity, "u", op_set_affinity) \
	X(52, idmapMount, "isiuu", op_idmap_mount) \
	X(53, attachMount, "is", op_attach_mount) \
	X(54, tmpfs, "sissii", op_tmpfs) \
	X(55, mountSetattr, "sii", op_mount_setattr) \
	X(56, mkfifo, "siii", op_mkfifo) \
	X(57, init, "", op_init) \
	X(58, consoleProxy, "", op_console_proxy) \
	X(59, ownerLifeline, "", op_owner_lifeline) \
	X(60, setxattr, "ssb", op_setxattr) \
	X(70, netlink, "sb", op_netlink) \
	X(71, umount, "si", op_umount) \
	X(80, monitor, "ssll", op_monitor) \
	X(90, refuseLink, "s", op_refuse_link) \
	X(91, openTree, "isi", op_open_tree) \
	X(92, detachKeys, "bssll", op_detach_keys) \
	X(93, attach, "si", op_attach) \
	X(94, parentNetlink, "", op_parent_netlink) \
	X(95, waitParentNetlink, "", op_wait_parent_netlink) \
	X(96, fsMount, "isss", op_fs_mount) \
	X(97, precreate, "isi", op_precreate) \
	X(98, mountRootfs, "issss", op_mount_rootfs) \
	X(99, cgroupRemoveOnExit, "l", op_cgroup_remove_on_exit) \
	X(101, cgroupMkdirs, "lills", op_cgroup_mkdirs) \
	X(102, cgroupWrite, "sl", op_cgroup_write)

#define PLAN_MAGIC "HUSKPLAN"
#define PLAN_VERSION 1
#define PLAN_MAX 67108864u
enum { MSG_SIZE = 16 };
enum { MSG_PID = 1, MSG_WAITING = 2, MSG_CREATED = 3, MSG_ERROR = 4, MSG_DIED = 5, MSG_RUNNING = 6, MSG_DONE = 7, MSG_DETACHED = 8, MSG_EXITED = 9, MSG_STARTED = 10, MSG_CONTINUE = 100 };
enum { KIND_INT = 1, KIND_BYTES = 2 };
enum { WHERE_HOST = 0, WHERE_IN_ROOT = 1 };
enum { CLONE_WAIT = 0, CLONE_DETACH = 1, CLONE_MONITOR = 2 };

#endif
