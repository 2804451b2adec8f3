#!/bin/bash
# Client matrix for an OCI runtime with runc's command line: podman, containerd (through ctr)
# and dockerd each drive the runtime under test, and every operation they need from it (run,
# tty, exec, pause/resume, update, stop, kill --all, delete, bridge networking and published
# ports) is judged from the client's side, plus a check that nothing was left behind.
#
# usage: test/clients/matrix.sh RUNTIME [podman] [containerd] [docker] [podman-rootless]
#   e.g. test/clients/matrix.sh bin/husk-runtime
#        test/clients/matrix.sh /usr/sbin/runc          (the reference)
#        test/clients/matrix.sh bin/husk-runtime podman          (one section)
# podman-rootless runs podman as an unprivileged user (HUSK_ROOTLESS_USER, default husk-rootless,
# created with subuid/subgid ranges if missing, and kept like the image) in its own user
# namespace: no cgroups, no network (--network none: /dev/net/tun is 0600 here, so
# slirp4netns and pasta cannot open it).
# Run as root. It installs nothing: a section whose prerequisites are missing is skipped with a
# "SKIP" line naming the missing command and its Debian package (see README.md).
#
# Prints "PASS name" / "FAIL name: reason" per check, then "TOTAL <tag>: N passed, M failed".
# Exit status: number of FAILs (capped at 100); 100 if it could not start.
#
# Work dir: $HUSK_MATRIX_DIR, default /tmp/husk-clients-matrix:
#   image/     busybox image built once from /bin/busybox (busybox-static), verified with runc:
#              busybox-oci.tar (podman load, ctr import) and busybox-docker.tar (docker load)
#   run/       everything the clients and daemons create (wiped at start, removed at the end)
#   results/<tag>-<time>/   each run's evidence:
#     matrix.txt       the PASS/FAIL lines
#     checks.log       every client command with its exit status and output
#     argv.log         every runtime invocation (argv, cwd) made by the clients
#     runtime.log      what the runtime wrote to its --log file, per invocation
#     containerd.log, dockerd.log   daemon logs (podman's own errors are in checks.log)
#     leftovers.txt    what had to be cleaned up by force after the clients were done
#
# The runtime is called through a small /bin/sh wrapper (named after the runtime) that logs argv
# and then execs the runtime with the same argv; when --log FILE is given, a detached watcher
# copies what the runtime appended to FILE into runtime.log after the runtime exits (clients
# delete FILE with the container).
#
# Host notes (the VM this was written on: cgroup v1, podman 4.3.1, containerd 1.6.20, docker
# 20.10.24): no CAP_SYS_RESOURCE and a hard nofile limit of 20000, so every client gets
# nofile=20000:20000 (podman also nproc=32768:32768, see PODMAN_NPROC). The freezer and memory
# checks read cgroup v1 files. dockerd runs with --iptables=false --ip-forward=false
# --ip-masq=false on a bridge this script creates (mxbr0, 10.213.7.1/24); -p publishing then
# goes through docker-proxy. podman uses netavark (default network podman0, on PM_SUBNET rather
# than podman's 10.88.0.0/16, see there; netavark adds iptables rules and sets ip_forward). Ports
# are published on 127.0.0.1 only.
# Afterwards the script restores ip_forward/route_localnet and removes the nft tables, links,
# netns handles, cgroup dirs, mounts and processes that are recognisably its own and did not
# exist before it started; daemons are stopped through their pidfiles (never by name).

set -u
usage="usage: $0 RUNTIME [podman] [containerd] [docker] [podman-rootless]"
RT_IN=${1:?$usage}
shift
SECTIONS=${*:-podman containerd docker podman-rootless}
for s in $SECTIONS; do
	case $s in podman | containerd | docker | podman-rootless) ;; *) echo "unknown section: $s"; echo "$usage"; exit 100 ;; esac
done
# An absolute path that keeps the name: husk-runtime is a link whose name picks husk's face.
RT="$(cd "$(dirname "$RT_IN")" 2>/dev/null && pwd)/$(basename "$RT_IN")" && [ -x "$RT" ] || { echo "not an executable: $RT_IN"; exit 100; }
[ "$(id -u)" = 0 ] || { echo "must run as root (it starts containerd and dockerd)"; exit 100; }
TAG=$(basename "$RT_IN")
[ "$TAG" = husk-runtime ] && TAG=husk
[ "$TAG" = husk ] || [ "$TAG" = runc ] || [ "$TAG" = crun ] || TAG=rt

