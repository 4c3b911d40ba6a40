/* SPDX-License-Identifier: MIT */
/* keys.c - the SQLite backend's API keys, audit log and participant owner
 * lookup (store.h, migration 5). Rows only; the scope rule and the chain hash
 * live in core/. */
#include "sqlite_internal.h"

/* Runs st (bound) expecting at most one key row into out. */
static int key_one(struct sqlite_conn *c, sqlite3_stmt *st, struct api_key *out, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct sql_cursor cur = sq_cursor(st, 0);
		sql_read_key(&cur, out);
	}
	sq_stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, what);
}

int sq_key_by_hash(void *b, const char *hash, struct api_key *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_KEY_BY_HASH);
	sq_bind_text(st, 1, hash);
	return key_one(c, st, out, "key_by_hash");
}

int sq_key_get(void *b, const char *id, struct api_key *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_KEY_GET);
	sq_bind_text(st, 1, id);
	return key_one(c, st, out, "key_get");
}

int sq_key_list(void *b, void (*cb)(void *, const struct api_key *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_KEY_LIST);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct api_key k;
		struct sql_cursor cur = sq_cursor(st, 0);
		sql_read_key(&cur, &k);
		cb(ctx, &k);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "key_list");
}

int sq_key_touch(void *b, const char *id, int64_t now)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_KEY_TOUCH);
	sq_bind(st, SQ_TEXT(id), SQ_INT(now));
	return sq_exec_stmt(c, st, "key_touch");
}

int sq_tx_key_insert(struct store_tx *tx, const struct api_key *k)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_KEY_INSERT);
	sq_bind(st, SQ_TEXT(k->id), SQ_TEXT(k->hash), SQ_INT(k->role), SQ_TEXT(k->service_id), SQ_TEXT(k->label),
		SQ_INT(k->created_at), SQ_INT(k->expires_at), SQ_INT(k->revoked_at), SQ_INT(k->last_used_at));
	return sq_exec_stmt(c, st, "key_insert");
}

int sq_tx_key_update(struct store_tx *tx, const char *id, const char *hash, int64_t revoked_at)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_KEY_UPDATE);
	sq_bind(st, SQ_TEXT(id), SQ_TEXT(hash), SQ_INT(revoked_at));
	int rc = sq_exec_stmt(c, st, "key_update");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

int sq_tx_audit_tail(struct store_tx *tx, int64_t *seq, char hash[AUDIT_HASH_HEX])
{
	struct sqlite_conn *c = tx_conn(tx);
	*seq = 0;
	snprintf(hash, AUDIT_HASH_HEX, "%s", AUDIT_GENESIS);
	sqlite3_stmt *st = sq_stmt(c, SQL_AUDIT_TAIL);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		sq_col_text(st, 1, hash, AUDIT_HASH_HEX);
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_db_fail(c, "audit_tail");
}

int sq_tx_audit_insert(struct store_tx *tx, const struct audit_entry *e)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_AUDIT_INSERT);
	sq_bind(st, SQ_INT(e->seq), SQ_INT(e->created_at), SQ_TEXT(e->key_id), SQ_TEXT(e->key_label),
		SQ_TEXT(e->request_id), SQ_TEXT(e->source), SQ_TEXT(e->action), SQ_TEXT(e->target), SQ_TEXT(e->reason),
		SQ_TEXT(e->detail), SQ_TEXT(e->prev_hash), SQ_TEXT(e->hash));
	return sq_exec_stmt(c, st, "audit_insert");
}

int sq_audit_list(void *b, int64_t after, int limit, void (*cb)(void *, const struct audit_entry *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_AUDIT_LIST);
	sq_bind(st, SQ_INT(after), SQ_INT(limit));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct audit_entry e;
		struct sql_cursor cur = sq_cursor(st, 0);
		sql_read_audit(&cur, &e);
		cb(ctx, &e);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "audit_list");
}

int sq_participant_owner(void *b, const char *id, char session_id[ID_MAX], char service_id[ID_MAX], int *purged)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_PARTICIPANT_OWNER);
	sq_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		sq_col_text(st, 0, session_id, ID_MAX);
		sq_col_text(st, 1, service_id, ID_MAX);
		*purged = sqlite3_column_int(st, 2);
	}
	sq_stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "participant_owner");
}
