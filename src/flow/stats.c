/* SPDX-License-Identifier: MIT */
/* stats.c - the /metrics page: util/metrics.h counters plus the store gauges'
 * cached copy; see stats.h. */
#include "stats.h"
#include "../core/model.h"
#include "../store/store.h"
#include "../store/store_outbox.h"
#include "../util/metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The outbox gauges: totals, and per destination (the first STATS_DESTINATIONS_MAX
 * the store reports; destinations are the carriers' and apps' scheme://host[:port],
 * a handful, so the cap is never reached in practice and bounds the page if it is). */
#define STATS_DESTINATIONS_MAX 64
struct outbox_copy {
	int64_t unsent, oldest; /* oldest: created_at (epoch ms) of the oldest unsent, 0 = none */
	int n;
	struct {
		char destination[OUTBOX_URL_MAX];
		int64_t unsent, failed;
	} dest[STATS_DESTINATIONS_MAX];
};
static struct outbox_copy outbox_copy; /* guarded by stats_lock */
static int outbox_copied;              /* guarded by stats_lock */

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

static void add_destination(void *ctx, const char *destination, int64_t unsent, int64_t failed)
{
	struct outbox_copy *c = ctx;
	if (c->n >= STATS_DESTINATIONS_MAX)
		return;
	snprintf(c->dest[c->n].destination, sizeof(c->dest[c->n].destination), "%s", destination);
	c->dest[c->n].unsent = unsent;
	c->dest[c->n].failed = failed;
	c->n++;
}

int stats_refresh(struct store *st)
{
	assert(st != NULL);
	struct store_stats s;
	int rc = store_stats(st, &s);
	if (rc < 0)
		return rc;
	static struct outbox_copy ob; /* only the sweeper thread refreshes */
	memset(&ob, 0, sizeof(ob));
	int ob_rc = store_outbox_stats(st, &ob.unsent, &ob.oldest, add_destination, &ob);
	pthread_mutex_lock(&stats_lock);
	stats_copy = s;
	stats_at_ms = stats_now_ms();
	if (ob_rc == 0) {
		outbox_copy = ob;
		outbox_copied = 1;
	}
	pthread_mutex_unlock(&stats_lock);
	return ob_rc;
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label_value(struct buf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_printf(out, "\\%c", *v);
		else if (*v == '\n')
			buf_puts(out, "\\n");
		else
			buf_append(out, v, 1);
	}
}

static void render_outbox(struct buf *out, const struct outbox_copy *c)
{
	metrics_gauge(out, "maskd_outbox_backlog", "Messages in the outbox not sent yet (every node's).", c->unsent);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	metrics_gauge(out, "maskd_outbox_oldest_age_seconds", "Age of the oldest message not sent yet (0: none).",
		      c->oldest > 0 && now_ms > c->oldest ? (now_ms - c->oldest) / 1000 : 0);
	static const struct {
		const char *name, *help;
	} per[] = {
		{"maskd_outbox_destination_backlog", "Messages not sent yet, per destination (scheme://host[:port])."},
		{"maskd_outbox_destination_failed", "Messages failed after their last try, per destination, until retried."},
	};
	for (size_t k = 0; k < sizeof(per) / sizeof(per[0]); k++) {
		buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", per[k].name, per[k].help, per[k].name);
		for (int i = 0; i < c->n; i++) {
			buf_printf(out, "%s{destination=\"", per[k].name);
			label_value(out, c->dest[i].destination);
			buf_printf(out, "\"} %" PRId64 "\n", k == 0 ? c->dest[i].unsent : c->dest[i].failed);
		}
	}
}

void stats_render(struct buf *out)
{
	assert(out != NULL);
	metrics_render(out, DIALECT_COUNT, stats_dialect_label);
	static struct outbox_copy ob; /* under render_lock: the copy is too big for a stack frame of every scrape */
	static pthread_mutex_t render_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&render_lock);
	pthread_mutex_lock(&stats_lock);
	struct store_stats s = stats_copy;
	int64_t at = stats_at_ms;
	int have_outbox = outbox_copied;
	if (have_outbox)
		ob = outbox_copy;
	pthread_mutex_unlock(&stats_lock);
	if (have_outbox)
		render_outbox(out, &ob);
	pthread_mutex_unlock(&render_lock);
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
