/* SPDX-License-Identifier: MIT */
/* test_refusal.c - refusal_text(): what a refused caller is told for every route
 * reason on each channel, with the service's own texts and switches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/refusal.h"
#include "core/route.h"

static struct service svc_with_texts(void)
{
	struct service s;
	memset(&s, 0, sizeof(s));
	snprintf(s.ended_message, sizeof(s.ended_message), "ended");
	snprintf(s.unknown_caller_message, sizeof(s.unknown_caller_message), "who are you");
	return s;
}

static void per_reason_and_channel(void **state)
{
	struct service s = svc_with_texts();
	assert_string_equal(refusal_text(&s, ROUTE_SESSION_ENDED, CHANNEL_VOICE), "ended");
	assert_string_equal(refusal_text(&s, ROUTE_SESSION_ENDED, CHANNEL_MESSAGE), "ended");
	assert_string_equal(refusal_text(&s, ROUTE_NO_PEER, CHANNEL_VOICE), REFUSAL_NO_PEER);
	assert_null(refusal_text(&s, ROUTE_NO_PEER, CHANNEL_MESSAGE));
	assert_null(refusal_text(&s, ROUTE_OPTED_OUT, CHANNEL_VOICE));
	assert_string_equal(refusal_text(&s, ROUTE_OPTED_OUT, CHANNEL_MESSAGE), REFUSAL_OPTED_OUT);
	assert_string_equal(refusal_text(&s, ROUTE_MEDIA_REFUSED, CHANNEL_MESSAGE), REFUSAL_MEDIA);
	assert_null(refusal_text(&s, ROUTE_MEDIA_REFUSED, CHANNEL_VOICE));
	assert_string_equal(refusal_text(&s, ROUTE_RATE_LIMITED, CHANNEL_VOICE), REFUSAL_RATE_LIMITED);
	assert_null(refusal_text(&s, ROUTE_RATE_LIMITED, CHANNEL_MESSAGE));
	const int unknown_like[] = {ROUTE_UNKNOWN_CALLER, ROUTE_CHANNEL_DENIED, ROUTE_WRONG_PIN};
	for (size_t i = 0; i < sizeof(unknown_like) / sizeof(unknown_like[0]); i++) {
		assert_string_equal(refusal_text(&s, unknown_like[i], CHANNEL_VOICE), "who are you");
		assert_null(refusal_text(&s, unknown_like[i], CHANNEL_MESSAGE));
	}
	const int silent[] = {ROUTE_OK, ROUTE_EMPTY_MESSAGE, ROUTE_KEYWORD, ROUTE_BLOCKED, 99};
	for (size_t i = 0; i < sizeof(silent) / sizeof(silent[0]); i++) {
		assert_null(refusal_text(&s, silent[i], CHANNEL_VOICE));
		assert_null(refusal_text(&s, silent[i], CHANNEL_MESSAGE));
	}
}

static void rate_silent_says_nothing(void **state)
{
	struct service s = svc_with_texts();
	s.rate_silent = 1;
	assert_null(refusal_text(&s, ROUTE_RATE_LIMITED, CHANNEL_VOICE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(per_reason_and_channel),
		cmocka_unit_test(rate_silent_says_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
