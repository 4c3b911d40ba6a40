/* SPDX-License-Identifier: MIT */
/* store.h - the one storage interface of maskd: a table of function pointers with
 * one backend per database (SQLite embedded; PostgreSQL for many nodes), chosen at
 * start from MASKD_DB. Callers above store/ see structs from core/model.h, never SQL.
 *
 * Contracts that hold for every backend:
 * - Thread-safe: any thread may call any function; each thread gets its own
 *   connection. Every function returns 0 or a negative enum maskd_err.
 * - Real numbers enter only through store_tx_participant_insert() and leave only through
 *   store_route_lookup() and store_participant_number(), sealed in between by the
 *   vault (AES-256-GCM, the participant id as associated data) and found by blind
 *   index. Listing functions return masked numbers only.
 * - Ownership of a proxy number (a binding) is decided by a unique index on
 *   (blind index, proxy number) over active participants, never by a prior check.
 *   A participant row is "active" (holds its binding) while its session is open,
 *   and, after the session closes or is blocked, until held_until (= closed_at +
 *   the service's cooloff): a cooling-off binding. The sweeper releases due ones
 *   with store_tx_bindings_release_due(). number.in_use counts open sessions only. */
#ifndef MASKD_STORE_H
#define MASKD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/model.h"
#include "../core/route.h" /* struct route_view */
#include "../core/pick.h"
#include "../core/scope.h" /* struct api_key */
#include "../core/audit.h" /* struct audit_entry */
#include "../core/profile.h" /* struct profile */
#include "../core/oneway.h" /* struct oneway_candidate */

struct store;
struct vault;

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

/* The settings row store_write_probe() rewrites. */
#define STORE_WRITE_PROBE_SETTING "write_probe_ms"

/* 0 when the last write through this store (a transaction, a row insert, update
 * or delete, a probe) succeeded or none was made yet; MASKD_EDB while the last
 * one failed in the database (a full disk, a read-only file or server) and no
 * later one succeeded. Refusals of the input (conflict, not found) do not count.
 * Both backends. Thread-safe, no I/O: what /readyz reports. */
int store_write_health(struct store *st);

/* A cheap write off the request path: rewrites one settings row (an UPDATE of one
 * row, no new table) with now_ms, so that store_write_health() notices a database
 * that became writable (or unwritable) again even with no traffic. Returns 0 or
 * the write's error. main() calls it at start, the sweeper every sweep. */
int store_write_probe(struct store *st, int64_t now_ms);

/* Transactions. store_tx_run() runs body(tx, ctx) inside one transaction on the
 * calling thread's connection and commits when body returns 0; any other return
 * rolls back everything body wrote and is returned. Row primitives that take a
 * struct store_tx (store_tx_*) may be called only inside a body, with its tx, on
 * the same thread; the non-tx store_* functions must not be called inside a body
 * (SQLite serialises transactions with a lock the body holds). When the
 * transaction loses a race (PostgreSQL: deadlock or serialization failure, or
 * body returns MASKD_ERETRY), body runs again from the start, up to
 * STORE_TX_ATTEMPTS times in all, then MASKD_EDB: a body must therefore reset its
 * outputs in ctx when it starts, and do no I/O outside the store. */
#define STORE_TX_ATTEMPTS 4
struct store_tx;
struct store_event; /* an event written with a change (store_outbox.h) */
int store_tx_run(struct store *st, int (*body)(struct store_tx *tx, void *ctx), void *ctx);

/* ---- Row primitives of session create, add-participant and swap (flow/bind.c,
 * flow/sessions.c). Each runs inside a store_tx_run() body on its tx and holds
 * no rule: the caller decides (core/pick.h). Enum values are bound as
 * parameters. */

/* The blind index of a real number (vault_blind_index with the store's vault).
 * Pure computation: may be called inside or outside a body. */
#define STORE_BIDX_MAX 37 /* VAULT_BIDX_LEN + 1: "N." and 32 hex */
void store_blind_index(struct store *st, const char *e164, char out[STORE_BIDX_MAX]);
/* While the blind-index key rotates (the vault holds a version below the
 * current one, or a staged one above it: vault_index_other): the index of e164
 * under that other version, and 1; else out "" and 0. Lookups by a real number
 * consult both until the re-index job has moved every row
 * (docs/internals/blind-index-rotation.md). */
int store_blind_index_previous(struct store *st, const char *e164, char out[STORE_BIDX_MAX]);

/* The pool filter of one participant at one geo level: active numbers of
 * service_id with caps ⊇ need, in_use < cap (0 = no cap), at level for
 * (country, area_code, region) as pick_geo_fits() defines it (an empty key
 * matches nothing at its level). */
struct store_pool_query {
	const char *service_id;
	unsigned need;
	const char *bidx; /* the participant's real number */
	const char *bidx_old; /* its index under the previous index version, "" or NULL = none held */
	enum geo_match level;
	const char *country, *area_code, *region;
	int64_t cap;
};
/* One pool candidate. */
struct store_candidate {
	char id[ID_MAX];
	char e164[PHONE_E164_MAX + 1];
	enum number_state state;
	unsigned caps;
	int64_t in_use, created_at;
};
enum store_pool_kind {
	STORE_POOL_FREE = 0,    /* numbers q->bidx holds no binding on */
	STORE_POOL_COOLING = 1, /* numbers q->bidx holds only a cooling-off binding on */
};
/* Up to limit numbers passing q and kind, least in_use first, then oldest, then
 * id, into out; *n gets how many. */
