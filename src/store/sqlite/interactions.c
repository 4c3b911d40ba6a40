/* SPDX-License-Identifier: MIT */
/* interactions.c - the webhook side on SQLite: route and PIN lookups, opt-outs,
 * interaction records (group commit), legs, call records, usage and stats. */
#include "sqlite_internal.h"

/* ---------------------------------------------------------------- webhooks */

int sq_route_lookup(void *b, const char *to_e164, const char *bidx, struct route_view *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_ROUTE_LOOKUP);
	sq_bind_text(st, 1, to_e164);
	sq_bind_text(st, 2, bidx);
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW) {
		/* NUMBER_COLS, then ROUTE_COLS, read by one cursor */
		struct sql_cursor k = sq_cursor(st, 0);
		sql_read_number(&k, &out->number);
		err = sql_read_route(&k, s->vault, out);
	}
	sq_stmt_done(st);
	if (rc == SQLITE_DONE)
		return 0; /* number.id "" tells the caller */
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, "route_lookup");
	return err;
}

static void read_interaction(sqlite3_stmt *st, struct interaction *it)
{
	struct sql_cursor k = sq_cursor(st, 0);
	sql_read_interaction(&k, it);
}

static const char *nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* s when it is not empty, else when_absent (NULL binds NULL) */
static const char *or_else(const char *s, const char *when_absent)
{
	return nonempty(s) ? s : when_absent;
}

static int insert_leg(struct sqlite_conn *c, const char *interaction_id, const char *legname,
		      const char *carrier_sid, const struct leg_update *u, int64_t now, int64_t ended_at)
{
	char id[ID_MAX];
	id_new("leg", id);
	sqlite3_stmt *st = sq_stmt(c, SQL_LEG_INSERT);
	sq_bind(st, SQ_TEXT(id), SQ_TEXT(interaction_id), SQ_TEXT(legname), SQ_TEXT(carrier_sid),
		SQ_TEXT(nonempty(u->status)), SQ_INT(u->duration), SQ_INT(now), SQ_INT(ended_at),
		SQ_INT(u->answered ? now : 0), SQ_TEXT(or_else(u->recording_id, "")),
		SQ_TEXT(or_else(u->recording_url, "")), SQ_TEXT(or_else(u->cost, "")), SQ_TEXT(or_else(u->currency, "")));
	int rc = sq_exec_stmt(c, st, "leg_insert");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return MASKD_ENOTFOUND; /* no such interaction (or its participant) */
	return rc;
}

/* ------------------------------------------------ interaction records: group commit
 *
 * A webhook's record is one small write transaction; on its own it costs a COMMIT
 * that appends every page it dirtied to the WAL (~10 B-tree pages, docs/PERFORMANCE.md).
 * Records arriving together share one transaction instead: each webhook thread
 * queues its request; the thread that finds no batch running becomes the leader,
 * yields while the queue still grows, takes up to RECORD_BATCH_MAX queued
 * requests, applies them under db_lock in one BEGIN IMMEDIATE ... COMMIT, each
 * under its own SAVEPOINT (a failing record is rolled back alone), and wakes every
 * waiter with its own result. Requests that arrive meanwhile form the next batch.
 * No thread returns before the COMMIT that holds its record, so an acknowledged
 * webhook is as durable as before. Every other operation keeps taking db_lock alone. */

#define RECORD_BATCH_MAX 64 /* records per group commit; more threads than this queue for the next */
#define RECORD_GATHER_YIELDS 8 /* the leader yields while the queue still grows, at most this often */

enum rec_state { REC_QUEUED, REC_APPLIED, REC_FAILED, REC_DONE };

struct rec_request {
	struct interaction *it;     /* caller's; overwritten with the stored row on a retry */
	struct interaction orig;    /* as the caller gave it, to apply again after a lost transaction */
	int *existed;
	const struct store_event *ev; /* written with the record when it is new; NULL = none */
	int rc;
	enum rec_state state;
	struct rec_request *next;
};

enum { REC_SP_OPEN, REC_SP_RELEASE, REC_SP_UNDO };

