/* SPDX-License-Identifier: MIT */
/* stats.c - the /metrics page: util/metrics.h counters plus store gauges; see
 * stats.h. */
#include "stats.h"
#include "../core/model.h"
#include "../store/store.h"
#include "../util/metrics.h"

#include <assert.h>

_Static_assert(DIALECT_COUNT <= METRICS_DIALECTS_MAX, "util/metrics.h counts every dialect");

/* util/metrics.h knows no model: its dialect labels come by an int. */
static const char *stats_dialect_label(int d)
{
	return dialect_name((enum dialect)d);
}

void stats_render(struct buf *out, struct store *st)
{
	assert(out != NULL && st != NULL);
	metrics_render(out, DIALECT_COUNT, stats_dialect_label);
	struct store_stats s;
	if (store_stats(st, &s) < 0)
		return;
	metrics_gauge(out, "maskd_pool_numbers", "Proxy numbers in all pools.", s.numbers);
	metrics_gauge(out, "maskd_sessions_open", "Sessions open or in progress.", s.sessions_open);
	metrics_gauge(out, "maskd_bindings_active", "Bindings held by open sessions.", s.bindings_active);
	metrics_gauge(out, "maskd_bindings_cooling", "Bindings of closed sessions held during cool-off.",
		      s.bindings_cooling);
	metrics_gauge(out, "maskd_pool_numbers_active", "Proxy numbers that can be picked automatically.",
		      s.numbers_active);
	metrics_gauge(out, "maskd_services", "Services.", s.services);
}
