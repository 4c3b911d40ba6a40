/* SPDX-License-Identifier: MIT */
/* test_pool.c - the proxy number choice rule and session deadlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/pool.h"
#include "core/session.h"

static void caps_for_modes(void **state)
{
	assert_int_equal(pool_caps_for_mode(MODE_VOICE), CAP_VOICE);
	assert_int_equal(pool_caps_for_mode(MODE_MESSAGE), CAP_SMS);
	assert_int_equal(pool_caps_for_mode(MODE_VOICE_AND_MESSAGE), CAP_VOICE | CAP_SMS);
}

static void least_loaded_then_oldest(void **state)
{
	struct pool_candidate c[] = {
		{"num_a", NUMBER_ACTIVE, CAP_ALL, 3, 10, 0},
		{"num_b", NUMBER_ACTIVE, CAP_ALL, 1, 30, 0},
		{"num_c", NUMBER_ACTIVE, CAP_ALL, 1, 20, 0},
	};
	assert_int_equal(pool_pick_for(c, 3, CAP_VOICE, 0, NULL), 2);
}

static void skips_held_reserved_retired_and_incapable(void **state)
{
	struct pool_candidate c[] = {
		{"num_held", NUMBER_ACTIVE, CAP_ALL, 0, 1, 1},
		{"num_reserved", NUMBER_RESERVED, CAP_ALL, 0, 2, 0},
		{"num_retired", NUMBER_RETIRED, CAP_ALL, 0, 3, 0},
		{"num_sms_only", NUMBER_ACTIVE, CAP_SMS, 0, 4, 0},
		{"num_ok", NUMBER_ACTIVE, CAP_VOICE | CAP_SMS, 9, 5, 0},
	};
	assert_int_equal(pool_pick_for(c, 5, CAP_VOICE | CAP_SMS, 0, NULL), 4);
	assert_int_equal(pool_pick_for(c, 4, CAP_VOICE | CAP_SMS, 0, NULL), -1);
	assert_int_equal(pool_pick_for(c, 0, CAP_VOICE, 0, NULL), -1);
}

static void named_numbers(void **state)
{
	assert_true(pool_named_usable(NUMBER_RESERVED, CAP_ALL, CAP_VOICE, 0, 0)); /* reserved: only when named */
	assert_true(pool_named_usable(NUMBER_ACTIVE, CAP_VOICE, CAP_VOICE, 0, 0));
	assert_false(pool_named_usable(NUMBER_RETIRED, CAP_ALL, CAP_VOICE, 0, 0));
	assert_false(pool_named_usable(NUMBER_ACTIVE, CAP_SMS, CAP_VOICE | CAP_SMS, 0, 0));
}

static void deadlines(void **state)
{
	assert_int_equal(session_deadline(0, 0, 100), 0);
	assert_int_equal(session_deadline(500, 0, 100), 500);
	assert_int_equal(session_deadline(0, 60, 100), 160);
	assert_int_equal(session_deadline(150, 60, 100), 150);
	assert_int_equal(session_deadline(500, 60, 100), 160);
	assert_true(session_live(SESSION_OPEN, 0, 0, 0, 1LL << 40));
	assert_true(session_live(SESSION_IN_PROGRESS, 500, 0, 0, 499));
	assert_false(session_live(SESSION_IN_PROGRESS, 500, 0, 0, 500));
	assert_false(session_live(SESSION_CLOSED, 0, 0, 0, 1));
	assert_false(session_live(SESSION_FAILED, 0, 0, 0, 1));
}

static void policy_overrides(void **state)
{
	struct call_policy svc = {.record = 1, .time_limit = 3600, .ring_timeout = 25, .consent_message = "svc"};
	struct call_policy inherit = {.record = -1, .time_limit = -1, .ring_timeout = -1};
	struct call_policy eff;
	session_policy_effective(&svc, &inherit, &eff);
	assert_int_equal(eff.record, 1);
	assert_int_equal(eff.time_limit, 3600);
	assert_string_equal(eff.consent_message, "svc");
	struct call_policy own = {.record = 0, .time_limit = 0, .ring_timeout = 10, .consent_message = "mine"};
	session_policy_effective(&svc, &own, &eff);
	assert_int_equal(eff.record, 0);
	assert_int_equal(eff.time_limit, 0); /* 0 is an override: the carrier's default */
	assert_int_equal(eff.ring_timeout, 10);
	assert_string_equal(eff.consent_message, "mine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(caps_for_modes),
		cmocka_unit_test(least_loaded_then_oldest),
		cmocka_unit_test(skips_held_reserved_retired_and_incapable),
		cmocka_unit_test(named_numbers),
		cmocka_unit_test(deadlines),
		cmocka_unit_test(policy_overrides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
