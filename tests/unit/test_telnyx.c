/* SPDX-License-Identifier: MIT */
/* test_telnyx.c - the Telnyx dialect through its hook_dialect table: parsing of
 * TeXML form requests and API v2 JSON webhooks (shapes from the Telnyx docs, and
 * malformed ones), number normalisation, status mapping, signature checks with a
 * key pair made here, TeXML rendering compared with strings, and the REST request
 * build_send prepares (the body telnyx-node's messages.send writes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "hooks/dialect.h"
#include "util/crypto.h"
#include "util/err.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define STATUS_URL "https://p.example/hooks/telnyx/status?interaction=int_a"

static const struct hook_dialect *const dl = &hook_dialect_telnyx;

/* ------------------------------------------------------------ request helpers */

struct req {
	struct arena arena;
	struct http_header headers[4];
	struct http_request r;
	struct hook_input in;
};

static void req_init(struct req *q, const char *method, const char *query, const char *ct, const char *body)
{
	memset(q, 0, sizeof(*q));
	q->r.method = method;
	q->r.query = query;
	q->r.target = "/hooks/telnyx/x";
	q->r.path = "/hooks/telnyx/x";
	q->r.body = body;
	q->r.body_len = strlen(body);
	q->r.headers = q->headers;
	q->r.arena = &q->arena;
	if (ct != NULL)
		q->headers[q->r.n_headers++] = (struct http_header){"Content-Type", ct};
}

static void req_header(struct req *q, const char *name, const char *value)
{
	assert_true(q->r.n_headers < 4);
	q->headers[q->r.n_headers++] = (struct http_header){name, value};
}

static int req_parse(struct req *q, enum hook_event event, const char **why)
{
	*why = NULL;
	return dl->parse(&q->r, event, &q->in, why);
}

#define FORM "application/x-www-form-urlencoded"
#define JSON "application/json"

/* The TeXML call-initiated shape (developers.telnyx.com callbacks/texml-call-initiated). */
static const char texml_voice[] =
	"AccountSid=f5586561-8ff0-4291-a51b-c7dfe4139ff9&CallSid=v3%3A9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ"
	"&CallSidLegacy=v3%3A9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ&CallStatus=ringing"
	"&CallbackSource=call-progress-events&ConnectionId=1234567890&From=%2B13125550001&SequenceNumber=1"
	"&Timestamp=2024-01-15T10%3A30%3A00Z&To=%2B14155550100&CallerId=John+Doe&ShakenStirAttestation=A";

/* message.received as in developers.telnyx.com messaging/receive-message. */
static const char msg_received[] =
	"{\"data\":{\"event_type\":\"message.received\",\"id\":\"b301ed3f-1490-491f-995f-6e64e69674d4\","
	"\"occurred_at\":\"2019-12-09T20:16:07.588+00:00\",\"payload\":{\"cc\":[],\"completed_at\":null,\"cost\":null,"
	"\"direction\":\"inbound\",\"encoding\":\"GSM-7\",\"errors\":[],\"from\":{\"carrier\":\"T-Mobile USA\","
	"\"line_type\":\"long_code\",\"phone_number\":\"+13125550001\",\"status\":\"webhook_delivered\"},"
	"\"id\":\"84cca175-9755-4859-b67f-4730d7f58aa3\",\"media\":[{\"content_type\":\"image/jpeg\","
	"\"url\":\"https://media.telnyx.example/a.jpg\"},{\"content_type\":\"image/png\",\"url\":\"https://media.telnyx.example/b.png\"}],"
	"\"messaging_profile_id\":\"740572b6-099c-44a1-89b9-6c92163bc68d\",\"parts\":1,\"record_type\":\"message\","
	"\"text\":\"Hello from Telnyx! \\u00e9\",\"to\":[{\"carrier\":\"Telnyx\",\"line_type\":\"Wireless\","
	"\"phone_number\":\"+14155550100\",\"status\":\"webhook_delivered\"}],\"type\":\"MMS\",\"valid_until\":null,"
	"\"webhook_failover_url\":null,\"webhook_url\":\"https://www.example.com/hooks\"},\"record_type\":\"event\"},"
	"\"meta\":{\"attempt\":1,\"delivered_to\":\"https://example.com/webhooks\"}}";

