/* SPDX-License-Identifier: MIT */
/* pin.c - PIN syntax, unbiased digits from random bytes, attempt counting;
 * see pin.h. */
#include "pin.h"

#include <assert.h>

/* 250 is the largest multiple of 10 that fits a byte: below it, byte % 10 is
 * uniform over the digits. */
#define PIN_BYTE_LIMIT 250

bool pin_valid(const char *s)
{
	if (s == NULL)
		return false;
	size_t n = 0;
	while (s[n] != '\0') {
		if (n == PIN_MAX_LEN || s[n] < '0' || s[n] > '9')
			return false;
		n++;
	}
	return n >= PIN_MIN_LEN;
}

void pin_from_random(const uint8_t *random, size_t n, int length, char *out)
{
	assert(random != NULL && out != NULL);
	assert(length >= PIN_MIN_LEN && length <= PIN_MAX_LEN);
	assert(n >= 2 * (size_t)length);
	int got = 0;
	for (size_t i = 0; i < n && got < length; i++) {
		if (random[i] < PIN_BYTE_LIMIT)
			out[got++] = (char)('0' + random[i] % 10);
	}
	/* Out of usable bytes (see pin.h for how unlikely): the skipped bytes, in
	 * order, fill the rest. With n >= 2 * length there are enough of them. */
	for (size_t i = 0; i < n && got < length; i++) {
		if (random[i] >= PIN_BYTE_LIMIT)
			out[got++] = (char)('0' + random[i] % 10);
	}
	while (got < length)
		out[got++] = '0'; /* only when the precondition on n was broken */
	out[length] = '\0';
}

int pin_attempt_next(const char *attempt_param, int max_attempts)
{
	if (max_attempts < 1)
		max_attempts = 1;
	if (max_attempts > PIN_ATTEMPTS_MAX)
		max_attempts = PIN_ATTEMPTS_MAX;
	const char *p = attempt_param;
	if (p == NULL || p[0] < '1' || p[0] > '9')
		return 1;
	size_t n = 1;
	while (p[n] >= '0' && p[n] <= '9')
		n++;
	if (p[n] != '\0')
		return 1; /* digits then something else: garbage */
	if (n > 1)
		return 0; /* 10 or more: beyond PIN_ATTEMPTS_MAX */
	int attempt = p[0] - '0';
	return attempt <= max_attempts ? attempt : 0;
}
