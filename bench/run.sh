#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh - maskd's benchmark harness (bench/README.md, docs/PERFORMANCE.md).
#
#   bench/run.sh            make bench: 10^3 and 10^5 open sessions, about 6 minutes
#   BENCH_LARGE=1 bench/run.sh   make bench-large: also 10^6 (seeding alone takes minutes)
#   bench/run.sh --smoke    seconds: the harness end to end at toy sizes, no nginx, no
#                           timing figures worth reading (what make test runs)
#
# A release build of maskd on SQLite in a temp dir, pinned to the first half of the
# cores; the clients (wrk, bench/loadgen) on the other half; Debian's nginx with a static
# TwiML reply (bench/nginx.conf) as the reference, on maskd's cores, in the same run.
# Prints a summary and writes bench/results/<UTC time>.json and bench/results/latest.json.
# Exit status: 0, or 1 when any answer was wrong or a step failed. No timing assertions.
#
# Knobs (environment): BENCH_DURATION (s per load step, default 10), BENCH_CONNS (client
# connections, 32), BENCH_CREATES (API session creates timed, 10000), BENCH_SIZES (open
# sessions per step, "1000 100000"; the first is created through the API), BENCH_BUILD_DIR
# (default build-bench; an existing configured dir is reused), BENCH_THREADS (maskd's
# MASKD_THREADS), BENCH_PERF=1 (perf profile
# of the voice peak at the largest size, written next to the results), BENCH_KEEP=1 (keep
# the temp dir).
# Every load step is bounded in time and count, targets 127.0.0.1 only, and stops by itself.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SMOKE=0
case "${1:-}" in
--smoke) SMOKE=1 ;;
"") ;;
*) echo "usage: bench/run.sh [--smoke]" >&2; exit 2 ;;
esac

LARGE=${BENCH_LARGE:-0}
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNS:-32}
CREATES=${BENCH_CREATES:-10000}
BUILD=${BENCH_BUILD_DIR:-build-bench}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
POOL=10000
SIZES="1000 100000"
[ "$LARGE" = 1 ] && SIZES="1000 100000 1000000"
SIZES=${BENCH_SIZES:-$SIZES}
SWEEP_N=10000
VERIFY_RATE=200
if [ $SMOKE = 1 ]; then
	DURATION=1; CONNS=4; CREATES=50; POOL=20; SIZES="20 300"; SWEEP_N=100; VERIFY_RATE=50
fi
ADMIN_KEY=bench-admin-key-0123456789
TOKEN=bench-twilio-auth-token-0123456789
PUBLIC_URL=https://bench.example
CLK_TCK=$(getconf CLK_TCK)
FAILED=0

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "FAILED: $*"; FAILED=1; }
die() { log "ERROR: $*"; exit 1; }

# --- cores ----------------------------------------------------------------------
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
	half=$((NCPU / 2))
	SERVER_CPUS="0-$((half - 1))"
	CLIENT_CPUS="$half-$((NCPU - 1))"
	SERVER_CORES=$half
else
	log "only one core: server and client share it (figures are not comparable)"
	SERVER_CPUS=0; CLIENT_CPUS=0; SERVER_CORES=1
fi
# maskd's own default for this machine (config.c): 4 per CPU, at least 8
MASKD_THREADS=${BENCH_THREADS:-$((NCPU > 2 ? 4 * NCPU : 8))}

# --- tools ----------------------------------------------------------------------
need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 not found (make bench installs it: scripts/install-deps bench)"; }
need_cmd taskset
need_cmd cc
HAVE_WRK=0; command -v wrk >/dev/null 2>&1 && HAVE_WRK=1
NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
if [ $SMOKE = 0 ]; then
	[ $HAVE_WRK = 1 ] || die "wrk not found (scripts/install-deps bench)"
	[ -n "$NGINX" ] || die "nginx not found (scripts/install-deps bench)"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/maskd-bench.XXXXXX")