/* message.finalized (receiving-webhooks page), delivered, with cost. */
static const char msg_finalized[] =
	"{\"data\":{\"event_type\":\"message.finalized\",\"id\":\"4ee8c3a6-4995-4309-a3c6-38e3db9ea4be\","
	"\"occurred_at\":\"2024-01-15T10:30:05.000+00:00\",\"payload\":{\"completed_at\":\"2024-01-15T10:30:05.000+00:00\","
	"\"cost\":{\"amount\":\"0.0051\",\"currency\":\"USD\"},\"direction\":\"outbound\",\"errors\":[],"
	"\"from\":{\"carrier\":\"Telnyx\",\"line_type\":\"Wireless\",\"phone_number\":\"+14155550100\"},"
	"\"id\":\"40385f64-5717-4562-b3fc-2c963f66afa6\",\"parts\":1,\"record_type\":\"message\",\"text\":\"hi\","
	"\"to\":[{\"carrier\":\"T-MOBILE USA, INC.\",\"line_type\":\"Wireless\",\"phone_number\":\"+13125550001\","
	"\"status\":\"delivered\"}],\"type\":\"SMS\"},\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}";

/* ------------------------------------------------------------ parse: voice */

static void parse_texml_voice(void **state)
{
	struct req q;
	const char *why;
	req_init(&q, "POST", "", FORM, texml_voice);
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 0);
	assert_int_equal(q.in.event, HOOK_VOICE);
	assert_string_equal(q.in.from, "+13125550001");
	assert_string_equal(q.in.to, "+14155550100");
	assert_string_equal(q.in.sid, "v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ");
	assert_null(q.in.body);
	assert_int_equal(q.in.n_media, 0);
	assert_true(q.in.params.n > 5);
	arena_free(&q.arena);
}

static void parse_normalises_numbers(void **state)
{
	struct req q;
	const char *why;
	req_init(&q, "POST", "", FORM, "CallSid=v3%3Ax&From=13125550001&To=14155550100");
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 0);
	assert_string_equal(q.in.from, "+13125550001");
	assert_string_equal(q.in.to, "+14155550100");
	arena_free(&q.arena);

	/* Not all digits: left as is (the pipeline treats it as an unknown caller). */
	req_init(&q, "POST", "", FORM, "CallSid=v3%3Ax&From=sip%3Aalice%40example.com&To=%2B14155550100");
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 0);
	assert_string_equal(q.in.from, "sip:alice@example.com");
	arena_free(&q.arena);

	req_init(&q, "POST", "", FORM, "CallSid=v3%3Ax&From=anonymous&To=");
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 0);
	assert_string_equal(q.in.from, "anonymous");
	assert_string_equal(q.in.to, "");
	arena_free(&q.arena);

	/* JSON numbers are normalised too. */
	req_init(&q, "POST", "", JSON,
		 "{\"data\":{\"event_type\":\"message.received\",\"payload\":{\"id\":\"m1\",\"text\":\"x\","
		 "\"from\":{\"phone_number\":\"13125550001\"},\"to\":[{\"phone_number\":\"14155550100\"}]}}}");
	assert_int_equal(req_parse(&q, HOOK_MESSAGE, &why), 0);
	assert_string_equal(q.in.from, "+13125550001");
	assert_string_equal(q.in.to, "+14155550100");
	arena_free(&q.arena);
}

static void parse_missing_fields_are_not_refusals(void **state)
{
	struct req q;
	const char *why;
	req_init(&q, "POST", "", FORM, "AccountSid=x");
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 0);
	assert_null(q.in.from);
	assert_null(q.in.to);
	assert_null(q.in.sid);
	arena_free(&q.arena);
}

static void parse_refusals(void **state)
{
	struct req q;
	const char *why;
	req_init(&q, "GET", "From=%2B1", NULL, "");
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 405);
	assert_non_null(why);
	arena_free(&q.arena);

	req_init(&q, "POST", "", "text/plain", "From=1");
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 415);
	arena_free(&q.arena);

	req_init(&q, "POST", "", JSON, msg_received);
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 415);
	arena_free(&q.arena);

	req_init(&q, "POST", "", FORM, "From=1");
	assert_int_equal(req_parse(&q, HOOK_MESSAGE, &why), 415);
	arena_free(&q.arena);

	req_init(&q, "POST", "", FORM, "From=%zz");
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 400);
	arena_free(&q.arena);

	req_init(&q, "POST", "interaction=%zz", FORM, "From=1");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 400);
	arena_free(&q.arena);
}

/* ------------------------------------------------------------ parse: messages */

