/* SPDX-License-Identifier: MIT */
/* test_sip.c - the SIP trunk edge's pure parts (hooks/sip.h): the signature
 * Kamailio's crypto_hmac_sha256() writes over the timestamp and the body (a vector
 * computed with Python's hmac module), the timestamp window's bounds and refusals,
 * the two places the timestamp and signature are read from (headers, query string),
 * route and event queries and every refusal, the reject codes, and the routing
 * documents compared as strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hooks/sip.h"
#include "util/crypto.h"

#define SECRET "0123456789abcdef-secret"
#define BODY "{\"call_id\":\"abc@h\",\"from\":\"+14155550101\",\"to\":\"+14155550100\"}"
#define TS "1796300000"
/* base64url(HMAC-SHA256(SECRET, TS "." BODY)) without '=' (python3 hmac + base64.urlsafe_b64encode) */
#define SIG "zkmJBE29zYtQFXhWtDpVmzwSSs72l_np-r3nc-siMJc"

static void signature(void **state)
{
	(void)state;
	size_t n = strlen(BODY);
	assert_true(sip_signature_ok(SECRET, TS, BODY, n, SIG));
	assert_false(sip_signature_ok(SECRET, TS, BODY, n, SIG "="));   /* padded: not what Kamailio writes */
	assert_false(sip_signature_ok(SECRET, TS, BODY, n, NULL));      /* unsigned */
	assert_false(sip_signature_ok(SECRET, TS, BODY, n, ""));
	assert_false(sip_signature_ok("", TS, BODY, n, SIG));           /* no secret configured: nothing verifies */
	assert_false(sip_signature_ok(SECRET "x", TS, BODY, n, SIG));   /* another key */
	assert_false(sip_signature_ok(SECRET, TS, BODY, n - 1, SIG));   /* another body */
	char std[64];
	snprintf(std, sizeof(std), "%s", SIG);
	char *dash = strchr(std, '-');
	assert_non_null(dash);
	*dash = '+'; /* the '-' of base64url written as standard base64 */
	assert_false(sip_signature_ok(SECRET, TS, BODY, n, std));
}

/* The timestamp is covered: another one, none, or the body alone signed do not verify. */
static void signature_covers_timestamp(void **state)
{
	(void)state;
	size_t n = strlen(BODY);
	assert_false(sip_signature_ok(SECRET, "1796300001", BODY, n, SIG)); /* a replay with a fresh timestamp */
	assert_false(sip_signature_ok(SECRET, NULL, BODY, n, SIG));         /* no X-Maskd-Timestamp */
	assert_false(sip_signature_ok(SECRET, "", BODY, n, SIG));
	/* the former form, HMAC of the body alone, is refused */
	assert_false(sip_signature_ok(SECRET, TS, BODY, n, "a8fT-K6WlcXcJcVVHCFsM50Tqm8S2fCI_UR5a13WsJo"));
}

static void timestamp_window(void **state)
{
	(void)state;
	const int64_t now = 1796300000;
	const char *why = NULL;
	assert_int_equal(sip_timestamp_check("1796300000", now, &why), 0);
	assert_int_equal(sip_timestamp_check("1796299700", now, &why), 0); /* SIP_TS_WINDOW behind, included */
	assert_int_equal(sip_timestamp_check("1796300300", now, &why), 0); /* SIP_TS_WINDOW ahead, included */
	assert_int_equal(sip_timestamp_check("01796300000", now, &why), 0);  /* leading zero: the same number */
	assert_int_equal(SIP_TS_WINDOW, 300);                                 /* what docs/SIP.md promises */
}

