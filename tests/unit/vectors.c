/* SPDX-License-Identifier: MIT */
/* vectors.c - shared helpers of the signature unit tests; see vectors.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "vectors.h"
#include "store/store.h"
#include "flow/sessions.h"

#define VECTORS_PATH VECTORS_DATA_DIR "/signature_vectors.json"

json_t *vectors_load(void)
{
	json_error_t jerr;
	json_t *v = json_load_file(VECTORS_PATH, 0, &jerr);
	if (v == NULL)
		print_error("cannot load %s: %s (line %d)\n", VECTORS_PATH, jerr.text, jerr.line);
	return v;
}

/* Percent-encodes s (space as '+') onto the arena string being built. */
static void urlenc_append(struct arena *a, char **acc, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t have = strlen(*acc), n = strlen(s);
	char *out = arena_alloc(a, have + 3 * n + 1);
	memcpy(out, *acc, have);
	char *p = out + have;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == '-' || *c == '.' || *c == '_' || *c == '~') {
			*p++ = (char)*c;
		} else if (*c == ' ') {
			*p++ = '+';
		} else {
			*p++ = '%';
			*p++ = hex[*c >> 4];
			*p++ = hex[*c & 15];
		}
	}
	*p = '\0';
	*acc = out;
}

void vectors_body_add(struct arena *a, char **acc, const char *key, const char *value)
{
	if ((*acc)[0] != '\0')
		*acc = arena_printf(a, "%s&", *acc);
	urlenc_append(a, acc, key);
	*acc = arena_printf(a, "%s=", *acc);
	urlenc_append(a, acc, value);
}

int vectors_session_create(struct store *st, struct session *s, int64_t now, int *failed)
{
	static const struct create_rules rules = {.pool = {GEO_COUNTRY, 0, SELECT_PREFER_STICKY}};
	struct create_outcome o;
	memset(&o, 0, sizeof(o));
	int rc = sessions_create_bound(st, s, &rules, now, &o);
	*failed = o.failed_index;
	return rc;
}
