/* SPDX-License-Identifier: MIT */
/* keys.c - the PostgreSQL backend's API keys, audit log and participant owner
 * lookup (store.h, migration 5). Rows only; the scope rule and the chain hash
 * live in core/. Appends to the audit log take LOCK TABLE ... EXCLUSIVE so that
 * nodes append one at a time (reads go on). */
#include "pg_internal.h"

/* Runs id with one text parameter, expecting at most one key row into out. */
static int key_one(struct pg_conn *c, enum sql_id id, const char *param, struct api_key *out)
{
	struct args a = {0};
	pg_arg_text(&a, param);
	PGresult *r = NULL;
	int rc = pg_run_one(c, id, &a, &r);
	if (rc < 0)
		return rc;
	struct sql_cursor cur = pg_cursor(r, 0, 0);
	sql_read_key(&cur, out);
	PQclear(r);
	return 0;
}

int pg_key_by_hash(void *b, const char *hash, struct api_key *out)
{
	CONN_OR_FAIL(b, c);
	return key_one(c, SQL_KEY_BY_HASH, hash, out);
}

int pg_key_get(void *b, const char *id, struct api_key *out)
{
	CONN_OR_FAIL(b, c);
	return key_one(c, SQL_KEY_GET, id, out);
}

int pg_key_list(void *b, void (*cb)(void *, const struct api_key *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	PGresult *r = NULL;
	struct args a = {0};
	int rc = pg_run(c, SQL_KEY_LIST, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct api_key k;
		struct sql_cursor cur = pg_cursor(r, i, 0);
		sql_read_key(&cur, &k);
		cb(ctx, &k);
	}
	PQclear(r);
	return 0;
}

int pg_key_touch(void *b, const char *id, int64_t now)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_i64(&a, now);
	return pg_run(c, SQL_KEY_TOUCH, &a, NULL);
}

int pg_tx_key_insert(struct store_tx *tx, const struct api_key *k)
{
	struct args a = {0};
	pg_arg_text(&a, k->id);
	pg_arg_text(&a, k->hash);
	pg_arg_i64(&a, k->role);
	pg_arg_text(&a, k->service_id);
	pg_arg_text(&a, k->label);
	pg_arg_i64(&a, k->created_at);
	pg_arg_i64(&a, k->expires_at);
	pg_arg_i64(&a, k->revoked_at);
	pg_arg_i64(&a, k->last_used_at);
	return pg_run(tx_conn(tx), SQL_KEY_INSERT, &a, NULL);
}

int pg_tx_key_update(struct store_tx *tx, const char *id, const char *hash, int64_t revoked_at)
{
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_text(&a, hash);
	pg_arg_i64(&a, revoked_at);
	return pg_run_count(tx_conn(tx), SQL_KEY_UPDATE, &a);
}

int pg_tx_audit_tail(struct store_tx *tx, int64_t *seq, char hash[AUDIT_HASH_HEX])
{
	struct pg_conn *c = tx_conn(tx);
	*seq = 0;
	snprintf(hash, AUDIT_HASH_HEX, "%s", AUDIT_GENESIS);
	struct args a = {0};
	int rc = pg_run(c, SQL_AUDIT_LOCK, &a, NULL);
	if (rc < 0)
		return rc;
	PGresult *r = NULL;
	rc = pg_run(c, SQL_AUDIT_TAIL, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		*seq = pg_col_i64(r, 0, 0);
		pg_col_text(r, 0, 1, hash, AUDIT_HASH_HEX);
	}
	PQclear(r);
	return 0;
}

