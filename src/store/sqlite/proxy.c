/* SPDX-License-Identifier: MIT */
/* proxy.c - the Twilio Proxy v1 pending sessions (store_proxy_session_* in
 * store.h) on SQLite: one row per session created before its first participant;
 * and the Proxy Interaction DELETE (store_tx_interaction_delete).
 * Plain row reads and writes; api/proxy_v1_sessions.c decides when they change. */
#include "sqlite_internal.h"

int sq_tx_proxy_session_put(struct store_tx *tx, const struct store_proxy_session *r)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_PROXY_SESSION_PUT);
	sq_bind(st, SQ_TEXT(r->id), SQ_TEXT(r->service_id), SQ_TEXT(r->unique_name), SQ_INT(r->mode), SQ_INT(r->ttl),
		SQ_INT(r->expires_at), SQ_INT(r->created_at));
	return sq_exec_stmt(c, st, "proxy_session_put");
}

int sq_proxy_session_get(void *b, const char *id, struct store_proxy_session *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_PROXY_SESSION_GET);
	sq_bind(st, SQ_TEXT(id));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct sq_cols r = {st, 0};
		sq_next_text(&r, out->id, sizeof(out->id));
		sq_next_text(&r, out->service_id, sizeof(out->service_id));
		sq_next_text(&r, out->unique_name, sizeof(out->unique_name));
		out->mode = sq_next_int(&r);
		out->ttl = sq_next_i64(&r);
		out->expires_at = sq_next_i64(&r);
		out->created_at = sq_next_i64(&r);
	}
	sq_stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "proxy_session_get");
}

int sq_tx_proxy_session_delete(struct store_tx *tx, const char *id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_PROXY_SESSION_DELETE);
	sq_bind(st, SQ_TEXT(id));
	int rc = sq_exec_stmt(c, st, "proxy_session_delete");
	if (rc < 0)
		return rc;
	return sqlite3_changes(c->db) == 0 ? MASKD_ENOTFOUND : 0;
}

int sq_tx_proxy_sessions_drop(struct store_tx *tx, const char *service_id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_PROXY_SESSIONS_DROP);
	sq_bind(st, SQ_TEXT(service_id));
	return sq_exec_stmt(c, st, "proxy_sessions_drop");
}

int sq_tx_interaction_delete(struct store_tx *tx, const char *session_id, const char *id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_INTERACTION_LEGS_DELETE);
	sq_bind(st, SQ_TEXT(id), SQ_TEXT(session_id));
	int rc = sq_exec_stmt(c, st, "interaction_legs_delete");
	if (rc < 0)
		return rc;
	st = sq_stmt(c, SQL_INTERACTION_DELETE);
	sq_bind(st, SQ_TEXT(id), SQ_TEXT(session_id));
	rc = sq_exec_stmt(c, st, "interaction_delete");
	if (rc < 0)
		return rc;
	return sqlite3_changes(c->db) == 0 ? MASKD_ENOTFOUND : 0;
}
