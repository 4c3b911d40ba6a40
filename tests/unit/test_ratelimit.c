/* SPDX-License-Identifier: MIT */
/* test_ratelimit.c - rate_allow() at exact milliseconds: a burst up to the
 * limit, the refusal after it and its retry-after to the millisecond, recovery
 * as the previous window's weight fades, a long gap starting over, limit 0,
 * the extremes of window and limit, and a property run checking every
 * retry-after is the least wait that works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <stdio.h>

#include "core/ratelimit.h"

#define T0 INT64_C(1700000000000) /* an arbitrary epoch-ms start */
#define W INT64_C(1000)

static void allow(struct rate_window *w, int64_t now, int64_t window, uint32_t limit)
{
	int64_t retry = -1;
	if (rate_allow(w, now, window, limit, &retry) != 1)
		fail_msg("refused at %lld (retry %lld), want allowed", (long long)(now - T0), (long long)retry);
	assert_int_equal(retry, 0);
}

static int64_t refuse(struct rate_window *w, int64_t now, int64_t window, uint32_t limit)
{
	int64_t retry = -1;
	if (rate_allow(w, now, window, limit, &retry) != 0)
		fail_msg("allowed at %lld, want refused", (long long)(now - T0));
	assert_true(retry >= 1 && retry <= 2 * window);
	return retry;
}

/* Probes a copy of w, leaving w as it is. */
static int probe(const struct rate_window *w, int64_t now, int64_t window, uint32_t limit)
{
	struct rate_window copy = *w;
	return rate_allow(&copy, now, window, limit, NULL);
}

static void test_burst_then_refusal(void **state)
{
	struct rate_window w;
	memset(&w, 0, sizeof(w));
	allow(&w, T0, W, 3); /* a fresh struct starts its window here */
	assert_int_equal(w.start, T0);
	allow(&w, T0 + 10, W, 3);
	allow(&w, T0 + 20, W, 3);
	assert_int_equal(w.cur, 3);

	/* cur fills the limit: only the next window helps, and there prev = 3 must
	 * fade to 2: 3 * (1000 - e) <= 2000 from e = 334, i.e. T0 + 1334. */
	assert_int_equal(refuse(&w, T0 + 30, W, 3), 1304);
	assert_int_equal(w.cur, 3); /* a refusal counts nothing */
	assert_int_equal(refuse(&w, T0 + 999, W, 3), 335);
	assert_int_equal(probe(&w, T0 + 1333, W, 3), 0);
	assert_int_equal(probe(&w, T0 + 1334, W, 3), 1);

	/* refusals in the next window keep pointing at the same instant */
	assert_int_equal(refuse(&w, T0 + 1000, W, 3), 334);
	assert_int_equal(w.start, T0 + 1000);
	assert_int_equal(w.prev, 3);
	assert_int_equal(w.cur, 0);
	assert_int_equal(refuse(&w, T0 + 1333, W, 3), 1);
	allow(&w, T0 + 1334, W, 3);
	/* now prev 3 at e = 334 plus cur 1: the next fits once 3 * (1000 - e) <= 1000 */
	assert_int_equal(refuse(&w, T0 + 1334, W, 3), 333);
	assert_int_equal(probe(&w, T0 + 1666, W, 3), 0);
	allow(&w, T0 + 1667, W, 3);
}

static void test_recovery_as_prev_fades(void **state)
{
	struct rate_window w;
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 4; i++)
		allow(&w, T0, W, 4);
	/* Next window, e = 0: prev 4 weighs fully. One more fits once
	 * 4 * (1000 - e) <= 3000: e = 250. */
	assert_int_equal(refuse(&w, T0 + W, W, 4), 250);
	assert_int_equal(refuse(&w, T0 + 1249, W, 4), 1);
	allow(&w, T0 + 1250, W, 4);
	/* the one after: 4 * (1000 - e) <= 2000, e = 500 */
	assert_int_equal(refuse(&w, T0 + 1250, W, 4), 250);
	allow(&w, T0 + 1500, W, 4);
	allow(&w, T0 + 1750, W, 4); /* 4 * 250 <= 1000 */
	/* cur 3 and prev 4 at e = 750 (weighing 1): no room for a fourth until
	 * prev's weight is gone, at the next window, where cur 3 becomes prev at
	 * full weight and 3 + 1 <= 4 fits. */
	assert_int_equal(refuse(&w, T0 + 1750, W, 4), 250);
	allow(&w, T0 + 2000, W, 4);
	assert_int_equal(w.prev, 3);
	assert_int_equal(w.cur, 1);
}

