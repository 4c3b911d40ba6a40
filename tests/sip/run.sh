#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/sip/run.sh - the SIP trunk mode end to end on loopback: a real maskd, a real
# Kamailio 5.6 running contrib/kamailio/kamailio.cfg (foreground, its own runtime dir)
# and sipp scenarios (tests/sip/scenarios) as caller, callee, media server and
# emergency trunk. Every case of docs/SIP.md "Tests": a masked call (headers and SDP
# of the callee's INVITE checked, durations recorded), unknown caller, closed
# session, cool-off (rejected, then announced), retransmission + CANCEL, ring timeout, time limit
# (both BYEs masked, legs completed), a URI that
# is not a number, emergency, bad queries (403 / 400, nothing written; a query
# stamped outside the replay window: 403; the same signed in the query string, and
# both forms at once), maskd down (503), and a bounded load step (Kamailio keeps its
# connections to maskd). Runs on SQLite, then on PostgreSQL: the server of
# MASKD_TEST_PG_URL when set, else one of its own (scripts/pg-test-server).
# Env: MASKD_BIN (default build-test/maskd), SIP_LOAD_RATE (calls/s, default 200),
# SIP_LOAD_CALLS (default 2000), SIP_LOAD_RATE_PG / SIP_LOAD_CALLS_PG (100, 1000),
# MASKD_TEST_TIMEOUT_SCALE (slower builds), SIP_ONLY (sqlite or postgresql: that backend alone).
# Last line: "N passed, N failed". Free ports, temp dirs, everything stopped at exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=${MASKD_BIN:-build-test/maskd}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
cfg=$root/contrib/kamailio/kamailio.cfg
scn=$root/tests/sip/scenarios
scale=${MASKD_TEST_TIMEOUT_SCALE:-1}
load_rate=${SIP_LOAD_RATE:-200}
load_calls=${SIP_LOAD_CALLS:-2000}
# PostgreSQL answers a route query in a few ms on this shared 2-vCPU machine, not ~1 ms:
# its step is smaller (docs/PERFORMANCE.md, "SIP trunk mode")
pg_load_rate=${SIP_LOAD_RATE_PG:-100}
pg_load_calls=${SIP_LOAD_CALLS_PG:-1000}
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$passed passed, $failed failed"; exit $((failed > 0)); }

for tool in kamailio sipp curl jq python3 ss; do
  command -v "$tool" >/dev/null 2>&1 || { bad "$tool is not installed (scripts/install-deps test)"; finish; }
done
[ -x "$bin" ] || { bad "no maskd binary at $bin"; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/maskd-sip.XXXXXX")
pids=()
pg_dir=''
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "$pg_dir" ] && "$root/scripts/pg-test-server" stop "$pg_dir" >/dev/null 2>&1 && rm -rf "$pg_dir"
  rm -rf "$tmp"
}
trap cleanup EXIT

# A loopback port free for both UDP and TCP.
free_port() {
  python3 - <<'EOF'
import socket
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", port))
    except OSError:
        continue
    print(port)
    break
EOF
}

secret=sip-test-secret-$(python3 -c 'import secrets; print(secrets.token_hex(12))')
admin=sip-test-admin-key-0123456789abcdef
# base64url(HMAC-SHA256(secret, "<ts>.<body>")) without padding, as Kamailio's crypto module writes it
sign() { # secret body ts
  python3 -c 'import base64,hashlib,hmac,sys
msg = (sys.argv[3] + "." + sys.argv[2]).encode()
print(base64.urlsafe_b64encode(hmac.new(sys.argv[1].encode(), msg, hashlib.sha256).digest()).decode().rstrip("="))' "$1" "$2" "$3"
}

