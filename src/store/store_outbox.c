/* SPDX-License-Identifier: MIT */
/* store_outbox.c - the backend-independent half of the outbox, vault key
 * re-sealing and the blind-index rotation, service events and Proxy pending sessions (store.h): contracts checked, then forwarded to
 * the backend; writes recorded for store_write_health(). */
#include "store.h"
#include "store_backend.h"
#include "store_internal.h"
#include "../util/err.h"
#include "../util/hex.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the outbox */
int store_outbox_put(struct store *st, const struct outbox_item *it, int *existed)
{
	assert(st != NULL && it != NULL && existed != NULL && it->id[0] != '\0' && it->dedup_key[0] != '\0');
	assert(it->payload != NULL && memchr(it->payload, '\0', it->payload_len) == NULL);
	*existed = 0;
	return store_note_write(st, st->ops->outbox_put(st->b, it, existed));
}
int store_outbox_claim(struct store *st, int64_t now, int64_t lease_ms, int dest_cap, const char *claim,
		       struct outbox_item *out)
{
	assert(st != NULL && claim != NULL && claim[0] != '\0' && out != NULL && lease_ms > 0 && dest_cap > 0);
	memset(out, 0, sizeof(*out));
	return st->ops->outbox_claim(st->b, now, lease_ms, dest_cap, claim, out);
}
int store_outbox_settle(struct store *st, const char *id, const char *claim, enum outbox_status status,
			int64_t next_at, int64_t hold_until, const char *error, int64_t now)
{
	assert(st != NULL && id != NULL && claim != NULL && status != OUTBOX_SENDING);
	return store_note_write(st, st->ops->outbox_settle(st->b, id, claim, status, next_at, hold_until, error ? error : "", now));
}
int store_outbox_get(struct store *st, const char *id, struct outbox_item *out)
{
	assert(st != NULL && id != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	return st->ops->outbox_get(st->b, id, out);
}
int store_outbox_list(struct store *st, const char *service_id, int status, int64_t after, int limit,
		      void (*cb)(void *ctx, const struct outbox_item *it), void *ctx)
{
	assert(st != NULL && service_id != NULL && cb != NULL && limit > 0);
	return st->ops->outbox_list(st->b, service_id, status, after, limit, cb, ctx);
}
int store_outbox_requeue(struct store *st, const char *id, int64_t now)
{
	assert(st != NULL && id != NULL);
	return store_note_write(st, st->ops->outbox_requeue(st->b, id, now));
}
int store_outbox_stats(struct store *st, int64_t *unsent, int64_t *oldest,
		       void (*cb)(void *ctx, const char *destination, int64_t unsent, int64_t failed), void *ctx)
{
	assert(st != NULL && unsent != NULL && oldest != NULL);
	*unsent = 0;
	*oldest = 0;
	return st->ops->outbox_stats(st->b, unsent, oldest, cb, ctx);
}
int store_outbox_recover(struct store *st, int64_t now)
{
	assert(st != NULL);
	return store_note_write(st, st->ops->outbox_recover(st->b, now));
}

static void chunk_ad(const char *id, size_t k, char *ad, size_t cap)
{
	snprintf(ad, cap, "outbox:%s:%zu", id, k);
}

int store_outbox_seal(const struct vault *v, const char *id, const char *plain, size_t len, uint8_t **out,
		      size_t *out_len)
{
	size_t chunks = len / OUTBOX_SEAL_CHUNK + 1; /* the last may be empty: it marks the end */
	size_t cap = len + chunks * VAULT_OVERHEAD;
	if (cap > OUTBOX_PAYLOAD_MAX)
		return MASKD_ETOOBIG;
	uint8_t *buf = xmalloc(cap);
	char piece[OUTBOX_SEAL_CHUNK + 1], ad[ID_MAX + 32];
	size_t at = 0;
	for (size_t k = 0; k < chunks; k++) {
		size_t n = len - k * OUTBOX_SEAL_CHUNK < OUTBOX_SEAL_CHUNK ? len - k * OUTBOX_SEAL_CHUNK : OUTBOX_SEAL_CHUNK;
		memcpy(piece, plain + k * OUTBOX_SEAL_CHUNK, n);
		piece[n] = '\0';
		chunk_ad(id, k, ad, sizeof(ad));
		size_t got = 0;
		int rc = vault_seal(v, piece, ad, buf + at, cap - at, &got);
		OPENSSL_cleanse(piece, sizeof(piece));
		if (rc < 0) {
			free(buf);
			return rc;
		}
		at += got;
	}
	assert(at == cap);
	*out = buf;
	*out_len = at;
	return 0;
}

int store_outbox_unseal(const struct vault *v, const char *id, const uint8_t *sealed, size_t len, char **out,
			size_t *out_len)
{
	size_t full = OUTBOX_SEAL_CHUNK + VAULT_OVERHEAD;
	size_t chunks = len / full + 1;
	if (len % full < VAULT_OVERHEAD)
		return MASKD_ECRYPTO;
	size_t plain_len = len - chunks * VAULT_OVERHEAD;
	char *buf = xmalloc(plain_len + 1);
	char ad[ID_MAX + 32];
	size_t at = 0;
	for (size_t k = 0; k < chunks; k++) {
		size_t n = k + 1 < chunks ? full : len - k * full;
		chunk_ad(id, k, ad, sizeof(ad));
		int rc = vault_unseal(v, sealed + k * full, n, ad, buf + at, plain_len + 1 - at);
		if (rc < 0) {
			OPENSSL_cleanse(buf, plain_len + 1);
			free(buf);
			return MASKD_ECRYPTO;
		}
		at += n - VAULT_OVERHEAD;
	}
	buf[plain_len] = '\0';
	*out = buf;
	*out_len = plain_len;
	return 0;
}

/* ---------------------------------------------------------------- key rotation */

int store_vault_reseal(struct store *st, enum store_sealed what, const char *after, int limit,
		       char last[STORE_RESEAL_KEY_MAX], int *seen, int *resealed)
{
	assert(st != NULL && after != NULL && limit > 0 && last != NULL && seen != NULL && resealed != NULL);
	assert(what >= 0 && what < STORE_SEALED_COUNT);
	*seen = *resealed = 0;
	last[0] = '\0';
	return store_note_write(st, st->ops->vault_reseal(st->b, what, after, limit, last, seen, resealed));
}

int store_vault_stale(struct store *st, int version, int64_t *count)
{
	assert(st != NULL && count != NULL && version >= 1 && version <= VAULT_VERSION_MAX);
	*count = 0;
	return st->ops->vault_stale(st->b, version, count);
}

/* A Proxy account row (STORE_SEALED_PROXY_ACCOUNTS): the JSON text old[0..len)
 * of the settings row named key, its auth_token_sealed re-sealed under the
 * current version, every other field kept, into *out (malloc'd text, no NUL
 * counted in *out_len). */
static int reseal_account(const struct vault *v, const char *key, const uint8_t *old, size_t len, uint8_t **out,
			  size_t *out_len)
{
	json_t *o = json_loadb((const char *)old, len, 0, NULL);
	const char *hex = json_string_value(json_object_get(o, "auth_token_sealed"));
	uint8_t *blob = xmalloc(VAULT_SEALED_MAX);
	char plain[VAULT_PLAIN_MAX + 1];
	int rc = MASKD_ECRYPTO;
	long n = hex != NULL ? hex_decode(hex, strlen(hex), blob, VAULT_SEALED_MAX) : -1;
	if (n <= 0 || vault_unseal(v, blob, (size_t)n, key, plain, sizeof(plain)) < 0)
		goto done;
	size_t sealed_len = 0;
	if (vault_seal(v, plain, key, blob, VAULT_SEALED_MAX, &sealed_len) < 0)
		goto done;
	char *fresh = xmalloc(2 * sealed_len + 1);
	hex_encode(blob, sealed_len, fresh);
	json_object_set_new(o, "auth_token_sealed", json_string(fresh));
	free(fresh);
	char *text = json_dumps(o, JSON_COMPACT);
	if (text != NULL) {
		*out = (uint8_t *)text;
		*out_len = strlen(text);
		rc = 0;
	}
done:
	OPENSSL_cleanse(plain, sizeof(plain));
	free(blob);
	json_decref(o);
	return rc;
}

int store_reseal_value(const struct vault *v, enum store_sealed what, const char *a, const char *b,
		       const uint8_t *old, size_t len, uint8_t **out, size_t *out_len)
{
	assert(v != NULL && a != NULL && old != NULL && out != NULL && out_len != NULL);
	*out = NULL;
	*out_len = 0;
	if (what == STORE_SEALED_PROXY_ACCOUNTS)
		return reseal_account(v, a, old, len, out, out_len);
	if (what == STORE_SEALED_OUTBOX) {
		char *plain = NULL;
		size_t plain_len = 0;
		if (store_outbox_unseal(v, a, old, len, &plain, &plain_len) < 0)
			return MASKD_ECRYPTO;
		int rc = store_outbox_seal(v, a, plain, plain_len, out, out_len);
		OPENSSL_cleanse(plain, plain_len);
		free(plain);
		return rc < 0 ? MASKD_ECRYPTO : 0;
	}
	char ad[ID_MAX + 32];
	if (what == STORE_SEALED_SECRETS) {
		int d = b != NULL ? dialect_from_name(b) : -1;
		if (d < 0)
			return MASKD_ECRYPTO;
		store_secret_ad(a, (enum dialect)d, ad, sizeof(ad));
	} else if (what == STORE_SEALED_PROFILES) {
		_Static_assert(STORE_PROFILE_AD_MAX <= ID_MAX + 32, "a profile's associated data fits ad");
		store_profile_ad(a, ad);
	} else {
		snprintf(ad, sizeof(ad), "%s", a);
	}
	char plain[VAULT_PLAIN_MAX + 1];
	int rc = vault_unseal(v, old, len, ad, plain, sizeof(plain));
	if (rc < 0)
		return MASKD_ECRYPTO;
	uint8_t *buf = xmalloc(VAULT_SEALED_MAX);
	rc = vault_seal(v, plain, ad, buf, VAULT_SEALED_MAX, out_len);
	OPENSSL_cleanse(plain, sizeof(plain));
	if (rc < 0) {
		free(buf);
		*out_len = 0;
		return MASKD_ECRYPTO;
	}
	*out = buf;
	return 0;
}

/* ---------------------------------------------------------------- service events */

int store_tx_outbox_put(struct store_tx *tx, const struct outbox_item *it, int *existed)
{
	assert(tx != NULL && it != NULL && existed != NULL);
	return tx->ops->tx_outbox_put(tx, it, existed);
}

int store_tx_event_target(struct store_tx *tx, const char *session_id, char service_id[ID_MAX], char *events_url,
			  size_t cap, int *pull_off)
{
	assert(tx != NULL && session_id != NULL && service_id != NULL && events_url != NULL && cap > 0 &&
	       pull_off != NULL);
	*pull_off = 0;
	return tx->ops->tx_event_target(tx, session_id, service_id, events_url, cap, pull_off);
}

int store_tx_service_event_insert(struct store_tx *tx, const char *id, const char *service_id, const char *type,
				  const char *body, int64_t created_at)
{
	assert(tx != NULL && id != NULL && service_id != NULL && type != NULL && body != NULL);
	return tx->ops->tx_service_event_insert(tx, id, service_id, type, body, created_at);
}

int store_service_events(struct store *st, const char *service_id, int64_t after, int limit,
			 void (*cb)(void *ctx, int64_t seq, const char *body), void *ctx)
{
	assert(st != NULL && service_id != NULL && cb != NULL && limit >= 1 && limit <= SERVICE_EVENT_PAGE_MAX);
	return st->ops->service_events(st->b, service_id, after, limit, cb, ctx);
}

/* ---------------------------------------------------------------- Proxy sessions */

static int proxy_put_body(struct store_tx *tx, void *ctx)
{
	return store_tx_proxy_session_put(tx, ctx);
}

int store_proxy_session_put(struct store *st, const struct store_proxy_session *r)
{
	assert(st != NULL && r != NULL && r->id[0] != '\0' && r->service_id[0] != '\0');
	return store_tx_run(st, proxy_put_body, (void *)r);
}

int store_tx_proxy_session_put(struct store_tx *tx, const struct store_proxy_session *r)
{
	assert(tx != NULL && r != NULL && r->id[0] != '\0' && r->service_id[0] != '\0');
	return tx->ops->tx_proxy_session_put(tx, r);
}

int store_proxy_session_get(struct store *st, const char *id, struct store_proxy_session *out)
{
	assert(st != NULL && id != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	return st->ops->proxy_session_get(st->b, id, out);
}

static int proxy_delete_body(struct store_tx *tx, void *ctx)
{
	return store_tx_proxy_session_delete(tx, ctx);
}

int store_proxy_session_delete(struct store *st, const char *id)
{
	assert(st != NULL && id != NULL);
	return store_tx_run(st, proxy_delete_body, (void *)id);
}

int store_tx_proxy_session_delete(struct store_tx *tx, const char *id)
{
	assert(tx != NULL && id != NULL);
	return tx->ops->tx_proxy_session_delete(tx, id);
}

int store_tx_proxy_sessions_drop(struct store_tx *tx, const char *service_id)
{
	assert(tx != NULL && service_id != NULL);
	return tx->ops->tx_proxy_sessions_drop(tx, service_id);
}

int store_tx_interaction_delete(struct store_tx *tx, const char *session_id, const char *id)
{
	assert(tx != NULL && session_id != NULL && id != NULL);
	return tx->ops->tx_interaction_delete(tx, session_id, id);
}

int store_tx_event_put(struct store_tx *tx, const struct store_event *ev)
{
	assert(tx != NULL && ev != NULL && ev->id != NULL && ev->service_id != NULL && ev->type != NULL &&
	       ev->body != NULL);
	int rc = 0;
	if (!ev->pull_off)
		rc = tx->ops->tx_service_event_insert(tx, ev->id, ev->service_id, ev->type, ev->body, ev->created_at);
	int existed = 0;
	if (rc == 0 && ev->delivery != NULL)
		rc = tx->ops->tx_outbox_put(tx, ev->delivery, &existed);
	if (rc == 0 && ev->proxy_delivery != NULL)
		rc = tx->ops->tx_outbox_put(tx, ev->proxy_delivery, &existed);
	return rc;
}

/* ---- the blind-index rotation */

int store_index_sweep(struct store *st, enum store_reindex what, const char *after, int limit,
		      char last[STORE_RESEAL_KEY_MAX], int *seen, int *moved)
{
	assert(st != NULL && after != NULL && limit > 0 && last != NULL && seen != NULL && moved != NULL);
	*seen = *moved = 0;
	last[0] = '\0';
	return store_note_write(st, st->ops->index_sweep(st->b, what, after, limit, last, seen, moved));
}

int store_index_stale(struct store *st, int64_t *count)
{
	assert(st != NULL && count != NULL);
	*count = 0;
	return st->ops->index_stale(st->b, count);
}

void store_index_prefix(const struct vault *v, char prefix[8])
{
	int current = vault_index_current(v);
	if (current == 1)
		prefix[0] = '\0';
	else
		snprintf(prefix, 8, "%d.", current);
}

int store_reindex_value(const struct vault *v, bool profile, const char *id, const uint8_t *sealed, size_t len,
			char out[STORE_BIDX_MAX])
{
	assert(v != NULL && id != NULL && sealed != NULL && out != NULL);
	char ad[STORE_PROFILE_AD_MAX];
	if (profile)
		store_profile_ad(id, ad);
	else
		snprintf(ad, sizeof(ad), "%s", id);
	char plain[64];
	int rc = vault_unseal(v, sealed, len, ad, plain, sizeof(plain));
	if (rc == 0)
		vault_blind_index(v, plain, out);
	OPENSSL_cleanse(plain, sizeof(plain));
	return rc == 0 ? 0 : MASKD_ECRYPTO;
}
