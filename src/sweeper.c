/* SPDX-License-Identifier: MIT */
/* sweeper.c - expiry thread; see sweeper.h. */
#include "sweeper.h"
#include "util/metrics.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define SWEEP_BATCH 100 /* sessions closed per store call: bounds how long a sweep holds the store */
/* Retention is counted in days, so the thread purges at start and then hourly,
 * not every sweep (each purge is an index range on sessions.closed_at). */
#define PURGE_EVERY_S 3600

struct sweeper {
	struct store *store;
	unsigned interval_s;
	long long retention_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
};

int sweeper_run_once(struct store *st, long long now)
{
	int total = 0;
	for (;;) {
		int closed = 0;
		int rc = store_sessions_expire(st, now, SWEEP_BATCH, &closed);
		if (rc < 0)
			return rc;
		total += closed;
		for (int i = 0; i < closed; i++)
			metrics_inc(MC_SESSIONS_EXPIRED);
		if (closed < SWEEP_BATCH)
			break;
	}
	/* cooling-off bindings whose time is up go back to the pool */
	for (;;) {
		int released = 0;
		int rc = store_bindings_release(st, now, SWEEP_BATCH, &released);
		if (rc < 0)
			return rc;
		for (int i = 0; i < released; i++)
			metrics_inc(MC_BINDINGS_RELEASED);
		if (released < SWEEP_BATCH)
			return total;
	}
}

int sweeper_purge_once(struct store *st, long long now, long long retention_s)
{
	if (retention_s <= 0)
		return 0;
	int total = 0;
	for (;;) {
		int sessions = 0, purged = 0;
		int rc = store_numbers_purge(st, now - retention_s, now, SWEEP_BATCH, &sessions, &purged);
		if (rc < 0)
			return rc;
		total += purged;
		for (int i = 0; i < purged; i++)
			metrics_inc(MC_NUMBERS_PURGED);
		if (sessions < SWEEP_BATCH)
			break;
	}
	if (total > 0)
		log_info("sweeper: purged the real numbers of %d participants past retention", total);
	return total;
}

static void *sweeper_main(void *arg)
{
	struct sweeper *sw = arg;
	long long last_purge = 0;
	pthread_mutex_lock(&sw->lock);
	while (!sw->stopping) {
		pthread_mutex_unlock(&sw->lock);
		long long now = now_unix();
		int rc = sweeper_run_once(sw->store, now);
		if (rc < 0)
			log_error("sweeper: %s", maskd_strerror(rc));
		if (sw->retention_s > 0 && (last_purge == 0 || now - last_purge >= PURGE_EVERY_S)) {
			rc = sweeper_purge_once(sw->store, now, sw->retention_s);
			if (rc < 0)
				log_error("sweeper: purge: %s", maskd_strerror(rc));
			else
				last_purge = now;
		}
		pthread_mutex_lock(&sw->lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += sw->interval_s;
		while (!sw->stopping && pthread_cond_timedwait(&sw->wake, &sw->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&sw->lock);
	return NULL;
}

struct sweeper *sweeper_start(struct store *st, unsigned interval_s, long long retention_s)
{
	struct sweeper *sw = xcalloc(1, sizeof(*sw));
	sw->store = st;
	sw->interval_s = interval_s;
	sw->retention_s = retention_s;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_cond_init(&sw->wake, NULL);
	if (pthread_create(&sw->thread, NULL, sweeper_main, sw) != 0)
		fatal("sweeper: cannot start thread");
	return sw;
}

void sweeper_stop(struct sweeper *sw)
{
	if (sw == NULL)
		return;
	pthread_mutex_lock(&sw->lock);
	sw->stopping = 1;
	pthread_cond_signal(&sw->wake);
	pthread_mutex_unlock(&sw->lock);
	pthread_join(sw->thread, NULL);
	pthread_cond_destroy(&sw->wake);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}
