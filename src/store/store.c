/* SPDX-License-Identifier: MIT */
/* store.c - picks the backend named by MASKD_DB and forwards every call to it.
 * Holds no state of its own beyond the chosen table, the backend handle, a
 * cache of services and the webhook edge's memory of which service owns which
 * proxy number (store_number_owner_check()). The row primitives a transaction
 * body calls are in store_rows.c. */
#include "store.h"
#include "store_backend.h"
#include "store_internal.h"
#include "../util/err.h"
#include "../vault/vault.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The webhook path loads its service on every request: a service read is kept
 * and served from here without a query or an unseal. An update through this
 * handle replaces its entry at once; an update by another node (or another store
 * handle) is seen once the entry is older than the TTL, when the next
 * store_service_get() reloads it. Open addressing on the id; services are never
 * deleted, so entries are never removed; a full table simply stops caching. */

struct cache_entry {
	struct service svc;
	int64_t loaded_ms; /* monotonic (coarse) time of the backend read or write */
	bool fresh;        /* false: reload on the next read whatever its age */
};

/* The owner memory: proxy number -> service id, noted after a backend read named
 * the owner (store_number_owner_note()). Open addressing on the E.164 string; an
 * entry is replaced when the owner changes, never removed (it goes stale after
 * the TTL); a full table stops remembering new numbers, whose webhooks then take
 * the fallback read. 16,384 slots of ~70 bytes, allocated with the handle. */
#define NUMBER_OWNER_SLOTS 16384

struct owner_entry {
	char e164[PHONE_E164_MAX + 1]; /* "" = empty slot */
	char service_id[ID_MAX];
	_Atomic int64_t noted_ms; /* coarse monotonic time of the last note */
};



