/* SPDX-License-Identifier: MIT */
/* profiles.c - the PostgreSQL backend's profile primitives (store.h
 * store_tx_profile_*): rows of the profiles table and the device swap of the
 * participant rows made from a profile. Every call runs inside a transaction. */
#include "pg_internal.h"

int pg_tx_profile_insert(struct store_tx *tx, const struct profile *p, const char *bidx)
{
	struct store_pg *s = tx->b;
	char ad[STORE_PROFILE_AD_MAX];
	store_profile_ad(p->id, ad);
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = vault_seal(s->vault, p->number, ad, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	struct args a = {0};
	pg_arg_text(&a, p->id);
	pg_arg_text(&a, p->service_id);
	pg_arg_text(&a, p->label);
	pg_arg_text(&a, p->masked);
	pg_arg_bytes(&a, sealed, sealed_len);
	pg_arg_text(&a, bidx);
	pg_arg_text(&a, p->country);
	pg_arg_text(&a, p->proxy_number_id);
	pg_arg_text(&a, p->proxy_e164);
	pg_arg_i64(&a, p->state);
	pg_arg_i64(&a, p->created_at);
	pg_arg_i64(&a, p->updated_at);
	/* ON CONFLICT DO NOTHING waits for a concurrent claimer of the number, then
	 * writes nothing: the transaction stays usable */
	rc = pg_run_count(tx_conn(tx), SQL_PROFILE_INSERT, &a);
	return rc < 0 ? rc : rc == 0 ? MASKD_ECONFLICT : 0;
}

/* Row i of r (PROFILE_COLS) into *out; with_number: the number unsealed. */
static int read_profile(const struct store_pg *s, const PGresult *r, int i, int with_number, struct profile *out)
{
	memset(out, 0, sizeof(*out));
	int col = 0;
	pg_col_text(r, i, col++, out->id, sizeof(out->id));
	pg_col_text(r, i, col++, out->service_id, sizeof(out->service_id));
	pg_col_text(r, i, col++, out->label, sizeof(out->label));
	pg_col_text(r, i, col++, out->masked, sizeof(out->masked));
	pg_col_text(r, i, col++, out->country, sizeof(out->country));
	pg_col_text(r, i, col++, out->proxy_number_id, sizeof(out->proxy_number_id));
	pg_col_text(r, i, col++, out->proxy_e164, sizeof(out->proxy_e164));
	out->state = (enum profile_state)pg_col_int(r, i, col++);
	out->created_at = pg_col_i64(r, i, col++);
	out->updated_at = pg_col_i64(r, i, col++);
	out->retired_at = pg_col_i64(r, i, col++);
	out->free_at = pg_col_i64(r, i, col++);
	if (!with_number || strcmp(PQgetvalue(r, i, col), "\\x") == 0)
		return 0; /* not asked, or erased (a data-subject erasure; an empty bytea in text form): "" */
	char ad[STORE_PROFILE_AD_MAX];
	store_profile_ad(out->id, ad);
	return pg_col_unseal(s->vault, r, i, col, ad, out->number, sizeof(out->number));
}

int pg_tx_profile_get(struct store_tx *tx, const char *id, int with_number, struct profile *out)
{
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	int rc = pg_run_one(tx_conn(tx), SQL_PROFILE_GET, &a, &r);
	if (rc < 0)
		return rc;
	rc = read_profile(tx->b, r, 0, with_number, out);
	PQclear(r);
	return rc;
}

int pg_tx_profile_list(struct store_tx *tx, const char *service_id, void (*cb)(void *, const struct profile *),
		       void *ctx)
{
	struct args a = {0};
	pg_arg_text(&a, service_id);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_PROFILE_LIST, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct profile p;
		read_profile(tx->b, r, i, 0, &p);
		cb(ctx, &p);
	}
	PQclear(r);
	return 0;
}

