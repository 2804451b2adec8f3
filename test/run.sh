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
# The containers are gone; husk's compiled-seccomp cache under the test root goes too.
rm -rf /run/husk-test/@seccomp
rmdir /run/husk-test 2>/dev/null || true
count() { grep -Eo "^ *[0-9]+ $1\$" "$out" | tail -1 | grep -Eo '[0-9]+' || echo 0; }
ncount() { grep -Eo "^# $1 [0-9]+\$" "$nodeout" | tail -1 | grep -Eo '[0-9]+' || echo 0; }
pass=$(( $(count pass) + $(ncount pass) ))
fail=$(( $(count fail) + $(ncount fail) ))
skip=$(( $(count skip) + $(ncount skipped) ))
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
exit "$rc"
