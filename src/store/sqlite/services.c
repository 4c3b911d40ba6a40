/* SPDX-License-Identifier: MIT */
/* services.c - services (secrets sealed at rest) and pool numbers on SQLite. */
#include "sqlite_internal.h"

/* ---------------------------------------------------------------- services */

/* Parameters ?1-?5 and ?7-?38 of SQL_SERVICE_INSERT and SQL_SERVICE_UPDATE: every
 * column but created_at (?6, insert only). */
static void bind_service_columns(sqlite3_stmt *st, const struct service *svc)
{
	sq_bind_text(st, 1, svc->id);
	sq_bind_text(st, 2, svc->name);
	sqlite3_bind_int(st, 3, svc->mode);
	sqlite3_bind_int64(st, 4, svc->ttl);
	sq_bind_text(st, 5, svc->unknown_caller_message);
	sq_bind_policy(st, 7, &svc->policy);
	sqlite3_bind_int(st, 11, svc->pool.geo_match);
	sqlite3_bind_int(st, 12, svc->pool.geo_match_strict);
	sqlite3_bind_int(st, 13, svc->pool.number_selection);
	sqlite3_bind_int64(st, 14, svc->cooloff);
	sqlite3_bind_int(st, 15, svc->cooloff_reuse);
	sqlite3_bind_int(st, 16, svc->number_cap);
	sqlite3_bind_int(st, 17, svc->unknown_caller);
	sq_bind_text(st, 18, svc->fallback_number);
	sq_bind_text(st, 19, svc->pin_number);
	sqlite3_bind_int(st, 20, svc->pin_length);
	sqlite3_bind_int(st, 21, svc->pin_attempts);
	sq_bind_text(st, 22, svc->callback_url);
	sqlite3_bind_int(st, 23, svc->callback_timeout_ms);
	sqlite3_bind_int(st, 24, svc->callback_fail_open);
	sq_bind_text(st, 25, svc->ended_message);
	sq_bind_text(st, 26, svc->help_text);
	sqlite3_bind_int(st, 27, svc->rate_calls);
	sqlite3_bind_int(st, 28, svc->rate_texts);
	sqlite3_bind_int(st, 29, svc->rate_silent);
	sqlite3_bind_int(st, 30, svc->mms_fallback);
	sq_bind_text(st, 31, svc->events_url);
	sqlite3_bind_int(st, 32, svc->pool_low_threshold);
	sq_bind_text(st, 33, svc->branded_number);
	sqlite3_bind_int64(st, 34, svc->callback_window);
	sq_bind_text(st, 35, svc->intercept_url);
	sqlite3_bind_int(st, 36, svc->intercept_timeout_ms);
	sqlite3_bind_int(st, 37, svc->intercept_fail_open);
	sqlite3_bind_int(st, 38, svc->events_pull_off);
}

/* Seals carrier d's credentials of svc and inserts them (inside a transaction). */
static int secret_insert(struct store_sqlite *s, struct sqlite_conn *c, const struct service *svc, int d)
{
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = store_secret_seal(s->vault, svc, d, sealed, &sealed_len);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = sq_stmt(c, SQL_SECRET_INSERT);
	sq_bind_text(st, 1, svc->id);
	sq_bind_text(st, 2, dialect_name(d));
	sqlite3_bind_blob(st, 3, sealed, (int)sealed_len, SQLITE_STATIC);
	return sq_exec_stmt(c, st, "secret_insert");
}

/* Runs st, a statement that changes at most one row: MASKD_ENOTFOUND when it
 * changed none. */
static int exec_one_row(struct sqlite_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sq_exec_stmt(c, st, what);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return MASKD_ENOTFOUND;
	return rc;
}

/* The row of svc (SQL_SERVICE_UPDATE when update, which then fails with
 * MASKD_ENOTFOUND when there is none; SQL_SERVICE_INSERT otherwise), then each
 * carrier's credentials (on update deleted first; inserted unless secrets[d] is
 * ""), inside the transaction open on c. */
