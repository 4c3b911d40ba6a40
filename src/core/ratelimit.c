/* SPDX-License-Identifier: MIT */
/* ratelimit.c - the sliding-window counter of ratelimit.h. All arithmetic is
 * exact in uint64_t (the estimate is compared multiplied out by the window), so
 * a refusal and its retry-after agree to the millisecond. */
#include "ratelimit.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The estimate with one more event fits the limit:
 *     prev * (span - elapsed) / span + cur + 1 <= limit,
 * multiplied by span. Both products stay below 2^32 * 2^31. */
static bool rate_fits(uint64_t prev, uint64_t cur, uint64_t span, uint64_t elapsed, uint64_t limit)
{
	if (cur >= limit)
		return false;
	return prev * (span - elapsed) <= (limit - cur - 1) * span;
}

/* The least d >= 1 for which rate_fits holds at elapsed + d, the window having
 * been refused at elapsed (0 <= elapsed < span). */
static int64_t rate_retry_after(const struct rate_window *w, uint64_t span, uint64_t elapsed, uint64_t limit)
{
	uint64_t left = span - elapsed; /* ms to the next window, >= 1 */
	if (w->cur < limit) {
		/* Only prev's share is in the way, and it shrinks by prev/span each ms:
		 * wait until prev * (left - d) <= budget. prev > 0, else it fitted. */
		uint64_t budget = (uint64_t)(limit - w->cur - 1) * span;
		uint64_t keep = budget / w->prev; /* < left, since it did not fit */
		return (int64_t)(left - keep);
	}
	/* cur alone fills the limit: nothing helps before the next window, where it
	 * becomes prev with cur 0; wait into it until cur * (span - e) <= (limit - 1)
	 * * span. With limit 1 that is e = span, the window after: a fresh start. */
	uint64_t keep = (limit - 1) * span / w->cur;
	return (int64_t)(left + span - keep);
}

int rate_allow(struct rate_window *w, int64_t now_ms, int64_t window_ms, uint32_t limit, int64_t *retry_after_ms)
{
	assert(w != NULL);
	assert(window_ms >= 1 && window_ms <= RATE_WINDOW_MAX_MS);
	if (retry_after_ms != NULL)
		*retry_after_ms = 0;
	if (limit == 0)
		return 1;
	if (window_ms < 1)
		window_ms = 1;
	else if (window_ms > RATE_WINDOW_MAX_MS)
		window_ms = RATE_WINDOW_MAX_MS;

	uint64_t span = (uint64_t)window_ms;
	if (now_ms < w->start)
		w->start = now_ms; /* the clock went back: stretch the window, keep counts */
	/* unsigned difference: exact for any now_ms >= start, no overflow */
	uint64_t elapsed = (uint64_t)now_ms - (uint64_t)w->start;
	if (elapsed >= 2 * span) {
		w->start = now_ms;
		w->prev = 0;
		w->cur = 0;
		elapsed = 0;
	} else if (elapsed >= span) {
		w->start += window_ms; /* <= now_ms: cannot overflow */
		w->prev = w->cur;
		w->cur = 0;
		elapsed -= span;
	}

	if (rate_fits(w->prev, w->cur, span, elapsed, limit)) {
		w->cur++; /* cur < limit <= UINT32_MAX */
		return 1;
	}
	if (retry_after_ms != NULL)
		*retry_after_ms = rate_retry_after(w, span, elapsed, limit);
	return 0;
}

int rate_binding_rule(const struct service *svc, const struct route_view *v, enum channel channel, const struct decision *d,
		      char *key, size_t key_cap, uint32_t *limit)
{
	assert(svc != NULL && v != NULL && d != NULL && key != NULL && limit != NULL);
	int n = channel == CHANNEL_VOICE ? svc->rate_calls : svc->rate_texts;
	if (n <= 0 || (d->kind != DECISION_BRIDGE && d->kind != DECISION_FORWARD_MESSAGE))
		return 0;
	snprintf(key, key_cap, "%s/%c", v->from_participant, channel == CHANNEL_VOICE ? 'v' : 'm');
	*limit = (uint32_t)n;
	return 1;
}

void rate_binding_decide(int allowed, enum channel channel, struct decision *d)
{
	assert(d != NULL);
	if (!allowed)
		route_refuse(d, channel, ROUTE_RATE_LIMITED);
}
