/* SPDX-License-Identifier: MIT */
/* primitives.c - the row primitives of bind, create, add-participant and swap
 * (store_tx_* in store.h) on PostgreSQL: pg_run inside pg_tx_run(), no rules. */
#include "pg_internal.h"

/* ---------------------------------------------------------------- row primitives (store_tx_*) */

void pg_blind_index(void *b, const char *e164, char out[STORE_BIDX_MAX])
{
	struct store_pg *s = b;
	vault_blind_index(s->vault, e164, out);
}

int pg_blind_index_other(void *b, const char *e164, char out[STORE_BIDX_MAX])
{
	struct store_pg *s = b;
	return vault_blind_index_other(s->vault, e164, out);
}

/* The parameters of SQL_POOL_WHERE (sql_shared.h). */
static void arg_pool_query(struct args *a, const struct store_pool_query *q, int limit)
{
	const char *keys[3];
	sql_pool_keys(q, keys);
	pg_arg_text(a, q->service_id);
	pg_arg_i64(a, (int64_t)q->need);
	pg_arg_text(a, q->bidx);
	pg_arg_i64(a, limit);
	pg_arg_i64(a, q->cap > 0 ? q->cap : INT64_MAX);
	pg_arg_i64(a, NUMBER_ACTIVE);
	for (int i = 0; i < 3; i++)
		pg_arg_text(a, keys[i]);
	pg_arg_text(a, q->bidx_old != NULL && q->bidx_old[0] != '\0' ? q->bidx_old : q->bidx);
}

int pg_tx_pool_candidates(struct store_tx *tx, const struct store_pool_query *q, enum store_pool_kind kind,
				 struct store_candidate *out, int limit, int *n)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	arg_pool_query(&a, q, limit);
	PGresult *r = NULL;
	*n = 0;
	int rc = pg_run(c, kind == STORE_POOL_COOLING ? SQL_TX_POOL_COOLING : SQL_TX_POOL_FREE, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && *n < limit; i++) {
		struct store_candidate *k = &out[(*n)++];
		pg_col_text(r, i, 0, k->id, sizeof(k->id));
		pg_col_text(r, i, 1, k->e164, sizeof(k->e164));
		k->state = pg_col_int(r, i, 2);
		k->caps = (unsigned)pg_col_int(r, i, 3);
		k->in_use = pg_col_i64(r, i, 4);
		k->created_at = pg_col_i64(r, i, 5);
	}
	PQclear(r);
	return 0;
}

int pg_tx_holder(struct store_tx *tx, const char *bidx, const char *number_id, struct store_holder *out)
{
	struct pg_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	struct args a = {0};
	pg_arg_text(&a, bidx);
	pg_arg_text(&a, number_id);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_TX_HOLDER, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		out->found = 1;
		pg_col_text(r, 0, 0, out->row_id, sizeof(out->row_id));
		out->cooling = pg_col_int(r, 0, 1);
		pg_col_text(r, 0, 2, out->peer, sizeof(out->peer));
	}
	PQclear(r);
	return 0;
}

/* Runs a one-text-argument statement that returns no rows. */
static int run_text1(struct pg_conn *c, enum sql_id id, const char *a1)
{
	struct args a = {0};
	pg_arg_text(&a, a1);
	return pg_run(c, id, &a, NULL);
}

int pg_tx_binding_drop(struct store_tx *tx, const char *row_id)
{
	return run_text1(tx_conn(tx), SQL_TX_BINDING_DROP, row_id);
}

int pg_tx_sticky(struct store_tx *tx, const char *service_id, const char *bidx, const char *bidx_old,
		 const char *peer_bidx, const char *peer_old, char out[ID_MAX])
{
	struct pg_conn *c = tx_conn(tx);
	out[0] = '\0';
	struct args a = {0};
	pg_arg_text(&a, bidx);
	pg_arg_text(&a, peer_bidx);
	pg_arg_text(&a, service_id);
	pg_arg_text(&a, bidx_old);
	pg_arg_text(&a, peer_old);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_STICKY, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0)
		pg_col_text(r, 0, 0, out, ID_MAX);
	PQclear(r);
	return 0;
}

int pg_tx_number_by_id(struct store_tx *tx, const char *service_id, const char *id, struct number *out)
{
	return pg_number_by(tx_conn(tx), SQL_TX_NUMBER_BY_ID, service_id, id, out);
}

int pg_tx_number_by_e164(struct store_tx *tx, const char *service_id, const char *e164, struct number *out)
{
	return pg_number_by(tx_conn(tx), SQL_TX_NUMBER_BY_E164, service_id, e164, out);
}

