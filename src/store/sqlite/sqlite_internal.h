/* SPDX-License-Identifier: MIT */
/* sqlite_internal.h - what the files of the SQLite backend (store.h on one embedded
 * database, one connection taken in turns under db_lock) share: the statement ids
 * and their texts, the connection and handle structs, the helpers that prepare,
 * bind and step statements, and the ops each file implements. Internal to store/sqlite/. */
#ifndef MASKD_SQLITE_INTERNAL_H
#define MASKD_SQLITE_INTERNAL_H

#include "../store_backend.h"
#include "../migrations.h"
#include "../sql_shared.h"
#include "../../core/session.h"
#include "../../util/err.h"
#include "../../util/log.h"
#include "../../util/xmalloc.h"
#include "../../vault/vault.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define SQLITE_BUSY_TIMEOUT_MS 10000 /* the checkpointer's connection and migrations */
/* How long a write on the store's connection waits for a write lock another process
 * holds (sqlite3 BEGIN EXCLUSIVE, a backup tool) before it fails with SQLITE_BUSY and
 * its request answers 503. While the lock stays held (a busy call within this window
 * of the last one), later writes fail at once: every request waits for the one
 * connection, so a wait per request would queue them all behind one another. */
#define SQLITE_BUSY_WAIT_MS 2000

/* ---------------------------------------------------------------- statements */

enum sql_id {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_NUMBER_IN_USE,
	SQL_SESSION_TIMES,
	SQL_LC_BINDING_KEEP,
	SQL_LC_IN_USE_ADD,
	SQL_LEG_INSERT,
	SQL_LEG_FIND,
	SQL_LEG_SET,
	SQL_BINDINGS_COOL,
	SQL_BINDINGS_RELEASE_DUE,
	SQL_BINDING_TAKE,
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
	SQL_BACKEND_STATEMENTS(SQL_BACKEND_ID)
	SQL_SHARED_STATEMENTS(SQL_SHARED_ID)
	SQL_COUNT
};


/* ---------------------------------------------------------------- connections */

struct sqlite_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL_COUNT];
	/* the lock-wait episode of busy_wait() (conn.c), monotonic ms; 0: none */
	int64_t busy_since_ms, busy_last_ms;
};

struct store_sqlite {
	char *path;
	struct vault *vault;
	/* One connection for every thread, one operation at a time. Measured
	 * (bench/): with a connection per thread, each write invalidated the other
	 * connections' page caches and every webhook re-read its pages with pread;
	 * and contended writes slept in SQLite's busy handler. A store operation is
	 * microseconds, so taking turns costs less than either. Only the ops table's
	 * wrappers (locked_*) take it; ops never call one another through the table. */
	pthread_mutex_t db_lock;
	struct sqlite_conn *conn; /* opened on first use, under db_lock */
	/* WAL checkpoints (the only fsyncs with synchronous=NORMAL) run on their own
	 * thread and connection, never inside a commit under db_lock: measured, an
	 * inline checkpoint stalled every request behind its fdatasync. */
	pthread_t checkpointer;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_wake;
	int ckpt_due;
	int ckpt_stop;
	/* Group commit of interaction records (see sq_interaction_record): webhook
	 * threads queue their record under rec_lock; the leader (whoever finds no
	 * batch running) applies the queue in one transaction under db_lock. */
	pthread_mutex_t rec_lock;
	pthread_cond_t rec_done;
	struct rec_request *rec_head, *rec_tail;
	int rec_running;             /* a leader is gathering or applying a batch */
	int rec_queued;              /* requests in the queue */
	sqlite3_stmt *rec_sp[3];     /* SAVEPOINT, RELEASE, ROLLBACK TO on conn; NULL until used */
	uint64_t rec_batches, rec_records; /* reported at close */
};

#define CHECKPOINT_PAGES 1000     /* WAL pages that wake the checkpointer (SQLite's default) */
#define CHECKPOINT_INTERVAL_S 1   /* and at least this often when there were writes */
#define WAL_RESTART_PAGES 8192    /* a WAL longer than this is rewound (RESTART checkpoint) */

