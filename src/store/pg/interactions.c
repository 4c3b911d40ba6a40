/* SPDX-License-Identifier: MIT */
/* interactions.c - the webhook side on PostgreSQL: route and PIN lookups, opt-outs,
 * interaction records, legs, call records, usage and stats. */
#include "pg_internal.h"

/* ---------------------------------------------------------------- webhooks */

int pg_route_lookup(void *b, const char *to_e164, const char *bidx, struct route_view *out)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, to_e164);
	pg_arg_text(&a, bidx);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_ROUTE_LOOKUP, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0; /* number.id "" tells the caller */
	}
	/* NUMBER_COLS, then ROUTE_COLS, read by one cursor */
	struct sql_cursor k = pg_cursor(r, 0, 0);
	sql_read_number(&k, &out->number);
	rc = sql_read_route(&k, s->vault, out);
	PQclear(r);
	return rc;
}

static void read_interaction(const PGresult *r, int row, struct interaction *it)
{
	struct sql_cursor k = pg_cursor(r, row, 0);
	sql_read_interaction(&k, it);
}

/* The 13 parameters of SQL_LEG_UPSERT. Unreported fields are NULL (kept on
 * update, their defaults on insert). */
static void leg_args(struct args *a, const char *interaction_id, const char *legname, const char *carrier_sid,
		     const struct leg_update *u, int64_t now, int64_t ended_at, char id[ID_MAX])
{
	const char *vals[5] = {u->status, u->recording_id, u->recording_url, u->cost, u->currency};
	for (int k = 0; k < 5; k++)
		vals[k] = pg_nonempty(vals[k]) ? vals[k] : NULL;
	id_new("leg", id);
	pg_arg_text(a, id);
	pg_arg_text(a, interaction_id);
	pg_arg_text(a, legname);
	pg_arg_text(a, carrier_sid);
	pg_arg_text(a, vals[0]);
	pg_arg_i64(a, u->duration);
	pg_arg_i64(a, now);
	pg_arg_i64(a, ended_at);
	pg_arg_i64(a, u->answered ? now : 0);
	for (int k = 1; k < 5; k++)
		pg_arg_text(a, vals[k]);
}

static int record_once(struct pg_conn *c, struct interaction *it, int *existed)
{
	*existed = 0;
	int rc = pg_tx_begin(c);
	if (rc < 0)
		return rc;
	struct args a = {0};
	pg_arg_text(&a, it->id);
	pg_arg_text(&a, it->session_id);
	pg_arg_text(&a, it->service_id);
	pg_arg_i64(&a, it->channel);
	pg_arg_i64(&a, it->carrier);
	pg_arg_text(&a, it->carrier_sid);
	pg_arg_i64(&a, it->decision);
	pg_arg_text(&a, it->from_participant);
	pg_arg_text(&a, it->to_participant);
	pg_arg_i64(&a, it->created_at);
	pg_arg_i64(&a, it->keyword);
	/* A parallel retry of the same webhook waits here for the first to commit,
	 * then inserts nothing. */
	rc = pg_run_count(c, SQL_INTERACTION_INSERT, &a);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		/* A retried webhook: answer it the way the first one was answered. */
		pg_tx_rollback(c);
		struct args sa = {0};
		pg_arg_i64(&sa, it->carrier);
		pg_arg_text(&sa, it->carrier_sid);
		PGresult *r = NULL;
		rc = pg_run(c, SQL_INTERACTION_BY_SID, &sa, &r);
		if (rc < 0)
			return rc;
		if (PQntuples(r) == 0) {
			PQclear(r);
			log_error("store: interaction %s: conflicting row vanished", it->id);
			return MASKD_EDB;
		}
		read_interaction(r, 0, it);
		PQclear(r);
		*existed = 1;
		return 0;
	}
	/* no leg 'a' row: it is derived from the interaction until a callback names it
	 * (SQL_DERIVED_A_COLS) */
	if (it->decision == DECISION_BRIDGE || it->decision == DECISION_FORWARD_MESSAGE) {
		struct args ta = {0};
		pg_arg_text(&ta, it->session_id);
		PGresult *r = NULL;
		rc = pg_run(c, SQL_SESSION_TIMES_LOCK, &ta, &r);
		if (rc < 0)
			goto fail;
		bool open = PQntuples(r) > 0 && pg_col_int(r, 0, 0) < SESSION_CLOSED;
		int64_t ttl = open ? pg_col_i64(r, 0, 1) : 0, exp = open ? pg_col_i64(r, 0, 2) : 0;
		PQclear(r);
		if (open) {
			int64_t deadline = session_deadline(exp, ttl, it->created_at);
			pg_arg_i64(&ta, SESSION_IN_PROGRESS);
			pg_arg_i64(&ta, it->created_at);
			if (deadline > 0)
				pg_arg_i64(&ta, deadline);
			else
				pg_arg_text(&ta, NULL);
			rc = pg_run(c, SQL_SESSION_TOUCH, &ta, NULL);
			if (rc < 0)
				goto fail;
		}
	}
	rc = pg_tx_commit(c);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	pg_tx_rollback(c);
	if (rc == MASKD_EDB && pg_retryable(c))
		rc = PG_ERETRY;
	return rc;
}

int pg_interaction_record(void *b, struct interaction *it, int *existed)
{
	CONN_OR_FAIL(b, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = record_once(c, it, existed);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

static void read_leg(const PGresult *r, int row, int col, struct leg *l)
{
	struct sql_cursor k = pg_cursor(r, row, col);
	sql_read_leg(&k, l);
}

static int read_legs(struct pg_conn *c, struct interaction *it)
{
	struct args a = {0};
	pg_arg_text(&a, it->id);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_LEGS_OF, &a, &r);
	if (rc < 0)
		return rc;
	it->n_legs = 0;
	for (int i = 0; i < PQntuples(r) && it->n_legs < INTERACTION_LEGS_MAX; i++)
		read_leg(r, i, 0, &it->legs[it->n_legs++]);
	PQclear(r);
	return 0;
}

int pg_interaction_get(void *b, const char *id, struct interaction *out)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_INTERACTION_GET, &a, &r);
	if (rc < 0)
		return rc;
	read_interaction(r, 0, out);
	PQclear(r);
	return read_legs(c, out);
}

