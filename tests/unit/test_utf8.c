/* SPDX-License-Identifier: MIT */
/* test_utf8.c - util/utf8.h: well-formed text copied byte for byte; each kind of
 * ill-formed sequence (stray continuation, truncated, overlong, CESU-8/WTF-8
 * surrogates, above U+10FFFF, invalid lead bytes) replaced by one U+FFFD per
 * maximal subpart; the XML target also replacing C0 controls but tab/LF/CR, DEL,
 * U+FFFE and U+FFFF; and buf_xml_text() built on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/utf8.h"

#define R UTF8_REPLACEMENT

static void expect(const char *in, size_t len, enum utf8_target t, const char *want)
{
	struct buf b;
	buf_init(&b);
	utf8_sanitize(&b, in, len, t);
	buf_append(&b, "", 0);
	assert_string_equal(b.data, want);
	assert_int_equal(utf8_is_clean(in, len, t), len == strlen(want) && memcmp(in, want, len) == 0);
	buf_free(&b);
}

#define EXPECT(lit, t, want) expect(lit, sizeof(lit) - 1, t, want)

static void test_well_formed_kept(void **state)
{
	(void)state;
	const char *ok = "plain \t\n\r caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf "
			 "\xed\x9f\xbf \xee\x80\x80 \xef\xb7\x90";
	expect(ok, strlen(ok), UTF8_FOR_JSON, ok);
	expect(ok, strlen(ok), UTF8_FOR_XML, ok);
	EXPECT("", UTF8_FOR_XML, "");
}

static void test_ill_formed_replaced(void **state)
{
	(void)state;
	for (int t = UTF8_FOR_JSON; t <= UTF8_FOR_XML; t++) {
		EXPECT("a\x80" "b", t, "a" R "b");			 /* a stray continuation byte */
		EXPECT("a\xbf\xbf" "b", t, "a" R R "b");		 /* two of them: two */
		EXPECT("a\xc3", t, "a" R);				 /* truncated at the end */
		EXPECT("a\xe2\x82" "b", t, "a" R "b");		 /* truncated 3-byte: one maximal subpart */
		EXPECT("\xf0\x9f\x98", t, R);				 /* truncated 4-byte */
		EXPECT("\xc0\xaf", t, R R);				 /* overlong '/' (C0 never valid) */
		EXPECT("\xe0\x80\xaf", t, R R R);			 /* overlong 3-byte */
		EXPECT("\xf0\x80\x80\xaf", t, R R R R);		 /* overlong 4-byte */
		EXPECT("\xed\xa0\x80", t, R R R);			 /* lone high surrogate U+D800 */
		EXPECT("\xed\xbf\xbf", t, R R R);			 /* lone low surrogate U+DFFF */
		EXPECT("\xed\xa0\xbd\xed\xb8\x80", t, R R R R R R);	 /* CESU-8 pair for U+1F600 */
		EXPECT("\xf4\x90\x80\x80", t, R R R R);		 /* U+110000 */
		EXPECT("\xf5\x80\x80\x80", t, R R R R);		 /* F5: no lead byte */
		EXPECT("\xfe\xff", t, R R);
		EXPECT("x\xe2\x82" "\xe2\x82\xac", t, "x" R "\xe2\x82\xac"); /* a cut sequence, then a whole one */
		EXPECT("a\0b", t, "a" R "b");				 /* NUL */
	}
}

static void test_xml_only(void **state)
{
	(void)state;
	EXPECT("a\x01" "b\x1f" "c\x7f" "d", UTF8_FOR_JSON, "a\x01" "b\x1f" "c\x7f" "d");
	EXPECT("a\x01" "b\x1f" "c\x7f" "d", UTF8_FOR_XML, "a" R "b" R "c" R "d");
	EXPECT("\xef\xbf\xbe \xef\xbf\xbf", UTF8_FOR_JSON, "\xef\xbf\xbe \xef\xbf\xbf");
	EXPECT("\xef\xbf\xbe \xef\xbf\xbf", UTF8_FOR_XML, R " " R);
	EXPECT("\t\n\r", UTF8_FOR_XML, "\t\n\r");
}

static void test_dup(void **state)
{
	(void)state;
	char *s = utf8_sanitized_dup("ok\xff", UTF8_FOR_JSON);
	assert_string_equal(s, "ok" R);
	free(s);
	s = utf8_sanitized_dup(NULL, UTF8_FOR_XML);
	assert_string_equal(s, "");
	free(s);
}

static void test_xml_text_well_formed(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	buf_xml_text(&b, "<a>\x01\xed\xa0\x80&\xef\xbf\xbf\r");
	assert_string_equal(b.data, "&lt;a&gt;" R R R R "&amp;" R "&#xD;");
	buf_reset(&b);
	buf_xml_attr(&b, "\"\x02\xc3\t");
	assert_string_equal(b.data, "&quot;" R R "&#x9;");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed_kept),
		cmocka_unit_test(test_ill_formed_replaced),
		cmocka_unit_test(test_xml_only),
		cmocka_unit_test(test_dup),
		cmocka_unit_test(test_xml_text_well_formed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
