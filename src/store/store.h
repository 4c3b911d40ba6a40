/* SPDX-License-Identifier: MIT */
/* store.h - the one storage interface of maskd: a table of function pointers with
 * one backend per database (SQLite embedded; PostgreSQL for many nodes), chosen at
 * start from MASKD_DB. Callers above store/ see structs from core/model.h, never SQL.
 *
 * Contracts that hold for every backend:
 * - Thread-safe: any thread may call any function; each thread gets its own
 *   connection. Every function returns 0 or a negative enum maskd_err.
 * - Real numbers enter only through store_session_create() and leave only through
 *   store_route_lookup() and store_participant_number(), sealed in between by the
 *   vault (AES-256-GCM, the participant id as associated data) and found by blind
 *   index. Listing functions return masked numbers only.
 * - Ownership of a proxy number (a binding) is decided by a unique index on
 *   (blind index, proxy number) over active participants, never by a prior check. */
#ifndef MASKD_STORE_H
#define MASKD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/model.h"

struct store;
struct vault;

/* What a webhook needs to decide, found by one indexed lookup of (caller, proxy). */
struct route_view {
	struct number number;                  /* the dialled proxy number (number.id "" = not in any pool) */
	char session_id[ID_MAX];               /* "" = no active binding for this caller */
	int session_status;
	int session_mode;
	int64_t session_ttl;
	int64_t session_expires_at;
	int64_t session_last_activity_at;
	char from_participant[ID_MAX];
	char to_participant[ID_MAX];
	char to_number[PHONE_E164_MAX + 1];     /* the other side's real number (unsealed) */
	char to_proxy_e164[PHONE_E164_MAX + 1]; /* the other side's proxy number */
	char to_country[3];                     /* the other side's region */
	struct call_policy session_policy;      /* the session's overrides (-1 = inherit) */
};

struct session_filter {
	int status;              /* -1 = any */
	const char *unique_name; /* NULL = any */
	int limit;               /* 1..SESSION_PAGE_MAX */
	const char *after_id;    /* page after this id (NULL = first page) */
};
#define SESSION_PAGE_MAX 500

/* Opens the database named by url ("sqlite:/path", a plain path, or
 * "postgresql://..."), applies pending migrations, and keeps v (borrowed; must
 * outlive the store). On failure returns a negative maskd_err and a message in
 * err (never a password). */
int store_open(const char *url, struct vault *v, struct store **out, char *err, size_t err_len);
void store_close(struct store *st);

int store_ping(struct store *st);

/* Settings: small key/value strings (the admin key hash). setting_add stores
 * value only when key is absent (MASKD_ECONFLICT otherwise), so that nodes
 * starting together agree on one value. */
int store_setting_get(struct store *st, const char *key, char *out, size_t cap);
int store_setting_put(struct store *st, const char *key, const char *value);
int store_setting_add(struct store *st, const char *key, const char *value);

/* Services. Secrets are sealed at rest. service_list calls cb for each row. */
int store_service_insert(struct store *st, const struct service *svc);
int store_service_get(struct store *st, const char *id, struct service *out);
int store_service_list(struct store *st, void (*cb)(void *ctx, const struct service *svc), void *ctx);

/* Numbers. number.in_use is the count of open sessions bound to the number (a
 * session with both participants on it counts once); the pool rule uses it.
 * insert: MASKD_ECONFLICT when the E.164 number is in any pool.
 * delete: MASKD_ECONFLICT while in use. */
int store_number_insert(struct store *st, const struct number *num);
int store_number_get(struct store *st, const char *id, struct number *out);
int store_number_list(struct store *st, const char *service_id,
		      void (*cb)(void *ctx, const struct number *num), void *ctx);
int store_number_set_state(struct store *st, const char *id, int state);
int store_number_delete(struct store *st, const char *id);

