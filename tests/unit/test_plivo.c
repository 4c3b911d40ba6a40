/* SPDX-License-Identifier: MIT */
/* test_plivo.c - the Plivo and Vobiz dialects (src/hooks/plivo.c) through their
 * tables: request parsing, which signature header each event needs, the markup
 * (expected strings printed by plivo (npm) 4.79.0's plivo.Response().toXML() for
 * the same elements and attributes), and the MMS REST request (the body plivo's
 * client.messages.create sent to a capture server; the gather, silent-reject and
 * no-callback documents by the same builder, from a script run against
 * tests/blackbox/node_modules). Signature cases are the
 * SDK-made ones of tests/data/signature_vectors.json; the Vobiz V3 case is
 * Vobiz's documented construction (no official Vobiz validator exists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hooks/dialect.h"
#include "hooks/plivo_sig.h"
#include "util/crypto.h"
#include "util/err.h"

static const struct hook_dialect *const PL = &hook_dialect_plivo;
static const struct hook_dialect *const VB = &hook_dialect_vobiz;

#define STATUS_URL "https://p.example/hooks/plivo/status?interaction=int_a"

/* ------------------------------------------------------------ helpers */

struct req {
	struct arena arena;
	struct http_header headers[8];
	struct http_request r;
};

static void req_init(struct req *q, const char *method, const char *query, const char *body)
{
	memset(q, 0, sizeof(*q));
	q->r.method = method;
	q->r.query = query;
	q->r.target = "/";
	q->r.path = "/";
	q->r.body = body;
	q->r.body_len = strlen(body);
	q->r.headers = q->headers;
	q->r.arena = &q->arena;
}

static void req_header(struct req *q, const char *name, const char *value)
{
	assert_true(q->r.n_headers < sizeof(q->headers) / sizeof(q->headers[0]));
	q->headers[q->r.n_headers].name = name;
	q->headers[q->r.n_headers].value = value;
	q->r.n_headers++;
}

static int parse(const struct hook_dialect *dl, struct req *q, enum hook_event event, struct hook_input *in)
{
	memset(in, 0, sizeof(*in));
	const char *why = NULL;
	int rc = dl->parse(&q->r, event, in, &why);
	if (rc != 0)
		assert_non_null(why);
	return rc;
}

static struct service *service_with(int d, const char *creds_json)
{
	static struct service svc;
	memset(&svc, 0, sizeof(svc));
	snprintf(svc.id, sizeof(svc.id), "svc_test");
	snprintf(svc.secrets[d], sizeof(svc.secrets[d]), "%s", creds_json);
	return &svc;
}

static void render(const struct hook_dialect *dl, const struct decision *d, const struct hook_render *r,
		   const char *want)
{
	struct http_response res = {0};
	buf_init(&res.body);
	dl->render(d, r, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, "text/xml");
	assert_string_equal(res.body.data, want);
	buf_free(&res.body);
}

/* ------------------------------------------------------------ parsing */

static void parse_voice_post(void **state)
{
	struct req q;
	req_init(&q, "POST", "",
		 "CallUUID=2e3c1ed0-5f6a&CallStatus=ringing&Direction=inbound&From=12125550123&To=14155550100");
	req_header(&q, "Content-Type", "application/x-www-form-urlencoded; charset=UTF-8");
	struct hook_input in;
	assert_int_equal(parse(PL, &q, HOOK_VOICE, &in), 0);
	assert_int_equal(in.event, HOOK_VOICE);
	assert_string_equal(in.from, "+12125550123");
	assert_string_equal(in.to, "+14155550100");
	assert_string_equal(in.sid, "2e3c1ed0-5f6a");
	assert_null(in.body);
	assert_int_equal(in.n_media, 0);
	assert_null(in.interaction_id);
	arena_free(&q.arena);
}

static void parse_keeps_what_is_not_digits(void **state)
{
	struct req q;
	req_init(&q, "POST", "", "CallUUID=u&From=sip%3Aalice%40phone.plivo.com&To=%2B14155550100");
	struct hook_input in;
	assert_int_equal(parse(VB, &q, HOOK_VOICE, &in), 0);
	assert_string_equal(in.from, "sip:alice@phone.plivo.com");
	assert_string_equal(in.to, "+14155550100");
	arena_free(&q.arena);

	req_init(&q, "POST", "", "CallUUID=u&From=&To=1415x");
	assert_int_equal(parse(PL, &q, HOOK_VOICE, &in), 0);
	assert_string_equal(in.from, "");
	assert_string_equal(in.to, "1415x");
	arena_free(&q.arena);
}

static void parse_voice_get(void **state)
{
	struct req q;
	req_init(&q, "GET", "CallUUID=abc&From=12125550123&To=14155550100&interaction=int_x", "");
	struct hook_input in;
	assert_int_equal(parse(PL, &q, HOOK_VOICE, &in), 0);
	assert_string_equal(in.sid, "abc");
	assert_string_equal(in.from, "+12125550123");
	assert_string_equal(in.interaction_id, "int_x");
	assert_int_equal(in.params.n, 0);
	arena_free(&q.arena);
}

