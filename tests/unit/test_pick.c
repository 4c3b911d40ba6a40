/* SPDX-License-Identifier: MIT */
/* test_pick.c - the plan of a proxy-number pick (core/pick.h) on fixed inputs:
 * steps, geo levels, cap counting, holder verdicts, headroom and the unique_name
 * set rule. Pure: no store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/pick.h"

static struct create_rules rules(int geo, int strict, int selection, int cap, int reuse)
{
	return (struct create_rules){.pool = {geo, strict, selection}, .number_cap = cap, .cooloff_reuse = reuse};
}

static struct participant party(const char *country, const char *area, const char *region)
{
	struct participant p;
	memset(&p, 0, sizeof(p));
	snprintf(p.country, sizeof(p.country), "%s", country);
	snprintf(p.area_code, sizeof(p.area_code), "%s", area);
	snprintf(p.region, sizeof(p.region), "%s", region);
	return p;
}

static struct number num(const char *country, const char *area, const char *region, int state, unsigned caps,
			 int64_t in_use)
{
	struct number n;
	memset(&n, 0, sizeof(n));
	snprintf(n.id, sizeof(n.id), "num_x");
	snprintf(n.country, sizeof(n.country), "%s", country);
	snprintf(n.area_code, sizeof(n.area_code), "%s", area);
	snprintf(n.region, sizeof(n.region), "%s", region);
	n.state = state;
	n.caps = caps;
	n.in_use = in_use;
	return n;
}

static void steps_in_order(void **state)
{
	int s[PICK_STEPS_MAX];
	struct create_rules sticky = rules(GEO_COUNTRY, 0, SELECT_PREFER_STICKY, 0, 1);
	/* named: that step only */
	assert_int_equal(pick_steps(&sticky, 1, 1, 0, s), 1);
	assert_int_equal(s[0], PICK_STEP_NAMED);
	/* prefer-sticky with the other side known, then the pool, then cool-off reuse */
	assert_int_equal(pick_steps(&sticky, 0, 1, 0, s), 3);
	assert_int_equal(s[0], PICK_STEP_STICKY);
	assert_int_equal(s[1], PICK_STEP_POOL);
	assert_int_equal(s[2], PICK_STEP_COOLING);
	/* single-party: no sticky */
	assert_int_equal(pick_steps(&sticky, 0, 0, 0, s), 2);
	assert_int_equal(s[0], PICK_STEP_POOL);
	/* swap: the pool only */
	assert_int_equal(pick_steps(&sticky, 0, 1, 1, s), 1);
	assert_int_equal(s[0], PICK_STEP_POOL);
	assert_int_equal(pick_steps(&sticky, 1, 1, 1, s), 1);
	assert_int_equal(s[0], PICK_STEP_NAMED);
	/* avoid-sticky, no reuse: the pool only */
	struct create_rules avoid = rules(GEO_COUNTRY, 0, SELECT_AVOID_STICKY, 0, 0);
	assert_int_equal(pick_steps(&avoid, 0, 1, 0, s), 1);
	assert_int_equal(s[0], PICK_STEP_POOL);
}

static void sticky_lookup_and_avoid(void **state)
{
	assert_true(pick_wants_sticky(1, 0));
	assert_false(pick_wants_sticky(0, 0));
	assert_false(pick_wants_sticky(1, 1));
	struct create_rules avoid = rules(GEO_COUNTRY, 0, SELECT_AVOID_STICKY, 0, 0);
	struct create_rules prefer = rules(GEO_COUNTRY, 0, SELECT_PREFER_STICKY, 0, 0);
	assert_string_equal(pick_avoid(&avoid, "num_s"), "num_s");
	assert_null(pick_avoid(&avoid, ""));
	assert_null(pick_avoid(&avoid, NULL));
	assert_null(pick_avoid(&prefer, "num_s"));
}