mport=''; kport=''; bport=''; media_port=''; sos_port=''
maskd_pid=''; kam_pid=''
maskd_url() { echo "http://127.0.0.1:$mport"; }
api() { # method path [json]
  if [ $# -ge 3 ]; then
    curl -s -X "$1" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' -d "$3" "$(maskd_url)$2"
  else
    curl -s -X "$1" -H "Authorization: Bearer $admin" "$(maskd_url)$2"
  fi
}
# POSTs a signed SIP query stamped now; prints the HTTP status, then the body. sig overrides
# the signature, ts the timestamp sent (and signed, unless sig is given).
sip_query() { # path body [sig [ts]]
  local ts=${4-$(date +%s)}
  local sig=${3-$(sign "$secret" "$2" "$ts")}
  curl -s -o "$tmp/q.out" -w '%{http_code}' -X POST -H "X-Maskd-Timestamp: $ts" -H "X-Maskd-Signature: $sig" \
    -d "$2" "$(maskd_url)$1"
}
# POSTs body to path (its query string carrying ts and sig, or not) with no signature
# header unless given as extra curl arguments; prints the HTTP status
sip_qs() { # path?query body [curl args]
  local path=$1 body=$2; shift 2
  curl -s -o /dev/null -w '%{http_code}' -X POST "$@" -d "$body" "$(maskd_url)$path"
}
counter() { # name: a counter of maskd's /metrics without labels
  curl -s "$(maskd_url)/metrics" | sed -n "s/^$1 //p"
}
metric() { # outcome: maskd_webhooks_total of dialect sip
  curl -s "$(maskd_url)/metrics" | sed -n "s/^maskd_webhooks_total{dialect=\"sip\",outcome=\"$1\"} //p"
}

start_maskd() { # db, announce URI ("" = none)
  MASKD_LISTEN=127.0.0.1:$mport MASKD_DB=$1 MASKD_KEY_FILE=$tmp/maskd.key MASKD_ADMIN_KEY=$admin \
    MASKD_SIP_SECRET=$secret MASKD_SIP_TRUNK=127.0.0.1:$bport MASKD_SIP_ANNOUNCE=$2 MASKD_THREADS=8 \
    "$bin" >>"$tmp/maskd.log" 2>&1 &
  maskd_pid=$!
  pids+=("$maskd_pid")
  local i
  for i in $(seq 1 $((100 * scale))); do
    curl -sf "$(maskd_url)/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
stop_maskd() {
  [ -n "$maskd_pid" ] && kill "$maskd_pid" 2>/dev/null && wait "$maskd_pid" 2>/dev/null
  maskd_pid=''
}
start_kamailio() {
  mkdir -p "$tmp/kam"
  kamailio -f "$cfg" -DD -E -l "udp:127.0.0.1:$kport" -Y "$tmp/kam" -w "$tmp/kam" -m 64 -M 8 \
    -A "MASKD_URL=\"$(maskd_url)\"" -A "SIP_SECRET=\"$secret\"" -A "EMERGENCY_TRUNK=\"127.0.0.1:$sos_port\"" \
    -A "RING_TIMEOUT=120" \
    >"$tmp/kamailio.log" 2>&1 &
  kam_pid=$!
  pids+=("$kam_pid")
  local i
  for i in $(seq 1 $((100 * scale))); do
    ss -uln | grep -q "127.0.0.1:$kport " && return 0
    kill -0 "$kam_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# A sipp UAS in the background on port; its pid in $uas_pid. name names its logs. sipp's own
# -timeout does not end a UAS stuck waiting for a BYE, so timeout(1) bounds it too.
uas() { # name port scenario callee calls [extra sipp args]
  local name=$1 port=$2 sf=$3 who=$4 calls=$5; shift 5
  timeout $((90 * scale)) sipp -sf "$scn/$sf" -key callee "$who" -i 127.0.0.1 -p "$port" -m "$calls" -nostdin \
    -timeout $((60 * scale)) -trace_msg -message_file "$tmp/$name.msg" "$@" >"$tmp/$name.out" 2>&1 &
  uas_pid=$!
  pids+=("$uas_pid")
  sleep 0.3
}
# A sipp UAC through Kamailio; returns sipp's exit status (0 = every call succeeded).
# Over UDP a late 180 may arrive after the 200 (Kamailio's workers forward the callee's
# replies independently): that is legal SIP, so the UAC ignores an unexpected message
# instead of aborting the call (-abortunexp off); the outcomes are checked, not the order.
uac() { # name scenario caller dialled [extra sipp args]
  local name=$1 sf=$2 who=$3 to=$4; shift 4
  timeout $((60 * scale)) sipp "127.0.0.1:$kport" -sf "$sf" -key caller "$who" -s "$to" -i 127.0.0.1 \
    -default_behaviors all,-abortunexp -p "$(free_port)" -m 1 -nostdin -timeout $((30 * scale)) -trace_msg -message_file "$tmp/$name.msg" "$@" \
    >"$tmp/$name.out" 2>&1
}
refused_scn() { # code: a copy of refused.xml expecting that final status
  sed "s/response=\"CODE\"/response=\"$1\"/" "$scn/refused.xml" >"$tmp/refused-$1.xml"
  echo "$tmp/refused-$1.xml"
}
wait_uas() { wait "$1" 2>/dev/null; }
stop_uas() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; true; }
count() { grep -c -- "$1" "$2" 2>/dev/null || true; }
# the messages a sipp instance received, from its message file
received() { awk '/message received/ {on = 1; next} /^-----/ {on = 0} on' "$1" 2>/dev/null; }
# received INVITEs in a sipp message file
invites_in() { grep -A2 'message received' "$1" 2>/dev/null | grep -c '^INVITE sip:' || true; }

# CPU time (user + system, clock ticks of 10 ms) of a process, and of all of Kamailio's
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
kam_ticks() {
  local p sum=0
  for p in $kam_pid $(pgrep -P "$kam_pid"); do sum=$((sum + $(cpu_ticks "$p"))); done
  echo "$sum"
}

make_session() { # service a b -> prints the session JSON
  api POST "/v1/services/$1/sessions" "{\"participants\":[{\"number\":\"$2\"},{\"number\":\"$3\"}]}"
}
interactions() { api GET "/v1/sessions/$1/interactions"; }

# ------------------------------------------------------------------ one run
suite() { # label db
  local label=$1 db=$2
  echo "== $label"
  : >"$tmp/maskd.log"
  kport=$(free_port); bport=$(free_port); media_port=$(free_port); sos_port=$(free_port)
  # a port found free can be taken by another process's connection before maskd binds
  # it: a fresh one then, as often as maskd says so (Kamailio learns the port after)
  local try started=''
  for try in 1 2 3; do
    mport=$(free_port)
    if start_maskd "$db" ""; then started=1; break; fi
    stop_maskd
    grep -q "cannot listen on 127.0.0.1:$mport" "$tmp/maskd.log" || break
  done
  if [ -z "$started" ]; then bad "$label: maskd starts"; tail -20 "$tmp/maskd.log"; return; fi
  if ! start_kamailio; then bad "$label: kamailio starts"; tail -30 "$tmp/kamailio.log"; return; fi
  ok "$label: maskd and kamailio started"

  local s1 s2
  s1=$(api POST /v1/services '{"name":"Trunk"}' | jq -r .id)
  s2=$(api POST /v1/services '{"name":"No cool-off","defaults":{"cooloff":0}}' | jq -r .id)
  local n
  for n in 0100 0101 0102 0103; do api POST "/v1/services/$s1/numbers" "{\"number\":\"+1415555$n\",\"carrier\":\"sip\"}" >/dev/null; done
  for n in 0100 0101; do api POST "/v1/services/$s2/numbers" "{\"number\":\"+1650555$n\"}" >/dev/null; done
  local A=+14152372001 B=+14152372002 X
  X=$(make_session "$s1" $A $B)
  local xid a_dials b_sees
  xid=$(jq -r .id <<<"$X")
  a_dials=$(jq -r '.participants[0].proxy_number' <<<"$X")
  b_sees=$(jq -r '.participants[1].proxy_number' <<<"$X")
  check "$label: session created" test "${xid:0:4}" = ses_

  # --- masked call
  uas b1 "$bport" callee.xml $B 1
  local b1=$uas_pid
  uac a1 "$scn/caller.xml" $A "$a_dials" -d 2500
  check "$label: masked call: the caller's call completes" test $? -eq 0
  wait_uas "$b1"
  check "$label: masked call: the callee answered and saw BYE" grep -q 'Successful call *| *[0-9]* *| *1 ' "$tmp/b1.out"
  check "$label: masked call: B's INVITE has From = B's view of the proxy number" \
    grep -q "^From: *<sip:$b_sees@" "$tmp/b1.msg"
  check "$label: masked call: B's INVITE has P-Asserted-Identity = B's view" \
    grep -q "^P-Asserted-Identity: <sip:$b_sees@" "$tmp/b1.msg"
  check "$label: masked call: B's INVITE goes to B's real number at the trunk" \
    grep -q "^INVITE sip:$B@127.0.0.1:$bport SIP/2.0" "$tmp/b1.msg"
  check "$label: masked call: no header or SDP line B received holds A's number" test "$(count "${A#+1}" "$tmp/b1.msg")" -eq 0
  check "$label: masked call: no Remote-Party-ID, Privacy, Diversion, History-Info, P-Preferred-Identity at B" \
    test "$(received "$tmp/b1.msg" | grep -ciE '^(Remote-Party-ID|Privacy|Diversion|History-Info|P-Preferred-Identity):')" -eq 0
  check "$label: masked call: nothing A received holds B's number" test "$(count "${B#+1}" "$tmp/a1.msg")" -eq 0
  local it
  it=$(interactions "$xid")
  check "$label: masked call: one interaction, a bridge by sip" \
    test "$(jq -c '[.interactions[] | [.decision, .carrier]]' <<<"$it")" = '[["bridge","sip"]]'
  check "$label: masked call: both legs completed, 3 billable seconds (2.5 s rounded up)" \
    test "$(jq -c '[.interactions[0].legs[] | [.leg, .status, .duration, (.answered_at != null)]] | sort' <<<"$it")" \
    = '[["a","completed",3,true],["b","completed",3,true]]'

  # --- unknown caller: the service's rejection, no INVITE reaches anyone
  uas b2 "$bport" callee.xml $B 1
  local b2=$uas_pid
  uac a2 "$(refused_scn 403)" +14152379999 "$a_dials"
  check "$label: unknown caller: 403" test $? -eq 0
  stop_uas "$b2"
  check "$label: unknown caller: no INVITE reached the callee" test "$(invites_in "$tmp/b2.msg")" -eq 0

  # --- closed session (no cool-off): rejected like a stranger
  local C=+14152372003 D=+14152372004 Y yid c_dials
  Y=$(make_session "$s2" $C $D)
  yid=$(jq -r .id <<<"$Y")
  c_dials=$(jq -r '.participants[0].proxy_number' <<<"$Y")
  api PATCH "/v1/sessions/$yid" '{"status":"closed"}' >/dev/null
  uac a3 "$(refused_scn 403)" $C "$c_dials"
  check "$label: closed session: 403" test $? -eq 0
  check "$label: closed session: nothing recorded" test "$(interactions "$yid" | jq '.interactions | length')" -eq 0

  # --- cool-off: the ended answer (a plain 480 without a media server)
  local E=+14152372005 F=+14152372006 Z zid e_dials
  Z=$(make_session "$s1" $E $F)
  zid=$(jq -r .id <<<"$Z")
  e_dials=$(jq -r '.participants[0].proxy_number' <<<"$Z")
  api PATCH "/v1/sessions/$zid" '{"status":"closed"}' >/dev/null
  uac a4 "$(refused_scn 480)" $E "$e_dials"
  check "$label: cool-off: 480 Temporarily Unavailable" test $? -eq 0
  check "$label: cool-off: recorded as a reject" \
    test "$(interactions "$zid" | jq -c '[.interactions[].decision]')" = '["reject"]'

  # --- retransmission and CANCEL before the answer
  local G=+14152372007 H=+14152372008 W wid g_dials
  W=$(make_session "$s1" $G $H)
  wid=$(jq -r .id <<<"$W")
  g_dials=$(jq -r '.participants[0].proxy_number' <<<"$W")
  uas b5 "$bport" callee-cancel.xml $H 1
  local b5=$uas_pid
  uac a5 "$scn/cancel.xml" $G "$g_dials"
  check "$label: retransmission + CANCEL: the caller gets 487 for its INVITE" test $? -eq 0
  wait_uas "$b5"
  check "$label: retransmission + CANCEL: the callee saw one INVITE, then the CANCEL" \
    grep -q 'Successful call *| *[0-9]* *| *1 ' "$tmp/b5.out"
  check "$label: retransmission + CANCEL: exactly one INVITE reached the callee" test "$(invites_in "$tmp/b5.msg")" -eq 1
  it=$(interactions "$wid")
  check "$label: retransmission + CANCEL: one interaction" test "$(jq '.interactions | length' <<<"$it")" -eq 1
  check "$label: retransmission + CANCEL: leg b canceled, never answered" \
    test "$(jq -c '[.interactions[0].legs[] | select(.leg == "b") | [.status, .answered_at]]' <<<"$it")" \
    = '[["canceled",null]]'

  # --- ring timeout: the session's 2 s (Kamailio's own default is set to 120 s here, past
  # sipp's timeout, so only the session's value can end the call in time) cancels a callee
  # that rings and never answers; the caller gets 408
  local K=+14152372011 M=+14152372012 R rid k_dials r0 r1
  R=$(api POST "/v1/services/$s1/sessions" \
    "{\"participants\":[{\"number\":\"$K\"},{\"number\":\"$M\"}],\"ring_timeout\":2}")
  rid=$(jq -r .id <<<"$R")
  k_dials=$(jq -r '.participants[0].proxy_number' <<<"$R")
  uas b10 "$bport" callee-cancel.xml $M 1
  local b10=$uas_pid
  r0=$(date +%s%N)
  uac a10 "$scn/unanswered.xml" $K "$k_dials"
  check "$label: ring timeout: the caller gets 408 Request Timeout" test $? -eq 0
  r1=$(date +%s%N)
  wait_uas "$b10"
  check "$label: ring timeout: the callee rang, was sent a CANCEL and answered it 487" \
    grep -q 'Successful call *| *[0-9]* *| *1 ' "$tmp/b10.out"
  check "$label: ring timeout: one CANCEL reached the callee" \
    test "$(received "$tmp/b10.msg" | grep -c '^CANCEL sip:')" -eq 1
  check "$label: ring timeout: not before the session's 2 s" test $(((r1 - r0) / 1000000)) -ge 2000
  it=$(interactions "$rid")
  check "$label: ring timeout: one interaction, both legs no-answer, never answered, 0 s" \
    test "$(jq -c '[.interactions[0].legs[] | [.leg, .status, .duration, .answered_at]] | sort' <<<"$it")" \
    = '[["a","no-answer",0,null],["b","no-answer",0,null]]'

  # --- time limit: the session's 3 s ends an answered call that neither side hangs up:
  # the cfg's route[TIME_UP] sends a BYE both ways (neither UA ever sends one)
  local N=+14152372013 O=+14152372014 T tid n_dials
  T=$(api POST "/v1/services/$s1/sessions" \
    "{\"participants\":[{\"number\":\"$N\"},{\"number\":\"$O\"}],\"time_limit\":3}")
  tid=$(jq -r .id <<<"$T")
  n_dials=$(jq -r '.participants[0].proxy_number' <<<"$T")
  uas b11 "$bport" callee.xml $O 1
  local b11=$uas_pid
  uac a11 "$scn/caller-held.xml" $N "$n_dials"
  check "$label: time limit: the caller got a BYE and the call completed" test $? -eq 0
  wait_uas "$b11"
  check "$label: time limit: the callee got a BYE and the call completed" \
    grep -q 'Successful call *| *[0-9]* *| *1 ' "$tmp/b11.out"
  check "$label: time limit: one BYE at each side" \
    test "$(received "$tmp/a11.msg" | grep -c '^BYE sip:'),$(received "$tmp/b11.msg" | grep -c '^BYE sip:')" = 1,1
  check "$label: time limit: the callee's BYE comes from B's view of the proxy number" \
    test "$(received "$tmp/b11.msg" | grep -A8 '^BYE sip:' | grep -c "^From: <sip:$(jq -r '.participants[1].proxy_number' <<<"$T")@")" -eq 1
  check "$label: time limit: nothing the callee received holds the caller's number" test "$(count "${N#+1}" "$tmp/b11.msg")" -eq 0
  check "$label: time limit: nothing the caller received holds the callee's number" test "$(count "${O#+1}" "$tmp/a11.msg")" -eq 0
  # the legs: completed once Kamailio's event timer told maskd (polled up to 30 s, not slept on)
  local tries
  for tries in $(seq 1 $((300 * scale))); do
    it=$(interactions "$tid")
    [ "$(jq -r '[.interactions[0].legs[].status] | unique | join(",")' <<<"$it")" = completed ] && break
    sleep 0.1
  done
  check "$label: time limit: both legs completed, answered" \
    test "$(jq -c '[.interactions[0].legs[] | [.leg, .status, (.answered_at != null)]] | sort' <<<"$it")" \
    = '[["a","completed",true],["b","completed",true]]'
  # billable seconds: at least the limit; the bound above is generous for a loaded machine
  check "$label: time limit: billable seconds of both legs between 3 and 13 (the limit, rounded up)" \
    test "$(jq -c '[.interactions[0].legs[].duration | (. >= 3 and . <= 13)] | unique' <<<"$it")" = '[true]'
  echo "time limit ($label): legs $(jq -c '[.interactions[0].legs[] | [.leg, .status, .duration]]' <<<"$it")"
  # an end reported again (another duration), or an answer after the end, changes nothing
  local tcid legs0
  tcid=$(grep -m1 '^Call-ID: ' "$tmp/a11.msg" | cut -d' ' -f2 | tr -d '\r')
  legs0=$(jq -c '[.interactions[0].legs[] | [.leg, .status, .duration, .answered_at, .ended_at]] | sort' <<<"$it")
  check "$label: time limit: the end reported again is acknowledged" \
    test "$(sip_query /sip/event "{\"call_id\":\"$tcid\",\"event\":\"ended\",\"duration\":99}")" = 200
  check "$label: time limit: an answer after the end is acknowledged" \
    test "$(sip_query /sip/event "{\"call_id\":\"$tcid\",\"event\":\"answered\"}")" = 200
  check "$label: time limit: neither changed the legs" \
    test "$(interactions "$tid" | jq -c '[.interactions[0].legs[] | [.leg, .status, .duration, .answered_at, .ended_at]] | sort')" = "$legs0"
  grep -E 'ERROR|maskd did not' "$tmp/kamailio.log" | tail -5

  # --- a URI user part that is not a number, refused by Kamailio itself
  local before
  before=$(metric bridge)
  uac a6 "$(refused_scn 484)" $A alice
  check "$label: URI user 'alice': 484 from Kamailio" test $? -eq 0

  # --- emergency: relayed directly, never through maskd
  uas sos "$sos_port" callee.xml 911 1
  local sos=$uas_pid
  uac a7 "$scn/caller.xml" $A 911 -d 200
  check "$label: emergency: the call goes through" test $? -eq 0
  wait_uas "$sos"
  check "$label: emergency: relayed to the emergency trunk with the caller's own identity" \
    grep -q "^From: .*<sip:$A@" "$tmp/sos.msg"
  check "$label: emergency: maskd was not asked" test "$(metric bridge)" = "$before"

  # --- bad queries: 403 / 400, nothing written
  local q="{\"call_id\":\"bad-1@x\",\"from\":\"$A\",\"to\":\"$a_dials\"}"
  check "$label: query without signature: 403" test "$(sip_query /sip/route "$q" '')" = 403
  local now
  now=$(date +%s)
  check "$label: query with a wrong signature: 403" test "$(sip_query /sip/route "$q" "$(sign "$secret-x" "$q" "$now")" "$now")" = 403
  # replay: a well-signed query stamped outside the 300 s window, either way; or its
  # timestamp changed after signing. A fresh Call-ID, so an accepted one would be recorded.
  local rq="{\"call_id\":\"replay-1@x\",\"from\":\"$A\",\"to\":\"$a_dials\"}"
  check "$label: query stamped 400 s ago, well signed: 403" \
    test "$(sip_query /sip/route "$rq" "$(sign "$secret" "$rq" $((now - 400)))" $((now - 400)))" = 403
  check "$label: query stamped 400 s ahead, well signed: 403" \
    test "$(sip_query /sip/route "$rq" "$(sign "$secret" "$rq" $((now + 400)))" $((now + 400)))" = 403
  check "$label: query signed 400 s ago, sent with a fresh timestamp: 403" \
    test "$(sip_query /sip/route "$rq" "$(sign "$secret" "$rq" $((now - 400)))" "$now")" = 403
  check "$label: query without a timestamp: 403" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Maskd-Signature: $(sign "$secret" "$rq" "")" \
      -d "$rq" "$(maskd_url)/sip/route")" = 403
  check "$label: stale event, well signed: 403" \
    test "$(sip_query /sip/event '{"call_id":"replay-1@x","event":"answered"}' \
      "$(sign "$secret" '{"call_id":"replay-1@x","event":"answered"}' $((now - 400)))" $((now - 400)))" = 403
  check "$label: signed query with a non-E.164 from: 400" \
    test "$(sip_query /sip/route "{\"call_id\":\"bad-2@x\",\"from\":\"alice\",\"to\":\"$a_dials\"}")" = 400
  check "$label: signed query with an oversized call_id: 400" \
    test "$(sip_query /sip/route "{\"call_id\":\"$(printf 'c%.0s' $(seq 1 200))\",\"from\":\"$A\",\"to\":\"$a_dials\"}")" = 400
  check "$label: signed query for an emergency number: 400" \
    test "$(sip_query /sip/route "{\"call_id\":\"bad-3@x\",\"from\":\"$A\",\"to\":\"+1911\"}")" = 400
  # the same in the query string (what the cfg's http_connect() sends): refused alike; both
  # forms at once refused even when each alone verifies. A good one first, so that the
  # refusals are the values' doing: an event for a Call-ID maskd never saw is acknowledged
  local qsig ev='{"call_id":"qs-unknown@x","event":"answered"}'
  qsig=$(sign "$secret" "$rq" "$now")
  check "$label: query string: a well signed event: 200" \
    test "$(sip_qs "/sip/event?ts=$now&sig=$(sign "$secret" "$ev" "$now")" "$ev")" = 200
  check "$label: query string: no signature: 403" test "$(sip_qs "/sip/route?ts=$now" "$rq")" = 403
  check "$label: query string: a wrong signature: 403" \
    test "$(sip_qs "/sip/route?ts=$now&sig=$(sign "$secret-x" "$rq" "$now")" "$rq")" = 403
  check "$label: query string: stamped 400 s ago, well signed: 403" \
    test "$(sip_qs "/sip/route?ts=$((now - 400))&sig=$(sign "$secret" "$rq" $((now - 400)))" "$rq")" = 403
  check "$label: query string: signed 400 s ago, sent with a fresh timestamp: 403" \
    test "$(sip_qs "/sip/route?ts=$now&sig=$(sign "$secret" "$rq" $((now - 400)))" "$rq")" = 403
  check "$label: query string and headers at once, each well signed: 403" \
    test "$(sip_qs "/sip/route?ts=$now&sig=$qsig" "$rq" -H "X-Maskd-Timestamp: $now" -H "X-Maskd-Signature: $qsig")" = 403
  check "$label: query string: another field besides ts and sig: 403" \
    test "$(sip_qs "/sip/route?ts=$now&sig=$qsig&x=1" "$rq")" = 403
  check "$label: query string: sig twice: 403" test "$(sip_qs "/sip/route?ts=$now&sig=$qsig&sig=$qsig" "$rq")" = 403
  check "$label: query string: a malformed escape: 403" test "$(sip_qs "/sip/route?ts=$now&sig=%zz" "$rq")" = 403
  check "$label: refused queries wrote nothing" test "$(interactions "$xid" | jq '.interactions | length')" -eq 1

  # --- load step: every call bridged through maskd
  local I=+14152372009 J=+14152372010 L l_dials
  L=$(make_session "$s1" $I $J)
  l_dials=$(jq -r '.participants[0].proxy_number' <<<"$L")
  before=$(metric bridge)
  # a late provisional reply (Kamailio's workers may pass a 180 after the 200) or a
  # retransmission under load is what a real phone ignores: so do these UAs
  sipp -sf "$scn/callee.xml" -key callee $J -i 127.0.0.1 -p "$bport" -m "$load_calls" -nostdin \
    -default_behaviors all,-abortunexp \
    -timeout $((120 * scale)) >"$tmp/load-b.out" 2>&1 &
  local lb=$!
  pids+=("$lb")
  sleep 0.3
  local t0 t1 rc
  local c0 k0 a0
  a0=$(counter maskd_http_connections_accepted_total)
  c0=$(cpu_ticks "$maskd_pid")
  k0=$(kam_ticks)
  t0=$(date +%s.%N)
  timeout $((150 * scale)) sipp "127.0.0.1:$kport" -sf "$scn/caller.xml" -key caller $I -s "$l_dials" -i 127.0.0.1 \
    -p "$(free_port)" -m "$load_calls" -r "$load_rate" -l $((load_rate * 2)) -d 0 -nostdin -timeout $((120 * scale)) \
    -default_behaviors all,-abortunexp \
    -trace_err -error_file "$tmp/load-a.err" >"$tmp/load-a.out" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  sleep 1
  stop_uas "$lb" # done unless a call was lost before it reached the callee
  check "$label: load: $load_calls calls at $load_rate/s, every one completed" test $rc -eq 0
  local bridged
  bridged=$(($(metric bridge) - before))
  check "$label: load: maskd bridged every one" test "$bridged" -eq "$load_calls"
  [ "$bridged" -eq "$load_calls" ] || echo "load ($label): maskd counted $bridged bridges for $load_calls calls;" \
    "Kamailio: $(count 'maskd did not answer' "$tmp/kamailio.log") route queries failed"
  echo "load ($label): $load_calls calls in $(python3 -c "print(round($t1 - $t0, 2))") s" \
    "= $(python3 -c "print(round($load_calls / ($t1 - $t0)))") calls/s offered at $load_rate/s;" \
    "maskd CPU $(( ($(cpu_ticks "$maskd_pid") - c0) * 10000 / load_calls )) us per call," \
    "kamailio CPU $(( ($(kam_ticks) - k0) * 10000 / load_calls )) us per call"
  grep -E 'Call Rate|Successful call|Failed call' "$tmp/load-a.out" | tail -3
  # Kamailio keeps its connections to maskd (a named httpcon with keep_connections): maskd
  # accepted far fewer connections during the step than the step's queries (a route query
  # and two events per call); one connection per query would be about three per call.
  # The TIME-WAIT and open counts are printed for the record (TIME-WAIT lasts 60 s only)
  local acc tw est
  acc=$(($(counter maskd_http_connections_accepted_total) - a0))
  tw=$(ss -Htan state time-wait "( sport = :$mport or dport = :$mport )" | wc -l)
  est=$(ss -Htan state established "( dport = :$mport )" | wc -l)
  echo "load ($label): connections to maskd: $acc accepted during the step, $tw closed (TIME-WAIT), $est open, for $((load_calls * 3)) queries"
  check "$label: load: Kamailio kept its connections (fewer than one accepted per 10 queries)" \
    test "$acc" -lt $((load_calls * 3 / 10))
  if [ $rc -ne 0 ]; then
    echo "load ($label): the caller's first errors:"
    grep -vE '^(Via|From|To|Call-ID|CSeq|Content-Length|Contact|Max-Forwards|Record-Route|Route|Server|P-Asserted-Identity):|^$' \
      "$tmp/load-a.err" 2>/dev/null | head -8
  fi

  # --- a media server: the cool-off caller hears the ended answer
  stop_maskd
  if ! start_maskd "$db" "sip:prompts@127.0.0.1:$media_port"; then bad "$label: maskd restarts"; return; fi
  uas media "$media_port" callee.xml prompts 1
  local media=$uas_pid
  uac a8 "$scn/caller.xml" $E "$e_dials" -d 300
  check "$label: cool-off with a media server: the call is answered there" test $? -eq 0
  wait_uas "$media"
  check "$label: cool-off with a media server: it is told the ended message" \
    grep -q '^X-Maskd-Say: This conversation has ended.' "$tmp/media.msg"
  check "$label: cool-off with a media server: the caller is anonymous there" \
    grep -q '^From: *<sip:anonymous@anonymous.invalid>' "$tmp/media.msg"
  check "$label: cool-off with a media server: no real number reaches it" \
    test "$(count "${E#+1}" "$tmp/media.msg")" -eq 0

  # --- maskd down: 503, never an unmasked bridge
  stop_maskd
  uas b9 "$bport" callee.xml $B 1
  local b9=$uas_pid
  uac a9 "$(refused_scn 503)" $A "$a_dials"
  check "$label: maskd down: 503" test $? -eq 0
  stop_uas "$b9"
  check "$label: maskd down: no INVITE reached the callee" test "$(invites_in "$tmp/b9.msg")" -eq 0

  check "$label: no real number in maskd's log" \
    test "$(grep -cE '4152372(00[1-9]|01[0-2]|999)' "$tmp/maskd.log")" -eq 0
  check "$label: no signature or query string of a SIP query in maskd's log" \
    test "$(grep -cE '[?&](ts|sig)=' "$tmp/maskd.log"),$(grep -cF -- "$qsig" "$tmp/maskd.log")" = 0,0
  kill "$kam_pid" 2>/dev/null; wait "$kam_pid" 2>/dev/null
  kam_pid=''
}

only=${SIP_ONLY:-} # sqlite or postgresql: run that backend alone (while working on it)
[ "$only" != postgresql ] && suite sqlite "$tmp/maskd.db"
[ "$only" = sqlite ] && finish

# PostgreSQL: a fresh database on the given server, or on one of our own
pg_url=${MASKD_TEST_PG_URL:-}
if [ -z "$pg_url" ] && [ -x /usr/lib/postgresql/15/bin/initdb ]; then
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/maskd-sip-pg.XXXXXX")
  pg_url=$("$root/scripts/pg-test-server" start "$pg_dir" 2>"$tmp/pg.log") || { pg_url=''; cat "$tmp/pg.log"; }
fi
if [ -n "$pg_url" ]; then
  dbname=maskd_sip_$$_$RANDOM
  if psql "$pg_url" -qAtc "CREATE DATABASE $dbname" >/dev/null 2>"$tmp/psql.log"; then
    load_rate=$pg_load_rate load_calls=$pg_load_calls
    suite postgresql "${pg_url%/*}/$dbname"
    psql "$pg_url" -qAtc "DROP DATABASE $dbname WITH (FORCE)" >/dev/null 2>&1
  else
    cat "$tmp/psql.log"; bad "postgresql: a fresh database"
  fi
else
  bad "postgresql: no server (set MASKD_TEST_PG_URL or install postgresql)"
fi
finish