static void parse_refusals(void **state)
{
	struct req q;
	struct hook_input in;
	req_init(&q, "PUT", "", "");
	assert_int_equal(parse(PL, &q, HOOK_VOICE, &in), 405);
	arena_free(&q.arena);
	req_init(&q, "POST", "", "{\"From\":\"1\"}");
	req_header(&q, "Content-Type", "application/json");
	assert_int_equal(parse(PL, &q, HOOK_VOICE, &in), 415);
	arena_free(&q.arena);
	req_init(&q, "POST", "", "From=%zz");
	assert_int_equal(parse(VB, &q, HOOK_MESSAGE, &in), 400);
	arena_free(&q.arena);
}

static void parse_sms_and_mms(void **state)
{
	struct req q;
	struct hook_input in;
	req_init(&q, "POST", "",
		 "From=12125550123&To=14155550100&Type=sms&Text=On+my+way&MessageUUID=m-1&MessageIntent=");
	assert_int_equal(parse(PL, &q, HOOK_MESSAGE, &in), 0);
	assert_string_equal(in.sid, "m-1");
	assert_string_equal(in.body, "On my way");
	assert_int_equal(in.n_media, 0);
	arena_free(&q.arena);

	/* MMS: the text is in Body; media one-based, in index order whatever the order posted */
	req_init(&q, "POST", "",
		 "Media2=https%3A%2F%2Fm%2F2&From=12125550123&To=14155550100&Type=mms&Body=pics&MediaCount=3"
		 "&MessageUUID=m-2&Media1=https%3A%2F%2Fm%2F1%3Fa%3D1%26b%3D2&Media3=https%3A%2F%2Fm%2F3");
	assert_int_equal(parse(PL, &q, HOOK_MESSAGE, &in), 0);
	assert_string_equal(in.body, "pics");
	assert_int_equal(in.n_media, 3);
	assert_string_equal(in.media[0], "https://m/1?a=1&b=2");
	assert_string_equal(in.media[1], "https://m/2");
	assert_string_equal(in.media[2], "https://m/3");
	arena_free(&q.arena);

	/* at most HOOK_MEDIA_MAX */
	char body[2048] = "From=1&To=2&MessageUUID=m";
	for (int i = 1; i <= HOOK_MEDIA_MAX + 3; i++) {
		size_t n = strlen(body);
		snprintf(body + n, sizeof(body) - n, "&Media%d=u%d", i, i);
	}
	req_init(&q, "POST", "", body);
	assert_int_equal(parse(PL, &q, HOOK_MESSAGE, &in), 0);
	assert_int_equal(in.n_media, HOOK_MEDIA_MAX);
	assert_string_equal(in.media[HOOK_MEDIA_MAX - 1], "u10");
	arena_free(&q.arena);
}

