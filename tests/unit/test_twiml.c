/* SPDX-License-Identifier: MIT */
/* test_twiml.c - the markup maskd answers, byte for byte what the official builders
 * print (the expected strings were printed by twilio 6.2.0's VoiceResponse and
 * MessagingResponse, and tests/data/markup_samples.txt; the gather, reject and
 * no-callback documents by the same builders, from a script run against
 * tests/blackbox/node_modules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>

#include "hooks/dialect.h"
#include "hooks/twiml.h"
#include "util/crypto.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

static void render(const struct decision *d, const struct twiml_args *a, const char *want)
{
	struct buf b;
	buf_init(&b);
	twiml_render(&b, d, a);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void bridge(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct twiml_args a = {.status_url = "https://p.example/hooks/twilio/status?interaction=int_a"};
	render(&d, &a,
	       DECL "<Response><Dial callerId=\"+14155550100\" answerOnBridge=\"true\" "
		    "action=\"https://p.example/hooks/twilio/status?interaction=int_a\"><Number "
		    "statusCallback=\"https://p.example/hooks/twilio/status?interaction=int_a\" "
		    "statusCallbackEvent=\"initiated ringing answered completed\">+13105550199</Number></Dial></Response>");
}

static void forward_with_media_and_escaping(void **state)
{
	const char *media[] = {"https://m.example/1?a=1&b=2", "https://m.example/2"};
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct twiml_args a = {.status_url = "https://p/s", .body = "Hello & welcome <3 \"q\" 'a'\r\n", .media = media, .n_media = 2};
	render(&d, &a,
	       DECL "<Response><Message to=\"+13105550199\" from=\"+14155550100\" action=\"https://p/s\">"
		    "<Body>Hello &amp; welcome &lt;3 \"q\" 'a'&#xD;\n</Body><Media>https://m.example/1?a=1&amp;b=2</Media>"
		    "<Media>https://m.example/2</Media></Message></Response>");
}

static void forward_media_only_has_no_body(void **state)
{
	const char *media[] = {"https://m/1"};
	struct decision d = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+1", .from = "+2"};
	struct twiml_args a = {.status_url = "u", .body = "", .media = media, .n_media = 1};
	render(&d, &a, DECL "<Response><Message to=\"+1\" from=\"+2\" action=\"u\"><Media>https://m/1</Media></Message></Response>");
}

static void reject_and_empty(void **state)
{
	struct decision d = {.kind = DECISION_REJECT};
	struct twiml_args a = {.say = "This number is no longer in service. Goodbye."};
	render(&d, &a, DECL "<Response><Say>This number is no longer in service. Goodbye.</Say><Hangup/></Response>");
	d.kind = DECISION_ACKNOWLEDGE;
	render(&d, &a, DECL "<Response/>");
}

static void attribute_escaping(void **state)
{
	struct buf b;
	buf_init(&b);
	buf_xml_attr(&b, "x\"&<>'\t\n\r\x01");
	/* as xmlbuilder prints it; the control character XML 1.0 cannot carry becomes U+FFFD */
	assert_string_equal(b.data, "x&quot;&amp;&lt;>'&#x9;&#xA;&#xD;\xEF\xBF\xBD");
	buf_free(&b);
}

static void recorded_bridge_matches_the_builder(void **state)
{
	/* tests/data/markup_samples.txt twiml_bridge, less what maskd does not use
	 * (method, statusCallbackMethod: POST is the default) */
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct twiml_args a = {.status_url = "https://p/s", .record = 1, .consent_message = "This call may be recorded.",
			       .consent_url = "https://p/c", .time_limit = 3600, .ring_timeout = 25};
	render(&d, &a,
	       DECL "<Response><Say>This call may be recorded.</Say><Dial callerId=\"+14155550100\" timeout=\"25\" "
		    "timeLimit=\"3600\" answerOnBridge=\"true\" record=\"record-from-answer-dual\" "
		    "recordingStatusCallback=\"https://p/s\" recordingStatusCallbackEvent=\"completed\" "
		    "action=\"https://p/s\"><Number url=\"https://p/c\" statusCallback=\"https://p/s\" "
		    "statusCallbackEvent=\"initiated ringing answered completed\">+13105550199</Number></Dial></Response>");
	struct decision ann = {.kind = DECISION_ANNOUNCE};
	struct twiml_args say = {.say = "Hi & bye"};
	render(&ann, &say, DECL "<Response><Say>Hi &amp; bye</Say></Response>");
}

