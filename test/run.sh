#!/usr/bin/env bash
# The test command: unit tests (no root) and integration tests (root, real kernel), then the
# one summary line CI reads: "N passed, M failed[, K skipped]".
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# bin/husk-runtime is the built CLI (dist/cli/husk): rebuild it (and the helper) from the sources under test.
npm run -s build >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
node_modules/.bin/bun test --timeout 120000 "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
# The library's scenarios under Node too (bun test ran them under Bun), on a whole run.
nodeout=$(mktemp)
trap 'rm -f "$out" "$nodeout"' EXIT
if [ $# -eq 0 ]; then
  node --test test/library/runtime.node.mjs 2>&1 | tee "$nodeout"
  noderc=${PIPESTATUS[0]}
  [ "$noderc" -ne 0 ] && rc=$noderc
fi
# On a whole run, the real clients (podman, containerd, dockerd) driving husk-runtime, and
# runc's own bats suite against it, where their Debian packages are installed (.ci/run installs
# them; HUSK_CLIENTS=0 or HUSK_RUNC_BATS=0 leaves either out). Each prints a TOTAL line whose
# counts join the summary.
extra=$(mktemp)
trap 'rm -f "$out" "$nodeout" "$extra"' EXIT
if [ $# -eq 0 ] && [ "${HUSK_CLIENTS:-1}" != 0 ] && command -v podman >/dev/null && command -v ctr >/dev/null && command -v dockerd >/dev/null; then
  test/clients/matrix.sh bin/husk-runtime 2>&1 | tee -a "$extra"
  [ "${PIPESTATUS[0]}" -ne 0 ] && rc=1
fi
if [ $# -eq 0 ] && [ "${HUSK_RUNC_BATS:-1}" != 0 ] && command -v bats >/dev/null && command -v go >/dev/null; then
  test/runc-bats/run.sh bin/husk-runtime 2>&1 | tee -a "$extra"
  [ "${PIPESTATUS[0]}" -ne 0 ] && rc=1
fi
ecount() { grep -Eo "^TOTAL [^:]*: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?" "$extra" | grep -Eo "[0-9]+ $1" | awk '{ n += $1 } END { print n + 0 }'; }
# The containers are gone; husk's compiled-seccomp cache under the test root goes too.
rm -rf /run/husk-test/@seccomp
rmdir /run/husk-test 2>/dev/null || true
count() { grep -Eo "^ *[0-9]+ $1\$" "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0; }
ncount() { grep -Eo "^# $1 [0-9]+\$" "$nodeout" | tail -1 | grep -Eo '[0-9]+' || echo 0; }
pass=$(( $(count pass) + $(ncount pass) + $(ecount passed) ))
fail=$(( $(count fail) + $(ncount fail) + $(ecount failed) ))
skip=$(( $(count skip) + $(ncount skipped) + $(ecount skipped) ))
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
exit "$rc"