int store_tx_pool_candidates(struct store_tx *tx, const struct store_pool_query *q, enum store_pool_kind kind,
			     struct store_candidate *out, int limit, int *n);
/* The active binding of real number bidx on number_id: out->found 0 when none;
 * else cooling (its session closed, held until held_until), row_id (the
 * participant row) and peer (that row's peer blind index). */
struct store_holder {
	int found;
	int cooling;
	char row_id[ID_MAX];
	char peer[STORE_BIDX_MAX];
};
int store_tx_holder(struct store_tx *tx, const char *bidx, const char *number_id, struct store_holder *out);
/* Releases the cooling-off binding of participant row row_id (active = 0; its
 * held_until stays). 0 also when it was released already (the sweeper). */
int store_tx_binding_drop(struct store_tx *tx, const char *row_id);
/* The proxy number id real number bidx had in its most recent participant row
 * of service_id with peer peer_bidx, into out ("" = none). While the blind index
 * rotates, bidx_old and peer_old (NULL or "" = none) are the two numbers' indexes
 * under the previous version: a row spelling either number either way counts,
 * so a pair not re-indexed yet (or half re-indexed) keeps last time's number. */
int store_tx_sticky(struct store_tx *tx, const char *service_id, const char *bidx, const char *bidx_old,
		    const char *peer_bidx, const char *peer_old, char out[ID_MAX]);
/* Number id, or the number with this e164, within service_id (number.cooling
 * left 0). MASKD_ENOTFOUND when there is none in that service. */
int store_tx_number_by_id(struct store_tx *tx, const char *service_id, const char *id, struct number *out);
int store_tx_number_by_e164(struct store_tx *tx, const char *service_id, const char *e164, struct number *out);
/* Inserts participant p (id, label, masked, real number sealed here with the
 * vault, the participant id as associated data; country; proxy_number_id and
 * proxy_e164 set) as row idx of session_id, active, with blind index bidx and
 * peer peer_bidx ("" = none yet). MASKD_ECONFLICT when the bindings unique index
 * refuses it (bidx holds that number); nothing written then and the transaction
 * stays usable. */
int store_tx_participant_insert(struct store_tx *tx, const char *session_id, int idx, const struct participant *p,
				const char *bidx, const char *peer_bidx, int64_t now);
/* Moves participant row row_id to number_id / e164. MASKD_ECONFLICT when the
 * bindings unique index refuses it (nothing written). */
int store_tx_participant_move(struct store_tx *tx, const char *row_id, const char *number_id, const char *e164);
/* Sets the peer blind index of participant row row_id. */
int store_tx_peer_set(struct store_tx *tx, const char *row_id, const char *peer_bidx);
/* Removes participant row row_id from its open session session_id (the Proxy
 * API's participant DELETE): the row gets idx PARTICIPANT_REMOVED_IDX, so that
 * session reads, the lifecycle and PIN lookups no longer see it and a call from
 * it routes as for a closed session, and its binding gets held_until and stays
 * held when active is 1 (cool-off), given up when 0; the row that stays becomes
 * idx 0. MASKD_ENOTFOUND when row_id is not a present, binding-holding row. */
#define PARTICIPANT_REMOVED_IDX (-1)
int store_tx_participant_detach(struct store_tx *tx, const char *session_id, const char *row_id, int64_t held_until,
				int active);
/* Counts one more open session on number_id, refusing at the cap in the same
 * statement (cap 0 = no cap): MASKD_ECONFLICT when in_use >= cap, MASKD_ENOTFOUND
 * when there is no such number. uncount takes one off (never below 0). A caller
 * counting on two numbers counts them in strcmp order of their ids (PostgreSQL
 * locks the rows in that order: no deadlock). */
int store_tx_number_count(struct store_tx *tx, const char *number_id, int64_t cap);
int store_tx_number_uncount(struct store_tx *tx, const char *number_id);
/* The open session of service_id named unique_name: 1 and existing_id with its
 * participants' blind indexes bidx[0..*n) (in idx order), or 0 (none). */
int store_tx_unique_name(struct store_tx *tx, const char *service_id, const char *unique_name,
			 char existing_id[ID_MAX], char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX], int *n);
/* 1 when an open session of service_id has this pin, else 0. */
int store_tx_pin_taken(struct store_tx *tx, const char *service_id, const char *pin);
/* Inserts session s (status, created/updated/last_activity_at as set by the
 * caller; participants not written) with deadline (0 = none). MASKD_ECONFLICT
 * when an open session has its unique_name or PIN (nothing written, the
 * transaction stays usable). */
int store_tx_session_insert(struct store_tx *tx, const struct session *s, int64_t deadline);
/* Sets updated_at of session id to now. */
int store_tx_session_touch(struct store_tx *tx, const char *id, int64_t now);
/* Records an event (struct session_event) of session_id: kind "closed",
 * "blocked", "reopened", "participant_added", "number_swapped"...; participant_id
 * and detail may be NULL (""); detail is a reason or proxy numbers, never a real
 * number. */
