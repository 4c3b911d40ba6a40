/* SPDX-License-Identifier: MIT */
/* reseal.c - the SQLite backend's part of the vault key rotation: finds sealed
 * values whose first byte (the key version) is not the current one, re-seals
 * them (store_reseal_value) and counts what is left. A background job's slow
 * path, so its statements are prepared per call, not kept with the others. */
#include "sqlite_internal.h"

#include <openssl/crypto.h>

/* Per kind: the key, the sealed column, the two name columns, and the table. */
struct reseal_sql {
	const char *select; /* ?1 after, ?2 the current version byte, ?3 limit */
	const char *update; /* ?1 new, ?2 a, ?3 b, ?4 old */
	const char *stale;  /* ?1 the version byte */
};

#define SQ_STALE(col) "length(" col ") > 0 AND substr(" col ", 1, 1) <> ?"
#define SQ_ACCOUNT_TOKEN "(CASE WHEN json_valid(value) THEN json_extract(value, '$.auth_token_sealed') END)"
#define SQ_ACCOUNT_STALE(version)                                                                            \
	"key LIKE '" STORE_PROXY_ACCOUNT_PREFIX "%' AND length(" SQ_ACCOUNT_TOKEN ") > 0 AND "                 \
	"substr(" SQ_ACCOUNT_TOKEN ", 1, 2) <> lower(hex(" version "))"

static const struct reseal_sql reseal_sql[STORE_SEALED_COUNT] = {
	[STORE_SEALED_PARTICIPANTS] = {
		"SELECT id, number_sealed, id, '' FROM participants WHERE id > ?1 AND "
		"length(number_sealed) > 0 AND substr(number_sealed, 1, 1) <> ?2 ORDER BY id LIMIT ?3",
		"UPDATE participants SET number_sealed = ?1 WHERE id = ?2 AND ?3 = '' AND number_sealed = ?4",
		"SELECT count(*) FROM participants WHERE " SQ_STALE("number_sealed"),
	},
	[STORE_SEALED_SECRETS] = {
		"SELECT service_id || ':' || carrier, sealed, service_id, carrier FROM service_secrets "
		"WHERE service_id || ':' || carrier > ?1 AND length(sealed) > 0 AND substr(sealed, 1, 1) <> ?2 "
		"ORDER BY 1 LIMIT ?3",
		"UPDATE service_secrets SET sealed = ?1 WHERE service_id = ?2 AND carrier = ?3 AND sealed = ?4",
		"SELECT count(*) FROM service_secrets WHERE " SQ_STALE("sealed"),
	},
	[STORE_SEALED_OUTBOX] = {
		"SELECT id, payload, id, '' FROM outbox WHERE id > ?1 AND "
		"length(payload) > 0 AND substr(payload, 1, 1) <> ?2 ORDER BY id LIMIT ?3",
		"UPDATE outbox SET payload = ?1 WHERE id = ?2 AND ?3 = '' AND payload = ?4",
		"SELECT count(*) FROM outbox WHERE " SQ_STALE("payload"),
	},
	[STORE_SEALED_PROFILES] = {
		"SELECT id, number_sealed, id, '' FROM profiles WHERE id > ?1 AND "
		"length(number_sealed) > 0 AND substr(number_sealed, 1, 1) <> ?2 ORDER BY id LIMIT ?3",
		"UPDATE profiles SET number_sealed = ?1 WHERE id = ?2 AND ?3 = '' AND number_sealed = ?4",
		"SELECT count(*) FROM profiles WHERE " SQ_STALE("number_sealed"),
	},
	/* the version byte is the first two hex digits of the value's auth_token_sealed */
	[STORE_SEALED_PROXY_ACCOUNTS] = {
		"SELECT key, value, key, '' FROM settings WHERE key > ?1 AND " SQ_ACCOUNT_STALE("?2")
		" ORDER BY key LIMIT ?3",
		"UPDATE settings SET value = ?1 WHERE key = ?2 AND ?3 = '' AND value = ?4",
		"SELECT count(*) FROM settings WHERE " SQ_ACCOUNT_STALE("?1"),
	},
};

static int prepare(struct sqlite_conn *c, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v2(c->db, sql, -1, out, NULL) != SQLITE_OK) {
		sqlite3_finalize(*out);
		*out = NULL;
		return sq_db_fail(c, "vault_reseal prepare");
	}
	return 0;
}

/* The rows of one batch, read first so that the select is finished before the
 * updates run. */
struct reseal_row {
	char key[STORE_RESEAL_KEY_MAX];
	char a[STORE_RESEAL_KEY_MAX], b[32];
	uint8_t *old;
	size_t len;
};

static void rows_free(struct reseal_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		free(rows[i].old);
	free(rows);
}

