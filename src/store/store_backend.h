/* SPDX-License-Identifier: MIT */
/* store_backend.h - the table a storage backend fills in (OpenSMTPD's table_backend).
 * Each entry has the contract of the store_* function of the same name in store.h,
 * with the backend's own handle in place of struct store. Internal to store/. */
#ifndef MASKD_STORE_BACKEND_H
#define MASKD_STORE_BACKEND_H

#include "store.h"
#include "store_outbox.h"
#include "../vault/vault.h"

#include <stdio.h>

/* The associated data a service's carrier credentials are sealed with, the same on
 * every backend, so a sealed secret opens only for its own service and carrier.
 * A cap of ID_MAX + 32 holds it whole. */
static inline void store_secret_ad(const char *service_id, enum dialect carrier, char *ad, size_t cap)
{
	snprintf(ad, cap, "service:%s:%s", service_id, dialect_name(carrier));
}

/* Seals carrier d's credentials of svc with v into sealed, its length in *len.
 * 0 or vault_seal()'s negative maskd_err. */
static inline int store_secret_seal(const struct vault *v, const struct service *svc, enum dialect d,
				    uint8_t sealed[VAULT_SEALED_MAX], size_t *len)
{
	char ad[ID_MAX + 32];
	store_secret_ad(svc->id, d, ad, sizeof(ad));
	return vault_seal(v, svc->secrets[d], ad, sealed, VAULT_SEALED_MAX, len);
}

/* Outbox payloads are sealed in chunks of OUTBOX_SEAL_CHUNK bytes (the vault seals
 * at most VAULT_PLAIN_MAX), chunk k bound to "outbox:<id>:<k>". Every chunk but
 * the last is full, so the sealed blob splits back without a length table. */
#define OUTBOX_SEAL_CHUNK 1000
/* Seals plain[0..len) (no NUL inside) into a malloc'd *out of *out_len bytes.
 * 0, MASKD_ETOOBIG (beyond OUTBOX_PAYLOAD_MAX). Defined in store.c. */
int store_outbox_seal(const struct vault *v, const char *id, const char *plain, size_t len, uint8_t **out,
		      size_t *out_len);
/* Opens what store_outbox_seal() made into a malloc'd NUL-terminated *out.
 * 0 or MASKD_ECRYPTO. */
int store_outbox_unseal(const struct vault *v, const char *id, const uint8_t *sealed, size_t len, char **out,
			size_t *out_len);

/* A transaction in progress (store_tx_run): the table and handle of the backend
 * that runs it and that backend's connection. Valid only inside the body it is
 * passed to, on that thread. */
struct store_tx {
	const struct store_ops *ops;
	void *b;
	void *conn;
};

/* Every entry of struct store_ops but name, as X(return type, entry, parameters):
 * the table's fields and each backend's declarations of its prefixed functions
 * (pg_<entry>, sq_<entry>) are written from this one list. */
