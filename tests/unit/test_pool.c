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

/* Per-number cap: a full number is skipped, a named one refused. */
static void cap_per_number(void **state)
{
	struct pool_candidate c[] = {
		{.number_id = "num_a", .state = NUMBER_ACTIVE, .caps = CAP_ALL, .in_use = 100, .created_at = 1},
		{.number_id = "num_b", .state = NUMBER_ACTIVE, .caps = CAP_ALL, .in_use = 100, .created_at = 2},
	};
	assert_int_equal(pool_pick_for(c, 2, CAP_VOICE, 100, NULL), -1);
	assert_int_equal(pool_pick_for(c, 2, CAP_VOICE, 101, NULL), 0);
	assert_int_equal(pool_pick_for(c, 2, CAP_VOICE, 0, NULL), 0); /* 0 = no cap */
	assert_false(pool_named_usable(NUMBER_ACTIVE, CAP_ALL, CAP_VOICE, 100, 100));
	assert_true(pool_named_usable(NUMBER_ACTIVE, CAP_ALL, CAP_VOICE, 99, 100));
}

/* avoid-sticky: last time's number only when nothing else fits. */
static void avoid_last_number(void **state)
{
	struct pool_candidate c[] = {
		{.number_id = "num_a", .state = NUMBER_ACTIVE, .caps = CAP_ALL, .in_use = 0, .created_at = 1},
		{.number_id = "num_b", .state = NUMBER_ACTIVE, .caps = CAP_ALL, .in_use = 5, .created_at = 2},
	};
	assert_int_equal(pool_pick_for(c, 2, CAP_VOICE, 0, NULL), 0);
	assert_int_equal(pool_pick_for(c, 2, CAP_VOICE, 0, "num_a"), 1);
	assert_int_equal(pool_pick_for(c, 1, CAP_VOICE, 0, "num_a"), 0);
	c[1].held = 1;
	assert_int_equal(pool_pick_for(c, 2, CAP_VOICE, 0, "num_a"), 0);
}

static void geo_levels(void **state)
{
	int l[4];
	assert_int_equal(pool_geo_levels(GEO_COUNTRY, 0, "415", "California", l), 2);
	assert_int_equal(l[0], GEO_COUNTRY);
	assert_int_equal(l[1], GEO_ANY);
	assert_int_equal(pool_geo_levels(GEO_COUNTRY, 1, "415", "California", l), 1);
	assert_int_equal(l[0], GEO_COUNTRY);
	assert_int_equal(pool_geo_levels(GEO_AREA_CODE, 0, "415", "California", l), 4);
	assert_int_equal(l[0], GEO_AREA_CODE);
	assert_int_equal(l[1], GEO_REGION);
	assert_int_equal(l[2], GEO_COUNTRY);
	assert_int_equal(l[3], GEO_ANY);
	assert_int_equal(pool_geo_levels(GEO_REGION, 0, "415", "California", l), 3);
	assert_int_equal(l[0], GEO_REGION);
	/* a mobile with neither area code nor region skips to country */
	assert_int_equal(pool_geo_levels(GEO_AREA_CODE, 0, "", "", l), 2);
	assert_int_equal(l[0], GEO_COUNTRY);
	/* strict keeps the level even when the participant has no key: nothing matches, a 409 */
	assert_int_equal(pool_geo_levels(GEO_AREA_CODE, 1, "", NULL, l), 1);
	assert_int_equal(l[0], GEO_AREA_CODE);
}

static void pool_rules_override(void **state)
{
	struct pool_rules svc = {GEO_AREA_CODE, 1, SELECT_AVOID_STICKY};
	struct pool_rules inherit = {-1, -1, -1}, ses = {GEO_COUNTRY, 0, SELECT_PREFER_STICKY}, eff;
	pool_rules_effective(&svc, &inherit, &eff);
	assert_int_equal(eff.geo_match, GEO_AREA_CODE);
	assert_int_equal(eff.geo_match_strict, 1);
	assert_int_equal(eff.number_selection, SELECT_AVOID_STICKY);
	pool_rules_effective(&svc, &ses, &eff);
	assert_int_equal(eff.geo_match, GEO_COUNTRY);
	assert_int_equal(eff.geo_match_strict, 0);
	assert_int_equal(eff.number_selection, SELECT_PREFER_STICKY);
}

static void near_exhaustion(void **state)
{
	assert_true(pool_near_exhaustion(6, 1));   /* 86% */
	assert_false(pool_near_exhaustion(5, 1));  /* 83% */
	assert_true(pool_near_exhaustion(17, 3));  /* exactly 85% */
	assert_true(pool_near_exhaustion(1, 0));   /* the last one */
	assert_false(pool_near_exhaustion(0, 0));
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
		cmocka_unit_test(cap_per_number),
		cmocka_unit_test(avoid_last_number),
		cmocka_unit_test(geo_levels),
		cmocka_unit_test(pool_rules_override),
		cmocka_unit_test(near_exhaustion),
		cmocka_unit_test(policy_overrides),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
