#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the black-box suite against a built maskd.
#   MASKD_BIN=build/maskd tests/blackbox/run.sh        (default: <repo>/build/maskd)
#   MASKD_TEST_TIMEOUT_SCALE=3 ...                      stretch every bound (sanitizer builds)
#   tests/blackbox/run.sh api.test.mjs                  run only some files
set -eu

# A relative MASKD_BIN is relative to where run.sh was called from.
if [ -n "${MASKD_BIN:-}" ]; then
	case "$MASKD_BIN" in
	/*) ;;
	*) MASKD_BIN="$(pwd)/$MASKD_BIN" ;;
	esac
	export MASKD_BIN
fi

cd "$(dirname "$0")"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund
fi

if [ "$#" -gt 0 ]; then
	set -- "$@"
else
	set -- *.test.mjs
fi
exec node --test --test-reporter=tap --test-concurrency=2 "$@"