#define CONN_OR_FAIL(s, c)                       \
	struct sqlite_conn *c = sq_conn_get(s);     \
	if (c == NULL)                           \
		return MASKD_EDB
/* db_lock is taken and released only through these (ops.c), so that its
 * invariants hold by assertion: sq_db_lock() asserts that the calling thread does
 * not hold it already (no op calls another through the table); sq_db_held() is 1
 * on the thread that holds s's lock, else 0. */
void sq_db_lock(struct store_sqlite *s);
void sq_db_unlock(struct store_sqlite *s);
int sq_db_held(const struct store_sqlite *s);

/* The connection of a transaction's primitive: the body runs under db_lock. */
static inline struct sqlite_conn *tx_conn(struct store_tx *tx)
{
	assert(tx != NULL && tx->ops == &store_sqlite_ops && tx->conn != NULL);
	assert(sq_db_held(tx->b));
	return tx->conn;
}


/* statements.c: the text of each statement ($n placeholders of a shared text
 * become ?n when it is prepared) */
extern const char *const sq_sql_text[SQL_COUNT];

/* conn.c */
/* The store's connection, opened on first use. NULL if it cannot open. */
struct sqlite_conn *sq_conn_get(struct store_sqlite *s);
/* Statement id on c, prepared (persistent) on first use; aborts when it cannot be
 * prepared (a text error). Reset it with sq_stmt_done() after use. */
sqlite3_stmt *sq_stmt(struct sqlite_conn *c, enum sql_id id);
/* Resets st and clears its bindings, for its next use. */
void sq_stmt_done(sqlite3_stmt *st);
/* Binds s (NULL: SQL NULL) to parameter i; s must outlive the step. */
void sq_bind_text(sqlite3_stmt *st, int i, const char *s);
/* One value of sq_bind(): SQ_TEXT(s) (NULL binds NULL), SQ_INT(v), SQ_OPT(v) (an
 * integer, NULL unless v > 0). */
struct sq_value {
	enum { SQ_V_TEXT, SQ_V_INT, SQ_V_OPT } kind;
	const char *text;
	int64_t i;
};
#define SQ_TEXT(s) ((struct sq_value){.kind = SQ_V_TEXT, .text = (s)})
#define SQ_INT(v) ((struct sq_value){.kind = SQ_V_INT, .i = (int64_t)(v)})
#define SQ_OPT(v) ((struct sq_value){.kind = SQ_V_OPT, .i = (int64_t)(v)})
/* Binds v[0..n) to st's parameters ?1..?n. */
void sq_bind_values(sqlite3_stmt *st, const struct sq_value *v, int n);
/* sq_bind(st, SQ_TEXT(id), SQ_INT(status), ...): the values in parameter order. */
#define sq_bind(st, ...)                                                        \
	sq_bind_values((st), (const struct sq_value[]){__VA_ARGS__},            \
		       (int)(sizeof((const struct sq_value[]){__VA_ARGS__}) / sizeof(struct sq_value)))
/* Column i of the current row into out ("" for NULL), cut to cap. */
void sq_col_text(sqlite3_stmt *st, int i, char *out, size_t cap);
/* Logs c's last error with what and returns MASKD_EDB. */
int sq_db_fail(struct sqlite_conn *c, const char *what);
/* Runs a statement that returns no rows. */
int sq_exec_stmt(struct sqlite_conn *c, sqlite3_stmt *st, const char *what);
/* Every sq_tx_begin() that returns 0 is ended by sq_tx_commit() returning 0 or by
 * sq_tx_rollback(); a failed sq_tx_commit() is followed by sq_tx_rollback(). Callers hold
 * db_lock (the locked_* wrappers), so no other transaction can interleave. */
int sq_tx_begin(struct sqlite_conn *c);
int sq_tx_commit(struct sqlite_conn *c);
void sq_tx_rollback(struct sqlite_conn *c);
/* Ends a write begun with sq_tx_begin() on c whose statements returned rc: puts ev
 * (NULL = none) when rc is 0, then commits, or rolls back on any failure. Returns
 * the first failure, or 0 (interactions.c). */