/* ------------------------------------------------------------ pool and session policy */

#define GATHER_URL "https://p.example/hooks/twilio/gather?attempt=2&x=<y>"
#define PROMPT "Enter your PIN, then \"#\" & it's <done>"

/* VoiceResponse().gather({action, numDigits, finishOnKey: '#', timeout,
 * actionOnEmptyResult: true}).say(prompt), twilio 6.2.0 */
static void gather_matches_the_builder(void **state)
{
	struct decision d = {.kind = DECISION_GATHER};
	struct twiml_args a = {.say = PROMPT, .gather_url = GATHER_URL, .gather_digits = 6, .gather_timeout = 5};
	render(&d, &a,
	       DECL "<Response><Gather action=\"https://p.example/hooks/twilio/gather?attempt=2&amp;x=&lt;y>\" "
		    "numDigits=\"6\" finishOnKey=\"#\" timeout=\"5\" actionOnEmptyResult=\"true\"><Say>Enter your PIN, "
		    "then \"#\" &amp; it's &lt;done&gt;</Say></Gather></Response>");
	/* no prompt: the empty element, as the builder prints it */
	struct twiml_args quiet = {.say = "", .gather_url = GATHER_URL, .gather_digits = 4, .gather_timeout = 10};
	render(&d, &quiet,
	       DECL "<Response><Gather action=\"https://p.example/hooks/twilio/gather?attempt=2&amp;x=&lt;y>\" "
		    "numDigits=\"4\" finishOnKey=\"#\" timeout=\"10\" actionOnEmptyResult=\"true\"/></Response>");
}

/* TeXML: no actionOnEmptyResult; VoiceResponse().redirect({method: 'POST'}, url) after */
static void gather_with_redirect_for_texml(void **state)
{
	struct decision d = {.kind = DECISION_GATHER};
	struct twiml_args a = {.say = PROMPT,
			       .gather_url = "https://p.example/hooks/telnyx/gather?attempt=2&x=<y>",
			       .gather_digits = 6,
			       .gather_timeout = 5,
			       .gather_redirect = 1};
	render(&d, &a,
	       DECL "<Response><Gather action=\"https://p.example/hooks/telnyx/gather?attempt=2&amp;x=&lt;y>\" "
		    "numDigits=\"6\" finishOnKey=\"#\" timeout=\"5\"><Say>Enter your PIN, then \"#\" &amp; it's "
		    "&lt;done&gt;</Say></Gather><Redirect method=\"POST\">https://p.example/hooks/telnyx/gather?attempt=2"
		    "&amp;x=&lt;y&gt;</Redirect></Response>");
}

/* VoiceResponse().reject(): no <Say>, unanswered */
static void reject_without_message(void **state)
{
	struct decision d = {.kind = DECISION_REJECT};
	struct twiml_args none = {0};
	render(&d, &none, DECL "<Response><Reject/></Response>");
	struct twiml_args empty = {.say = ""};
	render(&d, &empty, DECL "<Response><Reject/></Response>");
}

/* No status URL (a forward to the fallback number, a reply): dial({callerId,
 * answerOnBridge}).number(real) and message({to, from}), no callback attribute */
