/* SPDX-License-Identifier: MIT */
/* sigutil.h - the pieces the carriers' signature checks (twilio_sig.c, plivo_sig.c,
 * telnyx_sig.c, vonage_sig.c) read alike: the order of signed form fields, where the
 * authority of a called URL lies, and a Unix time written as digits. Pure; no crypto, no allocation, no logging. */
#ifndef MASKD_HOOKS_SIGUTIL_H
#define MASKD_HOOKS_SIGUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGUTIL_UNIX_MAX 9007199254740991LL /* 2^53-1, Number.isSafeInteger of the JS SDKs */

/* One form field of a signed string, with its submission index. */
struct sigutil_field {
	const char *key;
	const char *value;
	size_t order; /* keeps qsort deterministic (and stable) for equal pairs */
};

/* qsort order of struct sigutil_field: key, then value, bytewise, then order (the
 * carriers' SDKs sort the keys, then each key's values). */
int sigutil_field_cmp(const void *a, const void *b);

/* Offsets into a URL of the shape scheme "://" [userinfo "@"] host[:port] ... */
struct sigutil_authority {
	size_t scheme_len; /* bytes of the scheme, before "://" */
	size_t host;       /* start of host[:port], after any userinfo */
	size_t end;        /* end of the authority: the first '/', '?', '#' or the end */
};

/* Splits url (NUL-terminated). False when it has no valid scheme (a letter, then
 * letters, digits, '+', '-', '.') before "://", or an empty host[:port]. */
bool sigutil_authority_split(const char *url, struct sigutil_authority *out);

/* s as a Unix time: 1 to max_digits decimal digits (leading zeros allowed, as
 * /^\d+$/ allows them), at most SIGUTIL_UNIX_MAX. False for anything else. */
bool sigutil_parse_unix(const char *s, size_t max_digits, int64_t *out);

#endif
