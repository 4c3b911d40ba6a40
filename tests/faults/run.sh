#!/bin/sh
# SPDX-License-Identifier: MIT
# The fault layer (tests/faults/faults.test.mjs): the real maskd under a full disk, a
# read-only file system, a locked SQLite database, a killed PostgreSQL and stalled
# fsyncs. Its last line is "N passed, N failed" (scripts/test.sh run_layer).
#   tests/faults/run.sh [BIN [SCALE]]   BIN default $MASKD_BIN, else <repo>/build-test/maskd;
#                                       SCALE sets MASKD_TEST_TIMEOUT_SCALE (3 for build-asan)
#   FAULTFS_LIB  the LD_PRELOAD shim (default: libfaultfs.so next to BIN)
# It starts its own PostgreSQL (scripts/pg-test-server); MASKD_TEST_PG_URL is ignored.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
MASKD_BIN=${1:-${MASKD_BIN:-$root/build-test/maskd}}
[ -n "${2:-}" ] && export MASKD_TEST_TIMEOUT_SCALE=$2
case "$MASKD_BIN" in /*) ;; *) MASKD_BIN="$(pwd)/$MASKD_BIN" ;; esac
FAULTFS_LIB=${FAULTFS_LIB:-$(dirname "$MASKD_BIN")/libfaultfs.so}
export MASKD_BIN FAULTFS_LIB
unset MASKD_TEST_PG_URL
for f in "$MASKD_BIN" "$FAULTFS_LIB"; do
	[ -f "$f" ] || { echo "missing $f: build it first (ninja -C build-test)"; echo "0 passed, 1 failed"; exit 1; }
done
# the carriers' SDKs the black-box helpers import
bb="$root/tests/blackbox"
if [ ! -f "$bb/node_modules/.package-lock.json" ] || [ "$bb/package-lock.json" -nt "$bb/node_modules/.package-lock.json" ]; then
	(cd "$bb" && npm ci --no-audit --no-fund) || { echo "0 passed, 1 failed"; exit 1; }
fi
cd "$here"
out=$(mktemp)
node --test --test-reporter=tap --test-concurrency=1 faults.test.mjs >"$out" 2>&1
rc=$?
cat "$out"
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$out" | tail -1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$out" | tail -1)
rm -f "$out"
[ -n "$p" ] || { p=0; f=$(( ${f:-0} + 1 )); }
[ "$rc" -eq 0 ] || [ "${f:-0}" -gt 0 ] || f=1
echo "$p passed, ${f:-0} failed"
[ "${f:-0}" -eq 0 ]