/* Creates s (ids, participants' real numbers and optional proxy_e164 filled by the
 * caller) and binds a proxy number to each participant in one transaction, by the
 * rule of core/pool.h. On success fills each participant's proxy_number_id and
 * proxy_e164. Errors: MASKD_ECONFLICT (unique_name taken among open sessions; a
 * named proxy number already bound to that real number), MASKD_ENOTFOUND (a named
 * proxy number not in the pool or retired), MASKD_EEXHAUSTED (detail names the
 * participant index in *failed_index). */
int store_session_create(struct store *st, struct session *s, int64_t now, int *failed_index);
int store_session_get(struct store *st, const char *id, struct session *out);
int store_session_list(struct store *st, const char *service_id, const struct session_filter *f,
		       void (*cb)(void *ctx, const struct session *s), void *ctx);
/* Closes s (idempotent) and releases its bindings. */
int store_session_close(struct store *st, const char *id, int64_t now);
/* Sets ttl (>= 0) and/or expires_at (0 = none); a NULL pointer leaves a field alone. */
int store_session_update(struct store *st, const char *id, const int64_t *ttl,
			 const int64_t *expires_at, int64_t now);
/* Closes up to limit sessions past expires_at or idle past ttl at now; *closed
 * gets how many. */
int store_sessions_expire(struct store *st, int64_t now, int limit, int *closed);

/* Webhook lookup: proxy number by e164, and the active binding of from_e164 on it. */
int store_route_lookup(struct store *st, const char *to_e164, const char *from_e164,
		       struct route_view *out);

/* Records it (id, ids, channel, carrier, carrier_sid, decision, created_at set by
 * the caller) with its inbound leg 'a', moves the session open -> in-progress when
 * the decision is a bridge or a forward, and restarts its idle timer. When an
 * interaction with the same (carrier, carrier_sid) exists, nothing is written,
 * *existed is set and it is overwritten with the stored row. */
int store_interaction_record(struct store *st, struct interaction *it, int *existed);
int store_interaction_get(struct store *st, const char *id, struct interaction *out);
/* The interaction a carrier's call or message id started (its leg 'a'), for status
 * callbacks that cannot carry maskd's ?interaction= (Vonage's call events). */
int store_interaction_by_sid(struct store *st, int carrier, const char *carrier_sid, struct interaction *out);
int store_interaction_list(struct store *st, const char *session_id,
			   void (*cb)(void *ctx, const struct interaction *it), void *ctx);
/* Inserts or updates the leg of interaction_id with this (leg, carrier_sid): a
 * reported field overwrites, an unreported one (NULL, -1) is kept; answered sets
 * answered_at once; a final status (completed, busy, failed, no-answer, canceled,
 * delivered, undelivered, sent) sets ended_at once. A new leg 'b' takes the
 * interaction's other proxy number and country. */
int store_leg_update(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
		     const struct leg_update *u, int64_t now);

/* Call records of a service: every leg whose started_at is in [from, to), oldest
 * first, with its interaction (id, session id, channel, carrier, decision). cb
 * gets the interaction with exactly that one leg in legs[0]; returning nonzero
 * stops. cb must not call the store (the rows may still be streaming on this
 * thread's connection). No real number is read. */
int store_records(struct store *st, const char *service_id, int64_t from, int64_t to,
		  int (*cb)(void *ctx, const struct interaction *it), void *ctx);

/* Per UTC day in [from, to): interactions by channel and billable seconds. */
struct usage_day {
	int64_t day; /* epoch seconds of 00:00 UTC */
	int64_t calls, messages, billable_seconds;
};
int store_usage(struct store *st, const char *service_id, int64_t from, int64_t to,
		void (*cb)(void *ctx, const struct usage_day *u), void *ctx);
/* The real number of a participant (for re-answering a retried webhook). */
int store_participant_number(struct store *st, const char *participant_id, char *out, size_t cap);

/* Counts for /metrics. */
struct store_stats {
	int64_t services, numbers, sessions_open, bindings_active, interactions;
};
int store_stats(struct store *st, struct store_stats *out);

#endif