/* A cheap clock: the caches need seconds, not nanoseconds (a vDSO read, no syscall). */
int64_t store_cache_now_ms(void)
{
	struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
	clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a of a key: the caches' slot before their own modulus. */
uint32_t store_cache_hash(const char *key)
{
	uint32_t h = 2166136261u;
	for (; *key; key++)
		h = (h ^ (uint8_t)*key) * 16777619u;
	return h;
}

/* The slot holding id, or the empty slot where it would go, or -1 (table full). */
static long cache_find(struct store *st, const char *id)
{
	for (size_t i = 0, slot = store_cache_hash(id) % SERVICE_CACHE_SLOTS; i < SERVICE_CACHE_SLOTS; i++, slot = (slot + 1) % SERVICE_CACHE_SLOTS) {
		struct cache_entry *e = st->cache[slot];
		if (e == NULL || strcmp(e->svc.id, id) == 0)
			return (long)slot;
	}
	return -1;
}

/* 1 and *out when id is cached and younger than the TTL; 0 otherwise. */
static int cache_get(struct store *st, const char *id, struct service *out)
{
	int64_t now = store_cache_now_ms();
	int found = 0;
	pthread_rwlock_rdlock(&st->cache_lock);
	long slot = cache_find(st, id);
	if (slot >= 0 && st->cache[slot] != NULL) {
		const struct cache_entry *e = st->cache[slot];
		if (e->fresh && now - e->loaded_ms < st->cache_ttl_ms) {
			memcpy(out, &e->svc, sizeof(*out));
			found = 1;
		}
	}
	pthread_rwlock_unlock(&st->cache_lock);
	return found;
}

static uint64_t cache_gen(struct store *st)
{
	pthread_rwlock_rdlock(&st->cache_lock);
	uint64_t g = st->cache_gen;
	pthread_rwlock_unlock(&st->cache_lock);
	return g;
}

/* Keeps svc (read or written at generation gen_seen). When another update ran
 * since gen_seen, svc may be older than what that update wrote: the entry is
 * marked for reload instead. svc NULL marks id's entry for reload. update: this
 * is an update, which bumps the generation. */
static void cache_put(struct store *st, const char *id, const struct service *svc, uint64_t gen_seen, bool update)
{
	int64_t now = store_cache_now_ms();
	pthread_rwlock_wrlock(&st->cache_lock);
	bool raced = st->cache_gen != gen_seen;
	if (update)
		st->cache_gen++;
	long slot = cache_find(st, id);
	if (slot >= 0) {
		struct cache_entry *e = st->cache[slot];
		if (svc != NULL && !raced) {
			if (e == NULL) {
				e = xmalloc(sizeof(*e));
				st->cache[slot] = e;
			}
			memcpy(&e->svc, svc, sizeof(e->svc));
			e->loaded_ms = now;
			e->fresh = true;
		} else if (e != NULL) {
			e->fresh = false;
		}
	}
	pthread_rwlock_unlock(&st->cache_lock);
}

/* A backend that forgot an op would crash on first use: refuse it at start. */
static int ops_complete(const struct store_ops *o)
{
	const void *const fns[] = {
		(const void *)o->close, (const void *)o->ping, (const void *)o->setting_get,
		(const void *)o->tx_session_lock,
		(const void *)o->tx_session_put,
		(const void *)o->tx_open_taken,
		(const void *)o->tx_bindings_hold,
		(const void *)o->tx_sessions_close,
		(const void *)o->tx_binding_keep,
		(const void *)o->tx_binding_take,
		(const void *)o->tx_numbers_in_use_add,
		
		(const void *)o->tx_sessions_due,
		(const void *)o->tx_bindings_release_due,
		(const void *)o->tx_sessions_purge_due,
		(const void *)o->tx_session_purge,
		(const void *)o->tx_run,
		(const void *)o->setting_put, (const void *)o->setting_add, (const void *)o->service_insert,
		(const void *)o->service_get, (const void *)o->service_list, (const void *)o->service_update,
		(const void *)o->number_insert,
		(const void *)o->number_get, (const void *)o->number_list, (const void *)o->number_set_state, (const void *)o->number_set_region,
		(const void *)o->number_delete, (const void *)o->session_get,
		(const void *)o->session_list,
		(const void *)o->route_lookup, (const void *)o->interaction_record,
		(const void *)o->interaction_get, (const void *)o->interaction_by_sid, (const void *)o->interaction_list,
		(const void *)o->leg_update, (const void *)o->participant_number, (const void *)o->stats,
		(const void *)o->records, (const void *)o->usage,
		(const void *)o->session_events, (const void *)o->pin_lookup, (const void *)o->optout_set,
		(const void *)o->pool_stats,
		(const void *)o->blind_index, (const void *)o->blind_index_other,
		(const void *)o->tx_pool_candidates,
		(const void *)o->tx_holder,
		(const void *)o->tx_binding_drop,
		(const void *)o->tx_sticky,
		(const void *)o->tx_number_by_id,
		(const void *)o->tx_number_by_e164,
		(const void *)o->tx_participant_insert,
		(const void *)o->tx_participant_move,
		(const void *)o->tx_peer_set,
		(const void *)o->tx_participant_detach,
		(const void *)o->tx_number_count,
		(const void *)o->tx_number_uncount,
		(const void *)o->tx_unique_name,
		(const void *)o->tx_pin_taken,
		(const void *)o->tx_session_insert,
		(const void *)o->tx_session_touch,
		(const void *)o->tx_event_insert,
		(const void *)o->tx_holds,
		(const void *)o->tx_pool_count,
		(const void *)o->key_by_hash, (const void *)o->key_get, (const void *)o->key_list,
		(const void *)o->key_touch, (const void *)o->tx_key_insert, (const void *)o->tx_key_update,
		(const void *)o->tx_audit_tail, (const void *)o->tx_audit_insert, (const void *)o->audit_list,
		(const void *)o->participant_owner, (const void *)o->subject_find, (const void *)o->subject_optouts,
		(const void *)o->tx_subject_erase, (const void *)o->subject_settle, (const void *)o->tx_service_update,
		(const void *)o->ended_mark, (const void *)o->tx_ended_marks_expire,
		(const void *)o->outbox_put,
		(const void *)o->outbox_claim,
		(const void *)o->outbox_settle,
		(const void *)o->outbox_get,
		(const void *)o->outbox_list,
		(const void *)o->outbox_requeue,
		(const void *)o->outbox_stats,
		(const void *)o->outbox_recover,
		(const void *)o->tx_outbox_put,
		(const void *)o->tx_event_target,
		(const void *)o->tx_service_event_insert,
		(const void *)o->service_events,
		(const void *)o->tx_interaction_record,
		(const void *)o->interaction_call_id,
		(const void *)o->tx_proxy_session_put,
		(const void *)o->proxy_session_get,
		(const void *)o->tx_proxy_session_delete,
		(const void *)o->tx_proxy_sessions_drop,
		(const void *)o->tx_interaction_delete,
		(const void *)o->tx_subject_profiles,
		(const void *)o->tx_pool_low_mark,
		(const void *)o->tx_oneway_mark,
		(const void *)o->tx_oneway_candidates,
		(const void *)o->tx_oneway_on_number,
		(const void *)o->tx_oneway_view,
		(const void *)o->index_sweep, (const void *)o->index_stale,
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		if (fns[i] == NULL)
			return 0;
	return 1;
}

int store_open(const char *url, struct vault *v, struct store **out, char *err, size_t err_len)
{
	const struct store_ops *ops = NULL;
	const char *path = url;
	void *b = NULL;
	int rc;
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
		ops = &store_pg_ops;
		rc = store_pg_open(url, v, &b, err, err_len);
	} else if (strncmp(url, "postgresql:", 11) == 0 || strncmp(url, "postgres:", 9) == 0) {
		snprintf(err, err_len, "MASKD_DB: write a PostgreSQL database as postgresql://user@host/dbname");
		return MASKD_EINVAL;
	} else {
		if (strncmp(url, "sqlite:", 7) == 0)
			path = url + 7;
		if (*path == '\0') {
			snprintf(err, err_len, "MASKD_DB: empty database path");
			return MASKD_EINVAL;
		}
		ops = &store_sqlite_ops;
		rc = store_sqlite_open(path, v, &b, err, err_len);
	}
	if (rc < 0)
		return rc;
	if (!ops_complete(ops))
		fatal("store: the %s backend leaves an operation unimplemented", ops->name);
	*out = store_wrap(ops, b);
	(*out)->vault = v;
	return 0;
}

struct store *store_wrap(const struct store_ops *ops, void *backend)
{
	struct store *st = xcalloc(1, sizeof(*st));
	st->ops = ops;
	st->b = backend;
	st->cache_ttl_ms = (int64_t)SERVICE_CACHE_TTL_S * 1000;
	st->owners = xcalloc(NUMBER_OWNER_SLOTS, sizeof(*st->owners));
	pthread_rwlock_init(&st->cache_lock, NULL);
	return st;
}

int store_tx_run(struct store *st, int (*body)(struct store_tx *tx, void *ctx), void *ctx)
{
	assert(st != NULL && body != NULL);
	return store_note_write(st, st->ops->tx_run(st->b, body, ctx));
}

int store_write_health(struct store *st)
{
	return atomic_load(&st->write_failed) ? MASKD_EDB : 0;
}

int store_write_probe(struct store *st, int64_t now_ms)
{
	char v[32];
	snprintf(v, sizeof(v), "%lld", (long long)now_ms);
	return store_note_write(st, st->ops->setting_put(st->b, STORE_WRITE_PROBE_SETTING, v));
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->ops->close != NULL)
		st->ops->close(st->b);
	for (size_t i = 0; i < SERVICE_CACHE_SLOTS; i++)
		free(st->cache[i]);
	free(st->owners);
	store_settings_free(st);
	pthread_rwlock_destroy(&st->cache_lock);
	free(st);
}