int sq_vault_reseal(void *b, enum store_sealed what, const char *after, int limit, char last[STORE_RESEAL_KEY_MAX],
		    int *seen, int *resealed)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	const struct reseal_sql *q = &reseal_sql[what];
	uint8_t current = (uint8_t)vault_current_version(s->vault);
	sqlite3_stmt *sel = NULL, *upd = NULL;
	struct reseal_row *rows = xcalloc((size_t)limit, sizeof(*rows));
	int n = 0, done = 0;
	int rc = prepare(c, q->select, &sel);
	if (rc == 0)
		rc = prepare(c, q->update, &upd);
	if (rc == 0)
		rc = sq_tx_begin(c);
	if (rc < 0)
		goto out;
	sq_bind_text(sel, 1, after);
	sqlite3_bind_blob(sel, 2, &current, 1, SQLITE_TRANSIENT);
	sqlite3_bind_int(sel, 3, limit);
	int step = SQLITE_DONE;
	while (n < limit && (step = sqlite3_step(sel)) == SQLITE_ROW) {
		struct reseal_row *r = &rows[n++];
		sq_col_text(sel, 0, r->key, sizeof(r->key));
		sq_col_text(sel, 2, r->a, sizeof(r->a));
		sq_col_text(sel, 3, r->b, sizeof(r->b));
		r->len = (size_t)sqlite3_column_bytes(sel, 1);
		r->old = xmalloc(r->len > 0 ? r->len : 1);
		memcpy(r->old, sqlite3_column_blob(sel, 1), r->len);
	}
	if (n < limit && step != SQLITE_DONE) {
		rc = sq_db_fail(c, "vault_reseal select");
		goto rollback;
	}
	sqlite3_reset(sel);
	for (int i = 0; i < n; i++) {
		uint8_t *fresh = NULL;
		size_t fresh_len = 0;
		if (store_reseal_value(s->vault, what, rows[i].a, rows[i].b, rows[i].old, rows[i].len, &fresh,
				       &fresh_len) < 0)
			continue; /* left for an operator: vault_unseal named its version */
		if (what == STORE_SEALED_PROXY_ACCOUNTS) { /* a settings value is text: compared as text */
			sqlite3_bind_text(upd, 1, (const char *)fresh, (int)fresh_len, SQLITE_TRANSIENT);
			sqlite3_bind_text(upd, 4, (const char *)rows[i].old, (int)rows[i].len, SQLITE_STATIC);
		} else {
			sqlite3_bind_blob(upd, 1, fresh, (int)fresh_len, SQLITE_TRANSIENT);
			sqlite3_bind_blob(upd, 4, rows[i].old, (int)rows[i].len, SQLITE_STATIC);
		}
		sq_bind_text(upd, 2, rows[i].a);
		sq_bind_text(upd, 3, what == STORE_SEALED_SECRETS ? rows[i].b : "");
		free(fresh);
		int u = sqlite3_step(upd);
		sqlite3_reset(upd);
		sqlite3_clear_bindings(upd);
		if (u != SQLITE_DONE) {
			rc = sq_db_fail(c, "vault_reseal update");
			goto rollback;
		}
		done += sqlite3_changes(c->db);
	}
	rc = sq_tx_commit(c);
	if (rc < 0)
		goto rollback;
	*seen = n;
	*resealed = done;
	if (n > 0)
		snprintf(last, STORE_RESEAL_KEY_MAX, "%s", rows[n - 1].key);
	goto out;
rollback:
	sqlite3_reset(sel);
	sq_tx_rollback(c);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	rows_free(rows, n);
	return rc;
}

int sq_vault_stale(void *b, int version, int64_t *count)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	uint8_t v = (uint8_t)version;
	*count = 0;
	for (int k = 0; k < STORE_SEALED_COUNT; k++) {
		sqlite3_stmt *st = NULL;
		int rc = prepare(c, reseal_sql[k].stale, &st);
		if (rc < 0)
			return rc;
		sqlite3_bind_blob(st, 1, &v, 1, SQLITE_TRANSIENT);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			*count += sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (step != SQLITE_ROW)
			return sq_db_fail(c, "vault_stale");
	}
	return 0;
}

/* ---------------------------------------------------------------- the blind-index rotation */

struct reindex_row {
	char id[ID_MAX], session_id[ID_MAX];
	char old[STORE_BIDX_MAX];
	uint8_t *sealed;
	size_t len;
};

/* prepare() of a shared text (sql_shared.h): its $n become ?n. */
static int prepare_shared(struct sqlite_conn *c, const char *sql, sqlite3_stmt **out)
{
	size_t n = strlen(sql);
	char *buf = xmalloc(n + 1);
	for (size_t i = 0; i <= n; i++)
		buf[i] = sql[i] == '$' && i + 1 < n && sql[i + 1] >= '0' && sql[i + 1] <= '9' ? '?' : sql[i];
	int rc = prepare(c, buf, out);
	free(buf);
	return rc;
}