static void no_status_url_no_callbacks(void **state)
{
	struct decision d = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct twiml_args a = {0};
	render(&d, &a,
	       DECL "<Response><Dial callerId=\"+14155550100\" answerOnBridge=\"true\"><Number>+13105550199</Number>"
		    "</Dial></Response>");
	struct twiml_args empty = {.status_url = ""};
	render(&d, &empty,
	       DECL "<Response><Dial callerId=\"+14155550100\" answerOnBridge=\"true\"><Number>+13105550199</Number>"
		    "</Dial></Response>");
	struct twiml_args rec = {.record = 1, .consent_message = "This call may be recorded.", .consent_url = "https://p/c",
				 .time_limit = 3600, .ring_timeout = 25};
	render(&d, &rec,
	       DECL "<Response><Say>This call may be recorded.</Say><Dial callerId=\"+14155550100\" timeout=\"25\" "
		    "timeLimit=\"3600\" answerOnBridge=\"true\" record=\"record-from-answer-dual\"><Number "
		    "url=\"https://p/c\">+13105550199</Number></Dial></Response>");
	struct decision f = {.kind = DECISION_FORWARD_MESSAGE, .dial = "+13105550199", .from = "+14155550100"};
	struct twiml_args fa = {.body = "hi"};
	render(&f, &fa,
	       DECL "<Response><Message to=\"+13105550199\" from=\"+14155550100\"><Body>hi</Body></Message></Response>");
}

static void gather_digits_lose_the_finishing_hash(void **state)
{
	struct arena a;
	memset(&a, 0, sizeof(a));
	assert_null(form_digits(&a, NULL));
	assert_string_equal(form_digits(&a, ""), "");
	assert_string_equal(form_digits(&a, "1234"), "1234");
	assert_string_equal(form_digits(&a, "1234#"), "1234");
	assert_string_equal(form_digits(&a, "#"), "");
	assert_string_equal(form_digits(&a, "12*3"), "12*3");
	arena_free(&a);
}

/* The <Gather> action request, through the dialect tables: a voice request plus
 * Digits, signed like one. The signature case is signature_vectors.json
 * "twilio-doc-example" (twilio-python's canonical case, which carries Digits). */
#define DOC_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define DOC_BODY "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"

struct req {
	struct arena arena;
	struct http_header headers[4];
	struct http_request r;
	struct hook_input in;
};

static int req_parse(struct req *q, const struct hook_dialect *dl, const char *method, const char *query,
		     const char *body, enum hook_event event)
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
	if (strcmp(method, "POST") == 0)
		q->headers[q->r.n_headers++] = (struct http_header){"Content-Type", "application/x-www-form-urlencoded"};
	const char *why = NULL;
	int rc = dl->parse(&q->r, event, &q->in, &why);
	if (rc != 0)
		assert_non_null(why);
	return rc;
}

static void parse_gather(void **state)
{
	const struct hook_dialect *dls[] = {&hook_dialect_twilio, &hook_dialect_signalwire};
	for (size_t i = 0; i < 2; i++) {
		struct req q;
		assert_int_equal(req_parse(&q, dls[i], "POST", "attempt=1", DOC_BODY, HOOK_GATHER), 0);
		assert_int_equal(q.in.event, HOOK_GATHER);
		assert_string_equal(q.in.from, "+14158675309");
		assert_string_equal(q.in.to, "+18005551212");
		assert_string_equal(q.in.sid, "CA1234567890ABCDE");
		assert_string_equal(q.in.digits, "1234");
		arena_free(&q.arena);

		/* a GET action; a trailing '#' dropped */
		assert_int_equal(req_parse(&q, dls[i], "GET", "attempt=1&CallSid=CA1&From=%2B1&To=%2B2&Digits=99%23", "",
					   HOOK_GATHER),
				 0);
		assert_string_equal(q.in.digits, "99");
		assert_string_equal(q.in.sid, "CA1");
		arena_free(&q.arena);

		/* actionOnEmptyResult: Digits empty, or not sent */
		assert_int_equal(req_parse(&q, dls[i], "POST", "attempt=2", "CallSid=CA1&From=%2B1&To=%2B2&Digits=",
					   HOOK_GATHER),
				 0);
		assert_string_equal(q.in.digits, "");
		arena_free(&q.arena);
		assert_int_equal(req_parse(&q, dls[i], "POST", "attempt=2", "CallSid=CA1&From=%2B1&To=%2B2", HOOK_GATHER), 0);
		assert_null(q.in.digits);
		assert_string_equal(q.in.sid, "CA1");
		arena_free(&q.arena);

		/* a voice webhook's Digits are not read */
		assert_int_equal(req_parse(&q, dls[i], "POST", "", DOC_BODY, HOOK_VOICE), 0);
		assert_null(q.in.digits);
		arena_free(&q.arena);

		/* malformed */
		assert_int_equal(req_parse(&q, dls[i], "POST", "attempt=1", "CallSid=CA1&Digits=%zz", HOOK_GATHER), 400);
		arena_free(&q.arena);
		assert_int_equal(req_parse(&q, dls[i], "PUT", "attempt=1", "", HOOK_GATHER), 405);
		arena_free(&q.arena);
	}
}

