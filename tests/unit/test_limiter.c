/* SPDX-License-Identifier: MIT */
/* test_limiter.c - limiter_allow(): a rule of one's own sees a zeroed state per
 * fresh key; with app_limiter_new() (rate_allow) counters per key with rate_allow's exact
 * answers, key checks (NULL, "", 64 bytes fine, 65 refused), limit 0 untouched,
 * eviction of the least recently used key of a full probe, max_keys keys held
 * without eviction, and 4 threads on one key letting exactly `limit` through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/ratelimit.h"
#include "app.h"
#include "util/limiter.h"
#include "util/err.h"

#define T0 INT64_C(1700000000000)
#define W INT64_C(1000)

/* A rule that allows limit events per key, ever: the state is the count. */
static int count_rule(void *st, int64_t now_ms, int64_t window_ms, uint32_t limit, int64_t *retry_after_ms)
{
	uint32_t *n = st;
	assert_true(((uintptr_t)st & 7) == 0);
	if (*n >= limit) {
		if (retry_after_ms != NULL)
			*retry_after_ms = window_ms;
		return 0;
	}
	(*n)++;
	return 1;
}

static void test_rule_of_ones_own(void **state)
{
	struct limiter *l = limiter_new(1, count_rule);
	int64_t retry = -1;
	assert_int_equal(limiter_allow(l, "a", T0, W, 2, &retry), 1);
	assert_int_equal(retry, 0);
	assert_int_equal(limiter_allow(l, "a", T0 + 99999, W, 2, &retry), 1);
	assert_int_equal(limiter_allow(l, "a", T0 + 99999, W, 2, &retry), 0);
	assert_int_equal(retry, W);
	assert_int_equal(limiter_allow(l, "b", T0, W, 2, &retry), 1); /* fresh key: zero state */
	assert_int_equal(limiter_allow(l, "a", T0, W, 0, &retry), 1); /* limit 0: the rule is not asked */
	/* 16 newer keys evict "a": its state starts from zero again */
	char key[8];
	for (int i = 0; i < 16; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(limiter_allow(l, key, T0 + 100000 + i, W, 2, NULL), 1);
	}
	assert_int_equal(limiter_allow(l, "a", T0 + 200000, W, 2, NULL), 1);
	limiter_free(l);
}

static void test_counts_per_key(void **state)
{
	struct limiter *l = app_limiter_new(64);
	int64_t retry = -1;
	for (int i = 0; i < 3; i++)
		assert_int_equal(limiter_allow(l, "par_1/v", T0 + 10 * i, W, 3, &retry), 1);
	assert_int_equal(retry, 0);
	/* the same numbers as rate_allow on its own (test_ratelimit) */
	assert_int_equal(limiter_allow(l, "par_1/v", T0 + 30, W, 3, &retry), 0);
	assert_int_equal(retry, 1304);
	assert_int_equal(limiter_allow(l, "par_1/v", T0 + 1333, W, 3, &retry), 0);
	assert_int_equal(retry, 1);
	assert_int_equal(limiter_allow(l, "par_1/v", T0 + 1334, W, 3, &retry), 1);

	/* other keys have their own counters; prefixes are other keys */
	assert_int_equal(limiter_allow(l, "par_1/m", T0 + 30, W, 3, &retry), 1);
	assert_int_equal(limiter_allow(l, "par_1/", T0 + 30, W, 3, &retry), 1);
	assert_int_equal(limiter_allow(l, "par_1/vv", T0 + 30, W, 3, &retry), 1);
	assert_int_equal(limiter_allow(l, "par_2/v", T0 + 30, W, 3, &retry), 1);

	/* limit 0 is unlimited and leaves the counter alone */
	for (int i = 0; i < 100; i++)
		assert_int_equal(limiter_allow(l, "par_1/v", T0 + 1334, W, 0, &retry), 1);
	assert_int_equal(limiter_allow(l, "par_1/v", T0 + 1334, W, 3, NULL), 0);
	limiter_free(l);
	limiter_free(NULL);
}