static void parse_status_callbacks(void **state)
{
	struct req q;
	struct hook_input in;
	/* Dial action */
	req_init(&q, "POST", "interaction=int_a",
		 "CallUUID=a-leg&DialStatus=completed&DialALegUUID=a-leg&DialBLegUUID=b-leg&DialRingStatus=true"
		 "&DialHangupCause=NORMAL_CLEARING");
	assert_int_equal(parse(PL, &q, HOOK_STATUS, &in), 0);
	assert_string_equal(in.interaction_id, "int_a");
	assert_int_equal(in.st.leg, 'b');
	assert_string_equal(in.st.sid, "b-leg");
	assert_string_equal(in.st.status, "completed");
	assert_int_equal(in.st.duration, -1);
	arena_free(&q.arena);

	/* Dial action, nobody answered: DialBLegUUID empty */
	req_init(&q, "POST", "interaction=int_a", "DialStatus=no-answer&DialBLegUUID=&DialALegUUID=a");
	assert_int_equal(parse(PL, &q, HOOK_STATUS, &in), 0);
	assert_null(in.st.sid);
	assert_string_equal(in.st.status, "no-answer");
	arena_free(&q.arena);

	/* Dial callbackUrl event */
	req_init(&q, "POST", "interaction=int_a",
		 "DialAction=hangup&DialBLegStatus=hangup&DialBLegUUID=b-leg&DialBLegBillDuration=12");
	assert_int_equal(parse(VB, &q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.leg, 'b');
	assert_string_equal(in.st.sid, "b-leg");
	assert_string_equal(in.st.status, "hangup");
	assert_int_equal(in.st.duration, 12);
	arena_free(&q.arena);

	req_init(&q, "POST", "interaction=int_a", "DialAction=answer&DialBLegUUID=b-leg");
	assert_int_equal(parse(PL, &q, HOOK_STATUS, &in), 0);
	assert_string_equal(in.st.status, "answer");
	arena_free(&q.arena);

	/* message delivery */
	req_init(&q, "POST", "interaction=int_a", "MessageUUID=out-1&Status=delivered&From=14155550100&To=1310");
	assert_int_equal(parse(PL, &q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.leg, 'b');
	assert_string_equal(in.st.sid, "out-1");
	assert_string_equal(in.st.status, "delivered");
	arena_free(&q.arena);

	/* the inbound call's own hangup callback: leg a; an outbound call's: leg b */
	req_init(&q, "POST", "interaction=int_a",
		 "CallUUID=a-leg&CallStatus=completed&Direction=inbound&BillDuration=61&Duration=58");
	assert_int_equal(parse(PL, &q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.leg, 'a');
	assert_string_equal(in.st.sid, "a-leg");
	assert_int_equal(in.st.duration, 61);
	arena_free(&q.arena);
	req_init(&q, "POST", "interaction=int_a", "CallUUID=b&CallStatus=busy&Direction=outbound&ALegUUID=a");
	assert_int_equal(parse(PL, &q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.leg, 'b');
	arena_free(&q.arena);

	/* nothing to record */
	req_init(&q, "POST", "interaction=int_a", "Foo=bar");
	assert_int_equal(parse(PL, &q, HOOK_STATUS, &in), 0);
	assert_null(in.st.status);
	arena_free(&q.arena);
}

/* ------------------------------------------------------------ signatures */

/* signature_vectors.json "plivo-v3-post-answer" (plivo-node 4.79.0). */
#define V3_URL "https://proxy.example.org/plivo/answer/"
#define V3_TOKEN "ZWRiYzdhNDNmODQ1MjgxMzNhYWIzYjEyZDdiM2Nh"
#define V3_NONCE "05429567804466091622"
#define V3_SIG "73K3XmGbdcN2DzuGOCPy88WGDu6wWpScxSZqBE1X6kY="
#define V3_BODY                                                                                                \
	"CallUUID=2e3c1ed0-5f6a-4b8e-9a63-8f3f0c0b8a11&CallStatus=ringing&Direction=inbound&Event=StartApp"   \
	"&From=12125550123&To=14155550100&CallerName=%2B12125550123&BillRate=0.0085"                          \
	"&SessionStart=2025-01-02+03%3A04%3A05.678901&RequestUUID=2e3c1ed0-5f6a-4b8e-9a63-8f3f0c0b8a11"       \
	"&STIRVerification=Not+Applicable"

static bool verify(const struct hook_dialect *dl, const struct service *svc, struct req *q, enum hook_event event,
		   const char *url)
{
	struct hook_input in;
	assert_int_equal(parse(dl, q, event, &in), 0);
	return dl->verify(svc, &q->r, url, &in, 0);
}

static void plivo_voice_needs_v3(void **state)
{
	struct service *svc = service_with(DIALECT_PLIVO, "{\"auth_token\":\"" V3_TOKEN "\",\"auth_id\":\"MAXX\"}");
	struct req q;
	req_init(&q, "POST", "", V3_BODY);
	req_header(&q, "X-Plivo-Signature-V3", V3_SIG);
	req_header(&q, "X-Plivo-Signature-V3-Nonce", V3_NONCE);
	assert_true(verify(PL, svc, &q, HOOK_VOICE, V3_URL));
	assert_false(verify(PL, svc, &q, HOOK_VOICE, V3_URL "?x=1"));
	/* a status callback with V3 is checked as V3 too */
	assert_true(verify(PL, svc, &q, HOOK_STATUS, V3_URL));
	arena_free(&q.arena);

	/* the main account's header, alone */
	req_init(&q, "POST", "", V3_BODY);
	req_header(&q, "X-Plivo-Signature-Ma-V3", "bogus," V3_SIG);
	req_header(&q, "X-Plivo-Signature-V3-Nonce", V3_NONCE);
	assert_true(verify(PL, svc, &q, HOOK_VOICE, V3_URL));
	arena_free(&q.arena);

	/* a changed parameter, another token, a V2 header, Vobiz's headers: refused */
	req_init(&q, "POST", "", V3_BODY "&Extra=1");
	req_header(&q, "X-Plivo-Signature-V3", V3_SIG);
	req_header(&q, "X-Plivo-Signature-V3-Nonce", V3_NONCE);
	assert_false(verify(PL, svc, &q, HOOK_VOICE, V3_URL));
	arena_free(&q.arena);
	req_init(&q, "POST", "", V3_BODY);
	req_header(&q, "X-Vobiz-Signature-V3", V3_SIG);
	req_header(&q, "X-Vobiz-Signature-V3-Nonce", V3_NONCE);
	assert_false(verify(PL, svc, &q, HOOK_VOICE, V3_URL));
	arena_free(&q.arena);

	char v2[PLIVO_SIG_LEN + 1];
	assert_true(plivo_sig_v2_compute(V3_TOKEN, V3_URL, V3_NONCE, v2));
	req_init(&q, "POST", "", V3_BODY);
	req_header(&q, "X-Plivo-Signature-V2", v2);
	req_header(&q, "X-Plivo-Signature-V2-Nonce", V3_NONCE);
	assert_false(verify(PL, svc, &q, HOOK_VOICE, V3_URL));
	arena_free(&q.arena);

	svc = service_with(DIALECT_PLIVO, "{\"auth_token\":\"other\"}");
	req_init(&q, "POST", "", V3_BODY);
	req_header(&q, "X-Plivo-Signature-V3", V3_SIG);
	req_header(&q, "X-Plivo-Signature-V3-Nonce", V3_NONCE);
	assert_false(verify(PL, svc, &q, HOOK_VOICE, V3_URL));
	/* the credential is read from the Plivo slot only */
	svc = service_with(DIALECT_VOBIZ, "{\"auth_token\":\"" V3_TOKEN "\"}");
	assert_false(verify(PL, svc, &q, HOOK_VOICE, V3_URL));
	arena_free(&q.arena);
}

/* signature_vectors.json "plivo-v2-doc-example-shape" (accepted by plivo-node's validateSignature). */
static void plivo_message_needs_v2(void **state)
{
	struct service *svc = service_with(DIALECT_PLIVO, "{\"auth_token\":\"" V3_TOKEN "\"}");
	const char *url = "https://proxy.example.org/answer/";
	struct req q;
	req_init(&q, "POST", "", "From=12125550123&To=14155550100&Text=hi&MessageUUID=m");
	req_header(&q, "X-Plivo-Signature-V2", "fd8lCGLnepvq6msSh2MKvZr8NRW40b894Up2md6NUus=");
	req_header(&q, "X-Plivo-Signature-V2-Nonce", V3_NONCE);
	assert_true(verify(PL, svc, &q, HOOK_MESSAGE, url));
	/* V2 ignores the query: the status URL's ?interaction= is not covered */
	assert_true(verify(PL, svc, &q, HOOK_STATUS, "https://proxy.example.org/answer/?interaction=int_a"));
	assert_false(verify(PL, svc, &q, HOOK_MESSAGE, "https://proxy.example.org/answer/x"));
	arena_free(&q.arena);

	/* a message webhook with only a V3 header is refused */
	req_init(&q, "POST", "", "From=1&To=2");
	req_header(&q, "X-Plivo-Signature-V3", V3_SIG);
	req_header(&q, "X-Plivo-Signature-V3-Nonce", V3_NONCE);
	assert_false(verify(PL, svc, &q, HOOK_MESSAGE, url));
	arena_free(&q.arena);

	/* a status callback carrying a bad V3 is refused even with a good V2 */
	req_init(&q, "POST", "", "MessageUUID=m&Status=sent");
	req_header(&q, "X-Plivo-Signature-V2", "fd8lCGLnepvq6msSh2MKvZr8NRW40b894Up2md6NUus=");
	req_header(&q, "X-Plivo-Signature-V2-Nonce", V3_NONCE);
	req_header(&q, "X-Plivo-Signature-V3", "AAAA");
	req_header(&q, "X-Plivo-Signature-V3-Nonce", V3_NONCE);
	assert_false(verify(PL, svc, &q, HOOK_STATUS, url));
	arena_free(&q.arena);
}

/* signature_vectors.json "vobiz-answer-post": V2 (= Plivo V2), V3 per Vobiz's docs
 * (own code: Vobiz has no validator library) and V3 per Vobiz-Go-SDK (Plivo's). */
#define VB_URL "https://proxy.example.org/vobiz/answer"
#define VB_TOKEN "vobizAuthTokenExample0123456789abcdef"
#define VB_NONCE "73291045518276340915"
#define VB_BODY                                                                                         \
	"CallUUID=b1c2d3e4-0000-4000-8000-00000000000a&From=919812345678&To=918012345678&Direction=inbound" \
	"&CallStatus=ringing&Event=StartApp"

static void vobiz_v3_either_reading_or_v2(void **state)
{
	struct service *svc = service_with(DIALECT_VOBIZ, "{\"auth_token\":\"" VB_TOKEN "\",\"auth_id\":\"MA1\"}");
	static const char *const v3[] = {"RIECdoaN2OIe2wnV4NlcKQUHpMlDmhiEC3j6TtiZ7LA=",
					 "zrLSP0xTHGBFJWwFKk/o2QAIQA1sjpzDQ51Eo1eTfhQ="};
	struct req q;
	for (int i = 0; i < 2; i++) {
		req_init(&q, "POST", "", VB_BODY);
		req_header(&q, "X-Vobiz-Signature-V3", v3[i]);
		req_header(&q, "X-Vobiz-Signature-V3-Nonce", VB_NONCE);
		assert_true(verify(VB, svc, &q, HOOK_VOICE, VB_URL));
		assert_true(verify(VB, svc, &q, HOOK_STATUS, VB_URL));
		assert_false(verify(VB, svc, &q, HOOK_VOICE, VB_URL "/x"));
		assert_false(verify(PL, service_with(DIALECT_PLIVO, "{\"auth_token\":\"" VB_TOKEN "\"}"), &q,
				    HOOK_VOICE, VB_URL));
		svc = service_with(DIALECT_VOBIZ, "{\"auth_token\":\"" VB_TOKEN "\",\"auth_id\":\"MA1\"}");
		arena_free(&q.arena);
	}
	/* the parent account's header */
	req_init(&q, "POST", "", VB_BODY);
	req_header(&q, "X-Vobiz-Signature-MA-V3", v3[0]);
	req_header(&q, "X-Vobiz-Signature-V3-Nonce", VB_NONCE);
	assert_true(verify(VB, svc, &q, HOOK_VOICE, VB_URL));
	arena_free(&q.arena);
	/* V2 alone, for every event */
	req_init(&q, "POST", "", VB_BODY);
	req_header(&q, "X-Vobiz-Signature-V2", "IhZXKsN6dqwkDwlHcrc38P4YBWJ9943/cUU0kaKI468=");
	req_header(&q, "X-Vobiz-Signature-V2-Nonce", VB_NONCE);
	assert_true(verify(VB, svc, &q, HOOK_VOICE, VB_URL));
	assert_true(verify(VB, svc, &q, HOOK_MESSAGE, VB_URL));
	assert_false(verify(VB, service_with(DIALECT_VOBIZ, "{\"auth_token\":\"nope\"}"), &q, HOOK_VOICE, VB_URL));
	arena_free(&q.arena);
	/* Plivo's header names mean nothing to Vobiz; no header at all is refused */
	svc = service_with(DIALECT_VOBIZ, "{\"auth_token\":\"" VB_TOKEN "\"}");
	req_init(&q, "POST", "", VB_BODY);
	req_header(&q, "X-Plivo-Signature-V3", v3[0]);
	req_header(&q, "X-Plivo-Signature-V3-Nonce", VB_NONCE);
	assert_false(verify(VB, svc, &q, HOOK_VOICE, VB_URL));
	arena_free(&q.arena);
	req_init(&q, "POST", "", VB_BODY);
	assert_false(verify(VB, svc, &q, HOOK_VOICE, VB_URL));
	arena_free(&q.arena);
}

/* ------------------------------------------------------------ markup */

static void markup_bridge(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.status_url = STATUS_URL};
	const char *want = "<Response><Dial callerId=\"14155550100\" action=\"" STATUS_URL "\" method=\"POST\" "
			   "redirect=\"false\" callbackUrl=\"" STATUS_URL "\" callbackMethod=\"POST\"><Number>"
			   "13105550199</Number></Dial></Response>";
	render(PL, &d, &r, want);
	render(VB, &d, &r, want);
}

static void markup_bridge_recorded_with_limits(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.status_url = STATUS_URL,
				.record = 1,
				.consent_message = "This call may be recorded.",
				.consent_url = "https://p/consent",
				.recording_url = "https://p/rec",
				.time_limit = 3600,
				.ring_timeout = 25};
	render(PL, &d, &r,
	       "<Response><Speak>This call may be recorded.</Speak><Record recordSession=\"true\" "
	       "startOnDialAnswer=\"true\" redirect=\"false\" maxLength=\"3600\" fileFormat=\"mp3\" "
	       "callbackUrl=\"https://p/rec\" callbackMethod=\"POST\"/><Dial callerId=\"14155550100\" timeout=\"25\" "
	       "timeLimit=\"3600\" action=\"" STATUS_URL "\" method=\"POST\" redirect=\"false\" callbackUrl=\"" STATUS_URL
	       "\" callbackMethod=\"POST\" confirmSound=\"https://p/consent\"><Number>13105550199</Number></Dial>"
	       "</Response>");
	/* recording without a time limit: maxLength covers Plivo's 4 h default call length */
	struct hook_render r2 = {.status_url = STATUS_URL, .record = 1};
	render(VB, &d, &r2,
	       "<Response><Record recordSession=\"true\" startOnDialAnswer=\"true\" redirect=\"false\" "
	       "maxLength=\"14400\" fileFormat=\"mp3\"/><Dial callerId=\"14155550100\" action=\"" STATUS_URL
	       "\" method=\"POST\" redirect=\"false\" callbackUrl=\"" STATUS_URL "\" callbackMethod=\"POST\"><Number>"
	       "13105550199</Number></Dial></Response>");
}

static void markup_forward_sms(void **state)
{
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.status_url = "https://p/s?a=1&b=2", .body = "Hello & welcome <3 \"q\" 'a'\r\n>"};
	render(PL, &d, &r,
	       "<Response><Message src=\"14155550100\" dst=\"13105550199\" type=\"sms\" "
	       "callbackUrl=\"https://p/s?a=1&amp;b=2\" callbackMethod=\"POST\">Hello &amp; welcome &lt;3 \"q\" "
	       "'a'&#xD;\n&gt;</Message></Response>");
	/* nothing the markup can carry (media only): the empty answer */
	const char *media[] = {"https://m/1"};
	struct hook_render m = {.status_url = "https://p/s", .body = "", .media = media, .n_media = 1};
	render(VB, &d, &m, "<Response/>");
}

static void markup_reject_and_empty(void **state)
{
	struct decision d = {.kind = DECISION_REJECT};
	struct hook_render r = {.say = "Sorry & goodbye: <not> \"x\""};
	render(PL, &d, &r, "<Response><Speak>Sorry &amp; goodbye: &lt;not&gt; \"x\"</Speak><Hangup/></Response>");
	d.kind = DECISION_ACKNOWLEDGE;
	render(PL, &d, &r, "<Response/>");
	render(VB, &d, &r, "<Response/>");
}

/* ------------------------------------------------------------ policy: gather, silent reject, no callbacks */

#define PL_GATHER_URL "https://p.example/hooks/plivo/gather?attempt=2&x=<y>"
#define VB_GATHER_URL "https://p.example/hooks/vobiz/gather?attempt=2&x=<y>"
#define PROMPT "Enter your PIN, then \"#\" & it's <done>"
#define PROMPT_XML "<Speak>Enter your PIN, then \"#\" &amp; it's &lt;done&gt;</Speak>"

/* plivo 4.79.0: r.addGetDigits({action, method: 'POST', timeout, digitTimeout,
 * finishOnKey: '#', numDigits}).addSpeak(prompt); r.addRedirect(url, {method: 'POST'}) */
static void markup_gather_plivo(void **state)
{
	struct decision d = {.kind = DECISION_GATHER};
	struct hook_render r = {.say = PROMPT, .gather_url = PL_GATHER_URL, .gather_digits = 6, .gather_timeout = 5};
	render(PL, &d, &r,
	       "<Response><GetDigits action=\"https://p.example/hooks/plivo/gather?attempt=2&amp;x=&lt;y>\" "
	       "method=\"POST\" timeout=\"5\" digitTimeout=\"5\" finishOnKey=\"#\" numDigits=\"6\">" PROMPT_XML
	       "</GetDigits><Redirect method=\"POST\">https://p.example/hooks/plivo/gather?attempt=2&amp;x=&lt;y&gt;"
	       "</Redirect></Response>");
	struct hook_render quiet = {.gather_url = PL_GATHER_URL, .gather_digits = 4, .gather_timeout = 10};
	render(PL, &d, &quiet,
	       "<Response><GetDigits action=\"https://p.example/hooks/plivo/gather?attempt=2&amp;x=&lt;y>\" "
	       "method=\"POST\" timeout=\"10\" digitTimeout=\"10\" finishOnKey=\"#\" numDigits=\"4\"/>"
	       "<Redirect method=\"POST\">https://p.example/hooks/plivo/gather?attempt=2&amp;x=&lt;y&gt;"
	       "</Redirect></Response>");
}

/* Vobiz <Gather> = plivo's addGetInput({action, method: 'POST', inputType: 'dtmf',
 * executionTimeout, finishOnKey: '#', numDigits}) renamed; executionTimeout 5..60 */
static void markup_gather_vobiz(void **state)
{
	static const int timeouts[][2] = {{5, 5}, {3, 5}, {90, 60}, {15, 15}};
	for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		struct decision d = {.kind = DECISION_GATHER};
		struct hook_render r = {
			.say = PROMPT, .gather_url = VB_GATHER_URL, .gather_digits = 6, .gather_timeout = timeouts[i][0]};
		char want[1024];
		snprintf(want, sizeof(want),
			 "<Response><Gather action=\"https://p.example/hooks/vobiz/gather?attempt=2&amp;x=&lt;y>\" "
			 "method=\"POST\" inputType=\"dtmf\" executionTimeout=\"%d\" finishOnKey=\"#\" numDigits=\"6\">"
			 PROMPT_XML "</Gather><Redirect method=\"POST\">https://p.example/hooks/vobiz/gather?attempt=2"
			 "&amp;x=&lt;y&gt;</Redirect></Response>",
			 timeouts[i][1]);
		render(VB, &d, &r, want);
	}
}