#define STORE_OPS(X) \
	X(void, close, (void *b)) \
	X(int, ping, (void *b)) \
	/* Begins a transaction, calls body with a struct store_tx for it, commits on 0, \
	 * rolls back otherwise, and re-runs body on a lost race (store_tx_run). */ \
	X(int, tx_run, (void *b, int (*body)(struct store_tx *tx, void *ctx), void *ctx)) \
	X(int, setting_get, (void *b, const char *key, char *out, size_t cap)) \
	X(int, setting_put, (void *b, const char *key, const char *value)) \
	X(int, setting_add, (void *b, const char *key, const char *value)) \
	X(int, service_insert, (void *b, const struct service *svc)) \
	X(int, service_get, (void *b, const char *id, struct service *out)) \
	X(int, service_list, (void *b, void (*cb)(void *, const struct service *), void *ctx)) \
	X(int, service_update, (void *b, const struct service *svc)) \
	X(int, tx_service_update, (struct store_tx *tx, const struct service *svc)) \
	X(int, number_insert, (void *b, const struct number *num)) \
	X(int, number_get, (void *b, const char *id, struct number *out)) \
	X(int, number_list, (void *b, const char *service_id, void (*cb)(void *, const struct number *), \
		void *ctx)) \
	X(int, number_set_state, (void *b, const char *id, enum number_state state, const struct store_event *ev)) \
	X(int, number_set_region, (void *b, const char *id, const char *region)) \
	X(int, number_delete, (void *b, const char *id)) \
	X(int, session_get, (void *b, const char *id, struct session *out)) \
	X(int, session_list, (void *b, const char *service_id, const struct session_filter *f, \
		void (*cb)(void *, const struct session *), void *ctx)) \
	X(int, session_events, (void *b, const char *session_id, \
		void (*cb)(void *, const struct session_event *), void *ctx)) \
	/* session lifecycle primitives (store_tx_* in store.h): the handle is tx->b */ \
	X(int, tx_session_lock, (struct store_tx *tx, const char *id, struct store_session_brief *out)) \
	X(int, tx_session_put, (struct store_tx *tx, const char *id, const struct store_session_brief *b, \
		int64_t deadline)) \
	X(int, tx_open_taken, (struct store_tx *tx, const char *service_id, const char *except_id, \
		const char *unique_name, const char *pin, int *name_taken, int *pin_taken)) \
	X(int, tx_bindings_hold, (struct store_tx *tx, const char *session_id, int64_t held_until, int active)) \
	X(int, tx_sessions_close, (struct store_tx *tx, const char (*ids)[ID_MAX], const int64_t *held_until, \
		const int *active, int n, enum session_status status, const char *kind, const char *detail, \
		int64_t now)) \
	X(int, tx_binding_keep, (struct store_tx *tx, const char *participant_id)) \
	X(int, tx_binding_take, (struct store_tx *tx, const char *participant_id, enum number_state retired)) \
	X(int, tx_numbers_in_use_add, (struct store_tx *tx, const char *const *number_id, const int *delta, \
		int n)) \
	X(int, tx_sessions_due, (struct store_tx *tx, int64_t now, int limit, char (*ids)[ID_MAX], int *n)) \
	X(int, tx_bindings_release_due, (struct store_tx *tx, int64_t now, int limit)) \
	X(int, tx_sessions_purge_due, (struct store_tx *tx, int64_t before, int limit, char (*ids)[ID_MAX], \
		int *n)) \
	X(int, tx_session_purge, (struct store_tx *tx, const char *id, int64_t now)) \
	/* the webhook lookups take the caller's blind index (store.c computes it with \
	 * blind_index and clears out as store.h says), never the real number */ \
	X(int, pin_lookup, (void *b, const char *service_id, const char *pin, const char *bidx, \
		struct route_view *out)) \
	X(int, optout_set, (void *b, const char *service_id, const char *bidx, const char *number_id, \
		int opted_out, int64_t now, const struct store_event *ev)) \
	X(int, pool_stats, (void *b, const char *service_id, struct pool_stats *out)) \
	X(int, route_lookup, (void *b, const char *to_e164, const char *bidx, struct route_view *out)) \
	/* ev (NULL = none): written in the record's transaction when it is new */ \
	X(int, interaction_record, (void *b, struct interaction *it, int *existed, const struct store_event *ev)) \
	X(int, interaction_get, (void *b, const char *id, struct interaction *out)) \
	X(int, interaction_by_sid, (void *b, enum dialect carrier, const char *carrier_sid, \
		struct interaction *out)) \
	X(int, interaction_list, (void *b, const char *session_id, \
		void (*cb)(void *, const struct interaction *), void *ctx)) \
	/* leg: "a" or "b"; ended_at: now on a final status, else 0 (store.c) */ \
	X(int, leg_update, (void *b, const char *interaction_id, const char *leg, const char *carrier_sid, \
		const struct leg_update *u, int64_t now, int64_t ended_at, const struct store_event *ev)) \
	X(int, records, (void *b, const char *service_id, int64_t from, int64_t to, \
		int (*cb)(void *, const struct interaction *), void *ctx)) \
	X(int, usage, (void *b, const char *service_id, int64_t from, int64_t to, \
		void (*cb)(void *, const struct usage_day *), void *ctx)) \
	X(int, participant_number, (void *b, const char *participant_id, char *out, size_t cap)) \
	X(int, stats, (void *b, struct store_stats *out)) \
	/* Row primitives (store_tx_* in store.h): tx is the body's transaction. */ \
	X(void, blind_index, (void *b, const char *e164, char out[STORE_BIDX_MAX])) \
	/* the index under the vault's other version, and 1; else out "" and 0 \
	 * (store_blind_index_previous) */ \
	X(int, blind_index_other, (void *b, const char *e164, char out[STORE_BIDX_MAX])) \
	X(int, tx_pool_candidates, (struct store_tx *tx, const struct store_pool_query *q, \
		enum store_pool_kind kind, struct store_candidate *out, int limit, int *n)) \
	X(int, tx_holder, (struct store_tx *tx, const char *bidx, const char *number_id, \
		struct store_holder *out)) \
	X(int, tx_binding_drop, (struct store_tx *tx, const char *row_id)) \
	X(int, tx_sticky, (struct store_tx *tx, const char *service_id, const char *bidx, \
		const char *bidx_old, const char *peer_bidx, const char *peer_old, char out[ID_MAX])) \
	X(int, tx_number_by_id, (struct store_tx *tx, const char *service_id, const char *id, \
		struct number *out)) \
	X(int, tx_number_by_e164, (struct store_tx *tx, const char *service_id, const char *e164, \
		struct number *out)) \
	X(int, tx_participant_insert, (struct store_tx *tx, const char *session_id, int idx, \
		const struct participant *p, const char *bidx, const char *peer_bidx, int64_t now)) \
	X(int, tx_participant_move, (struct store_tx *tx, const char *row_id, const char *number_id, \
		const char *e164)) \
	X(int, tx_peer_set, (struct store_tx *tx, const char *row_id, const char *peer_bidx)) \
	X(int, tx_participant_detach, (struct store_tx *tx, const char *session_id, const char *row_id, \
		int64_t held_until, int active)) \
	X(int, tx_number_count, (struct store_tx *tx, const char *number_id, int64_t cap)) \
	X(int, tx_number_uncount, (struct store_tx *tx, const char *number_id)) \
	X(int, tx_unique_name, (struct store_tx *tx, const char *service_id, const char *unique_name, \
		char existing_id[ID_MAX], char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX], int *n)) \
	X(int, tx_pin_taken, (struct store_tx *tx, const char *service_id, const char *pin)) \
	X(int, tx_session_insert, (struct store_tx *tx, const struct session *s, int64_t deadline)) \
	X(int, tx_session_touch, (struct store_tx *tx, const char *id, int64_t now)) \
	X(int, tx_event_insert, (struct store_tx *tx, const char *session_id, const char *kind, \
		const char *participant_id, const char *detail, int64_t now)) \
	X(int, tx_holds, (struct store_tx *tx, const struct store_pool_query *q, int64_t *held, int64_t *k)) \
	X(int, tx_pool_count, (struct store_tx *tx, const struct store_pool_query *q, int limit, \
		int64_t *total)) \
	X(int, key_by_hash, (void *b, const char *hash, struct api_key *out)) \
	X(int, key_get, (void *b, const char *id, struct api_key *out)) \
	X(int, key_list, (void *b, void (*cb)(void *, const struct api_key *), void *ctx)) \
	X(int, key_touch, (void *b, const char *id, int64_t now)) \
	X(int, tx_key_insert, (struct store_tx *tx, const struct api_key *k)) \
	X(int, tx_key_update, (struct store_tx *tx, const char *id, const char *hash, int64_t revoked_at)) \
	X(int, tx_audit_tail, (struct store_tx *tx, int64_t *seq, char hash[AUDIT_HASH_HEX])) \
	X(int, tx_audit_insert, (struct store_tx *tx, const struct audit_entry *e)) \
	X(int, audit_list, (void *b, int64_t after, int limit, void (*cb)(void *, const struct audit_entry *), \
		void *ctx)) \
	X(int, participant_owner, (void *b, const char *id, char session_id[ID_MAX], char service_id[ID_MAX], \
		int *purged)) \
	X(int, subject_find, (void *b, const char *bidx, void (*cb)(void *, const struct subject_row *), void *ctx)) \
	X(int, subject_optouts, (void *b, const char *bidx, void (*cb)(void *, const struct subject_optout *), \
		void *ctx)) \
	X(int, tx_subject_erase, (struct store_tx *tx, const char *bidx, int64_t counts[STORE_ERASE_COUNTS])) \
	X(int, subject_settle, (void *b)) \
	/* the ended marks (store.h store_ended_mark, store_tx_ended_marks_expire) */ \
	X(int, ended_mark, (void *b, const char *bidx, const char *number_id, int *found)) \
	X(int, tx_ended_marks_expire, (struct store_tx *tx, int64_t before)) \
	/* the outbox (store.h store_outbox_*) */ \
	X(int, outbox_put, (void *b, const struct outbox_item *it, int *existed)) \
	X(int, outbox_claim, (void *b, int64_t now, int64_t lease_ms, int dest_cap, const char *claim, \
		struct outbox_item *out)) \
	X(int, outbox_settle, (void *b, const char *id, const char *claim, enum outbox_status status, \
		int64_t next_at, int64_t hold_until, const char *error, int64_t now)) \
	X(int, outbox_get, (void *b, const char *id, struct outbox_item *out)) \
	X(int, outbox_list, (void *b, const char *service_id, int status, int64_t after, int limit, \
		void (*cb)(void *, const struct outbox_item *), void *ctx)) \
	X(int, outbox_requeue, (void *b, const char *id, int64_t now)) \
	X(int, outbox_stats, (void *b, int64_t *unsent, int64_t *oldest, \
		void (*cb)(void *, const char *, int64_t, int64_t), void *ctx)) \
	X(int, outbox_recover, (void *b, int64_t now)) \
	/* key rotation (store.h store_vault_*) */ \
	X(int, vault_reseal, (void *b, enum store_sealed what, const char *after, int limit, \
		char last[STORE_RESEAL_KEY_MAX], int *seen, int *resealed)) \
	X(int, vault_stale, (void *b, int version, int64_t *count)) \
	X(int, index_sweep, (void *b, enum store_reindex what, const char *after, int limit, \
		char last[STORE_RESEAL_KEY_MAX], int *seen, int *moved)) \
	X(int, index_stale, (void *b, int64_t *count)) \
	/* service events (store.h store_tx_event_target ...) */ \
	X(int, tx_outbox_put, (struct store_tx *tx, const struct outbox_item *it, int *existed)) \
	X(int, tx_event_target, (struct store_tx *tx, const char *session_id, char service_id[ID_MAX], \
		char *events_url, size_t cap, int *pull_off)) \
	X(int, tx_service_event_insert, (struct store_tx *tx, const char *id, const char *service_id, \
		const char *type, const char *body, int64_t created_at)) \
	/* click-to-call (store.h store_tx_interaction_record, store_interaction_call_id) */ \
	X(int, tx_interaction_record, (struct store_tx *tx, struct interaction *it, int *existed)) \
	X(int, interaction_call_id, (void *b, const char *id, const char *call_id)) \
	X(int, service_events, (void *b, const char *service_id, int64_t after, int limit, \
		void (*cb)(void *, int64_t, const char *), void *ctx)) \
	/* Proxy v1 pending sessions (store.h store_proxy_session_*) */ \
	X(int, tx_proxy_session_put, (struct store_tx *tx, const struct store_proxy_session *r)) \
	X(int, proxy_session_get, (void *b, const char *id, struct store_proxy_session *out)) \
	X(int, tx_proxy_session_delete, (struct store_tx *tx, const char *id)) \
	X(int, tx_proxy_sessions_drop, (struct store_tx *tx, const char *service_id)) \
	X(int, tx_interaction_delete, (struct store_tx *tx, const char *session_id, const char *id)) \
	/* profiles (store.h store_tx_profile_*) */ \
	X(int, tx_profile_insert, (struct store_tx *tx, const struct profile *p, const char *bidx)) \
	X(int, tx_profile_get, (struct store_tx *tx, const char *id, int with_number, struct profile *out)) \
	X(int, tx_profile_list, (struct store_tx *tx, const char *service_id, \
		void (*cb)(void *, const struct profile *), void *ctx)) \
	X(int, tx_profile_put, (struct store_tx *tx, const struct profile *p, const char *bidx)) \
	X(int, tx_profile_rebind, (struct store_tx *tx, const char *profile_id, const char *number, \
		const char *masked, const char *bidx, const char *bidx_other, const char *old_bidx)) \
	X(int, tx_profiles_free_due, (struct store_tx *tx, int64_t now)) \
	X(int, tx_number_state, (struct store_tx *tx, const char *number_id, enum number_state state)) \
	/* data-subject requests on profiles (store.h store_tx_subject_profiles) */ \
	X(int, tx_subject_profiles, (struct store_tx *tx, const char *bidx, \
		void (*cb)(void *, const struct subject_profile *), void *ctx)) \
	/* pool alerts (store.h store_tx_pool_low_mark) */ \
	X(int, tx_pool_low_mark, (struct store_tx *tx, const char *service_id, unsigned need, int low, \
		int64_t now)) \
	/* one-way sessions (store.h store_tx_oneway_*); candidates take the blind index */ \
	X(int, tx_oneway_mark, (struct store_tx *tx, const char *session_id, const char *hidden_row_id)) \
	X(int, tx_oneway_candidates, (struct store_tx *tx, const char *service_id, const char *number_id, \
		const char *bidx, const char *bidx_old, int hidden, struct oneway_candidate *out, int limit, int *n)) \
	X(int, tx_oneway_on_number, (struct store_tx *tx, const char *service_id, const char *number_id, \
		const char *pin, struct oneway_candidate *out, int limit, int *n)) \
	X(int, tx_oneway_view, (struct store_tx *tx, const char *participant_id, struct route_view *out))

