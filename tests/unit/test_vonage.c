/* SPDX-License-Identifier: MIT */
/* test_vonage.c - the Vonage dialect through its table (hook_dialect_vonage): parsing
 * of real answer, event and inbound-SMS payloads (and malformed ones), number
 * normalisation, the NCCO compared with tests/data/markup_samples.txt, the SMS
 * API request compared with what @vonage/sms 1.21.0 send() put on the wire (captured),
 * and verify() with JWTs (HS256, none, RS256, payload_hash) and SMS "sig". The gather
 * NCCO is what @vonage/voice 1.21.0's NCCOBuilder with Talk and Input builds (printed
 * by a script run against tests/blackbox/node_modules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks/dialect.h"
#include "hooks/vonage_sig.h"
#include "util/crypto.h"
#include "util/err.h"

#define SAMPLES_PATH MASKD_SOURCE_DIR "/tests/data/markup_samples.txt"
#define SECRET "vonage-signature-secret-for-tests"
#define NOW 1760000000

static const struct hook_dialect *vg = &hook_dialect_vonage;

/* ------------------------------------------------------------------ helpers */

struct req {
	struct arena a;
	struct http_request r;
	struct http_header h[4];
};

static void req_init(struct req *q, const char *method, const char *query, const char *ct, const char *body)
{
	memset(q, 0, sizeof(*q));
	q->r.method = method;
	q->r.query = query != NULL ? query : "";
	q->r.path = "/hooks/vonage/x";
	q->r.target = q->r.path;
	q->r.body = body != NULL ? body : "";
	q->r.body_len = body != NULL ? strlen(body) : 0;
	q->r.headers = q->h;
	q->r.arena = &q->a;
	if (ct != NULL)
		q->h[q->r.n_headers++] = (struct http_header){"Content-Type", ct};
}

static void req_auth(struct req *q, const char *value)
{
	q->h[q->r.n_headers++] = (struct http_header){"Authorization", value};
}

static int parse(struct req *q, enum hook_event event, struct hook_input *in)
{
	const char *why = NULL;
	memset(in, 0, sizeof(*in));
	int rc = vg->parse(&q->r, event, in, &why);
	if (rc != 0)
		assert_non_null(why);
	return rc;
}

static void b64url(const void *in, size_t n, char *out)
{
	base64_encode(in, n, out);
	char *w = out;
	for (char *p = out; *p; p++) {
		if (*p == '=')
			continue;
		*w++ = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	}
	*w = '\0';
}

/* "Bearer " + a JWT with header hdr and payload pl, HMAC-SHA256-signed with secret. */
static char *jwt(const char *hdr, const char *pl, const char *secret)
{
	static char out[2048];
	char h[512], p[1024], sig[64];
	b64url(hdr, strlen(hdr), h);
	b64url(pl, strlen(pl), p);
	char signing[1600];
	snprintf(signing, sizeof(signing), "%s.%s", h, p);
	uint8_t mac[32];
	hmac_sha256(secret, strlen(secret), signing, strlen(signing), mac);
	b64url(mac, sizeof(mac), sig);
	snprintf(out, sizeof(out), "Bearer %s.%s", signing, sig);
	return out;
}

static const char *body_hash(const char *body)
{
	static char hex[65];
	uint8_t d[32];
	sha256(body, strlen(body), d);
	hex_encode(d, sizeof(d), hex);
	return hex;
}

static void service(struct service *svc, const char *creds)
{
	memset(svc, 0, sizeof(*svc));
	snprintf(svc->id, sizeof(svc->id), "svc_test");
	snprintf(svc->secrets[DIALECT_VONAGE], sizeof(svc->secrets[0]), "%s", creds);
}

static json_t *sample(const char *name)
{
	FILE *f = fopen(SAMPLES_PATH, "r");
	assert_non_null(f);
	static char text[65536];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	char head[128];
	snprintf(head, sizeof(head), "### %s\n", name);
	const char *s = strstr(text, head);
	assert_non_null(s);
	s += strlen(head);
	const char *e = strstr(s, "\n### ");
	json_error_t err;
	json_t *j = json_loadb(s, e != NULL ? (size_t)(e - s) : strlen(s), 0, &err);
	assert_non_null(j);
	return j;
}

static void render(const struct decision *d, const struct hook_render *r, struct http_response *res)
{
	memset(res, 0, sizeof(*res));
	buf_init(&res->body);
	vg->render(d, r, res);
	assert_int_equal(res->status, 200);
}

static void assert_ncco(const struct http_response *res, json_t *want)
{
	assert_string_equal(res->content_type, "application/json");
	json_error_t err;
	json_t *got = json_loadb(res->body.data, res->body.len, 0, &err);
	assert_non_null(got);
	if (!json_equal(got, want)) {
		char *w = json_dumps(want, JSON_COMPACT);
		print_message("got  %s\nwant %s\n", res->body.data, w);
		free(w);
		fail();
	}
	json_decref(got);
}

/* ------------------------------------------------------------------ parse */