static void levels_of_a_participant(void **state)
{
	int lv[4];
	struct participant local = party("US", "415", "CA");
	struct participant mobile = party("GB", "", "");
	struct create_rules area = rules(GEO_AREA_CODE, 0, SELECT_PREFER_STICKY, 0, 0);
	assert_int_equal(pick_levels(&area, &local, lv), 4);
	assert_int_equal(lv[0], GEO_AREA_CODE);
	assert_int_equal(lv[3], GEO_ANY);
	assert_int_equal(pick_levels(&area, &mobile, lv), 2); /* no area code, no region */
	assert_int_equal(lv[0], GEO_COUNTRY);
	struct create_rules strict = rules(GEO_AREA_CODE, 1, SELECT_PREFER_STICKY, 0, 0);
	assert_int_equal(pick_levels(&strict, &mobile, lv), 1); /* strict keeps its only level */
	assert_int_equal(lv[0], GEO_AREA_CODE);
	assert_int_equal(pick_headroom_level(lv, 1), GEO_AREA_CODE);
}

static void geo_fits_and_level_of(void **state)
{
	struct participant p = party("US", "415", "CA");
	struct number same_area = num("US", "415", "CA", NUMBER_ACTIVE, CAP_ALL, 0);
	struct number same_region = num("US", "213", "CA", NUMBER_ACTIVE, CAP_ALL, 0);
	struct number same_country = num("US", "212", "NY", NUMBER_ACTIVE, CAP_ALL, 0);
	struct number abroad = num("GB", "20", "LND", NUMBER_ACTIVE, CAP_ALL, 0);
	assert_true(pick_geo_fits(GEO_AREA_CODE, &same_area, &p));
	assert_false(pick_geo_fits(GEO_AREA_CODE, &same_region, &p));
	assert_true(pick_geo_fits(GEO_REGION, &same_region, &p));
	assert_false(pick_geo_fits(GEO_REGION, &same_country, &p));
	assert_true(pick_geo_fits(GEO_COUNTRY, &same_country, &p));
	assert_false(pick_geo_fits(GEO_COUNTRY, &abroad, &p));
	assert_true(pick_geo_fits(GEO_ANY, &abroad, &p));
	/* a participant without the key matches nothing at that level */
	struct participant nokeys = party("", "", "");
	assert_false(pick_geo_fits(GEO_COUNTRY, &same_country, &nokeys));
	struct participant noarea = party("US", "", "CA");
	assert_false(pick_geo_fits(GEO_AREA_CODE, &same_area, &noarea));
	struct participant noregion = party("US", "415", "");
	assert_false(pick_geo_fits(GEO_REGION, &same_area, &noregion));

	int wide[4] = {GEO_AREA_CODE, GEO_REGION, GEO_COUNTRY, GEO_ANY};
	assert_int_equal(pick_level_of(wide, 4, &same_area, &p), GEO_AREA_CODE);
	assert_int_equal(pick_level_of(wide, 4, &same_region, &p), GEO_REGION);
	assert_int_equal(pick_level_of(wide, 4, &same_country, &p), GEO_COUNTRY);
	assert_int_equal(pick_level_of(wide, 4, &abroad, &p), GEO_ANY);
	int strict[1] = {GEO_REGION};
	assert_int_equal(pick_level_of(strict, 1, &same_country, &p), -1); /* strict: at none */
	assert_int_equal(pick_level_of(strict, 1, &same_region, &p), GEO_REGION);
}

static void levels_possible(void **state)
{
	struct participant p = party("US", "415", "");
	assert_true(pick_level_possible(GEO_ANY, &p));
	assert_true(pick_level_possible(GEO_COUNTRY, &p));
	assert_true(pick_level_possible(GEO_AREA_CODE, &p));
	assert_false(pick_level_possible(GEO_REGION, &p));
	struct participant none = party("", "", "");
	assert_true(pick_level_possible(GEO_ANY, &none));
	assert_false(pick_level_possible(GEO_COUNTRY, &none));
	assert_false(pick_level_possible(GEO_AREA_CODE, &none));
}

