#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - builds the libFuzzer targets with clang and runs each for a bounded time
# (FUZZ_SECONDS, default 20) from the committed seed corpus. Exit 0 when no crash.
# Usage: tests/fuzz/run.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-20}
mkdir -p "$out"
srcs=(src/util/form.c src/util/utf8.c src/util/arena.c src/util/xmalloc.c src/util/buf.c src/util/crypto.c src/util/hex.c
      src/hooks/twilio_sig.c src/hooks/sigutil.c src/hooks/twiml.c src/core/pin.c)
clang -std=c11 -D_GNU_SOURCE -g -O1 -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  tests/fuzz/fuzz_webhook.c "${srcs[@]}" -lcrypto -o "$out/fuzz_webhook"
work=$(mktemp -d)
cp tests/fuzz/corpus/webhook/* "$work/"
"$out/fuzz_webhook" -max_total_time="$secs" -max_len=8192 -dict=tests/fuzz/webhook.dict \
  -print_final_stats=1 "$work" 2>"$out/fuzz_webhook.log" || { tail -40 "$out/fuzz_webhook.log"; rm -rf "$work"; exit 1; }
grep -E 'stat::number_of_executed_units' "$out/fuzz_webhook.log" || true
rm -rf "$work"
