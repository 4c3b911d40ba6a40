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

/* ---------------------------------------------------------------- data subjects */

int sq_subject_find(void *b, const char *bidx, void (*cb)(void *, const struct subject_row *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_SUBJECT_FIND);
	sq_bind_text(st, 1, bidx);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct subject_row r;
		memset(&r, 0, sizeof(r));
		struct sq_cols col = {st, 0};
		sq_next_text(&col, r.participant_id, sizeof(r.participant_id));
		sq_next_text(&col, r.session_id, sizeof(r.session_id));
		sq_next_text(&col, r.service_id, sizeof(r.service_id));
		r.status = (enum session_status)sq_next_int(&col);
		sq_next_text(&col, r.masked, sizeof(r.masked));
		sq_next_text(&col, r.proxy_e164, sizeof(r.proxy_e164));
		r.active = sq_next_int(&col);
		cb(ctx, &r);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "subject_find");
}

int sq_subject_optouts(void *b, const char *bidx, void (*cb)(void *, const struct subject_optout *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_SUBJECT_OPTOUTS);
	sq_bind_text(st, 1, bidx);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct subject_optout o;
		memset(&o, 0, sizeof(o));
		sq_col_text(st, 0, o.service_id, sizeof(o.service_id));
		sq_col_text(st, 1, o.number_id, sizeof(o.number_id));
		o.created_at = sqlite3_column_int64(st, 2);
		cb(ctx, &o);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "subject_optouts");
}

/* Runs one bound-by-bidx write of the erase; its change count into *n. */
static int erase_step(struct sqlite_conn *c, enum sql_id id, const char *bidx, int64_t *n)
{
	sqlite3_stmt *st = sq_stmt(c, id);
	sq_bind_text(st, 1, bidx);
	int rc = sq_exec_stmt(c, st, "subject_erase");
	if (rc == 0 && n != NULL)
		*n = sqlite3_changes(c->db);
	return rc;
}

int sq_tx_subject_erase(struct store_tx *tx, const char *bidx, int64_t counts[STORE_ERASE_COUNTS])
{
	struct sqlite_conn *c = tx_conn(tx);
	counts[0] = counts[1] = counts[2] = 0;
	/* overwrite what the erase deletes (cells, index entries, freed pages);
	 * sq_subject_settle() turns it off again once the transaction is over */
	if (sqlite3_exec(c->db, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK)
		return sq_db_fail(c, "secure_delete");
	int rc = erase_step(c, SQL_SUBJECT_WIPE, bidx, &counts[0]);
	if (rc == 0)
		rc = erase_step(c, SQL_SUBJECT_PEERS, bidx, NULL);
	if (rc == 0)
		rc = erase_step(c, SQL_SUBJECT_OPTOUTS_DELETE, bidx, &counts[1]);
	if (rc == 0)
		rc = erase_step(c, SQL_ENDED_MARKS_ERASE, bidx, NULL);
	if (rc == 0)
		rc = erase_step(c, SQL_SUBJECT_PROFILES_WIPE, bidx, &counts[2]);
	return rc;
}

int sq_subject_settle(void *b)
{
	CONN_OR_FAIL(b, c);
	sqlite3_exec(c->db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL);
	/* the WAL still holds the pages as they were: copy it back and cut it to nothing */
	if (sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) != SQLITE_OK)
		log_warn("store: erase committed, but the WAL could not be truncated yet: %s", sqlite3_errmsg(c->db));
	return 0;
}
