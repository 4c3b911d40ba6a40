#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - builds every libFuzzer target (tests/fuzz/fuzz_*.c, fuzz_*.cc) with clang,
# -fsanitize=fuzzer,address,undefined, against maskd's library sources compiled once
# into <build-dir>/libmaskd-fuzz.a, then runs each for FUZZ_SECONDS (default 10) from
# its committed seed corpus (tests/fuzz/corpus/<target>/) with its dictionary
# (tests/fuzz/<target>.dict). Prints one line per target, "fuzz <target>: ok" or
# "fuzz <target>: FAILED", and exits 1 if any target failed to build or crashed.
# A crash input is kept as <build-dir>/crash-<target>-*; the log as <build-dir>/<target>.log.
# FUZZ_RUNS=N stops each target after N executions instead (or at FUZZ_SECONDS, if sooner).
# Usage: tests/fuzz/run.sh [build-dir] [target...]     (targets: form sig webhook ...)
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build-fuzz}
[ $# -gt 0 ] && shift
secs=${FUZZ_SECONDS:-10}
# FUZZ_RUNS stops a target after that many executions (whichever of it and FUZZ_SECONDS comes first).
runs=(); [ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
jobs=${FUZZ_BUILD_JOBS:-2}
mkdir -p "$out/obj"
san=(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all)
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -Isrc "${san[@]}")

# --- the library: every source but main.c, rebuilt when any source or header is newer
lib="$out/libmaskd-fuzz.a"
mapfile -t srcs < <(find src -name '*.c' ! -path src/main.c | sort)
newest=$(find src -newer "$lib" \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) 2>/dev/null | head -1)
if [ ! -f "$lib" ] || [ -n "$newest" ]; then
  printf '%s\n' "${srcs[@]}" | xargs -P "$jobs" -I{} sh -c \
    'o="$0/obj/$(echo "$1" | tr / _).o"; exec clang '"${cflags[*]}"' $(pkg-config --cflags jansson libpq 2>/dev/null) -c "$1" -o "$o"' "$out" {} \
    || { echo "fuzz: library build failed"; exit 1; }
  clang++ -std=c++17 -g -O1 -Isrc "${san[@]}" -c src/util/phone.cc -o "$out/obj/src_util_phone.cc.o" \
    || { echo "fuzz: library build failed"; exit 1; }
  rm -f "$lib"
  ar rcs "$lib" "$out"/obj/*.o
fi
libs=(-lmicrohttpd -ljansson -lsqlite3 -lpq -lcurl -lcrypto -lsodium -lphonenumber -lgeocoding
      $(pkg-config --libs icu-uc protobuf 2>/dev/null) -lpthread)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c tests/fuzz/fuzz_*.cc; do
    t=$(basename "$f"); t=${t#fuzz_}; targets+=("${t%%.*}")
  done
fi

status=0
for t in "${targets[@]}"; do
  src=tests/fuzz/fuzz_$t.c; [ -f "$src" ] || src=tests/fuzz/fuzz_$t.cc
  log="$out/fuzz_$t.log"
  if [[ $src == *.cc ]]; then
    clang++ -std=c++17 -g -O1 -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      "$src" "$lib" "${libs[@]}" -o "$out/fuzz_$t" >"$log" 2>&1
  else
    clang "${cflags[@]/fuzzer-no-link/fuzzer}" -c "$src" -o "$out/fuzz_$t.o" >"$log" 2>&1 &&
      clang++ -fsanitize=fuzzer,address,undefined "$out/fuzz_$t.o" "$lib" "${libs[@]}" -o "$out/fuzz_$t" >>"$log" 2>&1
  fi || { cat "$log"; echo "fuzz $t: FAILED (build)"; status=1; continue; }
  work=$(mktemp -d)
  cp tests/fuzz/corpus/"$t"/* "$work/" 2>/dev/null || true
  dict=(); [ -f tests/fuzz/"$t".dict ] && dict=(-dict=tests/fuzz/"$t".dict)
  if "$out/fuzz_$t" -max_total_time="$secs" "${runs[@]}" -max_len=8192 "${dict[@]}" -print_final_stats=1 \
       -artifact_prefix="$out/crash-$t-" "$work" >>"$log" 2>&1; then
    stats=$(grep -E '^#[0-9]+.*DONE' "$log" | tail -1)
    echo "fuzz $t: ok ${stats#*DONE}"
  else
    tail -40 "$log"; echo "fuzz $t: FAILED (see $log)"; status=1
  fi
  rm -rf "$work"
done
exit $status