static int rec_sp(struct store_sqlite *s, struct sqlite_conn *c, int which, const char *what)
{
	static const char *const sql[] = {
		[REC_SP_OPEN] = "SAVEPOINT record",
		[REC_SP_RELEASE] = "RELEASE record",
		[REC_SP_UNDO] = "ROLLBACK TO record",
	};
	if (s->rec_sp[which] == NULL &&
	    sqlite3_prepare_v3(c->db, sql[which], -1, SQLITE_PREPARE_PERSISTENT, &s->rec_sp[which], NULL) != SQLITE_OK)
		fatal("store: cannot prepare %s: %s", sql[which], sqlite3_errmsg(c->db));
	return sq_exec_stmt(c, s->rec_sp[which], what);
}

/* One record inside the batch's open transaction, under its own savepoint: on
 * failure nothing of it stays and the transaction goes on, unless SQLite itself
 * ended the transaction (then the caller sees autocommit and starts over). */
static int record_one(struct store_sqlite *s, struct sqlite_conn *c, struct interaction *it, int *existed,
		      const struct store_event *ev)
{
	assert(!sqlite3_get_autocommit(c->db)); /* inside the batch's transaction */
	*existed = 0;
	int rc = rec_sp(s, c, REC_SP_OPEN, "savepoint");
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = sq_stmt(c, SQL_INTERACTION_INSERT);
	sq_bind_text(st, 1, it->id);
	sq_bind_text(st, 2, it->session_id);
	sq_bind_text(st, 3, it->service_id);
	sqlite3_bind_int(st, 4, it->channel);
	sqlite3_bind_int(st, 5, it->carrier);
	sq_bind_text(st, 6, it->carrier_sid);
	sqlite3_bind_int(st, 7, it->decision);
	sq_bind_text(st, 8, it->from_participant);
	sq_bind_text(st, 9, it->to_participant);
	sqlite3_bind_int64(st, 10, it->created_at);
	sqlite3_bind_int(st, 11, it->keyword);
	sqlite3_bind_int(st, 12, it->intercept);
	sq_bind_text(st, 13, it->intercept_text);
	rc = sq_exec_stmt(c, st, "interaction_insert");
	if (rc < 0)
		goto undo;
	if (sqlite3_changes(c->db) == 0) {
		/* A retried webhook (maybe an earlier record of this batch): answer it
		 * the way the first one was answered. */
		st = sq_stmt(c, SQL_INTERACTION_BY_SID);
		sqlite3_bind_int(st, 1, it->carrier);
		sq_bind_text(st, 2, it->carrier_sid);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			read_interaction(st, it);
		sq_stmt_done(st);
		if (step != SQLITE_ROW) {
			rc = sq_db_fail(c, "interaction_by_sid");
			goto undo;
		}
		*existed = 1;
		return rec_sp(s, c, REC_SP_RELEASE, "release");
	}
	/* no leg 'a' row: it is derived from the interaction until a callback names it
	 * (SQL_DERIVED_A_COLS) */
	st = sq_stmt(c, SQL_SESSION_TIMES);
	sq_bind_text(st, 1, it->session_id);
	int step = sqlite3_step(st);
	int status = 0;
	int64_t ttl = 0, exp = 0;
	if (step == SQLITE_ROW) {
		status = sqlite3_column_int(st, 0);
		ttl = sqlite3_column_int64(st, 1);
		exp = sqlite3_column_int64(st, 2);
	}
	sq_stmt_done(st);
	if (step == SQLITE_ROW && status < SESSION_CLOSED &&
	    (it->decision == DECISION_BRIDGE || it->decision == DECISION_FORWARD_MESSAGE)) {
		int64_t deadline = session_deadline(exp, ttl, it->created_at);
		st = sq_stmt(c, SQL_SESSION_TOUCH);
		sq_bind_text(st, 1, it->session_id);
		sqlite3_bind_int(st, 2, SESSION_IN_PROGRESS);
		sqlite3_bind_int64(st, 3, it->created_at);
		if (deadline > 0)
			sqlite3_bind_int64(st, 4, deadline);
		else
			sqlite3_bind_null(st, 4);
		rc = sq_exec_stmt(c, st, "session_touch");
		if (rc < 0)
			goto undo;
	}
	if (ev != NULL) {
		struct store_tx tx = {.ops = &store_sqlite_ops, .b = s, .conn = c};
		rc = store_tx_event_put(&tx, ev);
		if (rc < 0)
			goto undo;
	}
	return rec_sp(s, c, REC_SP_RELEASE, "release");
undo:
	if (!sqlite3_get_autocommit(c->db)) {
		rec_sp(s, c, REC_SP_UNDO, "rollback to");
		rec_sp(s, c, REC_SP_RELEASE, "release");
	}
	*existed = 0;
	return rc;
}

