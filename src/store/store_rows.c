/* SPDX-License-Identifier: MIT */
/* store_rows.c - the row primitives a transaction body (store_tx_run) builds its
 * work from, and the blind index they key rows by: each checks its arguments and
 * forwards to the backend that runs the transaction (store.h). */
#include "store.h"
#include "store_backend.h"
#include "store_internal.h"
#include "../vault/vault.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

void store_blind_index(struct store *st, const char *e164, char out[STORE_BIDX_MAX])
{
	assert(st != NULL && e164 != NULL && out != NULL);
	st->ops->blind_index(st->b, e164, out);
}

int store_blind_index_previous(struct store *st, const char *e164, char out[STORE_BIDX_MAX])
{
	assert(st != NULL && e164 != NULL && out != NULL);
	out[0] = '\0';
	return st->vault != NULL ? vault_blind_index_other(st->vault, e164, out) : 0;
}

int store_tx_pool_candidates(struct store_tx *tx, const struct store_pool_query *q, enum store_pool_kind kind, struct store_candidate *out, int limit, int *n)
{
	assert(tx != NULL && q != NULL && out != NULL && n != NULL && (kind == STORE_POOL_FREE || kind == STORE_POOL_COOLING) && limit >= 0);
	return tx->ops->tx_pool_candidates(tx, q, kind, out, limit, n);
}

int store_tx_holder(struct store_tx *tx, const char *bidx, const char *number_id, struct store_holder *out)
{
	assert(tx != NULL && bidx != NULL && number_id != NULL && out != NULL);
	return tx->ops->tx_holder(tx, bidx, number_id, out);
}

int store_tx_binding_drop(struct store_tx *tx, const char *row_id)
{
	assert(tx != NULL && row_id != NULL);
	return tx->ops->tx_binding_drop(tx, row_id);
}

int store_tx_sticky(struct store_tx *tx, const char *service_id, const char *bidx, const char *bidx_old,
		    const char *peer_bidx, const char *peer_old, char out[ID_MAX])
{
	assert(tx != NULL && service_id != NULL && bidx != NULL && peer_bidx != NULL && out != NULL);
	/* no previous version: the current one twice (one query either way) */
	const char *b_old = bidx_old != NULL && bidx_old[0] != '\0' ? bidx_old : bidx;
	const char *p_old = peer_old != NULL && peer_old[0] != '\0' ? peer_old : peer_bidx;
	return tx->ops->tx_sticky(tx, service_id, bidx, b_old, peer_bidx, p_old, out);
}

int store_tx_number_by_id(struct store_tx *tx, const char *service_id, const char *id, struct number *out)
{
	assert(tx != NULL && service_id != NULL && id != NULL && out != NULL);
	return tx->ops->tx_number_by_id(tx, service_id, id, out);
}

int store_tx_number_by_e164(struct store_tx *tx, const char *service_id, const char *e164, struct number *out)
{
	assert(tx != NULL && service_id != NULL && e164 != NULL && out != NULL);
	return tx->ops->tx_number_by_e164(tx, service_id, e164, out);
}

int store_tx_participant_insert(struct store_tx *tx, const char *session_id, int idx, const struct participant *p, const char *bidx, const char *peer_bidx, int64_t now)
{
	assert(tx != NULL && session_id != NULL && p != NULL && bidx != NULL && idx >= 0 && idx < SESSION_PARTICIPANTS);
	return tx->ops->tx_participant_insert(tx, session_id, idx, p, bidx, peer_bidx, now);
}

int store_tx_participant_move(struct store_tx *tx, const char *row_id, const char *number_id, const char *e164)
{
	assert(tx != NULL && row_id != NULL && number_id != NULL && e164 != NULL);
	return tx->ops->tx_participant_move(tx, row_id, number_id, e164);
}

int store_tx_peer_set(struct store_tx *tx, const char *row_id, const char *peer_bidx)
{
	assert(tx != NULL && row_id != NULL);
	return tx->ops->tx_peer_set(tx, row_id, peer_bidx);
}

int store_tx_participant_detach(struct store_tx *tx, const char *session_id, const char *row_id, int64_t held_until,
				int active)
{
	assert(tx != NULL && session_id != NULL && row_id != NULL);
	return tx->ops->tx_participant_detach(tx, session_id, row_id, held_until, active);
}

