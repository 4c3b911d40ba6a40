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

/* ------------------------------------------------ interaction records: group commit
 *
 * A webhook's record on its own is BEGIN, the insert, the session's lock and touch,
 * COMMIT: five round trips and a commit per webhook. Records arriving together
 * share one transaction instead (as on SQLite): each webhook thread queues its
 * request; the thread that finds no batch running becomes the leader, takes the
 * whole queue (at most RECORD_BATCH_MAX), applies it on its own connection in one
 * BEGIN ... COMMIT, and wakes every waiter with its own result. Requests arriving
 * meanwhile form the next batch, so a batch grows with the commit's round trip
 * and needs no waiting of its own. The records are applied in session id order,
 * so that batches of several nodes lock the session rows in the same order. If
 * anything of the batch fails (one bad row, a deadlock, a lost connection or
 * COMMIT), the batch is rolled back whole and each of its records runs again on
 * its own, with the retries of a lone record: one bad row fails only its own
 * webhook, and a record whose COMMIT went through unseen comes back as existing
 * (the carrier-sid unique index). No thread returns before the COMMIT that holds
 * its record, so an acknowledged webhook is as durable as before. */

#define RECORD_BATCH_MAX 64 /* records per group commit; more queue for the next */

struct pg_rec_request {
	struct interaction *it;  /* caller's; overwritten with the stored row on a retry */
	struct interaction orig; /* as the caller gave it, to apply again after a rollback */
	int *existed;
	const struct store_event *ev; /* written with the record when it is new; NULL = none */
	int rc;
	bool done;
	struct pg_rec_request *next;
};

/* One record inside c's open transaction: the insert (or, for a retried webhook,
 * the first copy's row into it, *existed 1), then the session's touch. 0 or a
 * negative maskd_err; on failure the caller rolls back. */
static int record_apply(struct store_pg *s, struct pg_conn *c, struct interaction *it, int *existed,
			const struct store_event *ev)
{
	*existed = 0;
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
	pg_arg_i64(&a, it->intercept);
	pg_arg_text(&a, it->intercept_text);
	/* A parallel retry of the same webhook (another node's transaction) waits
	 * here for the first to commit, then inserts nothing. */
	int rc = pg_run_count(c, SQL_INTERACTION_INSERT, &a);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		/* A retried webhook, maybe an earlier record of this batch: answer it the
		 * way the first one was answered. READ COMMITTED: this statement sees the
		 * committed first copy, or this transaction's own. */
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
			return rc;
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
				return rc;
		}
	}
	if (ev != NULL) {
		struct store_tx tx = {.ops = &store_pg_ops, .b = s, .conn = c};
		return store_tx_event_put(&tx, ev);
	}
	return 0;
}

int pg_tx_interaction_record(struct store_tx *tx, struct interaction *it, int *existed)
{
	return record_apply(tx->b, tx_conn(tx), it, existed, NULL);
}

int pg_interaction_call_id(void *b, const char *id, const char *call_id)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, id);
	pg_arg_text(&a, call_id);
	int n = pg_run_count(c, SQL_INTERACTION_CALL_ID, &a);
	if (n < 0)
		return n;
	return n == 0 ? MASKD_ENOTFOUND : 0;
}

/* One record in its own transaction, run again on a deadlock or serialization
 * failure (at most TX_ATTEMPTS times). */
static int record_alone(struct store_pg *s, struct pg_conn *c, struct interaction *it, int *existed,
			const struct store_event *ev)
{
	const struct interaction orig = *it;
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++) {
		*it = orig;
		rc = pg_tx_begin(c);
		if (rc == 0)
			rc = record_apply(s, c, it, existed, ev);
		if (rc == 0)
			rc = pg_tx_commit(c);
		if (rc < 0) {
			pg_tx_rollback(c);
			*existed = 0;
			if (rc == MASKD_EDB && pg_retryable(c))
				rc = PG_ERETRY;
		}
	}
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

static int by_session(const void *a, const void *b)
{
	const struct pg_rec_request *x = *(const struct pg_rec_request *const *)a;
	const struct pg_rec_request *y = *(const struct pg_rec_request *const *)b;
	return strcmp(x->it->session_id, y->it->session_id);
}

/* Applies a batch on the calling (leader's) thread's connection: sets rc of
 * every request (MASKD_EDB for all while the database is down). Returns true
 * when the batch committed as one transaction. */
