#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/counts.sh - per-webhook counts that do not depend on how much CPU the machine
# has left over: system calls and pwrite64 (perf stat on the syscall tracepoints),
# bytes written to storage (/proc/<pid>/io write_bytes), server CPU (schedstat), and
# the expiry sweep's CPU per 10,000 sessions. Not a rate benchmark (that is run.sh).
#
#   bench/counts.sh [MASKD_BIN [SEED_BIN]]      default build-test/maskd, build-test/maskd-seed
#   COUNTS_N=20000 COUNTS_RATE=4000 COUNTS_THREADS=8 COUNTS_SWEEP_N=10000 COUNTS_RUNS=1
#   COUNTS_SWEEP_N=0 skips the sweep; COUNTS_RUNS=3 repeats the webhook step;
#   COUNTS_SWEEP_PERF=FILE records a perf profile of the sweep into FILE;
#   COUNTS_SERVICE='"events_pull":false' adds fields to the service's create body.
# Prints one "webhooks:" line per run and one "sweep:" line; exits 1 on a wrong answer.
set -euo pipefail
cd "$(dirname "$0")/.."

MASKD=${1:-build-test/maskd}
SEED=${2:-$(dirname "$MASKD")/maskd-seed}
N=${COUNTS_N:-20000}
RATE=${COUNTS_RATE:-4000}
THREADS=${COUNTS_THREADS:-8}
SWEEP_N=${COUNTS_SWEEP_N:-10000}
RUNS=${COUNTS_RUNS:-1}
SESSIONS=${COUNTS_SESSIONS:-1000}
ADMIN_KEY=bench-admin-key-0123456789
TOKEN=bench-twilio-auth-token-0123456789
PUBLIC_URL=https://bench.example

die() { echo "counts.sh: $*" >&2; exit 1; }
[ -x "$MASKD" ] || die "no maskd at $MASKD"
[ -x "$SEED" ] || die "no maskd-seed at $SEED"
command -v perf >/dev/null || die "perf not found (linux-perf)"
if [ "$(nproc)" -ge 2 ]; then SERVER=0; CLIENT=1; else SERVER=0; CLIENT=0; fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/maskd-counts.XXXXXX")
PID=""
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

LOADGEN=$TMP/loadgen
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$LOADGEN" bench/loadgen.c -lcrypto
jnum() { grep -o "\"$2\":[-0-9.e]*" "$1" | head -1 | cut -d: -f2; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
cpu_ns() { cat /proc/"$PID"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
wbytes() { awk '/^write_bytes:/ { print $2 }' /proc/"$PID"/io; }
metric() {
	"$LOADGEN" http GET /metrics --port "$PORT" | awk -v m="$1" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}
# bg_ns: on-CPU time of every thread but the main one and libmicrohttpd's (the sweeper)
bg_ns() {
	local t s=0 v
	for t in /proc/"$PID"/task/*; do
		[ "${t##*/}" = "$PID" ] && continue
		case "$(cat "$t/comm" 2>/dev/null)" in MHD-*) continue ;; esac
		v=$(awk '{ print $1 }' "$t/schedstat" 2>/dev/null || echo 0)
		s=$((s + v))
	done
	echo $s
}

PORT=$("$LOADGEN" freeport)
MASKD_LISTEN=127.0.0.1:$PORT MASKD_DB=$TMP/maskd.db MASKD_KEY_FILE=$TMP/maskd.key \
	MASKD_ADMIN_KEY=$ADMIN_KEY MASKD_PUBLIC_URL=$PUBLIC_URL MASKD_THREADS=$THREADS \
	MASKD_SWEEP_INTERVAL=1 MASKD_LOG_LEVEL=warn \
	taskset -c $SERVER "$MASKD" >"$TMP/maskd.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
	"$LOADGEN" http GET /healthz --port "$PORT" >/dev/null 2>&1 && break
	kill -0 "$PID" 2>/dev/null || { cat "$TMP/maskd.log"; die "maskd exited at start"; }
	sleep 0.1
done
SVC=$("$LOADGEN" http POST /v1/services --port "$PORT" --key "$ADMIN_KEY" \
	--body "{\"name\":\"counts\",\"carriers\":{\"twilio\":{\"auth_token\":\"$TOKEN\"}}${COUNTS_SERVICE:+,$COUNTS_SERVICE}}" |
	grep -o '"id":"svc_[^"]*"' | cut -d'"' -f4)
[ -n "$SVC" ] || die "cannot create the service"
taskset -c $CLIENT "$LOADGEN" numbers --port "$PORT" --key "$ADMIN_KEY" --service "$SVC" --first 0 \
	--count $((2 * SESSIONS)) --conns 8 >/dev/null
