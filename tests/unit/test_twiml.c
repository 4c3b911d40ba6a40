/* SPDX-License-Identifier: MIT */
/* test_twiml.c - the markup maskd answers, byte for byte what the official builders
 * print (the expected strings were printed by twilio 6.2.0's VoiceResponse and
 * MessagingResponse, and ../shared/testdata/markup_samples.txt). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hooks/twiml.h"

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
	assert_string_equal(b.data, "x&quot;&amp;&lt;>'&#x9;&#xA;&#xD;"); /* as xmlbuilder prints it */
	buf_free(&b);
}

static void recorded_bridge_matches_the_builder(void **state)
{
	/* ../shared/testdata/markup_samples.txt twiml_bridge, less what maskd does not use
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bridge),
		cmocka_unit_test(forward_with_media_and_escaping),
		cmocka_unit_test(forward_media_only_has_no_body),
		cmocka_unit_test(reject_and_empty),
		cmocka_unit_test(attribute_escaping),
		cmocka_unit_test(recorded_bridge_matches_the_builder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