static void parse_answer_get(void **state)
{
	struct req q;
	struct hook_input in;
	req_init(&q, "GET", "from=447700900001&to=14155550100&uuid=aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
			    "&conversation_uuid=CON-aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee&region_url=https%3A%2F%2Fapi-us-3.vonage.com",
		 NULL, NULL);
	assert_int_equal(parse(&q, HOOK_VOICE, &in), 0);
	assert_int_equal(in.event, HOOK_VOICE);
	assert_string_equal(in.from, "+447700900001");
	assert_string_equal(in.to, "+14155550100");
	assert_string_equal(in.sid, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
	assert_null(in.interaction_id);
	arena_free(&q.a);
}

static void parse_answer_post_json(void **state)
{
	struct req q;
	struct hook_input in;
	req_init(&q, "POST", "", "application/json",
		 "{\"from\":\"13105550199\",\"to\":\"14155550100\",\"uuid\":\"u-1\","
		 "\"conversation_uuid\":\"CON-1\",\"endpoint_type\":\"phone\",\"headers\":{}}");
	assert_int_equal(parse(&q, HOOK_VOICE, &in), 0);
	assert_string_equal(in.from, "+13105550199");
	assert_string_equal(in.to, "+14155550100");
	assert_string_equal(in.sid, "u-1");
	arena_free(&q.a);
}

static void parse_numbers_normalised(void **state)
{
	static const struct {
		const char *query, *from;
	} cases[] = {
		{"from=14155550101&to=1&uuid=u", "+14155550101"},
		{"from=%2B14155550101&to=1&uuid=u", "+14155550101"}, /* already E.164: kept */
		{"from=Unknown&to=1&uuid=u", "Unknown"},
		{"from=anonymous&to=1&uuid=u", "anonymous"},
		{"from=1415-555&to=1&uuid=u", "1415-555"},
		{"from=&to=1&uuid=u", ""},
		{"from_user=alice&to=1&uuid=u", "alice"}, /* app-user call: no from */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct req q;
		struct hook_input in;
		req_init(&q, "GET", cases[i].query, NULL, NULL);
		assert_int_equal(parse(&q, HOOK_VOICE, &in), 0);
		assert_string_equal(in.from, cases[i].from);
		assert_string_equal(in.to, "+1");
		arena_free(&q.a);
	}
	struct req q;
	struct hook_input in;
	req_init(&q, "GET", "uuid=u", NULL, NULL);
	assert_int_equal(parse(&q, HOOK_VOICE, &in), 0);
	assert_null(in.from); /* the pipeline answers 400 missing From */
	assert_null(in.to);
	arena_free(&q.a);
}

static void parse_malformed(void **state)
{
	static const struct {
		const char *method, *query, *ct, *body;
		int status;
	} cases[] = {
		{"PUT", "", NULL, NULL, 405},
		{"DELETE", "", NULL, NULL, 405},
		{"GET", "from=%zz", NULL, NULL, 400},
		{"POST", "", "application/json", "{\"from\":", 400},
		{"POST", "", "application/json", "[1,2]", 400},
		{"POST", "", "application/json", "\"x\"", 400},
		{"POST", "", "application/json", "", 400},
		{"POST", "", "application/json", "{\"uuid\":\"a\",\"uuid\":\"b\"}", 400}, /* duplicate key */
		{"POST", "", "application/json", "{\"text\":\"a\\u0000b\"}", 400},
		{"POST", "", "text/xml", "<a/>", 415},
		{"POST", "", "application/x-www-form-urlencoded", "a=%G0", 400},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct req q;
		struct hook_input in;
		req_init(&q, cases[i].method, cases[i].query, cases[i].ct, cases[i].body);
		assert_int_equal(parse(&q, HOOK_VOICE, &in), cases[i].status);
		arena_free(&q.a);
	}
	/* too many fields: 413 */
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "{");
	for (int i = 0; i <= FORM_FIELDS_MAX; i++)
		buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	buf_puts(&b, "}");
	struct req q;
	struct hook_input in;
	req_init(&q, "POST", "", "application/json", b.data);
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 413);
	arena_free(&q.a);
	buf_free(&b);
	/* non-string JSON values are read in their JSON spelling; nested ones skipped */
	req_init(&q, "POST", "", "application/json; charset=utf-8",
		 "{\"to\":14155550100,\"from\":null,\"uuid\":{\"x\":1},\"duration\":2.5,\"ok\":true}");
	assert_int_equal(parse(&q, HOOK_VOICE, &in), 0);
	assert_string_equal(in.to, "+14155550100");
	assert_null(in.from);
	assert_null(in.sid);
	assert_string_equal(form_get(&in.params, "duration"), "2.5");
	assert_string_equal(form_get(&in.params, "ok"), "true");
	arena_free(&q.a);
}