int sq_tx_interaction_record(struct store_tx *tx, struct interaction *it, int *existed)
{
	return record_one(tx->b, tx_conn(tx), it, existed, NULL); /* its savepoint nests in tx */
}

int sq_interaction_call_id(void *b, const char *id, const char *call_id)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_INTERACTION_CALL_ID);
	sq_bind(st, SQ_TEXT(id), SQ_TEXT(call_id));
	int rc = sq_exec_stmt(c, st, "interaction_call_id");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return MASKD_ENOTFOUND;
	return rc;
}

/* Applies a batch in one transaction (caller holds db_lock). Sets rc and state
 * REC_APPLIED or REC_FAILED of every request. A record that fails is rolled back
 * alone; if SQLite ended the whole transaction instead (SQLITE_FULL, I/O errors),
 * that record fails and the others are applied again in a new transaction. A
 * failed COMMIT fails the records it held. */
static void record_batch(struct store_sqlite *s, struct rec_request **batch, int n)
{
	struct sqlite_conn *c = sq_conn_get(s);
	int pending = n;
	for (int i = 0; i < n; i++) {
		batch[i]->state = REC_QUEUED;
		batch[i]->rc = MASKD_EDB;
	}
	while (c != NULL && pending > 0) {
		if (sq_tx_begin(c) < 0)
			break;
		int lost = 0;
		for (int i = 0; i < n && !lost; i++) {
			struct rec_request *r = batch[i];
			if (r->state == REC_FAILED)
				continue;
			*r->it = r->orig; /* a record applied in a lost transaction starts again */
			r->rc = record_one(s, c, r->it, r->existed, r->ev);
			r->state = r->rc < 0 ? REC_FAILED : REC_APPLIED;
			if (r->rc < 0) {
				pending--;
				lost = sqlite3_get_autocommit(c->db);
			}
		}
		if (lost)
			continue; /* the records applied so far went with the transaction */
		if (sq_tx_commit(c) == 0) {
			s->rec_batches++;
			s->rec_records += (uint64_t)n;
			return;
		}
		sq_tx_rollback(c);
		break;
	}
	for (int i = 0; i < n; i++) {
		if (batch[i]->state != REC_FAILED) {
			batch[i]->state = REC_FAILED;
			batch[i]->rc = MASKD_EDB;
			*batch[i]->existed = 0;
		}
	}
}

int sq_interaction_record(void *b, struct interaction *it, int *existed, const struct store_event *ev)
{
	struct store_sqlite *s = b;
	assert(it != NULL && existed != NULL);
	struct rec_request req = {.it = it, .orig = *it, .existed = existed, .ev = ev, .state = REC_QUEUED};
	pthread_mutex_lock(&s->rec_lock);
	if (s->rec_tail != NULL)
		s->rec_tail->next = &req;
	else
		s->rec_head = &req;
	s->rec_tail = &req;
	s->rec_queued++;
	while (req.state != REC_DONE) {
		if (s->rec_running) {
			pthread_cond_wait(&s->rec_done, &s->rec_lock);
			continue;
		}
		s->rec_running = 1;
		/* Let the webhook threads that are runnable reach the queue first: on
		 * fewer cores than threads, nobody else runs during our commit, and
		 * without this yield every batch held one record (measured). A record
		 * arriving meanwhile sees rec_running and waits for this batch. */
		for (int y = 0, seen = -1; y < RECORD_GATHER_YIELDS && s->rec_queued != seen; y++) {
			seen = s->rec_queued;
			pthread_mutex_unlock(&s->rec_lock);
			sched_yield();
			pthread_mutex_lock(&s->rec_lock);
		}
		struct rec_request *batch[RECORD_BATCH_MAX];
		int n = 0;
		while (n < RECORD_BATCH_MAX && s->rec_head != NULL) {
			batch[n++] = s->rec_head;
			s->rec_head = s->rec_head->next;
		}
		s->rec_queued -= n;
		if (s->rec_head == NULL)
			s->rec_tail = NULL;
		pthread_mutex_unlock(&s->rec_lock);
		sq_db_lock(s);
		record_batch(s, batch, n);
		sq_db_unlock(s);
		pthread_mutex_lock(&s->rec_lock);
		for (int i = 0; i < n; i++)
			batch[i]->state = REC_DONE; /* a waiter may return (and its request go) once we unlock */
		s->rec_running = 0;
		pthread_cond_broadcast(&s->rec_done);
	}
	pthread_mutex_unlock(&s->rec_lock);
	return req.rc;
}

