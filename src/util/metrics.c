/* SPDX-License-Identifier: MIT */
/* metrics.c - counters and their Prometheus rendering; see metrics.h. */
#include "metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>

static _Atomic uint64_t webhook_counts[METRICS_DIALECTS_MAX][MW_COUNT];
static _Atomic uint64_t counts[MC_COUNT];
static _Atomic int64_t gauges[MG_COUNT];

static const char *const webhook_names[MW_COUNT] = {
	[MW_BRIDGE] = "bridge",
	[MW_FORWARD] = "forward_message",
	[MW_REJECT] = "reject",
	[MW_ACKNOWLEDGE] = "acknowledge",
	[MW_STATUS] = "status",
	[MW_RETRIED] = "retried",
	[MW_BAD_SIGNATURE] = "bad_signature",
	[MW_BAD_REQUEST] = "bad_request",
	[MW_UNKNOWN_NUMBER] = "unknown_number",
	[MW_ERROR] = "error",
};

static const char *const counter_names[MC_COUNT][2] = {
	[MC_SESSIONS_CREATED] = {"maskd_sessions_created_total", "Sessions created."},
	[MC_SESSIONS_CLOSED] = {"maskd_sessions_closed_total", "Sessions closed by the API."},
	[MC_SESSIONS_EXPIRED] = {"maskd_sessions_expired_total", "Sessions closed by the expiry sweeper."},
	[MC_POOL_EXHAUSTED] = {"maskd_pool_exhausted_total", "Session creates refused because no proxy number fitted."},
	[MC_API_REQUESTS] = {"maskd_api_requests_total", "Requests to /v1."},
	[MC_API_ERRORS] = {"maskd_api_errors_total", "Requests to /v1 answered with a 4xx or 5xx."},
	[MC_API_RATE_LIMITED] = {"maskd_api_rate_limited_total", "Requests to /v1 refused with 429 by the per-key rate limit."},
	[MC_SESSIONS_BLOCKED] = {"maskd_sessions_blocked_total", "Sessions blocked by the API."},
	[MC_NUMBER_SWAPS] = {"maskd_number_swaps_total", "Proxy numbers swapped in open sessions."},
	[MC_RATE_LIMITED_CALLS] = {"maskd_rate_limited_calls_total", "Calls refused by a binding's hourly limit."},
	[MC_RATE_LIMITED_TEXTS] = {"maskd_rate_limited_texts_total", "Texts refused by a binding's hourly limit."},
	[MC_OPTOUTS] = {"maskd_optouts_total", "Opt-out keywords received (STOP and friends)."},
	[MC_PIN_ACCEPTED] = {"maskd_pin_accepted_total", "PIN entries that found a session."},
	[MC_PIN_REJECTED] = {"maskd_pin_rejected_total", "PIN entries that found none."},
	[MC_CALLBACK_FAILURES] = {"maskd_callback_failures_total", "Unknown-caller callbacks that timed out or answered garbage."},
	[MC_COOLOFF_ANSWERS] = {"maskd_cooloff_answers_total", "Calls and texts answered 'this conversation has ended' during cool-off."},
	[MC_POOL_WARNINGS] = {"maskd_pool_warnings_total", "Pool use warnings (a real number holds 85% or more of the numbers it can get)."},
	[MC_BINDINGS_RELEASED] = {"maskd_bindings_released_total", "Cooling-off bindings returned to the pool."},
	[MC_NUMBERS_PURGED] = {"maskd_numbers_purged_total", "Participants whose real number was purged after the retention period."},
	[MC_WEBHOOKS_WRONG_CARRIER] = {"maskd_webhooks_wrong_carrier_total",
				       "Webhooks refused because the dialled number belongs to another carrier."},
	[MC_HTTP_CONNECTIONS_REFUSED] = {"maskd_http_connections_refused_total", "Connections closed at accept: the connection cap was reached."},
	[MC_HTTP_DEADLINE_CLOSED] = {"maskd_http_deadline_closed_total", "Connections closed because a request head or body missed its deadline."},
	[MC_HTTP_EDGE_REFUSED] = {"maskd_http_edge_refused_total", "Requests refused by the HTTP edge checks (framing, header syntax, caps)."},
	[MC_SENDER_FAILED] = {"maskd_sender_failed_total", "Texts a carrier's REST API did not take after the last try."},
	[MC_HTTP_HALF_CLOSED] = {"maskd_http_half_closed_total",
				 "Keep-alive connections closed after an answer because the client had already sent its FIN."},
	[MC_HTTP_CONNECTIONS_ACCEPTED] = {"maskd_http_connections_accepted_total",
					  "Connections accepted (a client that keeps its connections open opens few)."},
};

