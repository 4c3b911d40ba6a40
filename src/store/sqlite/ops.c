/* SPDX-License-Identifier: MIT */
/* ops.c - the SQLite backend's table (store_sqlite_ops): every op but close and
 * the group-committed record runs under db_lock, taken here. */
#include "sqlite_internal.h"

/* ---------------------------------------------------------------- locking */

/* The thread's hold on a store's db_lock (NULL = none): a thread holds at most one. */
static _Thread_local const struct store_sqlite *db_holder;

void sq_db_lock(struct store_sqlite *s)
{
	assert(s != NULL && db_holder != s); /* not re-entered: db_lock is not recursive */
	pthread_mutex_lock(&s->db_lock);
	assert(db_holder == NULL);
	db_holder = s;
}

void sq_db_unlock(struct store_sqlite *s)
{
	assert(db_holder == s);
	db_holder = NULL;
	pthread_mutex_unlock(&s->db_lock);
}

int sq_db_held(const struct store_sqlite *s)
{
	return s != NULL && db_holder == s;
}

/* Every op but close runs under db_lock (see struct store_sqlite). */
#define SQ_LOCKED(fn, params, args)                               \
	static int locked_##fn params                             \
	{                                                         \
		struct store_sqlite *s_ = b;                      \
		sq_db_lock(s_);                                   \
		int rc_ = fn args;                                \
		sq_db_unlock(s_);                                 \
		return rc_;                                       \
	}