/* r.addHangup({reason: 'rejected'}); a message keeps Speak + Hangup */
static void markup_reject_without_message(void **state)
{
	struct decision d = {.kind = DECISION_REJECT};
	struct hook_render r = {0};
	render(PL, &d, &r, "<Response><Hangup reason=\"rejected\"/></Response>");
	r.say = "";
	render(VB, &d, &r, "<Response><Hangup reason=\"rejected\"/></Response>");
	r.say = "Bye";
	render(VB, &d, &r, "<Response><Speak>Bye</Speak><Hangup/></Response>");
}

/* r.addDial({callerId}).addNumber(real); r.addMessage(text, {src, dst, type: 'sms'}) */
static void markup_no_status_url(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {0};
	render(PL, &d, &r, "<Response><Dial callerId=\"14155550100\"><Number>13105550199</Number></Dial></Response>");
	render(VB, &d, &r, "<Response><Dial callerId=\"14155550100\"><Number>13105550199</Number></Dial></Response>");
	struct decision f = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render fr = {.body = "hi"};
	render(PL, &f, &fr,
	       "<Response><Message src=\"14155550100\" dst=\"13105550199\" type=\"sms\">hi</Message></Response>");
}

static void parse_gather(void **state)
{
	struct req q;
	struct hook_input in;
	/* the GetDigits action: the call's parameters plus Digits */
	req_init(&q, "POST", "attempt=1",
		 "CallUUID=2e3c1ed0-5f6a&CallStatus=in-progress&Direction=inbound&From=12125550123&To=14155550100"
		 "&Digits=123456");
	assert_int_equal(parse(PL, &q, HOOK_GATHER, &in), 0);
	assert_int_equal(in.event, HOOK_GATHER);
	assert_string_equal(in.from, "+12125550123");
	assert_string_equal(in.to, "+14155550100");
	assert_string_equal(in.sid, "2e3c1ed0-5f6a");
	assert_string_equal(in.digits, "123456");
	arena_free(&q.arena);

	/* Vobiz's Gather: InputType, Digits; a trailing '#' dropped */
	req_init(&q, "POST", "attempt=2", "CallUUID=u&From=919812345678&To=918012345678&InputType=dtmf&Digits=4321%23");
	assert_int_equal(parse(VB, &q, HOOK_GATHER, &in), 0);
	assert_string_equal(in.digits, "4321");
	assert_string_equal(in.from, "+919812345678");
	arena_free(&q.arena);

	/* timeout: empty Digits (Vobiz), or none at all (the <Redirect> after GetDigits) */
	req_init(&q, "POST", "attempt=3", "CallUUID=u&From=1&To=2&Digits=");
	assert_int_equal(parse(VB, &q, HOOK_GATHER, &in), 0);
	assert_string_equal(in.digits, "");
	arena_free(&q.arena);
	req_init(&q, "POST", "attempt=3", "CallUUID=u&From=1&To=2&Event=Redirect");
	assert_int_equal(parse(PL, &q, HOOK_GATHER, &in), 0);
	assert_null(in.digits);
	assert_string_equal(in.sid, "u");
	arena_free(&q.arena);

	/* digits are read for gather only */
	req_init(&q, "POST", "", "CallUUID=u&From=1&To=2&Digits=9");
	assert_int_equal(parse(PL, &q, HOOK_VOICE, &in), 0);
	assert_null(in.digits);
	arena_free(&q.arena);

	/* malformed */
	req_init(&q, "POST", "attempt=1", "CallUUID=u&Digits=%zz");
	assert_int_equal(parse(PL, &q, HOOK_GATHER, &in), 400);
	arena_free(&q.arena);
	req_init(&q, "POST", "attempt=1", "{\"Digits\":\"1\"}");
	req_header(&q, "Content-Type", "application/json");
	assert_int_equal(parse(VB, &q, HOOK_GATHER, &in), 415);
	arena_free(&q.arena);
}