int store_ping(struct store *st) { return st->ops->ping(st->b); }
int store_service_insert(struct store *st, const struct service *svc) { return store_note_write(st, st->ops->service_insert(st->b, svc)); }
int store_service_get(struct store *st, const char *id, struct service *out)
{
	if (cache_get(st, id, out))
		return 0;
	uint64_t gen = cache_gen(st);
	int rc = st->ops->service_get(st->b, id, out);
	if (rc == 0)
		cache_put(st, id, out, gen, false);
	return rc;
}
int store_service_update(struct store *st, const struct service *svc)
{
	uint64_t gen = cache_gen(st);
	int rc = st->ops->service_update(st->b, svc);
	/* on failure the row may still have changed (a commit whose answer was lost) */
	cache_put(st, svc->id, rc == 0 ? svc : NULL, gen, true);
	return store_note_write(st, rc);
}

struct service_update_job {
	const struct service *svc;
	int (*also)(struct store_tx *tx, void *ctx);
	void *ctx;
};

static int service_update_body(struct store_tx *tx, void *ctx)
{
	struct service_update_job *j = ctx;
	int rc = tx->ops->tx_service_update(tx, j->svc);
	return rc < 0 ? rc : j->also(tx, j->ctx);
}

int store_service_update_with(struct store *st, const struct service *svc,
			      int (*also)(struct store_tx *tx, void *ctx), void *ctx)
{
	assert(st != NULL && svc != NULL && also != NULL);
	uint64_t gen = cache_gen(st);
	struct service_update_job j = {svc, also, ctx};
	int rc = store_tx_run(st, service_update_body, &j);
	cache_put(st, svc->id, rc == 0 ? svc : NULL, gen, true);
	return store_note_write(st, rc);
}