SQ_LOCKED(sq_ping, (void *b), (b))
SQ_LOCKED(sq_tx_run, (void *b, int (*body)(struct store_tx *, void *), void *ctx), (b, body, ctx))
SQ_LOCKED(sq_setting_get, (void *b, const char *key, char *out, size_t cap), (b, key, out, cap))
SQ_LOCKED(sq_setting_put, (void *b, const char *key, const char *value), (b, key, value))
SQ_LOCKED(sq_setting_add, (void *b, const char *key, const char *value), (b, key, value))
SQ_LOCKED(sq_service_insert, (void *b, const struct service *svc), (b, svc))
SQ_LOCKED(sq_service_get, (void *b, const char *id, struct service *out), (b, id, out))
SQ_LOCKED(sq_service_list, (void *b, void (*cb)(void *, const struct service *), void *ctx), (b, cb, ctx))
SQ_LOCKED(sq_service_update, (void *b, const struct service *svc), (b, svc))
SQ_LOCKED(sq_number_insert, (void *b, const struct number *n), (b, n))
SQ_LOCKED(sq_number_get, (void *b, const char *id, struct number *out), (b, id, out))
SQ_LOCKED(sq_number_list, (void *b, const char *service_id, void (*cb)(void *, const struct number *), void *ctx), (b, service_id, cb, ctx))
SQ_LOCKED(sq_number_set_state, (void *b, const char *id, enum number_state state, const struct store_event *ev), (b, id, state, ev))
SQ_LOCKED(sq_number_set_region, (void *b, const char *id, const char *region), (b, id, region))
SQ_LOCKED(sq_number_delete, (void *b, const char *id), (b, id))
SQ_LOCKED(sq_session_get, (void *b, const char *id, struct session *out), (b, id, out))
SQ_LOCKED(sq_session_list, (void *b, const char *service_id, const struct session_filter *f, void (*cb)(void *, const struct session *), void *ctx), (b, service_id, f, cb, ctx))
SQ_LOCKED(sq_route_lookup, (void *b, const char *to_e164, const char *bidx, struct route_view *out), (b, to_e164, bidx, out))
SQ_LOCKED(sq_interaction_get, (void *b, const char *id, struct interaction *out), (b, id, out))
SQ_LOCKED(sq_interaction_by_sid, (void *b, enum dialect carrier, const char *carrier_sid, struct interaction *out), (b, carrier, carrier_sid, out))
SQ_LOCKED(sq_interaction_list, (void *b, const char *session_id, void (*cb)(void *, const struct interaction *), void *ctx), (b, session_id, cb, ctx))
SQ_LOCKED(sq_leg_update, (void *b, const char *interaction_id, const char *leg, const char *carrier_sid, const struct leg_update *u, int64_t now, int64_t ended_at, const struct store_event *ev), (b, interaction_id, leg, carrier_sid, u, now, ended_at, ev))
SQ_LOCKED(sq_participant_number, (void *b, const char *participant_id, char *out, size_t cap), (b, participant_id, out, cap))
SQ_LOCKED(sq_stats, (void *b, struct store_stats *out), (b, out))
SQ_LOCKED(sq_records, (void *b, const char *service_id, int64_t from, int64_t to, int (*cb)(void *, const struct interaction *), void *ctx), (b, service_id, from, to, cb, ctx))
SQ_LOCKED(sq_session_events, (void *b, const char *session_id, void (*cb)(void *, const struct session_event *), void *ctx), (b, session_id, cb, ctx))
SQ_LOCKED(sq_pin_lookup, (void *b, const char *service_id, const char *pin, const char *bidx, struct route_view *out), (b, service_id, pin, bidx, out))
SQ_LOCKED(sq_optout_set, (void *b, const char *service_id, const char *bidx, const char *number_id, int opted_out, int64_t now, const struct store_event *ev), (b, service_id, bidx, number_id, opted_out, now, ev))
SQ_LOCKED(sq_pool_stats, (void *b, const char *service_id, struct pool_stats *out), (b, service_id, out))
SQ_LOCKED(sq_key_by_hash, (void *b, const char *hash, struct api_key *out), (b, hash, out))
SQ_LOCKED(sq_key_get, (void *b, const char *id, struct api_key *out), (b, id, out))
SQ_LOCKED(sq_key_list, (void *b, void (*cb)(void *, const struct api_key *), void *ctx), (b, cb, ctx))
SQ_LOCKED(sq_key_touch, (void *b, const char *id, int64_t now), (b, id, now))
SQ_LOCKED(sq_audit_list, (void *b, int64_t after, int limit, void (*cb)(void *, const struct audit_entry *), void *ctx), (b, after, limit, cb, ctx))
SQ_LOCKED(sq_participant_owner, (void *b, const char *id, char session_id[ID_MAX], char service_id[ID_MAX], int *purged), (b, id, session_id, service_id, purged))
SQ_LOCKED(sq_subject_find, (void *b, const char *bidx, void (*cb)(void *, const struct subject_row *), void *ctx), (b, bidx, cb, ctx))
SQ_LOCKED(sq_subject_optouts, (void *b, const char *bidx, void (*cb)(void *, const struct subject_optout *), void *ctx), (b, bidx, cb, ctx))
SQ_LOCKED(sq_subject_settle, (void *b), (b))
SQ_LOCKED(sq_ended_mark, (void *b, const char *bidx, const char *number_id, int *found), (b, bidx, number_id, found))
SQ_LOCKED(sq_usage, (void *b, const char *service_id, int64_t from, int64_t to, void (*cb)(void *, const struct usage_day *), void *ctx), (b, service_id, from, to, cb, ctx))

