/* SPDX-License-Identifier: MIT */
/* api_stats.c - GET /v1/stats: the process counters behind /metrics as one JSON
 * object (webhooks by outcome, in total and by dialect; API requests and errors;
 * session counts) plus the store gauges' cached copy, for the admin console's
 * overview. Counters since the process started, never a number, never a store
 * read: the store gauges are the sweeper's last copy (flow/stats.h). */
#include "api_internal.h"
#include "../flow/stats.h"
#include "../store/store.h"
#include "../util/metrics.h"

#include <assert.h>

/* {"bridge": n, ...} over every outcome, for one dialect or (dialect < 0) all. */
static json_t *stats_webhooks_json(int dialect)
{
	json_t *o = json_object();
	for (int m = 0; m < MW_COUNT; m++) {
		uint64_t v = 0;
		if (dialect >= 0) {
			v = metrics_webhook_value(dialect, (enum metric_webhook)m);
		} else {
			for (int d = 0; d < DIALECT_COUNT; d++)
				v += metrics_webhook_value(d, (enum metric_webhook)m);
		}
		json_object_set_new(o, metrics_webhook_name((enum metric_webhook)m), json_integer((json_int_t)v));
	}
	return o;
}

static json_t *stats_counter(enum metric_counter m)
{
	return json_integer((json_int_t)metrics_counter_value(m));
}

void api_stats(struct api_req *r)
{
	assert(r != NULL && r->res != NULL);
	json_t *by_dialect = json_object();
	for (int d = 0; d < DIALECT_COUNT; d++)
		json_object_set_new(by_dialect, dialect_name((enum dialect)d), stats_webhooks_json(d));
	struct store_stats s;
	int64_t age_ms = stats_store_copy(&s);
	json_t *store = json_null();
	if (age_ms >= 0)
		store = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "age_seconds", (json_int_t)(age_ms / 1000),
				  "services", (json_int_t)s.services, "numbers", (json_int_t)s.numbers, "numbers_active",
				  (json_int_t)s.numbers_active, "sessions_open", (json_int_t)s.sessions_open,
				  "bindings_active", (json_int_t)s.bindings_active, "bindings_cooling",
				  (json_int_t)s.bindings_cooling, "interactions", (json_int_t)s.interactions);
	json_t *body = json_pack(
		"{s:o,s:o,s:{s:o,s:o,s:o},s:{s:o,s:o,s:o,s:o,s:o,s:o},s:{s:o,s:o},s:o}", "webhooks", stats_webhooks_json(-1),
		"webhooks_by_dialect", by_dialect, "api", "requests", stats_counter(MC_API_REQUESTS), "errors",
		stats_counter(MC_API_ERRORS), "rate_limited", stats_counter(MC_API_RATE_LIMITED), "sessions", "created",
		stats_counter(MC_SESSIONS_CREATED), "closed", stats_counter(MC_SESSIONS_CLOSED), "expired",
		stats_counter(MC_SESSIONS_EXPIRED), "blocked", stats_counter(MC_SESSIONS_BLOCKED), "pool_exhausted",
		stats_counter(MC_POOL_EXHAUSTED), "number_swaps", stats_counter(MC_NUMBER_SWAPS), "http", "edge_refused",
		stats_counter(MC_HTTP_EDGE_REFUSED), "connections_open",
		json_integer((json_int_t)metrics_gauge_value(MG_HTTP_CONNECTIONS_OPEN)), "store", store);
	api_reply(r->res, 200, body);
}