/* The slot holding e164, or the empty slot where it would go, or -1 (table full).
 * Under cache_lock. */
static long owner_find(const struct store *st, const char *e164)
{
	for (size_t i = 0, slot = store_cache_hash(e164) % NUMBER_OWNER_SLOTS; i < NUMBER_OWNER_SLOTS;
	     i++, slot = (slot + 1) % NUMBER_OWNER_SLOTS) {
		const struct owner_entry *e = &st->owners[slot];
		if (e->e164[0] == '\0' || strcmp(e->e164, e164) == 0)
			return (long)slot;
	}
	return -1;
}

void store_number_owner_note(struct store *st, const char *e164, const char *service_id)
{
	assert(st != NULL && e164 != NULL && service_id != NULL);
	if (e164[0] == '\0' || strlen(e164) > PHONE_E164_MAX || service_id[0] == '\0' || strlen(service_id) >= ID_MAX)
		return;
	int64_t now = store_cache_now_ms();
	/* the common case, the same owner again: a read lock and an atomic store */
	pthread_rwlock_rdlock(&st->cache_lock);
	long slot = owner_find(st, e164);
	bool same = slot >= 0 && st->owners[slot].e164[0] != '\0' && strcmp(st->owners[slot].service_id, service_id) == 0;
	if (same)
		atomic_store(&st->owners[slot].noted_ms, now);
	pthread_rwlock_unlock(&st->cache_lock);
	if (same || slot < 0)
		return;
	pthread_rwlock_wrlock(&st->cache_lock);
	slot = owner_find(st, e164);
	if (slot >= 0) {
		struct owner_entry *e = &st->owners[slot];
		snprintf(e->e164, sizeof(e->e164), "%s", e164);
		snprintf(e->service_id, sizeof(e->service_id), "%s", service_id);
		atomic_store(&e->noted_ms, now);
	}
	pthread_rwlock_unlock(&st->cache_lock);
}

int store_number_owner_check(struct store *st, const char *e164, bool (*fn)(void *ctx, const struct service *svc),
			     void *ctx)
{
	assert(st != NULL && e164 != NULL && fn != NULL);
	if (e164[0] == '\0' || strlen(e164) > PHONE_E164_MAX)
		return MASKD_ENOTFOUND;
	int64_t now = store_cache_now_ms();
	int rc = MASKD_ENOTFOUND;
	pthread_rwlock_rdlock(&st->cache_lock);
	long slot = owner_find(st, e164);
	const struct owner_entry *o = slot >= 0 ? &st->owners[slot] : NULL;
	if (o != NULL && o->e164[0] != '\0' && now - atomic_load(&o->noted_ms) < st->cache_ttl_ms) {
		long s = cache_find(st, o->service_id);
		const struct cache_entry *e = s >= 0 ? st->cache[s] : NULL;
		if (e != NULL && e->fresh && now - e->loaded_ms < st->cache_ttl_ms)
			rc = fn(ctx, &e->svc) ? 1 : 0;
	}
	pthread_rwlock_unlock(&st->cache_lock);
	return rc;
}