static void parse_message_received(void **state)
{
	struct req q;
	const char *why;
	req_init(&q, "POST", "", "application/json; charset=utf-8", msg_received);
	assert_int_equal(req_parse(&q, HOOK_MESSAGE, &why), 0);
	assert_int_equal(q.in.event, HOOK_MESSAGE);
	assert_string_equal(q.in.from, "+13125550001");
	assert_string_equal(q.in.to, "+14155550100");
	assert_string_equal(q.in.sid, "84cca175-9755-4859-b67f-4730d7f58aa3");
	assert_string_equal(q.in.body, "Hello from Telnyx! \xc3\xa9");
	assert_int_equal(q.in.n_media, 2);
	assert_string_equal(q.in.media[0], "https://media.telnyx.example/a.jpg");
	assert_string_equal(q.in.media[1], "https://media.telnyx.example/b.png");
	arena_free(&q.arena);

	/* No Content-Type: a body that starts with '{' is JSON. */
	req_init(&q, "POST", "", NULL, msg_received);
	assert_int_equal(req_parse(&q, HOOK_MESSAGE, &why), 0);
	assert_string_equal(q.in.sid, "84cca175-9755-4859-b67f-4730d7f58aa3");
	arena_free(&q.arena);
}

static void parse_message_media_capped(void **state)
{
	char body[4096];
	int n = snprintf(body, sizeof(body), "{\"data\":{\"event_type\":\"message.received\",\"payload\":{\"id\":\"m\","
					     "\"from\":{\"phone_number\":\"+13125550001\"},\"to\":[{\"phone_number\":\"+14155550100\"}],"
					     "\"media\":[");
	for (int i = 0; i < HOOK_MEDIA_MAX + 3; i++)
		n += snprintf(body + n, sizeof(body) - (size_t)n, "%s{\"url\":\"https://m/%d\"}", i ? "," : "", i);
	snprintf(body + n, sizeof(body) - (size_t)n, ",{\"url\":5},{}]}}}");
	struct req q;
	const char *why;
	req_init(&q, "POST", "", JSON, body);
	assert_int_equal(req_parse(&q, HOOK_MESSAGE, &why), 0);
	assert_int_equal(q.in.n_media, HOOK_MEDIA_MAX);
	assert_string_equal(q.in.media[HOOK_MEDIA_MAX - 1], "https://m/9");
	assert_null(q.in.body);
	arena_free(&q.arena);
}

static void parse_malformed_json(void **state)
{
	static const char *const bad[] = {
		"{", "[]", "\"x\"", "{\"a\":1,\"a\":2}", "{\"data\":{\"payload\":{\"text\":\"\\u0000\"}}}", "nul\x01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct req q;
		const char *why;
		req_init(&q, "POST", "", JSON, bad[i]);
		assert_int_equal(req_parse(&q, HOOK_MESSAGE, &why), 400);
		assert_non_null(why);
		arena_free(&q.arena);
	}
	/* Well-formed JSON of the wrong shape: parsed, fields NULL (the pipeline says 400). */
	static const char *const odd[] = {
		"{}",
		"{\"data\":[]}",
		"{\"data\":{\"event_type\":\"message.received\",\"payload\":{\"from\":\"+1\",\"to\":5,\"id\":7,\"media\":{}}}}",
		"{\"data\":{\"event_type\":\"message.received\",\"payload\":{\"to\":[]}}}",
		"{\"data\":{\"event_type\":\"message.sent\",\"payload\":{\"id\":\"x\"}}}",
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct req q;
		const char *why;
		req_init(&q, "POST", "", JSON, odd[i]);
		assert_int_equal(req_parse(&q, HOOK_MESSAGE, &why), 0);
		assert_null(q.in.from);
		assert_null(q.in.to);
		assert_null(q.in.sid);
		assert_int_equal(q.in.n_media, 0);
		arena_free(&q.arena);
	}
}

/* ------------------------------------------------------------ status mapping */

