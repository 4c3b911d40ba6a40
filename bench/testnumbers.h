/* SPDX-License-Identifier: MIT */
/* testnumbers.h - the phone numbers the benchmark uses, shared by loadgen.c and
 * seed.c so both name the same people and the same pool. Header-only (static
 * functions); nothing here is maskd code.
 *
 * Real (participant) numbers: US NPA-NXX blocks of 10,000 lines each, index i ->
 * one number, distinct for distinct i. libphonenumber accepts exchanges 2xx..9xx in
 * these area codes; N11, 555 and 950/958/959/976 are skipped so no service code or
 * fictional block is used: 10 area codes x 680 exchanges x 10,000 lines.
 * Pool (proxy) numbers: +1 650 3xx xxxx .. 9xx xxxx, an area code no real number
 * above uses. */
#ifndef BENCH_TESTNUMBERS_H
#define BENCH_TESTNUMBERS_H

#include <stdbool.h>
#include <stdio.h>

#define TESTNUMBERS_NXX_PER_NPA 680
#define TESTNUMBERS_REAL_MAX (10L * TESTNUMBERS_NXX_PER_NPA * 10000)
#define TESTNUMBERS_POOL_MAX 700000L

static const char *const testnumbers_npas[10] = {"415", "212", "310", "646", "312",
						 "617", "206", "303", "404", "512"};

/* The k-th usable exchange (0-based, k < TESTNUMBERS_NXX_PER_NPA). */
static inline int testnumbers_nxx(int k)
{
	for (int n = 200; n <= 999; n++) {
		bool skip = (n % 100 == 11) || n == 555 || n == 950 || n == 958 || n == 959 || n == 976;
		if (!skip && k-- == 0)
			return n;
	}
	return -1;
}

/* Writes real number i (0 <= i < TESTNUMBERS_REAL_MAX) as E.164; -1 when out of range. */
static inline int real_number(long i, char out[16])
{
	if (i < 0 || i >= TESTNUMBERS_REAL_MAX)
		return -1;
	long block = i / 10000, line = i % 10000;
	long npa = block / TESTNUMBERS_NXX_PER_NPA, nxx = block % TESTNUMBERS_NXX_PER_NPA;
	snprintf(out, 16, "+1%s%03d%04ld", testnumbers_npas[npa], testnumbers_nxx((int)nxx), line);
	return 0;
}

/* Writes pool number i (0 <= i < TESTNUMBERS_POOL_MAX) as E.164; -1 when out of range. */
static inline int pool_number(long i, char out[16])
{
	if (i < 0 || i >= TESTNUMBERS_POOL_MAX)
		return -1;
	snprintf(out, 16, "+1650%03ld%04ld", 300 + i / 10000, i % 10000);
	return 0;
}

#endif