int store_tx_event_insert(struct store_tx *tx, const char *session_id, const char *kind, const char *participant_id,
			  const char *detail, int64_t now);
/* Headroom counts for q->bidx in q->service_id: *held its open bindings, *k its
 * bindings (open or cooling) on numbers q admits. */
int store_tx_holds(struct store_tx *tx, const struct store_pool_query *q, int64_t *held, int64_t *k);
/* How many numbers q admits, held or not, counted up to limit. */
int store_tx_pool_count(struct store_tx *tx, const struct store_pool_query *q, int limit, int64_t *total);

/* The pool alert of service_id for numbers with capabilities need (migration
 * 14): low nonzero marks the pool low, zero clears the mark. Returns 1 when the
 * mark changed (this transaction crossed the threshold: the caller records
 * pool.low on a mark), 0 when it was so already, or a negative maskd_err. On
 * PostgreSQL a concurrent transaction marking the same alert waits for this one
 * and then sees it marked, so one crossing gives one 1. */
int store_tx_pool_low_mark(struct store_tx *tx, const char *service_id, unsigned need, int low, int64_t now);

/* Settings: small key/value strings (the admin key hash). setting_add stores
 * value only when key is absent (MASKD_ECONFLICT otherwise), so that nodes
 * starting together agree on one value. */
int store_setting_get(struct store *st, const char *key, char *out, size_t cap);
int store_setting_put(struct store *st, const char *key, const char *value);
int store_setting_add(struct store *st, const char *key, const char *value);
/* store_setting_get() for a row a hot path reads on every request (most often
 * absent): answered from a per-handle memo younger than the service cache's TTL,
 * else read and remembered, its absence too. A settings write through this
 * handle is seen at once; one by another node or handle within the TTL. */
int store_setting_get_cached(struct store *st, const char *key, char *out, size_t cap);

/* Services. Secrets are sealed at rest. service_list calls cb for each row.
 * service_get answers from a per-handle cache: a service changed through this
 * handle is seen at once, one changed through another handle or by another node
 * (PostgreSQL) within SERVICE_CACHE_TTL_S seconds (the entry is then reloaded;
 * a failed reload returns its error, never the old entry). */
#define SERVICE_CACHE_TTL_S 5
int store_service_insert(struct store *st, const struct service *svc);
int store_service_get(struct store *st, const char *id, struct service *out);
int store_service_list(struct store *st, void (*cb)(void *ctx, const struct service *svc), void *ctx);
/* Replaces service svc->id with svc in one transaction: every column
 * service_insert writes but id and created_at (svc is normally a service read
 * with store_service_get and then changed), and each carrier's sealed
 * credentials (secrets[d] "" = the carrier is removed). Last writer wins: there
 * is no check that the row is unchanged since it was read. MASKD_ENOTFOUND when
 * there is no such service (nothing written). */
int store_service_update(struct store *st, const struct service *svc);
/* store_service_update() and also(tx, ctx) in the same transaction, after the
 * row is written: the change commits with what also writes (its audit entry) or
 * neither does. also returns 0 or a negative maskd_err (everything is then
 * rolled back, and that error returned); it may run again when the transaction
 * lost a race. */
int store_service_update_with(struct store *st, const struct service *svc,
			      int (*also)(struct store_tx *tx, void *ctx), void *ctx);
/* Sets this handle's service cache TTL (default SERVICE_CACHE_TTL_S; 0 = every
 * read goes to the backend). For tests. */
void store_service_cache_ttl(struct store *st, int seconds);

/* The webhook edge's memory of which service owns a proxy number, so that a
 * forged webhook is refused without any backend access (docs/internals/owner-memory.md).
 *
 * store_number_owner_note(): e164's owner is service_id, as a backend read (the
 * route lookup) just said. Refreshes the entry's age; replaces a different owner.
 * Never calls the backend.
 *
 * store_number_owner_check(): calls fn(ctx, svc) with the service that owns e164
 * and returns 1 when fn answered true, 0 when it answered false; returns
 * MASKD_ENOTFOUND, without calling fn, when memory cannot answer: e164 was never
 * noted, or last noted more than the service cache TTL ago, or its service is not
 * in the service cache, is marked for reload or was loaded more than the TTL ago.
 * Never calls the backend, whatever the answer. fn runs under the cache's read
 * lock: it must not call the store; svc is valid only during the call.
 *
 * The refresh rule that follows: memory answers for a number only within one
 * TTL (SERVICE_CACHE_TTL_S) of the last backend read of its owner and of that
 * owner's service, so a credential or owner change through another node is seen
 * by the check within that TTL; an update through this handle at once. Both are
 * thread-safe. */
void store_number_owner_note(struct store *st, const char *e164, const char *service_id);
int store_number_owner_check(struct store *st, const char *e164, bool (*fn)(void *ctx, const struct service *svc),
			     void *ctx);

/* Numbers. number.in_use is the count of open sessions bound to the number (a
 * session with both participants on it counts once); the pool rule uses it.
 * insert: MASKD_ECONFLICT when the E.164 number is in any pool.
 * delete: MASKD_ECONFLICT while in use. */
