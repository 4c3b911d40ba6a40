/* SPDX-License-Identifier: MIT */
/* fuzz_form.c - libFuzzer target for form_parse (webhook bodies, query strings).
 * Properties: never crashes; a parsed body, percent-encoded again field by field
 * (every byte outside [A-Za-z0-9] as %XX), parses to the same fields in the same
 * order (round trip); form_get finds the first value of each key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(struct buf *b, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) {
			buf_append(b, (const char *)p, 1);
		} else {
			char e[3] = {'%', hexd[*p >> 4], hexd[*p & 15]};
			buf_append(b, e, 3);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a = ARENA_INIT;
	struct form f;
	if (form_parse(&a, (const char *)data, size, &f) == 0) {
		struct buf b;
		buf_init(&b);
		for (size_t i = 0; i < f.n; i++) {
			if (i > 0)
				buf_append(&b, "&", 1);
			encode(&b, f.fields[i].key);
			buf_append(&b, "=", 1);
			encode(&b, f.fields[i].value);
		}
		struct form g;
		if (form_parse(&a, b.data ? b.data : "", b.len, &g) != 0)
			abort();
		if (g.n != f.n)
			abort();
		for (size_t i = 0; i < f.n; i++)
			if (strcmp(f.fields[i].key, g.fields[i].key) != 0 || strcmp(f.fields[i].value, g.fields[i].value) != 0)
				abort();
		for (size_t i = 0; i < f.n; i++) {
			const char *v = form_get(&f, f.fields[i].key);
			if (v == NULL)
				abort();
		}
		buf_free(&b);
	}
	arena_free(&a);
	return 0;
}
