/* SPDX-License-Identifier: MIT */
/* pg_internal.h - what the files of the PostgreSQL backend (libpq, one connection
 * per thread, prepared statements, reconnect with backoff) share: the statement ids
 * and their texts, the connection and handle structs, the helpers that bind, pg_run
 * and read statements, and the ops each file implements. Internal to store/pg/. */
#ifndef MASKD_PG_INTERNAL_H
#define MASKD_PG_INTERNAL_H

#include "../store_backend.h"
#include "../migrations.h"
#include "../sql_shared.h"
#include "../../core/session.h"
#include "../../util/buf.h"
#include "../../util/err.h"
#include "../../util/log.h"
#include "../../util/redact.h"
#include "../../util/xmalloc.h"
#include "../../vault/vault.h"

#include <assert.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Defaults given to libpq before the URL, so the URL can override each of them. A
 * dead network is noticed within ~10 s (tcp_user_timeout, keepalives), a refused
 * connection at once, an unanswered one after connect_timeout. */
#define PG_CONNECT_TIMEOUT_S "3"
#define PG_TCP_USER_TIMEOUT_MS "10000"
/* Set on each connection unless the URL, role or database already sets one. */
#define PG_STATEMENT_TIMEOUT "5s"
/* Migrations wait this long for another node's migration (the advisory lock). */
#define PG_MIGRATION_LOCK_TIMEOUT "60s"
#define PG_MIGRATION_LOCK_KEY "7233174018193551467" /* any constant; the same on every node */
#define PG_BACKOFF_MIN_MS 200
#define PG_BACKOFF_MAX_MS 5000
#define TX_ATTEMPTS 4   /* whole-transaction retries on deadlock or serialization failure */
#define ARGS_MAX 48 /* parameters of one statement: a service row has 37 */
#define SERVICES_MAX 256 /* what service_list returns, as on SQLite */

/* Internal: the transaction lost a race and may simply be pg_run again. */
#define PG_ERETRY (-100)

/* ---------------------------------------------------------------- statements */

enum sql_id {
	SQL_NUMBERS_LOCK,
	SQL_NUMBERS_ADD,
	SQL_SESSION_TIMES_LOCK,
	SQL_LC_BINDINGS_HOLD,
	SQL_LEG_UPSERT,
	SQL_NUMBER_LOCK,
	SQL_PARTICIPANT_KEEP,
	SQL_PARTICIPANT_RETAKE,
	SQL_COOLING_DUE,
	SQL_CLOSE_SET_SESSIONS,
	SQL_CLOSE_SET_BINDINGS,
	SQL_CLOSE_SET_EVENTS,
	SQL_OUTBOX_PUT,
	SQL_OUTBOX_CLAIM,
	SQL_OUTBOX_SETTLE,
	SQL_OUTBOX_HOLD,
	SQL_OUTBOX_GET,
	SQL_OUTBOX_LIST,
	SQL_OUTBOX_REQUEUE,
	SQL_OUTBOX_STATS,
	SQL_OUTBOX_RECOVER,
	SQL_EVENT_LOCK,
	SQL_BACKEND_STATEMENTS(SQL_BACKEND_ID)
	SQL_SHARED_STATEMENTS(SQL_SHARED_ID)
	SQL_COUNT
};



/* ---------------------------------------------------------------- connections */

/* A service event written by the open transaction, inserted just before its
 * COMMIT (pg_events_flush). */
struct pg_event_pending {
	char *id, *service_id, *type, *body;
	int64_t created_at;
	struct pg_event_pending *next;
};

struct pg_conn {
	PGconn *pg;            /* NULL = not connected */
	bool broken;           /* the connection failed mid-call: reconnect on next use */
	bool prepared[SQL_COUNT];
	char sqlstate[6];      /* of the last failed statement, "" when none */
	char constraint[64];   /* the constraint (or unique index) it violated, "" when none */
	/* the open transaction's service events, in the order written (outbox.c) */
	struct pg_event_pending *events, **events_tail;
	struct pg_conn *next;
};

struct store_pg {
	char *url; /* MASKD_DB as given: holds the password, never logged */
	struct vault *vault;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards everything below */
	struct pg_conn *conns;
	bool down;            /* the last connection attempt failed */
	bool probing;         /* a thread is trying to connect while down */
	int64_t retry_at_ms;  /* while down, no attempt before this (monotonic) */
	int backoff_ms;
	/* Group commit of interaction records (interactions.c): webhook threads
	 * queue their record under rec_lock; the leader (whoever finds no batch
	 * running) applies the queue in one transaction on its own connection and
	 * signals rec_done. */
	pthread_mutex_t rec_lock;
	pthread_cond_t rec_done;
	struct pg_rec_request *rec_head, *rec_tail;
	bool rec_running;            /* a leader is applying a batch */
	uint64_t rec_batches, rec_records; /* grouped commits and the records they held, reported at close */
};

#define CONN_OR_FAIL(s, c)                       \
	struct pg_conn *c = pg_conn_get(s);        \
	if (c == NULL)                           \
		return MASKD_EDB
static inline struct pg_conn *tx_conn(struct store_tx *tx)
{
	assert(tx != NULL && tx->ops == &store_pg_ops && tx->conn != NULL);
	return tx->conn;
}

struct args {
	int n;
	const char *val[ARGS_MAX];
	int len[ARGS_MAX];
	int fmt[ARGS_MAX];
	char num[ARGS_MAX][24];
};

/* statements.c: the text of each statement */
extern const char *const pg_sql_text[SQL_COUNT];

