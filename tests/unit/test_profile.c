/* SPDX-License-Identifier: MIT */
/* test_profile.c - core/profile.c: state names both ways, when a retired
 * profile's number is free (cool-off, a negative one as 0), which states a
 * session may use, and the plan of a session naming profiles (the other side
 * takes the profile's number; alone, a named number on that other side, or one
 * profile twice are refused with the participant they are about). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/profile.h"

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(profile_state_name(PROFILE_ACTIVE), "active");
	assert_string_equal(profile_state_name(PROFILE_RETIRED), "retired");
	assert_int_equal(profile_state_from_name("active"), PROFILE_ACTIVE);
	assert_int_equal(profile_state_from_name("retired"), PROFILE_RETIRED);
	assert_int_equal(profile_state_from_name("Retired"), -1);
	assert_int_equal(profile_state_from_name(""), -1);
	assert_int_equal(profile_state_from_name(NULL), -1);
}

static void test_free_at(void **state)
{
	(void)state;
	assert_int_equal(profile_free_at(1000, 86400), 87400);
	assert_int_equal(profile_free_at(1000, 0), 1000);
	assert_int_equal(profile_free_at(1000, -5), 1000);
}

static void test_usable(void **state)
{
	(void)state;
	assert_true(profile_usable(PROFILE_ACTIVE));
	assert_false(profile_usable(PROFILE_RETIRED));
}

static void test_holder(void **state)
{
	(void)state;
	assert_int_equal(profile_number_holder(0), 1);
	assert_int_equal(profile_number_holder(1), 0);
}

static void test_plan(void **state)
{
	(void)state;
	int idx = 7;
	/* an agent profile with a customer; a customer profile with an agent; both */
	assert_int_equal(profile_plan(2, (int[]){1, 0}, (int[]){0, 0}, 0, &idx), PROFILE_PLAN_OK);
	assert_int_equal(idx, -1);
	assert_int_equal(profile_plan(2, (int[]){0, 1}, (int[]){0, 0}, 0, &idx), PROFILE_PLAN_OK);
	assert_int_equal(profile_plan(2, (int[]){1, 1}, (int[]){0, 0}, 0, &idx), PROFILE_PLAN_OK);
	/* the profile side may not name a number either way, but its own named
	 * number is not the conflict: the other side's is */
	assert_int_equal(profile_plan(2, (int[]){1, 0}, (int[]){1, 0}, 0, &idx), PROFILE_PLAN_OK);
	assert_int_equal(profile_plan(2, (int[]){1, 0}, (int[]){0, 1}, 0, &idx), PROFILE_PLAN_NAMED);
	assert_int_equal(idx, 1);
	assert_int_equal(profile_plan(2, (int[]){0, 1}, (int[]){1, 0}, 0, &idx), PROFILE_PLAN_NAMED);
	assert_int_equal(idx, 0);
	/* one profile on both sides */
	assert_int_equal(profile_plan(2, (int[]){1, 1}, (int[]){0, 0}, 1, &idx), PROFILE_PLAN_SAME);
	assert_int_equal(idx, 1);
	/* alone: nobody to show the number to */
	assert_int_equal(profile_plan(1, (int[]){1, 0}, (int[]){0, 0}, 0, &idx), PROFILE_PLAN_ALONE);
	assert_int_equal(idx, 0);
	assert_int_equal(profile_plan(1, (int[]){0, 0}, (int[]){1, 0}, 0, &idx), PROFILE_PLAN_OK);
	/* no profile at all: nothing to say */
	assert_int_equal(profile_plan(2, (int[]){0, 0}, (int[]){1, 1}, 0, &idx), PROFILE_PLAN_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names), cmocka_unit_test(test_free_at), cmocka_unit_test(test_usable),
		cmocka_unit_test(test_holder),	    cmocka_unit_test(test_plan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