static void cap_counts_a_session_once(void **state)
{
	assert_true(pick_under_cap(5, 0, 0)); /* no cap */
	assert_true(pick_under_cap(1, 2, 0));
	assert_false(pick_under_cap(2, 2, 0));
	assert_true(pick_under_cap(2, 2, 1)); /* this session is one of the 2 */
	assert_false(pick_under_cap(3, 2, 1));

	struct number n = num("US", "415", "CA", NUMBER_ACTIVE, CAP_VOICE, 2);
	assert_false(pick_number_usable(&n, CAP_VOICE, 2, 0));
	assert_true(pick_number_usable(&n, CAP_VOICE, 2, 1));
	assert_false(pick_number_usable(&n, CAP_VOICE | CAP_SMS, 0, 0)); /* lacks caps */
	n.state = NUMBER_RESERVED;
	assert_true(pick_number_usable(&n, CAP_VOICE, 0, 0)); /* reserved: usable when named */
	n.state = NUMBER_RETIRED;
	assert_false(pick_number_usable(&n, CAP_VOICE, 0, 0));
}

static void counted_number_as_last_candidate(void **state)
{
	struct participant p = party("US", "415", "CA");
	struct number n = num("US", "415", "CA", NUMBER_ACTIVE, CAP_ALL, 2);
	assert_true(pick_counted_candidate(&n, CAP_VOICE, 2, GEO_AREA_CODE, &p));
	assert_false(pick_counted_candidate(&n, CAP_VOICE, 0, GEO_AREA_CODE, &p)); /* no cap: the filter has it */
	assert_false(pick_counted_candidate(&n, CAP_VOICE, 3, GEO_AREA_CODE, &p)); /* under the cap: ditto */
	n.in_use = 3;
	assert_false(pick_counted_candidate(&n, CAP_VOICE, 2, GEO_AREA_CODE, &p)); /* full without this session */
	n.in_use = 2;
	struct participant far = party("GB", "20", "LND");
	assert_false(pick_counted_candidate(&n, CAP_VOICE, 2, GEO_COUNTRY, &far));
	assert_true(pick_counted_candidate(&n, CAP_VOICE, 2, GEO_ANY, &far));
	n.state = NUMBER_RESERVED;
	assert_false(pick_counted_candidate(&n, CAP_VOICE, 2, GEO_ANY, &p));
	n.state = NUMBER_ACTIVE;
	n.caps = CAP_SMS;
	assert_false(pick_counted_candidate(&n, CAP_VOICE, 2, GEO_ANY, &p));
}

static void named_verdicts(void **state)
{
	struct pick_holder none = {0};
	struct pick_holder open = {.found = 1, .cooling = 0, .peer = "bidx_b"};
	struct pick_holder cool_pair = {.found = 1, .cooling = 1, .peer = "bidx_b"};
	struct pick_holder cool_other = {.found = 1, .cooling = 1, .peer = "bidx_c"};
	assert_int_equal(pick_named_verdict(&none, "bidx_b", 0, 0), PICK_TAKE);
	assert_int_equal(pick_named_verdict(&open, "bidx_b", 1, 0), PICK_REFUSE);
	assert_int_equal(pick_named_verdict(&cool_pair, "bidx_b", 0, 0), PICK_TAKE_RELEASE);
	assert_int_equal(pick_named_verdict(&cool_other, "bidx_b", 0, 0), PICK_REFUSE);
	assert_int_equal(pick_named_verdict(&cool_other, "bidx_b", 1, 0), PICK_TAKE_RELEASE); /* cooloff_reuse */
	assert_int_equal(pick_named_verdict(&cool_pair, "", 0, 0), PICK_REFUSE); /* single-party: no pair */
	assert_int_equal(pick_named_verdict(&none, "bidx_b", 0, 1), PICK_TAKE);
	assert_int_equal(pick_named_verdict(&cool_pair, "bidx_b", 1, 1), PICK_REFUSE); /* swap: any hold */
	assert_true(pick_same_pair("bidx_b", "bidx_b"));
	assert_false(pick_same_pair("bidx_b", ""));
	assert_false(pick_same_pair(NULL, "bidx_b"));
	assert_false(pick_same_pair("bidx_b", NULL));
}

