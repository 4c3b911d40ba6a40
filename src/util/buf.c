/* SPDX-License-Identifier: MIT */
/* buf.c - growable NUL-terminated buffer; see buf.h. */
#include "buf.h"
#include "utf8.h"
#include "xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static void buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	size_t n = xvsnprintf(tmp, sizeof(tmp), "buf_printf", fmt, ap);
	va_end(ap);
	if (n < sizeof(tmp)) {
		buf_append(b, tmp, n);
		return;
	}
	buf_reserve(b, n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

static void buf_xml_escape(struct buf *b, const char *in, int attr)
{
	/* well-formed first (utf8.h), so no code point XML 1.0 refuses reaches b */
	struct buf clean;
	buf_init(&clean);
	const char *s = in;
	size_t in_len = strlen(in);
	if (!utf8_is_clean(in, in_len, UTF8_FOR_XML)) {
		utf8_sanitize(&clean, in, in_len, UTF8_FOR_XML);
		s = clean.data;
	}
	const char *run = s;
	for (; *s; s++) {
		const char *rep = NULL;
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = attr ? NULL : "&gt;"; break;
		case '"': rep = attr ? "&quot;" : NULL; break;
		case '\r': rep = "&#xD;"; break;
		case '\t': rep = attr ? "&#x9;" : NULL; break;
		case '\n': rep = attr ? "&#xA;" : NULL; break;
		default: break;
		}
		if (rep == NULL)
			continue;
		buf_append(b, run, (size_t)(s - run));
		buf_puts(b, rep);
		run = s + 1;
	}
	buf_append(b, run, (size_t)(s - run));
	buf_free(&clean);
}

void buf_xml_text(struct buf *b, const char *s)
{
	buf_xml_escape(b, s, 0);
}

void buf_xml_attr(struct buf *b, const char *s)
{
	buf_xml_escape(b, s, 1);
}

char *buf_steal(struct buf *b, size_t *len)
{
	if (b->data == NULL)
		buf_append(b, "", 0);
	char *p = b->data;
	if (len != NULL)
		*len = b->len;
	buf_init(b);
	return p;
}