static void status_dial_action(void **state)
{
	struct req q;
	const char *why;
	req_init(&q, "POST", "interaction=int_abc", FORM,
		 "AccountSid=a&CallSid=v3%3Aparent&CallStatus=in-progress&DialCallSid=v3%3Achild"
		 "&DialCallStatus=completed&DialCallDuration=42&From=%2B13125550001&To=%2B14155550100");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_string_equal(q.in.interaction_id, "int_abc");
	assert_int_equal(q.in.st.leg, 'b');
	assert_string_equal(q.in.st.sid, "v3:child");
	assert_string_equal(q.in.st.status, "completed");
	assert_int_equal(q.in.st.duration, 42);
	assert_true(q.in.st.answered);
	assert_null(q.in.st.recording_url);
	arena_free(&q.arena);

	req_init(&q, "POST", "interaction=int_abc", FORM,
		 "CallSid=v3%3Aparent&DialCallSid=v3%3Achild&DialCallStatus=no-answer&DialCallDuration=0"
		 "&RecordingSid=rec_1&RecordingUrl=https%3A%2F%2Frec.example%2F1.mp3");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_string_equal(q.in.st.status, "no-answer");
	assert_false(q.in.st.answered);
	assert_int_equal(q.in.st.duration, 0);
	assert_string_equal(q.in.st.recording_id, "rec_1");
	assert_string_equal(q.in.st.recording_url, "https://rec.example/1.mp3");
	arena_free(&q.arena);
}

static void status_call_progress(void **state)
{
	struct req q;
	const char *why;
	/* The dialled leg's <Number statusCallback>: ParentCallSid names the inbound call. */
	req_init(&q, "POST", "interaction=int_abc", FORM,
		 "CallSid=v3%3Achild&CallStatus=completed&CallDuration=15&ParentCallSid=v3%3Aparent"
		 "&HangupSource=callee&SequenceNumber=3");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_int_equal(q.in.st.leg, 'b');
	assert_string_equal(q.in.st.sid, "v3:child");
	assert_string_equal(q.in.st.status, "completed");
	assert_int_equal(q.in.st.duration, 15);
	arena_free(&q.arena);

	/* No (or an empty) ParentCallSid: the inbound leg. Bad durations: -1. */
	req_init(&q, "POST", "interaction=int_abc", FORM, "CallSid=v3%3Aa&CallStatus=no-answer&CallDuration=x&ParentCallSid=");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_int_equal(q.in.st.leg, 'a');
	assert_string_equal(q.in.st.status, "no-answer");
	assert_int_equal(q.in.st.duration, -1);
	arena_free(&q.arena);

	req_init(&q, "POST", "interaction=int_abc", FORM, "CallSid=v3%3Aa&CallStatus=busy&CallDuration=-4");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_int_equal(q.in.st.duration, -1);
	arena_free(&q.arena);

	/* Nothing to map: no status. */
	req_init(&q, "POST", "", FORM, "AccountSid=a");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_null(q.in.st.status);
	assert_null(q.in.interaction_id);
	arena_free(&q.arena);
}

static void status_message_events(void **state)
{
	struct req q;
	const char *why;
	req_init(&q, "POST", "interaction=int_m", JSON, msg_finalized);
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_string_equal(q.in.interaction_id, "int_m");
	assert_int_equal(q.in.st.leg, 'b');
	assert_string_equal(q.in.st.sid, "40385f64-5717-4562-b3fc-2c963f66afa6");
	assert_string_equal(q.in.st.status, "delivered");
	assert_int_equal(q.in.st.duration, -1);
	assert_string_equal(q.in.st.cost, "0.0051");
	assert_string_equal(q.in.st.currency, "USD");
	assert_null(q.in.from);
	arena_free(&q.arena);

	/* message.sent without a recipient status: the event's name. */
	req_init(&q, "POST", "interaction=int_m", JSON,
		 "{\"data\":{\"event_type\":\"message.sent\",\"payload\":{\"id\":\"m2\",\"to\":[{\"phone_number\":\"+1\"}]}}}");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_string_equal(q.in.st.sid, "m2");
	assert_string_equal(q.in.st.status, "sent");
	assert_null(q.in.st.cost);
	assert_null(q.in.st.currency);
	arena_free(&q.arena);

	req_init(&q, "POST", "", JSON, "{\"data\":{\"event_type\":\"call.hangup\",\"payload\":{}}}");
	assert_int_equal(req_parse(&q, HOOK_STATUS, &why), 0);
	assert_null(q.in.st.status);
	assert_null(q.in.st.sid);
	arena_free(&q.arena);
}

/* ------------------------------------------------------------ verify */

static struct service svc;
static unsigned char sk[crypto_sign_SECRETKEYBYTES];