/* The GetDigits action is signed like the voice webhook: V3 */
static void plivo_gather_needs_v3(void **state)
{
	struct service *svc = service_with(DIALECT_PLIVO, "{\"auth_token\":\"" V3_TOKEN "\"}");
	struct req q;
	req_init(&q, "POST", "", V3_BODY);
	req_header(&q, "X-Plivo-Signature-V3", V3_SIG);
	req_header(&q, "X-Plivo-Signature-V3-Nonce", V3_NONCE);
	assert_true(verify(PL, svc, &q, HOOK_GATHER, V3_URL));
	assert_false(verify(PL, svc, &q, HOOK_GATHER, V3_URL "?attempt=1"));
	arena_free(&q.arena);
	char v2[PLIVO_SIG_LEN + 1];
	assert_true(plivo_sig_v2_compute(V3_TOKEN, V3_URL, V3_NONCE, v2));
	req_init(&q, "POST", "", V3_BODY);
	req_header(&q, "X-Plivo-Signature-V2", v2);
	req_header(&q, "X-Plivo-Signature-V2-Nonce", V3_NONCE);
	assert_false(verify(PL, svc, &q, HOOK_GATHER, V3_URL));
	arena_free(&q.arena);
}

/* ------------------------------------------------------------ REST (MMS) */

