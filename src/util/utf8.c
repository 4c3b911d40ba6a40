/* SPDX-License-Identifier: MIT */
/* utf8.c - strict UTF-8 decoding and U+FFFD substitution; see utf8.h. The
 * well-formed byte sequences are those of Unicode Table 3-7. */
#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* Decodes one scalar value at s (n >= 1 bytes left). Returns the bytes it
 * spans; *cp is the value, or UINT32_MAX when those bytes are a maximal
 * ill-formed subpart (then the return value is at least 1). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	if (c >= 0x01 && c <= 0x7f) {
		*cp = c;
		return 1;
	}
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
	uint32_t v;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		*cp = UINT32_MAX; /* NUL, a continuation byte, C0, C1, F5..FF */
		return 1;
	}
	size_t i = 1;
	for (; i <= need; i++) {
		if (i >= n)
			break;
		unsigned char b = s[i];
		unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xbf;
		if (b < l || b > h)
			break;
		v = (v << 6) | (b & 0x3f);
	}
	if (i <= need) {
		*cp = UINT32_MAX;
		return i;
	}
	*cp = v;
	return need + 1;
}

/* True when the scalar value cp may stand in the target as it is. */
static bool utf8_allowed(uint32_t cp, enum utf8_target target)
{
	if (cp == UINT32_MAX)
		return false;
	if (target == UTF8_FOR_JSON)
		return true;
	if (cp < 0x20)
		return cp == '\t' || cp == '\n' || cp == '\r';
	return cp != 0x7f && cp != 0xfffe && cp != 0xffff;
}

void utf8_sanitize(struct buf *out, const char *s, size_t len, enum utf8_target target)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0, i = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (utf8_allowed(cp, target)) {
			i += n;
			continue;
		}
		buf_append(out, s + run, i - run);
		buf_puts(out, UTF8_REPLACEMENT);
		i += n;
		run = i;
	}
	buf_append(out, s + run, len - run);
}

bool utf8_is_clean(const char *s, size_t len, enum utf8_target target)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		i += utf8_decode(p + i, len - i, &cp);
		if (!utf8_allowed(cp, target))
			return false;
	}
	return true;
}

char *utf8_sanitized_dup(const char *s, enum utf8_target target)
{
	struct buf b;
	buf_init(&b);
	if (s == NULL)
		s = "";
	utf8_sanitize(&b, s, strlen(s), target);
	return buf_steal(&b, NULL);
}