int store_number_insert(struct store *st, const struct number *num);
int store_number_get(struct store *st, const char *id, struct number *out);
int store_number_list(struct store *st, const char *service_id,
		      void (*cb)(void *ctx, const struct number *num), void *ctx);
int store_number_set_state(struct store *st, const char *id, enum number_state state);
/* store_number_set_state() that also writes ev (NULL = none) in the same transaction. */
int store_number_set_state_ev(struct store *st, const char *id, enum number_state state, const struct store_event *ev);
/* Sets the geocoded region of a number (start-up backfill of numbers added
 * before regions were geocoded). MASKD_ENOTFOUND when there is no such number. */
int store_number_set_region(struct store *st, const char *id, const char *region);
int store_number_delete(struct store *st, const char *id);

int store_session_get(struct store *st, const char *id, struct session *out);
int store_session_list(struct store *st, const char *service_id, const struct session_filter *f,
		       void (*cb)(void *ctx, const struct session *s), void *ctx);
/* Session lifecycle primitives (close, block, re-open, update, expiry, cool-off
 * release, retention purge): row-level reads and writes inside store_tx_run(),
 * without rules; src/flow/lifecycle.c decides with core/session.h. Each returns
 * 0 (or the count it names) or a negative maskd_err. Status values are passed in,
 * never spelled in SQL. */

/* One participant row of a session, as the lifecycle, add-participant and swap
 * read it (no real number: its blind index only). */
struct store_part_brief {
	char id[ID_MAX];
	int idx;
	char bidx[STORE_BIDX_MAX]; /* the real number's blind index ('purged:' once purged) */
	char peer[STORE_BIDX_MAX]; /* the other side's blind index ("" = none yet) */
	char number_id[ID_MAX];
	char e164[PHONE_E164_MAX + 1]; /* the proxy number */
	int active; /* 1: holds its binding (open, or cooling off after a close) */
	int purged; /* 1: its real number was purged after retention */
};
/* A session and its participant rows, as the lifecycle, add-participant and swap
 * read them. */
struct store_session_brief {
	char id[ID_MAX];
	char service_id[ID_MAX];
	enum session_status status;
	enum session_mode mode;
	int64_t cooloff; /* the service's */
	int64_t ttl, expires_at, last_activity_at, closed_at, updated_at;
	char unique_name[NAME_MAX_LEN + 1];
	char pin[PIN_MAX_LEN + 1];
	int n_parts;
	struct store_part_brief parts[SESSION_PARTICIPANTS];
};
/* Reads session id and its participants (at most SESSION_PARTICIPANTS, by idx)
 * into *out and locks them for writing until the transaction ends (PostgreSQL:
 * SELECT ... FOR NO KEY UPDATE; SQLite: the transaction's write lock): one writer
 * of a session at a time. MASKD_ENOTFOUND when there is none. */
int store_tx_session_lock(struct store_tx *tx, const char *id, struct store_session_brief *out);
/* Writes the session columns the lifecycle owns: status, closed_at, ttl,
 * expires_at, last_activity_at and updated_at from b (the other fields of b are
 * not read), and deadline (0 = none: NULL, so the expiry index skips the row).
 * MASKD_ECONFLICT when a unique index refuses the row (an open session with the
 * same unique_name or PIN); MASKD_ENOTFOUND when there is no such session. */
int store_tx_session_put(struct store_tx *tx, const char *id, const struct store_session_brief *b,
			 int64_t deadline);
/* 1 in *name_taken when another open session (status open or in progress) of
 * service_id has unique_name (NULL or "" = not asked), and in *pin_taken when one
 * has pin (NULL or "" = not asked); 0 otherwise. except_id is never counted. */
int store_tx_open_taken(struct store_tx *tx, const char *service_id, const char *except_id,
			const char *unique_name, const char *pin, int *name_taken, int *pin_taken);
/* Every participant row of session_id that holds its binding gets held_until and
 * keeps the binding when active is 1, gives it up when 0. Returns how many rows. */
int store_tx_bindings_hold(struct store_tx *tx, const char *session_id, int64_t held_until, int active);
/* Closes the n sessions ids[0..n) in set-based statements, with the effect that
 * store_tx_session_put (status, closed_at = updated_at = now, no deadline, the
 * other lifecycle columns as they are), then store_tx_bindings_hold(ids[i],
 * held_until[i], active[i]), then store_tx_event_insert(ids[i], kind, NULL,
 * detail, now) would have for each one in turn. The sessions must be locked in
 * tx (store_tx_session_lock). Decides nothing: the caller asked the rules for
 * status, held_until and active. Returns how many sessions were written. */
int store_tx_sessions_close(struct store_tx *tx, const char (*ids)[ID_MAX], const int64_t *held_until,
			    const int *active, int n, enum session_status status, const char *kind,
			    const char *detail, int64_t now);
/* Keeps the binding of participant row id if it still holds it (held_until
 * cleared): 1, or 0 when it was released meanwhile. */
int store_tx_binding_keep(struct store_tx *tx, const char *participant_id);
/* Takes the binding of released participant row id again (active, held_until
 * cleared), unless its number left the pool or has state `retired`: 1 taken, 0
 * not. MASKD_ECONFLICT when the bindings index refuses it (the real number holds
 * that proxy in another session now). */