int sq_tx_finish_event(void *b, struct sqlite_conn *c, int rc, const struct store_event *ev);
/* Binds struct call_policy as 4 parameters from first (POLICY_COLS order). */
void sq_bind_policy(sqlite3_stmt *st, int first, const struct call_policy *p);
/* Reads 4 columns from first (POLICY_COLS order) into *p. */
/* A cursor (sql_shared.h) over st's current row, from column col. */
struct sql_cursor sq_cursor(sqlite3_stmt *st, int col);

/* services.c */
/* The number row statement id finds with a1, a2 (a2 NULL: one parameter) into
 * *out; MASKD_ENOTFOUND when none. */
int sq_number_by(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2, struct number *out);

/* sessions.c */
/* 1 when statement id (bound with a1, a2; a2 NULL: one parameter) returns a row,
 * 0 when not, or a negative maskd_err. */
int sq_row_exists(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2);
/* Inserts a session event (store_tx_event_insert) on c. */
int sq_event_insert(struct sqlite_conn *c, const char *session_id, const char *kind, const char *participant_id,
			const char *detail, int64_t now);

/* ---------------------------------------------------------------- ops */

/* Every store_ops entry (store_backend.h) as sq_<entry>, with the contract of that
 * entry, defined in conn.c, services.c, sessions.c, interactions.c or primitives.c.
 * What this backend adds to a contract:
 * - sq_tx_run (store_tx_run): under db_lock, so no other transaction interleaves and a lost
 *   race cannot happen; a body asking for MASKD_ERETRY (it saw a row vanish) runs again.
 * - sq_service_update: the whole row and each carrier's credentials replaced in one
 *   transaction; a carrier whose secrets[d] is "" loses its row.
 * - sq_number_delete: refused while open sessions use it; its cooling-off bindings are
 *   released and its opt-out rows go with it.
 * - sq_interaction_record (store_interaction_record): queue, then lead a batch or wait for
 *   the one that holds this record. Returns after the record's transaction committed (or failed). */
#define SQ_OP_DECLARE(ret, entry, params) ret sq_##entry params;
STORE_OPS(SQ_OP_DECLARE)

/* ---------------------------------------------------------------- one-row lookups */

/* Steps st once; on a row, copies its first column into out ("" for NULL, cut to cap),
 * and leaves out untouched otherwise. Resets st (sq_stmt_done) in every case. Returns
 * SQLITE_ROW, SQLITE_DONE or SQLite's error code; the caller maps it and logs. */
int sq_step_text(sqlite3_stmt *st, char *out, size_t cap);
/* Runs statement id with ?1 = a1 and ?2 = a2 (NULL: SQL NULL), no rows back, as
 * sq_exec_stmt(): 0, or MASKD_EDB logged with what. */
int sq_exec_text2(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2, const char *what);
/* Seals plain under v with associated data ad and binds the result to parameter i
 * (SQLite keeps its own copy). Returns 0, or vault_seal()'s error with i left unbound. */
int sq_bind_sealed(sqlite3_stmt *st, int i, const struct vault *v, const char *plain, const char *ad);

/* A row read left to right: each sq_next_* reads column col of st's current row and
 * moves col on by one, so a reader names its fields in SELECT order and numbers none.
 * Valid only while st stands on a row (after sqlite3_step() returned SQLITE_ROW). */
struct sq_cols {
	sqlite3_stmt *st;
	int col;
};

/* Next column into out ("" for NULL), cut to cap. */
static inline void sq_next_text(struct sq_cols *r, char *out, size_t cap)
{
	sq_col_text(r->st, r->col++, out, cap);
}

static inline int sq_next_int(struct sq_cols *r)
{
	return sqlite3_column_int(r->st, r->col++);
}

static inline int64_t sq_next_i64(struct sq_cols *r)
{
	return sqlite3_column_int64(r->st, r->col++);
}

#endif