W=${HUSK_MATRIX_DIR:-/tmp/husk-clients-matrix}
mkdir -p "$W" && W=$(readlink -f "$W")
# daemons put unix sockets under run/ (longest: run/docker/exec/containerd/containerd.sock.ttrpc)
[ ${#W} -le 50 ] || { echo "HUSK_MATRIX_DIR path too long for unix sockets (max 50 chars): $W"; exit 100; }
IMGDIR=$W/image
R=$W/run
OUT=$W/results/$TAG-$(date +%Y%m%d-%H%M%S)
PM_PORT=${PM_PORT:-18080}
# podman's default network (podman0) gets this subnet instead of 10.88.0.0/16: the system's own
# podman, on the CNI backend, puts cni-podman0 on 10.88.0.0/16 too, and its route (listed first,
# used even while that bridge is down) takes the host's traffic to the container, so a published
# port does not answer
PM_SUBNET=${PM_SUBNET:-10.213.8.0/24}
D_PORT=${D_PORT:-18081}
BRIDGE=mxbr0
BRIDGE_CIDR=10.213.7.1/24
DOCKER=/usr/bin/docker      # the CLI that matches dockerd 20.10 (a newer one may be first in PATH)
PODMAN_NPROC=${PODMAN_NPROC-nproc=32768:32768}  # podman 4.3 asks for nproc 1048576 otherwise: EPERM here for runc too; PODMAN_NPROC= to drop
CT=${CT:-60}                # timeout per client command, seconds
DOCKER_IPTABLES=${DOCKER_IPTABLES:-false}   # true: dockerd adds its DOCKER chains (removed afterwards)
CTR_NS=husk-mx              # containerd namespace, so containers' cgroups are /husk-mx/<id>
DOCKER_CG=husk-mx-docker    # dockerd --cgroup-parent, so containers' cgroups are /husk-mx-docker/<id>
IMG=localhost/busybox:latest
PRL_USER=${HUSK_ROOTLESS_USER:-husk-rootless}  # podman-rootless: the unprivileged user podman runs as
PRL=$R/prl                  # its home (podman's storage, config) and XDG_RUNTIME_DIR; removed afterwards

# one run at a time per work dir: a second one would wipe the first one's run/. A pidfile, not
# flock: the lock's fd would be inherited by the daemons, shims and the runtime under test.
p=$(cat "$W/matrix.pid" 2>/dev/null)
if [ -n "$p" ] && [ "$p" != $$ ] && grep -qa matrix.sh "/proc/$p/cmdline" 2>/dev/null; then
	echo "another matrix.sh (pid $p) is running with $W"
	exit 100
fi
echo $$ >"$W/matrix.pid"

###############################################################################
# reporting and check helpers
###############################################################################
mkdir -p "$OUT"
NPASS=0
NFAIL=0
SKIPPED=""
pass() { echo "PASS $1" | tee -a "$OUT/matrix.txt"; NPASS=$((NPASS + 1)); }
fail() { echo "FAIL $1: $2" | tee -a "$OUT/matrix.txt"; NFAIL=$((NFAIL + 1)); }
note() { echo "# $*" | tee -a "$OUT/matrix.txt"; }
skip() { echo "SKIP $1: $2" | tee -a "$OUT/matrix.txt"; SKIPPED="$SKIPPED $1"; }

# c NAME CMD...: run a client command with a timeout; sets $rc and $out, logs both.
c() {
	local name=$1
	shift
	out=$(timeout -k 5 "$CT" "$@" 2>&1 </dev/null)
	rc=$?
	{
		echo "=== $(date +%T.%N) $name rc=$rc"
		printf '$'
		printf ' %q' "$@"
		echo
		printf '%s\n' "$out"
	} >>"$OUT/checks.log"
}
# cs NAME SHELLCMD: same through bash -c (pipes, script(1) for a tty)
cs() { c "$1" bash -c "$2"; }
short() { printf '%s' "$1" | tr '\r\n' '  ' | sed 's/  */ /g' | cut -c1-300; }
# expect NAME WANT_RC [REGEX...]: judge the last c/cs; every REGEX must match the output
expect() {
	local name=$1 want_rc=$2 want="" re
	shift 2
	for re in "$@"; do
		[ -n "$re" ] && ! printf '%s' "$out" | grep -Eq -- "$re" && { want=$re; break; }
	done
	if { [ "$rc" = 124 ] || [ "$rc" = 137 ]; } && [ "$want_rc" != "$rc" ]; then
		fail "$name" "timed out after ${CT}s (rc=$rc): $(short "$out")"
	elif [ "$want_rc" != any ] && [ "$rc" != "$want_rc" ]; then
		fail "$name" "rc=$rc, want $want_rc: $(short "$out")"
	elif [ -n "$want" ]; then
		fail "$name" "output lacks /$want/: $(short "$out")"
	else
		pass "$name"
	fi
}
# retry N CMD...: run CMD until it succeeds, N times 0.5s apart (quiet)
retry() {
	local n=$1
	shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
	return 1
}
# freezer.state of the cgroup v1 freezer that process $1 is in
freezer_of() {
	local p
	p=$(grep -E '^[0-9]+:freezer:' "/proc/$1/cgroup" 2>/dev/null | cut -d: -f3-)
	[ -n "$p" ] && cat "/sys/fs/cgroup/freezer$p/freezer.state" 2>/dev/null
}
# expect_freezer NAME PID STATE: judge the freezer state of PID
expect_freezer() {
	local st
	st=$(freezer_of "$2")
	if [ "$st" = "$3" ]; then pass "$1"; else fail "$1" "freezer.state of pid '$2' is '$st', want $3"; fi
}

# pause_update_stop PREFIX CLIENT UPDATE-ARGS…: on the running container c1, pause (status and
# freezer state), unpause, exec, update the memory limit to 64m (seen in its cgroup), stop.
# podman and docker share these commands and their inspect templates.
pause_update_stop() {
	local p=$1 cl=$2
	shift 2
	c "$p-pause" "$cl" pause c1
	expect "$p-pause" 0 ''
	c "$p-pause-state" "$cl" inspect -f '{{.State.Status}}' c1
	expect "$p-pause-state" 0 '^paused'
	expect_freezer "$p-pause-frozen" "$("$cl" inspect -f '{{.State.Pid}}' c1 2>/dev/null)" FROZEN
	c "$p-unpause" "$cl" unpause c1
	expect "$p-unpause" 0 ''
	expect_freezer "$p-unpause-thawed" "$("$cl" inspect -f '{{.State.Pid}}' c1 2>/dev/null)" THAWED
	c "$p-unpause-exec" "$cl" exec c1 echo alive-after-unpause
	expect "$p-unpause-exec" 0 'alive-after-unpause'
	c "$p-update" "$cl" update "$@" c1
	expect "$p-update" 0 ''
	c "$p-update-cgroup" "$cl" exec c1 cat /sys/fs/cgroup/memory/memory.limit_in_bytes
	expect "$p-update-cgroup" 0 '^67108864'
	c "$p-stop" "$cl" stop -t 10 c1
	expect "$p-stop" 0 ''
	c "$p-stop-state" "$cl" inspect -f '{{.State.Status}} {{.State.ExitCode}}' c1
	expect "$p-stop-state" 0 '^exited 0'
}
http_get() { curl -s --noproxy '*' --max-time 3 "http://127.0.0.1:$1/"; }
# expect_http NAME PORT: the container's httpd answers on 127.0.0.1:PORT
expect_http() {
	if retry 20 http_get "$2"; then
		out=$(http_get "$2") rc=0
	else
		out="curl 127.0.0.1:$2 failed: $(http_get "$2" 2>&1; echo "rc=$?")" rc=1
	fi
	expect "$1" 0 husk-web-ok
}
# a tty session through script(1): type $2 into the shell that command $1 starts
tty_session() { echo "(sleep 2; printf '$2'; sleep 2) | script -qec '$1' /dev/null"; }
HTTPD='mkdir -p /www && echo husk-web-ok > /www/index.html && exec httpd -f -p 80 -h /www'
SLEEPER='trap "echo got-term; exit 0" TERM; while :; do sleep 0.2; done'

###############################################################################
# prerequisites (nothing is installed; a section that lacks something is skipped)
###############################################################################
# missing CMD PKG [CMD PKG...]: "missing CMD (apt install PKG), ..." for the commands (or
# absolute paths) that are not there; nothing if all are
missing() {
	local m=""
	while [ $# -ge 2 ]; do
		case $1 in
		/*) [ -x "$1" ] || m="$m, $1 (apt install $2)" ;;
		*) command -v "$1" >/dev/null 2>&1 || m="$m, $1 (apt install $2)" ;;
		esac
		shift 2
	done
	[ -z "$m" ] || printf 'missing %s' "${m#, }"
}
port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
# ready SECTION: print a SKIP line and fail when the section cannot run on this host
ready() {
	local m=""
	case $1 in
	podman)
		m=$(missing podman podman conmon conmon /usr/lib/podman/netavark netavark \
			iptables iptables nft nftables ip iproute2 ss iproute2 curl curl script bsdutils)
		[ -z "$m" ] && port_busy "$PM_PORT" && m="127.0.0.1:$PM_PORT is in use (set PM_PORT)"
		;;
	containerd)
		m=$(missing containerd containerd ctr containerd containerd-shim-runc-v2 containerd script bsdutils)
		;;
	podman-rootless)
		m=$(missing podman podman conmon conmon runuser util-linux newuidmap uidmap newgidmap uidmap \
			useradd passwd usermod passwd script bsdutils)
		[ -z "$m" ] && [ "$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo 1)" = 0 ] &&
			m="unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)"
		;;
	docker)
		# shellcheck disable=SC2046
		m=$(missing dockerd docker.io "$DOCKER" docker.io docker-proxy docker.io containerd containerd \
			ip iproute2 ss iproute2 curl curl script bsdutils \
			$([ "$DOCKER_IPTABLES" = true ] && echo iptables iptables nft nftables))
		if [ -z "$m" ]; then
			if ip link show "$BRIDGE" >/dev/null 2>&1; then
				m="link $BRIDGE already exists (not ours; left alone)"
			elif [ -n "$(ip -o route show "${BRIDGE_CIDR%.*}.0/24")" ]; then
				m="${BRIDGE_CIDR%.*}.0/24 is already routed on this host"
			elif port_busy "$D_PORT"; then
				m="127.0.0.1:$D_PORT is in use (set D_PORT)"
			fi
		fi
		;;
	esac
	[ -z "$m" ] && return 0
	skip "$1" "$m"
	return 1
}

###############################################################################
# host snapshot and cleanup
###############################################################################
cg_dirs() { find /sys/fs/cgroup/*/ -mindepth 1 -type d 2>/dev/null | sort; }
links() { ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }
nft_tables() { nft list tables 2>/dev/null | sort; }
our_mounts() { findmnt -rn -o TARGET | awk -v p="$R/" 'index($0, p) == 1'; }
SYSCTLS="net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.ipv4.conf.default.route_localnet net.ipv6.conf.all.forwarding"
# directories under /run and /etc that the clients create if missing (and then leave)
HOSTDIRS="/run/containerd /run/docker /run/containers /etc/docker"

snapshot_before() {
	local d
	mkdir -p "$R/before"
	cg_dirs >"$R/before/cg"
	links >"$R/before/links"
	nft_tables >"$R/before/nft"
	ls /run/netns 2>/dev/null | sort >"$R/before/netns"
	for s in $SYSCTLS; do echo "$s=$(sysctl -n "$s" 2>/dev/null)"; done >"$R/before/sysctl"
	for d in $HOSTDIRS; do [ -e "$d" ] && echo "$d"; done >"$R/before/hostdirs"
	ls -A /etc/docker 2>/dev/null | sort >"$R/before/etc-docker"
}

# Other things may run on this host at the same time (e.g. husk's own test suite creates
# cgroups husk/t-* and containers under /run/husk-test), so cleanup only touches what is
# recognisably ours: cgroups under the clients' parents (podman's libpod_parent, our containerd
# namespace, our dockerd cgroup parent), links named $BRIDGE/podman0 and veths enslaved to them,
# netavark's netns-* handles, and mounts/processes that name $R.
OURCG="^/sys/fs/cgroup/[^/]+/(libpod_parent|$CTR_NS|$DOCKER_CG)(/|\$)"
new_cg() { comm -13 "$R/before/cg" <(cg_dirs); }
our_new_cg() { new_cg | grep -E "$OURCG"; }
procs_in_new_cgroups() {
	our_new_cg | while read -r d; do cat "$d/cgroup.procs" 2>/dev/null; done | sort -u
}
cmdline() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null; }
our_links() {
	local l m
	comm -13 "$R/before/links" <(links) | while read -r l; do
		case $l in
		"$BRIDGE" | podman0) echo "$l" ;;
		*) m=$(ip -o link show dev "$l" 2>/dev/null | grep -o 'master [^ ]*' | cut -d' ' -f2)
		   case $m in "$BRIDGE" | podman0) echo "$l" ;; esac ;;
		esac
	done
}