static void verify_gather(void **state)
{
	static struct service svc;
	memset(&svc, 0, sizeof(svc));
	snprintf(svc.id, sizeof(svc.id), "svc_test");
	snprintf(svc.secrets[DIALECT_TWILIO], sizeof(svc.secrets[0]), "{\"auth_token\":\"12345\"}");
	struct req q;
	assert_int_equal(req_parse(&q, &hook_dialect_twilio, "POST", "foo=1&bar=2", DOC_BODY, HOOK_GATHER), 0);
	q.headers[q.r.n_headers++] = (struct http_header){"X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="};
	assert_true(hook_dialect_twilio.verify(&svc, &q.r, DOC_URL, &q.in, 0));
	arena_free(&q.arena);
	/* other digits: refused */
	assert_int_equal(req_parse(&q, &hook_dialect_twilio, "POST", "foo=1&bar=2",
				   "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1235&From=%2B14158675309"
				   "&To=%2B18005551212",
				   HOOK_GATHER),
			 0);
	q.headers[q.r.n_headers++] = (struct http_header){"X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="};
	assert_false(hook_dialect_twilio.verify(&svc, &q.r, DOC_URL, &q.in, 0));
	arena_free(&q.arena);
}

/* twilio.c hands the gather fields to twiml_render */
static void dialect_renders_gather(void **state)
{
	struct decision d = {.kind = DECISION_GATHER};
	struct hook_render r = {.event = HOOK_VOICE, .say = "PIN?", .gather_url = "https://p/g", .gather_digits = 6,
				.gather_timeout = 5};
	struct http_response res = {0};
	buf_init(&res.body);
	hook_dialect_signalwire.render(&d, &r, &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.content_type, "text/xml");
	assert_string_equal(res.body.data, DECL "<Response><Gather action=\"https://p/g\" numDigits=\"6\" finishOnKey=\"#\" "
					   "timeout=\"5\" actionOnEmptyResult=\"true\"><Say>PIN?</Say></Gather></Response>");
	buf_free(&res.body);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bridge),
		cmocka_unit_test(forward_with_media_and_escaping),
		cmocka_unit_test(forward_media_only_has_no_body),
		cmocka_unit_test(reject_and_empty),
		cmocka_unit_test(attribute_escaping),
		cmocka_unit_test(recorded_bridge_matches_the_builder),
		cmocka_unit_test(gather_matches_the_builder),
		cmocka_unit_test(gather_with_redirect_for_texml),
		cmocka_unit_test(reject_without_message),
		cmocka_unit_test(no_status_url_no_callbacks),
		cmocka_unit_test(gather_digits_lose_the_finishing_hash),
		cmocka_unit_test(parse_gather),
		cmocka_unit_test(verify_gather),
		cmocka_unit_test(dialect_renders_gather),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