static bool record_batch(struct store_pg *s, struct pg_rec_request **batch, int n)
{
	qsort(batch, (size_t)n, sizeof(*batch), by_session);
	for (int i = 0; i < n; i++)
		batch[i]->rc = MASKD_EDB;
	struct pg_conn *c = pg_conn_get(s);
	if (c == NULL)
		return false;
	if (n > 1) {
		int rc = pg_tx_begin(c);
		for (int i = 0; i < n && rc == 0; i++)
			rc = record_apply(s, c, batch[i]->it, batch[i]->existed, batch[i]->ev);
		if (rc == 0)
			rc = pg_tx_commit(c);
		if (rc == 0) {
			for (int i = 0; i < n; i++)
				batch[i]->rc = 0;
			return true;
		}
		pg_tx_rollback(c);
		log_info("store: a group commit of %d records failed (%s); recording each alone", n,
			 maskd_strerror(rc));
		c = pg_conn_get(s); /* reconnects if the connection went */
	}
	for (int i = 0; i < n; i++) {
		*batch[i]->it = batch[i]->orig;
		*batch[i]->existed = 0;
		if (c == NULL)
			continue;
		batch[i]->rc = record_alone(s, c, batch[i]->it, batch[i]->existed, batch[i]->ev);
	}
	return false;
}

int pg_interaction_record(void *b, struct interaction *it, int *existed, const struct store_event *ev)
{
	struct store_pg *s = b;
	assert(it != NULL && existed != NULL);
	struct pg_rec_request req = {.it = it, .orig = *it, .existed = existed, .ev = ev};
	pthread_mutex_lock(&s->rec_lock);
	if (s->rec_tail != NULL)
		s->rec_tail->next = &req;
	else
		s->rec_head = &req;
	s->rec_tail = &req;
	while (!req.done) {
		if (s->rec_running) {
			pthread_cond_wait(&s->rec_done, &s->rec_lock);
			continue;
		}
		s->rec_running = true;
		struct pg_rec_request *batch[RECORD_BATCH_MAX];
		int n = 0;
		while (n < RECORD_BATCH_MAX && s->rec_head != NULL) {
			batch[n++] = s->rec_head;
			s->rec_head = s->rec_head->next;
		}
		if (s->rec_head == NULL)
			s->rec_tail = NULL;
		pthread_mutex_unlock(&s->rec_lock);
		bool grouped = record_batch(s, batch, n);
		pthread_mutex_lock(&s->rec_lock);
		if (grouped) {
			s->rec_batches++;
			s->rec_records += (uint64_t)n;
		}
		for (int i = 0; i < n; i++)
			batch[i]->done = true; /* a waiter may return (and its request go) once we unlock */
		s->rec_running = false;
		pthread_cond_broadcast(&s->rec_done);
	}
	pthread_mutex_unlock(&s->rec_lock);
	return req.rc;
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

int pg_with_event(struct store_pg *s, struct pg_conn *c, int (*do_write)(struct pg_conn *c, void *ctx), void *ctx,
		      const struct store_event *ev)
{
	if (ev == NULL)
		return do_write(c, ctx);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++) {
		rc = pg_tx_begin(c);
		if (rc == 0)
			rc = do_write(c, ctx);
		if (rc == 0) {
			struct store_tx tx = {.ops = &store_pg_ops, .b = s, .conn = c};
			rc = store_tx_event_put(&tx, ev);
		}
		if (rc == 0)
			rc = pg_tx_commit(c);
		if (rc < 0) {
			pg_tx_rollback(c);
			if (rc == MASKD_EDB && pg_retryable(c))
				rc = PG_ERETRY;
		}
	}
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

static int leg_write(struct pg_conn *c, void *ctx)
{
	struct args *a = ctx;
	int n = pg_run_count(c, SQL_LEG_UPSERT, a);
	if (n == 0)
		return MASKD_ENOTFOUND; /* no such interaction (or its participant) */
	return n < 0 ? n : 0;
}

int pg_leg_update(void *b, const char *interaction_id, const char *legname, const char *carrier_sid,
		  const struct leg_update *u, int64_t now, int64_t ended, const struct store_event *ev)
{
	CONN_OR_FAIL(b, c);
	char id[ID_MAX];
	struct args a = {0};
	leg_args(&a, interaction_id, legname, carrier_sid, u, now, ended, id);
	return pg_with_event(b, c, leg_write, &a, ev);
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
	read_leg(r, 0, 13, &rc->it.legs[0]);
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

struct optout_write {
	struct args a;
	int opted_out;
};

static int optout_write(struct pg_conn *c, void *ctx)
{
	struct optout_write *w = ctx;
	return pg_run(c, w->opted_out ? SQL_OPTOUT_ADD : SQL_OPTOUT_DELETE, &w->a, NULL);
}

int pg_optout_set(void *b, const char *service_id, const char *bidx, const char *number_id, int opted_out,
			 int64_t now, const struct store_event *ev)
{
	CONN_OR_FAIL(b, c);
	struct optout_write w = {.a = {0}, .opted_out = opted_out};
	pg_arg_text(&w.a, bidx);
	pg_arg_text(&w.a, number_id);
	if (opted_out) {
		pg_arg_text(&w.a, service_id);
		pg_arg_i64(&w.a, now);
	}
	return pg_with_event(b, c, optout_write, &w, ev);
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
