/* SPDX-License-Identifier: MIT */
/* hex.c - hex digits, hex strings and %XX escapes; see hex.h. */
#include "hex.h"

#include <assert.h>
#include <limits.h>

int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	assert(out != NULL && (in != NULL || n == 0));
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

long hex_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	if (n % 2 != 0 || n / 2 > cap || n / 2 > LONG_MAX)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit((unsigned char)in[2 * i]);
		int lo = hex_digit((unsigned char)in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

size_t hex_percent_decode(const char *s, size_t n, char *out, size_t cap)
{
	assert(out != NULL && cap >= 1 && (s != NULL || n == 0));
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		int hi = -1, lo = -1;
		if (s[i] == '%' && i + 2 < n) {
			hi = hex_digit((unsigned char)s[i + 1]);
			lo = hex_digit((unsigned char)s[i + 2]);
		}
		if (hi >= 0 && lo >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}