int pg_interaction_by_sid(void *b, enum dialect carrier, const char *carrier_sid, struct interaction *out)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_i64(&a, carrier);
	pg_arg_text(&a, carrier_sid);
	PGresult *r = NULL;
	int rc = pg_run_one(c, SQL_INTERACTION_BY_SID, &a, &r);
	if (rc < 0)
		return rc;
	read_interaction(r, 0, out);
	PQclear(r);
	return read_legs(c, out);
}

int pg_interaction_list(void *b, const char *session_id, void (*cb)(void *, const struct interaction *),
			       void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, session_id);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_INTERACTION_LIST, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct interaction it;
		read_interaction(r, i, &it);
		rc = read_legs(c, &it);
		if (rc == 0)
			cb(ctx, &it);
	}
	PQclear(r);
	return rc;
}

int pg_leg_update(void *b, const char *interaction_id, const char *legname, const char *carrier_sid,
		  const struct leg_update *u, int64_t now, int64_t ended)
{
	CONN_OR_FAIL(b, c);
	char id[ID_MAX];
	struct args a = {0};
	leg_args(&a, interaction_id, legname, carrier_sid, u, now, ended, id);
	int n = pg_run_count(c, SQL_LEG_UPSERT, &a);
	if (n == 0)
		return MASKD_ENOTFOUND; /* no such interaction (or its participant) */
	return n < 0 ? n : 0;
}

int pg_participant_number(void *b, const char *participant_id, char *out, size_t cap)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, participant_id);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_PARTICIPANT_NUMBER, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0)
		rc = MASKD_ENOTFOUND;
	else
		rc = pg_col_unseal(s->vault, r, 0, 0, participant_id, out, cap);
	PQclear(r);
	return rc;
}

int pg_stats(void *b, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	CONN_OR_FAIL(b, c);
	PGresult *r = NULL;
	struct args a = {0};
	pg_arg_i64(&a, NUMBER_ACTIVE);
	int rc = pg_run(c, SQL_STATS, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		out->services = pg_col_i64(r, 0, 0);
		out->numbers = pg_col_i64(r, 0, 1);
		out->numbers_active = pg_col_i64(r, 0, 2);
		out->sessions_open = pg_col_i64(r, 0, 3);
		out->bindings_active = pg_col_i64(r, 0, 4);
		out->bindings_cooling = pg_col_i64(r, 0, 5);
		out->interactions = pg_col_i64(r, 0, 6);
	}
	PQclear(r);
	return 0;
}

struct records_ctx {
	int (*cb)(void *, const struct interaction *);
	void *ctx;
	struct interaction it;
};

static int records_row(void *arg, const PGresult *r)
{
	struct records_ctx *rc = arg;
	read_interaction(r, 0, &rc->it);
	rc->it.n_legs = 1;
	read_leg(r, 0, 10, &rc->it.legs[0]);
	return rc->cb(rc->ctx, &rc->it);
}

int pg_records(void *b, const char *service_id, int64_t from, int64_t to,
		      int (*cb)(void *, const struct interaction *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_i64(&a, from);
	pg_arg_i64(&a, to);
	struct records_ctx *rctx = xcalloc(1, sizeof(*rctx));
	rctx->cb = cb;
	rctx->ctx = ctx;
	int rc = pg_run_rows(c, SQL_RECORDS, &a, records_row, rctx);
	free(rctx);
	return rc;
}

int pg_usage(void *b, const char *service_id, int64_t from, int64_t to,
		    void (*cb)(void *, const struct usage_day *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_i64(&a, from);
	pg_arg_i64(&a, to);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_USAGE, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct usage_day u = {
			.day = pg_col_i64(r, i, 0),
			.calls = pg_col_i64(r, i, 1),
			.messages = pg_col_i64(r, i, 2),
			.billable_seconds = pg_col_i64(r, i, 3),
			.keywords = pg_col_i64(r, i, 4),
		};
		cb(ctx, &u);
	}
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- PINs, opt-outs, pool stats */

int pg_pin_lookup(void *b, const char *service_id, const char *pin, const char *bidx, struct route_view *out)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	pg_arg_text(&a, pin);
	pg_arg_text(&a, bidx);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_PIN_LOOKUP, &a, &r);
	if (rc < 0)
		return rc;
	struct sql_cursor k = pg_cursor(r, 0, 0);
	rc = PQntuples(r) > 0 ? sql_read_route(&k, s->vault, out) : MASKD_ENOTFOUND;
	PQclear(r);
	return rc;
}

int pg_optout_set(void *b, const char *service_id, const char *bidx, const char *number_id, int opted_out,
			 int64_t now)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, bidx);
	pg_arg_text(&a, number_id);
	if (!opted_out)
		return pg_run(c, SQL_OPTOUT_DELETE, &a, NULL);
	pg_arg_text(&a, service_id);
	pg_arg_i64(&a, now);
	return pg_run(c, SQL_OPTOUT_ADD, &a, NULL);
}

int pg_pool_stats(void *b, const char *service_id, struct pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, service_id);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_POOL_STATS, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		out->max_held = pg_col_i64(r, 0, 0);
		out->participants = pg_col_i64(r, 0, 1);
	}
	PQclear(r);
	return 0;
}
