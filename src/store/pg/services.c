/* SPDX-License-Identifier: MIT */
/* services.c - services (secrets sealed at rest) and pool numbers on PostgreSQL. */
#include "pg_internal.h"

/* ---------------------------------------------------------------- services */

/* The policy columns of a service (geo_match ... callback_window), in the order of
 * SQL_SERVICE_INSERT and SQL_SERVICE_UPDATE. */
static void arg_service_rules(struct args *a, const struct service *svc)
{
	pg_arg_i64(a, svc->pool.geo_match);
	pg_arg_i64(a, svc->pool.geo_match_strict);
	pg_arg_i64(a, svc->pool.number_selection);
	pg_arg_i64(a, svc->cooloff);
	pg_arg_i64(a, svc->cooloff_reuse);
	pg_arg_i64(a, svc->number_cap);
	pg_arg_i64(a, svc->unknown_caller);
	pg_arg_text(a, svc->fallback_number);
	pg_arg_text(a, svc->pin_number);
	pg_arg_i64(a, svc->pin_length);
	pg_arg_i64(a, svc->pin_attempts);
	pg_arg_text(a, svc->callback_url);
	pg_arg_i64(a, svc->callback_timeout_ms);
	pg_arg_i64(a, svc->callback_fail_open);
	pg_arg_text(a, svc->ended_message);
	pg_arg_text(a, svc->help_text);
	pg_arg_i64(a, svc->rate_calls);
	pg_arg_i64(a, svc->rate_texts);
	pg_arg_i64(a, svc->rate_silent);
	pg_arg_i64(a, svc->mms_fallback);
	pg_arg_text(a, svc->events_url);
	pg_arg_i64(a, svc->pool_low_threshold);
	pg_arg_text(a, svc->branded_number);
	pg_arg_i64(a, svc->callback_window);
	pg_arg_text(a, svc->intercept_url);
	pg_arg_i64(a, svc->intercept_timeout_ms);
	pg_arg_i64(a, svc->intercept_fail_open);
	pg_arg_i64(a, svc->events_pull_off);
}

/* Seals carrier d's credentials of svc and inserts them (inside a transaction). */
static int secret_insert(struct store_pg *s, struct pg_conn *c, const struct service *svc, int d)
{
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = store_secret_seal(s->vault, svc, d, sealed, &sealed_len);
	if (rc < 0)
		return rc;
	struct args sa = {0};
	pg_arg_text(&sa, svc->id);
	pg_arg_text(&sa, dialect_name(d));
	pg_arg_bytes(&sa, sealed, sealed_len);
	return pg_run(c, SQL_SECRET_INSERT, &sa, NULL);
}

int pg_service_get(void *b, const char *id, struct service *out)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	memset(out, 0, sizeof(*out));
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_SERVICE_GET, &a, &r);
	if (rc < 0)
		return rc;
	struct sql_cursor k = pg_cursor(r, 0, 0);
	sql_read_service(&k, out);
	PQclear(r);
	rc = pg_run(c, SQL_SECRETS_GET, &a, &r);
	if (rc < 0)
		return rc;
	int err = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		int d = dialect_from_name(PQgetvalue(r, i, 0));
		if (d < 0)
			continue;
		char ad[ID_MAX + 32];
		store_secret_ad(id, d, ad, sizeof(ad));
		if (pg_col_unseal(s->vault, r, i, 1, ad, out->secrets[d], sizeof(out->secrets[d])) < 0) {
			log_error("store: service %s: the %s credential does not open with this vault key", id,
				  dialect_name(d));
			err = MASKD_ECRYPTO;
		}
	}
	PQclear(r);
	return err;
}

int pg_service_list(void *b, void (*cb)(void *, const struct service *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_SERVICE_LIST, NULL, &r);
	if (rc < 0)
		return rc;
	int n = PQntuples(r) < SERVICES_MAX ? PQntuples(r) : SERVICES_MAX;
	char(*ids)[ID_MAX] = xcalloc((size_t)n + 1, ID_MAX);
	for (int i = 0; i < n; i++)
		pg_col_text(r, i, 0, ids[i], ID_MAX);
	PQclear(r);
	for (int i = 0; i < n; i++) {
		struct service svc;
		if (pg_service_get(b, ids[i], &svc) == 0)
			cb(ctx, &svc);
	}
	free(ids);
	return 0;
}

/* The row of svc (SQL_SERVICE_UPDATE when update, which then fails with
 * MASKD_ENOTFOUND when there is none; SQL_SERVICE_INSERT otherwise), then each
 * carrier's credentials (on update deleted first; inserted unless secrets[d] is
 * ""), inside the transaction open on c. */
static int service_write_in(struct store_pg *s, struct pg_conn *c, const struct service *svc, bool update)
{
	int rc;
	struct args a = {0};
	pg_arg_text(&a, svc->id);
	pg_arg_text(&a, svc->name);
	pg_arg_i64(&a, svc->mode);
	pg_arg_i64(&a, svc->ttl);
	pg_arg_text(&a, svc->unknown_caller_message);
	if (!update)
		pg_arg_i64(&a, svc->created_at);
	pg_arg_policy(&a, &svc->policy);
	arg_service_rules(&a, svc);
	if (update) {
		int n = pg_run_count(c, SQL_SERVICE_UPDATE, &a);
		rc = n < 0 ? n : n == 0 ? MASKD_ENOTFOUND : 0;
	} else {
		rc = pg_run(c, SQL_SERVICE_INSERT, &a, NULL);
	}
	for (int d = 0; rc == 0 && d < DIALECT_COUNT; d++) {
		if (update) {
			struct args da = {0};
			pg_arg_text(&da, svc->id);
			pg_arg_text(&da, dialect_name(d));
			rc = pg_run(c, SQL_SECRET_DELETE, &da, NULL);
		}
		if (rc < 0 || svc->secrets[d][0] == '\0')
			continue;
		rc = secret_insert(s, c, svc, d);
	}
	return rc;
}