static const char *const gauge_names[MG_COUNT][2] = {
	[MG_HTTP_CONNECTIONS_OPEN] = {"maskd_http_connections_open", "Open HTTP connections."},
	[MG_SENDER_BACKLOG] = {"maskd_sender_backlog", "Texts queued for or being sent through a carrier's REST API."},
	[MG_VAULT_RESEAL_REMAINING] = {"maskd_vault_reseal_remaining",
				       "Sealed values not yet re-sealed with the current vault key version (last count)."},
	[MG_VAULT_REINDEX_REMAINING] = {"maskd_vault_reindex_remaining",
					"Rows whose blind index is not under the current index version yet (last count)."},
};

void metrics_webhook(int dialect, enum metric_webhook m)
{
	if (dialect >= 0 && dialect < METRICS_DIALECTS_MAX)
		atomic_fetch_add_explicit(&webhook_counts[dialect][m], 1, memory_order_relaxed);
}

uint64_t metrics_counter_value(enum metric_counter m)
{
	return atomic_load_explicit(&counts[m], memory_order_relaxed);
}

void metrics_inc(enum metric_counter m)
{
	atomic_fetch_add_explicit(&counts[m], 1, memory_order_relaxed);
}

void metrics_gauge_add(enum metric_gauge g, int64_t delta)
{
	atomic_fetch_add_explicit(&gauges[g], delta, memory_order_relaxed);
}

int64_t metrics_gauge_value(enum metric_gauge g)
{
	return atomic_load_explicit(&gauges[g], memory_order_relaxed);
}

void metrics_render(struct buf *out, int n_dialects, const char *(*dialect_label)(int dialect))
{
	assert(out != NULL && dialect_label != NULL && n_dialects >= 0 && n_dialects <= METRICS_DIALECTS_MAX);
	buf_puts(out, "# HELP maskd_webhooks_total Webhooks answered, by dialect and outcome.\n"
		      "# TYPE maskd_webhooks_total counter\n");
	for (int d = 0; d < n_dialects; d++)
		for (int m = 0; m < MW_COUNT; m++)
			buf_printf(out, "maskd_webhooks_total{dialect=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
				   dialect_label(d), webhook_names[m],
				   atomic_load_explicit(&webhook_counts[d][m], memory_order_relaxed));
	for (int m = 0; m < MC_COUNT; m++)
		buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", counter_names[m][0],
			   counter_names[m][1], counter_names[m][0], counter_names[m][0],
			   atomic_load_explicit(&counts[m], memory_order_relaxed));
	for (int g = 0; g < MG_COUNT; g++)
		metrics_gauge(out, gauge_names[g][0], gauge_names[g][1], metrics_gauge_value(g));
}

void metrics_gauge(struct buf *out, const char *name, const char *help, int64_t value)
{
	assert(out != NULL && name != NULL && help != NULL);
	buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %" PRId64 "\n", name, help, name, name, value);
}

const char *metrics_webhook_name(enum metric_webhook m)
{
	assert(m >= 0 && m < MW_COUNT);
	return webhook_names[m];
}

uint64_t metrics_webhook_value(int dialect, enum metric_webhook m)
{
	assert(m >= 0 && m < MW_COUNT);
	if (dialect < 0 || dialect >= METRICS_DIALECTS_MAX)
		return 0;
	return atomic_load_explicit(&webhook_counts[dialect][m], memory_order_relaxed);
}
