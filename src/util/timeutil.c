/* SPDX-License-Identifier: MIT */
/* timeutil.c - RFC 3339 timestamps and the clock; see timeutil.h.
 * Formats UTC only ("...Z"); parses any offset and converts to UTC with timegm(),
 * so the process TZ never matters. Valid range 1970-01-01T00:00:00Z through
 * 9999-12-31T23:59:59Z; no sub-second precision anywhere. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* timegm */
#endif
#include "timeutil.h"
#include "err.h"
#include "xmalloc.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#define TIME_MAX_UNIX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define TIME_YEAR_MIN 1970
#define TIME_YEAR_MAX 9999

int64_t now_unix(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		fatal("clock_gettime(CLOCK_REALTIME) failed");
	return (int64_t)ts.tv_sec;
}

int64_t now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		fatal("clock_gettime(CLOCK_REALTIME) failed");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* t outside the four-digit-year range is clamped to it, so the output always has
 * the fixed RFC3339_MAX - 1 characters and parses back with rfc3339_parse(). */
void rfc3339_format(int64_t t, char *out, size_t cap)
{
	assert(cap >= RFC3339_MAX);
	if (cap == 0)
		return;
	if (t < 0)
		t = 0;
	if (t > TIME_MAX_UNIX)
		t = TIME_MAX_UNIX;
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL)
		fatal("gmtime_r failed on an in-range time");
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool time_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int time_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month == 2 && time_is_leap(year))
		return 29;
	return days[month - 1];
}

/* Reads exactly n ASCII digits at *s into *val and advances *s. */
static bool time_digits(const char **s, int n, int *val)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*s)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*s += n;
	*val = v;
	return true;
}

static bool time_expect(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

/* Seconds 60 (a leap second) is accepted and, as in POSIX time, folds into the
 * first second of the next minute. "-00:00" is taken as UTC. */
int rfc3339_parse(const char *s, int64_t *out)
{
	if (s == NULL || out == NULL)
		return MASKD_EINVAL;

	int year, mon, mday, hour, min, sec;
	if (!time_digits(&s, 4, &year) || !time_expect(&s, '-') || !time_digits(&s, 2, &mon) ||
	    !time_expect(&s, '-') || !time_digits(&s, 2, &mday))
		return MASKD_EINVAL;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return MASKD_EINVAL;
	s++;
	if (!time_digits(&s, 2, &hour) || !time_expect(&s, ':') || !time_digits(&s, 2, &min) ||
	    !time_expect(&s, ':') || !time_digits(&s, 2, &sec))
		return MASKD_EINVAL;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return MASKD_EINVAL;
		while (*s >= '0' && *s <= '9')
			s++;
	}

	int offset = 0; /* seconds east of UTC */
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s == '-' ? -1 : 1;
		int off_h, off_m;
		s++;
		if (!time_digits(&s, 2, &off_h) || !time_expect(&s, ':') || !time_digits(&s, 2, &off_m))
			return MASKD_EINVAL;
		if (off_h > 23 || off_m > 59)
			return MASKD_EINVAL;
		offset = sign * (off_h * 3600 + off_m * 60);
	} else {
		return MASKD_EINVAL;
	}
	if (*s != '\0')
		return MASKD_EINVAL;

	if (year < TIME_YEAR_MIN || year > TIME_YEAR_MAX || mon < 1 || mon > 12 || mday < 1 ||
	    mday > time_days_in_month(year, mon) || hour > 23 || min > 59 || sec > 60)
		return MASKD_EINVAL;

	struct tm tm = {
		.tm_year = year - 1900,
		.tm_mon = mon - 1,
		.tm_mday = mday,
		.tm_hour = hour,
		.tm_min = min,
		.tm_sec = sec,
	};
	time_t local = timegm(&tm);
	if (local == (time_t)-1)
		return MASKD_EINVAL;
	/* The offset can carry an edge date across the range, e.g. 1970-01-01T00:00+01:00. */
	int64_t t = (int64_t)local - offset;
	if (t < 0 || t > TIME_MAX_UNIX)
		return MASKD_EINVAL;
	*out = t;
	return 0;
}