/* One try of service_write_in() in a transaction of its own. An update that
 * lost a race returns PG_ERETRY. */
static int service_write_once(struct store_pg *s, struct pg_conn *c, const struct service *svc, bool update)
{
	int rc = pg_tx_begin(c);
	if (rc < 0)
		return rc;
	rc = service_write_in(s, c, svc, update);
	if (rc == 0)
		rc = pg_tx_commit(c);
	if (rc < 0) {
		pg_tx_rollback(c);
		if (update && rc == MASKD_EDB && pg_retryable(c))
			rc = PG_ERETRY;
	}
	return rc;
}

int pg_tx_service_update(struct store_tx *tx, const struct service *svc)
{
	return service_write_in(tx->b, tx_conn(tx), svc, true);
}

int pg_service_insert(void *b, const struct service *svc)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	return service_write_once(s, c, svc, false);
}

int pg_service_update(void *b, const struct service *svc)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = service_write_once(s, c, svc, true);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

/* ---------------------------------------------------------------- numbers */

/* Reads NUMBER_NCOLS columns from col (NUMBER_COLS order) into *n. */
static void pg_read_number(const PGresult *r, int row, int col, struct number *n)
{
	struct sql_cursor k = pg_cursor(r, row, col);
	sql_read_number(&k, n);
}

int pg_number_insert(void *b, const struct number *n)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, n->id);
	pg_arg_text(&a, n->service_id);
	pg_arg_text(&a, n->e164);
	pg_arg_i64(&a, n->carrier_any ? -1 : (int64_t)n->carrier);
	pg_arg_i64(&a, (int64_t)n->caps);
	pg_arg_text(&a, n->country);
	pg_arg_text(&a, n->area_code);
	pg_arg_i64(&a, n->state);
	pg_arg_i64(&a, n->created_at);
	pg_arg_text(&a, n->region);
	return pg_run(c, SQL_NUMBER_INSERT, &a, NULL);
}

int pg_number_by(struct pg_conn *c, enum sql_id id, const char *a1, const char *a2, struct number *out)
{
	struct args a = {0};
	pg_arg_text(&a, a1);
	if (a2 != NULL)
		pg_arg_text(&a, a2);
	PGresult *r = NULL;
	int rc = pg_run(c, id, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		pg_read_number(r, 0, 0, out);
		if (id == SQL_NUMBER_GET)
			out->cooling = pg_col_i64(r, 0, NUMBER_NCOLS);
	} else {
		rc = MASKD_ENOTFOUND;
	}
	PQclear(r);
	return rc;
}

int pg_number_get(void *b, const char *id, struct number *out)
{
	CONN_OR_FAIL(b, c);
	return pg_number_by(c, SQL_NUMBER_GET, id, NULL, out);
}

int pg_number_list(void *b, const char *service_id, void (*cb)(void *, const struct number *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_NUMBER_LIST, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct number n;
		pg_read_number(r, i, 0, &n);
		n.cooling = pg_col_i64(r, i, NUMBER_NCOLS);
		cb(ctx, &n);
	}
	PQclear(r);
	return 0;
}

static int number_state_write(struct pg_conn *c, void *ctx)
{
	int n = pg_run_count(c, SQL_NUMBER_SET_STATE, ctx);
	if (n < 0)
		return n;
	return n == 0 ? MASKD_ENOTFOUND : 0;
}

int pg_number_set_state(void *b, const char *id, enum number_state state, const struct store_event *ev)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_i64(&a, state);
	return pg_with_event(b, c, number_state_write, &a, ev);
}

int pg_number_set_region(void *b, const char *id, const char *region)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_text(&a, region);
	int n = pg_run_count(c, SQL_NUMBER_SET_REGION, &a);
	if (n < 0)
		return n;
	return n == 0 ? MASKD_ENOTFOUND : 0;
}

/* Deletes an unused number: its cooling-off bindings are released and its
 * opt-out rows go with it. A session being created on another node bumps in_use
 * at its very end; if this delete wins, that transaction sees its number gone and
 * starts over. */
static int delete_once(struct pg_conn *c, const char *id)
{
	int rc = pg_tx_begin(c);
	if (rc < 0)
		return rc;
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	rc = pg_run(c, SQL_NUMBER_LOCK, &a, &r);
	if (rc < 0)
		goto done;
	int found = PQntuples(r) > 0;
	int64_t in_use = found ? pg_col_i64(r, 0, 0) : 0;
	PQclear(r);
	if (!found)
		rc = MASKD_ENOTFOUND;
	else if (in_use > 0)
		rc = MASKD_ECONFLICT;
	if (rc == 0)
		rc = pg_run(c, SQL_NUMBER_RELEASE_COOLING, &a, NULL);
	if (rc == 0)
		rc = pg_run(c, SQL_NUMBER_OPTOUTS_DELETE, &a, NULL);
	if (rc == 0) {
		int n = pg_run_count(c, SQL_NUMBER_DELETE, &a);
		rc = n < 0 ? n : n == 0 ? MASKD_ECONFLICT : 0;
	}
	if (rc == 0)
		rc = pg_tx_commit(c);
done:
	if (rc < 0) {
		pg_tx_rollback(c);
		if (rc == MASKD_EDB && pg_retryable(c))
			rc = PG_ERETRY;
	}
	return rc;
}

int pg_number_delete(void *b, const char *id)
{
	CONN_OR_FAIL(b, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = delete_once(c, id);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}
