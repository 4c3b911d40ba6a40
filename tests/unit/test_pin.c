/* SPDX-License-Identifier: MIT */
/* test_pin.c - pin_valid() (4..8 ASCII digits, leading zeros kept, letters,
 * signs, spaces, '#', too many or too few refused), pin_from_random()
 * (rejection of bytes 250..255, the fill-in when usable bytes run out, a flat
 * digit histogram over every byte value) and pin_attempt_next() (1..9, garbage
 * as 1, beyond max_attempts as 0, the clamp of max_attempts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/pin.h"

static void test_pin_valid(void **state)
{
	static const char *const good[] = { "0000", "1234", "0123", "00001234", "98765432", "4821", "00000", "000000" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!pin_valid(good[i]))
			fail_msg("\"%s\" should be a valid PIN", good[i]);
	static const char *const bad[] = {
		"", "1", "123", "123456789", "1234567890123", "12a4", "abcd", "ABCDEF", "12 34", " 1234", "1234 ",
		"+1234", "-1234", "1234#", "*1234", "12.34", "1234\n", "\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4", /* Arabic-Indic */
		"\xef\xbc\x91" "234", /* fullwidth 1 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pin_valid(bad[i]))
			fail_msg("\"%s\" should not be a valid PIN", bad[i]);
	assert_false(pin_valid(NULL));
	/* min and max lengths come from core/model.h */
	char s[PIN_MAX_LEN + 2];
	memset(s, '7', sizeof(s));
	s[PIN_MIN_LEN - 1] = '\0';
	assert_false(pin_valid(s));
	memset(s, '7', sizeof(s));
	s[PIN_MIN_LEN] = '\0';
	assert_true(pin_valid(s));
	memset(s, '7', sizeof(s));
	s[PIN_MAX_LEN] = '\0';
	assert_true(pin_valid(s));
	memset(s, '7', sizeof(s));
	s[PIN_MAX_LEN + 1] = '\0';
	assert_false(pin_valid(s));
}

static void test_pin_from_random_rejects_high_bytes(void **state)
{
	char out[PIN_MAX_LEN + 1];
	const uint8_t a[] = { 0, 9, 10, 249, 123, 45, 7, 8, 1, 2, 3, 4 };
	pin_from_random(a, sizeof(a), 6, out);
	assert_string_equal(out, "090935"); /* 0 9 0 9 3 5 */
	/* 250..255 would be 0..5 again under modulo: skipped */
	const uint8_t b[] = { 250, 1, 255, 2, 251, 3, 252, 4, 253, 254, 5, 6, 7, 8, 9, 0 };
	pin_from_random(b, sizeof(b), 4, out);
	assert_string_equal(out, "1234");
	pin_from_random(b, sizeof(b), 8, out);
	assert_string_equal(out, "12345678");
	assert_true(pin_valid(out));
	/* leading zeros are part of the PIN */
	const uint8_t z[] = { 100, 200, 0, 1, 0, 0, 0, 0 };
	pin_from_random(z, sizeof(z), 4, out);
	assert_string_equal(out, "0001");
	assert_true(pin_valid(out));
}

static void test_pin_from_random_runs_out(void **state)
{
	char out[PIN_MAX_LEN + 1];
	/* 2 * length bytes, only 1 usable: the skipped ones, in order, fill in */
	const uint8_t a[] = { 255, 254, 42, 253, 252, 251, 250, 255 };
	pin_from_random(a, sizeof(a), 4, out);
	assert_string_equal(out, "2543"); /* 42 -> 2, then 255 254 253 -> 5 4 3 */
	/* none usable at all */
	const uint8_t b[] = { 250, 251, 252, 253, 254, 255, 250, 251, 252, 253 };
	pin_from_random(b, sizeof(b), 5, out);
	assert_string_equal(out, "01234");
	assert_true(pin_valid(out));
	/* exactly enough usable at the end */
	const uint8_t c[] = { 255, 255, 255, 255, 1, 2, 3, 4 };
	pin_from_random(c, sizeof(c), 4, out);
	assert_string_equal(out, "1234");
	/* exactly PIN_RANDOM_BYTES for the longest PIN: fine, and NUL-terminated */
	uint8_t d[PIN_RANDOM_BYTES(PIN_MAX_LEN)];
	memset(d, 9, sizeof(d));
	memset(out, 'X', sizeof(out));
	pin_from_random(d, sizeof(d), PIN_MAX_LEN, out);
	assert_string_equal(out, "99999999");
}