int store_tx_binding_take(struct store_tx *tx, const char *participant_id, enum number_state retired);
/* Adds delta[i] to in_use of number_id[i] (repeats add up; never below 0). Takes
 * the number rows last, in id order (PostgreSQL), so writers never deadlock.
 * Returns how many numbers existed and changed. */
int store_tx_numbers_in_use_add(struct store_tx *tx, const char *const *number_id, const int *delta, int n);
/* Up to limit open sessions whose deadline is <= now, soonest first (index on
 * deadline), into ids (limit entries); *n how many. PostgreSQL: locks them and
 * skips rows another node holds, so concurrent sweepers share the work. */
int store_tx_sessions_due(struct store_tx *tx, int64_t now, int limit, char (*ids)[ID_MAX], int *n);
/* Releases up to limit cooling-off bindings whose held_until <= now (PostgreSQL:
 * skipping rows another node holds). Returns how many. */
int store_tx_bindings_release_due(struct store_tx *tx, int64_t now, int limit);
/* Up to limit sessions that closed (closed_at > 0) before `before`, are not
 * purged, and hold no binding any more (none still cooling off), oldest first
 * (index sessions_purge), into ids; *n how many. PostgreSQL: locked, skipping
 * rows another node holds. */
int store_tx_sessions_purge_due(struct store_tx *tx, int64_t before, int limit, char (*ids)[ID_MAX], int *n);
/* Purges the released participants of session id: each sealed real number
 * becomes an empty blob and its blind index 'purged:' || id (the row can no
 * longer be unsealed nor matched), after leaving an ended mark of each (blind
 * index, proxy number) at now (store_ended_mark); the session gets purged_at = now. Masked
 * number, country, proxy, ids, interactions, legs and opt-outs stay. Returns how
 * many participant rows were purged (a second call: 0). */
int store_tx_session_purge(struct store_tx *tx, const char *id, int64_t now);


/* Session events (swap, close, block, re-open), oldest first. */
struct session_event {
	char id[ID_MAX]; /* "evt_..." */
	char session_id[ID_MAX];
	char kind[24];             /* "closed", "blocked", "reopened", "number_swapped", "participant_added" */
	char participant_id[ID_MAX]; /* "" = the session */
	char detail[128];          /* proxy numbers only, never a real number */
	int64_t created_at;
};
int store_session_events(struct store *st, const char *session_id,
			 void (*cb)(void *ctx, const struct session_event *e), void *ctx);

/* Webhook lookup: proxy number by e164, and the active binding of from_e164 on it
 * (open or cooling off: session_status tells), with the other side (to_* "" while a
 * single-party session waits for its second participant). */
int store_route_lookup(struct store *st, const char *to_e164, const char *from_e164,
		       struct route_view *out);
/* Late calls after the retention purge (docs/PRIVACY.md): *found 1 when from_e164
 * was a participant on proxy number number_id of a session whose real numbers
 * the purge wiped (an ended mark, kept one retention period), else 0. 0 or the
 * store's negative maskd_err. store_tx_session_purge() leaves the marks,
 * store_tx_ended_marks_expire() deletes those that ended before `before` (the
 * number of marks deleted, or a negative maskd_err), and an erasure
 * (store_tx_subject_erase) deletes every mark of its blind index. */
int store_ended_mark(struct store *st, const char *number_id, const char *from_e164, int *found);
int store_tx_ended_marks_expire(struct store_tx *tx, int64_t before);
/* PIN lookup on the service's shared PIN number: the open session of service_id
 * with this pin in which from_e164 is a participant, filled like route_lookup
 * (out->number is left as the caller set it). MASKD_ENOTFOUND when there is none
 * (wrong PIN, or the caller is not a participant). */
int store_pin_lookup(struct store *st, const char *service_id, const char *pin, const char *from_e164,
		     struct route_view *out);
/* Opt-out state of (sender's real number, proxy number): opted_out 1 on
 * STOP-like keywords, 0 on START-like ones. Idempotent. */
int store_optout_set(struct store *st, const char *service_id, const char *from_e164, const char *number_id,
		     int opted_out, int64_t now);
/* store_optout_set() that also writes ev (NULL = none) in the same transaction. */
int store_optout_set_ev(struct store *st, const char *service_id, const char *from_e164, const char *number_id,
			int opted_out, int64_t now, const struct store_event *ev);

/* Records it (id, ids, channel, carrier, carrier_sid, decision, created_at set by
 * the caller) with its inbound leg 'a', moves the session open -> in-progress when
 * the decision is a bridge or a forward, and restarts its idle timer. When an
 * interaction with the same (carrier, carrier_sid) exists, nothing is written,
 * *existed is set and it is overwritten with the stored row. */
int store_interaction_record(struct store *st, struct interaction *it, int *existed);
/* store_interaction_record() inside tx: the interaction commits, or rolls back,
 * with the rest of the body's writes (a click-to-call and its outbox message). */