static void test_long_gap_starts_over(void **state)
{
	struct rate_window w;
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 3; i++)
		allow(&w, T0, W, 3);
	/* 1999 ms later prev 3 still weighs 3 * 1/1000: two fit, not three */
	struct rate_window copy = w;
	allow(&copy, T0 + 1999, W, 3);
	allow(&copy, T0 + 1999, W, 3);
	refuse(&copy, T0 + 1999, W, 3);
	/* two windows after start: nothing of the burst is left */
	for (int i = 0; i < 3; i++)
		allow(&w, T0 + 2 * W, W, 3);
	assert_int_equal(w.start, T0 + 2 * W);
	assert_int_equal(w.prev, 0);
	assert_int_equal(w.cur, 3);
	refuse(&w, T0 + 2 * W, W, 3);
	/* and a day later, the same; start moves to now, not onto the old grid */
	allow(&w, T0 + 86400000 + 7, W, 3);
	assert_int_equal(w.start, T0 + 86400000 + 7);
	assert_int_equal(w.prev, 0);
	assert_int_equal(w.cur, 1);
}

static void test_limit_one(void **state)
{
	struct rate_window w;
	memset(&w, 0, sizeof(w));
	allow(&w, T0 + 100, W, 1);
	/* with limit 1 any weight of prev is too much: a fresh start at 2 windows */
	assert_int_equal(refuse(&w, T0 + 100, W, 1), 2 * W);
	assert_int_equal(refuse(&w, T0 + 1500, W, 1), 600);
	assert_int_equal(probe(&w, T0 + 2099, W, 1), 0);
	allow(&w, T0 + 2100, W, 1);
}

static void test_limit_zero_is_unlimited(void **state)
{
	struct rate_window w = { .start = T0, .prev = 7, .cur = 9 };
	struct rate_window before = w;
	for (int i = 0; i < 10000; i++)
		allow(&w, T0 + i, W, 0);
	assert_memory_equal(&w, &before, sizeof(w));
}

static void test_zero_struct_at_time_zero_and_clock_back(void **state)
{
	struct rate_window w;
	memset(&w, 0, sizeof(w));
	allow(&w, 0, W, 2);
	allow(&w, 5, W, 2);
	assert_int_equal(refuse(&w, 6, W, 2), 2 * W - 6 - 500);
	/* a clock stepped back moves the window's start back, counts kept */
	memset(&w, 0, sizeof(w));
	allow(&w, T0, W, 2);
	allow(&w, T0 - 500, W, 2);
	assert_int_equal(w.start, T0 - 500);
	assert_int_equal(w.cur, 2);
	assert_int_equal(refuse(&w, T0 - 500, W, 2), W + W - 500);
	assert_int_equal(probe(&w, T0 + 999, W, 2), 0);
	assert_int_equal(probe(&w, T0 + 1000, W, 2), 1);
	/* NULL retry_after is allowed */
	assert_int_equal(rate_allow(&w, T0, W, 2, NULL), 0);
}

static void test_extremes(void **state)
{
	/* the longest window and the largest limit: no overflow in the products */
	const int64_t big = RATE_WINDOW_MAX_MS;
	struct rate_window w = { .start = T0, .prev = UINT32_MAX, .cur = UINT32_MAX - 1 };
	assert_int_equal(refuse(&w, T0, big, UINT32_MAX), big);
	assert_int_equal(probe(&w, T0 + big - 1, big, UINT32_MAX), 0);
	allow(&w, T0 + big, big, UINT32_MAX); /* prev = 2^32 - 2 at full weight, + 1 */
	assert_int_equal(w.prev, UINT32_MAX - 1);
	assert_int_equal(w.cur, 1);

	struct rate_window full = { .start = T0, .prev = UINT32_MAX, .cur = UINT32_MAX };
	int64_t d = refuse(&full, T0 + 1, big, UINT32_MAX);
	assert_int_equal(probe(&full, T0 + 1 + d - 1, big, UINT32_MAX), 0);
	assert_int_equal(probe(&full, T0 + 1 + d, big, UINT32_MAX), 1);

	/* 1 ms windows */
	struct rate_window tiny;
	memset(&tiny, 0, sizeof(tiny));
	allow(&tiny, T0, 1, 1);
	assert_int_equal(refuse(&tiny, T0, 1, 1), 2);
	refuse(&tiny, T0 + 1, 1, 1);
	allow(&tiny, T0 + 2, 1, 1);
}