void store_service_cache_ttl(struct store *st, int seconds)
{
	pthread_rwlock_wrlock(&st->cache_lock);
	st->cache_ttl_ms = (int64_t)seconds * 1000;
	pthread_rwlock_unlock(&st->cache_lock);
}
int store_service_list(struct store *st, void (*cb)(void *, const struct service *), void *ctx) { return st->ops->service_list(st->b, cb, ctx); }
int store_number_insert(struct store *st, const struct number *num) { return store_note_write(st, st->ops->number_insert(st->b, num)); }
int store_number_get(struct store *st, const char *id, struct number *out) { return st->ops->number_get(st->b, id, out); }
int store_number_list(struct store *st, const char *service_id, void (*cb)(void *, const struct number *), void *ctx) { return st->ops->number_list(st->b, service_id, cb, ctx); }
int store_number_set_state(struct store *st, const char *id, enum number_state state) { return store_number_set_state_ev(st, id, state, NULL); }
int store_number_set_state_ev(struct store *st, const char *id, enum number_state state, const struct store_event *ev) { return store_note_write(st, st->ops->number_set_state(st->b, id, state, ev)); }
int store_number_set_region(struct store *st, const char *id, const char *region) { return st->ops->number_set_region(st->b, id, region); }
int store_number_delete(struct store *st, const char *id) { return store_note_write(st, st->ops->number_delete(st->b, id)); }
int store_session_get(struct store *st, const char *id, struct session *out) { return st->ops->session_get(st->b, id, out); }
int store_session_list(struct store *st, const char *service_id, const struct session_filter *f, void (*cb)(void *, const struct session *), void *ctx) { return st->ops->session_list(st->b, service_id, f, cb, ctx); }
int store_session_events(struct store *st, const char *session_id, void (*cb)(void *, const struct session_event *), void *ctx) { return st->ops->session_events(st->b, session_id, cb, ctx); }

int store_tx_session_lock(struct store_tx *tx, const char *id, struct store_session_brief *out)
{
	assert(tx != NULL && id != NULL && out != NULL);
	return tx->ops->tx_session_lock(tx, id, out);
}

int store_tx_session_put(struct store_tx *tx, const char *id, const struct store_session_brief *b, int64_t deadline)
{
	assert(tx != NULL && id != NULL && b != NULL);
	return tx->ops->tx_session_put(tx, id, b, deadline);
}

int store_tx_open_taken(struct store_tx *tx, const char *service_id, const char *except_id, const char *unique_name, const char *pin, int *name_taken, int *pin_taken)
{
	assert(tx != NULL && service_id != NULL && name_taken != NULL && pin_taken != NULL);
	return tx->ops->tx_open_taken(tx, service_id, except_id, unique_name, pin, name_taken, pin_taken);
}

int store_tx_bindings_hold(struct store_tx *tx, const char *session_id, int64_t held_until, int active)
{
	assert(tx != NULL && session_id != NULL);
	return tx->ops->tx_bindings_hold(tx, session_id, held_until, active);
}

int store_tx_sessions_close(struct store_tx *tx, const char (*ids)[ID_MAX], const int64_t *held_until,
			    const int *active, int n, enum session_status status, const char *kind,
			    const char *detail, int64_t now)
{
	assert(tx != NULL && n >= 0 && (n == 0 || (ids != NULL && held_until != NULL && active != NULL)));
	assert(kind != NULL && detail != NULL);
	if (n == 0)
		return 0;
	return tx->ops->tx_sessions_close(tx, ids, held_until, active, n, status, kind, detail, now);
}

int store_tx_binding_keep(struct store_tx *tx, const char *participant_id)
{
	assert(tx != NULL);
	return tx->ops->tx_binding_keep(tx, participant_id);
}

int store_tx_binding_take(struct store_tx *tx, const char *participant_id, enum number_state retired)
{
	assert(tx != NULL);
	return tx->ops->tx_binding_take(tx, participant_id, retired);
}

int store_tx_numbers_in_use_add(struct store_tx *tx, const char *const *number_id, const int *delta, int n)
{
	assert(tx != NULL && n >= 0 && (n == 0 || (number_id != NULL && delta != NULL)));
	return tx->ops->tx_numbers_in_use_add(tx, number_id, delta, n);
}

int store_tx_sessions_due(struct store_tx *tx, int64_t now, int limit, char (*ids)[ID_MAX], int *n)
{
	assert(tx != NULL && ids != NULL && n != NULL && limit >= 0);
	return tx->ops->tx_sessions_due(tx, now, limit, ids, n);
}