static void read_leg(sqlite3_stmt *st, int col, struct leg *l)
{
	struct sql_cursor k = sq_cursor(st, col);
	sql_read_leg(&k, l);
}

static int read_legs(struct sqlite_conn *c, struct interaction *it)
{
	sqlite3_stmt *st = sq_stmt(c, SQL_LEGS_OF);
	sq_bind_text(st, 1, it->id);
	int rc;
	it->n_legs = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && it->n_legs < INTERACTION_LEGS_MAX) {
		read_leg(st, 0, &it->legs[it->n_legs++]);
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_db_fail(c, "legs_of");
}

/* Steps st (bound by the caller) for one interaction and reads its legs. */
static int interaction_one(struct sqlite_conn *c, sqlite3_stmt *st, const char *what, struct interaction *out)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_interaction(st, out);
	sq_stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, what);
	return read_legs(c, out);
}

int sq_interaction_get(void *b, const char *id, struct interaction *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_INTERACTION_GET);
	sq_bind_text(st, 1, id);
	return interaction_one(c, st, "interaction_get", out);
}

int sq_interaction_by_sid(void *b, enum dialect carrier, const char *carrier_sid, struct interaction *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_INTERACTION_BY_SID);
	sqlite3_bind_int(st, 1, carrier);
	sq_bind_text(st, 2, carrier_sid);
	return interaction_one(c, st, "interaction_by_sid", out);
}

int sq_interaction_list(void *b, const char *session_id, void (*cb)(void *, const struct interaction *),
			       void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_INTERACTION_LIST);
	sq_bind_text(st, 1, session_id);
	size_t cap = 16, n = 0;
	struct interaction *rows = xmalloc(cap * sizeof(*rows));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap *= 2;
			rows = xrealloc(rows, cap * sizeof(*rows));
		}
		read_interaction(st, &rows[n++]);
	}
	sq_stmt_done(st);
	int err = rc == SQLITE_DONE ? 0 : sq_db_fail(c, "interaction_list");
	for (size_t i = 0; i < n && err == 0; i++) {
		err = read_legs(c, &rows[i]);
		if (err == 0)
			cb(ctx, &rows[i]);
	}
	free(rows);
	return err;
}

int sq_leg_update(void *b, const char *interaction_id, const char *legname, const char *carrier_sid,
		  const struct leg_update *u, int64_t now, int64_t ended, const struct store_event *ev)
{
	CONN_OR_FAIL(b, c);
	int rc = sq_tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = sq_stmt(c, SQL_LEG_FIND);
	sq_bind(st, SQ_TEXT(interaction_id), SQ_TEXT(legname), SQ_TEXT(carrier_sid));
	char id[ID_MAX] = "";
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		sq_col_text(st, 0, id, sizeof(id));
	sq_stmt_done(st);
	if (step == SQLITE_ROW) {
		st = sq_stmt(c, SQL_LEG_SET);
		sq_bind(st, SQ_TEXT(id), SQ_TEXT(nonempty(u->status)), SQ_INT(u->duration), SQ_INT(u->answered ? now : 0),
			SQ_INT(ended), SQ_TEXT(nonempty(u->recording_id)), SQ_TEXT(nonempty(u->recording_url)),
			SQ_TEXT(nonempty(u->cost)), SQ_TEXT(nonempty(u->currency)));
		rc = sq_exec_stmt(c, st, "leg_set");
	} else if (step == SQLITE_DONE) {
		rc = insert_leg(c, interaction_id, legname, carrier_sid, u, now, ended);
	} else {
		rc = sq_db_fail(c, "leg_find");
	}
	return sq_tx_finish_event(b, c, rc, ev);
}