int store_tx_interaction_record(struct store_tx *tx, struct interaction *it, int *existed);
/* Sets the carrier's own id of click-to-call id (from the REST answer that placed
 * it), once: a second call leaves the first id. 0; MASKD_ENOTFOUND when there is no
 * such interaction or its id is already set; MASKD_ETOOBIG when call_id does not
 * fit interaction.carrier_call_id. */
int store_interaction_call_id(struct store *st, const char *id, const char *call_id);
/* store_interaction_record() that also writes ev (NULL = none; struct
 * store_event, below) in the same transaction, only when the interaction is new:
 * a retried webhook (*existed) writes no second event, a failed record none. */
int store_interaction_record_ev(struct store *st, struct interaction *it, int *existed, const struct store_event *ev);
int store_interaction_get(struct store *st, const char *id, struct interaction *out);
/* The interaction a carrier's call or message id started (its leg 'a'), for status
 * callbacks that cannot carry maskd's ?interaction= (Vonage's call events). */
int store_interaction_by_sid(struct store *st, enum dialect carrier, const char *carrier_sid, struct interaction *out);
int store_interaction_list(struct store *st, const char *session_id,
			   void (*cb)(void *ctx, const struct interaction *it), void *ctx);
/* Inserts or updates the leg of interaction_id with this (leg, carrier_sid): a
 * reported field overwrites, an unreported one (NULL, -1) is kept; answered sets
 * answered_at once; a final status (completed, busy, failed, no-answer, canceled,
 * delivered, undelivered, sent) sets ended_at once. A new leg 'b' takes the
 * interaction's other proxy number and country. */
int store_leg_update(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
		     const struct leg_update *u, int64_t now);
/* store_leg_update() that also writes ev (NULL = none) in the same transaction. */
int store_leg_update_ev(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
			const struct leg_update *u, int64_t now, const struct store_event *ev);

/* Call records of a service: every leg whose started_at is in [from, to), oldest
 * first, with its interaction (id, session id, channel, carrier, decision). cb
 * gets the interaction with exactly that one leg in legs[0]; returning nonzero
 * stops. cb must not call the store (the rows may still be streaming on this
 * thread's connection). No real number is read. */
int store_records(struct store *st, const char *service_id, int64_t from, int64_t to,
		  int (*cb)(void *ctx, const struct interaction *it), void *ctx);

/* Per UTC day in [from, to): interactions by channel and billable seconds.
 * messages leaves out the keyword texts (STOP, START, HELP: interaction.keyword),
 * counted apart in keywords. */
struct usage_day {
	int64_t day; /* epoch seconds of 00:00 UTC */
	int64_t calls, messages, billable_seconds, keywords;
};
int store_usage(struct store *st, const char *service_id, int64_t from, int64_t to,
		void (*cb)(void *ctx, const struct usage_day *u), void *ctx);
/* The real number of a participant (for re-answering a retried webhook).
 * MASKD_ENOTFOUND for an unknown participant or one whose number was purged. */
int store_participant_number(struct store *st, const char *participant_id, char *out, size_t cap);

/* Counts for /metrics. bindings_active: held by open sessions; bindings_cooling:
 * held by closed or blocked sessions during cool-off. */
struct store_stats {
	int64_t services, numbers, numbers_active, sessions_open, bindings_active, bindings_cooling, interactions;
};
int store_stats(struct store *st, struct store_stats *out);

/* Pool headroom of one service beyond the per-number rows of number_list. */
struct pool_stats {
	int64_t max_held;      /* the most open bindings any one real number holds in the service */
	int64_t participants;  /* distinct real numbers holding an open binding */
};
int store_pool_stats(struct store *st, const char *service_id, struct pool_stats *out);

/* ---- API keys and the audit log (migration 5). Keys are stored by the SHA-256
 * (hex) of their secret only. */

/* The key whose hash is hash (any state: the caller checks scope_key_live), or
 * MASKD_ENOTFOUND. One indexed read: revocation is seen by every node at once. */
int store_key_by_hash(struct store *st, const char *hash, struct api_key *out);
/* The key id, or MASKD_ENOTFOUND. */
int store_key_get(struct store *st, const char *id, struct api_key *out);
/* Every key, oldest first (revoked ones too). */
int store_key_list(struct store *st, void (*cb)(void *ctx, const struct api_key *k), void *ctx);
/* Sets last_used_at of key id to now when it is older (one UPDATE; the caller
 * calls it at most once per KEY_TOUCH_INTERVAL_S per key). */
int store_key_touch(struct store *st, const char *id, int64_t now);
/* Inside a store_tx_run() body: inserts k (MASKD_ECONFLICT when its id or hash
 * exists); updates live (not revoked) key id with a new hash (NULL = keep) and
 * revoked_at (0 = keep), returning 1, or 0 when there is no live key id. */
int store_tx_key_insert(struct store_tx *tx, const struct api_key *k);
int store_tx_key_update(struct store_tx *tx, const char *id, const char *hash, int64_t revoked_at);
/* Inside a body: locks the audit log for appending until the transaction ends
 * (one appender at a time on every node) and reads its last entry's seq and hash
 * (0 and AUDIT_GENESIS when empty). Then store_tx_audit_insert() adds e as is
 * (the caller chained it with core/audit.h). */
