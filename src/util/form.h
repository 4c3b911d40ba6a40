/* SPDX-License-Identifier: MIT */
/* form.h - application/x-www-form-urlencoded parsing (webhook bodies and query strings).
 * Keeps every field in submission order, repeated keys included, because the
 * carriers' signature schemes sign all of them. Does not interpret any field. */
#ifndef MASKD_FORM_H
#define MASKD_FORM_H

#include <stddef.h>

#include "arena.h"

#define FORM_FIELDS_MAX 256 /* more fields than this: MASKD_ETOOBIG (answer 413) */

struct form_field {
	const char *key;   /* percent-decoded, '+' -> ' ', NUL-terminated, arena-owned */
	const char *value; /* same */
};

struct form {
	struct form_field *fields; /* arena-owned, submission order */
	size_t n;
};

/* Parses len bytes of body into out; everything is allocated from a and lives
 * until arena_free(a). An empty body gives n == 0. Returns 0, MASKD_EINVAL for a
 * malformed body (bad %-escape, a NUL byte, decoded or raw), or MASKD_ETOOBIG.
 * A pair without '=' is a key with an empty value; empty pairs ("a=1&&b=2") are skipped. */
int form_parse(struct arena *a, const char *body, size_t len, struct form *out);

/* First value for key, or NULL. */
const char *form_get(const struct form *f, const char *key);

/* The digits a caller entered (a gather result's Digits, a dtmf string) as
 * maskd wants them: a trailing finishing '#' dropped (a copy in a), anything
 * else returned as is; NULL stays NULL. Every dialect's gather parse uses it. */
const char *form_digits(struct arena *a, const char *digits);

#endif