static void parse_sms(void **state)
{
	/* GET (the SMS API default), signed */
	struct req q;
	struct hook_input in;
	req_init(&q, "GET",
		 "msisdn=13105550199&to=14155550100&messageId=0A0000000123ABCD1&text=Hello+%26+welcome"
		 "&type=text&keyword=HELLO&api-key=abcd1234&message-timestamp=2020-01-01+12%3A00%3A00"
		 "&timestamp=1578830400&nonce=aaaaaaaa-bbbb&sig=00",
		 NULL, NULL);
	assert_int_equal(parse(&q, HOOK_MESSAGE, &in), 0);
	assert_string_equal(in.from, "+13105550199");
	assert_string_equal(in.to, "+14155550100");
	assert_string_equal(in.sid, "0A0000000123ABCD1");
	assert_string_equal(in.body, "Hello & welcome");
	assert_int_equal(in.n_media, 0);
	arena_free(&q.a);
	/* POST form */
	req_init(&q, "POST", "", "application/x-www-form-urlencoded",
		 "msisdn=447700900001&to=447700900000&messageId=1&text=hi&type=text");
	assert_int_equal(parse(&q, HOOK_MESSAGE, &in), 0);
	assert_string_equal(in.from, "+447700900001");
	assert_string_equal(in.sid, "1");
	assert_string_equal(in.body, "hi");
	arena_free(&q.a);
	/* POST JSON */
	req_init(&q, "POST", "", "application/json",
		 "{\"msisdn\":\"447700900001\",\"to\":\"447700900000\",\"messageId\":\"2\",\"text\":\"h\\u00e9\",\"type\":\"unicode\"}");
	assert_int_equal(parse(&q, HOOK_MESSAGE, &in), 0);
	assert_string_equal(in.from, "+447700900001");
	assert_string_equal(in.sid, "2");
	assert_string_equal(in.body, "h\xc3\xa9");
	arena_free(&q.a);
	/* binary: no text */
	req_init(&q, "GET", "msisdn=1&to=2&messageId=3&type=binary&data=00&udh=050003CC0201", NULL, NULL);
	assert_int_equal(parse(&q, HOOK_MESSAGE, &in), 0);
	assert_null(in.body);
	arena_free(&q.a);
}