int store_tx_bindings_release_due(struct store_tx *tx, int64_t now, int limit)
{
	assert(tx != NULL && limit >= 0);
	return tx->ops->tx_bindings_release_due(tx, now, limit);
}

int store_tx_sessions_purge_due(struct store_tx *tx, int64_t before, int limit, char (*ids)[ID_MAX], int *n)
{
	assert(tx != NULL && ids != NULL && n != NULL && limit >= 0);
	return tx->ops->tx_sessions_purge_due(tx, before, limit, ids, n);
}

int store_tx_session_purge(struct store_tx *tx, const char *id, int64_t now)
{
	assert(tx != NULL && id != NULL);
	return tx->ops->tx_session_purge(tx, id, now);
}
int store_pin_lookup(struct store *st, const char *service_id, const char *pin, const char *from_e164,
		     struct route_view *out)
{
	assert(st != NULL && service_id != NULL && pin != NULL && from_e164 != NULL && out != NULL);
	char bidx[STORE_BIDX_MAX];
	st->ops->blind_index(st->b, from_e164, bidx);
	struct number keep = out->number;
	memset(out, 0, sizeof(*out));
	out->number = keep;
	int rc = st->ops->pin_lookup(st->b, service_id, pin, bidx, out);
	char old[STORE_BIDX_MAX]; /* current, previous, current: see store_route_lookup */
	for (int k = 0; k < 2 && rc == MASKD_ENOTFOUND && store_blind_index_previous(st, from_e164, old); k++) {
		memset(out, 0, sizeof(*out));
		out->number = keep;
		rc = st->ops->pin_lookup(st->b, service_id, pin, k == 0 ? old : bidx, out);
	}
	return rc;
}

int store_optout_set(struct store *st, const char *service_id, const char *from_e164, const char *number_id,
		     int opted_out, int64_t now)
{
	return store_optout_set_ev(st, service_id, from_e164, number_id, opted_out, now, NULL);
}

int store_optout_set_ev(struct store *st, const char *service_id, const char *from_e164, const char *number_id,
			int opted_out, int64_t now, const struct store_event *ev)
{
	assert(st != NULL && service_id != NULL && from_e164 != NULL && number_id != NULL);
	char bidx[STORE_BIDX_MAX], old[STORE_BIDX_MAX];
	/* while the index rotates, under both versions: a row not re-indexed yet
	 * finds it under the old one (and START removes both) */
	if (store_blind_index_previous(st, from_e164, old)) {
		int rc = st->ops->optout_set(st->b, service_id, old, number_id, opted_out, now, NULL);
		if (rc < 0)
			return store_note_write(st, rc);
	}
	st->ops->blind_index(st->b, from_e164, bidx);
	return store_note_write(st, st->ops->optout_set(st->b, service_id, bidx, number_id, opted_out, now, ev));
}

int store_pool_stats(struct store *st, const char *service_id, struct pool_stats *out) { return st->ops->pool_stats(st->b, service_id, out); }
int store_route_lookup(struct store *st, const char *to_e164, const char *from_e164, struct route_view *out)
{
	assert(st != NULL && to_e164 != NULL && from_e164 != NULL && out != NULL);
	char bidx[STORE_BIDX_MAX];
	st->ops->blind_index(st->b, from_e164, bidx);
	memset(out, 0, sizeof(*out));
	int rc = st->ops->route_lookup(st->b, to_e164, bidx, out);
	/* current, previous, current: the re-index only moves rows from the previous
	 * version to the current one, so a row moved between the first two asks is
	 * found by the third */
	char old[STORE_BIDX_MAX];
	for (int k = 0; k < 2 && rc == 0 && out->number.id[0] != '\0' && out->session_id[0] == '\0' &&
			store_blind_index_previous(st, from_e164, old); k++) {
		memset(out, 0, sizeof(*out));
		rc = st->ops->route_lookup(st->b, to_e164, k == 0 ? old : bidx, out);
	}
	return rc;
}
int store_ended_mark(struct store *st, const char *number_id, const char *from_e164, int *found)
{
	assert(st != NULL && number_id != NULL && from_e164 != NULL && found != NULL);
	*found = 0;
	char bidx[STORE_BIDX_MAX];
	st->ops->blind_index(st->b, from_e164, bidx);
	int rc = st->ops->ended_mark(st->b, bidx, number_id, found);
	char old[STORE_BIDX_MAX]; /* current, previous, current: see store_route_lookup */
	for (int k = 0; k < 2 && rc == 0 && *found == 0 && store_blind_index_previous(st, from_e164, old); k++)
		rc = st->ops->ended_mark(st->b, k == 0 ? old : bidx, number_id, found);
	OPENSSL_cleanse(bidx, sizeof(bidx));
	OPENSSL_cleanse(old, sizeof(old));
	return rc;
}

