/* SPDX-License-Identifier: MIT */
/* ids.c - prefixed, time-ordered ids (a stamp, then random characters); see ids.h.
 * The stamp is one process-wide atomic, so ordering holds across threads; ids of
 * different processes (nodes) are ordered only as far as their clocks agree. */
#include "ids.h"
#include "crypto.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define ID_CHARS 24
#define ID_STAMP_CHARS 12 /* 60 bits: 50 of milliseconds, 10 of sequence */
#define ID_SEQ_BITS 10
#define ID_RANDOM_CHARS (ID_CHARS - ID_STAMP_CHARS)

/* 32 characters, no l/o/0/1, in ASCII order so that a larger stamp is a larger
 * string (also in every locale's collation, which puts digits before letters). */
static const char id_alphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";
_Static_assert(sizeof(id_alphabet) == 33, "32 characters");

static _Atomic uint64_t id_last_stamp;

/* The next stamp: at least now_ms << ID_SEQ_BITS, and above every stamp drawn so far. */
static uint64_t id_next_stamp(int64_t now_ms)
{
	uint64_t floor = (uint64_t)(now_ms < 0 ? 0 : now_ms) << ID_SEQ_BITS;
	uint64_t last = atomic_load_explicit(&id_last_stamp, memory_order_relaxed);
	for (;;) {
		uint64_t next = last + 1 > floor ? last + 1 : floor;
		if (atomic_compare_exchange_weak_explicit(&id_last_stamp, &last, next,
							  memory_order_relaxed, memory_order_relaxed))
			return next;
	}
}

void id_new_at(const char *prefix, int64_t now_ms, char out[ID_MAX])
{
	uint8_t rnd[ID_RANDOM_CHARS];
	random_bytes(rnd, sizeof(rnd));
	uint64_t stamp = id_next_stamp(now_ms);
	size_t p = strlen(prefix);
	memcpy(out, prefix, p);
	out[p++] = '_';
	for (int i = ID_STAMP_CHARS - 1; i >= 0; i--)
		out[p + (size_t)i] = id_alphabet[(stamp >> (5 * (ID_STAMP_CHARS - 1 - i))) & 31];
	p += ID_STAMP_CHARS;
	for (size_t i = 0; i < ID_RANDOM_CHARS; i++)
		out[p++] = id_alphabet[rnd[i] & 31];
	out[p] = '\0';
}

void id_new(const char *prefix, char out[ID_MAX])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	id_new_at(prefix, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out);
}

bool id_valid(const char *prefix, const char *s)
{
	size_t p = strlen(prefix);
	if (strncmp(s, prefix, p) != 0 || s[p] != '_')
		return false;
	s += p + 1;
	if (strlen(s) != ID_CHARS)
		return false;
	for (; *s; s++)
		if (strchr(id_alphabet, *s) == NULL)
			return false;
	return true;
}
