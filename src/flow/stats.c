/* SPDX-License-Identifier: MIT */
/* stats.c - the /metrics page: util/metrics.h counters plus the store gauges'
 * cached copy; see stats.h. */
#include "stats.h"
#include "../core/model.h"
#include "../store/store.h"
#include "../util/metrics.h"

#include <assert.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store_stats stats_copy; /* guarded by stats_lock */
static int64_t stats_at_ms;           /* when stats_copy was read (monotonic); 0 = never */

static int64_t stats_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

_Static_assert(DIALECT_COUNT <= METRICS_DIALECTS_MAX, "util/metrics.h counts every dialect");

/* util/metrics.h knows no model: its dialect labels come by an int. */
static const char *stats_dialect_label(int d)
{
	return dialect_name((enum dialect)d);
}

int stats_refresh(struct store *st)
{
	assert(st != NULL);
	struct store_stats s;
	int rc = store_stats(st, &s);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&stats_lock);
	stats_copy = s;
	stats_at_ms = stats_now_ms();
	pthread_mutex_unlock(&stats_lock);
	return 0;
}

void stats_render(struct buf *out)
{
	assert(out != NULL);
	metrics_render(out, DIALECT_COUNT, stats_dialect_label);
	pthread_mutex_lock(&stats_lock);
	struct store_stats s = stats_copy;
	int64_t at = stats_at_ms;
	pthread_mutex_unlock(&stats_lock);
	if (at == 0)
		return;
	metrics_gauge(out, "maskd_store_gauges_age_seconds", "Seconds since the store gauges below were read.",
		      (stats_now_ms() - at) / 1000);
	metrics_gauge(out, "maskd_pool_numbers", "Proxy numbers in all pools.", s.numbers);
	metrics_gauge(out, "maskd_sessions_open", "Sessions open or in progress.", s.sessions_open);
	metrics_gauge(out, "maskd_bindings_active", "Bindings held by open sessions.", s.bindings_active);
	metrics_gauge(out, "maskd_bindings_cooling", "Bindings of closed sessions held during cool-off.",
		      s.bindings_cooling);
	metrics_gauge(out, "maskd_pool_numbers_active", "Proxy numbers that can be picked automatically.",
		      s.numbers_active);
	metrics_gauge(out, "maskd_services", "Services.", s.services);
}

int64_t stats_store_copy(struct store_stats *out)
{
	assert(out != NULL);
	pthread_mutex_lock(&stats_lock);
	int64_t at = stats_at_ms;
	if (at != 0)
		*out = stats_copy;
	pthread_mutex_unlock(&stats_lock);
	return at == 0 ? -1 : stats_now_ms() - at;
}
