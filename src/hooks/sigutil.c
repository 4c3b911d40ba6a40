/* SPDX-License-Identifier: MIT */
/* sigutil.c - field order, URL authority and Unix time readings shared by the
 * signature checks; see sigutil.h. */
#include "sigutil.h"

#include <assert.h>
#include <string.h>

int sigutil_field_cmp(const void *pa, const void *pb)
{
	assert(pa != NULL && pb != NULL);
	const struct sigutil_field *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	if (c == 0)
		c = strcmp(a->value, b->value);
	if (c == 0)
		c = (a->order > b->order) - (a->order < b->order);
	return c;
}

bool sigutil_authority_split(const char *url, struct sigutil_authority *out)
{
	assert(url != NULL && out != NULL);
	const char *sep = strstr(url, "://");
	if (sep == NULL || sep == url)
		return false;
	size_t scheme_len = (size_t)(sep - url);
	for (size_t i = 0; i < scheme_len; i++) {
		char c = url[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
		if (!ok)
			return false;
	}
	size_t auth = scheme_len + 3;
	size_t end = auth + strcspn(url + auth, "/?#");
	size_t host = auth;
	for (size_t i = auth; i < end; i++)
		if (url[i] == '@')
			host = i + 1;
	if (host == end)
		return false;
	out->scheme_len = scheme_len;
	out->host = host;
	out->end = end;
	return true;
}

bool sigutil_parse_unix(const char *s, size_t max_digits, int64_t *out)
{
	assert(s != NULL && out != NULL);
	size_t n = strlen(s);
	if (n == 0 || n > max_digits)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
		if (v > SIGUTIL_UNIX_MAX)
			return false;
	}
	*out = v;
	return true;
}
