/* SPDX-License-Identifier: MIT */
/* sweeper.h - the background thread that closes sessions past expires_at or idle
 * past their ttl, releasing their bindings, and purges real numbers past the
 * retention period (DESIGN §1.5). Never runs inside a webhook. */
#ifndef MASKD_SWEEPER_H
#define MASKD_SWEEPER_H

struct store;
struct sweeper;

/* Starts the thread; it sweeps every interval_s seconds. retention_s > 0: it also
 * purges the real numbers of sessions closed more than retention_s seconds ago
 * (sweeper_purge_once), at start and then hourly; 0 = never purge. */
struct sweeper *sweeper_start(struct store *st, unsigned interval_s, long long retention_s);
/* Wakes the thread, waits for it to finish its current sweep, frees it. */
void sweeper_stop(struct sweeper *sw);

/* One sweep at now: closes all due sessions (with cool-off), then releases the
 * cooling-off bindings whose time is up, both in batches. Returns how many
 * sessions closed, or a negative maskd_err. Used by the thread and by tests. */
int sweeper_run_once(struct store *st, long long now);
/* Purges, in batches, the real numbers of released participants whose session
 * closed before now - retention_s (store_numbers_purge), counting them in
 * maskd_numbers_purged_total. retention_s <= 0 does nothing. Returns how many
 * participants were purged, or a negative maskd_err. */
int sweeper_purge_once(struct store *st, long long now, long long retention_s);

#endif
