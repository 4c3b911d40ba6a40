/* SPDX-License-Identifier: MIT */
/* profiles.c - the SQLite backend's profile primitives (store.h store_tx_profile_*):
 * rows of the profiles table and the device swap of the participant rows made
 * from a profile. Every call runs inside a transaction (the caller holds db_lock). */
#include "sqlite_internal.h"

static int changed_one(struct sqlite_conn *c, sqlite3_stmt *st, const char *what, int none)
{
	int rc = sq_exec_stmt(c, st, what);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = none;
	return rc;
}

int sq_tx_profile_insert(struct store_tx *tx, const struct profile *p, const char *bidx)
{
	struct sqlite_conn *c = tx_conn(tx);
	struct store_sqlite *s = tx->b;
	char ad[STORE_PROFILE_AD_MAX];
	store_profile_ad(p->id, ad);
	sqlite3_stmt *st = sq_stmt(c, SQL_PROFILE_INSERT);
	int rc = sq_bind_sealed(st, 5, s->vault, p->number, ad);
	if (rc < 0) {
		sq_stmt_done(st);
		return rc;
	}
	sq_bind_text(st, 1, p->id);
	sq_bind_text(st, 2, p->service_id);
	sq_bind_text(st, 3, p->label);
	sq_bind_text(st, 4, p->masked);
	sq_bind_text(st, 6, bidx);
	sq_bind_text(st, 7, p->country);
	sq_bind_text(st, 8, p->proxy_number_id);
	sq_bind_text(st, 9, p->proxy_e164);
	sqlite3_bind_int(st, 10, (int)p->state);
	sqlite3_bind_int64(st, 11, p->created_at);
	sqlite3_bind_int64(st, 12, p->updated_at);
	return changed_one(c, st, "profile_insert", MASKD_ECONFLICT);
}

/* The row st stands on (PROFILE_COLS) into *out; with_number: the number unsealed. */
static int read_profile(const struct store_sqlite *s, sqlite3_stmt *st, int with_number, struct profile *out)
{
	struct sq_cols r = {st, 0};
	memset(out, 0, sizeof(*out));
	sq_next_text(&r, out->id, sizeof(out->id));
	sq_next_text(&r, out->service_id, sizeof(out->service_id));
	sq_next_text(&r, out->label, sizeof(out->label));
	sq_next_text(&r, out->masked, sizeof(out->masked));
	sq_next_text(&r, out->country, sizeof(out->country));
	sq_next_text(&r, out->proxy_number_id, sizeof(out->proxy_number_id));
	sq_next_text(&r, out->proxy_e164, sizeof(out->proxy_e164));
	out->state = (enum profile_state)sq_next_int(&r);
	out->created_at = sq_next_i64(&r);
	out->updated_at = sq_next_i64(&r);
	out->retired_at = sq_next_i64(&r);
	out->free_at = sq_next_i64(&r);
	if (!with_number || sqlite3_column_bytes(st, r.col) == 0)
		return 0; /* not asked, or erased (a data-subject erasure): "" */
	char ad[STORE_PROFILE_AD_MAX];
	store_profile_ad(out->id, ad);
	return vault_unseal(s->vault, sqlite3_column_blob(st, r.col), (size_t)sqlite3_column_bytes(st, r.col), ad,
			    out->number, sizeof(out->number));
}

int sq_tx_profile_get(struct store_tx *tx, const char *id, int with_number, struct profile *out)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_PROFILE_GET);
	sq_bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW)
		err = read_profile(tx->b, st, with_number, out);
	sq_stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, "profile_get");
	return err;
}

int sq_tx_profile_list(struct store_tx *tx, const char *service_id, void (*cb)(void *, const struct profile *),
		       void *ctx)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_PROFILE_LIST);
	sq_bind_text(st, 1, service_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct profile p;
		read_profile(tx->b, st, 0, &p);
		cb(ctx, &p);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "profile_list");
}