static int service_write_in(struct store_sqlite *s, struct sqlite_conn *c, const struct service *svc, bool update)
{
	sqlite3_stmt *st = sq_stmt(c, update ? SQL_SERVICE_UPDATE : SQL_SERVICE_INSERT);
	bind_service_columns(st, svc);
	if (!update)
		sqlite3_bind_int64(st, 6, svc->created_at);
	int rc = update ? exec_one_row(c, st, "service_update") : sq_exec_stmt(c, st, "service_insert");
	for (int d = 0; rc == 0 && d < DIALECT_COUNT; d++) {
		if (update) {
			st = sq_stmt(c, SQL_SECRET_DELETE);
			sq_bind_text(st, 1, svc->id);
			sq_bind_text(st, 2, dialect_name(d));
			rc = sq_exec_stmt(c, st, "secret_delete");
		}
		if (rc < 0 || svc->secrets[d][0] == '\0')
			continue;
		rc = secret_insert(s, c, svc, d);
	}
	return rc;
}

/* service_write_in() in a transaction of its own. */
static int service_write(struct store_sqlite *s, const struct service *svc, bool update)
{
	CONN_OR_FAIL(s, c);
	int rc = sq_tx_begin(c);
	if (rc < 0)
		return rc;
	rc = service_write_in(s, c, svc, update);
	if (rc == 0)
		rc = sq_tx_commit(c);
	if (rc < 0)
		sq_tx_rollback(c);
	return rc;
}

int sq_tx_service_update(struct store_tx *tx, const struct service *svc)
{
	return service_write_in(tx->b, tx_conn(tx), svc, true);
}

int sq_service_insert(void *b, const struct service *svc)
{
	return service_write(b, svc, false);
}

int sq_service_get(void *b, const char *id, struct service *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = sq_stmt(c, SQL_SERVICE_GET);
	sq_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct sql_cursor k = sq_cursor(st, 0);
		sql_read_service(&k, out);
	}
	sq_stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, "service_get");
	st = sq_stmt(c, SQL_SECRETS_GET);
	sq_bind_text(st, 1, id);
	int err = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int d = dialect_from_name((const char *)sqlite3_column_text(st, 0));
		if (d < 0)
			continue;
		char ad[ID_MAX + 32];
		store_secret_ad(id, d, ad, sizeof(ad));
		const uint8_t *blob = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		if (vault_unseal(s->vault, blob, (size_t)n, ad, out->secrets[d], sizeof(out->secrets[d])) < 0) {
			log_error("store: service %s: the %s credential does not open with this vault key", id,
				  dialect_name(d));
			err = MASKD_ECRYPTO;
		}
	}
	sq_stmt_done(st);
	if (rc != SQLITE_DONE)
		return sq_db_fail(c, "secrets_get");
	return err;
}

int sq_service_list(void *b, void (*cb)(void *, const struct service *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_SERVICE_LIST);
	char ids[256][ID_MAX];
	int n = 0, rc;
	while (n < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		sq_col_text(st, 0, ids[n++], ID_MAX);
	sq_stmt_done(st);
	for (int i = 0; i < n; i++) {
		struct service svc;
		if (sq_service_get(b, ids[i], &svc) == 0)
			cb(ctx, &svc);
	}
	return 0;
}

int sq_service_update(void *b, const struct service *svc)
{
	return service_write(b, svc, true);
}

/* ---------------------------------------------------------------- numbers */

/* Reads NUMBER_NCOLS columns from col (NUMBER_COLS order) into *n. */
static void sq_read_number(sqlite3_stmt *st, int col, struct number *n)
{
	struct sql_cursor k = sq_cursor(st, col);
	sql_read_number(&k, n);
}

/* sq_read_number plus the cooling count of number_get and number_list */
static void read_number_cooling(sqlite3_stmt *st, struct number *n)
{
	sq_read_number(st, 0, n);
	n->cooling = sqlite3_column_int64(st, NUMBER_NCOLS);
}

int sq_number_insert(void *b, const struct number *n)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_NUMBER_INSERT);
	sq_bind_text(st, 1, n->id);
	sq_bind_text(st, 2, n->service_id);
	sq_bind_text(st, 3, n->e164);
	sqlite3_bind_int(st, 4, n->carrier_any ? -1 : (int)n->carrier);
	sqlite3_bind_int(st, 5, (int)n->caps);
	sq_bind_text(st, 6, n->country);
	sq_bind_text(st, 7, n->area_code);
	sqlite3_bind_int(st, 8, n->state);
	sqlite3_bind_int64(st, 9, n->created_at);
	sq_bind_text(st, 10, n->region);
	return sq_exec_stmt(c, st, "number_insert");
}

