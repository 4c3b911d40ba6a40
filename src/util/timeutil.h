/* SPDX-License-Identifier: MIT */
/* timeutil.h - RFC 3339 UTC timestamps and the one clock read.
 * Times are int64 seconds since the epoch (UTC) everywhere in maskd; core/ never
 * calls now_unix(), its callers pass time in. */
#ifndef MASKD_TIMEUTIL_H
#define MASKD_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define RFC3339_MAX 21 /* "2026-11-22T02:29:26Z" + NUL */

int64_t now_unix(void);
/* Milliseconds since the epoch (rate windows). */
int64_t now_ms(void);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into out (cap >= RFC3339_MAX). */
void rfc3339_format(int64_t t, char *out, size_t cap);

/* Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" (a 't'/'z' or a
 * space for 'T' accepted), converting to UTC and dropping the fraction. Returns 0
 * and *out, or MASKD_EINVAL (bad syntax, impossible date such as Feb 30, year
 * outside 1970..9999). */
int rfc3339_parse(const char *s, int64_t *out);

#endif
