/* SPDX-License-Identifier: MIT */
/* proxy.c - the Twilio Proxy v1 pending sessions (store_proxy_session_* in
 * store.h) on PostgreSQL: one row per session created before its first
 * participant; and the Proxy Interaction DELETE (store_tx_interaction_delete).
 * Plain row reads and writes; api/proxy_v1_sessions.c decides when
 * they change. */
#include "pg_internal.h"

int pg_tx_proxy_session_put(struct store_tx *tx, const struct store_proxy_session *r)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, r->id);
	pg_arg_text(&a, r->service_id);
	pg_arg_text(&a, r->unique_name);
	pg_arg_i64(&a, r->mode);
	pg_arg_i64(&a, r->ttl);
	pg_arg_i64(&a, r->expires_at);
	pg_arg_i64(&a, r->created_at);
	return pg_run(c, SQL_PROXY_SESSION_PUT, &a, NULL);
}

int pg_proxy_session_get(void *b, const char *id, struct store_proxy_session *out)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_PROXY_SESSION_GET, &a, &r);
	if (rc < 0)
		return rc;
	pg_col_text(r, 0, 0, out->id, sizeof(out->id));
	pg_col_text(r, 0, 1, out->service_id, sizeof(out->service_id));
	pg_col_text(r, 0, 2, out->unique_name, sizeof(out->unique_name));
	out->mode = pg_col_int(r, 0, 3);
	out->ttl = pg_col_i64(r, 0, 4);
	out->expires_at = pg_col_i64(r, 0, 5);
	out->created_at = pg_col_i64(r, 0, 6);
	PQclear(r);
	return 0;
}

int pg_tx_proxy_session_delete(struct store_tx *tx, const char *id)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, id);
	int rc = pg_run_count(c, SQL_PROXY_SESSION_DELETE, &a);
	if (rc < 0)
		return rc;
	return rc == 0 ? MASKD_ENOTFOUND : 0;
}

int pg_tx_proxy_sessions_drop(struct store_tx *tx, const char *service_id)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	return pg_run(c, SQL_PROXY_SESSIONS_DROP, &a, NULL);
}

int pg_tx_interaction_delete(struct store_tx *tx, const char *session_id, const char *id)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_text(&a, session_id);
	int rc = pg_run(c, SQL_INTERACTION_LEGS_DELETE, &a, NULL);
	if (rc < 0)
		return rc;
	rc = pg_run_count(c, SQL_INTERACTION_DELETE, &a);
	if (rc < 0)
		return rc;
	return rc == 0 ? MASKD_ENOTFOUND : 0;
}
