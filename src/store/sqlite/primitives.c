/* SPDX-License-Identifier: MIT */
/* primitives.c - the row primitives of bind, create, add-participant and swap
 * (store_tx_* in store.h) on SQLite: run inside sq_tx_run(), no rules. */
#include "sqlite_internal.h"

/* ---------------------------------------------------------------- row primitives (store_tx_*) */

/* Run under db_lock by sq_tx_run's body: no locking of their own. */

void sq_blind_index(void *b, const char *e164, char out[STORE_BIDX_MAX])
{
	struct store_sqlite *s = b;
	vault_blind_index(s->vault, e164, out);
}

int sq_blind_index_other(void *b, const char *e164, char out[STORE_BIDX_MAX])
{
	struct store_sqlite *s = b;
	return vault_blind_index_other(s->vault, e164, out);
}

/* The parameters of SQL_POOL_WHERE (sql_shared.h). */
static void bind_pool(sqlite3_stmt *st, const struct store_pool_query *q, int limit)
{
	const char *keys[3];
	sql_pool_keys(q, keys);
	sq_bind_text(st, 1, q->service_id);
	sqlite3_bind_int(st, 2, (int)q->need);
	sq_bind_text(st, 3, q->bidx);
	sqlite3_bind_int(st, 4, limit);
	sqlite3_bind_int64(st, 5, q->cap > 0 ? q->cap : INT64_MAX);
	sqlite3_bind_int(st, 6, NUMBER_ACTIVE);
	for (int i = 0; i < 3; i++)
		sq_bind_text(st, 7 + i, keys[i]);
	sq_bind_text(st, 10, q->bidx_old != NULL && q->bidx_old[0] != '\0' ? q->bidx_old : q->bidx);
}

int sq_tx_pool_candidates(struct store_tx *tx, const struct store_pool_query *q, enum store_pool_kind kind,
				 struct store_candidate *out, int limit, int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, kind == STORE_POOL_COOLING ? SQL_TX_POOL_COOLING : SQL_TX_POOL_FREE);
	bind_pool(st, q, limit);
	int rc = SQLITE_DONE;
	*n = 0;
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_candidate *k = &out[(*n)++];
		sq_col_text(st, 0, k->id, sizeof(k->id));
		sq_col_text(st, 1, k->e164, sizeof(k->e164));
		k->state = sqlite3_column_int(st, 2);
		k->caps = (unsigned)sqlite3_column_int(st, 3);
		k->in_use = sqlite3_column_int64(st, 4);
		k->created_at = sqlite3_column_int64(st, 5);
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_db_fail(c, "pool_candidates");
}

int sq_tx_holder(struct store_tx *tx, const char *bidx, const char *number_id, struct store_holder *out)
{
	struct sqlite_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_HOLDER);
	sq_bind_text(st, 1, bidx);
	sq_bind_text(st, 2, number_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->found = 1;
		sq_col_text(st, 0, out->row_id, sizeof(out->row_id));
		out->cooling = sqlite3_column_int(st, 1);
		sq_col_text(st, 2, out->peer, sizeof(out->peer));
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_db_fail(c, "holder");
}

int sq_tx_binding_drop(struct store_tx *tx, const char *row_id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_BINDING_DROP);
	sq_bind_text(st, 1, row_id);
	return sq_exec_stmt(c, st, "binding_drop");
}

int sq_tx_sticky(struct store_tx *tx, const char *service_id, const char *bidx, const char *bidx_old,
		 const char *peer_bidx, const char *peer_old, char out[ID_MAX])
{
	struct sqlite_conn *c = tx_conn(tx);
	out[0] = '\0';
	sqlite3_stmt *st = sq_stmt(c, SQL_STICKY);
	sq_bind(st, SQ_TEXT(bidx), SQ_TEXT(peer_bidx), SQ_TEXT(service_id), SQ_TEXT(bidx_old), SQ_TEXT(peer_old));
	int rc = sq_step_text(st, out, ID_MAX);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_db_fail(c, "sticky");
}

int sq_tx_number_by_id(struct store_tx *tx, const char *service_id, const char *id, struct number *out)
{
	return sq_number_by(tx_conn(tx), SQL_TX_NUMBER_BY_ID, service_id, id, out);
}

int sq_tx_number_by_e164(struct store_tx *tx, const char *service_id, const char *e164, struct number *out)
{
	return sq_number_by(tx_conn(tx), SQL_TX_NUMBER_BY_E164, service_id, e164, out);
}

/* MASKD_ECONFLICT when the statement changed no row. */
static int exec_one(struct sqlite_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sq_exec_stmt(c, st, what);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = MASKD_ECONFLICT;
	return rc;
}

