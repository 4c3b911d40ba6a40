/* SPDX-License-Identifier: MIT */
/* mask.c - the shown form of an E.164 number; see mask.h.
 * The country calling code comes from the ITU table below (codes are prefix-free,
 * so two leading digits decide its length). Pure string work: no validation of
 * the number itself, no allocation, no libphonenumber. */
#include "mask.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#define MASK_DIGITS_MAX 15 /* E.164 */
#define MASK_TAIL_MAX 4    /* digits left in clear at the end */

static const char mask_invalid[] = "(invalid)";

/* Two-digit ITU-T E.164 country calling codes. 1 (NANP) and 7 (RU/KZ) are the
 * one-digit codes; every other leading pair starts a three-digit code (21x, 35x,
 * 37x, 38x, 42x, 50x, 59x, 67x-69x, 80x-89x but 81/82/84/86, 96x, 97x, 99x). */
static const bool mask_cc2[100] = {
	[20] = true, [27] = true,
	[30] = true, [31] = true, [32] = true, [33] = true, [34] = true, [36] = true, [39] = true,
	[40] = true, [41] = true, [43] = true, [44] = true, [45] = true, [46] = true, [47] = true,
	[48] = true, [49] = true,
	[51] = true, [52] = true, [53] = true, [54] = true, [55] = true, [56] = true, [57] = true,
	[58] = true,
	[60] = true, [61] = true, [62] = true, [63] = true, [64] = true, [65] = true, [66] = true,
	[81] = true, [82] = true, [84] = true, [86] = true,
	[90] = true, [91] = true, [92] = true, [93] = true, [94] = true, [95] = true, [98] = true,
};

static bool mask_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads at most two characters. A string too short to decide (or not starting
 * with a digit) is answered 1, the length that keeps the fewest digits in clear;
 * mask_e164() clamps to the digits actually present anyway. */
int mask_cc_len(const char *digits)
{
	if (!mask_is_digit(digits[0]))
		return 1;
	if (digits[0] == '1' || digits[0] == '7')
		return 1;
	if (!mask_is_digit(digits[1]))
		return 1;
	if (mask_cc2[(digits[0] - '0') * 10 + (digits[1] - '0')])
		return 2;
	return 3;
}

/* Copies s into out, truncated to cap; cap 0 writes nothing. */
static void mask_put(char *out, size_t cap, const char *s)
{
	if (cap == 0)
		return;
	size_t n = strlen(s);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

void mask_e164(const char *e164, char *out, size_t cap)
{
	assert(cap >= MASK_MAX);
	if (e164 == NULL || e164[0] != '+') {
		mask_put(out, cap, mask_invalid);
		return;
	}
	const char *digits = e164 + 1;
	size_t n = strspn(digits, "0123456789");
	if (n == 0 || n > MASK_DIGITS_MAX || digits[n] != '\0') {
		mask_put(out, cap, mask_invalid);
		return;
	}

	size_t cc = (size_t)mask_cc_len(digits);
	if (cc > n)
		cc = n;
	/* Never show more than half of the subscriber digits. */
	size_t subscriber = n - cc;
	size_t tail = subscriber / 2;
	if (tail > MASK_TAIL_MAX)
		tail = MASK_TAIL_MAX;
	size_t hidden = subscriber - tail;

	char buf[MASK_MAX];
	size_t p = 0;
	buf[p++] = '+';
	memcpy(buf + p, digits, cc);
	p += cc;
	memset(buf + p, '*', hidden);
	p += hidden;
	memcpy(buf + p, digits + cc + hidden, tail);
	p += tail;
	buf[p] = '\0';
	mask_put(out, cap, buf);
}