static void send_sms_is_markup(void **state)
{
	struct service *svc = service_with(DIALECT_PLIVO, "{\"auth_token\":\"tok\",\"auth_id\":\"MAXXXXXXXXXXXXXXXXXX\"}");
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.status_url = STATUS_URL, .body = "hi"};
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	assert_int_equal(PL->build_send(svc, &d, &r, "http://127.0.0.1:9", &out), MASKD_ENOTFOUND);
	assert_null(out.body);
	assert_string_equal(out.url, "");
	d.kind = DECISION_BRIDGE;
	assert_int_equal(PL->build_send(svc, &d, &r, "http://127.0.0.1:9", &out), MASKD_ENOTFOUND);
	assert_null(VB->build_send);
}

static void send_mms_like_the_sdk(void **state)
{
	struct service *svc = service_with(DIALECT_PLIVO, "{\"auth_token\":\"tok\",\"auth_id\":\"MAXXXXXXXXXXXXXXXXXX\"}");
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	const char *media[] = {"https://a/b.jpg", "https://c/d.png?x=1&y=2"};
	struct hook_render r = {.status_url = "https://maskd.example.com/hooks/plivo/status?interaction=int_x",
				.body = "pics & \"q\" \xc3\xa9",
				.media = media,
				.n_media = 2};
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	assert_int_equal(PL->build_send(svc, &d, &r, "http://127.0.0.1:9", &out), 0);
	assert_string_equal(out.url, "http://127.0.0.1:9/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/");
	assert_string_equal(out.content_type, "application/json");
	/* plivo-node: 'Basic ' + base64(authId + ':' + authToken) */
	assert_string_equal(out.authorization, "Basic TUFYWFhYWFhYWFhYWFhYWFhYWFg6dG9r");
	assert_int_equal(out.dialect, DIALECT_PLIVO);
	/* what plivo (npm) 4.79.0 client.messages.create({src, dst, text, type: 'mms',
	 * media_urls, url, method: 'POST'}) sent to a capture server */
	const char *want = "{\"url\":\"https://maskd.example.com/hooks/plivo/status?interaction=int_x\",\"method\":\"POST\","
			   "\"type\":\"mms\",\"media_urls\":[\"https://a/b.jpg\",\"https://c/d.png?x=1&y=2\"],"
			   "\"src\":\"14155550100\",\"dst\":\"13105550199\",\"text\":\"pics & \\\"q\\\" \xc3\xa9\"}";
	assert_string_equal(out.body, want);
	assert_int_equal(out.body_len, strlen(want));
	free(out.body);

	/* no text: the key is left out, as the SDK does for an undefined text */
	r.body = NULL;
	memset(&out, 0, sizeof(out));
	assert_int_equal(PL->build_send(svc, &d, &r, "https://api.plivo.com", &out), 0);
	assert_string_equal(out.url, "https://api.plivo.com/v1/Account/MAXXXXXXXXXXXXXXXXXX/Message/");
	assert_string_equal(out.body, "{\"url\":\"https://maskd.example.com/hooks/plivo/status?interaction=int_x\","
				      "\"method\":\"POST\",\"type\":\"mms\",\"media_urls\":[\"https://a/b.jpg\","
				      "\"https://c/d.png?x=1&y=2\"],\"src\":\"14155550100\",\"dst\":\"13105550199\"}");
	free(out.body);
}

