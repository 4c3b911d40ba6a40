/* SPDX-License-Identifier: MIT */
/* test_unknown.c - the unknown-caller policy: each policy for a call and a text,
 * each callback answer and failure (open and closed), the PIN number and the PIN
 * prompt's attempts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/unknown.h"

static struct service svc_of(int policy)
{
	struct service s;
	memset(&s, 0, sizeof(s));
	s.unknown_caller = policy;
	snprintf(s.unknown_caller_message, sizeof(s.unknown_caller_message), "not known");
	snprintf(s.fallback_number, sizeof(s.fallback_number), "+18005550100");
	snprintf(s.pin_number, sizeof(s.pin_number), "+14155550199");
	s.pin_attempts = 3;
	return s;
}

static const struct inbound call = {.channel = CHANNEL_VOICE, .from = "+12125550123", .to = "+14155550101"};
static const struct inbound text = {.channel = CHANNEL_MESSAGE, .from = "+12125550123", .to = "+14155550101", .body = "hi"};
static const struct inbound empty_text = {.channel = CHANNEL_MESSAGE, .from = "+12125550123", .to = "+14155550101"};

static void reject_policy(void **state)
{
	const int policies[] = {UNKNOWN_REJECT, UNKNOWN_PIN};
	for (size_t i = 0; i < 2; i++) {
		struct service s = svc_of(policies[i]);
		struct unknown_outcome o;
		unknown_decide(&s, &call, &o);
		assert_int_equal(o.action, UNKNOWN_ACT_REFUSE);
		assert_int_equal(o.d.kind, DECISION_REJECT);
		assert_int_equal(o.d.reason, ROUTE_UNKNOWN_CALLER);
		assert_string_equal(o.say, "not known");
		unknown_decide(&s, &text, &o);
		assert_int_equal(o.d.kind, DECISION_ACKNOWLEDGE);
		assert_null(o.say); /* a text is never answered with the voice message */
	}
}

static void forward_policy_relays_calls_only(void **state)
{
	struct service s = svc_of(UNKNOWN_FORWARD);
	struct unknown_outcome o;
	unknown_decide(&s, &call, &o);
	assert_int_equal(o.action, UNKNOWN_ACT_FORWARD);
	assert_int_equal(o.d.kind, DECISION_BRIDGE);
	assert_string_equal(o.d.dial, "+18005550100");
	assert_string_equal(o.d.from, "+14155550101"); /* the dialled proxy number as caller id */
	unknown_decide(&s, &text, &o);
	assert_int_equal(o.d.kind, DECISION_ACKNOWLEDGE);
	assert_null(o.d.dial);
	assert_null(o.d.from);
}

static void callback_policy_asks(void **state)
{
	struct service s = svc_of(UNKNOWN_CALLBACK);
	struct unknown_outcome o;
	unknown_decide(&s, &call, &o);
	assert_int_equal(o.action, UNKNOWN_ACT_ASK_CALLBACK);
}

static void callback_answers(void **state)
{
	struct service s = svc_of(UNKNOWN_CALLBACK);
	struct unknown_outcome o;
	unknown_after_callback(&s, &call, 1, CALLBACK_REJECT, NULL, "go away", &o);
	assert_int_equal(o.action, UNKNOWN_ACT_REFUSE);
	assert_int_equal(o.d.kind, DECISION_REJECT);
	assert_string_equal(o.say, "go away");
	unknown_after_callback(&s, &call, 1, CALLBACK_REJECT, NULL, "", &o);
	assert_string_equal(o.say, "not known");
	unknown_after_callback(&s, &call, 1, CALLBACK_FORWARD, "+18005550111", NULL, &o);
	assert_int_equal(o.action, UNKNOWN_ACT_FORWARD);
	assert_int_equal(o.d.kind, DECISION_BRIDGE);
	assert_string_equal(o.d.dial, "+18005550111");
	unknown_after_callback(&s, &text, 1, CALLBACK_FORWARD, "+18005550111", NULL, &o);
	assert_int_equal(o.d.kind, DECISION_FORWARD_MESSAGE); /* the app asked for it: texts go too */
	assert_string_equal(o.d.dial, "+18005550111");
	assert_string_equal(o.d.from, "+14155550101");
	unknown_after_callback(&s, &empty_text, 1, CALLBACK_FORWARD, "+18005550111", NULL, &o);
	assert_int_equal(o.d.kind, DECISION_ACKNOWLEDGE); /* nothing to forward */
	unknown_after_callback(&s, &call, 1, CALLBACK_SESSION, "+18005550111", NULL, &o);
	assert_int_equal(o.action, UNKNOWN_ACT_SESSION);
}