int pg_tx_audit_insert(struct store_tx *tx, const struct audit_entry *e)
{
	struct args a = {0};
	pg_arg_i64(&a, e->seq);
	pg_arg_i64(&a, e->created_at);
	pg_arg_text(&a, e->key_id);
	pg_arg_text(&a, e->key_label);
	pg_arg_text(&a, e->request_id);
	pg_arg_text(&a, e->source);
	pg_arg_text(&a, e->action);
	pg_arg_text(&a, e->target);
	pg_arg_text(&a, e->reason);
	pg_arg_text(&a, e->detail);
	pg_arg_text(&a, e->prev_hash);
	pg_arg_text(&a, e->hash);
	return pg_run(tx_conn(tx), SQL_AUDIT_INSERT, &a, NULL);
}

int pg_audit_list(void *b, int64_t after, int limit, void (*cb)(void *, const struct audit_entry *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_i64(&a, after);
	pg_arg_i64(&a, limit);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_AUDIT_LIST, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct audit_entry e;
		struct sql_cursor cur = pg_cursor(r, i, 0);
		sql_read_audit(&cur, &e);
		cb(ctx, &e);
	}
	PQclear(r);
	return 0;
}

int pg_participant_owner(void *b, const char *id, char session_id[ID_MAX], char service_id[ID_MAX], int *purged)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_PARTICIPANT_OWNER, &a, &r);
	if (rc < 0)
		return rc;
	pg_col_text(r, 0, 0, session_id, ID_MAX);
	pg_col_text(r, 0, 1, service_id, ID_MAX);
	*purged = pg_col_int(r, 0, 2);
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- data subjects */

int pg_subject_find(void *b, const char *bidx, void (*cb)(void *, const struct subject_row *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, bidx);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_SUBJECT_FIND, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct subject_row s;
		memset(&s, 0, sizeof(s));
		pg_col_text(r, i, 0, s.participant_id, sizeof(s.participant_id));
		pg_col_text(r, i, 1, s.session_id, sizeof(s.session_id));
		pg_col_text(r, i, 2, s.service_id, sizeof(s.service_id));
		s.status = (enum session_status)pg_col_int(r, i, 3);
		pg_col_text(r, i, 4, s.masked, sizeof(s.masked));
		pg_col_text(r, i, 5, s.proxy_e164, sizeof(s.proxy_e164));
		s.active = pg_col_int(r, i, 6);
		cb(ctx, &s);
	}
	PQclear(r);
	return 0;
}

int pg_subject_optouts(void *b, const char *bidx, void (*cb)(void *, const struct subject_optout *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, bidx);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_SUBJECT_OPTOUTS, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct subject_optout o;
		memset(&o, 0, sizeof(o));
		pg_col_text(r, i, 0, o.service_id, sizeof(o.service_id));
		pg_col_text(r, i, 1, o.number_id, sizeof(o.number_id));
		o.created_at = pg_col_i64(r, i, 2);
		cb(ctx, &o);
	}
	PQclear(r);
	return 0;
}

int pg_tx_subject_erase(struct store_tx *tx, const char *bidx, int64_t counts[STORE_ERASE_COUNTS])
{
	struct pg_conn *c = tx_conn(tx);
	counts[0] = counts[1] = counts[2] = 0;
	struct args a = {0};
	pg_arg_text(&a, bidx);
	int n = pg_run_count(c, SQL_SUBJECT_WIPE, &a);
	int peers = n < 0 ? n : pg_run_count(c, SQL_SUBJECT_PEERS, &a);
	int opts = peers < 0 ? peers : pg_run_count(c, SQL_SUBJECT_OPTOUTS_DELETE, &a);
	int marks = opts < 0 ? opts : pg_run_count(c, SQL_ENDED_MARKS_ERASE, &a);
	int profiles = marks < 0 ? marks : pg_run_count(c, SQL_SUBJECT_PROFILES_WIPE, &a);
	if (profiles < 0)
		return profiles;
	counts[0] = n;
	counts[1] = opts;
	counts[2] = profiles;
	return 0;
}

int pg_subject_settle(void *b)
{
	(void)b; /* a committed erase leaves nothing to settle here (the old row versions go with VACUUM) */
	return 0;
}