int pg_tx_profile_put(struct store_tx *tx, const struct profile *p, const char *bidx)
{
	struct pg_conn *c = tx_conn(tx);
	struct store_pg *s = tx->b;
	struct args a = {0};
	pg_arg_text(&a, p->id);
	pg_arg_text(&a, p->label);
	pg_arg_i64(&a, p->state);
	pg_arg_i64(&a, p->retired_at);
	pg_arg_i64(&a, p->free_at);
	pg_arg_i64(&a, p->updated_at);
	int rc = pg_run_count(c, SQL_PROFILE_PUT, &a);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return MASKD_ENOTFOUND;
	if (bidx == NULL)
		return 0;
	char ad[STORE_PROFILE_AD_MAX];
	store_profile_ad(p->id, ad);
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	rc = vault_seal(s->vault, p->number, ad, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	struct args b = {0};
	pg_arg_text(&b, p->id);
	pg_arg_bytes(&b, sealed, sealed_len);
	pg_arg_text(&b, bidx);
	pg_arg_text(&b, p->masked);
	pg_arg_text(&b, p->country);
	rc = pg_run_count(c, SQL_PROFILE_RENUMBER, &b);
	return rc < 0 ? rc : rc == 0 ? MASKD_ENOTFOUND : 0;
}

int pg_tx_profile_rebind(struct store_tx *tx, const char *profile_id, const char *number, const char *masked,
			 const char *bidx, const char *bidx_other, const char *old_bidx)
{
	struct pg_conn *c = tx_conn(tx);
	struct store_pg *s = tx->b;
	struct args a = {0};
	pg_arg_text(&a, profile_id);
	pg_arg_text(&a, bidx);
	pg_arg_text(&a, bidx_other);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_PROFILE_ROWS_TAKEN, &a, &r);
	if (rc < 0)
		return rc;
	int taken = PQntuples(r) > 0;
	PQclear(r);
	if (taken)
		return MASKD_ECONFLICT;
	a.n = 1;
	rc = pg_run(c, SQL_PROFILE_ROWS, &a, &r);
	if (rc < 0)
		return rc;
	/* one update each: a row's number is sealed for that row */
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		char id[ID_MAX];
		pg_col_text(r, i, 0, id, sizeof(id));
		uint8_t sealed[VAULT_SEALED_MAX];
		size_t sealed_len = 0;
		rc = vault_seal(s->vault, number, id, sealed, sizeof(sealed), &sealed_len);
		if (rc < 0)
			break;
		struct args b = {0};
		pg_arg_text(&b, id);
		pg_arg_bytes(&b, sealed, sealed_len);
		pg_arg_text(&b, bidx);
		pg_arg_text(&b, masked);
		rc = pg_run(c, SQL_PROFILE_ROW_SET, &b, NULL);
	}
	PQclear(r);
	if (rc < 0)
		return rc;
	struct args p = {0};
	pg_arg_text(&p, profile_id);
	pg_arg_text(&p, old_bidx);
	pg_arg_text(&p, bidx);
	return pg_run(c, SQL_PROFILE_PEERS_SET, &p, NULL);
}

int pg_tx_profiles_free_due(struct store_tx *tx, int64_t now)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_i64(&a, now);
	pg_arg_i64(&a, NUMBER_ACTIVE);
	pg_arg_i64(&a, NUMBER_RESERVED);
	int rc = pg_run(c, SQL_PROFILES_FREE_NUMBERS, &a, NULL);
	if (rc < 0)
		return rc;
	a.n = 1;
	return pg_run_count(c, SQL_PROFILES_FREE, &a);
}

int pg_tx_number_state(struct store_tx *tx, const char *number_id, enum number_state state)
{
	struct args a = {0};
	pg_arg_text(&a, number_id);
	pg_arg_i64(&a, state);
	int rc = pg_run_count(tx_conn(tx), SQL_TX_NUMBER_STATE, &a);
	return rc < 0 ? rc : rc == 0 ? MASKD_ENOTFOUND : 0;
}

int pg_tx_subject_profiles(struct store_tx *tx, const char *bidx, void (*cb)(void *, const struct subject_profile *),
			   void *ctx)
{
	struct args a = {0};
	pg_arg_text(&a, bidx);
	PGresult *r = NULL;
	int rc = pg_run(tx_conn(tx), SQL_SUBJECT_PROFILES, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct subject_profile sp;
		read_profile(tx->b, r, i, 0, &sp.p);
		sp.cooloff = pg_col_i64(r, i, PROFILE_COL_COUNT);
		cb(ctx, &sp);
	}
	PQclear(r);
	return 0;
}
