/* SPDX-License-Identifier: MIT */
/* test_callback.c - the unknown-caller callback: the JSON maskd sends (masked
 * caller, never a real number) and the strict reading of the app's answer, where
 * anything unexpected is garbage (the service's fail-open/closed choice applies). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "out/callback.h"
#include "util/crypto.h"
#include "util/err.h"

#define EXPECTED_SIG "b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"

static int parse(const char *text, struct callback_answer *a, const char **why)
{
	return callback_parse_answer(text, strlen(text), a, why);
}

static void query_json_is_masked(void **state)
{
	struct callback_query q = {.service_id = "svc_x", .channel = CHANNEL_VOICE, .carrier = DIALECT_TWILIO,
				   .carrier_sid = "CA1", .from_masked = "+1******0101", .from_country = "US",
				   .to = "+14155550100", .body = NULL};
	char *j = callback_query_json(&q);
	assert_non_null(j);
	assert_non_null(strstr(j, "\"event\":\"unknown_caller\""));
	assert_non_null(strstr(j, "\"from\":\"+1******0101\""));
	assert_non_null(strstr(j, "\"channel\":\"voice\""));
	assert_non_null(strstr(j, "\"body\":null"));
	free(j);
	q.channel = CHANNEL_MESSAGE;
	q.body = "hi \"there\"";
	j = callback_query_json(&q);
	assert_non_null(strstr(j, "\"body\":\"hi \\\"there\\\"\""));
	free(j);
}

static void answers_understood(void **state)
{
	struct callback_answer a;
	const char *why = NULL;
	assert_int_equal(parse("{\"decision\":\"reject\"}", &a, &why), 0);
	assert_int_equal(a.decision, CALLBACK_REJECT);
	assert_string_equal(a.message, "");
	assert_int_equal(parse("{\"decision\":\"reject\",\"message\":\"Closed.\"}", &a, &why), 0);
	assert_string_equal(a.message, "Closed.");
	assert_int_equal(parse("{\"decision\":\"forward\",\"number\":\"+1 (415) 237-2001\"}", &a, &why), 0);
	assert_int_equal(a.decision, CALLBACK_FORWARD);
	assert_string_equal(a.number, "+14152372001"); /* normalised */
	assert_int_equal(parse("{\"decision\":\"session\",\"participant\":{\"number\":\"+14152372002\",\"label\":\"Host\"},"
			       "\"caller_label\":\"Guest\",\"ttl\":3600}",
			       &a, &why),
			 0);
	assert_int_equal(a.decision, CALLBACK_SESSION);
	assert_string_equal(a.number, "+14152372002");
	assert_string_equal(a.label, "Host");
	assert_string_equal(a.caller_label, "Guest");
	assert_int_equal(a.ttl, 3600);
	assert_int_equal(parse("{\"decision\":\"session\",\"participant\":{\"number\":\"+14152372002\"}}", &a, &why), 0);
	assert_int_equal(a.ttl, -1); /* the service's */
}

static void garbage_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"decision\":\"bridge\"}",
		"{\"decision\":42}",
		"{\"decision\":\"forward\"}",
		"{\"decision\":\"forward\",\"number\":\"hello\"}",
		"{\"decision\":\"forward\",\"number\":\"911\"}",
		"{\"decision\":\"forward\",\"number\":\"+44999\"}",
		"{\"decision\":\"forward\",\"number\":14152372001}",
		"{\"decision\":\"reject\",\"message\":7}",
		"{\"decision\":\"session\"}",
		"{\"decision\":\"session\",\"participant\":\"+14152372002\"}",
		"{\"decision\":\"session\",\"participant\":{\"number\":\"+14152372002\"},\"ttl\":-1}",
		"{\"decision\":\"session\",\"participant\":{\"number\":\"+14152372002\"},\"ttl\":\"60\"}",
		"{\"decision\":\"reject\",\"decision\":\"forward\"}", /* duplicate keys */
		NULL,
	};
	struct callback_answer a;
	for (int i = 0; bad[i] != NULL; i++) {
		const char *why = NULL;
		assert_int_equal(parse(bad[i], &a, &why), MASKD_EINVAL);
		assert_non_null(why);
	}
	/* an over-long message is refused, not truncated */
	char big[MESSAGE_MAX_LEN + 64];
	memset(big, 'a', sizeof(big));
	int n = snprintf(big, sizeof(big), "{\"decision\":\"reject\",\"message\":\"");
	memset(big + n, 'x', MESSAGE_MAX_LEN + 1);
	snprintf(big + n + MESSAGE_MAX_LEN + 1, sizeof(big) - (size_t)n - MESSAGE_MAX_LEN - 1, "\"}");
	const char *why = NULL;
	assert_int_equal(parse(big, &a, &why), MASKD_EINVAL);
}