int sq_number_by(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2, struct number *out)
{
	sqlite3_stmt *st = sq_stmt(c, id);
	sq_bind_text(st, 1, a1);
	if (a2 != NULL)
		sq_bind_text(st, 2, a2);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (id == SQL_NUMBER_GET)
			read_number_cooling(st, out);
		else
			sq_read_number(st, 0, out);
	}
	sq_stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "number_get");
}

int sq_number_get(void *b, const char *id, struct number *out)
{
	CONN_OR_FAIL(b, c);
	return sq_number_by(c, SQL_NUMBER_GET, id, NULL, out);
}

int sq_number_list(void *b, const char *service_id, void (*cb)(void *, const struct number *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_NUMBER_LIST);
	sq_bind_text(st, 1, service_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct number n;
		read_number_cooling(st, &n);
		cb(ctx, &n);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "number_list");
}

int sq_number_set_state(void *b, const char *id, enum number_state state, const struct store_event *ev)
{
	CONN_OR_FAIL(b, c);
	int rc = ev != NULL ? sq_tx_begin(c) : 0;
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = sq_stmt(c, SQL_NUMBER_SET_STATE);
	sq_bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, state);
	rc = exec_one_row(c, st, "number_set_state");
	if (ev == NULL)
		return rc;
	return sq_tx_finish_event(b, c, rc, ev);
}

int sq_number_set_region(void *b, const char *id, const char *region)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_NUMBER_SET_REGION);
	sq_bind_text(st, 1, id);
	sq_bind_text(st, 2, region);
	return exec_one_row(c, st, "number_set_region");
}

int sq_number_delete(void *b, const char *id)
{
	CONN_OR_FAIL(b, c);
	int rc = sq_tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = sq_stmt(c, SQL_NUMBER_IN_USE);
	sq_bind_text(st, 1, id);
	int step = sqlite3_step(st);
	int64_t in_use = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sq_stmt_done(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "number_in_use");
		goto done;
	}
	if (in_use > 0) {
		rc = MASKD_ECONFLICT;
		goto done;
	}
	st = sq_stmt(c, SQL_NUMBER_RELEASE_COOLING);
	sq_bind_text(st, 1, id);
	rc = sq_exec_stmt(c, st, "number_release_cooling");
	if (rc == 0) {
		st = sq_stmt(c, SQL_NUMBER_OPTOUTS_DELETE);
		sq_bind_text(st, 1, id);
		rc = sq_exec_stmt(c, st, "number_optouts_delete");
	}
	if (rc == 0) {
		st = sq_stmt(c, SQL_NUMBER_DELETE);
		sq_bind_text(st, 1, id);
		rc = sq_exec_stmt(c, st, "number_delete");
	}
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = MASKD_ECONFLICT; /* in_use moved under us: cannot happen under db_lock */
	if (rc == 0)
		rc = sq_tx_commit(c);
done:
	if (rc < 0)
		sq_tx_rollback(c);
	return rc;
}