int sq_tx_profile_put(struct store_tx *tx, const struct profile *p, const char *bidx)
{
	struct sqlite_conn *c = tx_conn(tx);
	struct store_sqlite *s = tx->b;
	sqlite3_stmt *st = sq_stmt(c, SQL_PROFILE_PUT);
	sq_bind_text(st, 1, p->id);
	sq_bind_text(st, 2, p->label);
	sqlite3_bind_int(st, 3, (int)p->state);
	sqlite3_bind_int64(st, 4, p->retired_at);
	sqlite3_bind_int64(st, 5, p->free_at);
	sqlite3_bind_int64(st, 6, p->updated_at);
	int rc = changed_one(c, st, "profile_put", MASKD_ENOTFOUND);
	if (rc < 0 || bidx == NULL)
		return rc;
	char ad[STORE_PROFILE_AD_MAX];
	store_profile_ad(p->id, ad);
	st = sq_stmt(c, SQL_PROFILE_RENUMBER);
	rc = sq_bind_sealed(st, 2, s->vault, p->number, ad);
	if (rc < 0) {
		sq_stmt_done(st);
		return rc;
	}
	sq_bind_text(st, 1, p->id);
	sq_bind_text(st, 3, bidx);
	sq_bind_text(st, 4, p->masked);
	sq_bind_text(st, 5, p->country);
	return changed_one(c, st, "profile_renumber", MASKD_ENOTFOUND);
}

int sq_tx_profile_rebind(struct store_tx *tx, const char *profile_id, const char *number, const char *masked,
			 const char *bidx, const char *bidx_other, const char *old_bidx)
{
	struct sqlite_conn *c = tx_conn(tx);
	struct store_sqlite *s = tx->b;
	sqlite3_stmt *taken = sq_stmt(c, SQL_PROFILE_ROWS_TAKEN);
	sq_bind(taken, SQ_TEXT(profile_id), SQ_TEXT(bidx), SQ_TEXT(bidx_other));
	int rc = sqlite3_step(taken);
	sq_stmt_done(taken);
	if (rc == SQLITE_ROW)
		return MASKD_ECONFLICT;
	if (rc != SQLITE_DONE)
		return sq_db_fail(c, "profile_rows_taken");
	/* ids first, then one update each: a row's number is sealed for that row */
	sqlite3_stmt *st = sq_stmt(c, SQL_PROFILE_ROWS);
	sq_bind_text(st, 1, profile_id);
	size_t n = 0, cap = 0;
	char(*ids)[ID_MAX] = NULL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		sq_col_text(st, 0, ids[n++], ID_MAX);
	}
	sq_stmt_done(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		return sq_db_fail(c, "profile_rows");
	}
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		st = sq_stmt(c, SQL_PROFILE_ROW_SET);
		rc = sq_bind_sealed(st, 2, s->vault, number, ids[i]);
		if (rc < 0) {
			sq_stmt_done(st);
			break;
		}
		sq_bind_text(st, 1, ids[i]);
		sq_bind_text(st, 3, bidx);
		sq_bind_text(st, 4, masked);
		rc = sq_exec_stmt(c, st, "profile_row_set");
	}
	free(ids);
	if (rc < 0)
		return rc;
	st = sq_stmt(c, SQL_PROFILE_PEERS_SET);
	sq_bind_text(st, 1, profile_id);
	sq_bind_text(st, 2, old_bidx);
	sq_bind_text(st, 3, bidx);
	return sq_exec_stmt(c, st, "profile_peers_set");
}

int sq_tx_profiles_free_due(struct store_tx *tx, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_PROFILES_FREE_NUMBERS);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, NUMBER_ACTIVE);
	sqlite3_bind_int(st, 3, NUMBER_RESERVED);
	int rc = sq_exec_stmt(c, st, "profiles_free_numbers");
	if (rc < 0)
		return rc;
	st = sq_stmt(c, SQL_PROFILES_FREE);
	sqlite3_bind_int64(st, 1, now);
	rc = sq_exec_stmt(c, st, "profiles_free");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

int sq_tx_number_state(struct store_tx *tx, const char *number_id, enum number_state state)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_TX_NUMBER_STATE);
	sq_bind_text(st, 1, number_id);
	sqlite3_bind_int(st, 2, (int)state);
	return changed_one(c, st, "number_state", MASKD_ENOTFOUND);
}

int sq_tx_subject_profiles(struct store_tx *tx, const char *bidx, void (*cb)(void *, const struct subject_profile *),
			   void *ctx)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = sq_stmt(c, SQL_SUBJECT_PROFILES);
	sq_bind_text(st, 1, bidx);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct subject_profile sp;
		read_profile(tx->b, st, 0, &sp.p);
		sp.cooloff = sqlite3_column_int64(st, PROFILE_COL_COUNT);
		cb(ctx, &sp);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "subject_profiles");
}