int store_tx_pool_low_mark(struct store_tx *tx, const char *service_id, unsigned need, int low, int64_t now)
{
	assert(tx != NULL && service_id != NULL && need != 0);
	return tx->ops->tx_pool_low_mark(tx, service_id, need, low, now);
}

int store_tx_ended_marks_expire(struct store_tx *tx, int64_t before)
{
	assert(tx != NULL);
	return tx->ops->tx_ended_marks_expire(tx, before);
}

int store_interaction_record(struct store *st, struct interaction *it, int *existed) { return store_interaction_record_ev(st, it, existed, NULL); }
int store_interaction_record_ev(struct store *st, struct interaction *it, int *existed, const struct store_event *ev) { return store_note_write(st, st->ops->interaction_record(st->b, it, existed, ev)); }
int store_tx_interaction_record(struct store_tx *tx, struct interaction *it, int *existed)
{
	assert(tx != NULL && it != NULL && existed != NULL);
	return tx->ops->tx_interaction_record(tx, it, existed);
}
int store_interaction_call_id(struct store *st, const char *id, const char *call_id)
{
	assert(id != NULL && call_id != NULL && call_id[0] != '\0');
	if (strlen(call_id) >= sizeof(((struct interaction *)0)->carrier_call_id))
		return MASKD_ETOOBIG;
	return store_note_write(st, st->ops->interaction_call_id(st->b, id, call_id));
}
int store_interaction_get(struct store *st, const char *id, struct interaction *out) { return st->ops->interaction_get(st->b, id, out); }
int store_interaction_by_sid(struct store *st, enum dialect carrier, const char *carrier_sid, struct interaction *out) { return st->ops->interaction_by_sid(st->b, carrier, carrier_sid, out); }
int store_interaction_list(struct store *st, const char *session_id, void (*cb)(void *, const struct interaction *), void *ctx) { return st->ops->interaction_list(st->b, session_id, cb, ctx); }
int store_leg_update(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
		     const struct leg_update *u, int64_t now)
{
	return store_leg_update_ev(st, interaction_id, leg, carrier_sid, u, now, NULL);
}
int store_leg_update_ev(struct store *st, const char *interaction_id, char leg, const char *carrier_sid,
			const struct leg_update *u, int64_t now, const struct store_event *ev)
{
	assert(st != NULL && interaction_id != NULL && carrier_sid != NULL && u != NULL);
	const char legname[2] = {leg, '\0'};
	/* the row's ended_at: when its first final status was stored */
	int64_t ended_at = leg_status_final(u->status) ? now : 0;
	return store_note_write(st, st->ops->leg_update(st->b, interaction_id, legname, carrier_sid, u, now, ended_at, ev));
}
int store_records(struct store *st, const char *service_id, int64_t from, int64_t to, int (*cb)(void *, const struct interaction *), void *ctx) { return st->ops->records(st->b, service_id, from, to, cb, ctx); }
int store_usage(struct store *st, const char *service_id, int64_t from, int64_t to, void (*cb)(void *, const struct usage_day *), void *ctx) { return st->ops->usage(st->b, service_id, from, to, cb, ctx); }
int store_participant_number(struct store *st, const char *participant_id, char *out, size_t cap) { return st->ops->participant_number(st->b, participant_id, out, cap); }
int store_stats(struct store *st, struct store_stats *out) { return st->ops->stats(st->b, out); }

int store_note_write(struct store *st, int rc)
{
	if (rc == MASKD_EDB)
		atomic_store(&st->write_failed, 1);
	else if (rc == 0)
		atomic_store(&st->write_failed, 0);
	return rc;
}