static void send_mms_refusals(void **state)
{
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	const char *media[] = {"https://a/b.jpg"};
	struct hook_render r = {.status_url = STATUS_URL, .body = "x", .media = media, .n_media = 1};
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	/* no auth_id, no auth_token, an auth_id that is not alphanumeric */
	assert_int_equal(PL->build_send(service_with(DIALECT_PLIVO, "{\"auth_token\":\"tok\"}"), &d, &r, "h", &out),
			 MASKD_EINVAL);
	assert_int_equal(PL->build_send(service_with(DIALECT_PLIVO, "{\"auth_id\":\"MA1\"}"), &d, &r, "h", &out),
			 MASKD_EINVAL);
	assert_int_equal(PL->build_send(service_with(DIALECT_PLIVO, "{\"auth_id\":\"MA/../x\",\"auth_token\":\"t\"}"),
					&d, &r, "h", &out),
			 MASKD_EINVAL);
	assert_null(out.body);
	/* text that is not UTF-8 is sent, its ill-formed bytes as U+FFFD */
	struct service *svc = service_with(DIALECT_PLIVO, "{\"auth_token\":\"tok\",\"auth_id\":\"MA1\"}");
	r.body = "caf\xe9";
	assert_int_equal(PL->build_send(svc, &d, &r, "h", &out), 0);
	assert_non_null(strstr(out.body, "\"text\":\"caf\xEF\xBF\xBD\""));
	free(out.body);
}