static int group_setup(void **state)
{
	if (sodium_init() < 0)
		return -1;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	crypto_sign_keypair(pk, sk);
	char pk64[64];
	base64_encode(pk, sizeof(pk), pk64);
	memset(&svc, 0, sizeof(svc));
	snprintf(svc.id, sizeof(svc.id), "svc_test");
	snprintf(svc.secrets[DIALECT_TELNYX], sizeof(svc.secrets[DIALECT_TELNYX]),
		 "{\"public_key\":\"%s\",\"api_key\":\"KEY0123_abc\"}", pk64);
	return 0;
}

static void sign(const char *ts, const char *body, char out[89])
{
	size_t tl = strlen(ts), bl = strlen(body);
	unsigned char *msg = malloc(tl + 1 + bl + 1);
	assert_non_null(msg);
	memcpy(msg, ts, tl);
	msg[tl] = '|';
	memcpy(msg + tl + 1, body, bl);
	unsigned char sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, msg, tl + 1 + bl, sk);
	free(msg);
	base64_encode(sig, sizeof(sig), out);
}

static bool verify_with(const char *body, const char *ct, const char *ts, const char *sig, int64_t now)
{
	struct req q;
	req_init(&q, "POST", "", ct, body);
	if (sig != NULL)
		req_header(&q, "Telnyx-Signature-Ed25519", sig);
	if (ts != NULL)
		req_header(&q, "telnyx-timestamp", ts);
	bool ok = dl->verify(&svc, &q.r, "https://ignored.example/", &q.in, now);
	arena_free(&q.arena);
	return ok;
}

static void verify_signatures(void **state)
{
	char sig[89];
	sign("1700000000", msg_received, sig);
	assert_true(verify_with(msg_received, JSON, "1700000000", sig, 1700000000));
	assert_true(verify_with(msg_received, JSON, "1700000000", sig, 1700000300));
	assert_true(verify_with(msg_received, JSON, "1700000000", sig, 1699999700));
	/* Outside the 300 s window: a replay. */
	assert_false(verify_with(msg_received, JSON, "1700000000", sig, 1700000301));
	assert_false(verify_with(msg_received, JSON, "1700000000", sig, 1699999699));
	/* Missing headers, another timestamp, a changed body. */
	assert_false(verify_with(msg_received, JSON, "1700000000", NULL, 1700000000));
	assert_false(verify_with(msg_received, JSON, NULL, sig, 1700000000));
	assert_false(verify_with(msg_received, JSON, "1700000001", sig, 1700000000));
	assert_false(verify_with(msg_finalized, JSON, "1700000000", sig, 1700000000));
	/* TeXML form bodies are signed the same way. */
	sign("1700000000", texml_voice, sig);
	assert_true(verify_with(texml_voice, FORM, "1700000000", sig, 1700000010));

	/* A service without a Telnyx public key refuses everything. */
	struct service other = svc;
	snprintf(other.secrets[DIALECT_TELNYX], sizeof(other.secrets[DIALECT_TELNYX]), "{\"api_key\":\"k\"}");
	struct req q;
	req_init(&q, "POST", "", FORM, texml_voice);
	req_header(&q, "telnyx-signature-ed25519", sig);
	req_header(&q, "telnyx-timestamp", "1700000000");
	assert_false(dl->verify(&other, &q.r, "u", &q.in, 1700000000));
	snprintf(other.secrets[DIALECT_TELNYX], sizeof(other.secrets[DIALECT_TELNYX]), "{\"public_key\":\"bm9wZQ==\"}");
	assert_false(dl->verify(&other, &q.r, "u", &q.in, 1700000000));
	arena_free(&q.arena);
}

/* ------------------------------------------------------------ render */

static void render_expect(const struct decision *d, const struct hook_render *r, const char *ct, const char *want)
{
	struct http_response res = {0};
	buf_init(&res.body);
	dl->render(d, r, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, ct);
	assert_string_equal(res.body.data != NULL ? res.body.data : "", want);
	buf_free(&res.body);
}

/* Identical to what twilio.twiml.VoiceResponse prints for the same bridge. */
static void render_bridge(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.status_url = STATUS_URL, .say = "unused"};
	render_expect(&d, &r, "text/xml",
		      DECL "<Response><Dial callerId=\"+14155550100\" answerOnBridge=\"true\" action=\"" STATUS_URL
			   "\"><Number statusCallback=\"" STATUS_URL
			   "\" statusCallbackEvent=\"initiated ringing answered completed\">+13105550199</Number></Dial></Response>");
}