int pg_tx_participant_insert(struct store_tx *tx, const char *session_id, int idx, const struct participant *p,
				    const char *bidx, const char *peer_bidx, int64_t now)
{
	struct pg_conn *c = tx_conn(tx);
	struct store_pg *s = tx->b;
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = vault_seal(s->vault, p->number, p->id, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	struct args a = {0};
	pg_arg_text(&a, p->id);
	pg_arg_text(&a, session_id);
	pg_arg_i64(&a, idx);
	pg_arg_text(&a, p->label);
	pg_arg_text(&a, p->masked);
	pg_arg_bytes(&a, sealed, sealed_len);
	pg_arg_text(&a, bidx);
	pg_arg_text(&a, p->proxy_number_id);
	pg_arg_text(&a, p->proxy_e164);
	pg_arg_text(&a, p->country);
	pg_arg_text(&a, peer_bidx);
	pg_arg_i64(&a, now);
	pg_arg_text(&a, p->profile_id);
	/* ON CONFLICT DO NOTHING waits for a concurrent holder and then writes
	 * nothing: the transaction stays usable */
	rc = pg_run_count(c, SQL_TX_PARTICIPANT_INSERT, &a);
	return rc < 0 ? rc : rc == 0 ? MASKD_ECONFLICT : 0;
}

int pg_tx_participant_move(struct store_tx *tx, const char *row_id, const char *number_id, const char *e164)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, row_id);
	pg_arg_text(&a, number_id);
	pg_arg_text(&a, e164);
	int rc = pg_run_count(c, SQL_TX_PARTICIPANT_MOVE, &a);
	if (rc == MASKD_ECONFLICT)
		return MASKD_ERETRY; /* a concurrent transaction took it after the check: this one is aborted */
	return rc < 0 ? rc : rc == 0 ? MASKD_ECONFLICT : 0;
}

int pg_tx_participant_detach(struct store_tx *tx, const char *session_id, const char *row_id, int64_t held_until,
			    int active)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, row_id);
	pg_arg_i64(&a, held_until);
	pg_arg_i64(&a, active != 0);
	int rc = pg_run_count(c, SQL_TX_PARTICIPANT_DETACH, &a);
	if (rc < 0)
		return rc;
	if (rc != 1)
		return MASKD_ENOTFOUND;
	struct args b = {0};
	pg_arg_text(&b, session_id);
	rc = pg_run(c, SQL_TX_PARTICIPANTS_COMPACT, &b, NULL);
	return rc < 0 ? rc : 0;
}

int pg_tx_peer_set(struct store_tx *tx, const char *row_id, const char *peer_bidx)
{
	struct args a = {0};
	pg_arg_text(&a, row_id);
	pg_arg_text(&a, peer_bidx);
	return pg_run(tx_conn(tx), SQL_TX_PEER_SET, &a, NULL);
}

int pg_tx_number_count(struct store_tx *tx, const char *number_id, int64_t cap)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, number_id);
	pg_arg_i64(&a, cap);
	/* the row lock makes a concurrent counter wait, then re-check the cap */
	int rc = pg_run_count(c, SQL_TX_NUMBER_COUNT, &a);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	PGresult *r = NULL;
	a.n = 1;
	rc = pg_run(c, SQL_TX_NUMBER_EXISTS, &a, &r);
	if (rc < 0)
		return rc;
	rc = PQntuples(r) > 0 ? MASKD_ECONFLICT : MASKD_ENOTFOUND;
	PQclear(r);
	return rc;
}

int pg_tx_number_uncount(struct store_tx *tx, const char *number_id)
{
	return run_text1(tx_conn(tx), SQL_TX_NUMBER_UNCOUNT, number_id);
}

int pg_tx_unique_name(struct store_tx *tx, const char *service_id, const char *unique_name,
			     char existing_id[ID_MAX], char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX], int *n)
{
	struct pg_conn *c = tx_conn(tx);
	*n = 0;
	existing_id[0] = '\0';
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_text(&a, unique_name);
	pg_arg_i64(&a, SESSION_CLOSED);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_TX_UNIQUE_NAME, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0)
		pg_col_text(r, 0, 0, existing_id, ID_MAX);
	PQclear(r);
	if (existing_id[0] == '\0')
		return 0;
	struct args b = {0};
	pg_arg_text(&b, existing_id);
	rc = pg_run(c, SQL_TX_SESSION_BIDX, &b, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && *n < SESSION_PARTICIPANTS; i++)
		pg_col_text(r, i, 0, bidx[(*n)++], STORE_BIDX_MAX);
	PQclear(r);
	return 1;
}

int pg_tx_pin_taken(struct store_tx *tx, const char *service_id, const char *pin)
{
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_text(&a, pin);
	pg_arg_i64(&a, SESSION_CLOSED);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_TX_PIN_TAKEN, &a, &r);
	if (rc < 0)
		return rc;
	rc = PQntuples(r) > 0;
	PQclear(r);
	return rc;
}