/* conn.c */
/* Monotonic milliseconds. */
int64_t pg_mono_ms(void);
/* Copies msg (a libpq message) into out with every spelling of the password that
 * url carries replaced by "***", folded to one line. */
void pg_scrub_message(const char *url, const char *msg, char *out, size_t cap);
/* This thread's connection, connected (or reconnected) on first use; NULL while
 * the database is down. */
struct pg_conn *pg_conn_get(struct store_pg *s);
/* Append one parameter to a (at most ARGS_MAX): text (NULL: SQL NULL; borrowed,
 * must outlive the run), a 64-bit integer (copied), or bytes (binary, borrowed). */
void pg_arg_text(struct args *a, const char *s);
void pg_arg_i64(struct args *a, int64_t v);
void pg_arg_bytes(struct args *a, const uint8_t *p, size_t n);
/* True when c's last failure was a deadlock or a serialization failure: the
 * transaction may simply run again. */
bool pg_retryable(const struct pg_conn *c);
/* Runs prepared statement id (preparing it on this connection first when needed).
 * On success *out (when not NULL) gets the result, which the caller PQclear()s. */
int pg_run(struct pg_conn *c, enum sql_id id, const struct args *a, PGresult **out);
/* Runs id and hands its rows to row() one at a time (libpq's single-row mode),
 * so a long result is never held in memory whole. row() returning nonzero stops
 * the calls; the rest of the result is read and dropped. */
int pg_run_rows(struct pg_conn *c, enum sql_id id, const struct args *a,
		    int (*row)(void *ctx, const PGresult *r), void *ctx);
/* pg_run() for a statement that must return a row: MASKD_ENOTFOUND (nothing in
 * *out) when it returns none. */
int pg_run_one(struct pg_conn *c, enum sql_id id, const struct args *a, PGresult **out);
/* Runs id and returns how many rows it changed (>= 0) or a negative maskd_err. */
int pg_run_count(struct pg_conn *c, enum sql_id id, const struct args *a);
/* The single write do_write(c, ctx) and, when ev is not NULL, ev after it in one
 * transaction, tried again on a deadlock or serialization failure (interactions.c);
 * without ev the write runs alone. 0 or a negative maskd_err. */
int pg_with_event(struct store_pg *s, struct pg_conn *c, int (*do_write)(struct pg_conn *c, void *ctx), void *ctx,
		  const struct store_event *ev);
/* Transaction control on c; a failed commit is followed by pg_tx_rollback(). The
 * commit first writes the transaction's queued service events (pg_events_flush);
 * begin and rollback forget them. */
int pg_tx_begin(struct pg_conn *c);
int pg_tx_commit(struct pg_conn *c);
void pg_tx_rollback(struct pg_conn *c);

/* The service events the open transaction on c wrote (pg_tx_service_event_insert
 * queues them): each service's per-service lock is taken, services in id order,
 * and its events inserted in the order written. Run last before COMMIT, so the
 * lock that orders a service's events is the last lock any transaction takes and
 * no two transactions wait on each other through it (a close that wrote its event
 * before releasing its numbers deadlocked with a create holding a number).
 * Returns 0 or a negative maskd_err. pg_events_drop() forgets the queue. Both are
 * pg_tx_commit()'s: no other caller needs them. */
int pg_events_flush(struct pg_conn *c);
void pg_events_drop(struct pg_conn *c);
/* Column col of row row: text into out ("" for NULL, cut to cap), or as a number
 * (0 for NULL). */
void pg_col_text(const PGresult *r, int row, int col, char *out, size_t cap);
int64_t pg_col_i64(const PGresult *r, int row, int col);
int pg_col_int(const PGresult *r, int row, int col);
/* Opens a sealed bytea column with the vault. */
int pg_col_unseal(const struct vault *v, const PGresult *r, int row, int col, const char *ad, char *out,
		      size_t cap);
/* struct call_policy as 4 parameters (POLICY_COLS order). */
void pg_arg_policy(struct args *a, const struct call_policy *p);
/* A cursor (sql_shared.h) over r's row, from column col. */
struct sql_cursor pg_cursor(const PGresult *r, int row, int col);
/* s, or NULL when s is NULL or "" (an unreported field). */
const char *pg_nonempty(const char *s);
/* A PostgreSQL array literal {"a","b"} of n strings. */
void pg_array_literal(struct buf *b, const char *const *items, int n);

/* services.c */
/* The number row statement id finds with a1, a2 (a2 NULL: one parameter) into
 * *out; MASKD_ENOTFOUND when none. */
int pg_number_by(struct pg_conn *c, enum sql_id id, const char *a1, const char *a2, struct number *out);

/* sessions.c */
/* Inserts a session event (store_tx_event_insert) on c. */
int pg_event_insert(struct pg_conn *c, const char *session_id, const char *kind, const char *participant_id,
		     const char *detail, int64_t now);

/* ---------------------------------------------------------------- ops */

/* Every store_ops entry (store_backend.h) as pg_<entry>, with the contract of that
 * entry, defined in conn.c, services.c, sessions.c, interactions.c or primitives.c.
 * What this backend adds to a contract:
 * - pg_tx_run (store_tx_run): READ COMMITTED, as every transaction here; a deadlock or a
 *   serialization failure (or a body's MASKD_ERETRY) runs the body again.
 * - pg_records: streams the rows (an export may span months): cb runs while this thread's
 *   connection is still reading the result, so cb must not call the store. */
#define PG_OP_DECLARE(ret, entry, params) ret pg_##entry params;
STORE_OPS(PG_OP_DECLARE)

#endif