/* No status URL: no url/method in the body (messages.create({src, dst, text, type:
 * 'mms', media_urls}) sends none) */
static void send_mms_without_status_url(void **state)
{
	struct service *svc = service_with(DIALECT_PLIVO, "{\"auth_token\":\"tok\",\"auth_id\":\"MA1\"}");
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	const char *media[] = {"https://a/b.jpg"};
	struct hook_render r = {.body = "x", .media = media, .n_media = 1};
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	assert_int_equal(PL->build_send(svc, &d, &r, "https://api.plivo.com", &out), 0);
	assert_string_equal(out.body, "{\"type\":\"mms\",\"media_urls\":[\"https://a/b.jpg\"],\"src\":\"14155550100\","
				      "\"dst\":\"13105550199\",\"text\":\"x\"}");
	free(out.body);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_voice_post),
		cmocka_unit_test(parse_keeps_what_is_not_digits),
		cmocka_unit_test(parse_voice_get),
		cmocka_unit_test(parse_refusals),
		cmocka_unit_test(parse_sms_and_mms),
		cmocka_unit_test(parse_status_callbacks),
		cmocka_unit_test(plivo_voice_needs_v3),
		cmocka_unit_test(plivo_message_needs_v2),
		cmocka_unit_test(vobiz_v3_either_reading_or_v2),
		cmocka_unit_test(markup_bridge),
		cmocka_unit_test(markup_bridge_recorded_with_limits),
		cmocka_unit_test(markup_forward_sms),
		cmocka_unit_test(markup_reject_and_empty),
		cmocka_unit_test(send_sms_is_markup),
		cmocka_unit_test(send_mms_like_the_sdk),
		cmocka_unit_test(send_mms_refusals),
		cmocka_unit_test(markup_gather_plivo),
		cmocka_unit_test(markup_gather_vobiz),
		cmocka_unit_test(markup_reject_without_message),
		cmocka_unit_test(markup_no_status_url),
		cmocka_unit_test(parse_gather),
		cmocka_unit_test(plivo_gather_needs_v3),
		cmocka_unit_test(send_mms_without_status_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
