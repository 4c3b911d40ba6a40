/* SPDX-License-Identifier: MIT */
/* form.c - application/x-www-form-urlencoded parsing into an arena; see form.h.
 * Pairs are split on '&' only (not ';'), split once on the first '=', then
 * decoded ('+' -> space, %XX -> byte). Bytes are kept as sent: no UTF-8 check,
 * no normalisation, because signatures are computed over exactly these bytes. */
#include "form.h"
#include "err.h"
#include "hex.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

/* Decodes s[0..n) into a fresh arena string. MASKD_EINVAL on a truncated or
 * non-hex %-escape and on %00. */
static int form_decode(struct arena *a, const char *s, size_t n, const char **out)
{
	char *d = arena_alloc(a, n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '+') {
			d[o++] = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return MASKD_EINVAL;
			int hi = hex_digit((unsigned char)s[i + 1]);
			int lo = hex_digit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return MASKD_EINVAL;
			int v = hi << 4 | lo;
			if (v == 0)
				return MASKD_EINVAL;
			d[o++] = (char)v;
			i += 2;
		} else {
			d[o++] = (char)c;
		}
	}
	d[o] = '\0';
	*out = d;
	return 0;
}

int form_parse(struct arena *a, const char *body, size_t len, struct form *out)
{
	assert(a != NULL && out != NULL && (body != NULL || len == 0));
	out->fields = NULL;
	out->n = 0;
	if (len == 0)
		return 0;
	if (memchr(body, '\0', len) != NULL)
		return MASKD_EINVAL;

	/* Count non-empty pairs first so the cap is enforced before allocating. */
	size_t count = 0;
	bool in_pair = false;
	for (size_t i = 0; i < len; i++) {
		if (body[i] == '&') {
			in_pair = false;
		} else if (!in_pair) {
			in_pair = true;
			if (++count > FORM_FIELDS_MAX)
				return MASKD_ETOOBIG;
		}
	}
	if (count == 0)
		return 0;

	struct form_field *fields = arena_alloc(a, count * sizeof(*fields));
	size_t n = 0;
	size_t start = 0;
	while (start < len) {
		const char *amp = memchr(body + start, '&', len - start);
		size_t end = amp != NULL ? (size_t)(amp - body) : len;
		if (end > start) {
			const char *pair = body + start;
			size_t plen = end - start;
			const char *eq = memchr(pair, '=', plen);
			size_t klen = eq != NULL ? (size_t)(eq - pair) : plen;
			const char *vstart = eq != NULL ? eq + 1 : pair + plen;
			size_t vlen = (size_t)(pair + plen - vstart);
			assert(n < count);
			if (form_decode(a, pair, klen, &fields[n].key) != 0 ||
			    form_decode(a, vstart, vlen, &fields[n].value) != 0)
				return MASKD_EINVAL;
			n++;
		}
		start = end + 1;
	}
	assert(n == count);
	out->fields = fields;
	out->n = n;
	return 0;
}

const char *form_get(const struct form *f, const char *key)
{
	assert(f != NULL && key != NULL);
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].key, key) == 0)
			return f->fields[i].value;
	return NULL;
}

const char *form_digits(struct arena *a, const char *digits)
{
	size_t n = digits != NULL ? strlen(digits) : 0;
	if (n == 0 || digits[n - 1] != '#')
		return digits;
	return arena_strndup(a, digits, n - 1);
}