int store_tx_audit_tail(struct store_tx *tx, int64_t *seq, char hash[AUDIT_HASH_HEX]);
int store_tx_audit_insert(struct store_tx *tx, const struct audit_entry *e);
/* Up to limit entries with seq > after, in seq order, to cb. */
int store_audit_list(struct store *st, int64_t after, int limit, void (*cb)(void *ctx, const struct audit_entry *e),
		     void *ctx);
/* Which session and service participant id belongs to, and whether its real
 * number was purged; MASKD_ENOTFOUND when there is no such participant. */
int store_participant_owner(struct store *st, const char *id, char session_id[ID_MAX], char service_id[ID_MAX],
			    int *purged);

/* ---- Data-subject requests: one real number, by its blind index, across every
 * service. */
struct subject_row {
	char participant_id[ID_MAX];
	char session_id[ID_MAX];
	char service_id[ID_MAX];
	enum session_status status;
	char masked[MASK_MAX];
	char proxy_e164[PHONE_E164_MAX + 1];
	int active; /* holds its binding */
};
struct subject_optout {
	char service_id[ID_MAX];
	char number_id[ID_MAX];
	int64_t created_at;
};
/* Every participant row with blind index bidx (oldest first), and every opt-out
 * of it, to the callbacks. No real number is read. */
int store_subject_find(struct store *st, const char *bidx, void (*cb)(void *ctx, const struct subject_row *r),
		       void *ctx);
int store_subject_optouts(struct store *st, const char *bidx,
			  void (*cb)(void *ctx, const struct subject_optout *o), void *ctx);
/* A profile (core/profile.h) of one blind index, without its real number, with
 * the cool-off of its service (what a retire of it would use). */
struct subject_profile {
	struct profile p;
	int64_t cooloff;
};
/* Every profile whose real number has blind index bidx, across every service,
 * oldest first, to cb, inside a transaction (store_tx_run). No real number is read. */
int store_tx_subject_profiles(struct store_tx *tx, const char *bidx,
			      void (*cb)(void *ctx, const struct subject_profile *sp), void *ctx);
/* What an erase counts: [0] participant rows, [1] opt-outs, [2] profiles. */
#define STORE_ERASE_COUNTS 3
/* Erases blind index bidx everywhere, in one transaction: every participant row
 * of it loses its sealed number (empty), its blind index ('purged:' || id), its
 * masked form ('erased') and its binding (released at once, no cool-off); other
 * rows' peer_bidx of it becomes ""; its opt-outs and ended marks are deleted;
 * every profile of it loses its sealed number (empty), its blind index
 * ('purged:' || id) and its masked form ('erased'), and keeps the rest of its
 * row (the caller retires active ones first: their state is the profiles').
 * Sessions, interactions, legs and ids stay. The caller closes open sessions
 * first (the rule of in_use is the lifecycle's). counts[0] participant rows,
 * counts[1] opt-outs, counts[2] profiles. SQLite: deleted content is overwritten (secure_delete) and the WAL
 * is checkpointed and truncated afterwards, so that the old bytes are in no file. */
int store_subject_erase(struct store *st, const char *bidx, int64_t counts[STORE_ERASE_COUNTS]);
/* The erase of store_subject_erase() as a primitive inside a store_tx_run()
 * body, so that it commits with the caller's other writes (the sessions closed
 * first, the audit entry). After the transaction, committed or not, the caller
 * calls store_subject_settle() on the same thread: on SQLite it turns secure
 * deletion off again and checkpoints and truncates the WAL; on PostgreSQL it
 * does nothing. */
int store_tx_subject_erase(struct store_tx *tx, const char *bidx, int64_t counts[STORE_ERASE_COUNTS]);
int store_subject_settle(struct store *st);
/* ---------------------------------------------------------------- Proxy sessions */
/* A session created through the Twilio Proxy v1 API before its first participant
 * (maskd's sessions start with one): what the native row will say when it comes.
 * The row is a pending session of service_id; it holds no real number. */
struct store_proxy_session {
	char id[ID_MAX]; /* the id the native session will have */
	char service_id[ID_MAX];
	char unique_name[NAME_MAX_LEN + 1];
	int mode; /* enum session_mode */
	int64_t ttl;
	int64_t expires_at;
	int64_t created_at;
};
/* Writes r (a new row, or the unique_name, mode, ttl and expires_at of the row
 * of r->id; service_id and created_at never change). 0 or MASKD_EDB. */
int store_proxy_session_put(struct store *st, const struct store_proxy_session *r);
/* The row of id into out: 0, MASKD_ENOTFOUND or MASKD_EDB. */
int store_proxy_session_get(struct store *st, const char *id, struct store_proxy_session *out);
/* Removes the row of id (the session was deleted, or its native row written):
 * 0, MASKD_ENOTFOUND (no such row) or MASKD_EDB. */
int store_proxy_session_delete(struct store *st, const char *id);
/* store_proxy_session_put() and store_proxy_session_delete() inside tx, so
 * that what else the body writes (the change's audit entry) commits with them. */