static void parse_events(void **state)
{
	struct req q;
	struct hook_input in;
	/* the connected leg's completed event, as Vonage posts it to connect.eventUrl */
	req_init(&q, "POST", "interaction=int_abc", "application/json",
		 "{\"start_time\":\"2020-01-01T12:00:00.000Z\",\"rate\":\"0.00450000\",\"from\":\"14155550100\","
		 "\"to\":\"13105550199\",\"uuid\":\"b-leg-uuid\",\"conversation_uuid\":\"CON-1\",\"status\":\"completed\","
		 "\"direction\":\"outbound\",\"network\":\"310260\",\"end_time\":\"2020-01-01T12:00:42.000Z\","
		 "\"duration\":\"42\",\"price\":\"0.00315000\",\"timestamp\":\"2020-01-01T12:00:42.000Z\"}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_string_equal(in.interaction_id, "int_abc");
	assert_int_equal(in.st.leg, 'b');
	assert_string_equal(in.st.sid, "b-leg-uuid");
	assert_string_equal(in.st.status, "completed");
	assert_int_equal(in.st.duration, 42);
	arena_free(&q.a);
	/* ringing: no duration */
	req_init(&q, "POST", "interaction=int_abc", "application/json",
		 "{\"uuid\":\"b\",\"status\":\"ringing\",\"direction\":\"outbound\"}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_string_equal(in.st.status, "ringing");
	assert_int_equal(in.st.duration, -1);
	arena_free(&q.a);
	/* the caller's own call: leg a; a numeric duration */
	req_init(&q, "POST", "interaction=int_abc", "application/json",
		 "{\"uuid\":\"a-leg\",\"status\":\"completed\",\"direction\":\"inbound\",\"duration\":7}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.leg, 'a');
	assert_int_equal(in.st.duration, 7);
	arena_free(&q.a);
	/* price and answered */
	req_init(&q, "POST", "interaction=int_abc", "application/json",
		 "{\"uuid\":\"b\",\"status\":\"answered\",\"direction\":\"outbound\"}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.answered, 1);
	assert_null(in.st.cost);
	assert_null(in.st.currency);
	arena_free(&q.a);
	req_init(&q, "POST", "interaction=int_abc", "application/json",
		 "{\"uuid\":\"b\",\"status\":\"completed\",\"direction\":\"outbound\",\"price\":\"0.00315000\"}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.answered, 0);
	assert_string_equal(in.st.cost, "0.00315000");
	assert_string_equal(in.st.currency, "EUR");
	arena_free(&q.a);
	/* a record event: no status, a recording of the caller's call (leg a) */
	req_init(&q, "POST", "interaction=int_abc", "application/json",
		 "{\"recording_url\":\"https://api.nexmo.com/v1/files/x\",\"recording_uuid\":\"r\",\"conversation_uuid\":\"CON-1\"}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_null(in.st.status);
	assert_int_equal(in.st.leg, 'a');
	assert_string_equal(in.st.recording_id, "r");
	assert_string_equal(in.st.recording_url, "https://api.nexmo.com/v1/files/x");
	arena_free(&q.a);
	/* an input event: nothing to record */
	req_init(&q, "POST", "interaction=int_abc", "application/json", "{\"dtmf\":{\"digits\":\"1\"},\"uuid\":\"a\"}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_null(in.st.status);
	assert_null(in.st.recording_id);
	assert_null(in.st.cost);
	arena_free(&q.a);
	/* bad durations */
	req_init(&q, "POST", "", "application/json", "{\"uuid\":\"b\",\"status\":\"completed\",\"duration\":\"-3\"}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.duration, -1);
	assert_null(in.interaction_id);
	arena_free(&q.a);
	req_init(&q, "POST", "", "application/json", "{\"uuid\":\"b\",\"status\":\"completed\",\"duration\":\"4x\"}");
	assert_int_equal(parse(&q, HOOK_STATUS, &in), 0);
	assert_int_equal(in.st.duration, -1);
	arena_free(&q.a);
}

/* ------------------------------------------------------------------ render */

static void render_bridge_sample(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {
		.status_url = "https://proxy.example.org/vg/connect-events",
		.record = 1,
		.consent_message = "This call may be recorded.",
		.recording_url = "https://proxy.example.org/vg/recording",
		.time_limit = 3600,
		.ring_timeout = 25,
	};
	struct http_response res;
	render(&d, &r, &res);
	json_t *want = sample("vonage_ncco_bridge");
	assert_ncco(&res, want);
	json_decref(want);
	buf_free(&res.body);
}

static void render_bridge_plain(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.status_url = "https://maskd.example.com/hooks/vonage/status?interaction=int_a"};
	struct http_response res;
	render(&d, &r, &res);
	assert_string_equal(res.body.data,
			    "[{\"action\":\"connect\",\"endpoint\":[{\"type\":\"phone\",\"number\":\"13105550199\"}],"
			    "\"from\":\"14155550100\",\"eventType\":\"synchronous\","
			    "\"eventUrl\":[\"https://maskd.example.com/hooks/vonage/status?interaction=int_a\"],"
			    "\"eventMethod\":\"POST\"}]");
	buf_free(&res.body);
}

static void render_bridge_consent_on_answer(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {
		.status_url = "https://m/hooks/vonage/status?interaction=int_a",
		.record = 1,
		.consent_message = "Recorded.",
		.consent_url = "https://m/hooks/vonage/consent?interaction=int_a",
		.recording_url = "https://m/hooks/vonage/status?interaction=int_a",
	};
	struct http_response res;
	render(&d, &r, &res);
	assert_string_equal(res.body.data,
			    "[{\"action\":\"talk\",\"text\":\"Recorded.\"},"
			    "{\"action\":\"record\",\"format\":\"mp3\",\"split\":\"conversation\",\"channels\":2,"
			    "\"eventUrl\":[\"https://m/hooks/vonage/status?interaction=int_a\"],\"eventMethod\":\"POST\"},"
			    "{\"action\":\"connect\",\"endpoint\":[{\"type\":\"phone\",\"number\":\"13105550199\","
			    "\"onAnswer\":{\"url\":\"https://m/hooks/vonage/consent?interaction=int_a\"}}],"
			    "\"from\":\"14155550100\",\"eventType\":\"synchronous\","
			    "\"eventUrl\":[\"https://m/hooks/vonage/status?interaction=int_a\"],\"eventMethod\":\"POST\"}]");
	buf_free(&res.body);
}

static void render_reject_and_empty(void **state)
{
	struct decision d = {.kind = DECISION_REJECT};
	struct hook_render r = {.say = "This number is no longer in service. Goodbye."};
	struct http_response res;
	render(&d, &r, &res);
	json_t *want = sample("vonage_ncco_reject_with_message");
	assert_ncco(&res, want);
	json_decref(want);
	buf_free(&res.body);
	/* nothing to say: an empty NCCO */
	r.say = NULL;
	render(&d, &r, &res);
	assert_string_equal(res.body.data, "[]");
	buf_free(&res.body);
	/* escaping */
	r.say = "Say \"hi\" \\ </script> \xc3\xa9\n";
	render(&d, &r, &res);
	assert_string_equal(res.body.data, "[{\"action\":\"talk\",\"text\":\"Say \\\"hi\\\" \\\\ </script> \xc3\xa9\\n\"}]");
	buf_free(&res.body);
	/* the callee's consent notice */
	d.kind = DECISION_ANNOUNCE;
	r.say = "This call may be recorded.";
	render(&d, &r, &res);
	assert_string_equal(res.body.data, "[{\"action\":\"talk\",\"text\":\"This call may be recorded.\"}]");
	buf_free(&res.body);
	/* acknowledge and forward (sent by REST): an empty 200; "[]" for a voice answer */
	d.kind = DECISION_ACKNOWLEDGE;
	r.event = HOOK_MESSAGE;
	render(&d, &r, &res);
	assert_int_equal(res.body.len, 0);
	assert_null(res.content_type);
	buf_free(&res.body);
	r.event = HOOK_STATUS;
	render(&d, &r, &res);
	assert_int_equal(res.body.len, 0);
	buf_free(&res.body);
	r.event = HOOK_VOICE;
	render(&d, &r, &res);
	assert_string_equal(res.body.data, "[]");
	assert_string_equal(res.content_type, "application/json");
	buf_free(&res.body);
	r.event = HOOK_MESSAGE;
	d = (struct decision){.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	r.body = "hello";
	render(&d, &r, &res);
	assert_int_equal(res.body.len, 0);
	buf_free(&res.body);
}

/* ------------------------------------------------------------------ policy: gather */

#define GATHER_URL "https://p.example/hooks/vonage/gather?attempt=2&x=<y>"
#define PROMPT "Enter your PIN, then \"#\" & it's <done>"

/* new NCCOBuilder().addAction(new Talk(prompt, true)).addAction(new Input({timeOut,
 * maxDigits, submitOnHash: true}, undefined, url, 'POST')).build(), JSON.stringify'd
 * (@vonage/voice 1.21.0); timeOut held to 1..10, maxDigits to 1..20 */
static void render_gather(void **state)
{
	static const struct {
		int timeout, digits;
		const char *dtmf;
	} cases[] = {
		{5, 6, "{\"timeOut\":5,\"maxDigits\":6,\"submitOnHash\":true}"},
		{30, 25, "{\"timeOut\":10,\"maxDigits\":20,\"submitOnHash\":true}"},
		{0, 0, "{\"timeOut\":1,\"maxDigits\":1,\"submitOnHash\":true}"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct decision d = {.kind = DECISION_GATHER};
		struct hook_render r = {.event = HOOK_VOICE,
					.say = PROMPT,
					.gather_url = GATHER_URL,
					.gather_digits = cases[i].digits,
					.gather_timeout = cases[i].timeout};
		char want[1024];
		snprintf(want, sizeof(want),
			 "[{\"action\":\"talk\",\"text\":\"Enter your PIN, then \\\"#\\\" & it's <done>\",\"bargeIn\":true},"
			 "{\"action\":\"input\",\"type\":[\"dtmf\"],\"dtmf\":%s,\"eventUrl\":[\"" GATHER_URL "\"],"
			 "\"eventMethod\":\"POST\"}]",
			 cases[i].dtmf);
		struct http_response res;
		render(&d, &r, &res);
		assert_string_equal(res.content_type, "application/json");
		assert_string_equal(res.body.data, want);
		buf_free(&res.body);
	}
	/* no prompt: the input alone; answering a gather event (a retry) is the same */
	struct decision d = {.kind = DECISION_GATHER};
	struct hook_render r = {.event = HOOK_GATHER, .gather_url = GATHER_URL, .gather_digits = 6, .gather_timeout = 5};
	struct http_response res;
	render(&d, &r, &res);
	assert_string_equal(res.body.data, "[{\"action\":\"input\",\"type\":[\"dtmf\"],\"dtmf\":{\"timeOut\":5,"
					   "\"maxDigits\":6,\"submitOnHash\":true},\"eventUrl\":[\"" GATHER_URL
					   "\"],\"eventMethod\":\"POST\"}]");
	buf_free(&res.body);
	/* an acknowledged input event gets the empty NCCO, like a voice answer */
	d.kind = DECISION_ACKNOWLEDGE;
	render(&d, &r, &res);
	assert_string_equal(res.body.data, "[]");
	assert_string_equal(res.content_type, "application/json");
	buf_free(&res.body);
}

/* A bridge without a status URL: connect without eventUrl/eventMethod */
static void render_bridge_without_status_url(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {0};
	struct http_response res;
	render(&d, &r, &res);
	assert_string_equal(res.body.data, "[{\"action\":\"connect\",\"endpoint\":[{\"type\":\"phone\",\"number\":"
					   "\"13105550199\"}],\"from\":\"14155550100\",\"eventType\":\"synchronous\"}]");
	buf_free(&res.body);
}

/* The input action's result, as Vonage posts it to eventUrl (developer.vonage.com
 * voice-api webhook-reference, input) */
#define INPUT_EVENT(digits, timed_out)                                                                        \
	"{\"speech\":{\"results\":[]},\"dtmf\":{\"digits\":\"" digits "\",\"timed_out\":" timed_out "},"           \
	"\"from\":\"447700900001\",\"to\":\"447700900000\",\"uuid\":\"aaaaaaaa-bbbb-cccc-dddd-0123456789ab\","     \
	"\"conversation_uuid\":\"CON-aaaaaaaa-bbbb-cccc-dddd-0123456789ab\",\"timestamp\":\"2020-01-01T14:00:00.000Z\"}"

static void parse_gather(void **state)
{
	struct req q;
	struct hook_input in;
	req_init(&q, "POST", "attempt=1", "application/json", INPUT_EVENT("123456", "false"));
	assert_int_equal(parse(&q, HOOK_GATHER, &in), 0);
	assert_int_equal(in.event, HOOK_GATHER);
	assert_string_equal(in.from, "+447700900001");
	assert_string_equal(in.to, "+447700900000");
	assert_string_equal(in.sid, "aaaaaaaa-bbbb-cccc-dddd-0123456789ab");
	assert_string_equal(in.digits, "123456");
	arena_free(&q.a);
	/* a trailing '#' dropped; a partial entry that timed out is still reported */
	req_init(&q, "POST", "attempt=1", "application/json", INPUT_EVENT("1234#", "false"));
	assert_int_equal(parse(&q, HOOK_GATHER, &in), 0);
	assert_string_equal(in.digits, "1234");
	arena_free(&q.a);
	req_init(&q, "POST", "attempt=1", "application/json", INPUT_EVENT("12", "true"));
	assert_int_equal(parse(&q, HOOK_GATHER, &in), 0);
	assert_string_equal(in.digits, "12");
	arena_free(&q.a);
	/* nothing entered */
	req_init(&q, "POST", "attempt=1", NULL, INPUT_EVENT("", "true"));
	assert_int_equal(parse(&q, HOOK_GATHER, &in), 0);
	assert_string_equal(in.digits, "");
	arena_free(&q.a);
	/* no dtmf result, digits not a string, a GET: no digits */
	static const char *const none[] = {
		"{\"uuid\":\"u\",\"from\":\"1\",\"to\":\"2\"}",
		"{\"uuid\":\"u\",\"dtmf\":{\"digits\":1234,\"timed_out\":false}}",
		"{\"uuid\":\"u\",\"dtmf\":\"1234\"}",
		"{\"uuid\":\"u\",\"dtmf\":{\"timed_out\":true}}",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		req_init(&q, "POST", "attempt=1", "application/json", none[i]);
		assert_int_equal(parse(&q, HOOK_GATHER, &in), 0);
		assert_null(in.digits);
		assert_string_equal(in.sid, "u");
		arena_free(&q.a);
	}
	req_init(&q, "GET", "uuid=u&from=1&to=2&dtmf=1", NULL, NULL);
	assert_int_equal(parse(&q, HOOK_GATHER, &in), 0);
	assert_null(in.digits);
	assert_string_equal(in.sid, "u");
	arena_free(&q.a);
	/* a voice answer's body is not read for digits */
	req_init(&q, "POST", "", "application/json", INPUT_EVENT("1", "false"));
	assert_int_equal(parse(&q, HOOK_VOICE, &in), 0);
	assert_null(in.digits);
	arena_free(&q.a);
	/* malformed */
	static const char *const bad[] = {"{\"dtmf\":{\"digits\":\"1\"", "[]", "{\"dtmf\":1,\"dtmf\":2}", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req_init(&q, "POST", "attempt=1", "application/json", bad[i]);
		assert_int_equal(parse(&q, HOOK_GATHER, &in), 400);
		arena_free(&q.a);
	}
	req_init(&q, "POST", "attempt=1", "text/plain", "digits=1");
	assert_int_equal(parse(&q, HOOK_GATHER, &in), 415);
	arena_free(&q.a);
}

/* ------------------------------------------------------------------ build_send */

static void build_send_matches_sdk(void **state)
{
	struct service svc;
	service(&svc, "{\"signature_secret\":\"x\",\"api_key\":\"k1\",\"api_secret\":\"s3cr3t\"}");
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.body = "h\xc3\xa9llo & <3"};
	struct outgoing out;
	memset(&out, 0, sizeof(out));
	snprintf(out.interaction_id, sizeof(out.interaction_id), "int_x");
	assert_int_equal(vg->build_send(&svc, &d, &r, "http://127.0.0.1:9", &out), 0);
	assert_string_equal(out.interaction_id, "int_x");
	assert_int_equal(out.dialect, DIALECT_VONAGE);
	assert_string_equal(out.url, "http://127.0.0.1:9/sms/json");
	assert_string_equal(out.content_type, "application/json");
	/* what @vonage/sms 1.21.0 sent for new SMS(new Auth({apiKey:'k1', apiSecret:'s3cr3t'}))
	 * .send({from:'14155550100', to:'13105550199', text:'héllo & <3', type:'unicode'}) */
	assert_string_equal(out.authorization, "Basic azE6czNjcjN0");
	assert_string_equal(out.body,
			    "{\"from\":\"14155550100\",\"to\":\"13105550199\",\"text\":\"h\xc3\xa9llo & <3\",\"type\":\"unicode\"}");
	assert_int_equal(out.body_len, strlen(out.body));
	free(out.body);
	/* plain ASCII: no type */
	r.body = "Hello";
	memset(&out, 0, sizeof(out));
	assert_int_equal(vg->build_send(&svc, &d, &r, "https://rest.nexmo.com", &out), 0);
	assert_string_equal(out.url, "https://rest.nexmo.com/sms/json");
	assert_string_equal(out.body, "{\"from\":\"14155550100\",\"to\":\"13105550199\",\"text\":\"Hello\"}");
	free(out.body);
}

static void build_send_needs_credentials(void **state)
{
	struct service svc;
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct hook_render r = {.body = "Hello"};
	struct outgoing out;
	static const char *const creds[] = {"", "{\"signature_secret\":\"x\"}", "{\"api_key\":\"k\"}",
					    "{\"api_secret\":\"s\"}", "{\"api_key\":\"\",\"api_secret\":\"s\"}"};
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		service(&svc, creds[i]);
		memset(&out, 0, sizeof(out));
		assert_int_equal(vg->build_send(&svc, &d, &r, "https://rest.nexmo.com", &out), MASKD_EINVAL);
		assert_null(out.body);
	}
	/* a base URL too long for out.url */
	char base[600];
	memset(base, 'a', sizeof(base) - 1);
	base[sizeof(base) - 1] = '\0';
	service(&svc, "{\"api_key\":\"k\",\"api_secret\":\"s\"}");
	memset(&out, 0, sizeof(out));
	assert_int_equal(vg->build_send(&svc, &d, &r, base, &out), MASKD_EINVAL);
	assert_null(out.body);
}

/* ------------------------------------------------------------------ verify */

#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static bool verify_with(struct req *q, const char *creds, enum hook_event event, int64_t now)
{
	struct service svc;
	struct hook_input in;
	service(&svc, creds);
	assert_int_equal(parse(q, event, &in), 0);
	return vg->verify(&svc, &q->r, "https://maskd.example.com/hooks/vonage/x", &in, now);
}

static void verify_jwt(void **state)
{
	const char *creds = "{\"signature_secret\":\"" SECRET "\"}";
	char pl[512];
	struct req q;
	/* GET answer: no payload_hash check (nothing to hash) */
	snprintf(pl, sizeof(pl), "{\"iat\":%d,\"jti\":\"j1\",\"iss\":\"Vonage\",\"application_id\":\"app\"}", NOW);
	req_init(&q, "GET", "from=1&to=2&uuid=u", NULL, NULL);
	req_auth(&q, jwt(HS256, pl, SECRET));
	assert_true(verify_with(&q, creds, HOOK_VOICE, NOW));
	assert_true(verify_with(&q, creds, HOOK_VOICE, NOW + 300));
	assert_false(verify_with(&q, creds, HOOK_VOICE, NOW + 301)); /* too old */
	assert_false(verify_with(&q, creds, HOOK_VOICE, NOW - 61));  /* from the future */
	assert_false(verify_with(&q, "{\"signature_secret\":\"other\"}", HOOK_VOICE, NOW));
	assert_false(verify_with(&q, "{\"api_key\":\"k\"}", HOOK_VOICE, NOW)); /* no secret */
	arena_free(&q.a);
	/* no Authorization */
	req_init(&q, "GET", "from=1&to=2&uuid=u", NULL, NULL);
	assert_false(verify_with(&q, creds, HOOK_VOICE, NOW));
	arena_free(&q.a);
	/* alg none (empty signature) and RS256, whatever the signature */
	req_init(&q, "GET", "from=1&to=2&uuid=u", NULL, NULL);
	char none[1024];
	char h[128], p[512];
	b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}", strlen("{\"alg\":\"none\",\"typ\":\"JWT\"}"), h);
	b64url(pl, strlen(pl), p);
	snprintf(none, sizeof(none), "Bearer %s.%s.", h, p);
	req_auth(&q, none);
	assert_false(verify_with(&q, creds, HOOK_VOICE, NOW));
	arena_free(&q.a);
	req_init(&q, "GET", "from=1&to=2&uuid=u", NULL, NULL);
	req_auth(&q, jwt("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", pl, SECRET));
	assert_false(verify_with(&q, creds, HOOK_VOICE, NOW));
	arena_free(&q.a);
	/* POST event: payload_hash must match the body */
	const char *body = "{\"uuid\":\"b\",\"status\":\"answered\",\"direction\":\"outbound\"}";
	snprintf(pl, sizeof(pl), "{\"iat\":%d,\"payload_hash\":\"%s\"}", NOW, body_hash(body));
	req_init(&q, "POST", "interaction=int_a", "application/json", body);
	req_auth(&q, jwt(HS256, pl, SECRET));
	assert_true(verify_with(&q, creds, HOOK_STATUS, NOW));
	arena_free(&q.a);
	const char *other = "{\"uuid\":\"b\",\"status\":\"completed\",\"direction\":\"outbound\"}";
	req_init(&q, "POST", "interaction=int_a", "application/json", other);
	req_auth(&q, jwt(HS256, pl, SECRET));
	assert_false(verify_with(&q, creds, HOOK_STATUS, NOW));
	arena_free(&q.a);
}

static void verify_sms_sig(void **state)
{
	static const struct {
		const char *method, *creds;
		enum vonage_sms_sig_alg alg;
	} cases[] = {
		{NULL, "{\"signature_secret\":\"" SECRET "\"}", VONAGE_SMS_MD5HASH},
		{"sha256hmac", "{\"signature_secret\":\"" SECRET "\",\"signature_method\":\"sha256hmac\"}",
		 VONAGE_SMS_SHA256HMAC},
		{"sha512hmac", "{\"signature_secret\":\"" SECRET "\",\"signature_method\":\"SHA512HMAC\"}",
		 VONAGE_SMS_SHA512HMAC},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char unsigned_q[512], query[700], sig[VONAGE_SMS_SIG_MAX + 1];
		snprintf(unsigned_q, sizeof(unsigned_q),
			 "msisdn=13105550199&to=14155550100&messageId=0A01&text=Hi+%%26+bye%%3D&type=text"
			 "&timestamp=%d&nonce=n-1",
			 NOW);
		struct arena a = ARENA_INIT;
		struct form f;
		assert_int_equal(form_parse(&a, unsigned_q, strlen(unsigned_q), &f), 0);
		assert_int_equal(vonage_sms_sig_compute(cases[i].alg, SECRET, &f, sig), 0);
		arena_free(&a);
		snprintf(query, sizeof(query), "%s&sig=%s", unsigned_q, sig);
		struct req q;
		req_init(&q, "GET", query, NULL, NULL);
		assert_true(verify_with(&q, cases[i].creds, HOOK_MESSAGE, NOW));
		assert_true(verify_with(&q, cases[i].creds, HOOK_MESSAGE, NOW + 86400));
		assert_false(verify_with(&q, cases[i].creds, HOOK_MESSAGE, NOW + 86401));
		assert_false(verify_with(&q, "{\"signature_secret\":\"other\"}", HOOK_MESSAGE, NOW));
		arena_free(&q.a);
		/* the same fields as a POST form */
		req_init(&q, "POST", "", "application/x-www-form-urlencoded", query);
		assert_true(verify_with(&q, cases[i].creds, HOOK_MESSAGE, NOW));
		arena_free(&q.a);
		/* tampered text */
		char *bad = strstr(query, "Hi");
		bad[0] = 'h';
		req_init(&q, "GET", query, NULL, NULL);
		assert_false(verify_with(&q, cases[i].creds, HOOK_MESSAGE, NOW));
		arena_free(&q.a);
	}
	/* an unknown signature_method refuses */
	struct req q;
	req_init(&q, "GET", "msisdn=1&to=2&messageId=3&timestamp=1760000000&sig=00", NULL, NULL);
	assert_false(verify_with(&q, "{\"signature_secret\":\"s\",\"signature_method\":\"crc32\"}", HOOK_MESSAGE, NOW));
	/* neither sig nor JWT */
	arena_free(&q.a);
	req_init(&q, "GET", "msisdn=1&to=2&messageId=3", NULL, NULL);
	assert_false(verify_with(&q, "{\"signature_secret\":\"s\"}", HOOK_MESSAGE, NOW));
	arena_free(&q.a);
}

/* The input event is signed like every other Voice event: a JWT whose payload_hash
 * covers the body */
static void verify_gather(void **state)
{
	const char *creds = "{\"signature_secret\":\"" SECRET "\"}";
	const char *body = INPUT_EVENT("123456", "false");
	char pl[512];
	snprintf(pl, sizeof(pl), "{\"iat\":%d,\"payload_hash\":\"%s\"}", NOW, body_hash(body));
	struct req q;
	req_init(&q, "POST", "attempt=1", "application/json", body);
	req_auth(&q, jwt(HS256, pl, SECRET));
	assert_true(verify_with(&q, creds, HOOK_GATHER, NOW));
	assert_false(verify_with(&q, "{\"signature_secret\":\"other\"}", HOOK_GATHER, NOW));
	arena_free(&q.a);
	req_init(&q, "POST", "attempt=1", "application/json", INPUT_EVENT("654321", "false"));
	req_auth(&q, jwt(HS256, pl, SECRET));
	assert_false(verify_with(&q, creds, HOOK_GATHER, NOW));
	arena_free(&q.a);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_answer_get),
		cmocka_unit_test(parse_answer_post_json),
		cmocka_unit_test(parse_numbers_normalised),
		cmocka_unit_test(parse_malformed),
		cmocka_unit_test(parse_sms),
		cmocka_unit_test(parse_events),
		cmocka_unit_test(render_bridge_sample),
		cmocka_unit_test(render_bridge_plain),
		cmocka_unit_test(render_bridge_consent_on_answer),
		cmocka_unit_test(render_reject_and_empty),
		cmocka_unit_test(build_send_matches_sdk),
		cmocka_unit_test(build_send_needs_credentials),
		cmocka_unit_test(verify_jwt),
		cmocka_unit_test(verify_sms_sig),
		cmocka_unit_test(render_gather),
		cmocka_unit_test(render_bridge_without_status_url),
		cmocka_unit_test(parse_gather),
		cmocka_unit_test(verify_gather),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
