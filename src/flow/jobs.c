/* SPDX-License-Identifier: MIT */
/* jobs.c - maskd's background jobs: the sweeper thread (expiry, cool-off release,
 * retention purge through flow/lifecycle.c) and the start-up region backfill;
 * see jobs.h. */
#include "jobs.h"
#include "stats.h"
#include "lifecycle.h"
#include "../core/model.h"
#include "../core/session.h"
#include "../util/metrics.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/phone.h"
#include "../util/timeutil.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- sweeper */

#define JOBS_SWEEP_BATCH 100 /* sessions closed per transaction: bounds how long a sweep holds the store */
/* Retention is counted in days, so the thread purges at start and then hourly,
 * not every sweep (each purge is an index range on sessions.closed_at). */
#define JOBS_PURGE_EVERY_S 3600

struct jobs_sweeper {
	struct store *store;
	unsigned interval_s;
	long long retention_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
};

int jobs_sweep_once(struct store *st, long long now)
{
	assert(st != NULL);
	int total = 0;
	for (;;) {
		int closed = 0;
		int rc = lifecycle_expire(st, now, JOBS_SWEEP_BATCH, &closed);
		if (rc < 0)
			return rc;
		total += closed;
		for (int i = 0; i < closed; i++)
			metrics_inc(MC_SESSIONS_EXPIRED);
		if (closed < JOBS_SWEEP_BATCH)
			break;
	}
	/* cooling-off bindings whose time is up go back to the pool */
	for (;;) {
		int released = 0;
		int rc = lifecycle_bindings_release(st, now, JOBS_SWEEP_BATCH, &released);
		if (rc < 0)
			return rc;
		for (int i = 0; i < released; i++)
			metrics_inc(MC_BINDINGS_RELEASED);
		if (released < JOBS_SWEEP_BATCH)
			return total;
	}
}

int jobs_purge_once(struct store *st, long long now, long long retention_s)
{
	assert(st != NULL && retention_s >= 0);
	if (retention_s <= 0)
		return 0;
	int total = 0;
	for (;;) {
		int sessions = 0, purged = 0;
		int rc = lifecycle_purge(st, session_retention_cutoff(now, retention_s), now, JOBS_SWEEP_BATCH, &sessions, &purged);
		if (rc < 0)
			return rc;
		total += purged;
		for (int i = 0; i < purged; i++)
			metrics_inc(MC_NUMBERS_PURGED);
		if (sessions < JOBS_SWEEP_BATCH)
			break;
	}
	if (total > 0)
		log_info("sweeper: purged the real numbers of %d participants past retention", total);
	return total;
}

/* ---------------------------------------------------------------- re-seal */

#define JOBS_RESEAL_LOG_EVERY 5000 /* values between two progress lines */

static int reseal_current;      /* 0 = the sweeper does not re-seal */
static int reseal_batch = 100;
static int reseal_batches = 100;

void jobs_reseal_configure(int current, int batch, int batches)
{
	assert(current >= 0 && batch > 0 && batches > 0);
	reseal_current = current;
	reseal_batch = batch;
	reseal_batches = batches;
}

static void reseal_gauge_set(int64_t v)
{
	metrics_gauge_add(MG_VAULT_RESEAL_REMAINING, v - metrics_gauge_value(MG_VAULT_RESEAL_REMAINING));
}

int jobs_reseal_step(struct store *st, struct jobs_reseal *p, int current, int batch, int batches)
{
	assert(st != NULL && p != NULL && current >= 1 && batch > 0 && batches > 0);
	static const char *const kinds[STORE_SEALED_COUNT] = {
		[STORE_SEALED_PARTICIPANTS] = "participants' numbers",
		[STORE_SEALED_SECRETS] = "carrier credentials",
		[STORE_SEALED_OUTBOX] = "outbox payloads",
		[STORE_SEALED_PROFILES] = "profiles' numbers",
		[STORE_SEALED_PROXY_ACCOUNTS] = "Proxy account tokens",
	};
	int rc;
	p->finished = false;
	if (!p->running) {
		int64_t left = 0;
		rc = store_vault_stale(st, current, &left);
		if (rc < 0)
			return rc;
		reseal_gauge_set(left);
		p->remaining = left;
		if (left == 0) {
			p->finished = true;
			return 0;
		}
		log_info("vault: re-sealing %lld values with key version %d", (long long)left, current);
		memset(p, 0, sizeof(*p));
		p->running = true;
		p->next_log = JOBS_RESEAL_LOG_EVERY;
	}
	for (int n = 0; n < batches && p->kind < STORE_SEALED_COUNT; n++) {
		char last[STORE_RESEAL_KEY_MAX];
		int seen = 0, resealed = 0;
		rc = store_vault_reseal(st, (enum store_sealed)p->kind, p->after, batch, last, &seen, &resealed);
		if (rc < 0)
			return rc;
		p->total += resealed;
		metrics_gauge_add(MG_VAULT_RESEAL_REMAINING, -resealed);
		if (p->total >= p->next_log) {
			log_info("vault: re-sealed %lld values with key version %d (%s), about %lld to go", p->total,
				 current, kinds[p->kind], (long long)metrics_gauge_value(MG_VAULT_RESEAL_REMAINING));
			p->next_log = p->total + JOBS_RESEAL_LOG_EVERY;
		}
		if (seen < batch) {
			p->kind++;
			p->after[0] = '\0';
		} else {
			memcpy(p->after, last, sizeof(p->after));
		}
	}
	p->remaining = metrics_gauge_value(MG_VAULT_RESEAL_REMAINING);
	if (p->kind < STORE_SEALED_COUNT)
		return 0;
	/* the pass is over: count again (other nodes may have sealed meanwhile) */
	int64_t left = 0;
	rc = store_vault_stale(st, current, &left);
	if (rc < 0)
		return rc;
	reseal_gauge_set(left);
	if (left == 0)
		log_info("vault: re-sealed %lld values; nothing is sealed with an older key version any more: "
			 "older versions can be dropped (maskd rotate-keys --drop)", p->total);
	else
		log_warn("vault: re-sealed %lld values; %lld are still sealed with another key version (one the key "
			 "file does not hold, or a node still sealing with an older one)", p->total, (long long)left);
	long long total = p->total;
	memset(p, 0, sizeof(*p));
	p->finished = true;
	p->remaining = left;
	p->pass_total = total;
	return 0;
}

