/* SPDX-License-Identifier: MIT */
/* sip.h - the SIP trunk edge: a Kamailio proxy asks maskd, per INVITE, how to route
 * it, and tells it when the call is answered and when it ends (docs/SIP.md):
 *   POST /sip/route  {"call_id","from","to"}  -> a JSON routing document
 *                    (bridge / reject / announce)
 *   POST /sip/event  {"call_id","event":"answered"|"ended"|"failed","duration","code"}
 * Every query carries X-Maskd-Timestamp (Unix seconds when Kamailio sent it) and
 * X-Maskd-Signature: the unpadded base64url HMAC-SHA256 of "<timestamp>.<body>"
 * under MASKD_SIP_SECRET (what Kamailio's crypto_hmac_sha256() computes); or,
 * with neither header, the same two values in the query string
 * (/sip/route?ts=<timestamp>&sig=<signature>), which Kamailio's named connections
 * (http_connect(), kept open between queries) can carry where headers cannot. The
 * signature and then the timestamp's window (SIP_TS_WINDOW) are checked before
 * anything else is read, so an unsigned or replayed query learns nothing, not even
 * whether a number is in a pool. The SIP Call-ID is the carrier
 * id: a retransmitted INVITE is the same interaction. Routing is the webhook
 * pipeline's (flow/webhook.h); this file parses and renders, and decides nothing. */
#ifndef MASKD_HOOKS_SIP_H
#define MASKD_HOOKS_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/inbound.h"
#include "../core/route.h"
#include "../http/http.h"
#include "../util/arena.h"
#include "../util/buf.h"

struct app;

#define SIP_BODY_MAX 2048    /* bytes of a query body; more is a 400 */
#define SIP_CALL_ID_MAX 127  /* bytes of a Call-ID (the interaction's carrier id holds 127) */
#define SIP_SIG_HEADER "X-Maskd-Signature"
#define SIP_TS_HEADER "X-Maskd-Timestamp"
#define SIP_TS_WINDOW 300    /* seconds a signed query's timestamp may be off maskd's clock, either way */
#define SIP_TS_DIGITS 12     /* digits of a timestamp; more is refused (no overflow, year < 33658) */

/* What rendering needs from the configuration; borrowed strings. */
struct sip_conf {
	const char *trunk;    /* host[:port] of the outbound trunk (MASKD_SIP_TRUNK) */
	const char *announce; /* a media server / prompt SIP URI (MASKD_SIP_ANNOUNCE); "" = none */
};

/* True when sig (the header's value, NULL when absent) is the unpadded base64url
 * HMAC-SHA256 of ts, '.', body[0..len) under secret. An empty secret, a NULL or
 * empty ts verify nothing. ts is taken as sent (its form is sip_timestamp_check's). */
bool sip_signature_ok(const char *secret, const char *ts, const char *body, size_t len, const char *sig);

/* Where a query's timestamp and signature are read from: the X-Maskd-Timestamp and
 * X-Maskd-Signature headers (hdr_ts, hdr_sig: NULL when absent) when query (the raw
 * query string, "" when none) is empty; else the query string, which must be exactly
 * the fields ts and sig, each once, in any order, and no header of the two. Sets *ts
 * and *sig (the header values as given, or percent-decoded copies in a; NULL when
 * absent: sip_signature_ok then refuses) and returns 0, or returns 403 with a static
 * reason in *why (never a value) for both forms at once, a malformed query string
 * (form_parse), another field, ts or sig twice or missing. One scheme either way:
 * what is signed and the window do not depend on where the values were read. */
int sip_signed_values(struct arena *a, const char *hdr_ts, const char *hdr_sig, const char *query, const char **ts,
		      const char **sig, const char **why);

/* Checks a signed query's timestamp (the X-Maskd-Timestamp value, NULL when absent)
 * against now_s, maskd's clock read once for the request. Returns 0 when ts is 1 to
 * SIP_TS_DIGITS decimal digits (no sign, no space) within SIP_TS_WINDOW seconds of
 * now_s either way (the bounds included); else 403 with a static reason in *why. */
int sip_timestamp_check(const char *ts, int64_t now_s, const char **why);

/* Parses a /sip/route body into in (event HOOK_VOICE; from, to, sid = call_id, all
 * in arena a). Returns 0, or 400 with a static reason in *why: not a JSON object,
 * over SIP_BODY_MAX, an unknown or duplicated field, a missing or empty field, a
 * Call-ID that is too long or not printable, From or To not E.164. */
int sip_parse_route(struct arena *a, const char *body, size_t len, struct hook_input *in, const char **why);

/* Parses a /sip/event body into in (event HOOK_STATUS, sid = call_id, st.status,
 * st.duration, st.answered; st.leg left for the caller, which updates both legs).
 * "answered" -> in-progress; "ended" -> completed with duration (seconds,
 * 0..86400*7); "failed" with code (a final SIP status 300..699) -> busy (486, 600),
 * no-answer (408, 480), canceled (487), else failed. Returns 0 or 400 with *why. */
int sip_parse_event(struct arena *a, const char *body, size_t len, struct hook_input *in, const char **why);

/* The SIP status a refusal of reason answers with (403, 404, 480, 486, 488). */
int sip_reject_code(enum route_reason reason);

/* Renders d as the routing document, appended to out:
 *   bridge   {"action":"bridge","ruri":"sip:<dial>@<trunk>","from_uri":"sip:<from>@<trunk>",
 *             "pai":"<sip:<from>@<trunk>>","ring_timeout":N,"time_limit":N}  (0 = Kamailio's default)
 *   announce {"action":"announce","uri":...,"say":...,"code":C}  a refusal with words when
 *             conf->announce is set
 *   reject   {"action":"reject","code":C,"reason":...}          every other refusal
 * The real number appears only in a bridge's ruri. */
void sip_render(const struct decision *d, const struct hook_render *r, const struct sip_conf *conf, struct buf *out);

/* True when req's path is under /sip/; fills res then: 404 for an unknown path,
 * 405 for a method other than POST, 403 for a missing or bad signature (headers or
 * query string as sip_signed_values() reads them; or no
 * MASKD_SIP_SECRET) or a timestamp outside the window, 400 for a malformed query, the pipeline's 404 / 503, else
 * 200 with the routing document (route) or {"ok":true} (event). */
int sip_handle(struct app *app, const struct http_request *req, struct http_response *res);

#endif
