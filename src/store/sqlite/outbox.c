/* SPDX-License-Identifier: MIT */
/* outbox.c - the outbox (store_outbox_* in store.h) on SQLite: one row per message,
 * its payload sealed in chunks (store_outbox_seal). One process owns the file, so
 * the claim needs no row lock: every op runs under db_lock. No rules beyond the
 * statements' own (due, order, per-destination cap); out/sender.c decides. */
#include "sqlite_internal.h"

/* The columns of OUTBOX_COLS from column 0 of st's row into *out. */
static void read_item(sqlite3_stmt *st, struct outbox_item *out)
{
	out->seq = sqlite3_column_int64(st, 0);
	sq_col_text(st, 1, out->id, sizeof(out->id));
	sq_col_text(st, 2, out->dedup_key, sizeof(out->dedup_key));
	out->kind = (enum outbox_kind)sqlite3_column_int(st, 3);
	sq_col_text(st, 4, out->service_id, sizeof(out->service_id));
	sq_col_text(st, 5, out->destination, sizeof(out->destination));
	sq_col_text(st, 6, out->order_key, sizeof(out->order_key));
	sq_col_text(st, 7, out->interaction_id, sizeof(out->interaction_id));
	out->dialect = sqlite3_column_int(st, 8);
	sq_col_text(st, 9, out->url, sizeof(out->url));
	out->status = (enum outbox_status)sqlite3_column_int(st, 10);
	out->tries = sqlite3_column_int(st, 11);
	out->next_at = sqlite3_column_int64(st, 12);
	out->created_at = sqlite3_column_int64(st, 13);
	out->done_at = sqlite3_column_int64(st, 14);
	sq_col_text(st, 15, out->last_error, sizeof(out->last_error));
}

/* The put of it on c (inside its transaction when c holds one). */
static int put_on(struct store_sqlite *s, struct sqlite_conn *c, const struct outbox_item *it, int *existed)
{
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	int rc = store_outbox_seal(s->vault, it->id, it->payload, it->payload_len, &sealed, &sealed_len);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = sq_stmt(c, SQL_OUTBOX_PUT);
	sq_bind(st, SQ_TEXT(it->id), SQ_TEXT(it->dedup_key), SQ_INT(it->kind), SQ_TEXT(it->service_id),
		SQ_TEXT(it->destination), SQ_TEXT(it->order_key), SQ_TEXT(it->interaction_id), SQ_INT(it->dialect),
		SQ_TEXT(it->url));
	sqlite3_bind_blob(st, 10, sealed, (int)sealed_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, it->next_at);
	sqlite3_bind_int64(st, 12, it->created_at);
	rc = sq_exec_stmt(c, st, "outbox_put");
	free(sealed);
	if (rc < 0)
		return rc;
	*existed = sqlite3_changes(c->db) == 0;
	return 0;
}

int sq_outbox_put(void *b, const struct outbox_item *it, int *existed)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	return put_on(s, c, it, existed);
}

int sq_tx_outbox_put(struct store_tx *tx, const struct outbox_item *it, int *existed)
{
	return put_on(tx->b, tx_conn(tx), it, existed);
}

/* ---------------------------------------------------------------- service events */

int sq_tx_event_target(struct store_tx *tx, const char *session_id, char service_id[ID_MAX], char *events_url,
		       size_t cap, int *pull_off)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_EVENT_TARGET);
	sq_bind(st, SQ_TEXT(session_id));
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sq_stmt_done(st);
		return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "event_target");
	}
	sq_col_text(st, 0, service_id, ID_MAX);
	sq_col_text(st, 1, events_url, cap);
	*pull_off = sqlite3_column_int(st, 2);
	sq_stmt_done(st);
	return 0;
}

int sq_tx_service_event_insert(struct store_tx *tx, const char *id, const char *service_id, const char *type,
			       const char *body, int64_t created_at)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_SERVICE_EVENT_INSERT);
	sq_bind(st, SQ_TEXT(id), SQ_TEXT(service_id), SQ_TEXT(type), SQ_INT(created_at), SQ_TEXT(body));
	return sq_exec_stmt(c, st, "service_event_insert");
}