static void sticky_verdicts(void **state)
{
	struct pick_holder none = {0};
	struct pick_holder open = {.found = 1, .cooling = 0, .peer = "bidx_b"};
	struct pick_holder cool_pair = {.found = 1, .cooling = 1, .peer = "bidx_b"};
	struct pick_holder cool_other = {.found = 1, .cooling = 1, .peer = "bidx_c"};
	assert_int_equal(pick_sticky_verdict(&none, "bidx_b"), PICK_TAKE);
	assert_int_equal(pick_sticky_verdict(&open, "bidx_b"), PICK_REFUSE);
	assert_int_equal(pick_sticky_verdict(&cool_pair, "bidx_b"), PICK_TAKE_RELEASE);
	assert_int_equal(pick_sticky_verdict(&cool_other, "bidx_b"), PICK_REFUSE);
}

static void headroom_arithmetic(void **state)
{
	assert_int_equal(pick_free_left(10, 3), 7);
	assert_int_equal(pick_free_left(POOL_FREE_PROBE + 5, 5), POOL_FREE_PROBE); /* the probe was hit */
	assert_int_equal(pick_free_left(POOL_FREE_PROBE + 9, 2), POOL_FREE_PROBE);
	assert_int_equal(pick_free_left(3, 3), 0);
	assert_int_equal(pick_free_left(2, 3), 0); /* never negative */
	struct participant a = party("US", "415", "CA");
	struct participant b = party("US", "213", "CA");
	struct participant c = party("GB", "20", "LND");
	assert_true(pick_same_headroom(GEO_ANY, CAP_VOICE, &a, GEO_ANY, CAP_VOICE, &c));
	assert_false(pick_same_headroom(GEO_ANY, CAP_VOICE, &a, GEO_ANY, CAP_SMS, &c));
	assert_false(pick_same_headroom(GEO_ANY, CAP_VOICE, &a, GEO_COUNTRY, CAP_VOICE, &b));
	assert_true(pick_same_headroom(GEO_COUNTRY, CAP_VOICE, &a, GEO_COUNTRY, CAP_VOICE, &b));
	assert_false(pick_same_headroom(GEO_COUNTRY, CAP_VOICE, &a, GEO_COUNTRY, CAP_VOICE, &c));
	assert_true(pick_same_headroom(GEO_REGION, CAP_VOICE, &a, GEO_REGION, CAP_VOICE, &b));
	assert_false(pick_same_headroom(GEO_AREA_CODE, CAP_VOICE, &a, GEO_AREA_CODE, CAP_VOICE, &b));
}

static void unique_name_same_set(void **state)
{
	const char *ab[] = {"a", "b"}, *ba[] = {"b", "a"}, *ac[] = {"a", "c"}, *a[] = {"a"}, *aa[] = {"a", "a"};
	assert_true(pick_same_set(ab, 2, ba, 2));
	assert_true(pick_same_set(ab, 2, ab, 2));
	assert_false(pick_same_set(ab, 2, ac, 2));
	assert_false(pick_same_set(ab, 2, a, 1));
	assert_true(pick_same_set(a, 1, a, 1));
	assert_false(pick_same_set(aa, 2, ab, 2));
	assert_true(pick_same_set(NULL, 0, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(steps_in_order),
		cmocka_unit_test(sticky_lookup_and_avoid),
		cmocka_unit_test(levels_of_a_participant),
		cmocka_unit_test(geo_fits_and_level_of),
		cmocka_unit_test(levels_possible),
		cmocka_unit_test(cap_counts_a_session_once),
		cmocka_unit_test(counted_number_as_last_candidate),
		cmocka_unit_test(named_verdicts),
		cmocka_unit_test(sticky_verdicts),
		cmocka_unit_test(headroom_arithmetic),
		cmocka_unit_test(unique_name_same_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