static void callback_failure_open_and_closed(void **state)
{
	struct service s = svc_of(UNKNOWN_CALLBACK);
	struct unknown_outcome o;
	unknown_after_callback(&s, &call, 0, 0, NULL, NULL, &o);
	assert_int_equal(o.action, UNKNOWN_ACT_REFUSE);
	assert_string_equal(o.say, "not known");
	s.callback_fail_open = 1;
	unknown_after_callback(&s, &call, 0, 0, NULL, NULL, &o);
	assert_int_equal(o.action, UNKNOWN_ACT_FORWARD);
	assert_string_equal(o.d.dial, "+18005550100");
	unknown_after_callback(&s, &text, 0, 0, NULL, NULL, &o);
	assert_int_equal(o.d.kind, DECISION_ACKNOWLEDGE); /* the fallback relays calls only */
}

static void pin_number(void **state)
{
	struct service s = svc_of(UNKNOWN_PIN);
	assert_true(unknown_is_pin_number(&s, CHANNEL_VOICE, "+14155550199"));
	assert_false(unknown_is_pin_number(&s, CHANNEL_MESSAGE, "+14155550199"));
	assert_false(unknown_is_pin_number(&s, CHANNEL_VOICE, "+14155550101"));
	s.unknown_caller = UNKNOWN_REJECT;
	assert_false(unknown_is_pin_number(&s, CHANNEL_VOICE, "+14155550199"));
	struct unknown_outcome o;
	unknown_gather_refused(&s, &o);
	assert_int_equal(o.d.kind, DECISION_REJECT);
	assert_string_equal(o.say, "not known");
}

static void pin_attempts(void **state)
{
	struct service s = svc_of(UNKNOWN_PIN);
	struct unknown_outcome o;
	memset(&o, 0, sizeof(o));
	int attempt = -1;
	assert_int_equal(unknown_pin_retry(&s, NULL, &attempt, &o), 2);
	assert_int_equal(attempt, 1);
	assert_int_equal(unknown_pin_retry(&s, "2", &attempt, &o), 3);
	assert_int_equal(attempt, 2);
	assert_int_equal(o.action, 0); /* untouched while asking again */
	assert_int_equal(unknown_pin_retry(&s, "3", &attempt, &o), 0);
	assert_int_equal(attempt, 3);
	assert_int_equal(o.action, UNKNOWN_ACT_REFUSE);
	assert_int_equal(o.d.kind, DECISION_REJECT);
	assert_int_equal(o.d.reason, ROUTE_WRONG_PIN);
	assert_string_equal(o.say, UNKNOWN_PIN_FAILED);
	assert_int_equal(unknown_pin_retry(&s, "10", &attempt, &o), 0);
	assert_int_equal(attempt, 0);
	s.pin_attempts = 9;
	assert_int_equal(unknown_pin_retry(&s, "9", &attempt, &o), 0);
	assert_int_equal(attempt, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reject_policy),
		cmocka_unit_test(forward_policy_relays_calls_only),
		cmocka_unit_test(callback_policy_asks),
		cmocka_unit_test(callback_answers),
		cmocka_unit_test(callback_failure_open_and_closed),
		cmocka_unit_test(pin_number),
		cmocka_unit_test(pin_attempts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
