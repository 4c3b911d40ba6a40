/* SPDX-License-Identifier: MIT */
/* test_mask.c - mask_e164() and mask_cc_len(): the shown form keeps '+', the
 * country code and at most four (and at most half of the subscriber) digits;
 * anything that is not '+' and 1..15 digits becomes "(invalid)". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/mask.h"

static void check_mask(const char *in, const char *want)
{
	char out[MASK_MAX];
	memset(out, 'X', sizeof(out));
	mask_e164(in, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_mask_us(void **state)
{
	check_mask("+14155550101", "+1******0101");
	check_mask("+12125550100", "+1******0100");
}

static void test_mask_two_and_three_digit_codes(void **state)
{
	check_mask("+442071838750", "+44******8750");
	check_mask("+4930123456", "+49****3456");
	check_mask("+919876543210", "+91******3210");
	check_mask("+79123456789", "+7******6789");
	check_mask("+2348031234567", "+234******4567");
	check_mask("+35312345678", "+353****5678");
	check_mask("+80012345678", "+800****5678");
}

static void test_mask_longest(void **state)
{
	/* 15 digits, the E.164 maximum: the result still fits MASK_MAX. */
	check_mask("+123456789012345", "+1**********2345");
	check_mask("+999123456789012", "+999********9012");
	char out[MASK_MAX];
	mask_e164("+999123456789012", out, sizeof(out));
	assert_true(strlen(out) < MASK_MAX);
}

static void test_mask_short_reveals_at_most_half(void **state)
{
	check_mask("+4412345678", "+44****5678");  /* 8 subscriber digits: 4 shown */
	check_mask("+441234567", "+44****567");    /* 7: 3 shown */
	check_mask("+44123456", "+44***456");      /* 6: 3 shown */
	check_mask("+4412345", "+44***45");        /* 5: 2 shown */
	check_mask("+441234", "+44**34");          /* 4: 2 shown */
	check_mask("+1234", "+1**4");              /* 3: 1 shown */
	check_mask("+4412", "+44*2");              /* 2: 1 shown */
	check_mask("+441", "+44*");                /* 1: none shown */
	check_mask("+44", "+44");                  /* country code only */
	check_mask("+1", "+1");
	check_mask("+35", "+35");                  /* shorter than its 3-digit code */
	check_mask("+4", "+4");
}

static void test_mask_invalid(void **state)
{
	check_mask("", "(invalid)");
	check_mask("+", "(invalid)");
	check_mask("14155550101", "(invalid)");       /* no '+' */
	check_mask(" +14155550101", "(invalid)");
	check_mask("+1 415 555 0101", "(invalid)");   /* only normalised E.164 */
	check_mask("+1415555O101", "(invalid)");      /* letter O */
	check_mask("+14155550101\n", "(invalid)");
	check_mask("++14155550101", "(invalid)");
	check_mask("+1234567890123456", "(invalid)"); /* 16 digits */
	check_mask("+12345678901234567890123456789", "(invalid)");
	check_mask(NULL, "(invalid)");
}

static void test_mask_cc_len_table(void **state)
{
	/* Independent copy of the ITU two-digit codes; see mask.c. */
	static const int two[] = { 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46,
				   47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63,
				   64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98 };
	for (int p = 0; p < 100; p++) {
		char d[4];
		snprintf(d, sizeof(d), "%02d5", p);
		int want = 3;
		if (p / 10 == 1 || p / 10 == 7)
			want = 1;
		for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++)
			if (two[i] == p)
				want = 2;
		if (mask_cc_len(d) != want)
			fail_msg("prefix %s: got %d, want %d", d, mask_cc_len(d), want);
	}
	assert_int_equal(mask_cc_len("1"), 1);
	assert_int_equal(mask_cc_len("7"), 1);
	assert_int_equal(mask_cc_len("44"), 2);
	assert_int_equal(mask_cc_len("212"), 3); /* Morocco */
	assert_int_equal(mask_cc_len("852"), 3); /* Hong Kong */
	assert_int_equal(mask_cc_len("4"), 1);   /* undecidable: fewest digits shown */
	assert_int_equal(mask_cc_len(""), 1);
	assert_int_equal(mask_cc_len("x1"), 1);
}

static void test_mask_in_place_buffer_larger(void **state)
{
	char out[64];
	memset(out, 'X', sizeof(out));
	mask_e164("+14155550101", out, sizeof(out));
	assert_string_equal(out, "+1******0101");
	assert_int_equal(out[sizeof("+1******0101")], 'X'); /* nothing written past NUL */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_us),
		cmocka_unit_test(test_mask_two_and_three_digit_codes),
		cmocka_unit_test(test_mask_longest),
		cmocka_unit_test(test_mask_short_reveals_at_most_half),
		cmocka_unit_test(test_mask_invalid),
		cmocka_unit_test(test_mask_cc_len_table),
		cmocka_unit_test(test_mask_in_place_buffer_larger),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