/* Opens old (len bytes, a value of kind what) and seals it again with v's current
 * key version into a malloc'd *out of *out_len bytes. The row is named by a and
 * b: the participant or outbox id (b unused), a secret's service id and
 * carrier name, or a Proxy account's settings key (b unused; old and *out are
 * the row's JSON text). 0, or MASKD_ECRYPTO (it does not open: wrong or unknown version,
 * nothing in *out). Defined in store.c; the backends' vault_reseal use it. */
int store_reseal_value(const struct vault *v, enum store_sealed what, const char *a, const char *b,
		       const uint8_t *old, size_t len, uint8_t **out, size_t *out_len);

/* The new index of a re-indexed row: opens sealed (the participant's or, with
 * profile set, the profile's number, row id) and writes its index under the
 * current index version to out, and the current version's prefix ("N." or "")
 * to prefix. 0 or MASKD_ECRYPTO. Defined in store.c; both backends' index_sweep. */
int store_reindex_value(const struct vault *v, bool profile, const char *id, const uint8_t *sealed, size_t len,
			char out[STORE_BIDX_MAX]);
void store_index_prefix(const struct vault *v, char prefix[8]);

#define STORE_OP_FIELD(ret, entry, params) ret(*entry) params;

struct store_ops {
	const char *name;
	STORE_OPS(STORE_OP_FIELD)
};

/* A store over any table and handle, without the completeness check of
 * store_open(): for unit tests that give the layers above a fake backend (an
 * entry left NULL must not be called). store_close() calls ops->close(backend)
 * when it is set. Never fails (aborts on out of memory). */
struct store *store_wrap(const struct store_ops *ops, void *backend);

/* Backend constructors: open path (backend-specific form), migrate, return the
 * backend handle in *out. */
int store_sqlite_open(const char *path, struct vault *v, void **out, char *err, size_t err_len);
extern const struct store_ops store_sqlite_ops;
/* url: a postgresql:// or postgres:// URL (libpq syntax). */
int store_pg_open(const char *url, struct vault *v, void **out, char *err, size_t err_len);
extern const struct store_ops store_pg_ops;

#endif
