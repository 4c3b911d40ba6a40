/* SPDX-License-Identifier: MIT */
/* test_intercept.c - the intercept: the strict reading of the app's answer
 * (anything unexpected is garbage), the rule that turns an answer or its absence
 * into the recorded outcome (intercept_fail_open), and the document maskd sends
 * (masked numbers only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/intercept.h"
#include "out/intercept.h"
#include "util/err.h"
#include "hooks/twilio_sig.h"
#include "util/arena.h"
#include "util/crypto.h"
#include "util/form.h"

static int parse(const char *text, enum channel ch, struct intercept_answer *a, const char **why)
{
	return intercept_parse_answer(text, strlen(text), ch, a, why);
}

static void allow_and_deny_parse(void **state)
{
	(void)state;
	struct intercept_answer a;
	const char *why = "unset";
	assert_int_equal(parse("{\"action\":\"allow\"}", CHANNEL_VOICE, &a, &why), 0);
	assert_null(why);
	assert_int_equal(a.action, INTERCEPT_ACTION_ALLOW);
	assert_false(a.has_body);
	assert_int_equal(parse("{\"action\":\"deny\",\"message\":\"Not now.\"}", CHANNEL_VOICE, &a, &why), 0);
	assert_int_equal(a.action, INTERCEPT_ACTION_DENY);
	assert_true(a.has_message);
	assert_string_equal(a.message, "Not now.");
	assert_int_equal(parse("{\"action\":\"deny\"}", CHANNEL_MESSAGE, &a, &why), 0);
	assert_false(a.has_message);
	assert_int_equal(parse("{\"action\":\"allow\",\"body\":\"call me at [redacted]\"}", CHANNEL_MESSAGE, &a, &why),
			 0);
	assert_true(a.has_body);
	assert_string_equal(a.body, "call me at [redacted]");
	/* a body on a call means nothing: ignored, even a malformed one */
	assert_int_equal(parse("{\"action\":\"allow\",\"body\":7}", CHANNEL_VOICE, &a, &why), 0);
	assert_false(a.has_body);
	/* unknown keys are ignored */
	assert_int_equal(parse("{\"action\":\"allow\",\"note\":1}", CHANNEL_VOICE, &a, &why), 0);
}

static void garbage_is_refused(void **state)
{
	(void)state;
	struct intercept_answer a;
	const char *why = NULL;
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"action\":\"maybe\"}",
		"{\"action\":1}",
		"{\"action\":\"deny\",\"message\":5}",
		"{\"action\":\"allow\",\"body\":\"\"}",
		"{\"action\":\"allow\",\"body\":[\"x\"]}",
		"{\"action\":\"allow\",\"action\":\"deny\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(parse(bad[i], CHANNEL_MESSAGE, &a, &why), MASKD_EINVAL);
		assert_non_null(why);
	}
	/* over INTERCEPT_TEXT_MAX bytes */
	char big[INTERCEPT_TEXT_MAX + 64];
	int n = snprintf(big, sizeof(big), "{\"action\":\"allow\",\"body\":\"");
	memset(big + n, 'x', INTERCEPT_TEXT_MAX + 1);
	snprintf(big + n + INTERCEPT_TEXT_MAX + 1, sizeof(big) - (size_t)n - INTERCEPT_TEXT_MAX - 1, "\"}");
	assert_int_equal(parse(big, CHANNEL_MESSAGE, &a, &why), MASKD_EINVAL);
	/* exactly INTERCEPT_TEXT_MAX is taken */
	snprintf(big + n + INTERCEPT_TEXT_MAX, sizeof(big) - (size_t)n - INTERCEPT_TEXT_MAX, "\"}");
	assert_int_equal(parse(big, CHANNEL_MESSAGE, &a, &why), 0);
	assert_int_equal(strlen(a.body), INTERCEPT_TEXT_MAX);
	/* a NUL inside the string cannot be carried */
	const char nul[] = "{\"action\":\"deny\",\"message\":\"a\\u0000b\"}";
	assert_int_equal(parse(nul, CHANNEL_MESSAGE, &a, &why), MASKD_EINVAL);
}

static void rule_of_outcomes(void **state)
{
	(void)state;
	struct intercept_answer allow = {.action = INTERCEPT_ACTION_ALLOW};
	struct intercept_answer deny = {.action = INTERCEPT_ACTION_DENY, .has_message = true, .message = "No."};
	struct intercept_answer replace = {.action = INTERCEPT_ACTION_ALLOW, .has_body = true, .body = "[redacted]"};
	assert_int_equal(intercept_decide(true, &allow, CHANNEL_VOICE, false), INTERCEPT_ALLOWED);
	assert_int_equal(intercept_decide(true, &deny, CHANNEL_VOICE, true), INTERCEPT_DENIED);
	assert_int_equal(intercept_decide(true, &replace, CHANNEL_MESSAGE, true), INTERCEPT_REPLACED);
	assert_int_equal(intercept_decide(true, &replace, CHANNEL_VOICE, true), INTERCEPT_ALLOWED);
	/* no valid answer: the service's intercept_fail_open decides, whatever a holds */
	assert_int_equal(intercept_decide(false, NULL, CHANNEL_VOICE, true), INTERCEPT_FAILED_OPEN);
	assert_int_equal(intercept_decide(false, &allow, CHANNEL_MESSAGE, false), INTERCEPT_FAILED_CLOSED);
	assert_true(intercept_refuses(INTERCEPT_DENIED));
	assert_true(intercept_refuses(INTERCEPT_FAILED_CLOSED));
	assert_false(intercept_refuses(INTERCEPT_FAILED_OPEN));
	assert_false(intercept_refuses(INTERCEPT_REPLACED));
	assert_false(intercept_refuses(INTERCEPT_ALLOWED));
	assert_string_equal(intercept_text_of(INTERCEPT_DENIED, &deny), "No.");
	assert_string_equal(intercept_text_of(INTERCEPT_REPLACED, &replace), "[redacted]");
	assert_string_equal(intercept_text_of(INTERCEPT_ALLOWED, &replace), "");
	assert_string_equal(intercept_text_of(INTERCEPT_FAILED_CLOSED, &deny), "");
	struct intercept_answer deny_quiet = {.action = INTERCEPT_ACTION_DENY};
	assert_string_equal(intercept_text_of(INTERCEPT_DENIED, &deny_quiet), "");
}