int sq_tx_participant_insert(struct store_tx *tx, const char *session_id, int idx, const struct participant *p,
				    const char *bidx, const char *peer_bidx, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	struct store_sqlite *s = tx->b;
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_PARTICIPANT_INSERT);
	int rc = sq_bind_sealed(st, 6, s->vault, p->number, p->id);
	if (rc < 0) {
		sq_stmt_done(st);
		return rc;
	}
	sq_bind_text(st, 1, p->id);
	sq_bind_text(st, 2, session_id);
	sqlite3_bind_int(st, 3, idx);
	sq_bind_text(st, 4, p->label);
	sq_bind_text(st, 5, p->masked);
	sq_bind_text(st, 7, bidx);
	sq_bind_text(st, 8, p->proxy_number_id);
	sq_bind_text(st, 9, p->proxy_e164);
	sq_bind_text(st, 10, p->country);
	sq_bind_text(st, 11, peer_bidx);
	sqlite3_bind_int64(st, 12, now);
	sq_bind_text(st, 13, p->profile_id);
	return exec_one(c, st, "participant_insert");
}

int sq_tx_participant_move(struct store_tx *tx, const char *row_id, const char *number_id, const char *e164)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_PARTICIPANT_MOVE);
	sq_bind_text(st, 1, row_id);
	sq_bind_text(st, 2, number_id);
	sq_bind_text(st, 3, e164);
	return exec_one(c, st, "participant_move");
}

int sq_tx_peer_set(struct store_tx *tx, const char *row_id, const char *peer_bidx)
{
	return sq_exec_text2(tx_conn(tx), SQL_TX_PEER_SET, row_id, peer_bidx, "peer_set");
}

int sq_tx_participant_detach(struct store_tx *tx, const char *session_id, const char *row_id, int64_t held_until,
			    int active)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_PARTICIPANT_DETACH);
	sq_bind_text(st, 1, row_id);
	sqlite3_bind_int64(st, 2, held_until);
	sqlite3_bind_int(st, 3, active != 0);
	int rc = sq_exec_stmt(c, st, "participant_detach");
	if (rc < 0)
		return rc;
	if (sqlite3_changes(c->db) != 1)
		return MASKD_ENOTFOUND;
	st = sq_stmt(c, SQL_TX_PARTICIPANTS_COMPACT);
	sq_bind_text(st, 1, session_id);
	rc = sq_exec_stmt(c, st, "participants_compact");
	return rc < 0 ? rc : 0;
}

int sq_tx_number_count(struct store_tx *tx, const char *number_id, int64_t cap)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_NUMBER_COUNT);
	sq_bind_text(st, 1, number_id);
	sqlite3_bind_int64(st, 2, cap);
	int rc = exec_one(c, st, "number_count");
	if (rc != MASKD_ECONFLICT)
		return rc;
	rc = sq_row_exists(c, SQL_TX_NUMBER_EXISTS, number_id, NULL);
	return rc < 0 ? rc : rc > 0 ? MASKD_ECONFLICT : MASKD_ENOTFOUND;
}

int sq_tx_number_uncount(struct store_tx *tx, const char *number_id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_NUMBER_UNCOUNT);
	sq_bind_text(st, 1, number_id);
	return sq_exec_stmt(c, st, "number_uncount");
}

int sq_tx_unique_name(struct store_tx *tx, const char *service_id, const char *unique_name,
			     char existing_id[ID_MAX], char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX], int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	*n = 0;
	existing_id[0] = '\0';
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_UNIQUE_NAME);
	sq_bind(st, SQ_TEXT(service_id), SQ_TEXT(unique_name), SQ_INT(SESSION_CLOSED));
	int rc = sq_step_text(st, existing_id, ID_MAX);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, "unique_name");
	st = sq_stmt(c, SQL_TX_SESSION_BIDX);
	sq_bind_text(st, 1, existing_id);
	while (*n < SESSION_PARTICIPANTS && (rc = sqlite3_step(st)) == SQLITE_ROW)
		sq_col_text(st, 0, bidx[(*n)++], STORE_BIDX_MAX);
	sq_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 1 : sq_db_fail(c, "session_bidx");
}

int sq_tx_pin_taken(struct store_tx *tx, const char *service_id, const char *pin)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_PIN_TAKEN);
	sq_bind_text(st, 1, service_id);
	sq_bind_text(st, 2, pin);
	sqlite3_bind_int(st, 3, SESSION_CLOSED);
	int rc = sqlite3_step(st);
	sq_stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "pin_taken");
}

int sq_tx_session_insert(struct store_tx *tx, const struct session *ses, int64_t deadline)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_SESSION_INSERT);
	sq_bind_text(st, 1, ses->id);
	sq_bind_text(st, 2, ses->service_id);
	sq_bind_text(st, 3, ses->unique_name[0] ? ses->unique_name : NULL);
	sqlite3_bind_int(st, 4, ses->mode);
	sqlite3_bind_int64(st, 5, ses->ttl);
	sqlite3_bind_int64(st, 6, ses->expires_at);
	sqlite3_bind_int64(st, 7, ses->created_at);
	if (deadline > 0)
		sqlite3_bind_int64(st, 8, deadline);
	else
		sqlite3_bind_null(st, 8);
	sq_bind_policy(st, 9, &ses->policy);
	sq_bind_text(st, 13, ses->pin[0] ? ses->pin : NULL);
	sqlite3_bind_int(st, 14, ses->status);
	return exec_one(c, st, "session_insert");
}