int store_tx_number_count(struct store_tx *tx, const char *number_id, int64_t cap)
{
	assert(tx != NULL && number_id != NULL);
	return tx->ops->tx_number_count(tx, number_id, cap);
}

int store_tx_number_uncount(struct store_tx *tx, const char *number_id)
{
	assert(tx != NULL && number_id != NULL);
	return tx->ops->tx_number_uncount(tx, number_id);
}

int store_tx_unique_name(struct store_tx *tx, const char *service_id, const char *unique_name, char existing_id[ID_MAX], char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX], int *n)
{
	assert(tx != NULL && service_id != NULL && existing_id != NULL && bidx != NULL && n != NULL);
	return tx->ops->tx_unique_name(tx, service_id, unique_name, existing_id, bidx, n);
}

int store_tx_pin_taken(struct store_tx *tx, const char *service_id, const char *pin)
{
	assert(tx != NULL && service_id != NULL);
	return tx->ops->tx_pin_taken(tx, service_id, pin);
}

int store_tx_session_insert(struct store_tx *tx, const struct session *s, int64_t deadline)
{
	assert(tx != NULL && s != NULL);
	return tx->ops->tx_session_insert(tx, s, deadline);
}

int store_tx_session_touch(struct store_tx *tx, const char *id, int64_t now)
{
	assert(tx != NULL && id != NULL);
	return tx->ops->tx_session_touch(tx, id, now);
}

int store_tx_event_insert(struct store_tx *tx, const char *session_id, const char *kind, const char *participant_id, const char *detail, int64_t now)
{
	assert(tx != NULL && session_id != NULL && kind != NULL);
	return tx->ops->tx_event_insert(tx, session_id, kind, participant_id, detail, now);
}

int store_tx_holds(struct store_tx *tx, const struct store_pool_query *q, int64_t *held, int64_t *k)
{
	assert(tx != NULL && q != NULL && held != NULL && k != NULL);
	return tx->ops->tx_holds(tx, q, held, k);
}

int store_tx_pool_count(struct store_tx *tx, const struct store_pool_query *q, int limit, int64_t *total)
{
	assert(tx != NULL && q != NULL && total != NULL);
	return tx->ops->tx_pool_count(tx, q, limit, total);
}


/* ---------------------------------------------------------------- one-way sessions */

int store_tx_oneway_mark(struct store_tx *tx, const char *session_id, const char *hidden_row_id)
{
	assert(tx != NULL && session_id != NULL && hidden_row_id != NULL);
	return tx->ops->tx_oneway_mark(tx, session_id, hidden_row_id);
}

int store_tx_oneway_candidates(struct store_tx *tx, const char *service_id, const char *number_id,
			       const char *from_e164, int hidden, struct oneway_candidate *out, int limit, int *n)
{
	assert(tx != NULL && service_id != NULL && number_id != NULL && from_e164 != NULL && out != NULL && n != NULL);
	assert(limit >= 0 && limit <= ONEWAY_CANDIDATES_MAX);
	char bidx[STORE_BIDX_MAX], old[STORE_BIDX_MAX];
	tx->ops->blind_index(tx->b, from_e164, bidx);
	/* while the index rotates, rows under either version (one query either way) */
	if (!tx->ops->blind_index_other(tx->b, from_e164, old))
		memcpy(old, bidx, sizeof(old));
	*n = 0;
	return tx->ops->tx_oneway_candidates(tx, service_id, number_id, bidx, old, hidden ? 1 : 0, out, limit, n);
}

int store_tx_oneway_on_number(struct store_tx *tx, const char *service_id, const char *number_id, const char *pin,
			      struct oneway_candidate *out, int limit, int *n)
{
	assert(tx != NULL && service_id != NULL && number_id != NULL && out != NULL && n != NULL);
	assert(limit >= 0 && limit <= ONEWAY_CANDIDATES_MAX);
	*n = 0;
	return tx->ops->tx_oneway_on_number(tx, service_id, number_id, pin != NULL ? pin : "", out, limit, n);
}

int store_tx_oneway_view(struct store_tx *tx, const char *participant_id, struct route_view *out)
{
	assert(tx != NULL && participant_id != NULL && out != NULL);
	struct number keep = out->number;
	memset(out, 0, sizeof(*out));
	out->number = keep;
	return tx->ops->tx_oneway_view(tx, participant_id, out);
}