int sq_service_events(void *b, const char *service_id, int64_t after, int limit,
		      void (*cb)(void *, int64_t, const char *), void *ctx)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_SERVICE_EVENT_LIST);
	sq_bind(st, SQ_TEXT(service_id), SQ_INT(after), SQ_INT(limit));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1));
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "service_events");
}

int sq_outbox_claim(void *b, int64_t now, int64_t lease_ms, int dest_cap, const char *claim, struct outbox_item *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_OUTBOX_CLAIM);
	sq_bind(st, SQ_INT(now), SQ_INT(lease_ms), SQ_TEXT(claim), SQ_INT(dest_cap));
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sq_stmt_done(st);
		return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "outbox_claim");
	}
	read_item(st, out);
	rc = store_outbox_unseal(s->vault, out->id, sqlite3_column_blob(st, 16), (size_t)sqlite3_column_bytes(st, 16),
				 &out->payload, &out->payload_len);
	sq_stmt_done(st);
	if (rc < 0)
		log_error("outbox: message %s: its payload does not open", out->id);
	return rc;
}

int sq_outbox_settle(void *b, const char *id, const char *claim, enum outbox_status status, int64_t next_at,
		     int64_t hold_until, const char *error, int64_t now)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	int rc = sq_tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = sq_stmt(c, SQL_OUTBOX_SETTLE);
	sq_bind(st, SQ_TEXT(id), SQ_TEXT(claim), SQ_INT(status), SQ_INT(next_at), SQ_TEXT(error), SQ_INT(now));
	rc = sq_exec_stmt(c, st, "outbox_settle");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = MASKD_ENOTFOUND;
	struct outbox_item it;
	if (rc == 0 && hold_until > 0) {
		st = sq_stmt(c, SQL_OUTBOX_GET);
		sq_bind(st, SQ_TEXT(id));
		if (sqlite3_step(st) == SQLITE_ROW) {
			read_item(st, &it);
			sq_stmt_done(st);
			st = sq_stmt(c, SQL_OUTBOX_HOLD);
			sq_bind(st, SQ_TEXT(it.destination), SQ_INT(hold_until));
			rc = sq_exec_stmt(c, st, "outbox_hold");
		} else {
			sq_stmt_done(st);
		}
	}
	if (rc == 0)
		rc = sq_tx_commit(c);
	if (rc < 0)
		sq_tx_rollback(c);
	return rc;
}

int sq_outbox_get(void *b, const char *id, struct outbox_item *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_OUTBOX_GET);
	sq_bind(st, SQ_TEXT(id));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_item(st, out);
	sq_stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "outbox_get");
}

int sq_outbox_list(void *b, const char *service_id, int status, int64_t after, int limit,
		   void (*cb)(void *, const struct outbox_item *), void *ctx)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_OUTBOX_LIST);
	sq_bind(st, SQ_TEXT(service_id), SQ_INT(status), SQ_INT(after), SQ_INT(limit));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_item it;
		memset(&it, 0, sizeof(it));
		read_item(st, &it);
		cb(ctx, &it);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "outbox_list");
}

int sq_outbox_requeue(void *b, const char *id, int64_t now)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_OUTBOX_REQUEUE);
	sq_bind(st, SQ_TEXT(id), SQ_INT(now));
	int rc = sq_exec_stmt(c, st, "outbox_requeue");
	if (rc < 0)
		return rc;
	return sqlite3_changes(c->db) == 0 ? MASKD_ENOTFOUND : 0;
}

int sq_outbox_stats(void *b, int64_t *unsent, int64_t *oldest,
		    void (*cb)(void *, const char *, int64_t, int64_t), void *ctx)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_OUTBOX_STATS);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char dest[OUTBOX_URL_MAX];
		sq_col_text(st, 0, dest, sizeof(dest));
		int64_t n = sqlite3_column_int64(st, 1), failed = sqlite3_column_int64(st, 2);
		*unsent += n;
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			int64_t at = sqlite3_column_int64(st, 3);
			if (*oldest == 0 || at < *oldest)
				*oldest = at;
		}
		if (cb != NULL)
			cb(ctx, dest, n, failed);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "outbox_stats");
}

int sq_outbox_recover(void *b, int64_t now)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_OUTBOX_RECOVER);
	sq_bind(st, SQ_INT(now));
	return sq_exec_stmt(c, st, "outbox_recover");
}