static void test_keys_checked(void **state)
{
	struct limiter *l = app_limiter_new(16);
	char key[LIMITER_KEY_MAX + 2];
	int64_t retry = -1;
	assert_int_equal(limiter_allow(l, NULL, T0, W, 1, &retry), MASKD_EINVAL);
	assert_int_equal(retry, 0);
	assert_int_equal(limiter_allow(l, "", T0, W, 1, &retry), MASKD_EINVAL);

	memset(key, 'k', LIMITER_KEY_MAX);
	key[LIMITER_KEY_MAX] = '\0';
	assert_int_equal(limiter_allow(l, key, T0, W, 1, &retry), 1);
	assert_int_equal(limiter_allow(l, key, T0, W, 1, &retry), 0);
	key[LIMITER_KEY_MAX - 1] = 'j'; /* differs in the last byte: another key */
	assert_int_equal(limiter_allow(l, key, T0, W, 1, &retry), 1);

	memset(key, 'k', LIMITER_KEY_MAX + 1);
	key[LIMITER_KEY_MAX + 1] = '\0';
	retry = -1;
	assert_int_equal(limiter_allow(l, key, T0, W, 1, &retry), MASKD_ETOOBIG);
	assert_int_equal(retry, 0);
	/* refused before limit 0 is looked at, too: a bad key is a bug either way */
	assert_int_equal(limiter_allow(l, key, T0, W, 0, NULL), MASKD_ETOOBIG);
	limiter_free(l);
}

/* app_limiter_new(1) is one segment of 16 slots, all in every key's probe: the
 * 17th key must evict, and it evicts the least recently used. */
static void test_eviction_lru(void **state)
{
	struct limiter *l = app_limiter_new(1);
	char key[16];
	for (int i = 0; i < 16; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(limiter_allow(l, key, T0 + i, W, 1, NULL), 1);
	}
	/* touch k0 again (refused, but used): k1 is now the oldest */
	assert_int_equal(limiter_allow(l, "k0", T0 + 20, W, 1, NULL), 0);
	assert_int_equal(limiter_allow(l, "k16", T0 + 21, W, 1, NULL), 1);
	/* k1 was forgotten: it starts afresh (the limit fails open, never closed) */
	assert_int_equal(limiter_allow(l, "k1", T0 + 22, W, 1, NULL), 1);
	/* which evicted k2, the oldest then; everyone else is still counted */
	for (int i = 3; i < 17; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (limiter_allow(l, key, T0 + 23, W, 1, NULL) != 0)
			fail_msg("%s was evicted", key);
	}
	assert_int_equal(limiter_allow(l, "k0", T0 + 23, W, 1, NULL), 0);
	assert_int_equal(limiter_allow(l, "k1", T0 + 23, W, 1, NULL), 0);
	limiter_free(l);
}

/* max_keys keys shaped like the real ones all stay counted. */
static void test_max_keys_held(void **state)
{
	enum { KEYS = 4096 };
	struct limiter *l = app_limiter_new(KEYS);
	char key[40];
	for (int i = 0; i < KEYS; i++) {
		snprintf(key, sizeof(key), "par_%08x%08x/%c", (unsigned)i * 2654435761u, (unsigned)i, i % 2 ? 'v' : 'm');
		assert_int_equal(limiter_allow(l, key, T0 + i, 3600000, 1, NULL), 1);
	}
	for (int i = 0; i < KEYS; i++) {
		snprintf(key, sizeof(key), "par_%08x%08x/%c", (unsigned)i * 2654435761u, (unsigned)i, i % 2 ? 'v' : 'm');
		if (limiter_allow(l, key, T0 + KEYS, 3600000, 1, NULL) != 0)
			fail_msg("key %d was evicted", i);
	}
	limiter_free(l);
}

#define HAMMER_THREADS 4
#define HAMMER_CALLS 20000
#define HAMMER_LIMIT 5000u

struct hammer {
	struct limiter *l;
	int id;
	long allowed_hot;
	long allowed_own;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	char own[16];
	snprintf(own, sizeof(own), "own/%d", h->id);
	for (int i = 0; i < HAMMER_CALLS; i++) {
		/* time moves inside one window: the limit is the whole budget */
		int64_t now = T0 + i / 10;
		if (limiter_allow(h->l, "hot/v", now, 60000, HAMMER_LIMIT, NULL) == 1)
			h->allowed_hot++;
		if (limiter_allow(h->l, own, now, 60000, 7, NULL) == 1)
			h->allowed_own++;
	}
	return NULL;
}

static void test_threads_one_key(void **state)
{
	struct limiter *l = app_limiter_new(64);
	pthread_t th[HAMMER_THREADS];
	struct hammer h[HAMMER_THREADS];
	for (int i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){ .l = l, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	long hot = 0;
	for (int i = 0; i < HAMMER_THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		hot += h[i].allowed_hot;
		assert_int_equal(h[i].allowed_own, 7);
	}
	assert_int_equal(hot, HAMMER_LIMIT);
	limiter_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_of_ones_own),
		cmocka_unit_test(test_counts_per_key),
		cmocka_unit_test(test_keys_checked),
		cmocka_unit_test(test_eviction_lru),
		cmocka_unit_test(test_max_keys_held),
		cmocka_unit_test(test_threads_one_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
