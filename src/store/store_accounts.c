/* SPDX-License-Identifier: MIT */
/* store_accounts.c - the store's API keys, audit log and profiles (store.h): checks
 * and dispatch to the backend; no rules beyond them. */
#include "store.h"
#include "store_backend.h"
#include "store_internal.h"
#include "../util/err.h"
#include "../util/xmalloc.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- keys and audit */

int store_key_by_hash(struct store *st, const char *hash, struct api_key *out)
{
	assert(st != NULL && hash != NULL && out != NULL);
	return st->ops->key_by_hash(st->b, hash, out);
}

int store_key_get(struct store *st, const char *id, struct api_key *out)
{
	assert(st != NULL && id != NULL && out != NULL);
	return st->ops->key_get(st->b, id, out);
}

int store_key_list(struct store *st, void (*cb)(void *ctx, const struct api_key *k), void *ctx)
{
	assert(st != NULL && cb != NULL);
	return st->ops->key_list(st->b, cb, ctx);
}

int store_key_touch(struct store *st, const char *id, int64_t now)
{
	assert(st != NULL && id != NULL);
	return store_note_write(st, st->ops->key_touch(st->b, id, now));
}

int store_tx_key_insert(struct store_tx *tx, const struct api_key *k)
{
	assert(tx != NULL && k != NULL);
	return tx->ops->tx_key_insert(tx, k);
}

int store_tx_key_update(struct store_tx *tx, const char *id, const char *hash, int64_t revoked_at)
{
	assert(tx != NULL && id != NULL);
	return tx->ops->tx_key_update(tx, id, hash, revoked_at);
}

int store_tx_audit_tail(struct store_tx *tx, int64_t *seq, char hash[AUDIT_HASH_HEX])
{
	assert(tx != NULL && seq != NULL && hash != NULL);
	return tx->ops->tx_audit_tail(tx, seq, hash);
}

int store_tx_audit_insert(struct store_tx *tx, const struct audit_entry *e)
{
	assert(tx != NULL && e != NULL);
	return tx->ops->tx_audit_insert(tx, e);
}

int store_audit_list(struct store *st, int64_t after, int limit, void (*cb)(void *ctx, const struct audit_entry *e),
		     void *ctx)
{
	assert(st != NULL && cb != NULL && limit > 0);
	return st->ops->audit_list(st->b, after, limit, cb, ctx);
}

int store_participant_owner(struct store *st, const char *id, char session_id[ID_MAX], char service_id[ID_MAX],
			    int *purged)
{
	assert(st != NULL && id != NULL && session_id != NULL && service_id != NULL && purged != NULL);
	return st->ops->participant_owner(st->b, id, session_id, service_id, purged);
}

int store_subject_find(struct store *st, const char *bidx, void (*cb)(void *ctx, const struct subject_row *r),
		       void *ctx)
{
	assert(st != NULL && bidx != NULL && cb != NULL);
	return st->ops->subject_find(st->b, bidx, cb, ctx);
}

int store_subject_optouts(struct store *st, const char *bidx,
			  void (*cb)(void *ctx, const struct subject_optout *o), void *ctx)
{
	assert(st != NULL && bidx != NULL && cb != NULL);
	return st->ops->subject_optouts(st->b, bidx, cb, ctx);
}

int store_tx_subject_erase(struct store_tx *tx, const char *bidx, int64_t counts[STORE_ERASE_COUNTS])
{
	assert(tx != NULL && bidx != NULL && counts != NULL);
	return tx->ops->tx_subject_erase(tx, bidx, counts);
}

int store_tx_subject_profiles(struct store_tx *tx, const char *bidx,
			      void (*cb)(void *ctx, const struct subject_profile *sp), void *ctx)
{
	assert(tx != NULL && bidx != NULL && cb != NULL);
	return tx->ops->tx_subject_profiles(tx, bidx, cb, ctx);
}

int store_subject_settle(struct store *st)
{
	assert(st != NULL);
	return st->ops->subject_settle(st->b);
}

struct erase_job {
	const char *bidx;
	int64_t *counts;
};

static int erase_body(struct store_tx *tx, void *ctx)
{
	struct erase_job *j = ctx;
	return store_tx_subject_erase(tx, j->bidx, j->counts);
}

int store_subject_erase(struct store *st, const char *bidx, int64_t counts[STORE_ERASE_COUNTS])
{
	assert(st != NULL && bidx != NULL && counts != NULL);
	struct erase_job j = {bidx, counts};
	int rc = store_tx_run(st, erase_body, &j);
	store_subject_settle(st);
	return store_note_write(st, rc);
}

/* ---------------------------------------------------------------- profiles */

void store_profile_ad(const char *profile_id, char ad[STORE_PROFILE_AD_MAX])
{
	assert(profile_id != NULL && ad != NULL);
	snprintf(ad, STORE_PROFILE_AD_MAX, "profile:%s", profile_id);
}

int store_tx_profile_insert(struct store_tx *tx, const struct profile *p, const char *bidx)
{
	assert(tx != NULL && p != NULL && bidx != NULL && p->number[0] != '\0');
	return tx->ops->tx_profile_insert(tx, p, bidx);
}

int store_tx_profile_get(struct store_tx *tx, const char *id, int with_number, struct profile *out)
{
	assert(tx != NULL && id != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	return tx->ops->tx_profile_get(tx, id, with_number, out);
}

int store_tx_profile_list(struct store_tx *tx, const char *service_id, void (*cb)(void *, const struct profile *),
			  void *ctx)
{
	assert(tx != NULL && service_id != NULL && cb != NULL);
	return tx->ops->tx_profile_list(tx, service_id, cb, ctx);
}

int store_tx_profile_put(struct store_tx *tx, const struct profile *p, const char *bidx)
{
	assert(tx != NULL && p != NULL && (bidx == NULL || p->number[0] != '\0'));
	return tx->ops->tx_profile_put(tx, p, bidx);
}

int store_tx_profile_rebind(struct store_tx *tx, const char *profile_id, const char *number, const char *masked,
			    const char *bidx, const char *old_bidx)
{
	assert(tx != NULL && profile_id != NULL && number != NULL && masked != NULL && bidx != NULL &&
	       old_bidx != NULL);
	/* the binding rule under either index version while the index rotates */
	char other[STORE_BIDX_MAX];
	if (!tx->ops->blind_index_other(tx->b, number, other))
		snprintf(other, sizeof(other), "%s", bidx);
	return tx->ops->tx_profile_rebind(tx, profile_id, number, masked, bidx, other, old_bidx);
}

int store_tx_profiles_free_due(struct store_tx *tx, int64_t now)
{
	assert(tx != NULL);
	return tx->ops->tx_profiles_free_due(tx, now);
}

int store_tx_number_state(struct store_tx *tx, const char *number_id, enum number_state state)
{
	assert(tx != NULL && number_id != NULL);
	return tx->ops->tx_number_state(tx, number_id, state);
}