/* PROVIDERS.md §2.3 / markup_samples.txt texml_bridge, with maskd's URLs. */
static void render_bridge_recorded(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {
		.status_url = STATUS_URL,
		.record = 1,
		.consent_message = "This call may be recorded.",
		.recording_url = "https://proxy.example.org/tx/rec",
		.time_limit = 3600,
		.ring_timeout = 25,
	};
	render_expect(&d, &r, "text/xml",
		      DECL "<Response><Say>This call may be recorded.</Say><Dial callerId=\"+14155550100\" timeout=\"25\" "
			   "timeLimit=\"3600\" answerOnBridge=\"true\" record=\"record-from-answer-dual\" "
			   "recordingStatusCallback=\"https://proxy.example.org/tx/rec\" action=\"" STATUS_URL
			   "\" method=\"POST\"><Number statusCallback=\"" STATUS_URL
			   "\" statusCallbackEvent=\"initiated ringing answered completed\">+13105550199</Number></Dial></Response>");

	/* Callee consent document; limits without recording (no <Say>, no record). */
	r.consent_url = "https://p.example/consent?a=1&b=2";
	render_expect(&d, &r, "text/xml",
		      DECL "<Response><Say>This call may be recorded.</Say><Dial callerId=\"+14155550100\" timeout=\"25\" "
			   "timeLimit=\"3600\" answerOnBridge=\"true\" record=\"record-from-answer-dual\" "
			   "recordingStatusCallback=\"https://proxy.example.org/tx/rec\" action=\"" STATUS_URL
			   "\" method=\"POST\"><Number url=\"https://p.example/consent?a=1&amp;b=2\" statusCallback=\"" STATUS_URL
			   "\" statusCallbackEvent=\"initiated ringing answered completed\">+13105550199</Number></Dial></Response>");
	struct hook_render lim = {.status_url = STATUS_URL, .time_limit = 600, .consent_message = "x"};
	render_expect(&d, &lim, "text/xml",
		      DECL "<Response><Dial callerId=\"+14155550100\" timeLimit=\"600\" answerOnBridge=\"true\" action=\"" STATUS_URL
			   "\" method=\"POST\"><Number statusCallback=\"" STATUS_URL
			   "\" statusCallbackEvent=\"initiated ringing answered completed\">+13105550199</Number></Dial></Response>");
}

static void render_reject_ack_forward(void **state)
{
	struct decision d = {.kind = DECISION_REJECT};
	struct hook_render r = {.say = "This number is no longer in service. Goodbye & <bye>"};
	render_expect(&d, &r, "text/xml",
		      DECL "<Response><Say>This number is no longer in service. Goodbye &amp; &lt;bye&gt;</Say><Hangup/></Response>");
	d.kind = DECISION_ACKNOWLEDGE;
	render_expect(&d, &r, "text/xml", DECL "<Response/>");
	struct decision f = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render fr = {.status_url = STATUS_URL, .body = "hi"};
	render_expect(&f, &fr, "text/plain; charset=utf-8", "");
}

/* ------------------------------------------------------------ pool and session policy */

#define GATHER_URL "https://p.example/hooks/telnyx/gather?attempt=2&x=<y>"

/* TeXML <Gather> has no actionOnEmptyResult: twilio's builder, gather({action,
 * numDigits, finishOnKey: '#', timeout}).say(prompt) then redirect({method: 'POST'},
 * url) */
static void render_gather(void **state)
{
	struct decision d = {.kind = DECISION_GATHER};
	struct hook_render r = {.event = HOOK_VOICE,
				.say = "Enter your PIN, then \"#\" & it's <done>",
				.gather_url = GATHER_URL,
				.gather_digits = 6,
				.gather_timeout = 5};
	const char *want =
		DECL "<Response><Gather action=\"https://p.example/hooks/telnyx/gather?attempt=2&amp;x=&lt;y>\" "
		     "numDigits=\"6\" finishOnKey=\"#\" timeout=\"5\"><Say>Enter your PIN, then \"#\" &amp; it's "
		     "&lt;done&gt;</Say></Gather><Redirect method=\"POST\">https://p.example/hooks/telnyx/gather?attempt=2"
		     "&amp;x=&lt;y&gt;</Redirect></Response>";
	render_expect(&d, &r, "text/xml", want);
	/* answering the gather request itself (a retry) is the same document */
	r.event = HOOK_GATHER;
	render_expect(&d, &r, "text/xml", want);
}