int store_tx_proxy_session_put(struct store_tx *tx, const struct store_proxy_session *r);
int store_tx_proxy_session_delete(struct store_tx *tx, const char *id);
/* Removes every row of service_id (the service is deleted), inside tx. */
int store_tx_proxy_sessions_drop(struct store_tx *tx, const char *service_id);
/* Deletes interaction id of session session_id with its legs, inside tx (the
 * Proxy API's Interaction DELETE): 0, MASKD_ENOTFOUND (no such interaction in
 * that session; nothing deleted) or MASKD_EDB. */
int store_tx_interaction_delete(struct store_tx *tx, const char *session_id, const char *id);
/* ---------------------------------------------------------------- profiles */
/* Profiles (core/profile.h) inside a transaction (store_tx_run). The real number
 * is sealed with associated data "profile:<id>" (store_profile_ad) and found by
 * its blind index, as a participant's; no call returns it unless asked. */
#define STORE_PROFILE_AD_MAX (ID_MAX + 16)
void store_profile_ad(const char *profile_id, char ad[STORE_PROFILE_AD_MAX]);
/* Inserts p (p->number sealed; bidx its blind index). MASKD_ECONFLICT when its
 * proxy number belongs to another profile not yet freed (the unique index
 * profiles_number; nothing written, the transaction stays usable). */
int store_tx_profile_insert(struct store_tx *tx, const struct profile *p, const char *bidx);
/* Profile id into *out; with_number: out->number is unsealed too (else "").
 * MASKD_ENOTFOUND when there is none. */
int store_tx_profile_get(struct store_tx *tx, const char *id, int with_number, struct profile *out);
/* Every profile of service_id, oldest first, without its real number. */
int store_tx_profile_list(struct store_tx *tx, const char *service_id, void (*cb)(void *, const struct profile *),
			  void *ctx);
/* Writes p's label, state, retired_at, free_at and updated_at; with bidx (not
 * NULL), also its real number p->number (sealed again), masked and country.
 * MASKD_ENOTFOUND when there is no such profile. */
int store_tx_profile_put(struct store_tx *tx, const struct profile *p, const char *bidx);
/* The device swap of the participant rows made from profile_id that still hold
 * a binding (open and cooling-off sessions): each row's real number becomes
 * number (sealed again for that row), its masked form masked and its blind
 * index bidx, and the other rows of those sessions get bidx as their peer in
 * place of old_bidx. MASKD_ECONFLICT (nothing written) when number already
 * holds one of those rows' proxy numbers elsewhere (under either index version
 * while the index rotates): the binding rule. */
int store_tx_profile_rebind(struct store_tx *tx, const char *profile_id, const char *number, const char *masked,
			    const char *bidx, const char *old_bidx);
/* Frees the proxy numbers of retired profiles whose free_at <= now: each such
 * profile is marked freed, and its number, reserved for it, becomes active again.
 * Returns how many profiles, or a negative maskd_err. */
int store_tx_profiles_free_due(struct store_tx *tx, int64_t now);
/* Sets number_id's state inside a transaction. MASKD_ENOTFOUND when none. */
int store_tx_number_state(struct store_tx *tx, const char *number_id, enum number_state state);

/* ---------------------------------------------------------------- one-way sessions */
/* Row primitives of one-way sessions (core/oneway.h, flow/oneway.c), inside a
 * store_tx_run() body. Decide nothing. */
/* Marks session_id one-way (direction 1): its participant row hidden_row_id
 * becomes the hidden side (oneway 2) and gives up its binding at once (active 0,
 * so that the hidden real number may be in any number of one-way sessions on
 * the same proxy number); every other row becomes the respondent side (oneway 1).
 * MASKD_ENOTFOUND when hidden_row_id is not a row of session_id. */
int store_tx_oneway_mark(struct store_tx *tx, const char *session_id, const char *hidden_row_id);
/* The one-way sessions of service_id in which real number from_e164 is a present
 * participant (idx >= 0) on proxy number number_id, on the hidden side (hidden
 * 1) or the respondent side (hidden 0), whatever the binding state, newest first
 * (created_at, id), at most limit (<= ONEWAY_CANDIDATES_MAX) into out; *n how
 * many. A purged or erased row is never found (its blind index is gone). While
 * the index rotates, a row under either version is found. */
int store_tx_oneway_candidates(struct store_tx *tx, const char *service_id, const char *number_id,
			       const char *from_e164, int hidden, struct oneway_candidate *out, int limit, int *n);
/* The hidden rows of the one-way sessions of service_id on proxy number
 * number_id whose status is open or in progress (deadlines not checked: the
 * rules do), only those whose PIN is pin when pin is not NULL or "", newest
 * first (created_at, id), at most limit (<= ONEWAY_CANDIDATES_MAX) into out; *n
 * how many. Takes no caller: it is how a caller maskd cannot place is offered
 * a one-way PIN (core/oneway.h oneway_stranger_asked, oneway_stranger_pin_pick). */
int store_tx_oneway_on_number(struct store_tx *tx, const char *service_id, const char *number_id, const char *pin,
			      struct oneway_candidate *out, int limit, int *n);
/* The route view of participant row participant_id towards the other side of
 * its session, as store_route_lookup() fills it (the other side's real number
 * unsealed; out->number left as the caller set it). MASKD_ENOTFOUND when there
 * is no such row. */
int store_tx_oneway_view(struct store_tx *tx, const char *participant_id, struct route_view *out);

#endif