taskset -c $CLIENT "$LOADGEN" sessions --port "$PORT" --key "$ADMIN_KEY" --service "$SVC" --first 0 \
	--count "$SESSIONS" --conns 8 --out "$TMP/sessions.tsv" >/dev/null
rate() { # RATE DURATION OUT
	taskset -c $CLIENT "$LOADGEN" rate --port "$PORT" --sessions "$TMP/sessions.tsv" --token "$TOKEN" \
		--public-url "$PUBLIC_URL" --kind voice --rate "$1" --duration "$2" --conns 32 >"$3" 2>"$3.err" ||
		{ cat "$3.err" >&2; die "wrong or failed answers"; }
}
rate 1000 2 "$TMP/warm.json"

for run in $(seq "$RUNS"); do
	perf stat -x, -e raw_syscalls:sys_enter,syscalls:sys_enter_pwrite64 -p "$PID" -o "$TMP/perf.txt" &
	PERF=$!
	sleep 0.5
	c0=$(cpu_ns); w0=$(wbytes)
	rate "$RATE" "$(calc "$N / $RATE < 1 ? 1 : $N / $RATE" 0)" "$TMP/run.json"
	c1=$(cpu_ns); w1=$(wbytes)
	kill -INT $PERF; wait $PERF 2>/dev/null || true
	n=$(jnum "$TMP/run.json" answered)
	ok=$(jnum "$TMP/run.json" verified_ok)
	sys=$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$TMP/perf.txt")
	pw=$(awk -F, '/sys_enter_pwrite64/ { print $1 }' "$TMP/perf.txt")
	echo "webhooks: run $run, $n answered ($ok checked right), per webhook: syscalls $(calc "$sys / $n" 1)," \
		"pwrite64 $(calc "$pw / $n" 1), write_bytes $(calc "($w1 - $w0) / $n / 1024" 1) KB," \
		"CPU $(calc "($c1 - $c0) / $n / 1000" 0) us"
done

[ "$SWEEP_N" -gt 0 ] || exit 0
expires_at=$(($(date +%s) + 4 + SWEEP_N / 1000))
"$SEED" --db "$TMP/maskd.db" --key-file "$TMP/maskd.key" --service "$SVC" --first $((SESSIONS + 10)) \
	--count "$SWEEP_N" --expires-at $expires_at --out "$TMP/sweep.tsv" >/dev/null
[ "$(date +%s)" -lt $expires_at ] || echo "counts.sh: warning: seeding ran past expires_at" >&2
e0=$(metric maskd_sessions_expired_total)
PERFREC=""
if [ -n "${COUNTS_SWEEP_PERF:-}" ]; then # a profile of the sweep into this file
	perf record -F 2000 -e cpu-clock -g -p "$PID" -o "$COUNTS_SWEEP_PERF" >/dev/null 2>&1 &
	PERFREC=$!
fi
while [ "$(date +%s)" -lt $((expires_at - 1)) ]; do sleep 0.05; done
perf stat -x, -e raw_syscalls:sys_enter,syscalls:sys_enter_pwrite64,syscalls:sys_enter_fdatasync -p "$PID" \
	-o "$TMP/sweep-perf.txt" &
PERF=$!
w0=$(wbytes)
while [ "$(date +%s)" -lt $expires_at ]; do sleep 0.05; done
s0=$(bg_ns)
deadline=$(($(date +%s) + 120))
while [ "$(date +%s)" -lt $deadline ]; do
	sleep 0.25
	[ $(($(metric maskd_sessions_expired_total) - e0)) -ge "$SWEEP_N" ] && break
done
sleep 0.3
s1=$(bg_ns)
w1=$(wbytes)
kill -INT $PERF; wait $PERF 2>/dev/null || true
[ -n "$PERFREC" ] && { kill -INT "$PERFREC"; wait "$PERFREC" 2>/dev/null || true; }
swept=$(($(metric maskd_sessions_expired_total) - e0))
[ "$swept" -ge "$SWEEP_N" ] || die "only $swept of $SWEEP_N sessions expired within 120 s"
sys=$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$TMP/sweep-perf.txt")
pw=$(awk -F, '/sys_enter_pwrite64/ { print $1 }' "$TMP/sweep-perf.txt")
fs=$(awk -F, '/sys_enter_fdatasync/ { print $1 }' "$TMP/sweep-perf.txt")
echo "sweep: $swept sessions expired, sweeper CPU $(calc "($s1 - $s0) / 1000000" 0) ms," \
	"$(calc "($s1 - $s0) / 1000000 * 10000 / $swept" 0) ms per 10,000; per session: syscalls $(calc "$sys / $swept" 1)," \
	"pwrite64 $(calc "$pw / $swept" 2), write_bytes $(calc "($w1 - $w0) / $swept / 1024" 2) KB; fdatasync $fs"