/* <Reject/> (VoiceResponse().reject()); a bridge without a status URL carries no
 * action, method, statusCallback nor statusCallbackEvent */
static void render_silent_reject_and_no_callbacks(void **state)
{
	struct decision d = {.kind = DECISION_REJECT};
	struct hook_render r = {0};
	render_expect(&d, &r, "text/xml", DECL "<Response><Reject/></Response>");
	r.say = "";
	render_expect(&d, &r, "text/xml", DECL "<Response><Reject/></Response>");

	struct decision b = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render plain = {0};
	render_expect(&b, &plain, "text/xml",
		      DECL "<Response><Dial callerId=\"+14155550100\" answerOnBridge=\"true\"><Number>+13105550199</Number>"
			   "</Dial></Response>");
	struct hook_render lim = {.time_limit = 3600, .ring_timeout = 25};
	render_expect(&b, &lim, "text/xml",
		      DECL "<Response><Dial callerId=\"+14155550100\" timeout=\"25\" timeLimit=\"3600\" "
			   "answerOnBridge=\"true\"><Number>+13105550199</Number></Dial></Response>");
}

static void parse_gather(void **state)
{
	struct req q;
	const char *why;
	/* the <Gather> action: the call's TeXML parameters plus Digits */
	static const char body[] = "AccountSid=f5586561&CallSid=v3%3Aabc&CallStatus=in-progress&From=%2B13125550001"
				   "&To=%2B14155550100&Digits=123456";
	req_init(&q, "POST", "attempt=1", FORM, body);
	assert_int_equal(req_parse(&q, HOOK_GATHER, &why), 0);
	assert_int_equal(q.in.event, HOOK_GATHER);
	assert_string_equal(q.in.from, "+13125550001");
	assert_string_equal(q.in.to, "+14155550100");
	assert_string_equal(q.in.sid, "v3:abc");
	assert_string_equal(q.in.digits, "123456");
	arena_free(&q.arena);

	req_init(&q, "POST", "attempt=1", FORM, "CallSid=v3%3Aabc&From=13125550001&To=14155550100&Digits=1234%23");
	assert_int_equal(req_parse(&q, HOOK_GATHER, &why), 0);
	assert_string_equal(q.in.digits, "1234");
	assert_string_equal(q.in.from, "+13125550001");
	arena_free(&q.arena);

	/* nothing entered: empty, or absent (the <Redirect> after the <Gather>) */
	req_init(&q, "POST", "attempt=2", FORM, "CallSid=v3%3Aabc&From=%2B1&To=%2B2&Digits=");
	assert_int_equal(req_parse(&q, HOOK_GATHER, &why), 0);
	assert_string_equal(q.in.digits, "");
	arena_free(&q.arena);
	req_init(&q, "POST", "attempt=2", FORM, "CallSid=v3%3Aabc&From=%2B1&To=%2B2");
	assert_int_equal(req_parse(&q, HOOK_GATHER, &why), 0);
	assert_null(q.in.digits);
	assert_string_equal(q.in.sid, "v3:abc");
	arena_free(&q.arena);

	/* a voice webhook's Digits are not read */
	req_init(&q, "POST", "", FORM, "CallSid=v3%3Aabc&Digits=1");
	assert_int_equal(req_parse(&q, HOOK_VOICE, &why), 0);
	assert_null(q.in.digits);
	arena_free(&q.arena);

	/* refusals: malformed form, JSON, GET */
	req_init(&q, "POST", "attempt=1", FORM, "CallSid=x&Digits=%zz");
	assert_int_equal(req_parse(&q, HOOK_GATHER, &why), 400);
	assert_non_null(why);
	arena_free(&q.arena);
	req_init(&q, "POST", "attempt=1", JSON, "{\"Digits\":\"1\"}");
	assert_int_equal(req_parse(&q, HOOK_GATHER, &why), 415);
	arena_free(&q.arena);
	req_init(&q, "GET", "attempt=1&Digits=1", NULL, "");
	assert_int_equal(req_parse(&q, HOOK_GATHER, &why), 405);
	arena_free(&q.arena);
}

/* ------------------------------------------------------------ build_send */