MASKD_PID=""
NGINX_PID=""
cleanup() {
	local rc=$?
	[ -n "$MASKD_PID" ] && kill "$MASKD_PID" 2>/dev/null && wait "$MASKD_PID" 2>/dev/null || true
	[ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
	if [ "${BENCH_KEEP:-0}" = 1 ] || [ $rc -ne 0 ] || [ $FAILED -ne 0 ]; then
		log "temp dir kept: $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build ----------------------------------------------------------------------
log "building maskd (release) in $BUILD"
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" --buildtype=release >"$TMP/meson-setup.log" 2>&1 ||
		{ cat "$TMP/meson-setup.log"; die "meson setup failed"; }
fi
ninja -C "$BUILD" maskd maskd-seed >"$TMP/ninja.log" 2>&1 || { tail -40 "$TMP/ninja.log"; die "build failed"; }
MASKD=$BUILD/maskd
SEED=$BUILD/maskd-seed
LOADGEN=$TMP/loadgen
cc -O2 -std=c11 -Wall -Wextra -Werror -o "$LOADGEN" bench/loadgen.c -lcrypto 2>"$TMP/loadgen-build.log" ||
	{ cat "$TMP/loadgen-build.log"; die "cannot build bench/loadgen.c (needs libssl-dev)"; }

client() { taskset -c "$CLIENT_CPUS" "$@"; }

# loadgen's signatures against the twilio SDK's, when the black-box tests' node_modules
# are installed (loadgen signs on its own, with OpenSSL, on purpose)
if [ -d tests/blackbox/node_modules/twilio ] && command -v node >/dev/null 2>&1; then
	want=$(cd tests/blackbox && node -e '
		const t = require("twilio");
		process.stdout.write(t.getExpectedTwilioSignature("tok", "https://bench.example/hooks/twilio/voice",
			{ CallSid: "CA01", From: "+14152000000", To: "+16503000000", CallerCity: "SAN FRANCISCO" }));')
	got=$("$LOADGEN" sign --token tok --url https://bench.example/hooks/twilio/voice CallSid=CA01 From=+14152000000 \
		To=+16503000000 "CallerCity=SAN FRANCISCO")
	[ "$want" = "$got" ] || die "loadgen signs differently from the twilio SDK ($got, SDK $want)"
	log "loadgen's Twilio signature matches the twilio SDK's"
fi

# --- helpers --------------------------------------------------------------------
# jnum FILE KEY: the first numeric value of "KEY": in a one-line JSON file.
jnum() { grep -o "\"$2\":[-0-9.e]*" "$1" | head -1 | cut -d: -f2; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
# cpu_us PID...: on-CPU time in microseconds of every thread of those processes, from
# /proc/<pid>/task/<tid>/schedstat (nanoseconds, exact; the tick-sampled utime+stime of
# /proc/<pid>/stat is too coarse and, in a VM, not even consistent between threads).
cpu_us() {
	local p f
	for p in "$@"; do for f in /proc/"$p"/task/*/schedstat; do cat "$f" 2>/dev/null; done; done |
		awk '{ s += $1 } END { printf "%d\n", s / 1000 }'
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
tree_cpu_us() { # the process and its direct children (nginx master + workers)
	cpu_us "$1" $(pgrep -P "$1" || true)
}

# core_stat CPULIST: "busy steal total" jiffies summed over those cores (/proc/stat).
cpu_list() { # "0-1" or "0" -> "0 1"
	local a=${1%-*} b=${1#*-}
	seq "$a" "$b"
}
core_stat() {
	local cores; cores=$(cpu_list "$1" | sed 's/^/cpu/' | tr '\n' ' ')
	awk -v cores=" $cores" '
		index(cores, " " $1 " ") { busy += $2 + $3 + $4 + $7 + $8; steal += $9; total += $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }
		END { print busy, steal, total }' /proc/stat
}
# core_json BEFORE AFTER OWN_US: how busy the server cores were over a step, how much
# of that was the server under test, and how much the hypervisor stole: a step where
# "others" is large was disturbed by something else on the machine.
core_json() {
	local b0 s0 t0 b1 s1 t1
	read -r b0 s0 t0 <<<"$1"
	read -r b1 s1 t1 <<<"$2"
	local dt=$((t1 - t0)); [ $dt -le 0 ] && dt=1
	printf '{"busy":%s,"by_server":%s,"others":%s,"steal":%s}' \
		"$(calc "($b1 - $b0) / $dt" 3)" "$(calc "$3 * $CLK_TCK / 1000000 / $dt" 3)" \
		"$(calc "(($b1 - $b0) - $3 * $CLK_TCK / 1000000) / $dt" 3)" "$(calc "($s1 - $s0) / $dt" 3)"
}

# port_is_ours PORT PID: SO_REUSEPORT lets a second daemon share a port silently, so
# check that nothing else listens on it.
port_is_ours() {
	command -v ss >/dev/null 2>&1 || return 0
	local others
	others=$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -v "pid=$2," || true)
	[ -z "$others" ]
}

# maskd_alive STEP: stop with a clear message when maskd is gone (crashed or killed)
maskd_alive() {
	kill -0 "$MASKD_PID" 2>/dev/null && return 0
	local st=0
	wait "$MASKD_PID" 2>/dev/null || st=$?
	MASKD_PID=""
	tail -20 "$TMP/maskd.log" >&2
	die "maskd exited during $1 (wait status $st$([ $st -gt 128 ] && echo ", signal $((st - 128))"); log above: $TMP/maskd.log)"
}

metric() { # metric NAME_WITH_LABELS: its value from /metrics
	"$LOADGEN" http GET /metrics --port "$MASKD_PORT" | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}
webhook_total() { metric "maskd_webhooks_total{dialect=\"twilio\",outcome=\"$1\"}"; }

start_maskd() {
	MASKD_PORT=$("$LOADGEN" freeport)
	MASKD_LISTEN=127.0.0.1:$MASKD_PORT MASKD_DB=$TMP/maskd.db MASKD_KEY_FILE=$TMP/maskd.key \
		MASKD_ADMIN_KEY=$ADMIN_KEY MASKD_PUBLIC_URL=$PUBLIC_URL MASKD_THREADS=$MASKD_THREADS \
		MASKD_SWEEP_INTERVAL=1 MASKD_LOG_LEVEL=warn \
		taskset -c "$SERVER_CPUS" "$MASKD" >"$TMP/maskd.log" 2>&1 &
	MASKD_PID=$!
	local i
	for i in $(seq 1 100); do
		if "$LOADGEN" http GET /healthz --port "$MASKD_PORT" >/dev/null 2>&1; then
			port_is_ours "$MASKD_PORT" "$MASKD_PID" || die "another process also listens on port $MASKD_PORT"
			return 0
		fi
		kill -0 "$MASKD_PID" 2>/dev/null || { cat "$TMP/maskd.log"; die "maskd exited at start"; }
		sleep 0.1
	done
	die "maskd did not answer /healthz within 10 s"
}

start_nginx() {
	NGINX_PORT=$("$LOADGEN" freeport)
	local user_line=""
	[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"
	mkdir -p "$TMP/nginx"
	sed -e "s|@PREFIX@|$TMP/nginx|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@WORKERS@|$SERVER_CORES|g" \
		-e "s|@USER@|$user_line|g" bench/nginx.conf >"$TMP/nginx/nginx.conf"
	taskset -c "$SERVER_CPUS" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" \
		>"$TMP/nginx/stdout.log" 2>&1 &
	NGINX_PID=$!
	local i
	for i in $(seq 1 100); do
		if "$LOADGEN" http GET / --port "$NGINX_PORT" >/dev/null 2>&1; then
			port_is_ours "$NGINX_PORT" "$NGINX_PID" || die "another process also listens on port $NGINX_PORT"
			return 0
		fi
		kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx/error.log" "$TMP/nginx/stdout.log"; die "nginx exited at start"; }
		sleep 0.1
	done
	die "nginx did not answer within 10 s"
}

stop_nginx() {
	[ -n "$NGINX_PID" ] || return 0
	kill "$NGINX_PID" 2>/dev/null || true
	wait "$NGINX_PID" 2>/dev/null || true
	NGINX_PID=""
}

# wrk_run LABEL PORT REQFILE SERVER_PID OUT_JSON [verify-kind]
# Peak throughput with wrk (closed loop, CONNS connections, one thread per client core),
# the server's CPU from /proc over the run, the client's CPU (to show when the client,
# not the server, was the limit), and, for maskd, an exact check of a paced sample of
# answers sent alongside by loadgen.
wrk_run() {
	local label=$1 port=$2 reqs=$3 spid=$4 out=$5 vkind=${6:-}
	local wthreads=$((NCPU - SERVER_CORES)); [ $wthreads -lt 1 ] && wthreads=1
	local c0 c1 t0 t1 vpid="" cu0 cu1
	c0=$(tree_cpu_us "$spid")
	local k0 k1; k0=$(core_stat "$SERVER_CPUS")
	if [ -n "$vkind" ]; then
		client "$LOADGEN" rate --port "$port" --sessions "$TMP/sessions.tsv" --token "$TOKEN" --public-url "$PUBLIC_URL" \
			--kind "$vkind" --rate "$VERIFY_RATE" --duration "$DURATION" --conns 2 >"$out.verify" 2>"$out.verify.err" &
		vpid=$!
	fi
	cu0=$(awk '{ print $1 }' /proc/uptime)
	BENCH_REQUESTS=$reqs BENCH_WRK_THREADS=$wthreads BENCH_WRK_JSON=$out.wrk \
		taskset -c "$CLIENT_CPUS" wrk -t"$wthreads" -c"$CONNS" -d"${DURATION}s" --timeout 10s -s bench/webhooks.lua \
		"http://127.0.0.1:$port/" >"$out.wrk.txt" 2>&1 &
	local wpid=$!
	local wcpu=0 w
	# client CPU: wrk's own, read just before it exits
	while kill -0 $wpid 2>/dev/null; do
		w=$(cpu_us $wpid 2>/dev/null || true)
		[ -n "$w" ] && [ "$w" -gt 0 ] && wcpu=$w
		sleep 0.2
	done
	wait $wpid || { cat "$out.wrk.txt"; fail "$label: wrk failed"; return 1; }
	[ "$spid" = "$MASKD_PID" ] && maskd_alive "$label"
	c1=$(tree_cpu_us "$spid")
	k1=$(core_stat "$SERVER_CPUS")
	cu1=$(awk '{ print $1 }' /proc/uptime)
	local vok=0 vwrong=0 vans=0
	if [ -n "$vpid" ]; then
		wait $vpid || true
		vok=$(jnum "$out.verify" verified_ok); vwrong=$(jnum "$out.verify" wrong); vans=$(jnum "$out.verify" answered)
		local vfailed; vfailed=$(jnum "$out.verify" failed)
		[ "${vwrong:-1}" = 0 ] || { cat "$out.verify.err" >&2; fail "$label: $vwrong wrong answers under load"; }
		[ "${vfailed:-1}" = 0 ] || { cat "$out.verify.err" >&2; fail "$label: $vfailed verifier requests failed"; }
	fi
	local req dur_us e_status e_other
	req=$(jnum "$out.wrk" requests); dur_us=$(jnum "$out.wrk" duration_us)
	e_status=$(jnum "$out.wrk" status)
	e_other=$(($(jnum "$out.wrk" connect) + $(jnum "$out.wrk" read) + $(jnum "$out.wrk" write) + $(jnum "$out.wrk" timeout)))
	[ "$e_status" = 0 ] || fail "$label: $e_status non-2xx answers"
	[ "$e_other" = 0 ] || log "$label: $e_other socket errors (connect/read/write/timeout)"
	local total=$((req + vans))
	local rps cpu_us client_util
	rps=$(calc "$req * 1000000 / $dur_us" 0)
	cpu_us=$(calc "($c1 - $c0) / ($total > 0 ? $total : 1)" 1)
	client_util=$(calc "$wcpu / 1000000 / ($cu1 - $cu0) / $wthreads" 2)
	printf '{"requests":%s,"seconds":%s,"requests_per_s":%s,"server_cpu_us_per_request":%s,"client_cpu_utilisation":%s,"server_cores":%s,"non_2xx":%s,"socket_errors":%s,"latency_closed_loop_us":{"p50":%s,"p99":%s,"p99_9":%s},"verified_sample":{"answered":%s,"ok":%s,"wrong":%s}}' \
		"$req" "$(calc "$dur_us / 1000000" 2)" "$rps" "$cpu_us" "$client_util" "$(core_json "$k0" "$k1" $((c1 - c0)))" "$e_status" "$e_other" \
		"$(jnum "$out.wrk" p50)" "$(jnum "$out.wrk" p99)" "$(jnum "$out.wrk" p99_9)" "${vans:-0}" "${vok:-0}" "${vwrong:-0}" >"$out"
	log "$label: $rps req/s, $cpu_us us server CPU/request, server cores $(core_json "$k0" "$k1" $((c1 - c0))), client busy $client_util, sample verified $vok/$vans"
}

# paced_run LABEL RATE OUT_JSON: open-loop fixed-rate voice load with loadgen; every
# answer is checked. Latency counts from when each request was due.
paced_run() {
	local label=$1 rate=$2 out=$3 c0 c1 k0 k1
	c0=$(cpu_us "$MASKD_PID"); k0=$(core_stat "$SERVER_CPUS")
	client "$LOADGEN" rate --port "$MASKD_PORT" --sessions "$TMP/sessions.tsv" --token "$TOKEN" --public-url "$PUBLIC_URL" \
		--kind voice --rate "$rate" --duration "$DURATION" --conns "$CONNS" >"$out.raw" 2>"$out.err" ||
		{ maskd_alive "$label"; cat "$out.err" >&2; fail "$label: wrong or failed answers"; }
	c1=$(cpu_us "$MASKD_PID"); k1=$(core_stat "$SERVER_CPUS")
	local ans; ans=$(jnum "$out.raw" answered)
	local per; per=$(calc "($c1 - $c0) / (${ans:-0} > 0 ? ${ans:-0} : 1)" 1)
	sed -e 's/}$//' "$out.raw" | tr -d '\n' >"$out"
	printf ',"server_cpu_us_per_request":%s,"server_cores":%s}' "$per" "$(core_json "$k0" "$k1" $((c1 - c0)))" >>"$out"
	log "$label: target $rate/s achieved $(jnum "$out.raw" achieved_rate)/s p50 $(jnum "$out.raw" p50) us p99 $(jnum "$out.raw" p99) us p99.9 $(jnum "$out.raw" p99_9) us, verified $(jnum "$out.raw" verified_ok)/$ans"
}

# gen_requests KIND COUNT FILE: pre-signed webhooks over all open sessions.
gen_requests() {
	client "$LOADGEN" gen --sessions "$TMP/sessions.tsv" --token "$TOKEN" --public-url "$PUBLIC_URL" \
		--kind "$1" --count "$2" --out "$3" >/dev/null
}

# --- run ------------------------------------------------------------------------
STAMP=$(date -u +%Y-%m-%dT%H-%M-%SZ)
R=$TMP/results
mkdir -p "$R"
start_maskd
log "maskd pid $MASKD_PID on 127.0.0.1:$MASKD_PORT, cores $SERVER_CPUS ($MASKD_THREADS threads); clients on cores $CLIENT_CPUS"
RSS_EMPTY=$(rss_kib "$MASKD_PID")

SVC=$("$LOADGEN" http POST /v1/services --port "$MASKD_PORT" --key "$ADMIN_KEY" \
	--body "{\"name\":\"bench\",\"carriers\":{\"twilio\":{\"auth_token\":\"$TOKEN\"}}}" | grep -o '"id":"svc_[^"]*"' | cut -d'"' -f4)
[ -n "$SVC" ] || die "cannot create the service"

log "pool: $POOL numbers through the API"
client "$LOADGEN" numbers --port "$MASKD_PORT" --key "$ADMIN_KEY" --service "$SVC" --first 0 --count "$POOL" --conns 8 \
	>"$R/pool.json" 2>"$R/pool.err" || { cat "$R/pool.err"; die "adding the pool failed"; }
log "pool: $(jnum "$R/pool.json" per_second) numbers/s"

: >"$TMP/sessions.tsv"
OPEN=0        # open sessions so far
NEXT_INDEX=0  # next participant-pair index (real numbers 2i, 2i+1)
SIZE_JSON=""
CREATE_JSON=""
NGINX_RPS=""
PEAK_EST=25000
RSS_FIRST=""; OPEN_FIRST=""

# open_to N: first through the API (the first size, and the timed creates), then maskd-seed.
open_to() {
	local want=$1 n
	[ $OPEN -ge "$want" ] && return 0
	n=$((want - OPEN))
	if [ $OPEN -eq 0 ]; then
		log "opening $n sessions through the API"
		client "$LOADGEN" sessions --port "$MASKD_PORT" --key "$ADMIN_KEY" --service "$SVC" --first $NEXT_INDEX \
			--count $n --conns 8 --out "$TMP/sessions.tsv" >"$R/open-api.json" 2>"$R/open-api.err" ||
			{ cat "$R/open-api.err"; die "opening sessions failed"; }
	else
		log "seeding $n sessions with maskd-seed (sessions_create_bound, named proxy numbers)"
		"$SEED" --db "$TMP/maskd.db" --key-file "$TMP/maskd.key" --service "$SVC" --first $NEXT_INDEX --count $n \
			--out "$TMP/sessions.tsv" >"$R/seed-$want.json" 2>"$R/seed-$want.err" ||
			{ cat "$R/seed-$want.err"; die "seeding failed"; }
		log "seeded at $(jnum "$R/seed-$want.json" per_second) sessions/s (WAL checkpoint: $(grep -o '"wal_checkpoint":"[a-z]*"' "$R/seed-$want.json" | cut -d'"' -f4))"
	fi
	OPEN=$want
	NEXT_INDEX=$((NEXT_INDEX + n))
}

timed_creates() {
	log "session creation: $CREATES creates through the API (pool of $POOL, 8 connections)"
	local c0 c1
	c0=$(cpu_us "$MASKD_PID")
	client "$LOADGEN" sessions --port "$MASKD_PORT" --key "$ADMIN_KEY" --service "$SVC" --first $NEXT_INDEX \
		--count "$CREATES" --conns 8 --out "$TMP/sessions.tsv" >"$R/creates.json" 2>"$R/creates.err" ||
		{ maskd_alive "the timed creates"; cat "$R/creates.err" >&2; fail "session creates failed"; }
	c1=$(cpu_us "$MASKD_PID")
	OPEN=$((OPEN + CREATES))
	NEXT_INDEX=$((NEXT_INDEX + CREATES))
	local per; per=$(calc "($c1 - $c0) / $CREATES" 1)
	sed -e 's/}$//' "$R/creates.json" | tr -d '\n' >"$R/creates.full.json"
	printf ',"pool":%s,"open_sessions_before":%s,"server_cpu_us_per_create":%s}' "$POOL" "$((OPEN - CREATES))" "$per" >>"$R/creates.full.json"
	CREATE_JSON=$(cat "$R/creates.full.json")
	log "session creation: $(jnum "$R/creates.json" per_second)/s, p99 $(jnum "$R/creates.json" p99) us, $per us server CPU each"
}

first=1
for N in $SIZES; do
	# the timed creates run between the first and the second size
	if [ $first = 0 ] && [ -z "$CREATE_JSON" ]; then timed_creates; fi
	open_to "$N"
	[ $OPEN -gt "$N" ] && log "($OPEN open sessions: the timed creates added to $N)"
	log "=== $OPEN open sessions"
	D=$R/size-$N
	mkdir -p "$D"
	if [ $first = 1 ] && [ $SMOKE = 0 ]; then
		# a 3 s probe sizes the first request file (and warms maskd up)
		gen_requests voice 30000 "$TMP/probe.txt"
		BENCH_REQUESTS=$TMP/probe.txt BENCH_WRK_THREADS=1 BENCH_WRK_JSON=$R/probe.json \
			taskset -c "$CLIENT_CPUS" wrk -t1 -c"$CONNS" -d3s -s bench/webhooks.lua "http://127.0.0.1:$MASKD_PORT/" >/dev/null 2>&1 ||
			die "wrk probe failed"
		PEAK_EST=$(calc "$(jnum "$R/probe.json" requests) / 3" 0)
		[ "$PEAK_EST" -ge 1000 ] || PEAK_EST=1000
		log "probe: about $PEAK_EST webhooks/s"
	fi
	gen_count=$((PEAK_EST * DURATION * 3 / 2))
	[ $SMOKE = 1 ] && gen_count=2000
	gen_requests voice "$gen_count" "$TMP/voice.txt"
	if [ $SMOKE = 0 ]; then
		start_nginx
		wrk_run "nginx static reply" "$NGINX_PORT" "$TMP/voice.txt" "$NGINX_PID" "$D/nginx.json"
		stop_nginx
		NGINX_RPS=$(jnum "$D/nginx.json" requests_per_s)
	fi
	if [ $HAVE_WRK = 1 ]; then
		r0=$(webhook_total retried)
		wrk_run "maskd voice peak" "$MASKD_PORT" "$TMP/voice.txt" "$MASKD_PID" "$D/voice.json" voice
		r1=$(webhook_total retried)
		PEAK=$(jnum "$D/voice.json" requests_per_s)
		[ "$PEAK" -gt 0 ] && PEAK_EST=$PEAK
		gen_requests sms "$gen_count" "$TMP/sms.txt"
		r2=$(webhook_total retried)
		wrk_run "maskd sms peak" "$MASKD_PORT" "$TMP/sms.txt" "$MASKD_PID" "$D/sms.json" sms
		r3=$(webhook_total retried)
	else
		log "wrk not installed: peak runs skipped (smoke)"
		echo '{"requests_per_s":0}' >"$D/voice.json"; echo '{"requests_per_s":0}' >"$D/sms.json"
		PEAK=400; r0=0; r1=0; r2=0; r3=0
	fi
	paced_run "voice at 50% of peak" "$(calc "$PEAK * 0.5" 0)" "$D/paced50.json"
	paced_run "voice at 80% of peak" "$(calc "$PEAK * 0.8" 0)" "$D/paced80.json"
	rss=$(rss_kib "$MASKD_PID")
	db_bytes=$(stat -c %s "$TMP/maskd.db" 2>/dev/null || echo 0)
	wal_bytes=$(stat -c %s "$TMP/maskd.db-wal" 2>/dev/null || echo 0)
	[ "$wal_bytes" -gt $((512 * 1024 * 1024)) ] && log "note: the WAL is $((wal_bytes / 1048576)) MiB: checkpoints are not keeping up"
	if [ -z "$RSS_FIRST" ]; then RSS_FIRST=$rss; OPEN_FIRST=$OPEN; fi
	ratio=null
	[ -n "$NGINX_RPS" ] && [ "$NGINX_RPS" != 0 ] && ratio=$(calc "$PEAK / $NGINX_RPS" 3)
	[ -n "$SIZE_JSON" ] && SIZE_JSON+=","
	SIZE_JSON+=$(printf '{"open_sessions":%s,"nginx":%s,"voice_peak":%s,"voice_peak_retried":%s,"sms_peak":%s,"sms_peak_retried":%s,"voice_at_50pct":%s,"voice_at_80pct":%s,"ratio_to_nginx":%s,"rss_kib":%s,"db_bytes":%s,"wal_bytes":%s}' \
		"$OPEN" "$(cat "$D/nginx.json" 2>/dev/null || echo null)" "$(cat "$D/voice.json")" "$((r1 - r0))" "$(cat "$D/sms.json")" "$((r3 - r2))" \
		"$(cat "$D/paced50.json")" "$(cat "$D/paced80.json")" "$ratio" "$rss" "$db_bytes" "$wal_bytes")
	LAST_OPEN=$OPEN; LAST_RSS=$rss
	first=0
done
[ -z "$CREATE_JSON" ] && timed_creates

# --- expiry sweep ---------------------------------------------------------------
# SWEEP_N sessions that all expire at the same second (expires_at, seeded with
# maskd-seed), then the sweeper (MASKD_SWEEP_INTERVAL=1) closes them. Figures:
#   sweeper CPU  on-CPU time of maskd's background threads (every thread but the main
#                one and libmicrohttpd's "MHD-*" workers: the sweeper, and any sender
#                that has nothing to do here), from /proc/<pid>/task/<tid>/schedstat
#   busy wall    from the first to the last 20 ms poll in which that CPU time moved
#   latency      from expires_at to the first /metrics poll (every ~0.25 s) showing
#                maskd_sessions_expired_total up by SWEEP_N (includes the wait for the
#                next sweep, at most the 1 s interval)
log "expiry sweep: $SWEEP_N sessions expiring together"
bg_ns() {
	local t sum=0 v
	for t in /proc/"$MASKD_PID"/task/*; do
		[ "${t##*/}" = "$MASKD_PID" ] && continue
		case "$(cat "$t/comm" 2>/dev/null)" in MHD-*) continue ;; esac
		v=$(awk '{ print $1 }' "$t/schedstat" 2>/dev/null || echo 0)
		sum=$((sum + v))
	done
	echo $sum
}
# due far enough ahead that seeding (at the rate seen last) is over before it
seed_rate=$(jnum "$(ls -t "$R"/seed-*.json 2>/dev/null | head -1)" per_second 2>/dev/null || true)
[ -n "$seed_rate" ] || seed_rate=500
expires_at=$(($(date +%s) + 5 + $(calc "$SWEEP_N * 2 / $seed_rate" 0)))
: >"$TMP/sweep-sessions.tsv"
"$SEED" --db "$TMP/maskd.db" --key-file "$TMP/maskd.key" --service "$SVC" --first $NEXT_INDEX --count $SWEEP_N \
	--expires-at $expires_at --out "$TMP/sweep-sessions.tsv" >"$R/sweep-seed.json" 2>"$R/sweep-seed.err" ||
	{ cat "$R/sweep-seed.err"; die "seeding the sweep sessions failed"; }
NEXT_INDEX=$((NEXT_INDEX + SWEEP_N))
[ "$(date +%s)" -lt $expires_at ] || log "warning: seeding ran past expires_at; part of the sweep may have started early"
e0=$(metric maskd_sessions_expired_total)
while [ "$(date +%s)" -lt $expires_at ]; do sleep 0.02; done
s0=$(bg_ns); p0=$(cpu_us "$MASKD_PID")
t_due=$(date +%s.%N)
t_first=""; t_last=""; t_done=""; prev=$s0; k=0; swept=0
sweep_deadline=$(($(date +%s) + 120))
while [ "$(date +%s)" -lt $sweep_deadline ]; do
	sleep 0.02
	cur=$(bg_ns); now=$(date +%s.%N); k=$((k + 1))
	if [ "$cur" != "$prev" ]; then
		[ -z "$t_first" ] && t_first=$now
		t_last=$now; prev=$cur
	fi
	if [ $((k % 8)) = 0 ]; then
		swept=$(($(metric maskd_sessions_expired_total) - e0))
		[ $swept -ge $SWEEP_N ] && { t_done=$now; break; }
	fi
done
sleep 0.3 # let the last batch's CPU time settle
s1=$(bg_ns); p1=$(cpu_us "$MASKD_PID")
swept=$(($(metric maskd_sessions_expired_total) - e0))
[ $swept -ge $SWEEP_N ] || fail "expiry sweep: only $swept of $SWEEP_N sessions expired within 120 s"
sweep_cpu_ms=$(calc "($s1 - $s0) / 1000000" 1)
sweep_busy_ms=$(calc "(${t_last:-0} - ${t_first:-0}) * 1000" 0)
sweep_latency_ms=null
[ -n "$t_done" ] && sweep_latency_ms=$(calc "($t_done - $t_due) * 1000" 0)
per10k_cpu=$(calc "$sweep_cpu_ms * 10000 / ($swept > 0 ? $swept : 1)" 0)
per10k_busy=$(calc "$sweep_busy_ms * 10000 / ($swept > 0 ? $swept : 1)" 0)
SWEEP_JSON=$(printf '{"sessions":%s,"expired":%s,"open_sessions_besides":%s,"sweeper_cpu_ms":%s,"process_cpu_ms":%s,"busy_wall_ms":%s,"due_to_all_closed_ms":%s,"sweeper_cpu_ms_per_10000":%s,"busy_wall_ms_per_10000":%s}' \
	"$SWEEP_N" "$swept" "$OPEN" "$sweep_cpu_ms" "$(calc "($p1 - $p0) / 1000" 0)" "$sweep_busy_ms" "$sweep_latency_ms" "$per10k_cpu" "$per10k_busy")
log "expiry sweep: $swept sessions closed, all of them ${sweep_latency_ms} ms after they fell due; sweeper busy ${sweep_busy_ms} ms wall, ${sweep_cpu_ms} ms CPU"

# --- optional profile -----------------------------------------------------------
if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1 && [ $HAVE_WRK = 1 ]; then
	log "perf profile of the voice peak ($OPEN open sessions)"
	gen_requests voice "$((PEAK_EST * DURATION * 13 / 10))" "$TMP/voice.txt"
	perf record -F 999 -e cpu-clock -g -p "$MASKD_PID" -o "$TMP/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
	ppid=$!
	wrk_run "maskd voice peak (profiled)" "$MASKD_PORT" "$TMP/voice.txt" "$MASKD_PID" "$R/profiled.json" || true
	wait $ppid || true
	perf report -i "$TMP/perf.data" --no-children --sort dso,sym -g none 2>/dev/null | grep '%' | head -60 \
		>"bench/results/$STAMP.perf.txt" || true
	log "profile: bench/results/$STAMP.perf.txt"
fi

# --- PostgreSQL column ------------------------------------------------------------
# The same webhooks and creates with MASKD_DB on a throwaway PostgreSQL 15
# (scripts/pg-test-server, fsync=off: this compares store work, not disks), first one
# node, then three nodes on the one database. Every node is pinned to the server cores,
# so three nodes share the same CPU as one: the figures show what the shared database
# costs, not a scale-out. Skipped in smoke mode and where PostgreSQL is not installed.
PG_JSON=null
if [ $SMOKE = 0 ] && [ $HAVE_WRK = 1 ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; then
	log "=== PostgreSQL: one node, then three"
	PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/maskd-bench-pg.XXXXXX") # its own: the postgres user must reach it
	if PG_URL=$(scripts/pg-test-server start "$PGDIR" 2>"$TMP/pg.err"); then
		PG_NODES=""; PG_PORTS=()
		pg_node() { # starts one maskd on PostgreSQL; appends its port to PG_PORTS
			local port; port=$("$LOADGEN" freeport)
			MASKD_LISTEN=127.0.0.1:$port MASKD_DB=$PG_URL MASKD_KEY_FILE=$TMP/pg-maskd.key \
				MASKD_ADMIN_KEY=$ADMIN_KEY MASKD_PUBLIC_URL=$PUBLIC_URL MASKD_THREADS=$MASKD_THREADS \
				MASKD_SWEEP_INTERVAL=1 MASKD_LOG_LEVEL=warn \
				taskset -c "$SERVER_CPUS" "$MASKD" >"$TMP/pg-maskd-$port.log" 2>&1 &
			PG_NODES="$PG_NODES $!"
			local i
			for i in $(seq 1 100); do
				"$LOADGEN" http GET /healthz --port "$port" >/dev/null 2>&1 && { PG_PORTS+=("$port"); return 0; }
				sleep 0.1
			done
			die "maskd on PostgreSQL did not start ($TMP/pg-maskd-$port.log)"
		}
		# pg_wrk PORT... : parallel closed-loop voice peaks, one wrk per node; prints the summed rate
		pg_wrk() {
			local n=$# i=0 port pids=() conns=$(( (CONNS + $# - 1) / $# ))
			for port in "$@"; do
				"$LOADGEN" gen --sessions "$TMP/pg-sessions.tsv" --token "$TOKEN" --public-url "$PUBLIC_URL" \
					--kind voice --count $((PG_PEAK_EST * DURATION * 3 / 2 / n + 1000)) --out "$TMP/pg-voice-$port.txt" >/dev/null
			done
			for port in "$@"; do
				BENCH_REQUESTS=$TMP/pg-voice-$port.txt BENCH_WRK_THREADS=1 BENCH_WRK_JSON=$TMP/pg-wrk-$port.json \
					taskset -c "$CLIENT_CPUS" wrk -t1 -c"$conns" -d"${DURATION}s" --timeout 10s -s bench/webhooks.lua \
					"http://127.0.0.1:$port/" >"$TMP/pg-wrk-$port.txt" 2>&1 &
				pids+=($!)
			done
			for i in "${pids[@]}"; do wait "$i" || fail "PostgreSQL: wrk failed"; done
			local total=0 r
			for port in "$@"; do
				r=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/pg-wrk-$port.txt")
				grep -q 'Non-2xx' "$TMP/pg-wrk-$port.txt" && fail "PostgreSQL: non-2xx answers on node $port"
				total=$(calc "$total + ${r:-0}" 1)
			done
			echo "$total"
		}
		# pg_creates COUNT PORT... : session creates split across the nodes; prints creates/s
		pg_creates() {
			local count=$1; shift
			local per=$((count / $#)) port pids=() t0 t1 k=0
			t0=$(date +%s.%N)
			for port in "$@"; do
				"$LOADGEN" sessions --port "$port" --key "$ADMIN_KEY" --service "$PG_SVC" --first $((PG_NEXT + k * per)) \
					--count $per --conns 8 --out "$TMP/pg-creates-$port.tsv" >"$TMP/pg-creates-$port.json" 2>&1 &
				pids+=($!); k=$((k + 1))
			done
			for port in "${pids[@]}"; do wait "$port" || fail "PostgreSQL: creates failed"; done
			t1=$(date +%s.%N)
			PG_NEXT=$((PG_NEXT + k * per))
			calc "$per * $# / ($t1 - $t0)" 1
		}
		pg_node
		PG_SVC=$("$LOADGEN" http POST /v1/services --port "${PG_PORTS[0]}" --key "$ADMIN_KEY" \
			--body "{\"name\":\"bench-pg\",\"carriers\":{\"twilio\":{\"auth_token\":\"$TOKEN\"}}}" | grep -o '"id":"svc_[^"]*"' | cut -d'"' -f4)
		[ -n "$PG_SVC" ] || die "PostgreSQL: cannot create the service"
		client "$LOADGEN" numbers --port "${PG_PORTS[0]}" --key "$ADMIN_KEY" --service "$PG_SVC" --first 0 --count 2000 \
			--conns 8 >"$R/pg-pool.json" 2>"$R/pg-pool.err" || die "PostgreSQL: adding the pool failed"
		client "$LOADGEN" sessions --port "${PG_PORTS[0]}" --key "$ADMIN_KEY" --service "$PG_SVC" --first 0 --count 1000 \
			--conns 8 --out "$TMP/pg-sessions.tsv" >"$R/pg-open.json" 2>"$R/pg-open.err" || die "PostgreSQL: opening sessions failed"
		PG_NEXT=1000
		PG_PEAK_EST=3000
		pg1_voice=$(pg_wrk "${PG_PORTS[0]}")
		log "PostgreSQL, 1 node: voice $pg1_voice/s"
		pg1_creates=$(pg_creates 2000 "${PG_PORTS[0]}")
		log "PostgreSQL, 1 node: $pg1_creates creates/s"
		pg_node; pg_node
		pg3_voice=$(pg_wrk "${PG_PORTS[@]}")
		log "PostgreSQL, 3 nodes: voice $pg3_voice/s (summed over the nodes)"
		pg3_creates=$(pg_creates 3000 "${PG_PORTS[@]}")
		log "PostgreSQL, 3 nodes: $pg3_creates creates/s"
		PG_JSON=$(printf '{"database":"PostgreSQL 15 (scripts/pg-test-server, fsync=off)","open_sessions":1000,"pool":2000,"one_node":{"voice_per_s":%s,"creates_per_s":%s},"three_nodes":{"voice_per_s":%s,"creates_per_s":%s,"note":"all nodes pinned to the server cores"}}' \
			"$pg1_voice" "$pg1_creates" "$pg3_voice" "$pg3_creates")
		for p in $PG_NODES; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
		scripts/pg-test-server stop "$PGDIR" >/dev/null 2>&1 || true
	else
		log "PostgreSQL column skipped: the test server did not start ($(head -1 "$TMP/pg.err"))"
	fi
	rm -rf "$PGDIR"
fi

# --- results --------------------------------------------------------------------
RSS_PER_SESSION=null
if [ "$LAST_OPEN" -gt "$OPEN_FIRST" ]; then
	RSS_PER_SESSION=$(calc "($LAST_RSS - $RSS_FIRST) * 1024 / ($LAST_OPEN - $OPEN_FIRST)" 1)
fi
SYNC_MODE="WAL, synchronous=NORMAL (maskd's default; src/store/sqlite/conn.c)"
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo true || echo false)
JSON=$(printf '{"when":"%s","smoke":%s,"git":"%s","git_dirty":%s,"machine":{"nproc":%s,"cpu_model":"%s","kernel":"%s"},"setup":{"server_cpus":"%s","client_cpus":"%s","maskd_threads":%s,"nginx_workers":%s,"connections":%s,"step_seconds":%s,"sqlite":"%s","log_level":"warn","pool":%s},"pool_adds":%s,"sizes":[%s],"session_creation":%s,"rss":{"empty_kib":%s,"per_open_session_bytes":%s},"expiry_sweep":%s,"postgresql":%s,"failed":%s}' \
	"$STAMP" "$([ $SMOKE = 1 ] && echo true || echo false)" "$GIT_REV" "$GIT_DIRTY" "$NCPU" "$CPU_MODEL" "$(uname -r)" \
	"$SERVER_CPUS" "$CLIENT_CPUS" "$MASKD_THREADS" "$SERVER_CORES" "$CONNS" "$DURATION" "$SYNC_MODE" "$POOL" \
	"$(cat "$R/pool.json")" "$SIZE_JSON" "$CREATE_JSON" "$RSS_EMPTY" "$RSS_PER_SESSION" "$SWEEP_JSON" "$PG_JSON" \
	"$([ $FAILED = 0 ] && echo false || echo true)")

if [ $SMOKE = 1 ]; then
	OUT=$TMP/smoke.json
	if command -v node >/dev/null 2>&1; then
		printf '%s' "$JSON" | node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))' || fail "results are not valid JSON"
	fi
else
	OUT=bench/results/$STAMP.json
	mkdir -p bench/results
	if command -v node >/dev/null 2>&1; then
		printf '%s' "$JSON" | node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(JSON.stringify(j, null, 2) + "\n")' >"$OUT" ||
			{ printf '%s\n' "$JSON" >"$OUT"; fail "results are not valid JSON"; }
	else
		printf '%s\n' "$JSON" >"$OUT"
	fi
	cp "$OUT" bench/results/latest.json
fi

# --- summary --------------------------------------------------------------------
echo
echo "maskd benchmark  $STAMP  ($NCPU cores, $CPU_MODEL; maskd on cores $SERVER_CPUS, clients on $CLIENT_CPUS)"
echo "SQLite: $SYNC_MODE"
printf '%-10s %10s %10s %8s %10s %10s %12s %12s %12s\n' "open" "nginx/s" "voice/s" "ratio" "us CPU/req" "sms/s" "p99@50%(us)" "p99@80%(us)" "p99.9@80%"
for N in $SIZES; do
	D=$R/size-$N
	printf '%-10s %10s %10s %8s %10s %10s %12s %12s %12s\n' "$N" "$(jnum "$D/nginx.json" requests_per_s 2>/dev/null || echo -)" \
		"$(jnum "$D/voice.json" requests_per_s)" \
		"$( [ -f "$D/nginx.json" ] && calc "$(jnum "$D/voice.json" requests_per_s) / $(jnum "$D/nginx.json" requests_per_s)" 3 || echo -)" \
		"$(jnum "$D/voice.json" server_cpu_us_per_request)" "$(jnum "$D/sms.json" requests_per_s)" \
		"$(jnum "$D/paced50.json" p99)" "$(jnum "$D/paced80.json" p99)" "$(jnum "$D/paced80.json" p99_9)"
done
echo "session creates: $(jnum "$R/creates.json" per_second)/s through the API (pool $POOL); RSS per open session: $RSS_PER_SESSION bytes"
echo "expiry sweep: $per10k_cpu ms sweeper CPU, $per10k_busy ms busy wall per 10,000 sessions (all $SWEEP_N closed $sweep_latency_ms ms after due)"
[ "$PG_JSON" != null ] && echo "PostgreSQL (1000 open sessions): 1 node voice $pg1_voice/s, $pg1_creates creates/s; 3 nodes voice $pg3_voice/s, $pg3_creates creates/s"
echo "results: $OUT"
[ $FAILED = 0 ] || { echo "FAILED: see the messages above"; exit 1; }