/* Every byte value once per position: each digit must come out equally often
 * (25 times), which modulo 10 over all 256 values would not give (26 for 0..5). */
static void test_pin_from_random_uniform(void **state)
{
	unsigned count[10] = { 0 };
	uint8_t r[PIN_RANDOM_BYTES(PIN_MIN_LEN)];
	char out[PIN_MAX_LEN + 1];
	for (unsigned v = 0; v < 256; v++) {
		/* v first, then plenty of usable filler: the first digit is v's */
		memset(r, 1, sizeof(r));
		r[0] = (uint8_t)v;
		pin_from_random(r, sizeof(r), PIN_MIN_LEN, out);
		if (v < 250)
			count[out[0] - '0']++;
		else
			assert_string_equal(out, "1111"); /* v skipped */
	}
	for (int d = 0; d < 10; d++)
		assert_int_equal(count[d], 25);
}

static void test_pin_attempt_next(void **state)
{
	/* "1".."9" up to max_attempts */
	assert_int_equal(pin_attempt_next("1", 3), 1);
	assert_int_equal(pin_attempt_next("2", 3), 2);
	assert_int_equal(pin_attempt_next("3", 3), 3);
	assert_int_equal(pin_attempt_next("4", 3), 0);
	assert_int_equal(pin_attempt_next("9", 3), 0);
	assert_int_equal(pin_attempt_next("9", 9), 9);
	assert_int_equal(pin_attempt_next("5", 5), 5);
	assert_int_equal(pin_attempt_next("6", 5), 0);
	/* garbage is a first try */
	static const char *const garbage[] = { "", "0", "00", "01", "007", "a", "1a", "x1", " 1", "1 ", "+1", "-1",
					       "1.0", "one", "\xef\xbc\x91" };
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		if (pin_attempt_next(garbage[i], 3) != 1)
			fail_msg("pin_attempt_next(\"%s\", 3) = %d, want 1", garbage[i],
				 pin_attempt_next(garbage[i], 3));
	assert_int_equal(pin_attempt_next(NULL, 3), 1);
	/* two or more digits: beyond any limit, never back to 1 */
	assert_int_equal(pin_attempt_next("10", 9), 0);
	assert_int_equal(pin_attempt_next("12", 3), 0);
	assert_int_equal(pin_attempt_next("99999999999999999999999", 9), 0);
	/* max_attempts is clamped to 1..9 */
	assert_int_equal(pin_attempt_next("1", 0), 1);
	assert_int_equal(pin_attempt_next("2", 0), 0);
	assert_int_equal(pin_attempt_next("1", -5), 1);
	assert_int_equal(pin_attempt_next("9", 100), 9);
	assert_int_equal(pin_attempt_next("10", 100), 0);

	/* the gather loop: 3 tries, then refused */
	char next[4] = "1";
	int tries = 0;
	for (int a = pin_attempt_next(NULL, 3); a > 0; tries++) {
		next[0] = (char)('0' + a + 1);
		a = pin_attempt_next(next, 3);
	}
	assert_int_equal(tries, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_valid),
		cmocka_unit_test(test_pin_from_random_rejects_high_bytes),
		cmocka_unit_test(test_pin_from_random_runs_out),
		cmocka_unit_test(test_pin_from_random_uniform),
		cmocka_unit_test(test_pin_attempt_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
