/* SPDX-License-Identifier: MIT */
/* metrics.c - counters and their Prometheus rendering; see metrics.h. */
#include "metrics.h"
#include "store/store.h"

#include <stdatomic.h>
#include <inttypes.h>

static _Atomic uint64_t webhook_counts[DIALECT_COUNT][MW_COUNT];
static _Atomic uint64_t counts[MC_COUNT];

static const char *const webhook_names[MW_COUNT] = {
	"bridge", "forward_message", "reject", "acknowledge", "status",
	"retried", "bad_signature", "bad_request", "unknown_number", "error",
};

static const char *const counter_names[MC_COUNT][2] = {
	{"maskd_sessions_created_total", "Sessions created."},
	{"maskd_sessions_closed_total", "Sessions closed by the API."},
	{"maskd_sessions_expired_total", "Sessions closed by the expiry sweeper."},
	{"maskd_pool_exhausted_total", "Session creates refused because no proxy number fitted."},
	{"maskd_api_requests_total", "Requests to /v1."},
	{"maskd_api_errors_total", "Requests to /v1 answered with a 4xx or 5xx."},
	{"maskd_api_rate_limited_total", "Requests to /v1 refused with 429 by the per-key rate limit."},
	{"maskd_sessions_blocked_total", "Sessions blocked by the API."},
	{"maskd_number_swaps_total", "Proxy numbers swapped in open sessions."},
	{"maskd_rate_limited_calls_total", "Calls refused by a binding's hourly limit."},
	{"maskd_rate_limited_texts_total", "Texts refused by a binding's hourly limit."},
	{"maskd_optouts_total", "Opt-out keywords received (STOP and friends)."},
	{"maskd_pin_accepted_total", "PIN entries that found a session."},
	{"maskd_pin_rejected_total", "PIN entries that found none."},
	{"maskd_callback_failures_total", "Unknown-caller callbacks that timed out or answered garbage."},
	{"maskd_cooloff_answers_total", "Calls and texts answered 'this conversation has ended' during cool-off."},
	{"maskd_pool_warnings_total", "Pool use warnings (a real number holds 85% or more of the numbers it can get)."},
	{"maskd_bindings_released_total", "Cooling-off bindings returned to the pool."},
	{"maskd_numbers_purged_total", "Participants whose real number was purged after the retention period."},
};

void metrics_webhook(int dialect, enum metric_webhook m)
{
	if (dialect >= 0 && dialect < DIALECT_COUNT)
		atomic_fetch_add_explicit(&webhook_counts[dialect][m], 1, memory_order_relaxed);
}

void metrics_inc(enum metric_counter m)
{
	atomic_fetch_add_explicit(&counts[m], 1, memory_order_relaxed);
}

void metrics_render(struct buf *out, struct store *st)
{
	buf_puts(out, "# HELP maskd_webhooks_total Webhooks answered, by dialect and outcome.\n"
		      "# TYPE maskd_webhooks_total counter\n");
	for (int d = 0; d < DIALECT_COUNT; d++)
		for (int m = 0; m < MW_COUNT; m++)
			buf_printf(out, "maskd_webhooks_total{dialect=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
				   dialect_name(d), webhook_names[m],
				   atomic_load_explicit(&webhook_counts[d][m], memory_order_relaxed));
	for (int m = 0; m < MC_COUNT; m++)
		buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", counter_names[m][0],
			   counter_names[m][1], counter_names[m][0], counter_names[m][0],
			   atomic_load_explicit(&counts[m], memory_order_relaxed));
	struct store_stats s;
	if (store_stats(st, &s) < 0)
		return;
	buf_printf(out,
		   "# HELP maskd_pool_numbers Proxy numbers in all pools.\n# TYPE maskd_pool_numbers gauge\n"
		   "maskd_pool_numbers %" PRId64 "\n"
		   "# HELP maskd_sessions_open Sessions open or in progress.\n# TYPE maskd_sessions_open gauge\n"
		   "maskd_sessions_open %" PRId64 "\n"
		   "# HELP maskd_bindings_active Bindings held by open sessions.\n# TYPE maskd_bindings_active gauge\n"
		   "maskd_bindings_active %" PRId64 "\n"
		   "# HELP maskd_bindings_cooling Bindings of closed sessions held during cool-off.\n"
		   "# TYPE maskd_bindings_cooling gauge\nmaskd_bindings_cooling %" PRId64 "\n"
		   "# HELP maskd_pool_numbers_active Proxy numbers that can be picked automatically.\n"
		   "# TYPE maskd_pool_numbers_active gauge\nmaskd_pool_numbers_active %" PRId64 "\n"
		   "# HELP maskd_services Services.\n# TYPE maskd_services gauge\nmaskd_services %" PRId64 "\n",
		   s.numbers, s.sessions_open, s.bindings_active, s.bindings_cooling, s.numbers_active, s.services);
}