static int exec_sql(struct sqlite_conn *c, const char *sql, const char *const *texts, int n_texts, int *changes)
{
	sqlite3_stmt *st = NULL;
	int rc = prepare_shared(c, sql, &st);
	if (rc < 0)
		return rc;
	for (int i = 0; i < n_texts; i++)
		sq_bind_text(st, i + 1, texts[i]);
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return sq_db_fail(c, "index_sweep");
	if (changes != NULL)
		*changes = sqlite3_changes(c->db);
	return 0;
}

static int reindex_finish(struct sqlite_conn *c)
{
	static const char *const steps[SQL_REINDEX_FINISH_STEPS] = SQL_REINDEX_FINISH;
	int rc = sq_tx_begin(c);
	for (int k = 0; rc == 0 && k < SQL_REINDEX_FINISH_STEPS; k++)
		rc = exec_sql(c, steps[k], NULL, 0, NULL);
	if (rc == 0)
		rc = sq_tx_commit(c);
	if (rc < 0)
		sq_tx_rollback(c);
	return rc;
}

int sq_index_sweep(void *b, enum store_reindex what, const char *after, int limit, char last[STORE_RESEAL_KEY_MAX],
		   int *seen, int *moved)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	if (what == STORE_REINDEX_FINISH)
		return reindex_finish(c);
	bool profiles = what == STORE_REINDEX_PROFILES;
	char prefix[8];
	store_index_prefix(s->vault, prefix);
	sqlite3_stmt *sel = NULL;
	struct reindex_row *rows = xcalloc((size_t)limit, sizeof(*rows));
	int n = 0, done = 0;
	int rc = prepare_shared(c, profiles ? SQL_TEXT_REINDEX_PROFILES : SQL_TEXT_REINDEX_PARTICIPANTS, &sel);
	if (rc == 0)
		rc = sq_tx_begin(c);
	if (rc < 0)
		goto out;
	sq_bind_text(sel, 1, prefix);
	sq_bind_text(sel, 2, after);
	sqlite3_bind_int(sel, 3, limit);
	int step = SQLITE_DONE;
	while (n < limit && (step = sqlite3_step(sel)) == SQLITE_ROW) {
		struct reindex_row *r = &rows[n++];
		sq_col_text(sel, 0, r->id, sizeof(r->id));
		sq_col_text(sel, 2, r->old, sizeof(r->old));
		sq_col_text(sel, 3, r->session_id, sizeof(r->session_id));
		r->len = (size_t)sqlite3_column_bytes(sel, 1);
		r->sealed = xmalloc(r->len > 0 ? r->len : 1);
		memcpy(r->sealed, sqlite3_column_blob(sel, 1), r->len);
	}
	if (n < limit && step != SQLITE_DONE) {
		rc = sq_db_fail(c, "index_sweep select");
		goto rollback;
	}
	sqlite3_reset(sel);
	for (int i = 0; i < n; i++) {
		char fresh[STORE_BIDX_MAX];
		if (store_reindex_value(s->vault, profiles, rows[i].id, rows[i].sealed, rows[i].len, fresh) < 0)
			continue; /* left for an operator: vault_unseal named its version */
		const char *row[3] = {rows[i].id, fresh, rows[i].old};
		int changed = 0;
		rc = exec_sql(c, profiles ? SQL_TEXT_REINDEX_PROFILE_SET : SQL_TEXT_REINDEX_PARTICIPANT_SET, row, 3,
			      &changed);
		if (rc == 0 && changed > 0 && !profiles) {
			const char *peers[3] = {rows[i].session_id, fresh, rows[i].old};
			rc = exec_sql(c, SQL_TEXT_REINDEX_PEERS_SET, peers, 3, NULL);
		}
		if (rc == 0 && changed > 0) {
			const char *move[2] = {rows[i].old, fresh};
			rc = exec_sql(c, SQL_TEXT_REINDEX_MOVE, move, 2, NULL);
		}
		OPENSSL_cleanse(fresh, sizeof(fresh));
		if (rc < 0)
			goto rollback;
		done += changed;
	}
	rc = sq_tx_commit(c);
	if (rc < 0)
		goto rollback;
	*seen = n;
	*moved = done;
	if (n > 0)
		snprintf(last, STORE_RESEAL_KEY_MAX, "%s", rows[n - 1].id);
	goto out;
rollback:
	sqlite3_reset(sel);
	sq_tx_rollback(c);
out:
	sqlite3_finalize(sel);
	for (int i = 0; i < n; i++)
		free(rows[i].sealed);
	free(rows);
	return rc;
}

int sq_index_stale(void *b, int64_t *count)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	char prefix[8];
	store_index_prefix(s->vault, prefix);
	sqlite3_stmt *st = NULL;
	int rc = prepare_shared(c, SQL_TEXT_REINDEX_STALE, &st);
	if (rc < 0)
		return rc;
	sq_bind_text(st, 1, prefix);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return step == SQLITE_ROW ? 0 : sq_db_fail(c, "index_stale");
}
