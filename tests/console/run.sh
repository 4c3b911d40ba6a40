#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the console's browser tests (playwright-core + Debian's Chromium) against
# a built maskd, on SQLite and then on a throwaway PostgreSQL (scripts/pg-test-server);
# the last line is "N passed, N failed" over both runs.
#   tests/console/run.sh                      (MASKD_BIN default: <repo>/build-test/maskd)
#   MASKD_TEST_PG_URL=... tests/console/run.sh  on that PostgreSQL server only
#   CONSOLE_TEST_BACKENDS=sqlite              SQLite only (or: postgresql)
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
passed=0
failed=0
failing="" # "not ok" lines of every run, printed again just above the counts
# run_suite LABEL: the suite once with the environment as it is; adds to the counts
run_suite() {
	echo "== console suite on $1"
	tap=$(mktemp)
	node --test --test-reporter=tap --test-concurrency=1 console.test.mjs >"$tap" 2>&1
	rc=$?
	cat "$tap"
	failing="$failing$(awk -v run="$1" '/^ *not ok [0-9]+ - /{ sub(/^ *not ok [0-9]+ - /, ""); print run ": " $0 }' "$tap")
"
	p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -1)
	f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -1)
	rm -f "$tap"
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	passed=$((passed + p))
	failed=$((failed + f))
}

backends=${CONSOLE_TEST_BACKENDS:-sqlite postgresql}
if [ -n "${MASKD_TEST_PG_URL:-}" ]; then
	run_suite "PostgreSQL ($MASKD_TEST_PG_URL)"
else
	for b in $backends; do
		case "$b" in
		sqlite) run_suite SQLite ;;
		postgresql)
			pgdir=$(mktemp -d "${TMPDIR:-/tmp}/maskd-console-pg.XXXXXX")
			if url=$("$repo/scripts/pg-test-server" start "$pgdir" 2>"$pgdir.err"); then
				MASKD_TEST_PG_URL=$url run_suite PostgreSQL
				"$repo/scripts/pg-test-server" stop "$pgdir" >/dev/null 2>&1 || { echo "cannot stop the test PostgreSQL in $pgdir"; failed=$((failed + 1)); }
			else
				cat "$pgdir.err"; echo "the test PostgreSQL did not start"; failed=$((failed + 1))
			fi
			rm -rf "$pgdir" "$pgdir.err"
			;;
		*) echo "unknown backend $b"; failed=$((failed + 1)) ;;
		esac
	done
fi
printf '%s' "$failing" | sed '/^$/d; s/^/failed: /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