static bool reindex_on;

void jobs_reindex_configure(bool on)
{
	reindex_on = on;
}

static void reindex_gauge_set(int64_t v)
{
	metrics_gauge_add(MG_VAULT_REINDEX_REMAINING, v - metrics_gauge_value(MG_VAULT_REINDEX_REMAINING));
}

int jobs_reindex_step(struct store *st, struct jobs_reindex *p, int batch, int batches, int *finished)
{
	assert(st != NULL && p != NULL && batch > 0 && batches > 0 && finished != NULL);
	*finished = 0;
	int rc;
	if (!p->running) {
		int64_t left = 0;
		rc = store_index_stale(st, &left);
		if (rc < 0)
			return rc;
		reindex_gauge_set(left);
		memset(p, 0, sizeof(*p));
		p->running = true;
		p->next_log = JOBS_RESEAL_LOG_EVERY;
		if (left > 0)
			log_info("vault: re-indexing %lld rows under the current blind-index version", (long long)left);
	}
	for (int n = 0; n < batches && p->kind < STORE_REINDEX_COUNT; n++) {
		char last[STORE_RESEAL_KEY_MAX];
		int seen = 0, moved = 0;
		rc = store_index_sweep(st, (enum store_reindex)p->kind, p->after, batch, last, &seen, &moved);
		if (rc < 0)
			return rc;
		p->total += moved;
		metrics_gauge_add(MG_VAULT_REINDEX_REMAINING, -moved);
		if (p->total >= p->next_log) {
			log_info("vault: re-indexed %lld rows, about %lld to go", p->total,
				 (long long)metrics_gauge_value(MG_VAULT_REINDEX_REMAINING));
			p->next_log = p->total + JOBS_RESEAL_LOG_EVERY;
		}
		if (p->kind == STORE_REINDEX_FINISH || seen < batch) {
			p->kind++;
			p->after[0] = '\0';
		} else {
			memcpy(p->after, last, sizeof(p->after));
		}
	}
	if (p->kind < STORE_REINDEX_COUNT)
		return 0;
	int64_t left = 0;
	rc = store_index_stale(st, &left);
	if (rc < 0)
		return rc;
	reindex_gauge_set(left);
	if (left == 0)
		log_info("vault: re-indexed %lld rows; no row carries an older blind-index version any more: it can "
			 "be dropped (maskd rotate-keys --index-drop)", p->total);
	else
		log_warn("vault: re-indexed %lld rows; %lld still carry another blind-index version (opt-outs of a "
			 "number no row holds any more, or a row that does not open)", p->total, (long long)left);
	memset(p, 0, sizeof(*p));
	*finished = 1;
	return 0;
}

