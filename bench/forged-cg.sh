#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/forged-cg.sh - instructions per forged webhook (valgrind callgrind), which do
# not depend on how much CPU the machine has left: starts MASKD_BIN under callgrind
# with collection off, makes one service, two pool numbers and one session through
# the API, sends one valid Twilio voice webhook, then turns collection on, sends N
# webhooks signed with a wrong token to the session's proxy number, turns it off and
# prints the instructions per webhook (all of maskd's threads; the sweeper is idle).
#   bench/forged-cg.sh [MASKD_BIN]     FORGED_N=200; FORGED_KIND=bad|none (no signature)
set -euo pipefail
cd "$(dirname "$0")/.."
MASKD=${1:-build-test/maskd}
N=${FORGED_N:-200}
KIND=${FORGED_KIND:-bad}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/maskd-cg.XXXXXX")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEY=cg-admin-key-0123456789abcdef
TOKEN=cg-twilio-token-0123456789
URL=https://cg.example
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
MASKD_LISTEN=127.0.0.1:$PORT MASKD_DB=$TMP/maskd.db MASKD_KEY_FILE=$TMP/maskd.key MASKD_ADMIN_KEY=$KEY \
	MASKD_PUBLIC_URL=$URL MASKD_THREADS=2 MASKD_SWEEP_INTERVAL=3600 MASKD_LOG_LEVEL=error \
	valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.out" "$MASKD" >"$TMP/log" 2>&1 &
PID=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
api() { curl -sf -X "$1" "http://127.0.0.1:$PORT$2" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$3"; }
SVC=$(api POST /v1/services "{\"name\":\"cg\",\"carriers\":{\"twilio\":{\"auth_token\":\"$TOKEN\"}}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api POST "/v1/services/$SVC/numbers" '{"number":"+14155550101"}' >/dev/null
api POST "/v1/services/$SVC/numbers" '{"number":"+14155550102"}' >/dev/null
PROXY=$(api POST "/v1/services/$SVC/sessions" '{"participants":[{"number":"+12125550123"},{"number":"+13105550199"}]}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["participants"][0]["proxy_number"])')
hook() { # SID TOKEN -> status
	local body="CallSid=$1&From=%2B12125550123&To=${PROXY/+/%2B}&AccountSid=AC0123456789abcdef0123456789abcdef"
	local sig
	sig=$(python3 -c 'import base64,hmac,hashlib,sys,urllib.parse
u,tok,b=sys.argv[1:]
p=sorted(urllib.parse.parse_qsl(b))
print(base64.b64encode(hmac.new(tok.encode(),(u+"".join(k+v for k,v in p)).encode(),hashlib.sha1).digest()).decode())' "$URL/hooks/twilio/voice" "$2" "$body")
	if [ "$KIND" = none ] && [ "$2" != "$TOKEN" ]; then
		curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/hooks/twilio/voice" --data "$body"
	else
		curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/hooks/twilio/voice" -H "X-Twilio-Signature: $sig" --data "$body"
	fi
}
[ "$(hook CA00000000000000000000000000000001 "$TOKEN")" = 200 ] || { cat "$TMP/log"; echo "valid webhook not 200" >&2; exit 1; }
callgrind_control -i on "$PID" >/dev/null
for i in $(seq "$N"); do
	s=$(hook "$(printf 'CA%032d' $((i + 100)))" wrong-token)
	[ "$s" = 403 ] || { echo "forged webhook answered $s" >&2; exit 1; }
done
callgrind_control -i off "$PID" >/dev/null
callgrind_control -d "$PID" >/dev/null
sleep 1
ir=$(cat "$TMP"/cg.out* | awk '/^totals:/ { s += $2 } END { printf "%.0f", s }')
echo "forged ($KIND signature): $N webhooks, $ir instructions, $((ir / N)) per webhook"
