/* SPDX-License-Identifier: MIT */
/* sessions.h - session create, add-participant and number swap, each one store
 * transaction (store_tx_run) over the row primitives, shared by the API (POST
 * /v1/services/{id}/sessions, add participant, swap) and the webhook path (an
 * unknown-caller callback that answers with a session): participant validation
 * with libphonenumber (E.164, emergency refusal, geo), the service's pool rules
 * with the request's overrides, PIN drawing with retry on collision, and the
 * pool-use warning at 85%. The pick itself is flow/bind.c by core/pick.h. */
#ifndef MASKD_SESSIONS_H
#define MASKD_SESSIONS_H

#include <stdint.h>

#include "../core/model.h"
#include "../core/pick.h"
#include "../store/store.h"

enum participant_problem { PARTICIPANT_OK = 0, PARTICIPANT_INVALID = 1, PARTICIPANT_EMERGENCY = 2 };

/* Fills p (fresh id, normalised E.164, masked form, country, area code, region,
 * label) from an app-supplied number. Returns PARTICIPANT_OK, or the problem
 * (nothing about the number is logged). */
int sessions_participant(const char *number, const char *label, struct participant *p);

/* The create rules of svc with overrides (-1 fields, or NULL for none, = the service's). */
void sessions_rules(const struct service *svc, const struct pool_rules *overrides, struct create_rules *out);

/* Creates s (ids, participants' real numbers, geo and optional proxy_e164 filled
 * by the caller; 1 or 2 participants; s->pin "" or a PIN) and binds a proxy
 * number to each participant in one transaction. For each participant, in order:
 *  1. a named proxy_e164: must be in the service's pool, not retired, with the
 *     mode's caps and under number_cap (else MASKD_ENOTFOUND); if this real number
 *     already holds it in an open session: MASKD_ECONFLICT; if it holds it cooling
 *     off, the old binding is released and taken when the old session had the same
 *     two real numbers or cooloff_reuse is set, else MASKD_ECONFLICT.
 *  2. prefer-sticky (and a second participant known): the number this real number
 *     had in the most recent session with the same other real number, when it is
 *     active, fits caps and cap, and is free for it or cooling off in a session of
 *     the same pair (released and taken).
 *  3. the pool rule (core/pool.h) over active numbers with the caps, under the cap,
 *     not held by this real number (open or cooling), level by level as
 *     pool_geo_levels() lists them for the participant's country/area
 *     code/region; avoid-sticky passes the sticky number as pool_pick_for's avoid.
 *  4. when nothing fits and cooloff_reuse is set: the same over numbers whose only
 *     hold by this real number is cooling off (released and taken).
 *  5. else MASKD_EEXHAUSTED (failed_index, failed_level set).
 * A unique_name equal to an open session's: when that session has the same real
 * numbers (as a set, by blind index), MASKD_EEXISTS with out->existing_id (nothing
 * written); otherwise MASKD_ECONFLICT with failed_index CREATE_FAIL_UNIQUE_NAME.
 * A PIN taken by another open session of the service: MASKD_ECONFLICT with
 * CREATE_FAIL_PIN. On success fills each participant's proxy_number_id and
 * proxy_e164, and out. number.in_use counts the session once per number. */
int sessions_create_bound(struct store *st, struct session *s, const struct create_rules *rules, int64_t now,
			  struct create_outcome *out);

/* Creates s (ids and participants filled) for svc: draws a PIN when the service's
 * unknown-caller policy is pin and s->pin is "" (up to 8 draws on collision),
 * then sessions_create_bound() with the service's rules and s->pool's overrides.
 * Logs a pool warning (and counts it) for each participant left with 85% or more
 * of the numbers it can get; the create's transaction records pool.low when it
 * crosses the service's pool_low_threshold (events_pool_low), and a
 * MASKD_EEXHAUSTED refusal records pool.exhausted alone (events_pool_exhausted).
 * Same returns as sessions_create_bound(). */
int sessions_create(struct store *st, const struct service *svc, struct session *s, int64_t now,
		    struct create_outcome *out);

/* The warning of sessions_create() for one participant, also used after an
 * added participant. */
void sessions_warn_headroom(const struct service *svc, const char *participant_id, int64_t held, int64_t free_left);

/* Adds the second participant p (id, real number, geo, optional proxy_e164) to
 * an open single-party session, bound by the rules of sessions_create_bound()
 * with the first participant as the other side. MASKD_ENOTFOUND no session;
 * MASKD_ECONFLICT the session is not open or has two participants already
 * (failed_index -1), or p's named number is held (failed_index 1); MASKD_EINVAL p
 * has the first participant's real number; MASKD_EEXHAUSTED (with its
 * pool.exhausted recorded alone). Records a "participant_added" event (and
 * pool.low on a crossing); out->held[1] and free_left[1] on success. */
int sessions_participant_add(struct store *st, const char *session_id, struct participant *p,
			     const struct create_rules *rules, int64_t now, struct create_outcome *out);

/* Number swap: gives participant_id of open session_id a new proxy number: the
 * named p->proxy_e164 or, when it is "", one picked by step 3 of create (p holds
 * the participant's geo; its current number excluded). The old binding is
 * released at once; in_use follows. Records a "number_swapped" event whose detail
 * names the old and new proxy numbers. On success p->proxy_number_id/proxy_e164
 * hold the new number (on failure p is as given). MASKD_ENOTFOUND (no such
 * session or participant, or a named number not in the pool / retired / lacking
 * caps / at cap), MASKD_ECONFLICT (session not open; the named number is the one
 * it has or is held by this real number), MASKD_EEXHAUSTED. */
int sessions_participant_swap(struct store *st, const char *session_id, const char *participant_id,
			      struct participant *p, const struct create_rules *rules, int64_t now);
/* sessions_participant_swap(), then then(tx, ctx) in the same transaction once the
 * swap is written, so that the caller's writes (its audit entry: audit_then)
 * commit with it or not at all: a refusal calls no then, and a negative return of
 * then rolls the swap back and is returned (p as given). then may run more than
 * once (a retried transaction) and must not keep state across runs. */
int sessions_participant_swap_with(struct store *st, const char *session_id, const char *participant_id,
				   struct participant *p, const struct create_rules *rules, int64_t now,
				   int (*then)(struct store_tx *tx, void *ctx), void *ctx);

/* Removes participant_id from open session_id in one transaction (the Proxy API's
 * participant DELETE): its binding cools off as a close's would (the service's
 * cooloff), the other participant stays alone in the open session (as a
 * single-party session waiting for a second one), in_use drops on a number only
 * the removed row held, and a "participant_removed" event is recorded. The
 * session's only participant is removed too, as Twilio Proxy does: the session
 * stays open with no participant (it takes no new one: close or delete it).
 * MASKD_ENOTFOUND no such session or participant in it; MASKD_ECONFLICT the
 * session is not open. Nothing is written on an error. */
int sessions_participant_remove(struct store *st, const char *session_id, const char *participant_id, int64_t now);
/* sessions_participant_remove(), then then(tx, ctx) in the same transaction once
 * the removal is written, so that the caller's writes (its audit entry:
 * audit_then) commit with it or not at all: a refusal calls no then, and a
 * negative return of then rolls the removal back and is returned. then may run
 * more than once (a retried transaction) and must not keep state across runs. */
int sessions_participant_remove_with(struct store *st, const char *session_id, const char *participant_id,
				     int64_t now, int (*then)(struct store_tx *tx, void *ctx), void *ctx);

#endif
