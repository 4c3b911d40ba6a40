/* SPDX-License-Identifier: MIT */
/* test_hex.c - util/hex.h: hex_digit over every byte, hex_encode/hex_decode round
 * trips and refusals (odd length, a non-hex byte, too small a buffer), and
 * hex_percent_decode: well-formed escapes decoded, malformed ones and '+' kept,
 * the output cut to its cap and always terminated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/hex.h"

static void test_digit_every_byte(void **state)
{
	for (int c = 0; c < 256; c++) {
		int want = -1;
		if (c >= '0' && c <= '9')
			want = c - '0';
		else if (c >= 'a' && c <= 'f')
			want = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			want = c - 'A' + 10;
		assert_int_equal(hex_digit(c), want);
	}
	assert_int_equal(hex_digit(-1), -1);
}

static void test_encode_decode(void **state)
{
	uint8_t in[256], out[256];
	char s[513];
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	hex_encode(in, sizeof(in), s);
	assert_int_equal(strlen(s), 512);
	assert_memory_equal(s, "000102", 6);
	assert_string_equal(s + 506, "fdfeff");
	assert_int_equal(hex_decode(s, 512, out, sizeof(out)), 256);
	assert_memory_equal(in, out, 256);
	assert_int_equal(hex_decode("DEADbeef", 8, out, 4), 4);
	assert_memory_equal(out, "\xde\xad\xbe\xef", 4);
	hex_encode(in, 0, s);
	assert_string_equal(s, "");
	assert_int_equal(hex_decode("", 0, out, 0), 0);
}

static void test_decode_refusals(void **state)
{
	uint8_t out[4];
	assert_int_equal(hex_decode("abc", 3, out, 4), -1);        /* odd */
	assert_int_equal(hex_decode("0001abff", 8, out, 3), -1);   /* one byte short */
	assert_int_equal(hex_decode("00g1", 4, out, 4), -1);       /* not hex */
	assert_int_equal(hex_decode("0x01", 4, out, 4), -1);
	assert_int_equal(hex_decode(" 001", 4, out, 4), -1);
	assert_int_equal(hex_decode("00\xff" "1", 4, out, 4), -1); /* a high byte */
	assert_int_equal(hex_decode("0\0" "01", 4, out, 4), -1);   /* a NUL inside */
}

static void test_percent_decode(void **state)
{
	char out[64];
	assert_int_equal(hex_percent_decode("a%41%2d%2Db", 11, out, sizeof(out)), 5);
	assert_string_equal(out, "aA--b");
	/* malformed escapes and '+' are kept as sent */
	hex_percent_decode("100%+%g1%4", 10, out, sizeof(out));
	assert_string_equal(out, "100%+%g1%4");
	/* only n bytes are read: an escape cut by n stays as is */
	hex_percent_decode("x%41", 3, out, sizeof(out));
	assert_string_equal(out, "x%4");
	/* %00 decodes to a NUL byte: the written length tells */
	assert_int_equal(hex_percent_decode("a%00b", 5, out, sizeof(out)), 3);
	assert_memory_equal(out, "a\0b", 4);
	/* cut to the cap, terminated */
	assert_int_equal(hex_percent_decode("%41%42%43", 9, out, 3), 2);
	assert_string_equal(out, "AB");
	assert_int_equal(hex_percent_decode("abc", 3, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(hex_percent_decode(NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digit_every_byte),
		cmocka_unit_test(test_encode_decode),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_percent_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
