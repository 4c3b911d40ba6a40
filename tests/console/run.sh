#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the console's browser tests (playwright-core + Debian's Chromium) against
# a built maskd; the last line is "N passed, N failed".
#   tests/console/run.sh                      (MASKD_BIN default: <repo>/build-test/maskd)
#   MASKD_TEST_PG_URL=... tests/console/run.sh  the same on PostgreSQL
#   CHROMIUM_BIN=/path/to/chromium            another browser binary
# Screenshots: build-test/console-screenshots/.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${MASKD_BIN:=$repo/build-test/maskd}"
case "$MASKD_BIN" in /*) ;; *) MASKD_BIN="$(pwd)/$MASKD_BIN" ;; esac
export MASKD_BIN

# this layer's packages, and the black-box suite's (its lib/daemon.mjs starts maskd)
for dir in "$here" "$repo/tests/blackbox"; do
	if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		(cd "$dir" && npm ci --no-audit --no-fund) || { echo "npm ci failed in $dir"; echo "0 passed, 1 failed"; exit 1; }
	fi
done
if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
	echo "no Chromium at ${CHROMIUM_BIN:-/usr/bin/chromium}: scripts/install-deps test installs Debian's"
	echo "0 passed, 1 failed"
	exit 1
fi

cd "$here"
tap=$(mktemp)
node --test --test-reporter=tap --test-concurrency=1 console.test.mjs >"$tap" 2>&1
rc=$?
cat "$tap"
p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -1)
f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -1)
rm -f "$tap"
p=${p:-0}
f=${f:-0}
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
