/* SPDX-License-Identifier: MIT */
/* fields.c - the field readings the dialects share; see fields.h. */
#include "fields.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int64_t fields_seconds(const char *s)
{
	if (s == NULL || *s == '\0')
		return -1;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	return *end == '\0' && v >= 0 ? (int64_t)v : -1;
}

const char *fields_e164(struct arena *a, const char *s)
{
	assert(a != NULL);
	if (s == NULL || s[0] == '\0' || s[strspn(s, "0123456789")] != '\0')
		return s;
	return arena_printf(a, "+%s", s);
}

int fields_id_ok(const char *s)
{
	if (s == NULL)
		return 1;
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:");
	return n > 0 && n <= FIELDS_ID_MAX && s[n] == '\0';
}