static void *sweeper_main(void *arg)
{
	struct jobs_sweeper *sw = arg;
	long long last_purge = 0, last_reseal = 0;
	struct jobs_reseal reseal = {0};
	bool reseal_idle = false; /* a pass ended: next one in an hour */
	struct jobs_reindex reindex = {0};
	long long last_reindex = 0;
	bool reindex_idle = false;
	pthread_mutex_lock(&sw->lock);
	while (!sw->stopping) {
		pthread_mutex_unlock(&sw->lock);
		long long now = now_unix();
		/* the write probe: /readyz (store_write_health) notices a database that
		 * stopped or resumed taking writes even when no request writes */
		int was = store_write_health(sw->store);
		int probe = store_write_probe(sw->store, now * 1000);
		if (probe < 0 && was == 0)
			log_error("sweeper: the database takes no writes (%s); /readyz answers 503", maskd_strerror(probe));
		else if (probe == 0 && was < 0)
			log_info("sweeper: the database takes writes again; /readyz answers 200");
		int rc = jobs_sweep_once(sw->store, now);
		if (rc < 0)
			log_error("sweeper: %s", maskd_strerror(rc));
		rc = stats_refresh(sw->store); /* the /metrics store gauges, off the request path */
		if (rc < 0)
			log_warn("sweeper: metrics gauges not refreshed: %s", maskd_strerror(rc));
		/* at least as often as the retention period itself (a test's seconds) */
		long long every = sw->retention_s < JOBS_PURGE_EVERY_S ? sw->retention_s : JOBS_PURGE_EVERY_S;
		if (sw->retention_s > 0 && (last_purge == 0 || now - last_purge >= every)) {
			rc = jobs_purge_once(sw->store, now, sw->retention_s);
			if (rc < 0)
				log_error("sweeper: purge: %s", maskd_strerror(rc));
			else
				last_purge = now;
		}
		/* until nothing older is left, every sweep; then hourly, for values a
		 * node still on the older key sealed meanwhile */
		if (reseal_current > 0 && (!reseal_idle || now - last_reseal >= JOBS_PURGE_EVERY_S)) {
			rc = jobs_reseal_step(sw->store, &reseal, reseal_current, reseal_batch, reseal_batches);
			if (rc < 0)
				log_error("sweeper: re-seal: %s", maskd_strerror(rc));
			/* done, or a whole pass re-sealed nothing (versions the file lacks):
			 * no pass per sweep; a pass that made progress goes again at once */
			reseal_idle = rc == 0 && reseal.finished && (reseal.remaining == 0 || reseal.pass_total == 0);
			last_reseal = now;
		}
		if (reindex_on && (!reindex_idle || now - last_reindex >= JOBS_PURGE_EVERY_S)) {
			int finished = 0;
			rc = jobs_reindex_step(sw->store, &reindex, reseal_batch, reseal_batches, &finished);
			if (rc < 0)
				log_error("sweeper: re-index: %s", maskd_strerror(rc));
			reindex_idle = rc == 0 && finished;
			last_reindex = now;
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

struct jobs_sweeper *jobs_sweeper_start(struct store *st, unsigned interval_s, long long retention_s)
{
	assert(st != NULL && interval_s > 0);
	struct jobs_sweeper *sw = xcalloc(1, sizeof(*sw));
	sw->store = st;
	sw->interval_s = interval_s;
	sw->retention_s = retention_s;
	pthread_mutex_init(&sw->lock, NULL);
	pthread_cond_init(&sw->wake, NULL);
	if (pthread_create(&sw->thread, NULL, sweeper_main, sw) != 0)
		fatal("jobs: cannot start the sweeper thread");
	return sw;
}

void jobs_sweeper_stop(struct jobs_sweeper *sw)
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

/* ---------------------------------------------------------------- start-up backfill */

/* Rows are collected first: a store callback must not call the store. */
struct id_list {
	char (*id)[ID_MAX];
	char (*e164)[PHONE_E164_MAX + 1];
	size_t n, cap;
};

static void id_list_add(struct id_list *l, const char *id, const char *e164)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->id = xrealloc(l->id, l->cap * sizeof(*l->id));
		l->e164 = xrealloc(l->e164, l->cap * sizeof(*l->e164));
	}
	snprintf(l->id[l->n], ID_MAX, "%s", id);
	snprintf(l->e164[l->n], PHONE_E164_MAX + 1, "%s", e164 ? e164 : "");
	l->n++;
}

static void add_service(void *ctx, const struct service *svc)
{
	id_list_add(ctx, svc->id, NULL);
}

static void add_unplaced(void *ctx, const struct number *n)
{
	if (n->region[0] == '\0' && n->area_code[0] != '\0')
		id_list_add(ctx, n->id, n->e164);
}

/* Set once the backfill has run to the end: numbers added since are geocoded at
 * insert, so later starts skip the walk over every pool. */
#define JOBS_BACKFILL_DONE_KEY "backfill.number_regions"

int jobs_backfill_number_regions(struct store *st, int *updated)
{
	assert(st != NULL);
	struct id_list services = {0}, numbers = {0};
	*updated = 0;
	char done[8];
	int rc = store_setting_get(st, JOBS_BACKFILL_DONE_KEY, done, sizeof(done));
	if (rc == 0)
		return 0;
	if (rc != MASKD_ENOTFOUND)
		return rc;
	rc = store_service_list(st, add_service, &services);
	for (size_t i = 0; rc == 0 && i < services.n; i++)
		rc = store_number_list(st, services.id[i], add_unplaced, &numbers);
	for (size_t i = 0; rc == 0 && i < numbers.n; i++) {
		struct phone_info pi;
		if (phone_parse(numbers.e164[i], &pi) < 0 || pi.geo_region[0] == '\0')
			continue;
		rc = store_number_set_region(st, numbers.id[i], pi.geo_region);
		if (rc == MASKD_ENOTFOUND)
			rc = 0; /* deleted meanwhile */
		else if (rc == 0)
			(*updated)++;
	}
	if (rc == 0)
		rc = store_setting_put(st, JOBS_BACKFILL_DONE_KEY, "1");
	free(services.id);
	free(services.e164);
	free(numbers.id);
	free(numbers.e164);
	return rc;
}