# force_cleanup LABEL: remove what the clients left; everything removed is listed in leftovers.txt
force_cleanup() {
	local label=$1 pids p m n l d fam name others k v f
	{
		echo "=== $label $(date +%T)"
		# a paused container (run killed mid-check) would not die of SIGKILL until thawed
		our_new_cg | grep '^/sys/fs/cgroup/freezer/' | while read -r d; do
			[ "$(cat "$d/freezer.state" 2>/dev/null)" = THAWED ] && continue
			echo "thaw $d"
			echo THAWED >"$d/freezer.state"
		done
		# processes left under our tree (conmon, shims, container processes)
		pids=$( (procs_in_new_cgroups; for p in /proc/[0-9]*; do
			case "$(cmdline "${p#/proc/}")" in *"$R"*) echo "${p#/proc/}" ;; esac
		done) | sort -u | grep -vx "$$" | grep -vx "$BASHPID")
		for p in $pids; do
			[ -d "/proc/$p" ] || continue
			echo "process $p: $(cmdline "$p" | cut -c1-200)"
			kill -9 "$p" 2>/dev/null
		done
		for _ in $(seq 10); do [ -z "$(procs_in_new_cgroups)" ] && break; sleep 0.5; done
		# mounts under our tree (deepest first), and netavark's netns handles
		our_mounts | sort -r | while read -r m; do
			echo "mount $m"
			umount -l "$m" 2>/dev/null
		done
		comm -13 "$R/before/netns" <(ls /run/netns 2>/dev/null | sort) | grep '^netns-' | while read -r n; do
			echo "netns /run/netns/$n"
			umount -l "/run/netns/$n" 2>/dev/null
			rm -f "/run/netns/$n"
		done
		for l in $(our_links); do
			echo "link $l"
			ip link del "$l" 2>/dev/null
		done
		# cgroup dirs that were not there before, deepest first
		our_new_cg | sort -r | while read -r d; do
			echo "cgroup $d"
			rmdir "$d" 2>/dev/null || echo "  could not rmdir $d"
		done
		new_cg | grep -vE "$OURCG" | sed 's/^/not ours, left alone: cgroup /'
		# nft tables created since (iptables-nft's ip filter / ip nat from netavark), deleted only
		# when every rule in them is netavark's, docker's or CNI's
		comm -13 "$R/before/nft" <(nft_tables) | while read -r _ fam name; do
			nft list table "$fam" "$name" | sed 's/^/  | /'
			others=$(nft list table "$fam" "$name" 2>/dev/null | awk -v br="$BRIDGE" '
				/^[[:space:]]*chain / { ours = ($2 ~ /^(NETAVARK|CNI|DOCKER)/); next }
				/^[[:space:]]*(table|type|policy|}|#)/ || /^[[:space:]]*$/ { next }
				ours { next }
				/jump (NETAVARK|CNI|DOCKER)/ || index($0, "\"" br "\"") || /"podman0"/ { next }
				{ print }' | head -3)
			if [ -z "$others" ]; then
				echo "nft table $fam $name"
				nft delete table "$fam" "$name"
			else
				echo "nft table $fam $name not deleted, has other rules: $others"
			fi
		done
		while IFS== read -r k v; do
			[ -n "$v" ] || continue
			[ "$(sysctl -n "$k")" = "$v" ] || {
				echo "sysctl $k=$(sysctl -n "$k"), restoring $v"
				sysctl -qw "$k=$v"
			}
		done <"$R/before/sysctl"
		# /etc/docker: dockerd writes key.json there
		for f in $(comm -13 "$R/before/etc-docker" <(ls -A /etc/docker 2>/dev/null | sort)); do
			echo "/etc/docker/$f created by dockerd"
			rm -f "/etc/docker/$f"
		done
		# /run/containerd (shim sockets), /run/docker (plugins), /run/containers (netavark's
		# ipam.db): only when we created them, and only what the clients put there
		for d in $HOSTDIRS; do
			[ -e "$d" ] && ! grep -qx "$d" "$R/before/hostdirs" || continue
			echo "$d created: $(find "$d" | tr '\n' ' ')"
			[ "$d" = /run/containers ] && rm -f /run/containers/networks/ipam.db
			# sockets of shims that were killed (a live shim's socket is listening)
			if [ "$d" = /run/containerd ]; then
				for f in /run/containerd/s/*; do
					[ -S "$f" ] && ! ss -Hxl | grep -qF " $f " && rm -f "$f"
				done
			fi
			find "$d" -depth -type d -empty -delete
		done
	} >"$R/cleanup.$$" 2>&1
	cat "$R/cleanup.$$" >>"$OUT/leftovers.txt"
	rm -f "$R/cleanup.$$"
	return 0
}

# leak_check NAME IDREGEX: what is left after a section's own teardown, container-specific
# things only (parent cgroups like /libpod_parent are the clients' and expected)
leak_check() {
	local name=$1 idre=$2 items="" cgs mnts lks prs p
	cgs=$(our_new_cg | grep -E "$idre" | sed 's|/sys/fs/cgroup/||' | head -5 | tr '\n' ' ')
	mnts=$(our_mounts | grep -vE "/(overlay|overlay2|containerd/root/io.containerd.snapshotter.v1.overlayfs)$" | head -5 | tr '\n' ' ')
	lks=$(our_links | grep -vx "$BRIDGE" | tr '\n' ' ')
	prs=$(procs_in_new_cgroups | head -5 | while read -r p; do cmdline "$p" | cut -c1-60; echo -n "; "; done)
	[ -n "$cgs" ] && items="$items cgroups: $cgs;"
	[ -n "$mnts" ] && items="$items mounts: $mnts;"
	[ -n "$lks" ] && items="$items links: $lks;"
	[ -n "$prs" ] && items="$items processes: $prs"
	if [ -z "$items" ]; then pass "$name"; else fail "$name" "left behind after the client removed everything:$items"; fi
}

# stop_pid PIDFILE_OR_PID SECONDS: TERM, wait, KILL; only if its command line names $R
stop_pid() {
	local p=$1 t=$2
	[ -f "$p" ] && p=$(cat "$p" 2>/dev/null)
	[ -n "$p" ] && [ -d "/proc/$p" ] || return 0
	case "$(cmdline "$p")" in *"$R"*) ;; *) return 0 ;; esac
	kill "$p" 2>/dev/null
	for _ in $(seq $((t * 5))); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.2; done
	kill -9 "$p" 2>/dev/null
}

on_exit() {
	local code=$? still n
	trap - EXIT INT TERM
	stop_dockerd
	stop_containerd
	prl_cleanup
	[ -d "$R/before" ] && force_cleanup final
	n=$(grep -vcE '^(===|  \||# Warning)' "$OUT/leftovers.txt" 2>/dev/null)
	[ "${n:-0}" = 0 ] || note "forced cleanup: $n items, see $OUT/leftovers.txt"
	still=$(our_mounts | wc -l)
	[ "$still" = 0 ] || note "WARNING: $still mounts still under $R"
	[ "$still" = 0 ] && rm -rf "$R"  # else keep it: rm -rf would descend into the mounts
	[ "$code" = 100 ] && note "aborted"
	echo "TOTAL $TAG: $NPASS passed, $NFAIL failed${SKIPPED:+, skipped:$SKIPPED}" | tee -a "$OUT/matrix.txt"
	rm -f "$W/matrix.pid"
	[ "$code" = 100 ] && exit 100
	[ "$NFAIL" -gt 100 ] && NFAIL=100
	exit "$NFAIL"
}

###############################################################################
# busybox image, built once from /bin/busybox and verified with runc
###############################################################################
# The OCI layout is written by hand (layer tar + gzip, config, manifest, index; blobs named by
# sha256), so umoci/skopeo are not needed. docker load (20.10) takes no OCI layout, so the
# docker-archive holds the same config and the uncompressed layer. Reproducible: mtime 0, uid 0.
IMG_TAR="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner"
sha256() { sha256sum "$1" | cut -d' ' -f1; }
# descriptor MEDIATYPE FILE: the OCI descriptor of FILE (JSON)
descriptor() { jq -cn --arg t "$1" --arg d "sha256:$(sha256 "$2")" --argjson s "$(stat -c %s "$2")" '{mediaType: $t, digest: $d, size: $s}'; }
# add_blob LAYOUT FILE: move FILE into the OCI layout under its digest
add_blob() { mv "$2" "$1/blobs/sha256/$(sha256 "$2")"; }

build_image() {
	local t=$W/image.tmp a diffid layer config manifest cfgfile
	rm -rf "$t"
	mkdir -p "$t"/rootfs/{bin,dev,etc,proc,root,sys,tmp,var} "$t/oci/blobs/sha256" "$t/docker" || return 1
	chmod 1777 "$t/rootfs/tmp"
	cp /bin/busybox "$t/rootfs/bin/busybox" || return 1
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$t/rootfs/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$t/rootfs/etc/passwd"
	echo 'root:x:0:' >"$t/rootfs/etc/group"
	$IMG_TAR -C "$t/rootfs" -cf "$t/layer.tar" bin dev etc proc root sys tmp var || return 1
	diffid=$(sha256 "$t/layer.tar")
	gzip -n -c "$t/layer.tar" >"$t/layer.tar.gz"

	jq -cn --arg arch "$(dpkg --print-architecture 2>/dev/null || echo amd64)" --arg diffid "sha256:$diffid" '{
		created: "1970-01-01T00:00:00Z", architecture: $arch, os: "linux",
		config: {Env: ["PATH=/bin"], Cmd: ["sh"]},
		rootfs: {type: "layers", diff_ids: [$diffid]},
		history: [{created: "1970-01-01T00:00:00Z", created_by: "husk test/clients/matrix.sh from /bin/busybox"}]}' >"$t/config.json"
	config=$(descriptor application/vnd.oci.image.config.v1+json "$t/config.json")
	layer=$(descriptor application/vnd.oci.image.layer.v1.tar+gzip "$t/layer.tar.gz")
	jq -cn --argjson c "$config" --argjson l "$layer" '{schemaVersion: 2, config: $c, layers: [$l]}' >"$t/manifest.json"
	manifest=$(descriptor application/vnd.oci.image.manifest.v1+json "$t/manifest.json")
	# podman load and ctr import both take the image name from ref.name
	jq -cn --argjson m "$manifest" --arg name "$IMG" \
		'{schemaVersion: 2, manifests: [$m + {annotations: {"org.opencontainers.image.ref.name": $name}}]}' >"$t/oci/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$t/oci/oci-layout"
	cfgfile=$(sha256 "$t/config.json").json
	cp "$t/config.json" "$t/docker/$cfgfile"
	add_blob "$t/oci" "$t/config.json"
	add_blob "$t/oci" "$t/layer.tar.gz"
	add_blob "$t/oci" "$t/manifest.json"
	$IMG_TAR -C "$t/oci" -cf "$t/busybox-oci.tar" oci-layout index.json blobs || return 1

	mkdir "$t/docker/$diffid"
	mv "$t/layer.tar" "$t/docker/$diffid/layer.tar"
	jq -cn --arg c "$cfgfile" --arg name "$IMG" --arg l "$diffid/layer.tar" \
		'[{Config: $c, RepoTags: [$name], Layers: [$l]}]' >"$t/docker/manifest.json"
	$IMG_TAR -C "$t/docker" -cf "$t/busybox-docker.tar" manifest.json "$cfgfile" "$diffid" || return 1

	verify_image "$t" "$t/docker/$diffid/layer.tar" || return 1
	mkdir -p "$IMGDIR"
	mv "$t/busybox-oci.tar" "$t/busybox-docker.tar" "$IMGDIR/" && rm -rf "$t"
}

# verify_image TMPDIR LAYERTAR: run the image's rootfs with runc (the reference), so that an
# image problem is not taken for a runtime problem; checks the applets the matrix uses
verify_image() {
	local t=$1 v id
	v=$(command -v runc) || {
		v=$RT
		note "runc not installed (apt install runc): verifying the image with $RT instead"
	}
	id=imgcheck-$$
	mkdir -p "$t/bundle/rootfs"
	tar -C "$t/bundle/rootfs" -xpf "$2" || return 1
	(cd "$t/bundle" && "$v" spec) || return 1
	jq --arg cg "/$CTR_NS/$id" '.process.terminal = false | .linux.cgroupsPath = $cg
		| .process.args = ["sh", "-c", "for a in sh ls cat mkdir sleep tty ip ping httpd; do command -v $a >/dev/null || echo missing-$a; done; echo image-ok"]' \
		"$t/bundle/config.json" >"$t/bundle/config.new" && mv "$t/bundle/config.new" "$t/bundle/config.json"
	out=$(timeout -k 5 30 "$v" --root "$R/imgcheck" run --bundle "$t/bundle" "$id" 2>&1 </dev/null)
	rc=$?
	"$v" --root "$R/imgcheck" delete -f "$id" >/dev/null 2>&1
	if [ "$rc" != 0 ] || [ "$out" != image-ok ]; then
		echo "the busybox image does not run with $v (rc=$rc): $(short "$out")"
		return 1
	fi
	note "image built in $IMGDIR and verified with $v"
}

###############################################################################
# the runtime wrapper
###############################################################################
write_wrapper() {
	WRAP=$R/wrap/$TAG
	cat >"$WRAP" <<EOF
#!/bin/sh
RT='$RT'
OUT='$OUT'
EOF
	cat >>"$WRAP" <<'EOF'
log= prev=
for a in "$@"; do
	case "$prev" in --log|-log) log=$a ;; esac
	case "$a" in --log=*|-log=*) log=${a#*=} ;; esac
	prev=$a
done
{
	printf '%s pid=%s ppid=%s cwd=%s:' "$(date +%T.%N)" "$$" "$PPID" "$PWD"
	for a in "$@"; do printf " '%s'" "$a"; done
	echo
} >>"$OUT/argv.log"
# the client deletes --log FILE with the container: copy what this invocation appended once it
# has exited (a detached watcher, since exec replaces this shell)
if [ -n "$log" ]; then
	size=$(stat -c %s "$log" 2>/dev/null || echo 0)
	me=$$
	hdr="--- $(date +%T.%N) pid=$me $*"
	( (
		while [ -e /proc/$me ] && [ "$(cut -d' ' -f3 /proc/$me/stat 2>/dev/null)" != Z ]; do sleep 0.02; done
		new=$(tail -c +$((size + 1)) "$log" 2>/dev/null)
		[ -n "$new" ] && printf '%s\n%s\n' "$hdr" "$new" >>"$OUT/runtime.log"
	) </dev/null >/dev/null 2>&1 & )
fi
exec "$RT" "$@"
EOF
	chmod +x "$WRAP"
}

# does the wrapper copy what the runtime writes to --log into runtime.log?
harness_selftest() {
	"$WRAP" --root "$R/selftest-root" --log "$R/selftest.log" --log-format json state mx-no-such-container >/dev/null 2>&1
	for _ in $(seq 10); do grep -q 'mx-no-such-container' "$OUT/runtime.log" 2>/dev/null && break; sleep 0.1; done
	if grep -q 'mx-no-such-container' "$OUT/runtime.log" 2>/dev/null && grep -q 'state' "$OUT/argv.log"; then
		pass harness-log-capture
	else
		fail harness-log-capture "the runtime's --log output did not reach $OUT/runtime.log"
	fi
}

###############################################################################
# podman
###############################################################################
podman_section() {
	local P=$R/podman
	mkdir -p "$P/root" "$P/runroot" "$P/tmp" "$P/networks"
	cat >"$P/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$P/runroot"
graphroot = "$P/root"
EOF
	cat >"$P/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000"$( [ -n "$PODMAN_NPROC" ] && echo ", \"$PODMAN_NPROC\"")]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/tmp/events.log"
tmp_dir = "$P/tmp"
# podman passes --log-format json only to runtimes named here (the wrapper is named $TAG)
runtime_supports_json = ["crun", "runc", "husk", "rt"]

[network]
network_backend = "netavark"
default_subnet = "$PM_SUBNET"
network_config_dir = "$P/networks"
EOF
	cat >"$R/bin/pm" <<EOF
#!/bin/sh
export CONTAINERS_CONF=$P/containers.conf CONTAINERS_STORAGE_CONF=$P/storage.conf
exec podman --root $P/root --runroot $P/runroot --tmpdir $P/tmp --cgroup-manager cgroupfs --events-backend file --runtime $WRAP "\$@"
EOF
	chmod +x "$R/bin/pm"
	local PM=$R/bin/pm

	c pm-load pm load -i "$IMGDIR/busybox-oci.tar"
	if [ "$rc" = 0 ]; then
		c pm-info pm info --format '{{.Host.OCIRuntime.Path}} {{.Host.NetworkBackend}}'  # evidence only
		podman_checks
		c pm-rm-all pm rm -af -t 0
		c pm-rmi pm rmi -af
		leak_check pm-leftovers '(libpod-|conmon)?[0-9a-f]{64}'
	else
		fail pm-load "rc=$rc: $(short "$out")"
	fi
	force_cleanup podman
}

# terminal_detached_exec PREFIX PODMAN: what podman as root and rootless both check, as
# PREFIX-run-it, -run-d, -exec, -exec-stdin: `run -it` through a pty, then a detached c1 (left
# running for the caller) and exec into it, with stdin. PODMAN is the section's wrapper script.
terminal_detached_exec() {
	local t=$1 cmd=$2
	cs $t-run-it "$(tty_session "$cmd run -it --rm --network none $IMG sh" 'tty; echo typed-$((6*7))\nexit 5\n')"
	expect $t-run-it 5 'typed-42' '/dev/pts/[0-9]'
	c $t-run-d "$cmd" run -d --name c1 --network none $IMG sh -c "$SLEEPER"
	expect $t-run-d 0 '^[0-9a-f]{64}'
	c $t-exec "$cmd" exec c1 sh -c 'echo exec-out; exit 3'
	expect $t-exec 3 'exec-out'
	c $t-exec-stdin bash -c "echo piped | $cmd exec -i c1 cat"
	expect $t-exec-stdin 0 '^piped'
}

podman_checks() {
	c pm-run-none pm run --rm --network none $IMG sh -c 'echo ok-none; ls /sys/class/net; exit 3'
	expect pm-run-none 3 'ok-none' '^lo'

	# bridge network (netavark) + published port: busybox httpd. A route as specific as podman0's
	# (or more) that is already there would take the host's traffic to the container.
	local taken net_re=${PM_SUBNET%.*}
	net_re=${net_re//./\\.}
	taken=$(ip -4 -o route show root "$PM_SUBNET" | head -3 | tr '\n' ';')
	if [ -n "$taken" ]; then
		fail pm-run-bridge-port "PM_SUBNET $PM_SUBNET is already routed on this host ($taken) so the published port could not answer; set PM_SUBNET to a free subnet"
	else
		c pm-run-bridge-port pm run -d --name web -p "127.0.0.1:$PM_PORT:80" $IMG sh -c "$HTTPD"
		if [ "$rc" != 0 ]; then
			fail pm-run-bridge-port "run -d rc=$rc: $(short "$out")"
		else
			expect_http pm-run-bridge-port "$PM_PORT"
			c pm-bridge-eth0 pm exec web sh -c 'ip -4 addr show eth0'
			expect pm-bridge-eth0 0 "inet $net_re\\."
		fi
	fi
	c pm-rm-web pm rm -f -t 0 web

	# a terminal; detached + exec (then pause, update, stop, rm)
	terminal_detached_exec pm "$PM"
	pause_update_stop pm pm --memory 64m
	c pm-rm pm rm c1
	expect pm-rm 0 ''
	c pm-ps pm ps -aq
	if [ -z "$out" ]; then pass pm-ps-empty; else fail pm-ps-empty "containers left: $(short "$out")"; fi

	# did podman really use the runtime under test?
	if grep -q "$R/podman/" "$OUT/argv.log" 2>/dev/null; then pass pm-used-runtime; else fail pm-used-runtime "no runtime call from podman in argv.log"; fi
}

###############################################################################
# rootless podman: podman run by an unprivileged user, the runtime as root of its user namespace
###############################################################################
# prl_user: the test user, made if missing, with subuid/subgid ranges (useradd allocates them
# where login.defs says SUB_UID_MIN; otherwise the first 65536 ids past every existing range)
prl_user() {
	local f start
	if ! id -u "$PRL_USER" >/dev/null 2>&1; then
		useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$PRL_USER" || return 1
		note "created user $PRL_USER (kept for later runs, like the image)"
	fi
	for f in /etc/subuid /etc/subgid; do
		grep -q "^$PRL_USER:" "$f" 2>/dev/null && continue
		start=$(awk -F: 'BEGIN { e = 100000 } $3 > 0 && $2 + $3 > e { e = $2 + $3 } END { print e }' /etc/subuid /etc/subgid 2>/dev/null)
		case $f in
		/etc/subuid) usermod --add-subuids "$start-$((start + 65535))" "$PRL_USER" ;;
		*) usermod --add-subgids "$start-$((start + 65535))" "$PRL_USER" ;;
		esac || return 1
	done
}

# prl_cleanup: end what the user's podman left (its pause process holds the user namespace, and
# in it conmon and the containers; only processes in that namespace, so another run with the
# same user is left alone), then remove its home and runtime dir
prl_cleanup() {
	local pp ns p
	[ -d "$PRL" ] || return 0
	pp=$(cat "$PRL/xdg/libpod/tmp/pause.pid" 2>/dev/null)
	if [ -n "$pp" ] && [ -d "/proc/$pp" ] && [ "$(stat -c %U "/proc/$pp")" = "$PRL_USER" ]; then
		ns=$(readlink "/proc/$pp/ns/user")
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/ns/user" 2>/dev/null)" = "$ns" ] || continue
			[ "${p#/proc/}" = "$pp" ] || echo "podman-rootless: process ${p#/proc/}: $(cmdline "${p#/proc/}" | cut -c1-200)" >>"$OUT/leftovers.txt"
			kill -9 "${p#/proc/}" 2>/dev/null
		done
	fi
	rm -rf "$PRL"
}

podman_rootless_section() {
	local H=$PRL/home X=$PRL/xdg uid d
	prl_user || { fail pmr-user "could not create user $PRL_USER with subuid/subgid ranges"; return; }
	uid=$(id -u "$PRL_USER")
	prl_cleanup
	mkdir -p "$H/.config/containers" "$H/vol" "$X"
	cat >"$H/.config/containers/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
# podman passes --log-format json only to runtimes named here (the wrapper is named $TAG)
runtime_supports_json = ["crun", "runc", "husk", "rt"]
EOF
	# podman's storage under the user's home (~/.local/share/containers), overlayfs mounted in
	# its user namespace (the kernel allows it there since 5.11; no fuse-overlayfs)
	printf '[storage]\ndriver = "overlay"\n' >"$H/.config/containers/storage.conf"
	echo from-home >"$H/vol/in.txt"
	cp "$IMGDIR/busybox-oci.tar" "$PRL/busybox-oci.tar" && chmod 0644 "$PRL/busybox-oci.tar"
	chown -R "$PRL_USER:$PRL_USER" "$H" "$X" && chmod 0700 "$H" "$X"
	# the wrapper, running as the user, appends to the run's logs
	touch "$OUT/argv.log" "$OUT/runtime.log"
	chgrp "$PRL_USER" "$OUT/argv.log" "$OUT/runtime.log" && chmod g+w "$OUT/argv.log" "$OUT/runtime.log"
	for d in "$WRAP" "$RT" "$PRL/busybox-oci.tar" "$OUT/argv.log"; do
		runuser -u "$PRL_USER" -- test -r "$d" || { fail pmr-access "$PRL_USER cannot read $d (a 0700 directory on the way?)"; return; }
	done
	cat >"$R/bin/pmr" <<EOF
#!/bin/sh
cd "$H" || exit 1
exec runuser -u "$PRL_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin TERM="\${TERM:-xterm}" \\
	HOME="$H" USER="$PRL_USER" LOGNAME="$PRL_USER" XDG_RUNTIME_DIR="$X" \\
	podman --cgroup-manager cgroupfs --events-backend file --runtime "$WRAP" "\$@"
EOF
	chmod +x "$R/bin/pmr"

	c pmr-load pmr load -i "$PRL/busybox-oci.tar"
	if [ "$rc" = 0 ]; then
		c pmr-info pmr info --format '{{.Host.Security.Rootless}} {{.Store.GraphDriverName}} {{.Store.GraphRoot}} {{.Host.OCIRuntime.Path}}'  # evidence only
		podman_rootless_checks "$uid"
		c pmr-rm-all pmr rm -af -t 0
		c pmr-rmi pmr rmi -af
		prl_leak_check pmr-leftovers
	else
		fail pmr-load "rc=$rc: $(short "$out")"
	fi
	prl_cleanup
}

podman_rootless_checks() {
	local uid=$1 PMR=$R/bin/pmr
	c pmr-run-id pmr run --rm --network none $IMG sh -c 'id; cat /proc/self/uid_map; exit 3'
	# root inside is the user outside, the rest of its ids are its subuids
	expect pmr-run-id 3 '^uid=0\(root\) gid=0\(root\)' "^ *0 +$uid +1\$"

	# no cgroup of its own (cgroup v1 is not delegated): it sees the cgroups podman runs in
	if [ -d /sys/fs/cgroup/pids ]; then
		c pmr-run-cgroups pmr run --rm --network none $IMG ls /sys/fs/cgroup
		expect pmr-run-cgroups 0 '^pids$'
	fi

	terminal_detached_exec pmr "$PMR"
	# the process gets the spec's supplementary groups (none), not the runtime's own
	c pmr-exec-groups pmr exec c1 grep Groups /proc/self/status
	expect pmr-exec-groups 0 '^Groups:[[:space:]]*$'
	c pmr-stop pmr stop -t 10 c1
	expect pmr-stop 0 ''
	c pmr-stop-state pmr inspect -f '{{.State.Status}} {{.State.ExitCode}}' c1
	expect pmr-stop-state 0 '^exited 0'
	c pmr-rm pmr rm c1
	expect pmr-rm 0 ''

	# --userns keep-id: the user is itself inside (a user namespace of the container's own)
	c pmr-keep-id pmr run --rm --network none --userns keep-id $IMG sh -c 'id -u; cat /proc/self/uid_map'
	expect pmr-keep-id 0 "^$uid\$" "^ *$uid +0 +1\$"

	# a volume from the user's home: read, and written as the user
	c pmr-volume pmr run --rm --network none -v "$PRL/home/vol:/vol" $IMG sh -c 'cat /vol/in.txt; echo written >/vol/out.txt'
	expect pmr-volume 0 '^from-home'
	if [ "$(stat -c %u "$PRL/home/vol/out.txt" 2>/dev/null)" = "$uid" ]; then
		pass pmr-volume-owner
	else
		fail pmr-volume-owner "vol/out.txt: $(stat -c '%u:%g' "$PRL/home/vol/out.txt" 2>&1), want $uid"
	fi

	c pmr-ps pmr ps -aq
	if [ "$rc" = 0 ] && [ -z "$out" ]; then pass pmr-ps-empty; else fail pmr-ps-empty "rc=$rc, containers left: $(short "$out")"; fi
	if grep -q "$PRL/" "$OUT/argv.log" 2>/dev/null; then pass pmr-used-runtime; else fail pmr-used-runtime "no runtime call from rootless podman in argv.log"; fi
}

# prl_leak_check NAME: once podman removed everything, nothing but its pause process is left in
# the user's namespace, and the runtime's state dir (XDG_RUNTIME_DIR/runc, /crun or /husk: the
# default a runtime picks for a rootless caller) holds no container
prl_leak_check() {
	local pp ns p prs="" st
	pp=$(cat "$PRL/xdg/libpod/tmp/pause.pid" 2>/dev/null)
	for _ in $(seq 10); do
		prs=""
		if [ -n "$pp" ] && [ -d "/proc/$pp" ]; then
			ns=$(readlink "/proc/$pp/ns/user")
			for p in /proc/[0-9]*; do
				[ "${p#/proc/}" = "$pp" ] && continue
				[ "$(readlink "$p/ns/user" 2>/dev/null)" = "$ns" ] || continue
				# the wrapper's --log watcher (a shell) ends just after the runtime
				case "$(cmdline "${p#/proc/}")" in "sh $WRAP"* | "/bin/sh $WRAP"*) continue ;; esac
				prs="$prs$(cmdline "${p#/proc/}" | cut -c1-60); "
			done
		fi
		[ -z "$prs" ] && break
		sleep 0.5
	done
	st=$(find "$PRL/xdg/runc" "$PRL/xdg/crun" "$PRL/xdg/husk" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
		-regex '.*/[0-9a-f]{64}' 2>/dev/null | head -5 | tr '\n' ' ')
	if [ -z "$prs$st" ]; then
		pass "$1"
	else
		fail "$1" "left behind after podman removed everything:${prs:+ processes: $prs}${st:+ state: $st}"
	fi
}

###############################################################################
# containerd (ctr)
###############################################################################
stop_containerd() {
	local f p
	stop_pid "$R/containerd/containerd.pid" 10
	# shims we caused (their pids are in the state dir)
	for f in "$R"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "shim $p still running ($f), killing" >>"$OUT/leftovers.txt"; kill -9 "$p"; }
	done
}

containerd_section() {
	local C=$R/containerd t
	mkdir -p "$C/root" "$C/state" "$C/fifo" "$C/runtime-root"
	cat >"$C/config.toml" <<EOF
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = ""
[debug]
  level = "debug"
[metrics]
  address = ""
EOF
	containerd --config "$C/config.toml" >"$OUT/containerd.log" 2>&1 &
	echo $! >"$C/containerd.pid"
	printf '#!/bin/sh\nexec ctr --address %s --namespace %s "$@"\n' "$C/containerd.sock" "$CTR_NS" >"$R/bin/ct"
	chmod +x "$R/bin/ct"
	if ! retry 40 ct version; then
		fail ctr-daemon "containerd did not come up: $(tail -3 "$OUT/containerd.log")"
	else
		c ctr-import ct images import "$IMGDIR/busybox-oci.tar"
		if [ "$rc" = 0 ]; then
			containerd_checks
			# anything left by a failed check
			for t in $(ct task ls -q 2>/dev/null); do ct task kill -a -s SIGKILL "$t" >/dev/null 2>&1; sleep 0.3; ct task rm -f "$t" >/dev/null 2>&1; done
			for t in $(ct container ls -q 2>/dev/null); do ct container rm "$t" >/dev/null 2>&1; done
			sleep 0.5
			stop_containerd
			leak_check ctr-leftovers "/$CTR_NS/(r1|t1|d1)\$"
		else
			fail ctr-import "rc=$rc: $(short "$out")"
		fi
	fi
	stop_containerd
	force_cleanup containerd
}

# shellcheck disable=SC2086  # $RUNARGS is a list of options
containerd_checks() {
	local C=$R/containerd CTR=$R/bin/ct
	local RUNARGS="--runc-binary $WRAP --runc-root $C/runtime-root --fifo-dir $C/fifo"
	local n st
	c ctr-run-rm ct run --rm $RUNARGS $IMG r1 sh -c 'echo ctr-ok; exit 3'
	expect ctr-run-rm 3 'ctr-ok'

	cs ctr-run-t "$(tty_session "$CTR run -t --rm $RUNARGS $IMG t1 sh" 'tty; echo typed-$((6*7))\nexit 5\n')"
	expect ctr-run-t 5 'typed-42' '/dev/pts/[0-9]'

	c ctr-run-d ct run -d $RUNARGS $IMG d1 sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done'
	expect ctr-run-d 0 ''
	c ctr-task-ls ct task ls
	expect ctr-run-d-running 0 'd1 +[0-9]+ +RUNNING'

	c ctr-task-exec ct task exec --fifo-dir "$C/fifo" --exec-id e1 d1 sh -c 'echo exec-out; exit 3'
	expect ctr-task-exec 3 'exec-out'
	cs ctr-task-exec-t "$(tty_session "$CTR task exec --fifo-dir $C/fifo -t --exec-id e2 d1 sh" 'echo typed-$((6*7))\nexit 6\n')"
	expect ctr-task-exec-t 6 'typed-42'

	c ctr-task-ps ct task ps d1
	n=$(printf '%s\n' "$out" | grep -cE '^ *[0-9]+ ')
	if [ "$rc" = 0 ] && [ "$n" -ge 1 ]; then pass ctr-task-ps; else fail ctr-task-ps "rc=$rc, $n pids: $(short "$out")"; fi

	c ctr-task-pause ct task pause d1
	expect ctr-task-pause 0 ''
	c ctr-task-ls ct task ls
	expect ctr-task-paused 0 'd1 +[0-9]+ +PAUSED'
	expect_freezer ctr-task-pause-frozen "$(ct task ls 2>/dev/null | awk '$1=="d1"{print $2}')" FROZEN
	c ctr-task-resume ct task resume d1
	expect ctr-task-resume 0 ''
	c ctr-task-ls ct task ls
	expect ctr-task-resumed 0 'd1 +[0-9]+ +RUNNING'
	expect_freezer ctr-task-resume-thawed "$(ct task ls 2>/dev/null | awk '$1=="d1"{print $2}')" THAWED
	c ctr-exec-after-resume ct task exec --fifo-dir "$C/fifo" --exec-id e3 d1 echo alive
	expect ctr-exec-after-resume 0 'alive'

	# a second process beside init, then kill --all
	c ctr-exec-detach ct task exec --fifo-dir "$C/fifo" --detach --exec-id e4 d1 sleep 1000
	c ctr-task-kill-a ct task kill -a -s SIGKILL d1
	expect ctr-task-kill-a 0 ''
	st=""
	for _ in $(seq 20); do
		st=$(ct task ls 2>&1 | awk '$1=="d1"{print $3}')
		[ "$st" = STOPPED ] && break
		sleep 0.25
	done
	if [ "$st" = STOPPED ]; then pass ctr-task-kill-a-stopped; else fail ctr-task-kill-a-stopped "task d1 is '$st' 5s after kill -a"; fi
	c ctr-task-rm ct task rm d1
	expect ctr-task-rm 0 ''
	c ctr-c-rm ct container rm d1
	expect ctr-container-rm 0 ''

	if grep -q "$C/" "$OUT/argv.log" 2>/dev/null; then pass ctr-used-runtime; else fail ctr-used-runtime "no runtime call from containerd in argv.log"; fi
}

###############################################################################
# dockerd
###############################################################################
DOCKERD_PID=   # dockerd writes its --pidfile only once it is up
stop_dockerd() {
	local D=$R/docker
	stop_pid "$D/dockerd.pid" 15
	[ -n "$DOCKERD_PID" ] && stop_pid "$DOCKERD_PID" 15
	DOCKERD_PID=
	# dockerd's own containerd, if dockerd died without stopping it
	if [ -f "$D/exec/containerd/containerd.pid" ] && kill -0 "$(cat "$D/exec/containerd/containerd.pid")" 2>/dev/null; then
		echo "dockerd's containerd $(cat "$D/exec/containerd/containerd.pid") still running, stopping" >>"$OUT/leftovers.txt"
		stop_pid "$D/exec/containerd/containerd.pid" 2
	fi
}

docker_section() {
	local D=$R/docker RTNAME=$TAG id
	[ "$TAG" = runc ] && RTNAME=runc-mx   # "runc" is dockerd's built-in runtime name
	mkdir -p "$D/data" "$D/exec"
	echo '{}' >"$D/daemon.json"
	ip link add "$BRIDGE" type bridge && ip addr add "$BRIDGE_CIDR" dev "$BRIDGE" && ip link set "$BRIDGE" up
	dockerd --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
		-H "unix://$D/docker.sock" --pidfile "$D/dockerd.pid" --cgroup-parent "/$DOCKER_CG" \
		--default-ulimit nofile=20000:20000 --add-runtime "$RTNAME=$WRAP" \
		--bridge "$BRIDGE" --iptables="$DOCKER_IPTABLES" --ip-forward=false --ip-masq=false \
		--storage-driver overlay2 --log-level debug >"$OUT/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	printf '#!/bin/sh\nexec %s -H unix://%s "$@"\n' "$DOCKER" "$D/docker.sock" >"$R/bin/dk"
	chmod +x "$R/bin/dk"
	if ! retry 60 dk version; then
		fail docker-daemon "dockerd did not come up: $(grep -E 'level=(error|fatal)|failed' "$OUT/dockerd.log" | tail -2)"
	else
		c d-load dk load -i "$IMGDIR/busybox-docker.tar"
		if [ "$rc" = 0 ]; then
			docker_checks "run --runtime $RTNAME"
			for id in $(dk ps -aq 2>/dev/null); do dk rm -f "$id" >/dev/null 2>&1; done
			sleep 0.5
			stop_dockerd
			leak_check d-leftovers "/$DOCKER_CG/[0-9a-f]{64}\$"
		else
			fail d-load "rc=$rc: $(short "$out")"
		fi
	fi
	stop_dockerd
	force_cleanup docker
}

# shellcheck disable=SC2086  # $RUN is "run --runtime NAME"
docker_checks() {
	local RUN=$1 DK=$R/bin/dk
	c d-run-none dk $RUN --rm --network none $IMG sh -c 'echo ok-none; ls /sys/class/net; exit 3'
	expect d-run-none 3 'ok-none' '^lo'

	c d-run-bridge dk $RUN --rm $IMG sh -c "ip -4 addr show eth0; ping -c1 -W2 ${BRIDGE_CIDR%/*} >/dev/null && echo gw-reachable"
	expect d-run-bridge 0 "inet ${BRIDGE_CIDR%.*}\." 'gw-reachable'

	c d-run-port dk $RUN -d --name web -p "127.0.0.1:$D_PORT:80" $IMG sh -c "$HTTPD"
	if [ "$rc" != 0 ]; then
		fail d-run-port "run -d rc=$rc: $(short "$out")"
	else
		expect_http d-run-port "$D_PORT"
	fi
	c d-rm-web dk rm -f web

	cs d-run-it "$(tty_session "$DK $RUN -it --rm --network none $IMG sh" 'tty; echo typed-$((6*7))\nexit 5\n')"
	expect d-run-it 5 'typed-42' '/dev/pts/[0-9]'

	c d-run-d dk $RUN -d --name c1 $IMG sh -c "$SLEEPER"
	expect d-run-d 0 '^[0-9a-f]{64}'
	c d-exec dk exec c1 sh -c 'echo exec-out; exit 3'
	expect d-exec 3 'exec-out'
	cs d-exec-it "$(tty_session "$DK exec -it c1 sh" 'echo typed-$((6*7))\nexit 6\n')"
	expect d-exec-it 6 'typed-42'
	pause_update_stop d dk --memory 64m --memory-swap 128m
	c d-start dk start c1
	expect d-start 0 ''
	c d-start-exec dk exec c1 echo alive-after-start
	expect d-start-exec 0 'alive-after-start'
	c d-rm-f dk rm -f c1
	expect d-rm-f 0 ''
	c d-ps dk ps -aq
	if [ -z "$out" ]; then pass d-ps-empty; else fail d-ps-empty "containers left: $(short "$out")"; fi

	if grep -q "$R/docker/" "$OUT/argv.log" 2>/dev/null; then pass d-used-runtime; else fail d-used-runtime "no runtime call from dockerd in argv.log"; fi
}

###############################################################################
# main
###############################################################################
m=$(missing timeout coreutils findmnt util-linux)
[ -z "$m" ] || { echo "$m"; exit 100; }

# An earlier run that was killed (SIGKILL, reboot...) left $R: stop its daemons (pidfiles,
# checked against their command line) and clean up against its own snapshot.
if [ -d "$R/before" ]; then
	note "cleaning up after an earlier interrupted run"
	stop_pid "$R/containerd/containerd.pid" 3
	stop_pid "$R/docker/dockerd.pid" 3
	prl_cleanup
	force_cleanup stale-run
	# cgroups that survived would be taken for the host's own by this run's snapshot
	if [ -n "$(our_new_cg)" ]; then
		echo "could not remove what the earlier run left (see $OUT/leftovers.txt):"
		our_new_cg
		exit 100
	fi
fi
if [ -n "$(our_mounts)" ]; then
	echo "something is still mounted under $R; clean it first:"
	our_mounts
	exit 100
fi
rm -rf "$R"
mkdir -p "$R/wrap" "$R/bin"
PATH=$R/bin:$PATH
snapshot_before
trap on_exit EXIT
trap 'exit 100' INT TERM

note "runtime $RT ($("$RT" --version 2>&1 | head -1)), results in $OUT"
case $TAG in husk) note "husk commit $(git -C "$(dirname "$RT")/.." describe --always --dirty 2>/dev/null)" ;; esac

if [ -s "$IMGDIR/busybox-oci.tar" ] && [ -s "$IMGDIR/busybox-docker.tar" ]; then
	note "image: $IMGDIR (built and verified by an earlier run)"
else
	m=$(missing /bin/busybox busybox-static jq jq tar tar gzip gzip sha256sum coreutils)
	[ -z "$m" ] || { echo "cannot build the busybox image: $m"; exit 100; }
	build_image || { echo "could not build the busybox image (work files in $W/image.tmp)"; exit 100; }
fi

write_wrapper
harness_selftest
for s in $SECTIONS; do
	ready "$s" && "${s//-/_}_section"
done
