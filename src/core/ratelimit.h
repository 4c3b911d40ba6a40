/* SPDX-License-Identifier: MIT */
/* ratelimit.h - a sliding-window counter: at most `limit` events per `window_ms`,
 * estimated from two fixed windows (the current one and the one before it,
 * weighted by how much of it still overlaps the sliding window). Pure: the time
 * is an argument, nothing is read, locked or allocated; the caller owns the
 * struct and serialises access to it (src/limiter.c keeps many behind mutexes). */
#ifndef MASKD_RATELIMIT_H
#define MASKD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "route.h"

/* Longest window accepted: keeps every product of the estimate (a count below
 * 2^32 times a span below 2^31) inside uint64_t. About 24.8 days. */
#define RATE_WINDOW_MAX_MS INT64_C(2147483647)

/* All zero (or memset 0) is a fresh window. Plain data: copy it freely. */
struct rate_window {
	int64_t start; /* ms, when the current fixed window began */
	uint32_t prev; /* events counted in the window before it */
	uint32_t cur;  /* events counted in the current window */
};

/* Counts one event at now_ms if the sliding-window estimate
 *     prev * (window_ms - elapsed) / window_ms + cur,   elapsed = now_ms - start
 * stays at or below limit with it, i.e. is below limit without it.
 * Returns 1 (allowed and counted) or 0 (refused, nothing counted).
 * On refusal *retry_after_ms is the least wait, >= 1 and <= 2 * window_ms,
 * after which the same call would be allowed if nothing else is counted
 * meanwhile; on success it is 0. retry_after_ms may be NULL.
 * limit 0 means unlimited: 1, and w is not touched.
 * Windows: the current one lasts window_ms from start; a call in the next one
 * moves cur to prev; a call two or more windows after start (a long gap, a
 * fresh struct) starts over with start = now_ms. A now_ms before start (a clock
 * stepped back) moves start back to now_ms, counts kept: the current window
 * then lasts longer, never shorter.
 * Preconditions (asserted): w != NULL, 1 <= window_ms <= RATE_WINDOW_MAX_MS;
 * without asserts window_ms is clamped into that range. The same window_ms and
 * limit should be passed for one struct each time; a changed limit takes effect
 * at once, a changed window_ms reinterprets the counts. */
int rate_allow(struct rate_window *w, int64_t now_ms, int64_t window_ms, uint32_t limit, int64_t *retry_after_ms);

/* The per-binding limits of a service: calls (rate_calls) and texts (rate_texts)
 * per caller's participant per hour, counted only for what would go through. */
#define RATE_BINDING_WINDOW_MS (3600 * 1000LL)
#define RATE_KEY_MAX (ID_MAX + 4)

/* Whether d (the route decision for v's caller on channel) is subject to svc's
 * binding limit: 1 with the limiter key ("<participant>/v" or "/m", key_cap >=
 * RATE_KEY_MAX) and *limit filled, 0 when nothing is counted (no limit, or not a
 * bridge or forward). */
int rate_binding_rule(const struct service *svc, const struct route_view *v, enum channel channel, const struct decision *d,
		      char *key, size_t key_cap, uint32_t *limit);

/* The decision after the limiter answered: unchanged when allowed, else the
 * channel's refusal for ROUTE_RATE_LIMITED. */
void rate_binding_decide(int allowed, enum channel channel, struct decision *d);

#endif
