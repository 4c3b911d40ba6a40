/* SPDX-License-Identifier: MIT */
/* test_ids.c - util/ids.h: ids made later sort later (one thread, one millisecond,
 * across threads, the clock stepping back), are unique across threads, keep their
 * shape (prefix, 24 characters of the alphabet, id_valid), lead with the clock's
 * millisecond, and end in characters that differ from id to id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/ids.h"

#define THREADS 4
#define PER_THREAD 20000

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_shape(void **state)
{
	(void)state;
	char id[ID_MAX];
	id_new("ses", id);
	assert_int_equal(strlen(id), 4 + 24);
	assert_memory_equal(id, "ses_", 4);
	assert_true(id_valid("ses", id));
	assert_false(id_valid("int", id));
	/* an id of the earlier, all-random shape is still accepted */
	assert_true(id_valid("ses", "ses_abcdefghijkmnpqrstuvwxyz"));
	assert_false(id_valid("ses", "ses_abcdefghijkmnpqrstuvwxy0"));
}

static void test_later_sorts_later(void **state)
{
	(void)state;
	char prev[ID_MAX], id[ID_MAX];
	id_new("int", prev);
	for (int i = 0; i < 50000; i++) {
		id_new("int", id);
		assert_true(strcmp(prev, id) < 0);
		memcpy(prev, id, ID_MAX);
	}
}

/* More ids in one millisecond than the sequence holds, then the clock going back. */
static void test_same_millisecond_and_clock_back(void **state)
{
	(void)state;
	int64_t ms = wall_ms() + 1000;
	char prev[ID_MAX], id[ID_MAX];
	id_new_at("leg", ms, prev);
	for (int i = 0; i < 5000; i++) {
		id_new_at("leg", ms, id);
		assert_true(strcmp(prev, id) < 0);
		memcpy(prev, id, ID_MAX);
	}
	id_new_at("leg", ms - 60000, id);
	assert_true(strcmp(prev, id) < 0);
}

struct batch {
	char ids[PER_THREAD][ID_MAX];
	int ordered;
};

static void *draw(void *arg)
{
	struct batch *b = arg;
	b->ordered = 1;
	for (int i = 0; i < PER_THREAD; i++) {
		id_new("evt", b->ids[i]);
		if (i > 0 && strcmp(b->ids[i - 1], b->ids[i]) >= 0)
			b->ordered = 0;
	}
	return NULL;
}

static int cmp_stamp(const void *a, const void *b)
{
	return memcmp(a, b, 4 + 12); /* prefix and stamp only */
}

/* Threads drawing at once: each thread's ids in order, and no two stamps alike, so
 * no two ids alike whatever their random tails. */
static void test_threads_unique(void **state)
{
	(void)state;
	struct batch *b = calloc(THREADS, sizeof(*b));
	assert_non_null(b);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, draw, &b[i]), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_true(b[i].ordered);
	size_t n = 0;
	char(*flat)[ID_MAX] = calloc((size_t)THREADS * PER_THREAD, ID_MAX);
	assert_non_null(flat);
	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < PER_THREAD; j++)
			memcpy(flat[n++], b[i].ids[j], ID_MAX);
	qsort(flat, n, ID_MAX, cmp_stamp);
	for (size_t i = 1; i < n; i++)
		assert_true(memcmp(flat[i - 1], flat[i], 4 + 12) < 0);
	free(flat);
	free(b);
}

static const char alphabet[] = "23456789abcdefghijkmnpqrstuvwxyz";

/* The first ten stamp characters are the millisecond, most significant first; the
 * random tails of consecutive ids differ. */
static void test_stamp_is_the_clock(void **state)
{
	(void)state;
	int64_t ms = wall_ms() + 10LL * 24 * 3600 * 1000; /* ahead of every id drawn so far */
	char id[ID_MAX], next[ID_MAX];
	id_new_at("num", ms, id);
	uint64_t got = 0;
	for (int i = 0; i < 10; i++)
		got = got << 5 | (uint64_t)(strchr(alphabet, id[4 + i]) - alphabet);
	assert_int_equal(got, (uint64_t)ms);
	int same_tails = 0;
	for (int i = 0; i < 100; i++) {
		id_new_at("num", ms, next);
		if (memcmp(id + 16, next + 16, 12) == 0)
			same_tails++;
		memcpy(id, next, ID_MAX);
	}
	assert_int_equal(same_tails, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_later_sorts_later),
		cmocka_unit_test(test_same_millisecond_and_clock_back),
		cmocka_unit_test(test_threads_unique),
		cmocka_unit_test(test_stamp_is_the_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
