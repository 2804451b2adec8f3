#!/usr/bin/env bash
# runc's own integration tests (bats, from Debian's runc 1.1.5 source package) against a runtime
# with runc's command line: husk-runtime by default, or runc itself for the reference figure.
#
# usage: test/runc-bats/run.sh [RUNTIME] [BATS FILE...]
#   e.g. test/runc-bats/run.sh                       (bin/husk-runtime, every file)
#        test/runc-bats/run.sh /usr/sbin/runc        (the reference, same host)
#        test/runc-bats/run.sh bin/husk-runtime exec.bats tty.bats
#
# Needs (Debian packages; .ci/run installs them): a deb-src line for bookworm, dpkg-dev, bats,
# gawk, jq, golang-go with the Go libraries recvtty and seccompagent import, debootstrap (the
# Debian image of hooks.bats), busybox-static. The suite's images are built here, not
# downloaded: busybox from /bin/busybox, Debian with debootstrap from the apt mirror.
#
# The runtime is started through a link named `runc`, as a drop-in runc is installed: the suite
# checks help and version text for that name. Tests run under a pty (script(1)) because runc's
# `run` tests use a foreground terminal, as from a shell.
#
# Prints each test's TAP line, then "TOTAL runc-bats: N passed, M failed, K skipped". A failure
# listed in KNOWN below (a deliberate difference, with its reason) is counted as skipped and
# printed with that reason. Exit status: the number of other failures (capped at 100).
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
RT=$(readlink -f "${1:-bin/husk-runtime}")
shift || true
W=${HUSK_BATS_DIR:-/var/cache/husk/runc-bats}
VERSION=1.1.5+ds1
SRC=$W/runc-$VERSION
T=$SRC/tests/integration

# Deliberate differences: "test name|why".
KNOWN=(
	"spec validator|clones runtime-spec from github.com: this machine has no internet (runc fails it here too)"
	"runc run [seccomp] (SCMP_ACT_NOTIFY write)|husk's helper never write(2)s after loading the filter (its sync channel uses send), so a notified write works instead of being refused as runc must"
)

mkdir -p "$W"
if [ ! -d "$SRC" ]; then
	(cd "$W" && apt-get source -qq "runc=$VERSION-1+deb12u1" >/dev/null 2>&1) || {
		echo "cannot fetch runc's source package (needs a deb-src line for bookworm and dpkg-dev)"
		exit 100
	}
fi
G=$W/gopath
if [ ! -x "$SRC/contrib/cmd/recvtty/recvtty" ] || [ ! -x "$SRC/contrib/cmd/seccompagent/seccompagent" ]; then
	mkdir -p "$G/src/github.com/opencontainers"
	ln -sfn "$SRC" "$G/src/github.com/opencontainers/runc"
	for tool in recvtty seccompagent; do
		(cd "$G/src/github.com/opencontainers/runc/contrib/cmd/$tool" &&
			GO111MODULE=off GOPATH=$G:/usr/share/gocode GOFLAGS= go build -tags seccomp -o "$tool" .) || {
			echo "cannot build $tool (Debian's golang-go and golang-github-* packages)"
			exit 100
		}
	done
fi
# The images get-images.sh would download, made locally.
if [ ! -s "$T/testdata/busybox-amd64.tar.xz" ]; then
	B=$(mktemp -d)
	mkdir -p "$B"/{bin,dev,etc,root,home,usr/bin,usr/sbin,sbin,var/spool/mail,var/www,tmp}
	chmod 755 "$B"
	chmod 1777 "$B/tmp"
	cp /bin/busybox "$B/bin/busybox"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln "$B/bin/busybox" "$B/bin/$a"; done
	printf '%s\n' root:x:0:0:root:/root:/bin/sh daemon:x:1:1:daemon:/usr/sbin:/bin/false \
		mail:x:8:8:mail:/var/spool/mail:/bin/false www-data:x:33:33:www-data:/var/www:/bin/false \
		nobody:x:65534:65534:nobody:/home:/bin/false >"$B/etc/passwd"
	printf '%s\n' root:x:0: daemon:x:1: tty:x:5: mail:x:8: www-data:x:33: users:x:100: nogroup:x:65534: >"$B/etc/group"
	tar -C "$B" -cJf "$T/testdata/busybox-amd64.tar.xz" .
	rm -rf "$B"