int pg_tx_session_insert(struct store_tx *tx, const struct session *ses, int64_t deadline)
{
	struct args a = {0};
	pg_arg_text(&a, ses->id);
	pg_arg_text(&a, ses->service_id);
	pg_arg_text(&a, ses->unique_name[0] ? ses->unique_name : NULL);
	pg_arg_i64(&a, ses->mode);
	pg_arg_i64(&a, ses->ttl);
	pg_arg_i64(&a, ses->expires_at);
	pg_arg_i64(&a, ses->created_at);
	if (deadline > 0)
		pg_arg_i64(&a, deadline);
	else
		pg_arg_text(&a, NULL);
	pg_arg_policy(&a, &ses->policy);
	pg_arg_text(&a, ses->pin[0] ? ses->pin : NULL);
	pg_arg_i64(&a, ses->status);
	/* ON CONFLICT DO NOTHING: a concurrent insert of the same name or PIN is
	 * waited for; no row = refused, the transaction stays usable */
	int rc = pg_run_count(tx_conn(tx), SQL_TX_SESSION_INSERT, &a);
	return rc < 0 ? rc : rc == 0 ? MASKD_ECONFLICT : 0;
}

int pg_tx_session_touch(struct store_tx *tx, const char *id, int64_t now)
{
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_i64(&a, now);
	return pg_run(tx_conn(tx), SQL_TX_SESSION_TOUCH, &a, NULL);
}

int pg_tx_event_insert(struct store_tx *tx, const char *session_id, const char *kind, const char *participant_id,
			      const char *detail, int64_t now)
{
	return pg_event_insert(tx_conn(tx), session_id, kind, participant_id ? participant_id : "", detail ? detail : "", now);
}

int pg_tx_holds(struct store_tx *tx, const struct store_pool_query *q, int64_t *held, int64_t *k)
{
	struct args a = {0};
	arg_pool_query(&a, q, 0);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_TX_HOLDS, &a, &r);
	if (rc < 0)
		return rc;
	*held = pg_col_i64(r, 0, 0);
	*k = pg_col_i64(r, 0, 1);
	PQclear(r);
	return 0;
}

int pg_tx_pool_count(struct store_tx *tx, const struct store_pool_query *q, int limit, int64_t *total)
{
	struct args a = {0};
	arg_pool_query(&a, q, limit);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_TX_POOL_COUNT, &a, &r);
	if (rc < 0)
		return rc;
	*total = pg_col_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

int pg_tx_pool_low_mark(struct store_tx *tx, const char *service_id, unsigned need, int low, int64_t now)
{
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_i64(&a, need);
	if (low)
		pg_arg_i64(&a, now);
	int n = pg_run_count(tx_conn(tx), low ? SQL_POOL_ALERT_SET : SQL_POOL_ALERT_CLEAR, &a);
	return n < 0 ? n : n > 0;
}

/* ---------------------------------------------------------------- one-way sessions */

int pg_tx_oneway_mark(struct store_tx *tx, const char *session_id, const char *hidden_row_id)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, session_id);
	int rc = pg_run(c, SQL_ONEWAY_MARK_SESSION, &a, NULL);
	if (rc < 0)
		return rc;
	pg_arg_text(&a, hidden_row_id);
	int n = pg_run_count(c, SQL_ONEWAY_MARK_PARTS, &a);
	if (n < 0)
		return n;
	return n > 0 ? 0 : MASKD_ENOTFOUND;
}

int pg_tx_oneway_candidates(struct store_tx *tx, const char *service_id, const char *number_id, const char *bidx,
			    const char *bidx_old, int hidden, struct oneway_candidate *out, int limit, int *n)
{
	struct args a = {0};
	pg_arg_text(&a, bidx);
	pg_arg_text(&a, number_id);
	pg_arg_i64(&a, hidden ? 2 : 1);
	pg_arg_text(&a, service_id);
	pg_arg_i64(&a, limit);
	pg_arg_text(&a, bidx_old);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_ONEWAY_CANDIDATES, &a, &r);
	if (rc < 0)
		return rc;
	*n = 0;
	for (int i = 0; i < PQntuples(r) && *n < limit; i++) {
		struct sql_cursor k = pg_cursor(r, i, 0);
		sql_read_oneway_candidate(&k, &out[(*n)++]);
	}
	PQclear(r);
	return 0;
}

int pg_tx_oneway_on_number(struct store_tx *tx, const char *service_id, const char *number_id, const char *pin,
			   struct oneway_candidate *out, int limit, int *n)
{
	struct args a = {0};
	pg_arg_text(&a, number_id);
	pg_arg_text(&a, service_id);
	pg_arg_text(&a, pin);
	pg_arg_i64(&a, limit);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_ONEWAY_ON_NUMBER, &a, &r);
	if (rc < 0)
		return rc;
	*n = 0;
	for (int i = 0; i < PQntuples(r) && *n < limit; i++) {
		struct sql_cursor k = pg_cursor(r, i, 0);
		sql_read_oneway_candidate(&k, &out[(*n)++]);
	}
	PQclear(r);
	return 0;
}

int pg_tx_oneway_view(struct store_tx *tx, const char *participant_id, struct route_view *out)
{
	struct store_pg *s = tx->b;
	struct args a = {0};
	pg_arg_text(&a, participant_id);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_ONEWAY_VIEW, &a, &r);
	if (rc < 0)
		return rc;
	struct sql_cursor k = pg_cursor(r, 0, 0);
	rc = PQntuples(r) > 0 ? sql_read_route(&k, s->vault, out) : MASKD_ENOTFOUND;
	PQclear(r);
	return rc;
}