int sq_tx_session_touch(struct store_tx *tx, const char *id, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_SESSION_TOUCH);
	sq_bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return sq_exec_stmt(c, st, "session_touch");
}

int sq_tx_event_insert(struct store_tx *tx, const char *session_id, const char *kind, const char *participant_id,
			      const char *detail, int64_t now)
{
	return sq_event_insert(tx_conn(tx), session_id, kind, participant_id, detail, now);
}

int sq_tx_holds(struct store_tx *tx, const struct store_pool_query *q, int64_t *held, int64_t *k)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_HOLDS);
	bind_pool(st, q, 0);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*held = sqlite3_column_int64(st, 0);
		*k = sqlite3_column_int64(st, 1);
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW ? 0 : sq_db_fail(c, "holds");
}

int sq_tx_pool_count(struct store_tx *tx, const struct store_pool_query *q, int limit, int64_t *total)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_POOL_COUNT);
	bind_pool(st, q, limit);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*total = sqlite3_column_int64(st, 0);
	sq_stmt_done(st);
	return rc == SQLITE_ROW ? 0 : sq_db_fail(c, "pool_count");
}

int sq_tx_pool_low_mark(struct store_tx *tx, const char *service_id, unsigned need, int low, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, low ? SQL_POOL_ALERT_SET : SQL_POOL_ALERT_CLEAR);
	sq_bind_text(st, 1, service_id);
	sqlite3_bind_int(st, 2, (int)need);
	if (low)
		sqlite3_bind_int64(st, 3, now);
	int rc = sq_exec_stmt(c, st, "pool_low_mark");
	return rc < 0 ? rc : sqlite3_changes(c->db) > 0;
}

/* ---------------------------------------------------------------- one-way sessions */

int sq_tx_oneway_mark(struct store_tx *tx, const char *session_id, const char *hidden_row_id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_ONEWAY_MARK_SESSION);
	sq_bind_text(st, 1, session_id);
	int rc = sq_exec_stmt(c, st, "oneway_mark_session");
	if (rc < 0)
		return rc;
	st = sq_stmt(c, SQL_ONEWAY_MARK_PARTS);
	sq_bind_text(st, 1, session_id);
	sq_bind_text(st, 2, hidden_row_id);
	rc = sq_exec_stmt(c, st, "oneway_mark_parts");
	if (rc < 0)
		return rc;
	return sqlite3_changes(c->db) > 0 ? 0 : MASKD_ENOTFOUND;
}

int sq_tx_oneway_candidates(struct store_tx *tx, const char *service_id, const char *number_id, const char *bidx,
			    const char *bidx_old, int hidden, struct oneway_candidate *out, int limit, int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_ONEWAY_CANDIDATES);
	sq_bind_text(st, 1, bidx);
	sq_bind_text(st, 2, number_id);
	sqlite3_bind_int(st, 3, hidden ? 2 : 1);
	sq_bind_text(st, 4, service_id);
	sqlite3_bind_int(st, 5, limit);
	sq_bind_text(st, 6, bidx_old);
	int rc;
	*n = 0;
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sql_cursor k = sq_cursor(st, 0);
		sql_read_oneway_candidate(&k, &out[(*n)++]);
	}
	if (*n == limit)
		rc = SQLITE_DONE;
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "oneway_candidates");
}

int sq_tx_oneway_on_number(struct store_tx *tx, const char *service_id, const char *number_id, const char *pin,
			   struct oneway_candidate *out, int limit, int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_ONEWAY_ON_NUMBER);
	sq_bind_text(st, 1, number_id);
	sq_bind_text(st, 2, service_id);
	sq_bind_text(st, 3, pin);
	sqlite3_bind_int(st, 4, limit);
	int rc;
	*n = 0;
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sql_cursor k = sq_cursor(st, 0);
		sql_read_oneway_candidate(&k, &out[(*n)++]);
	}
	if (*n == limit)
		rc = SQLITE_DONE;
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "oneway_on_number");
}

int sq_tx_oneway_view(struct store_tx *tx, const char *participant_id, struct route_view *out)
{
	struct sqlite_conn *c = tx_conn(tx);
	struct store_sqlite *s = tx->b;
	sqlite3_stmt *st = sq_stmt(c, SQL_ONEWAY_VIEW);
	sq_bind_text(st, 1, participant_id);
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW) {
		struct sql_cursor k = sq_cursor(st, 0);
		err = sql_read_route(&k, s->vault, out);
	}
	sq_stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, "oneway_view");
	return err;
}
