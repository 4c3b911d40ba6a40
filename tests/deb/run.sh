#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/deb/run.sh - the Debian package end to end: builds maskd_<version>_amd64.deb
# in a temporary copy of the tree (the checkout stays clean), lints it, installs it
# (root, or sudo), checks the unit with systemd-analyze verify, runs the installed
# /usr/sbin/maskd as the maskd user with the packaged settings (no systemd as PID 1:
# NOTIFY_SOCKET points at a datagram socket of ours, READY=1 must arrive), passes an
# API smoke test and a Twilio-signed webhook, then purges and checks what is left.
# Last line: "N passed, N failed". Leaves the machine as it found it.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$passed passed, $failed failed"; exit $((failed > 0)); }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=(sudo -n)
  else bad "installing the package needs root or sudo: not run"; finish; fi
fi
if dpkg-query -W -f='${Status}' maskd 2>/dev/null | grep -q 'install ok installed'; then
  bad "a maskd package is installed already: this test does not touch it"; finish
fi
had_user=0; getent passwd maskd >/dev/null && had_user=1
had_state=0; [ -e /var/lib/maskd ] && had_state=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/maskd-deb.XXXXXX")
pid=''; lpid=''
cleanup() {
  [ -n "$pid" ] && "${SUDO[@]}" kill "$pid" 2>/dev/null
  [ -n "$lpid" ] && kill "$lpid" 2>/dev/null
  "${SUDO[@]}" dpkg --purge maskd >/dev/null 2>&1
  [ $had_state -eq 0 ] && "${SUDO[@]}" rm -rf /var/lib/maskd
  [ $had_user -eq 0 ] && getent passwd maskd >/dev/null && "${SUDO[@]}" deluser --quiet --system maskd >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- build and lint ------------------------------------------------------------
mkdir "$tmp/src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$tmp/src"
if (cd "$tmp/src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then ok "dpkg-buildpackage"
else tail -40 "$tmp/build.log"; bad "dpkg-buildpackage"; finish; fi
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
deb=$tmp/maskd_${version}_amd64.deb
check "built $(basename "$deb")" test -f "$deb"
lintian --allow-root "$deb" >"$tmp/lintian.log" 2>&1
echo "lintian:"; sed 's/^/  /' "$tmp/lintian.log"
check "lintian: no errors" test "$(grep -c '^E:' "$tmp/lintian.log")" -eq 0

# --- install -----------------------------------------------------------------
if "${SUDO[@]}" dpkg -i "$deb" >"$tmp/install.log" 2>&1; then ok "dpkg -i"
else cat "$tmp/install.log"; bad "dpkg -i"; finish; fi
dpkg -L maskd | sort >"$tmp/files"
check "/usr/sbin/maskd installed" test -x /usr/sbin/maskd
check "maskd(8) installed" grep -qx '/usr/share/man/man8/maskd.8.gz' "$tmp/files"
check "the console installed" grep -qx '/usr/share/maskd/console/js/app.js' "$tmp/files"
check "/usr/bin/maskctl installed" test -x /usr/bin/maskctl
check "maskctl(1) installed" grep -qx '/usr/share/man/man1/maskctl.1.gz' "$tmp/files"
check "the unit installed" test -f /lib/systemd/system/maskd.service
check "/etc/maskd/maskd.env is a conffile" grep -q '/etc/maskd/maskd.env' /var/lib/dpkg/info/maskd.conffiles
check "/etc/maskd/maskd.env is 640 root:maskd" test "$(stat -c '%a %U:%G' /etc/maskd/maskd.env)" = "640 root:maskd"
check "the maskd system user exists" getent passwd maskd
check "/var/lib/maskd is 700 maskd:maskd" test "$(stat -c '%a %U:%G' /var/lib/maskd)" = "700 maskd:maskd"
if systemd-analyze verify /lib/systemd/system/maskd.service >"$tmp/verify.log" 2>&1 && ! [ -s "$tmp/verify.log" ]; then
  ok "systemd-analyze verify maskd.service"
else cat "$tmp/verify.log"; bad "systemd-analyze verify maskd.service"; fi

# --- run the installed daemon as maskd ----------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sock=$tmp/notify.sock
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
open(sys.argv[2] + ".up", "w").close()
while True:
    m = s.recv(4096).decode()
    with open(sys.argv[2], "a") as f: f.write(m + "\n")
' "$sock" "$tmp/notify.log" & lpid=$!
for _ in $(seq 100); do [ -e "$tmp/notify.log.up" ] && break; sleep 0.1; done
chmod 0755 "$tmp"
admin=adm_$(openssl rand -hex 16)
token=$(openssl rand -hex 16)
# the unit's own command line: the packaged settings through --env-file, as the maskd user,
# with our port and admin key appended (a later line wins)
out=$(/usr/sbin/maskd --env-file "$tmp/none.env" 2>&1); rc=$?
check "maskd --env-file on a missing file exits 1 naming it" \
  test "$rc:$out" = "1:maskd: --env-file $tmp/none.env: No such file or directory"
{ cat /etc/maskd/maskd.env
  printf 'MASKD_LISTEN=127.0.0.1:%s\nMASKD_ADMIN_KEY=%s\nMASKD_PUBLIC_URL=https://maskd.example.org\n' "$port" "$admin"
} >"$tmp/maskd.env"
chmod 0644 "$tmp/maskd.env"
"${SUDO[@]}" env -i NOTIFY_SOCKET="$sock" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  setpriv --reuid=maskd --regid=maskd --init-groups -- /usr/sbin/maskd --env-file "$tmp/maskd.env" \
  >"$tmp/maskd.log" 2>&1 & pid=$!
for _ in $(seq 300); do grep -q READY=1 "$tmp/notify.log" 2>/dev/null && break; sleep 0.1; done
if grep -qx READY=1 "$tmp/notify.log" 2>/dev/null; then ok "READY=1 on NOTIFY_SOCKET"
else cat "$tmp/maskd.log"; bad "READY=1 on NOTIFY_SOCKET"; fi
check "the database is in /var/lib/maskd, owned by maskd" test "$(stat -c %U /var/lib/maskd/maskd.db 2>/dev/null)" = maskd

api() { # method path [json] -> body on stdout, status in $tmp/status
  curl -s -o "$tmp/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "http://127.0.0.1:$port$2" >"$tmp/status"
  cat "$tmp/body"
}
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
svc=$(api POST /v1/services "{\"name\":\"Deb\",\"carriers\":{\"twilio\":{\"auth_token\":\"$token\"}}}" | field id)
check "POST /v1/services → 201" test "$(cat "$tmp/status")" = 201
api POST "/v1/services/$svc/numbers" '{"number":"+14155550100"}' >/dev/null
check "POST numbers → 201" test "$(cat "$tmp/status")" = 201
api POST "/v1/services/$svc/sessions" \
  '{"participants":[{"number":"+14152372001"},{"number":"+14152372002"}]}' >/dev/null
check "POST sessions → 201" test "$(cat "$tmp/status")" = 201
check "the installed maskctl lists the service" sh -c 'MASKD_URL=$1 MASKD_API_KEY=$2 /usr/bin/maskctl services list | grep -q "^$3 "' \
  - "http://127.0.0.1:$port" "$admin" "$svc"

# Twilio's signature: base64(HMAC-SHA1(auth token, URL + each param's name and value,
# sorted by name)); the caller passes the params sorted. Checked against a vector first.
twilio_sign() { # token url name=value...
  local key=$1 msg=$2 kv; shift 2
  for kv in "$@"; do msg+="${kv%%=*}${kv#*=}"; done
  printf '%s' "$msg" | openssl dgst -sha1 -hmac "$key" -binary | base64
}
vec=$(python3 -c '
import json; v = json.load(open("tests/data/signature_vectors.json"))["twilio"][0]
print(v["token"]); print(v["signed_url"]); print(v["signature"])
for k in sorted(v["params"]): print(k + "=" + v["params"][k])')
mapfile -t v <<<"$vec"
check "the shell signer matches the Twilio vector" test "$(twilio_sign "${v[0]}" "${v[1]}" "${v[@]:3}")" = "${v[2]}"
params=(AccountSid=AC0123456789abcdef0123456789abcdef CallSid=CAdeb0123456789abcdef0123456789ab
        From=+14152372001 To=+14155550100)
url=https://maskd.example.org/hooks/twilio/voice
hook() { # signature
  local data=() p
  for p in "${params[@]}"; do data+=(--data-urlencode "$p"); done
  curl -s -o "$tmp/twiml" -w '%{http_code}' -H "X-Twilio-Signature: $1" "${data[@]}" \
    "http://127.0.0.1:$port/hooks/twilio/voice"
}
check "a signed Twilio voice webhook → 200" test "$(hook "$(twilio_sign "$token" "$url" "${params[@]}")")" = 200
check "its TwiML dials the other party" grep -q '+14152372002' "$tmp/twiml"
check "a badly signed webhook → 403" test "$(hook AAAAAAAAAAAAAAAAAAAAAAAAAAA=)" = 403
check "the console is served from /usr/share/maskd/console" grep -q 'files from /usr/share/maskd/console)' "$tmp/maskd.log"
check "GET /console/ → 200 with its CSP" sh -c "curl -sfi http://127.0.0.1:$port/console/ | grep -qi '^content-security-policy: default-src .none.'"
"${SUDO[@]}" kill -HUP "$pid"
"${SUDO[@]}" kill -TERM "$pid"; wait "$pid"; rc=$?; pid=''
check "maskd stops with status 0 after SIGHUP and SIGTERM" test $rc -eq 0
check "SIGHUP logged" grep -q 'SIGHUP' "$tmp/maskd.log"
check "STOPPING=1 on NOTIFY_SOCKET" grep -qx STOPPING=1 "$tmp/notify.log"

# --- purge ---------------------------------------------------------------------
if "${SUDO[@]}" dpkg --purge maskd >"$tmp/purge.log" 2>&1; then ok "dpkg --purge"; else cat "$tmp/purge.log"; bad "dpkg --purge"; fi
left=()
while read -r f; do if [ ! -d "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then left+=("$f"); fi; done <"$tmp/files"
check "no packaged file left after purge (${left[*]:-none})" test ${#left[@]} -eq 0
check "/etc/maskd/maskd.env removed" test ! -e /etc/maskd/maskd.env
check "/var/lib/maskd kept, with the database" test -f /var/lib/maskd/maskd.db
finish