/* A fixed pseudo-random schedule per (window, limit): every refusal's
 * retry-after d must be the least wait that works, every allowed call's count
 * must match, and the counters never exceed the limit. */
static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005u + 1442695040888963407u;
	return *s >> 33;
}

static void test_retry_after_is_least(void **state)
{
	static const struct {
		int64_t window;
		uint32_t limit;
	} cases[] = { { 1000, 1 }, { 1000, 3 }, { 1000, 10 }, { 997, 7 }, { 60000, 100 }, { 3600000, 5 }, { 10, 3 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		int64_t win = cases[c].window;
		uint32_t limit = cases[c].limit;
		uint64_t seed = 42 + c;
		struct rate_window w;
		memset(&w, 0, sizeof(w));
		int64_t now = T0;
		for (int i = 0; i < 20000; i++) {
			now += (int64_t)(lcg(&seed) % (uint64_t)(win / 2 + 1)) / (1 + (int64_t)(lcg(&seed) % 8));
			int64_t retry = -1;
			struct rate_window before = w;
			int rc = rate_allow(&w, now, win, limit, &retry);
			assert_true(w.cur <= limit);
			if (rc == 1) {
				assert_int_equal(retry, 0);
				continue;
			}
			assert_int_equal(rc, 0);
			assert_true(retry >= 1 && retry <= 2 * win);
			assert_int_equal(probe(&before, now + retry, win, limit), 1);
			if (retry > 1)
				assert_int_equal(probe(&before, now + retry - 1, win, limit), 0);
		}
	}
}

/* The per-binding rule: key and limit per channel, only for what would go
 * through; the limiter's refusal becomes ROUTE_RATE_LIMITED. */
static void test_binding_rule(void **state)
{
	(void)state;
	struct service svc;
	memset(&svc, 0, sizeof(svc));
	svc.rate_calls = 3;
	svc.rate_texts = 5;
	struct route_view v;
	memset(&v, 0, sizeof(v));
	snprintf(v.from_participant, sizeof(v.from_participant), "par_a");
	struct decision bridge = {.kind = DECISION_BRIDGE, .dial = "+13105550199", .from = "+14155550100"};
	struct decision fwd = {.kind = DECISION_FORWARD_MESSAGE};
	struct decision reject = {.kind = DECISION_REJECT};
	char key[RATE_KEY_MAX];
	uint32_t limit = 0;
	assert_int_equal(rate_binding_rule(&svc, &v, CHANNEL_VOICE, &bridge, key, sizeof(key), &limit), 1);
	assert_string_equal(key, "par_a/v");
	assert_int_equal(limit, 3);
	assert_int_equal(rate_binding_rule(&svc, &v, CHANNEL_MESSAGE, &fwd, key, sizeof(key), &limit), 1);
	assert_string_equal(key, "par_a/m");
	assert_int_equal(limit, 5);
	assert_int_equal(rate_binding_rule(&svc, &v, CHANNEL_VOICE, &reject, key, sizeof(key), &limit), 0);
	svc.rate_calls = 0;
	assert_int_equal(rate_binding_rule(&svc, &v, CHANNEL_VOICE, &bridge, key, sizeof(key), &limit), 0);

	struct decision d = bridge;
	rate_binding_decide(1, CHANNEL_VOICE, &d);
	assert_int_equal(d.kind, DECISION_BRIDGE);
	rate_binding_decide(0, CHANNEL_VOICE, &d);
	assert_int_equal(d.kind, DECISION_REJECT);
	assert_int_equal(d.reason, ROUTE_RATE_LIMITED);
	assert_null(d.dial);
	d = fwd;
	rate_binding_decide(0, CHANNEL_MESSAGE, &d);
	assert_int_equal(d.kind, DECISION_ACKNOWLEDGE);
	assert_int_equal(d.reason, ROUTE_RATE_LIMITED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refusal),
		cmocka_unit_test(test_recovery_as_prev_fades),
		cmocka_unit_test(test_long_gap_starts_over),
		cmocka_unit_test(test_limit_one),
		cmocka_unit_test(test_limit_zero_is_unlimited),
		cmocka_unit_test(test_zero_struct_at_time_zero_and_clock_back),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_retry_after_is_least),
		cmocka_unit_test(test_binding_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
