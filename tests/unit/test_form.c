/* SPDX-License-Identifier: MIT */
/* test_form.c - form_parse/form_get: decoding, order, repeated keys, and every
 * refusal (bad %-escapes, NUL bytes raw or %00, too many fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/arena.h"
#include "util/err.h"
#include "util/form.h"

static int parse(struct arena *a, const char *body, struct form *f)
{
	return form_parse(a, body, strlen(body), f);
}

static void expect_field(const struct form *f, size_t i, const char *key, const char *value)
{
	assert_true(i < f->n);
	assert_string_equal(f->fields[i].key, key);
	assert_string_equal(f->fields[i].value, value);
}

static void test_basic(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	assert_int_equal(parse(&a, "From=%2B14155550100&To=%2b12125550123&Body=hi", &f), 0);
	assert_int_equal(f.n, 3);
	expect_field(&f, 0, "From", "+14155550100");
	expect_field(&f, 1, "To", "+12125550123");
	expect_field(&f, 2, "Body", "hi");
	assert_string_equal(form_get(&f, "Body"), "hi");
	assert_null(form_get(&f, "body"));
	assert_null(form_get(&f, "Missing"));
	arena_free(&a);
}

static void test_empty(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f = {NULL, 99};
	assert_int_equal(form_parse(&a, "", 0, &f), 0);
	assert_int_equal(f.n, 0);
	assert_null(form_get(&f, "a"));
	assert_int_equal(form_parse(&a, NULL, 0, &f), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(parse(&a, "&&&", &f), 0);
	assert_int_equal(f.n, 0);
	arena_free(&a);
}

static void test_plus_and_escapes(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	/* '+' is a space, "%2B" a plus; UTF-8 bytes pass through; '=' after the first is data. */
	assert_int_equal(parse(&a, "Body=1%2B1+%3D+2&x+y=a=b&u=H%C3%A9llo+%F0%9F%91%8B", &f), 0);
	assert_int_equal(f.n, 3);
	expect_field(&f, 0, "Body", "1+1 = 2");
	expect_field(&f, 1, "x y", "a=b");
	expect_field(&f, 2, "u", "H\xc3\xa9llo \xf0\x9f\x91\x8b");
	/* Raw non-ASCII bytes are kept as sent. */
	assert_int_equal(parse(&a, "k=\xc3\xa9", &f), 0);
	expect_field(&f, 0, "k", "\xc3\xa9");
	/* %25 decodes to '%' once, not twice. */
	assert_int_equal(parse(&a, "p=%2541", &f), 0);
	expect_field(&f, 0, "p", "%41");
	arena_free(&a);
}

static void test_empty_pairs_and_values(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	assert_int_equal(parse(&a, "&a=1&&b=2&", &f), 0);
	assert_int_equal(f.n, 2);
	expect_field(&f, 0, "a", "1");
	expect_field(&f, 1, "b", "2");
	/* No '=' is a key with an empty value; "=" alone is an empty key and value. */
	assert_int_equal(parse(&a, "flag&RecordingUrl=&=v&=", &f), 0);
	assert_int_equal(f.n, 4);
	expect_field(&f, 0, "flag", "");
	expect_field(&f, 1, "RecordingUrl", "");
	expect_field(&f, 2, "", "v");
	expect_field(&f, 3, "", "");
	assert_string_equal(form_get(&f, "flag"), "");
	/* ';' is not a separator. */
	assert_int_equal(parse(&a, "a=1;b=2", &f), 0);
	assert_int_equal(f.n, 1);
	expect_field(&f, 0, "a", "1;b=2");
	arena_free(&a);
}

static void test_repeated_keys_in_order(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	assert_int_equal(parse(&a, "Digits=5678&Sid=CA1&Digits=1234&Digits=1234", &f), 0);
	assert_int_equal(f.n, 4);
	expect_field(&f, 0, "Digits", "5678");
	expect_field(&f, 1, "Sid", "CA1");
	expect_field(&f, 2, "Digits", "1234");
	expect_field(&f, 3, "Digits", "1234");
	assert_string_equal(form_get(&f, "Digits"), "5678");
	arena_free(&a);
}

static void test_bad_escapes(void **state)
{
	static const char *bad[] = {
		"a=%",     "a=%4",   "a=%G1", "a=%1G", "a=%%41", "%zz=1", "a=1&b=%",
		"a=%+1",   "a=% 1",  "k%=v",  "a=%-1",
	};
	struct arena a = ARENA_INIT;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct form f;
		if (parse(&a, bad[i], &f) != MASKD_EINVAL)
			fail_msg("accepted %s", bad[i]);
	}
	arena_free(&a);
}

static void test_nul_bytes(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	assert_int_equal(parse(&a, "a=%00", &f), MASKD_EINVAL);
	assert_int_equal(parse(&a, "a%00b=1", &f), MASKD_EINVAL);
	assert_int_equal(parse(&a, "a=1&b=x%00", &f), MASKD_EINVAL);
	const char raw[] = "a=1\0&b=2";
	assert_int_equal(form_parse(&a, raw, sizeof(raw) - 1, &f), MASKD_EINVAL);
	const char raw_key[] = "a\0=1";
	assert_int_equal(form_parse(&a, raw_key, sizeof(raw_key) - 1, &f), MASKD_EINVAL);
	/* %0000 would be a NUL too; %30 is '0' and fine. */
	assert_int_equal(parse(&a, "a=%30", &f), 0);
	expect_field(&f, 0, "a", "0");
	arena_free(&a);
}

static void test_length_not_nul(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	/* Only len bytes are read; the rest of the buffer is not part of the body. */
	assert_int_equal(form_parse(&a, "a=1&b=2", 3, &f), 0);
	assert_int_equal(f.n, 1);
	expect_field(&f, 0, "a", "1");
	assert_int_equal(form_parse(&a, "a=%41", 4, &f), MASKD_EINVAL);
	arena_free(&a);
}

static void test_too_many_fields(void **state)
{
	struct arena a = ARENA_INIT;
	struct form f;
	char *at_cap = arena_strdup(&a, "");
	for (int i = 0; i < FORM_FIELDS_MAX; i++)
		at_cap = arena_printf(&a, "%s%sk%d=%d", at_cap, i ? "&" : "", i, i);
	assert_int_equal(parse(&a, at_cap, &f), 0);
	assert_int_equal(f.n, FORM_FIELDS_MAX);
	expect_field(&f, FORM_FIELDS_MAX - 1, "k255", "255");
	/* Empty pairs do not count towards the cap. */
	char *with_empties = arena_printf(&a, "&&%s&&", at_cap);
	assert_int_equal(parse(&a, with_empties, &f), 0);
	assert_int_equal(f.n, FORM_FIELDS_MAX);

	char *over = arena_printf(&a, "%s&one=more", at_cap);
	f.n = 7;
	assert_int_equal(parse(&a, over, &f), MASKD_ETOOBIG);
	assert_int_equal(f.n, 0);
	char *flags = arena_strdup(&a, "x");
	for (int i = 0; i < FORM_FIELDS_MAX; i++)
		flags = arena_printf(&a, "%s&x", flags);
	assert_int_equal(parse(&a, flags, &f), MASKD_ETOOBIG);
	arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_plus_and_escapes),
		cmocka_unit_test(test_empty_pairs_and_values),
		cmocka_unit_test(test_repeated_keys_in_order),
		cmocka_unit_test(test_bad_escapes),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_length_not_nul),
		cmocka_unit_test(test_too_many_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
