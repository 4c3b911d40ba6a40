/* SPDX-License-Identifier: MIT */
/* test_timeutil.c - RFC 3339 formatting and parsing: offsets converted to UTC,
 * impossible dates (Feb 29 outside leap years, Apr 31) and garbage refused, the
 * 1970..9999 range enforced, and format/parse round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "util/err.h"
#include "util/timeutil.h"

static int64_t parse_ok(const char *s)
{
	int64_t t = -12345;
	int rc = rfc3339_parse(s, &t);
	if (rc != 0)
		fail_msg("rfc3339_parse(\"%s\") = %d, want 0", s, rc);
	return t;
}

static void parse_bad(const char *s)
{
	int64_t t = -12345;
	int rc = rfc3339_parse(s, &t);
	if (rc != MASKD_EINVAL)
		fail_msg("rfc3339_parse(\"%s\") = %d, want MASKD_EINVAL", s, rc);
	assert_int_equal(t, -12345); /* *out untouched on failure */
}

static void check_format(int64_t t, const char *want)
{
	char out[RFC3339_MAX];
	memset(out, 'X', sizeof(out));
	rfc3339_format(t, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_format(void **state)
{
	check_format(0, "1970-01-01T00:00:00Z");
	check_format(951782400, "2000-02-29T00:00:00Z");
	check_format(1700000000, "2023-11-14T22:13:20Z");
	check_format(1795314566, "2026-11-22T02:29:26Z");
	check_format(INT64_C(253402300799), "9999-12-31T23:59:59Z");
}

static void test_format_clamps(void **state)
{
	check_format(-1, "1970-01-01T00:00:00Z");
	check_format(INT64_MIN, "1970-01-01T00:00:00Z");
	check_format(INT64_C(253402300800), "9999-12-31T23:59:59Z");
	check_format(INT64_MAX, "9999-12-31T23:59:59Z");
}

static void test_parse_utc(void **state)
{
	assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(parse_ok("2023-11-14T22:13:20Z"), 1700000000);
	assert_int_equal(parse_ok("2026-11-22T02:29:26Z"), 1795314566);
	assert_int_equal(parse_ok("9999-12-31T23:59:59Z"), INT64_C(253402300799));
}

static void test_parse_separators_and_fraction(void **state)
{
	assert_int_equal(parse_ok("2023-11-14t22:13:20z"), 1700000000);
	assert_int_equal(parse_ok("2023-11-14 22:13:20Z"), 1700000000);
	assert_int_equal(parse_ok("2023-11-14T22:13:20.999Z"), 1700000000); /* dropped, not rounded */
	assert_int_equal(parse_ok("2023-11-14T22:13:20.1Z"), 1700000000);
	assert_int_equal(parse_ok("2023-11-14T22:13:20.123456789012+00:00"), 1700000000);
}

static void test_parse_offsets(void **state)
{
	/* 22:13:20Z seen from India (+05:30) and from California in winter (-08:00). */
	assert_int_equal(parse_ok("2023-11-15T03:43:20+05:30"), 1700000000);
	assert_int_equal(parse_ok("2023-11-14T14:13:20-08:00"), 1700000000);
	assert_int_equal(parse_ok("2023-11-14T14:13:20.5-08:00"), 1700000000);
	assert_int_equal(parse_ok("2023-11-14T22:13:20+00:00"), 1700000000);
	assert_int_equal(parse_ok("2023-11-14T22:13:20-00:00"), 1700000000);
	/* The offset moves the date: the local day is already Mar 1 in +05:30. */
	assert_int_equal(parse_ok("2024-03-01T03:00:00+05:30"), parse_ok("2024-02-29T21:30:00Z"));
	assert_int_equal(parse_ok("2023-12-31T20:00:00-08:00"), parse_ok("2024-01-01T04:00:00Z"));
	assert_int_equal(parse_ok("2023-01-01T00:00:00+23:59"), parse_ok("2022-12-31T00:01:00Z"));
}

static void test_parse_leap_years(void **state)
{
	assert_int_equal(parse_ok("2024-02-29T00:00:00Z"), 1709164800);
	assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400); /* divisible by 400 */
	parse_ok("2400-02-29T12:00:00Z");
	parse_bad("2023-02-29T00:00:00Z");
	parse_bad("2100-02-29T00:00:00Z"); /* divisible by 100, not by 400 */
	parse_bad("2024-02-30T00:00:00Z");
	parse_bad("2023-02-29T00:00:00+05:30"); /* the check is on the date as written */
	assert_int_equal(parse_ok("2023-02-28T23:59:59Z") + 1, parse_ok("2023-03-01T00:00:00Z"));
}

static void test_parse_impossible_fields(void **state)
{
	parse_bad("2024-04-31T00:00:00Z");
	parse_bad("2024-06-31T00:00:00Z");
	parse_bad("2024-00-10T00:00:00Z");
	parse_bad("2024-13-10T00:00:00Z");
	parse_bad("2024-01-00T00:00:00Z");
	parse_bad("2024-01-32T00:00:00Z");
	parse_bad("2024-01-01T24:00:00Z");
	parse_bad("2024-01-01T00:60:00Z");
	parse_bad("2024-01-01T00:00:61Z");
	parse_bad("2024-01-01T00:00:00+24:00");
	parse_bad("2024-01-01T00:00:00+05:60");
	parse_ok("2024-12-31T23:59:59Z");
}

static void test_parse_leap_second_folds(void **state)
{
	assert_int_equal(parse_ok("2016-12-31T23:59:60Z"), parse_ok("2017-01-01T00:00:00Z"));
}

static void test_parse_range(void **state)
{
	parse_bad("1969-12-31T23:59:59Z");
	parse_bad("0000-01-01T00:00:00Z");
	parse_bad("1970-01-01T00:00:00+00:01"); /* 1969 in UTC */
	assert_int_equal(parse_ok("1970-01-01T00:00:00-00:01"), 60);
	parse_bad("9999-12-31T23:59:59-00:01"); /* year 10000 in UTC */
	parse_bad("10000-01-01T00:00:00Z");
}

static void test_parse_garbage(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"Z",
		"2024",
		"2024-01-01",
		"2024-01-01T",
		"2024-01-01T00:00",
		"2024-01-01T00:00:00",           /* no zone */
		"2024-01-01T00:00:00ZZ",
		"2024-01-01T00:00:00Z ",
		" 2024-01-01T00:00:00Z",
		"2024-01-01T00:00:00Zjunk",
		"2024-01-01X00:00:00Z",
		"2024-01-01_00:00:00Z",
		"2024-1-01T00:00:00Z",
		"2024-01-1T00:00:00Z",
		"24-01-01T00:00:00Z",
		"+2024-01-01T00:00:00Z",
		"2024/01/01T00:00:00Z",
		"2024-01-01T00:00:00.Z",          /* empty fraction */
		"2024-01-01T00:00:00,5Z",
		"2024-01-01T00:00:00+0530",       /* offset needs the colon */
		"2024-01-01T00:00:00+5:30",
		"2024-01-01T00:00:00+05",
		"2024-01-01T00:00:00+05:30:00",
		"2024-01-01T00:00:00UTC",
		"2024-01-01T0a:00:00Z",
		"2024-01-01T00:00:00\nZ",
		"\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x94-01-01T00:00:00Z", /* fullwidth digits */
		"1700000000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		parse_bad(bad[i]);
	int64_t t;
	assert_int_equal(rfc3339_parse(NULL, &t), MASKD_EINVAL);
	assert_int_equal(rfc3339_parse("2024-01-01T00:00:00Z", NULL), MASKD_EINVAL);
}

static void test_round_trip(void **state)
{
	static const int64_t samples[] = { 0, 1, 59, 60, 86399, 86400, 951782399, 951782400,
					   1709164800, 2147483647, 2147483648, INT64_C(4102444800),
					   INT64_C(253402300799) };
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char buf[RFC3339_MAX];
		rfc3339_format(samples[i], buf, sizeof(buf));
		assert_int_equal(strlen(buf), RFC3339_MAX - 1);
		assert_int_equal(parse_ok(buf), samples[i]);
	}
	/* Every day of 2023 and 2024 at an odd time of day. */
	for (int64_t t = 1672531200 + 45296; t < 1735689600; t += 86400) {
		char buf[RFC3339_MAX];
		rfc3339_format(t, buf, sizeof(buf));
		assert_int_equal(parse_ok(buf), t);
	}
}

static void test_now_unix(void **state)
{
	int64_t before = (int64_t)time(NULL);
	int64_t now = now_unix();
	int64_t after = (int64_t)time(NULL);
	/* time() may read a coarser clock that lags CLOCK_REALTIME by a tick. */
	assert_true(now >= before && now <= after + 1);
	assert_true(now > 1700000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_clamps),
		cmocka_unit_test(test_parse_utc),
		cmocka_unit_test(test_parse_separators_and_fraction),
		cmocka_unit_test(test_parse_offsets),
		cmocka_unit_test(test_parse_leap_years),
		cmocka_unit_test(test_parse_impossible_fields),
		cmocka_unit_test(test_parse_leap_second_folds),
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_now_unix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