/* The signature the app checks: HMAC-SHA256(secret, ts "." body), as
 * node's crypto.createHmac('sha256', 'secret').update('1700000000.{}').digest('hex'). */
static void signature_known_answer(void **state)
{
	char sig[65];
	callback_sign("secret", 1700000000, "{}", sig);
	assert_string_equal(sig, EXPECTED_SIG);
}

/* Nothing listens on port 1: a transport failure, reported as such, quickly. */
static void unreachable_is_transport_failure(void **state)
{
	struct callback_query q = {.service_id = "svc_x", .from_masked = "+1******0101", .to = "+14155550100"};
	struct callback_answer a;
	const char *why = NULL;
	assert_int_equal(callback_ask("http://127.0.0.1:1/cb", "k", 500, 1700000000, &q, &a, &why), MASKD_ENOTFOUND);
	assert_non_null(why);
}

/* Proxy's out-of-session form: the masked caller, percent-encoded, and the
 * X-Twilio-Signature twilio-node computes for the same URL and parameters
 * (twilio.getExpectedTwilioSignature('token', url, params)). */
static void proxy_form_known_answer(void **state)
{
	struct callback_query q = {.service_id = "svc_x", .channel = CHANNEL_VOICE, .carrier_sid = "CA1",
				   .from_masked = "+1******0101", .from_country = "US", .to = "+14155550100"};
	char sig[29];
	char *body = callback_proxy_form("https://app.example.com/oos", "token", &q, sig);
	assert_string_equal(body, "CallSid=CA1&From=%2B1%2A%2A%2A%2A%2A%2A0101&FromCountry=US&To=%2B14155550100");
	assert_string_equal(sig, "1vW2z4v49dsAzcQFI0nZRf3rYpg=");
	free(body);
	q.channel = CHANNEL_MESSAGE;
	q.carrier_sid = "SM1";
	q.body = "hi there";
	body = callback_proxy_form("https://app.example.com/oos", "token", &q, sig);
	assert_string_equal(body, "MessageSid=SM1&From=%2B1%2A%2A%2A%2A%2A%2A0101&FromCountry=US&To=%2B14155550100&Body=hi%20there");
	free(body);
}

/* Proxy's auto-create answer is a "session" decision; TwiML and anything without a
 * usable participantIdentifier is refused. */
static void proxy_answers(void **state)
{
	struct callback_answer a;
	const char *why = NULL;
	const char *ok = "{\"participantIdentifier\": \"+1 (415) 555-0102\", \"ttl\": 300, \"uniqueName\": \"x\"}";
	assert_int_equal(callback_parse_proxy_answer(ok, strlen(ok), &a, &why), 0);
	assert_int_equal(a.decision, CALLBACK_SESSION);
	assert_string_equal(a.number, "+14155550102");
	assert_int_equal(a.ttl, 300);
	const char *no_ttl = "{\"participantIdentifier\": \"+14155550102\"}";
	assert_int_equal(callback_parse_proxy_answer(no_ttl, strlen(no_ttl), &a, &why), 0);
	assert_int_equal(a.ttl, -1);
	const char *bad[] = {"<Response><Say>hi</Say></Response>", "{}", "{\"participantIdentifier\": \"911\"}",
			     "{\"participantIdentifier\": \"+14155550102\", \"ttl\": -1}",
			     "{\"participantIdentifier\": 14155550102}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(callback_parse_proxy_answer(bad[i], strlen(bad[i]), &a, &why), MASKD_EINVAL);
		assert_non_null(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_json_is_masked),
		cmocka_unit_test(answers_understood),
		cmocka_unit_test(garbage_refused),
		cmocka_unit_test(signature_known_answer),
		cmocka_unit_test(unreachable_is_transport_failure),
		cmocka_unit_test(proxy_form_known_answer),
		cmocka_unit_test(proxy_answers),
	};
	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
