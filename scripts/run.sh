#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - starts maskd in the foreground with the defaults of `make run` and
# prints how to try it. The admin key is generated on first start and printed
# once by maskd itself; set MASKD_ADMIN_KEY to choose your own.
set -euo pipefail
bin=${1:-build/maskd}
mkdir -p -m 0700 var
listen=${MASKD_LISTEN:-127.0.0.1:8080}
cat <<MSG
maskd: starting on http://$listen (database ${MASKD_DB:-./var/maskd.db}; stop with Ctrl-C)

Try it (README.md has the whole walkthrough):
  KEY=<the admin key printed below on first start, or your MASKD_ADMIN_KEY>
  curl -s http://$listen/healthz
  curl -s -H "Authorization: Bearer \$KEY" -H 'Content-Type: application/json' \\
       -d '{"name":"Rides","carriers":{"twilio":{"auth_token":"<your Twilio auth token>"}}}' \\
       http://$listen/v1/services
  Geo-match, cool-off, PINs, unknown-caller callbacks, opt-out and rate limits: docs/POLICY.md.

MSG
exec "$bin"
