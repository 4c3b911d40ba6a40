#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh - every test layer, in order, then one line "N passed, N failed".
#   1. style check: banned functions (STYLE.md 12)
#   2. release build with -Werror; cmocka unit tests
#   3. AddressSanitizer + UndefinedBehaviorSanitizer build with -Werror; unit tests
#   4. black-box tests (node:test + the carriers' SDKs) against the sanitizer build
#      and against the release build; then, on a throwaway PostgreSQL 15
#      (scripts/pg-test-server), the store's contract suite and the PostgreSQL
#      races (test_contract_pg, test_store_pg) and the release build again, with
#      the multi-node test
#   5. libFuzzer on the webhook parsing path, from the committed seed corpus
#   6. the benchmark harness in smoke mode (bench/run.sh --smoke), for plumbing only
# Exit status 0 only when nothing failed. Logs go to build-*/test-logs/.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
passed=0
failed=0
failures=()

note_fail() { failed=$((failed + 1)); failures+=("$1"); }

# --- 1. banned functions -----------------------------------------------------
banned=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)\s*\(' \
         --include='*.c' --include='*.h' --include='*.cc' src tests/unit tests/contract 2>/dev/null || true)
if [ -z "$banned" ]; then passed=$((passed + 1)); else echo "$banned"; note_fail "banned functions"; fi

# --- builds ------------------------------------------------------------------
setup() { # dir, meson args...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$root/.setup-$dir.log" 2>&1 || { cat "$root/.setup-$dir.log"; return 1; }
    rm -f "$root/.setup-$dir.log"
  fi
  ninja -C "$dir" >"$dir/ninja.log" 2>&1 || { cat "$dir/ninja.log"; return 1; }
}

run_unit() { # dir
  local dir=$1 t out p f
  mkdir -p "$dir/test-logs"
  for t in "$dir"/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    out="$dir/test-logs/$(basename "$t").log"
    "$t" >"$out" 2>&1
    local rc=$?
    p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
    f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
    passed=$((passed + ${p:-0}))
    if [ -n "$f" ] && [ "$f" -gt 0 ]; then
      failed=$((failed + f)); failures+=("$(basename "$t") ($dir)"); cat "$out"
    elif [ $rc -ne 0 ] || [ -z "$p" ]; then
      note_fail "$(basename "$t") ($dir) exited $rc"; cat "$out"
    fi
  done
}

run_blackbox() { # binary, label
  local bin=$1 label=$2 log="build-asan/test-logs/blackbox-$2.tap"
  mkdir -p build-asan/test-logs
  MASKD_BIN="$root/$bin" tests/blackbox/run.sh >"$log" 2>&1
  local rc=$?
  local p f
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ "${f:-0}" -gt 0 ] || [ $rc -ne 0 ] || [ -z "$p" ]; then
    failures+=("black-box ($label), see $log")
    grep -E '^not ok|^# |error|Error' "$log" | head -60
    [ -n "$p" ] && [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
  fi
}

# A layer is a script of its own (tests/<layer>/run.sh) whose last line is
# "N passed, N failed"; its output goes to build-test/test-logs/<name>.log.
run_layer() { # name, script, args...
  local name=$1 script=$2 log p f rc; shift 2
  mkdir -p build-test/test-logs
  log=build-test/test-logs/$name.log
  echo "== $name"
  "$script" "$@" >"$log" 2>&1
  rc=$?
  p=$(tail -1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
  f=$(tail -1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ -z "$p" ] || [ "${f:-0}" -gt 0 ] || [ $rc -ne 0 ]; then
    failures+=("$name, see $log"); tail -40 "$log"
    [ -n "$p" ] && [ "${f:-0}" -eq 0 ] && failed=$((failed + 1))
    [ -z "$p" ] && failed=$((failed + 1))
  fi
}

echo "== release build (-Werror)"
if setup build-test --buildtype=release -Dwerror=true; then
  passed=$((passed + 1)); run_unit build-test
else
  note_fail "release build"
fi

echo "== sanitizer build (ASan+UBSan, -Werror)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if setup build-asan --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args=-fno-sanitize-recover=all -Dcpp_args=-fno-sanitize-recover=all; then
  passed=$((passed + 1)); run_unit build-asan
  echo "== black-box (sanitizer build)"
  run_blackbox build-asan/maskd asan
else
  note_fail "sanitizer build"
fi

if [ -x build-test/maskd ]; then
  echo "== black-box (release build)"
  run_blackbox build-test/maskd release
fi

if [ -x build-test/maskd ]; then
  echo "== black-box on PostgreSQL (release build)"
  pgdir=$(mktemp -d "${TMPDIR:-/tmp}/maskd-pg.XXXXXX")
  trap 'scripts/pg-test-server stop "$pgdir" >/dev/null 2>&1; rm -rf "$pgdir" "$pgdir.err"' EXIT
  if pg_url=$(scripts/pg-test-server start "$pgdir" 2>"$pgdir.err"); then
    export MASKD_TEST_PG_URL=$pg_url
    # the store's contract suite and the backend's own tests (the races), on a real
    # server; a run that skipped anything is a failure
    for t in test_contract_pg test_store_pg; do
      if [ ! -x "build-test/$t" ]; then
        note_fail "build-test/$t missing"; continue
      fi
      out=build-test/test-logs/$t-postgresql.log
      "build-test/$t" >"$out" 2>&1
      rc=$?
      p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
      f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
      passed=$((passed + ${p:-0}))
      if [ -n "$f" ] && [ "$f" -gt 0 ]; then
        failed=$((failed + f)); failures+=("$t on PostgreSQL ($out)"); cat "$out"
      elif [ $rc -ne 0 ] || [ -z "$p" ] || grep -q 'SKIPPED' "$out"; then
        note_fail "$t on PostgreSQL ($out)"; cat "$out"
      fi
    done
    run_blackbox build-test/maskd postgresql
    unset MASKD_TEST_PG_URL
    scripts/pg-test-server stop "$pgdir" || note_fail "stopping the test PostgreSQL in $pgdir"
  else
    cat "$pgdir.err"; note_fail "the test PostgreSQL did not start (scripts/pg-test-server)"
  fi
  rm -rf "$pgdir" "$pgdir.err"
  trap - EXIT
fi

echo "== fuzz (libFuzzer, ${FUZZ_SECONDS:-20} s per target)"
if FUZZ_SECONDS=${FUZZ_SECONDS:-20} tests/fuzz/run.sh build-fuzz; then
  passed=$((passed + 1))
else
  note_fail "fuzz_webhook (build-fuzz/fuzz_webhook.log)"
fi

if [ -x build-test/maskd ]; then
  echo "== bench smoke (the harness end to end at toy sizes; no timing is judged)"
  if BENCH_BUILD_DIR=build-test bench/run.sh --smoke >build-test/test-logs/bench-smoke.log 2>&1; then
    passed=$((passed + 1))
  else
    tail -30 build-test/test-logs/bench-smoke.log; note_fail "bench smoke (build-test/test-logs/bench-smoke.log)"
  fi
fi

# --- further layers, each its own script (run_layer) --------------------------
# (new layers are added here, one line each)
run_layer deb tests/deb/run.sh # the .deb: build, lint, install, run, purge

if [ ${#failures[@]} -gt 0 ]; then
  echo "failures:"; printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