static void outcome_names(void **state)
{
	(void)state;
	assert_null(intercept_outcome_name(INTERCEPT_NONE));
	assert_string_equal(intercept_outcome_name(INTERCEPT_ALLOWED), "allowed");
	assert_string_equal(intercept_outcome_name(INTERCEPT_DENIED), "denied");
	assert_string_equal(intercept_outcome_name(INTERCEPT_REPLACED), "replaced");
	assert_string_equal(intercept_outcome_name(INTERCEPT_FAILED_OPEN), "failed_open");
	assert_string_equal(intercept_outcome_name(INTERCEPT_FAILED_CLOSED), "failed_closed");
	assert_null(intercept_outcome_name(6));
	assert_null(intercept_outcome_name(-1));
}

static void query_document_is_masked(void **state)
{
	(void)state;
	struct intercept_query q = {
		.interaction_id = "int_abc",
		.service_id = "svc_x",
		.session_id = "ses_y",
		.channel = CHANNEL_MESSAGE,
		.carrier = DIALECT_TWILIO,
		.carrier_sid = "SM1",
		.from_participant = "par_a",
		.to_participant = "par_b",
		.from_masked = "+1******0101",
		.to_masked = "+1******0102",
		.proxy_number = "+14155550100",
		.body = "hello",
		.n_media = 0,
	};
	char *j = intercept_query_json(&q, 1796284800);
	assert_string_equal(j, "{\"data\":{\"body\":\"hello\",\"carrier\":\"twilio\",\"carrier_sid\":\"SM1\","
			       "\"channel\":\"message\",\"from\":\"+1******0101\",\"from_participant_id\":\"par_a\","
			       "\"interaction_id\":\"int_abc\",\"media_count\":0,\"proxy_number\":\"+14155550100\","
			       "\"session_id\":\"ses_y\",\"to\":\"+1******0102\",\"to_participant_id\":\"par_b\"},"
			       "\"id\":\"int_abc\",\"service_id\":\"svc_x\",\"timestamp\":\"2026-12-03T08:00:00Z\","
			       "\"type\":\"interaction.intercept\"}");
	free(j);
	q.channel = CHANNEL_VOICE;
	q.body = NULL;
	j = intercept_query_json(&q, 1796284800);
	assert_null(strstr(j, "\"body\""));
	assert_non_null(strstr(j, "\"channel\":\"voice\""));
	free(j);
}

/* The Proxy form: what is POSTed parses back to the parameters, and the
 * X-Twilio-Signature is Twilio's over the URL and exactly those parameters. */
static void proxy_form_is_signed(void **state)
{
	(void)state;
	struct intercept_proxy_query q = {
		.interaction_sid = "KI00000000000000000000000000000001",
		.service_sid = "KS00000000000000000000000000000002",
		.session_sid = "KC00000000000000000000000000000003",
		.participant_sid = "KP00000000000000000000000000000004",
		.channel = CHANNEL_MESSAGE,
		.carrier_sid = "SM1",
		.body = "a & b = c",
	};
	const char *url = "https://app.example.com/intercept?x=1";
	char sig[29], again[29];
	char *body = intercept_proxy_form(url, "token", 1796284800, &q, sig);
	struct arena a = ARENA_INIT;
	struct form f;
	assert_int_equal(form_parse(&a, body, strlen(body), &f), 0);
	assert_string_equal(form_get(&f, "interactionData"), "{\"body\":\"a & b = c\"}");
	assert_string_equal(form_get(&f, "interactionType"), "Message");
	assert_string_equal(form_get(&f, "inboundResourceType"), "message");
	assert_string_equal(form_get(&f, "inboundResourceSid"), "SM1");
	assert_string_equal(form_get(&f, "interactionDateCreated"), "2026-12-03T08:00:00Z");
	twilio_sig_compute(TWILIO_SIG_TWILIO, "token", url, &f, again);
	assert_string_equal(sig, again);
	twilio_sig_compute(TWILIO_SIG_TWILIO, "other", url, &f, again);
	assert_string_not_equal(sig, again);
	arena_free(&a);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allow_and_deny_parse), cmocka_unit_test(garbage_is_refused),
		cmocka_unit_test(rule_of_outcomes),     cmocka_unit_test(outcome_names),
		cmocka_unit_test(query_document_is_masked), cmocka_unit_test(proxy_form_is_signed),
	};
	crypto_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
