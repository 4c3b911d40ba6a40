/* SPDX-License-Identifier: MIT */
/* lifecycle.h - the session lifecycle, executed once for every backend: close and
 * block, re-open, PATCH of ttl / expires_at, expiry, cool-off release and the
 * retention purge. Each operation is one store_tx_run() transaction over the
 * store's row primitives, deciding with the pure rules of core/session.h. Reads
 * no clock (now is passed in) and counts no metrics (callers do). */
#ifndef MASKD_FLOW_LIFECYCLE_H
#define MASKD_FLOW_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/model.h" /* enum session_status */

struct store;
struct store_tx;

/* Closes session id with status SESSION_CLOSED or SESSION_BLOCKED (any other:
 * MASKD_EINVAL) at now. Idempotent; blocking a closed (or failed) session changes
 * its status to blocked, its bindings as they were. Closing an open session cools
 * its bindings off until now + the service's cooloff (released at once when
 * cooloff is 0) and drops in_use of its numbers. Records a "closed" or "blocked"
 * event when the status changes. MASKD_ENOTFOUND when there is no such session. */
int lifecycle_close(struct store *st, const char *id, enum session_status status, int64_t now);
/* lifecycle_close(SESSION_CLOSED) inside a store_tx_run() body on tx, so that
 * the close commits with the caller's other writes; *changed says whether the
 * status changed. 0, MASKD_ENOTFOUND or the store's negative maskd_err (the
 * body should then fail). */
int lifecycle_close_tx(struct store_tx *tx, const char *id, int64_t now, bool *changed);

/* Re-opens a closed or blocked session at now; ttl and expires_at (NULL = keep)
 * apply with it, so that a refused re-open writes nothing. Refusals, checked
 * before anything is written: the real numbers were purged (MASKD_ECONFLICT,
 * *failed_index CREATE_FAIL_PURGED); expires_at not after now (MASKD_EINVAL);
 * another open session has its unique_name (MASKD_ECONFLICT,
 * CREATE_FAIL_UNIQUE_NAME) or its PIN (CREATE_FAIL_PIN). Each participant's
 * binding is kept when it is still cooling off, else taken again
 * (MASKD_ECONFLICT with *failed_index = the participant when someone else holds
 * it or its number left the pool or was retired). Then status open, closed_at 0,
 * the idle timer restarts, in_use rises and a "reopened" event is recorded.
 * Already open: only ttl applies (expires_at is not touched), as before.
 * MASKD_ENOTFOUND when there is no such session. *failed_index is -1 unless named
 * above. */
int lifecycle_reopen(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at,
		     int64_t now, int *failed_index);
/* lifecycle_reopen(), then then(tx, ctx) in the same transaction once the re-open
 * (or, open already, the ttl) is written, so that the caller's writes (its audit
 * entry: audit_then) commit with it or not at all: a refusal calls no then, and a
 * negative return of then rolls the re-open back and is returned. then may run
 * more than once (a retried transaction) and must not keep state across runs. */
int lifecycle_reopen_with(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at,
			  int64_t now, int (*then)(struct store_tx *tx, void *ctx), void *ctx, int *failed_index);

/* Sets ttl (>= 0) and/or expires_at (0 = none) of session id at now (NULL leaves
 * a field alone) and recomputes its deadline. MASKD_ENOTFOUND no such session. */
int lifecycle_update(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at, int64_t now);

/* lifecycle_update() and then, when close_to is SESSION_CLOSED or SESSION_BLOCKED
 * (-1: none), lifecycle_close(), in one transaction: every field is written or
 * none (one PATCH of a session). *changed (may be NULL): whether the close changed
 * the status (false when closing a closed session), so that a counter counts only
 * the closes that happened. MASKD_ENOTFOUND no such session; MASKD_EINVAL any
 * other close_to. */
int lifecycle_change(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at, int close_to,
		     int64_t now, bool *changed);
/* lifecycle_change(), then then(tx, ctx) in the same transaction after the change
 * is written (also when a close changed nothing), as lifecycle_reopen_with():
 * an error before it calls no then; its negative return rolls everything back,
 * is returned, and leaves *changed false. */
int lifecycle_change_with(struct store *st, const char *id, const int64_t *ttl, const int64_t *expires_at,
			  int close_to, int64_t now, int (*then)(struct store_tx *tx, void *ctx), void *ctx,
			  bool *changed);

/* Closes (SESSION_CLOSED, with cool-off, a "closed" event with detail "expired")
 * up to limit sessions past expires_at or idle past ttl at now, in one
 * transaction; *closed gets how many. Many nodes may run it at once: each due
 * session is closed by exactly one. */
int lifecycle_expire(struct store *st, int64_t now, int limit, int *closed);

/* Releases up to limit cooling-off bindings whose held_until <= now; *released
 * gets how many. */
int lifecycle_bindings_release(struct store *st, int64_t now, int limit, int *released);

#define LIFECYCLE_ENDED_MARK_MIN_S 86400 /* an ended mark's shortest life (docs/PRIVACY.md) */
/* Retention (DESIGN §1.5): purges the participants of up to limit sessions that
 * closed before `before` (session_retention_cutoff()) and hold no binding any more
 * (store_tx_session_purge), marking them purged at now. *sessions gets how many
 * sessions (< limit: no more due) and *purged how many participant rows.
 * Afterwards store_participant_number() answers MASKD_ENOTFOUND for them and a
 * re-open is refused (CREATE_FAIL_PURGED). Each purged participant leaves an
 * ended mark (store_ended_mark); the marks that ended before `before` and more
 * than LIFECYCLE_ENDED_MARK_MIN_S before now are deleted in the same transaction. */
int lifecycle_purge(struct store *st, int64_t before, int64_t now, int limit, int *sessions, int *purged);

#endif