SQ_LOCKED(sq_outbox_put, (void *b, const struct outbox_item *it, int *existed), (b, it, existed))
SQ_LOCKED(sq_outbox_claim, (void *b, int64_t now, int64_t lease_ms, int dest_cap, const char *claim, struct outbox_item *out), (b, now, lease_ms, dest_cap, claim, out))
SQ_LOCKED(sq_outbox_settle, (void *b, const char *id, const char *claim, enum outbox_status status, int64_t next_at, int64_t hold_until, const char *error, int64_t now), (b, id, claim, status, next_at, hold_until, error, now))
SQ_LOCKED(sq_outbox_get, (void *b, const char *id, struct outbox_item *out), (b, id, out))
SQ_LOCKED(sq_outbox_list, (void *b, const char *service_id, int status, int64_t after, int limit, void (*cb)(void *, const struct outbox_item *), void *ctx), (b, service_id, status, after, limit, cb, ctx))
SQ_LOCKED(sq_outbox_requeue, (void *b, const char *id, int64_t now), (b, id, now))
SQ_LOCKED(sq_outbox_stats, (void *b, int64_t *unsent, int64_t *oldest, void (*cb)(void *, const char *, int64_t, int64_t), void *ctx), (b, unsent, oldest, cb, ctx))
SQ_LOCKED(sq_outbox_recover, (void *b, int64_t now), (b, now))
SQ_LOCKED(sq_vault_reseal, (void *b, enum store_sealed what, const char *after, int limit, char last[STORE_RESEAL_KEY_MAX], int *seen, int *resealed), (b, what, after, limit, last, seen, resealed))
SQ_LOCKED(sq_vault_stale, (void *b, int version, int64_t *count), (b, version, count))
SQ_LOCKED(sq_index_sweep, (void *b, enum store_reindex what, const char *after, int limit, char last[STORE_RESEAL_KEY_MAX], int *seen, int *moved), (b, what, after, limit, last, seen, moved))
SQ_LOCKED(sq_index_stale, (void *b, int64_t *count), (b, count))
SQ_LOCKED(sq_interaction_call_id, (void *b, const char *id, const char *call_id), (b, id, call_id))
SQ_LOCKED(sq_service_events, (void *b, const char *service_id, int64_t after, int limit, void (*cb)(void *, int64_t, const char *), void *ctx), (b, service_id, after, limit, cb, ctx))
SQ_LOCKED(sq_proxy_session_get, (void *b, const char *id, struct store_proxy_session *out), (b, id, out))

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.ping = locked_sq_ping,
	.tx_run = locked_sq_tx_run,
	.setting_get = locked_sq_setting_get,
	.setting_put = locked_sq_setting_put,
	.setting_add = locked_sq_setting_add,
	.service_insert = locked_sq_service_insert,
	.service_get = locked_sq_service_get,
	.service_list = locked_sq_service_list,
	.service_update = locked_sq_service_update,
	.tx_service_update = sq_tx_service_update,
	.number_insert = locked_sq_number_insert,
	.number_get = locked_sq_number_get,
	.number_list = locked_sq_number_list,
	.number_set_state = locked_sq_number_set_state,
	.number_set_region = locked_sq_number_set_region,
	.number_delete = locked_sq_number_delete,
	.session_get = locked_sq_session_get,
	.session_list = locked_sq_session_list,
	.route_lookup = locked_sq_route_lookup,
	.interaction_record = sq_interaction_record,
	.interaction_get = locked_sq_interaction_get,
	.interaction_by_sid = locked_sq_interaction_by_sid,
	.interaction_list = locked_sq_interaction_list,
	.leg_update = locked_sq_leg_update,
	.participant_number = locked_sq_participant_number,
	.stats = locked_sq_stats,
	.records = locked_sq_records,
	.usage = locked_sq_usage,
	.session_events = locked_sq_session_events,
	.tx_session_lock = sq_tx_session_lock,
	.tx_session_put = sq_tx_session_put,
	.tx_open_taken = sq_tx_open_taken,
	.tx_bindings_hold = sq_tx_bindings_hold,
	.tx_sessions_close = sq_tx_sessions_close,
	.tx_binding_keep = sq_tx_binding_keep,
	.tx_binding_take = sq_tx_binding_take,
	.tx_numbers_in_use_add = sq_tx_numbers_in_use_add,
	.tx_sessions_due = sq_tx_sessions_due,
	.tx_bindings_release_due = sq_tx_bindings_release_due,
	.tx_sessions_purge_due = sq_tx_sessions_purge_due,
	.tx_session_purge = sq_tx_session_purge,
	.pin_lookup = locked_sq_pin_lookup,
	.optout_set = locked_sq_optout_set,
	.pool_stats = locked_sq_pool_stats,
	.blind_index = sq_blind_index,
	.blind_index_other = sq_blind_index_other,
	.tx_pool_candidates = sq_tx_pool_candidates,
	.tx_holder = sq_tx_holder,
	.tx_binding_drop = sq_tx_binding_drop,
	.tx_sticky = sq_tx_sticky,
	.tx_number_by_id = sq_tx_number_by_id,
	.tx_number_by_e164 = sq_tx_number_by_e164,
	.tx_participant_insert = sq_tx_participant_insert,
	.tx_participant_move = sq_tx_participant_move,
	.tx_peer_set = sq_tx_peer_set,
	.tx_participant_detach = sq_tx_participant_detach,
	.tx_number_count = sq_tx_number_count,
	.tx_number_uncount = sq_tx_number_uncount,
	.tx_unique_name = sq_tx_unique_name,
	.tx_pin_taken = sq_tx_pin_taken,
	.tx_session_insert = sq_tx_session_insert,
	.tx_session_touch = sq_tx_session_touch,
	.tx_event_insert = sq_tx_event_insert,
	.tx_holds = sq_tx_holds,
	.tx_pool_count = sq_tx_pool_count,
	.key_by_hash = locked_sq_key_by_hash,
	.key_get = locked_sq_key_get,
	.key_list = locked_sq_key_list,
	.key_touch = locked_sq_key_touch,
	.tx_key_insert = sq_tx_key_insert,
	.tx_key_update = sq_tx_key_update,
	.tx_audit_tail = sq_tx_audit_tail,
	.tx_audit_insert = sq_tx_audit_insert,
	.audit_list = locked_sq_audit_list,
	.participant_owner = locked_sq_participant_owner,
	.subject_find = locked_sq_subject_find,
	.subject_optouts = locked_sq_subject_optouts,
	.tx_subject_erase = sq_tx_subject_erase,
	.subject_settle = locked_sq_subject_settle,
	.ended_mark = locked_sq_ended_mark,
	.tx_ended_marks_expire = sq_tx_ended_marks_expire,
	.tx_pool_low_mark = sq_tx_pool_low_mark,
	.outbox_put = locked_sq_outbox_put,
	.outbox_claim = locked_sq_outbox_claim,
	.outbox_settle = locked_sq_outbox_settle,
	.outbox_get = locked_sq_outbox_get,
	.outbox_list = locked_sq_outbox_list,
	.outbox_requeue = locked_sq_outbox_requeue,
	.outbox_stats = locked_sq_outbox_stats,
	.outbox_recover = locked_sq_outbox_recover,
	.vault_reseal = locked_sq_vault_reseal,
	.vault_stale = locked_sq_vault_stale,
	.index_sweep = locked_sq_index_sweep,
	.index_stale = locked_sq_index_stale,
	.tx_outbox_put = sq_tx_outbox_put,
	.tx_interaction_record = sq_tx_interaction_record,
	.interaction_call_id = locked_sq_interaction_call_id,
	.tx_event_target = sq_tx_event_target,
	.tx_service_event_insert = sq_tx_service_event_insert,
	.service_events = locked_sq_service_events,
	.tx_proxy_session_put = sq_tx_proxy_session_put,
	.proxy_session_get = locked_sq_proxy_session_get,
	.tx_proxy_session_delete = sq_tx_proxy_session_delete,
	.tx_proxy_sessions_drop = sq_tx_proxy_sessions_drop,
	.tx_interaction_delete = sq_tx_interaction_delete,
	.tx_profile_insert = sq_tx_profile_insert,
	.tx_profile_get = sq_tx_profile_get,
	.tx_profile_list = sq_tx_profile_list,
	.tx_profile_put = sq_tx_profile_put,
	.tx_profile_rebind = sq_tx_profile_rebind,
	.tx_profiles_free_due = sq_tx_profiles_free_due,
	.tx_number_state = sq_tx_number_state,
	.tx_subject_profiles = sq_tx_subject_profiles,
	.tx_oneway_mark = sq_tx_oneway_mark,
	.tx_oneway_candidates = sq_tx_oneway_candidates,
	.tx_oneway_on_number = sq_tx_oneway_on_number,
	.tx_oneway_view = sq_tx_oneway_view,
};