fi
if [ ! -s "$T/testdata/debian-amd64.tar.xz" ]; then
	D=$W/debian-root
	[ -x "$D/bin/sh" ] || debootstrap --variant=minbase bookworm "$D" http://deb.debian.org/debian >"$W/debootstrap.log" 2>&1 || {
		echo "debootstrap failed (see $W/debootstrap.log)"
		exit 100
	}
	tar -C "$D" --exclude './dev/*' --exclude './proc/*' --exclude './sys/*' -c . | xz -1 -T0 >"$T/testdata/debian-amd64.tar.xz"
fi

mkdir -p "$W/bin"
ln -sfn "$RT" "$W/bin/runc"
tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
files=("$@")
[ ${#files[@]} -eq 0 ] && files=(.)
# bats' temp dir is ours, so that what the suite starts and a failing test leaves running
# (recvtty of update.bats holds bats' output pipe open: bats would wait for it for ever) can be
# told from anything else: once the last test has reported, those are ended by pid.
tmp=$(mktemp -d "$W/run.XXXXXX")
chmod 755 "$tmp" # the suite's user-namespace tests reach their bundles as another uid
# Cgroups the suite itself made (it pre-creates some with mkdir; husk, unlike runc, never
# removes a cgroup it did not make) are removed before and after, when empty: a leftover one
# holding cpu.rt_runtime_us would fail the next run's rt test at its setup.
suite_cgroups() {
	find /sys/fs/cgroup -depth -type d -path '*/runc-cgroups-integration-test*' 2>/dev/null | while read -r d; do rmdir "$d" 2>/dev/null; done
}
suite_cgroups
ntests() { grep -Eo '^1\.\.[0-9]+' "$tap" | head -1 | cut -c4-; }
last() { grep -Eo '^(not )?ok [0-9]+' "$tap" | tail -1 | grep -Eo '[0-9]+$'; }
(cd "$T" && TMPDIR=$tmp RUNC=$W/bin/runc timeout 1800 script -qec "bats --tap -T ${files[*]}" /dev/null </dev/null >"$tap" 2>&1) &
runner=$!
while kill -0 "$runner" 2>/dev/null; do
	sleep 2
	n=$(ntests)
	if [ -n "$n" ] && [ "$(last)" = "$n" ]; then
		sleep 5
		for d in /proc/[0-9]*; do
			grep -qs -- "$tmp/" "$d/cmdline" && kill -9 "${d#/proc/}" 2>/dev/null
		done
		break
	fi
done
wait "$runner"
rm -rf "$tmp"
suite_cgroups
pass=0 fail=0 skip=0 show=0
while IFS= read -r line; do
	line=${line%$'\r'} # script(1)'s pty ends lines with CRLF
	case $line in
	"ok "*"# skip"*)
		show=0
		skip=$((skip + 1))
		echo "$line"
		;;
	"ok "*)
		show=0
		pass=$((pass + 1))
		echo "$line"
		;;
	"not ok "*)
		name=$(sed -E 's/^not ok [0-9]+ //; s/ in [0-9]+ms$//' <<<"$line")
		why=""
		for k in "${KNOWN[@]}"; do [ "${k%%|*}" = "$name" ] && why=${k#*|}; done
		show=0
		if [ -n "$why" ]; then
			skip=$((skip + 1))
			echo "$line # known difference: $why"
		else
			fail=$((fail + 1))
			show=1
			echo "$line"
		fi
		;;
	"#"*) [ "$show" -eq 1 ] && echo "$line" ;;
	esac
done <"$tap"
grep -q '^1\.\.' "$tap" || {
	echo "bats did not run:"
	cat "$tap"
	fail=$((fail + 1))
}
echo "TOTAL runc-bats: $pass passed, $fail failed, $skip skipped"
[ "$fail" -gt 100 ] && fail=100
exit "$fail"