static void timestamp_refusals(void **state)
{
	(void)state;
	const int64_t now = 1796300000;
	static const struct {
		const char *ts;
		const char *why;
	} cases[] = {
	    {NULL, "missing timestamp"},
	    {"", "missing timestamp"},
	    {"1796299699", "timestamp outside the window (a replay, or a clock too far off)"}, /* 301 s old */
	    {"1796300301", "timestamp outside the window (a replay, or a clock too far off)"}, /* 301 s ahead */
	    {"0", "timestamp outside the window (a replay, or a clock too far off)"},
	    {"-1796300000", "malformed timestamp"},
	    {"+1796300000", "malformed timestamp"},
	    {" 1796300000", "malformed timestamp"},
	    {"1796300000 ", "malformed timestamp"},
	    {"1796300000.5", "malformed timestamp"},
	    {"17963e5", "malformed timestamp"},
	    {"0001796300000", "malformed timestamp"},              /* 13 digits: over SIP_TS_DIGITS */
	    {"99999999999999999999999", "malformed timestamp"},    /* would overflow int64 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		assert_int_equal(sip_timestamp_check(cases[i].ts, now, &why), 403);
		assert_non_null(why);
		assert_string_equal(why, cases[i].why);
	}
}

/* What sip_handle decides from where the values are read, the signature and the
 * window, in its order: 0 accepted, 403 refused (why set). */
static int verified(const char *hdr_ts, const char *hdr_sig, const char *query, int64_t now, const char **why)
{
	struct arena a = ARENA_INIT;
	const char *ts = NULL;
	const char *sig = NULL;
	int rc = sip_signed_values(&a, hdr_ts, hdr_sig, query, &ts, &sig, why);
	if (rc == 0 && !sip_signature_ok(SECRET, ts, BODY, strlen(BODY), sig)) {
		*why = "bad or missing signature";
		rc = 403;
	}
	if (rc == 0)
		rc = sip_timestamp_check(ts, now, why);
	arena_free(&a);
	return rc;
}

/* The query string form: the same values, the same signature and window. */
static void signed_in_query(void **state)
{
	(void)state;
	const int64_t now = 1796300000;
	const char *why = NULL;
	assert_int_equal(verified(NULL, NULL, "ts=" TS "&sig=" SIG, now, &why), 0);
	assert_int_equal(verified(NULL, NULL, "sig=" SIG "&ts=" TS, now, &why), 0); /* any order */
	assert_int_equal(verified(NULL, NULL, "ts=%31796300000&sig=" SIG, now, &why), 0); /* decoded like a form */
	assert_int_equal(verified(TS, SIG, "", now, &why), 0); /* the headers, as before */
	assert_int_equal(verified(TS, SIG, "", now + SIP_TS_WINDOW + 1, &why), 403);
	assert_string_equal(why, "timestamp outside the window (a replay, or a clock too far off)");

	/* the values read, and where from */
	struct arena a = ARENA_INIT;
	const char *ts = NULL;
	const char *sig = NULL;
	assert_int_equal(sip_signed_values(&a, NULL, NULL, "ts=" TS "&sig=" SIG, &ts, &sig, &why), 0);
	assert_string_equal(ts, TS);
	assert_string_equal(sig, SIG);
	assert_int_equal(sip_signed_values(&a, TS, SIG, "", &ts, &sig, &why), 0);
	assert_string_equal(ts, TS);
	assert_string_equal(sig, SIG);
	assert_int_equal(sip_signed_values(&a, NULL, NULL, "", &ts, &sig, &why), 0); /* neither: nothing read */
	assert_null(ts);
	assert_null(sig);
	arena_free(&a);
}

static void signed_in_query_refusals(void **state)
{
	(void)state;
	const int64_t now = 1796300000;
	static const struct {
		const char *hdr_ts, *hdr_sig, *query, *why;
	} cases[] = {
	    /* a bad signature, another body's, or a timestamp changed after signing */
	    {NULL, NULL, "ts=" TS "&sig=zkmJBE29zYtQFXhWtDpVmzwSSs72l_np-r3nc-siMJd", "bad or missing signature"},
	    {NULL, NULL, "ts=1796300001&sig=" SIG, "bad or missing signature"},
	    {NULL, NULL, "ts=" TS "&sig=", "bad or missing signature"},
	    {NULL, NULL, "ts=&sig=" SIG, "bad or missing signature"},
	    /* neither form */
	    {NULL, NULL, "", "bad or missing signature"},
	    {TS, NULL, "", "bad or missing signature"},
	    /* both forms, even when each alone would verify */
	    {TS, SIG, "ts=" TS "&sig=" SIG, "signed both in headers and in the query string"},
	    {TS, NULL, "ts=" TS "&sig=" SIG, "signed both in headers and in the query string"},
	    {NULL, SIG, "ts=" TS "&sig=" SIG, "signed both in headers and in the query string"},
	    {TS, SIG, "x=1", "signed both in headers and in the query string"},
	    /* a query string that is not exactly ts and sig */
	    {NULL, NULL, "ts=" TS "&sig=%zz", "malformed query string"},
	    {NULL, NULL, "ts=" TS "%00&sig=" SIG, "malformed query string"},
	    {NULL, NULL, "ts=" TS "&sig=" SIG "&x=1", "a query string field other than ts and sig"},
	    {NULL, NULL, "ts=" TS "&sig=" SIG "&TS=1", "a query string field other than ts and sig"},
	    {NULL, NULL, "ts=" TS "&sig=" SIG "&sig=" SIG, "ts or sig twice in the query string"},
	    {NULL, NULL, "ts=" TS "&ts=" TS "&sig=" SIG, "ts or sig twice in the query string"},
	    {NULL, NULL, "ts=" TS, "ts or sig missing from the query string"},
	    {NULL, NULL, "sig=" SIG, "ts or sig missing from the query string"},
	    {NULL, NULL, "&", "ts or sig missing from the query string"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		assert_int_equal(verified(cases[i].hdr_ts, cases[i].hdr_sig, cases[i].query, now, &why), 403);
		assert_non_null(why);
		assert_string_equal(why, cases[i].why);
	}
	/* well signed but outside the window, either way: the same window as the headers */
	const char *why = NULL;
	assert_int_equal(verified(NULL, NULL, "ts=" TS "&sig=" SIG, now + 400, &why), 403);
	assert_string_equal(why, "timestamp outside the window (a replay, or a clock too far off)");
	assert_int_equal(verified(NULL, NULL, "ts=" TS "&sig=" SIG, now - 400, &why), 403);
	assert_string_equal(why, "timestamp outside the window (a replay, or a clock too far off)");
}

static int route(struct arena *a, const char *body, struct hook_input *in, const char **why)
{
	*why = NULL;
	return sip_parse_route(a, body, strlen(body), in, why);
}

static void parse_route_ok(void **state)
{
	(void)state;
	struct arena a = ARENA_INIT;
	struct hook_input in;
	const char *why;
	assert_int_equal(route(&a, BODY, &in, &why), 0);
	assert_int_equal(in.event, HOOK_VOICE);
	assert_string_equal(in.sid, "abc@h");
	assert_string_equal(in.from, "+14155550101");
	assert_string_equal(in.to, "+14155550100");
	arena_free(&a);
}

static void parse_route_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *body, *why;
	} cases[] = {
		{"", "expected a JSON object"},
		{"[1]", "expected a JSON object"},
		{"{\"call_id\":\"x\",\"from\":\"+14155550101\"", "expected a JSON object"},
		{"{\"from\":\"+14155550101\",\"to\":\"+14155550100\"}", "missing call_id"},
		{"{\"call_id\":\"x\",\"to\":\"+14155550100\"}", "missing from"},
		{"{\"call_id\":\"x\",\"from\":\"+14155550101\"}", "missing to"},
		{"{\"call_id\":\"\",\"from\":\"+14155550101\",\"to\":\"+14155550100\"}", "missing call_id"},
		{"{\"call_id\":7,\"from\":\"+14155550101\",\"to\":\"+14155550100\"}", "missing call_id"},
		{"{\"call_id\":\"x\",\"from\":\"+14155550101\",\"to\":\"+14155550100\",\"via\":\"y\"}", "unknown field"},
		{"{\"call_id\":\"x\",\"call_id\":\"y\",\"from\":\"+14155550101\",\"to\":\"+14155550100\"}",
		 "expected a JSON object"},
		{"{\"call_id\":\"a b\",\"from\":\"+14155550101\",\"to\":\"+14155550100\"}", "malformed or oversized call_id"},
		{"{\"call_id\":\"a\\nb\",\"from\":\"+14155550101\",\"to\":\"+14155550100\"}", "malformed or oversized call_id"},
		{"{\"call_id\":\"x\",\"from\":\"14155550101\",\"to\":\"+14155550100\"}", "from is not an E.164 number"},
		{"{\"call_id\":\"x\",\"from\":\"anonymous\",\"to\":\"+14155550100\"}", "from is not an E.164 number"},
		{"{\"call_id\":\"x\",\"from\":\"+14155550101\",\"to\":\"+0155550100\"}", "to is not an E.164 number"},
		{"{\"call_id\":\"x\",\"from\":\"+14155550101\",\"to\":\"+1415555010012345\"}", "to is not an E.164 number"},
		{"{\"call_id\":\"x\",\"from\":\"+14155550101\",\"to\":\"+1415\\u00005550100\"}", "expected a JSON object"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arena a = ARENA_INIT;
		struct hook_input in;
		const char *why;
		assert_int_equal(route(&a, cases[i].body, &in, &why), 400);
		assert_string_equal(why, cases[i].why);
		arena_free(&a);
	}
	/* a Call-ID of 127 bytes passes, 128 does not */
	char id[SIP_CALL_ID_MAX + 2];
	char body[SIP_CALL_ID_MAX + 128];
	for (int len = SIP_CALL_ID_MAX; len <= SIP_CALL_ID_MAX + 1; len++) {
		memset(id, 'c', (size_t)len);
		id[len] = '\0';
		snprintf(body, sizeof(body), "{\"call_id\":\"%s\",\"from\":\"+14155550101\",\"to\":\"+14155550100\"}", id);
		struct arena a = ARENA_INIT;
		struct hook_input in;
		const char *why;
		assert_int_equal(route(&a, body, &in, &why), len == SIP_CALL_ID_MAX ? 0 : 400);
		arena_free(&a);
	}
	/* a body over SIP_BODY_MAX is refused before it is parsed */
	char *big = malloc(SIP_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', SIP_BODY_MAX + 1);
	big[SIP_BODY_MAX + 1] = '\0';
	memcpy(big, BODY, strlen(BODY));
	struct arena a = ARENA_INIT;
	struct hook_input in;
	const char *why;
	assert_int_equal(route(&a, big, &in, &why), 400);
	assert_string_equal(why, "query body too large");
	big[SIP_BODY_MAX] = '\0';
	assert_int_equal(route(&a, big, &in, &why), 0);
	arena_free(&a);
	free(big);
}

static int event(struct arena *a, const char *body, struct hook_input *in, const char **why)
{
	*why = NULL;
	return sip_parse_event(a, body, strlen(body), in, why);
}

static void parse_event_ok(void **state)
{
	(void)state;
	struct arena a = ARENA_INIT;
	struct hook_input in;
	const char *why;
	assert_int_equal(event(&a, "{\"call_id\":\"c1\",\"event\":\"answered\"}", &in, &why), 0);
	assert_int_equal(in.event, HOOK_STATUS);
	assert_string_equal(in.sid, "c1");
	assert_string_equal(in.st.sid, "c1");
	assert_string_equal(in.st.status, "in-progress");
	assert_int_equal(in.st.answered, 1);
	assert_int_equal(in.st.duration, -1);

	assert_int_equal(event(&a, "{\"call_id\":\"c1\",\"event\":\"ended\",\"duration\":42}", &in, &why), 0);
	assert_string_equal(in.st.status, "completed");
	assert_int_equal(in.st.answered, 0);
	assert_int_equal(in.st.duration, 42);

	static const struct {
		int code;
		const char *status;
	} failed[] = {{486, "busy"},	  {600, "busy"},     {408, "no-answer"}, {480, "no-answer"},
		      {487, "canceled"}, {503, "failed"},   {404, "failed"}};
	for (size_t i = 0; i < sizeof(failed) / sizeof(failed[0]); i++) {
		char body[96];
		snprintf(body, sizeof(body), "{\"call_id\":\"c1\",\"event\":\"failed\",\"code\":%d}", failed[i].code);
		assert_int_equal(event(&a, body, &in, &why), 0);
		assert_string_equal(in.st.status, failed[i].status);
		assert_int_equal(in.st.duration, 0);
	}
	arena_free(&a);
}

static void parse_event_refusals(void **state)
{
	(void)state;
	static const char *const bodies[] = {
		"{\"event\":\"answered\"}",
		"{\"call_id\":\"c 1\",\"event\":\"answered\"}",
		"{\"call_id\":\"c1\"}",
		"{\"call_id\":\"c1\",\"event\":\"ringing\"}",
		"{\"call_id\":\"c1\",\"event\":\"ended\"}",
		"{\"call_id\":\"c1\",\"event\":\"ended\",\"duration\":-1}",
		"{\"call_id\":\"c1\",\"event\":\"ended\",\"duration\":604801}",
		"{\"call_id\":\"c1\",\"event\":\"ended\",\"duration\":\"5\"}",
		"{\"call_id\":\"c1\",\"event\":\"ended\",\"duration\":1.5}",
		"{\"call_id\":\"c1\",\"event\":\"answered\",\"duration\":3}",
		"{\"call_id\":\"c1\",\"event\":\"failed\"}",
		"{\"call_id\":\"c1\",\"event\":\"failed\",\"code\":200}",
		"{\"call_id\":\"c1\",\"event\":\"failed\",\"code\":700}",
		"{\"call_id\":\"c1\",\"event\":\"answered\",\"from\":\"+14155550101\"}",
		"nope",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct arena a = ARENA_INIT;
		struct hook_input in;
		const char *why;
		assert_int_equal(event(&a, bodies[i], &in, &why), 400);
		assert_non_null(why);
		arena_free(&a);
	}
}

static void reject_codes(void **state)
{
	(void)state;
	assert_int_equal(sip_reject_code(ROUTE_UNKNOWN_CALLER), 403);
	assert_int_equal(sip_reject_code(ROUTE_BLOCKED), 403);
	assert_int_equal(sip_reject_code(ROUTE_SESSION_ENDED), 480);
	assert_int_equal(sip_reject_code(ROUTE_NO_PEER), 480);
	assert_int_equal(sip_reject_code(ROUTE_RATE_LIMITED), 486);
	assert_int_equal(sip_reject_code(ROUTE_OK), 403); /* a replayed refusal carries no reason */
}

static void render_expect(const struct decision *d, const struct hook_render *r, const struct sip_conf *c,
			  const char *want)
{
	struct buf b;
	buf_init(&b);
	sip_render(d, r, c, &b);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void render_documents(void **state)
{
	(void)state;
	struct sip_conf plain = {.trunk = "trunk.example:5060", .announce = ""};
	struct sip_conf ann = {.trunk = "trunk.example:5060", .announce = "sip:prompts@media.example"};
	struct decision bridge = {.kind = DECISION_BRIDGE, .dial = "+14155550102", .from = "+14155550100"};
	struct hook_render r = {.ring_timeout = 25, .time_limit = 600};
	render_expect(&bridge, &r, &plain,
		      "{\"action\":\"bridge\",\"ruri\":\"sip:+14155550102@trunk.example:5060\","
		      "\"from_uri\":\"sip:+14155550100@trunk.example:5060\","
		      "\"pai\":\"<sip:+14155550100@trunk.example:5060>\",\"ring_timeout\":25,\"time_limit\":600}");
	struct hook_render r0 = {.ring_timeout = -1};
	render_expect(&bridge, &r0, &ann,
		      "{\"action\":\"bridge\",\"ruri\":\"sip:+14155550102@trunk.example:5060\","
		      "\"from_uri\":\"sip:+14155550100@trunk.example:5060\","
		      "\"pai\":\"<sip:+14155550100@trunk.example:5060>\",\"ring_timeout\":0,\"time_limit\":0}");

	struct decision ended = {.kind = DECISION_REJECT, .reason = ROUTE_SESSION_ENDED};
	struct hook_render say = {.say = "This conversation has ended.\r\nBye"};
	render_expect(&ended, &say, &plain,
		      "{\"action\":\"reject\",\"code\":480,\"reason\":\"Temporarily Unavailable\"}");
	render_expect(&ended, &say, &ann,
		      "{\"action\":\"announce\",\"uri\":\"sip:prompts@media.example\","
		      "\"say\":\"This conversation has ended.  Bye\",\"code\":480}");
	struct decision unknown = {.kind = DECISION_REJECT, .reason = ROUTE_UNKNOWN_CALLER};
	struct hook_render silent = {0};
	render_expect(&unknown, &silent, &ann, "{\"action\":\"reject\",\"code\":403,\"reason\":\"Forbidden\"}");
	struct decision limited = {.kind = DECISION_REJECT, .reason = ROUTE_RATE_LIMITED};
	render_expect(&limited, &silent, &plain, "{\"action\":\"reject\",\"code\":486,\"reason\":\"Busy Here\"}");
	struct decision ack = {.kind = DECISION_ACKNOWLEDGE, .reason = ROUTE_BLOCKED};
	render_expect(&ack, &silent, &ann, "{\"action\":\"reject\",\"code\":403,\"reason\":\"Forbidden\"}");
	struct decision gather = {.kind = DECISION_GATHER};
	struct hook_render prompt = {.say = "Enter your PIN"};
	render_expect(&gather, &prompt, &ann,
		      "{\"action\":\"reject\",\"code\":488,\"reason\":\"PIN entry needs a carrier dialect\"}");
}

static void render_long_say_is_cut(void **state)
{
	(void)state;
	char say[1200];
	memset(say, 'a', sizeof(say) - 1);
	say[sizeof(say) - 1] = '\0';
	struct sip_conf ann = {.trunk = "t", .announce = "sip:p@m"};
	struct decision ended = {.kind = DECISION_REJECT, .reason = ROUTE_SESSION_ENDED};
	struct hook_render r = {.say = say};
	struct buf b;
	buf_init(&b);
	sip_render(&ended, &r, &ann, &b);
	char want[700];
	snprintf(want, sizeof(want), "\"say\":\"%.*s\",", 512, say);
	assert_non_null(strstr(b.data, want));
	buf_free(&b);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signature),
		cmocka_unit_test(signature_covers_timestamp),
		cmocka_unit_test(timestamp_window),
		cmocka_unit_test(timestamp_refusals),
		cmocka_unit_test(signed_in_query),
		cmocka_unit_test(signed_in_query_refusals),
		cmocka_unit_test(parse_route_ok),
		cmocka_unit_test(parse_route_refusals),
		cmocka_unit_test(parse_event_ok),
		cmocka_unit_test(parse_event_refusals),
		cmocka_unit_test(reject_codes),
		cmocka_unit_test(render_documents),
		cmocka_unit_test(render_long_say_is_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
