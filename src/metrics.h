/* SPDX-License-Identifier: MIT */
/* metrics.h - process counters for /metrics (Prometheus text format).
 * Lock-free (relaxed atomics); safe from any thread. Labels carry dialects,
 * events and outcomes only, never a number. */
#ifndef MASKD_METRICS_H
#define MASKD_METRICS_H

#include "core/model.h"
#include "util/buf.h"

enum metric_webhook {
	MW_BRIDGE,
	MW_FORWARD,
	MW_REJECT,
	MW_ACKNOWLEDGE,
	MW_STATUS,
	MW_RETRIED,
	MW_BAD_SIGNATURE,
	MW_BAD_REQUEST,
	MW_UNKNOWN_NUMBER,
	MW_ERROR,
	MW_COUNT
};

enum metric_counter {
	MC_SESSIONS_CREATED,
	MC_SESSIONS_CLOSED,
	MC_SESSIONS_EXPIRED,
	MC_POOL_EXHAUSTED,
	MC_API_REQUESTS,
	MC_API_ERRORS,
	MC_API_RATE_LIMITED,
	MC_SESSIONS_BLOCKED,
	MC_NUMBER_SWAPS,
	MC_RATE_LIMITED_CALLS,
	MC_RATE_LIMITED_TEXTS,
	MC_OPTOUTS,
	MC_PIN_ACCEPTED,
	MC_PIN_REJECTED,
	MC_CALLBACK_FAILURES,
	MC_COOLOFF_ANSWERS,
	MC_POOL_WARNINGS,
	MC_BINDINGS_RELEASED,
	MC_NUMBERS_PURGED,
	MC_COUNT
};

void metrics_webhook(int dialect, enum metric_webhook m);
void metrics_inc(enum metric_counter m);

struct store;
/* Appends every counter and the store's gauges. */
void metrics_render(struct buf *out, struct store *st);

#endif
