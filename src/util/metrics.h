/* SPDX-License-Identifier: MIT */
/* metrics.h - process counters and their Prometheus text exposition.
 * Lock-free (relaxed atomics); safe from any thread. Labels carry dialects,
 * events and outcomes only, never a number. Reads no store: the /metrics page
 * with the store's gauges is flow/stats.h. */
#ifndef MASKD_METRICS_H
#define MASKD_METRICS_H

#include <stdint.h>

#include "buf.h"

#define METRICS_DIALECTS_MAX 16 /* webhook counters kept per dialect index 0..15 */

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
	MC_WEBHOOKS_WRONG_CARRIER,
	MC_HTTP_CONNECTIONS_REFUSED,
	MC_HTTP_DEADLINE_CLOSED,
	MC_HTTP_EDGE_REFUSED,
	MC_SENDER_FAILED,
	MC_HTTP_HALF_CLOSED,
	MC_HTTP_CONNECTIONS_ACCEPTED,
	MC_COUNT
};

/* Gauges kept as things happen (never read from the store). */
enum metric_gauge {
	MG_HTTP_CONNECTIONS_OPEN,
	MG_SENDER_BACKLOG,
	MG_VAULT_RESEAL_REMAINING,
	MG_VAULT_REINDEX_REMAINING,
	MG_COUNT
};

/* Counts one webhook answer of dialect (an enum dialect); an index outside
 * 0..METRICS_DIALECTS_MAX-1 is ignored. */
void metrics_webhook(int dialect, enum metric_webhook m);
void metrics_inc(enum metric_counter m);
/* Adds delta (may be negative) to a gauge. */
void metrics_gauge_add(enum metric_gauge g, int64_t delta);
int64_t metrics_gauge_value(enum metric_gauge g);
/* The current value of a counter (for tests and checks). */
uint64_t metrics_counter_value(enum metric_counter m);

/* Appends every counter: the webhook counters of dialects 0..n_dialects-1
 * (at most METRICS_DIALECTS_MAX, asserted), labelled dialect_label(d), then the
 * others, then the gauges of enum metric_gauge, each with its HELP and TYPE lines. */
void metrics_render(struct buf *out, int n_dialects, const char *(*dialect_label)(int dialect));

/* Appends one gauge: HELP, TYPE and value lines. name and help are maskd's own
 * static strings, never data from a request. */
void metrics_gauge(struct buf *out, const char *name, const char *help, int64_t value);

/* The outcome label of a webhook counter ("bridge", "bad_signature", ...): static. */
const char *metrics_webhook_name(enum metric_webhook m);
/* The current value of one webhook counter of dialect; 0 for a dialect outside
 * 0..METRICS_DIALECTS_MAX-1. */
uint64_t metrics_webhook_value(int dialect, enum metric_webhook m);

#endif