static void build_send_sms_and_mms(void **state)
{
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.status_url = STATUS_URL, .body = "Hello \"you\" \\ \n\t\x01 \xc3\xa9 </tag> & ok"};
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	snprintf(out.interaction_id, sizeof(out.interaction_id), "int_a");
	assert_int_equal(dl->build_send(&svc, &d, &r, "http://127.0.0.1:9", &out), 0);
	assert_string_equal(out.interaction_id, "int_a");
	assert_int_equal(out.dialect, DIALECT_TELNYX);
	assert_string_equal(out.url, "http://127.0.0.1:9/v2/messages");
	assert_string_equal(out.content_type, "application/json");
	assert_string_equal(out.authorization, "Bearer KEY0123_abc");
	/* JSON.stringify({from, to, text, webhook_url}) */
	const char *want = "{\"from\":\"+14155550100\",\"to\":\"+13105550199\",\"text\":\"Hello \\\"you\\\" \\\\ \\n\\t\\u0001 "
			   "\xc3\xa9 </tag> & ok\",\"webhook_url\":\"" STATUS_URL "\"}";
	assert_string_equal(out.body, want);
	assert_int_equal(out.body_len, strlen(want));
	free(out.body);

	const char *media[] = {"https://media.telnyx.example/a.jpg", "https://m/b?x=1&y=\"2\""};
	struct hook_render m = {.status_url = STATUS_URL, .body = "", .media = media, .n_media = 2};
	memset(&out, 0, sizeof(out));
	assert_int_equal(dl->build_send(&svc, &d, &m, "https://api.telnyx.com", &out), 0);
	assert_string_equal(out.url, "https://api.telnyx.com/v2/messages");
	assert_string_equal(out.body, "{\"from\":\"+14155550100\",\"to\":\"+13105550199\",\"media_urls\":["
				      "\"https://media.telnyx.example/a.jpg\",\"https://m/b?x=1&y=\\\"2\\\"\"],\"webhook_url\":\"" STATUS_URL
				      "\"}");
	free(out.body);
}

static void build_send_refusals(void **state)
{
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.body = "x"};
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	/* No webhook_url without a status URL. */
	assert_int_equal(dl->build_send(&svc, &d, &r, "http://h", &out), 0);
	assert_string_equal(out.body, "{\"from\":\"+14155550100\",\"to\":\"+13105550199\",\"text\":\"x\"}");
	free(out.body);

	struct service nokey = svc;
	snprintf(nokey.secrets[DIALECT_TELNYX], sizeof(nokey.secrets[DIALECT_TELNYX]), "{\"public_key\":\"x\"}");
	memset(&out, 0, sizeof(out));
	assert_int_equal(dl->build_send(&nokey, &d, &r, "http://h", &out), MASKD_EINVAL);
	assert_null(out.body);

	char base[700];
	memset(base, 'a', sizeof(base) - 1);
	base[sizeof(base) - 1] = '\0';
	assert_int_equal(dl->build_send(&svc, &d, &r, base, &out), MASKD_EINVAL);
	assert_null(out.body);

	d.kind = DECISION_BRIDGE;
	assert_int_equal(dl->build_send(&svc, &d, &r, "http://h", &out), MASKD_EINVAL);
	assert_null(out.body);
}

static void dialect_is_registered(void **state)
{
	assert_ptr_equal(hook_dialect_find("telnyx", 6), &hook_dialect_telnyx);
	assert_int_equal(hook_dialect_telnyx.id, DIALECT_TELNYX);
	assert_non_null(hook_dialect_telnyx.build_send);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_texml_voice),
		cmocka_unit_test(parse_normalises_numbers),
		cmocka_unit_test(parse_missing_fields_are_not_refusals),
		cmocka_unit_test(parse_refusals),
		cmocka_unit_test(parse_message_received),
		cmocka_unit_test(parse_message_media_capped),
		cmocka_unit_test(parse_malformed_json),
		cmocka_unit_test(status_dial_action),
		cmocka_unit_test(status_call_progress),
		cmocka_unit_test(status_message_events),
		cmocka_unit_test(verify_signatures),
		cmocka_unit_test(render_bridge),
		cmocka_unit_test(render_bridge_recorded),
		cmocka_unit_test(render_reject_ack_forward),
		cmocka_unit_test(build_send_sms_and_mms),
		cmocka_unit_test(build_send_refusals),
		cmocka_unit_test(dialect_is_registered),
		cmocka_unit_test(render_gather),
		cmocka_unit_test(render_silent_reject_and_no_callbacks),
		cmocka_unit_test(parse_gather),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
