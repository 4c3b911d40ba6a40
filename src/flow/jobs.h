/* SPDX-License-Identifier: MIT */
/* jobs.h - maskd's background jobs, never run inside a request: the sweeper
 * thread, which closes sessions past expires_at or idle past their ttl, releases
 * cooling-off bindings whose time is up and purges real numbers past the
 * retention period (DESIGN §1.5), all through flow/lifecycle.h; and the start-up
 * repair of data written by an older maskd (the region backfill). */
#ifndef MASKD_FLOW_JOBS_H
#define MASKD_FLOW_JOBS_H

#include "../store/store_outbox.h" /* STORE_RESEAL_KEY_MAX */

#include <stdbool.h>

struct store;
struct jobs_sweeper;

/* Starts the sweeper thread; it sweeps every interval_s seconds, reading the
 * clock once per sweep. retention_s > 0: it also purges the real numbers of
 * sessions closed more than retention_s seconds ago (jobs_purge_once), at start
 * and then hourly; 0 = never purge. Aborts when the thread cannot start. */
struct jobs_sweeper *jobs_sweeper_start(struct store *st, unsigned interval_s, long long retention_s);
/* Before jobs_sweeper_start: the thread also re-seals values sealed with an
 * older vault key version than current (jobs_reseal_step: batch rows a
 * transaction, at most `batches` transactions a sweep), each sweep until a pass
 * leaves none (or re-seals none), then hourly. */
void jobs_reseal_configure(int current, int batch, int batches);
/* Wakes the thread, waits for it to finish its current sweep, frees it. NULL: no-op. */
void jobs_sweeper_stop(struct jobs_sweeper *sw);

/* One sweep at now: closes all due sessions (with cool-off), then releases the
 * cooling-off bindings whose time is up, both in batches, counting them in
 * maskd_sessions_expired_total and maskd_bindings_released_total. Returns how
 * many sessions closed, or a negative maskd_err. Used by the thread and by tests. */
int jobs_sweep_once(struct store *st, long long now);
/* Purges, in batches, the real numbers of released participants whose session
 * closed before now - retention_s (lifecycle_purge), counting them in
 * maskd_numbers_purged_total. retention_s <= 0 does nothing. Returns how many
 * participants were purged, or a negative maskd_err. */
int jobs_purge_once(struct store *st, long long now, long long retention_s);

/* The vault key rotation's re-seal (docs/OPERATIONS.md, key rotation): passes
 * over every sealed value not sealed with version `current`, re-sealing each
 * with it, `batch` rows a transaction. A pass is resumable: each call runs up to
 * `batches` batches from where the previous call of the same pass stopped. It
 * logs progress every few thousand values and keeps maskd_vault_reseal_remaining
 * (counted at a pass's start and end, decremented in between). Values whose
 * version the key file does not hold stay and are counted. Returns 0 or a
 * negative maskd_err (the pass resumes on the next call). */
struct jobs_reseal {
	bool running;                         /* a pass is under way */
	bool finished;                        /* this call found nothing to do or ended a pass */
	int kind;                             /* enum store_sealed being walked */
	char after[STORE_RESEAL_KEY_MAX];     /* its cursor */
	long long total;                      /* re-sealed in this pass so far */
	long long next_log;
	long long remaining;                  /* the gauge after this call */
	long long pass_total;                 /* finished: what the pass re-sealed */
};
int jobs_reseal_step(struct store *st, struct jobs_reseal *p, int current, int batch, int batches);

/* The blind-index rotation's re-index (docs/internals/blind-index-rotation.md):
 * while the vault holds an index version below the current one, passes over the
 * participants and profiles not indexed under the current one, `batch` rows a
 * transaction and at most `batches` transactions a call, then moves the
 * opt-outs and ended marks after them (store_index_sweep). Logs the start, every
 * few thousand rows and the end, and keeps maskd_vault_reindex_remaining (rows
 * still under another version, counted at a pass's start and end). *finished
 * gets 1 when this call ended a pass or found nothing to do. Returns 0 or a
 * negative maskd_err (the pass resumes on the next call). */
struct jobs_reindex {
	bool running;
	int kind;                         /* enum store_reindex being walked */
	char after[STORE_RESEAL_KEY_MAX]; /* its cursor */
	long long total, next_log;
};
int jobs_reindex_step(struct store *st, struct jobs_reindex *p, int batch, int batches, int *finished);
/* Before jobs_sweeper_start: whether the sweeper runs jobs_reindex_step (the
 * vault holds a previous index version), every sweep until a pass leaves
 * nothing, then hourly. */
void jobs_reindex_configure(bool on);

/* Geocodes every pool number whose region is "" and stores what libphonenumber
 * knows (mobiles and non-geographic numbers stay ""): numbers added before
 * regions were geocoded (geo-match by region needs it; SQL cannot geocode). Runs
 * once per database: a setting records that it finished, and later calls return
 * at once; idempotent, so nodes starting together may all run it. *updated gets
 * how many changed. Returns 0 or a negative maskd_err from the store. */
int jobs_backfill_number_regions(struct store *st, int *updated);

#endif
