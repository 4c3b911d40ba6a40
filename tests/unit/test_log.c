/* SPDX-License-Identifier: MIT */
/* test_log.c - util/log.c: the escaping every logged message goes through (a
 * newline or another control character in a request-supplied field cannot start
 * a line of its own), and hooks/fields.c's carrier id alphabet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hooks/fields.h"
#include "util/log.h"

static void escaped(const char *in, const char *want)
{
	char out[128];
	size_t n = log_escape(out, sizeof(out), in, strlen(in));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
}

static void test_escape(void **state)
{
	escaped("CA123", "CA123");
	escaped("CA1\n2026 info FAKE", "CA1\\x0a2026 info FAKE");
	escaped("a\rb\tc\x7f", "a\\x0db\\x09c\\x7f");
	escaped("back\\slash", "back\\\\slash");
	escaped("caf\xc3\xa9", "caf\xc3\xa9"); /* UTF-8 passes */
}

static void test_escape_bounded(void **state)
{
	char out[6];
	/* "ab" then "\x0a" (4 bytes) does not fit in the 4 left after "ab": stop before it */
	assert_int_equal(log_escape(out, 5, "ab\ncd", 5), 2);
	assert_int_equal(log_escape(out, 6, "ab\ncd", 5), 6);
	assert_memory_equal(out, "ab\\x0a", 6);
}

static void test_carrier_ids(void **state)
{
	assert_true(fields_id_ok(NULL));
	assert_true(fields_id_ok("CA0123456789abcdef0123456789abcdef"));
	assert_true(fields_id_ok("3f1c2a9e-0d5b-4b7e-9a51-6c2f8e4d1b70"));
	assert_true(fields_id_ok("v3:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ"));
	assert_false(fields_id_ok(""));
	assert_false(fields_id_ok("CA1\nFAKE"));
	assert_false(fields_id_ok("CA1 x"));
	char long_id[FIELDS_ID_MAX + 2];
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	assert_false(fields_id_ok(long_id));
	long_id[FIELDS_ID_MAX] = '\0';
	assert_true(fields_id_ok(long_id));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_bounded),
		cmocka_unit_test(test_carrier_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