int sq_tx_finish_event(void *b, struct sqlite_conn *c, int rc, const struct store_event *ev)
{
	if (rc == 0 && ev != NULL) {
		struct store_tx tx = {.ops = &store_sqlite_ops, .b = b, .conn = c};
		rc = store_tx_event_put(&tx, ev);
	}
	if (rc == 0)
		rc = sq_tx_commit(c);
	if (rc < 0)
		sq_tx_rollback(c);
	return rc;
}

int sq_participant_number(void *b, const char *participant_id, char *out, size_t cap)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_PARTICIPANT_NUMBER);
	sq_bind_text(st, 1, participant_id);
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW)
		err = vault_unseal(s->vault, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
				   participant_id, out, cap);
	sq_stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, "participant_number");
	return err;
}

int sq_stats(void *b, struct store_stats *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_STATS);
	sqlite3_bind_int(st, 1, NUMBER_ACTIVE);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->services = sqlite3_column_int64(st, 0);
		out->numbers = sqlite3_column_int64(st, 1);
		out->numbers_active = sqlite3_column_int64(st, 2);
		out->sessions_open = sqlite3_column_int64(st, 3);
		out->bindings_cooling = sqlite3_column_int64(st, 5);
		out->bindings_active = sqlite3_column_int64(st, 4) - out->bindings_cooling;
		out->interactions = sqlite3_column_int64(st, 6);
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW ? 0 : sq_db_fail(c, "stats");
}

int sq_records(void *b, const char *service_id, int64_t from, int64_t to,
		      int (*cb)(void *, const struct interaction *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_RECORDS);
	sq_bind_text(st, 1, service_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	struct interaction *it = xmalloc(sizeof(*it));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_interaction(st, it);
		it->n_legs = 1;
		read_leg(st, 13, &it->legs[0]);
		if (cb(ctx, it) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(it);
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "records");
}

int sq_usage(void *b, const char *service_id, int64_t from, int64_t to,
		    void (*cb)(void *, const struct usage_day *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_USAGE);
	sq_bind_text(st, 1, service_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct usage_day u = {
			.day = sqlite3_column_int64(st, 0),
			.calls = sqlite3_column_int64(st, 1),
			.messages = sqlite3_column_int64(st, 2),
			.billable_seconds = sqlite3_column_int64(st, 3),
			.keywords = sqlite3_column_int64(st, 4),
		};
		cb(ctx, &u);
	}
	sq_stmt_done(st);
	return rc == SQLITE_DONE ? 0 : sq_db_fail(c, "usage");
}

/* ---------------------------------------------------------------- PIN, opt-out, pool */

int sq_pin_lookup(void *b, const char *service_id, const char *pin, const char *bidx, struct route_view *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_PIN_LOOKUP);
	sq_bind_text(st, 1, service_id);
	sq_bind_text(st, 2, pin);
	sq_bind_text(st, 3, bidx);
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW) {
		struct sql_cursor k = sq_cursor(st, 0);
		err = sql_read_route(&k, s->vault, out);
	}
	sq_stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return sq_db_fail(c, "pin_lookup");
	return err;
}

int sq_optout_set(void *b, const char *service_id, const char *bidx, const char *number_id, int opted_out,
			 int64_t now, const struct store_event *ev)
{
	CONN_OR_FAIL(b, c);
	int rc = ev != NULL ? sq_tx_begin(c) : 0;
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = sq_stmt(c, opted_out ? SQL_OPTOUT_ADD : SQL_OPTOUT_DELETE);
	sq_bind_text(st, 1, bidx);
	sq_bind_text(st, 2, number_id);
	if (opted_out) {
		sq_bind_text(st, 3, service_id);
		sqlite3_bind_int64(st, 4, now);
	}
	rc = sq_exec_stmt(c, st, "optout_set");
	if (ev == NULL)
		return rc;
	return sq_tx_finish_event(b, c, rc, ev);
}

int sq_pool_stats(void *b, const char *service_id, struct pool_stats *out)
{
	CONN_OR_FAIL(b, c);
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = sq_stmt(c, SQL_POOL_STATS);
	sq_bind_text(st, 1, service_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->participants = sqlite3_column_int64(st, 0);
		out->max_held = sqlite3_column_int64(st, 1);
	}
	sq_stmt_done(st);
	return rc == SQLITE_ROW ? 0 : sq_db_fail(c, "pool_stats");
}
