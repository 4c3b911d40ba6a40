/* SPDX-License-Identifier: MIT */
/* sweeper.h - the background thread that closes sessions past expires_at or idle
 * past their ttl, releasing their bindings. Never runs inside a webhook. */
#ifndef MASKD_SWEEPER_H
#define MASKD_SWEEPER_H

struct store;
struct sweeper;

/* Starts the thread; it sweeps every interval_s seconds. */
struct sweeper *sweeper_start(struct store *st, unsigned interval_s);
/* Wakes the thread, waits for it to finish its current sweep, frees it. */
void sweeper_stop(struct sweeper *sw);

/* One sweep at now: closes all due sessions (with cool-off), then releases the
 * cooling-off bindings whose time is up, both in batches. Returns how many
 * sessions closed, or a negative maskd_err. Used by the thread and by tests. */
int sweeper_run_once(struct store *st, long long now);

#endif
