/* SPDX-License-Identifier: MIT */
/* redact.c - scrubbing a URL's password out of messages; see redact.h. */
#include "redact.h"
#include "hex.h"
#include "xmalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void redact_secret(struct buf *b, const char *secret)
{
	assert(b != NULL);
	size_t nl = secret != NULL ? strlen(secret) : 0;
	if (nl == 0 || b->len == 0)
		return;
	struct buf out;
	buf_init(&out);
	const char *p = b->data;
	for (const char *hit = strstr(p, secret); hit != NULL; hit = strstr(p, secret)) {
		buf_append(&out, p, (size_t)(hit - p));
		buf_puts(&out, "***");
		p = hit + nl;
	}
	buf_puts(&out, p);
	buf_free(b);
	*b = out;
}

/* Scrubs the raw and %-decoded forms of s[0..n) from *b. */
static void redact_span(struct buf *b, const char *s, size_t n)
{
	if (n == 0)
		return;
	char *raw = xstrndup(s, n);
	char *dec = xmalloc(n + 1);
	hex_percent_decode(s, n, dec, n + 1);
	redact_secret(b, raw);
	redact_secret(b, dec);
	free(raw);
	free(dec);
}

void redact_url_password(struct buf *b, const char *url)
{
	assert(b != NULL);
	if (url == NULL)
		return;
	/* URI userinfo: scheme://user:password@host... (the last '@' before the path) */
	const char *auth = strstr(url, "://");
	if (auth != NULL) {
		auth += 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = NULL;
		for (size_t i = 0; i < alen; i++)
			if (auth[i] == '@')
				at = auth + i;
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon != NULL)
			redact_span(b, colon + 1, (size_t)(at - colon - 1));
	}
	/* password=... as a URI parameter or a key=value pair */
	for (const char *p = strstr(url, "password="); p != NULL; p = strstr(p + 1, "password=")) {
		const char *v = p + 9;
		redact_span(b, v, strcspn(v, "& \t"));
	}
}

void redact_one_line(const struct buf *b, char *out, size_t cap)
{
	assert(b != NULL && (out != NULL || cap == 0));
	size_t o = 0;
	for (size_t i = 0; i < b->len && o + 1 < cap; i++) {
		char ch = b->data[i];
		if (ch == '\n' || ch == '\t' || ch == '\r') {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			continue;
		}
		out[o++] = ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	if (cap > 0)
		out[o] = '\0';
}

void redact_message(const char *url, const char *msg, char *out, size_t cap)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, msg != NULL ? msg : "");
	redact_url_password(&b, url);
	redact_one_line(&b, out, cap);
	buf_free(&b);
}
