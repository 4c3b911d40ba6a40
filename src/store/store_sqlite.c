/* SPDX-License-Identifier: MIT */
/* store_sqlite.c - the embedded SQLite backend of store.h (WAL, one connection for
 * the process behind a mutex, statements prepared once and reused).
 * Writes that decide ownership run in BEGIN IMMEDIATE transactions and rely on
 * the unique indexes of the schema; SQLite serialises writers, so a conflict
 * here means a rule was broken, not a race lost. The SQL is kept to what
 * PostgreSQL also accepts, for the backend that follows. */
#include "store_backend.h"
#include "migrations.h"
#include "../core/pool.h"
#include "../core/session.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"
#include "../vault/vault.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SQLITE_BUSY_TIMEOUT_MS 10000
#define POOL_CANDIDATES 8

/* ---------------------------------------------------------------- statements */

enum sql_id {
	SQL_BEGIN,
	SQL_COMMIT,
	SQL_ROLLBACK,
	SQL_PING,
	SQL_SETTING_GET,
	SQL_SETTING_PUT,
	SQL_SETTING_ADD,
	SQL_SERVICE_INSERT,
	SQL_SECRET_INSERT,
	SQL_SERVICE_GET,
	SQL_SECRETS_GET,
	SQL_SERVICE_LIST,
	SQL_NUMBER_INSERT,
	SQL_NUMBER_GET,
	SQL_NUMBER_LIST,
	SQL_NUMBER_SET_STATE,
	SQL_NUMBER_DELETE,
	SQL_NUMBER_IN_USE,
	SQL_NUMBER_NAMED,
	SQL_UNIQUE_NAME_TAKEN,
	SQL_POOL_CANDIDATES,
	SQL_BINDING_HELD,
	SQL_SESSION_INSERT,
	SQL_PARTICIPANT_INSERT,
	SQL_NUMBER_INC,
	SQL_NUMBER_DEC,
	SQL_SESSION_GET,
	SQL_PARTICIPANTS_OF,
	SQL_SESSION_LIST,
	SQL_SESSION_CLOSE,
	SQL_BINDINGS_OF,
	SQL_BINDINGS_RELEASE,
	SQL_SESSION_TIMES,
	SQL_SESSION_SET_TIMES,
	SQL_EXPIRE_DUE,
	SQL_ROUTE_LOOKUP,
	SQL_INTERACTION_INSERT,
	SQL_INTERACTION_BY_SID,
	SQL_SESSION_TOUCH,
	SQL_LEG_INSERT,
	SQL_INTERACTION_GET,
	SQL_INTERACTION_LIST,
	SQL_LEGS_OF,
	SQL_LEG_FIND,
	SQL_LEG_SET,
	SQL_PARTICIPANT_NUMBER,
	SQL_STATS,
	SQL_RECORDS,
	SQL_USAGE,
	SQL_COUNT
};

#define NUMBER_COLS "n.id, n.service_id, n.e164, n.carrier, n.caps, n.country, n.area_code, n.state, n.in_use, n.created_at"
#define SESSION_COLS "id, service_id, unique_name, mode, status, ttl, expires_at, created_at, updated_at, last_activity_at, closed_at, " POLICY_COLS
#define INTERACTION_COLS "id, session_id, service_id, channel, carrier, carrier_sid, decision, from_participant, to_participant, created_at"
#define LEG_COLS "l.id, l.leg, l.carrier_sid, l.status, l.duration, l.started_at, l.answered_at, l.ended_at, l.proxy_number, l.other_country, l.recording_id, l.recording_url, l.cost, l.currency"
#define POLICY_COLS "record, time_limit, ring_timeout, consent_message"

static const char *const sql_text[SQL_COUNT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_PING] = "SELECT 1",
	[SQL_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
	[SQL_SETTING_PUT] = "INSERT INTO settings (key, value) VALUES (?1, ?2) "
			    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[SQL_SETTING_ADD] = "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
	[SQL_SERVICE_INSERT] = "INSERT INTO services (id, name, mode, ttl, unknown_caller_message, created_at, " POLICY_COLS ") "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[SQL_SECRET_INSERT] = "INSERT INTO service_secrets (service_id, carrier, sealed) VALUES (?1, ?2, ?3)",
	[SQL_SERVICE_GET] = "SELECT id, name, mode, ttl, unknown_caller_message, created_at, " POLICY_COLS " FROM services WHERE id = ?1",
	[SQL_SECRETS_GET] = "SELECT carrier, sealed FROM service_secrets WHERE service_id = ?1",
	[SQL_SERVICE_LIST] = "SELECT id FROM services ORDER BY created_at, id",
	[SQL_NUMBER_INSERT] = "INSERT INTO numbers (id, service_id, e164, carrier, caps, country, area_code, state, in_use, created_at) "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)",
	[SQL_NUMBER_GET] = "SELECT " NUMBER_COLS " FROM numbers n WHERE n.id = ?1",
	[SQL_NUMBER_LIST] = "SELECT " NUMBER_COLS " FROM numbers n WHERE n.service_id = ?1 ORDER BY n.created_at, n.id",
	[SQL_NUMBER_SET_STATE] = "UPDATE numbers SET state = ?2 WHERE id = ?1",
	[SQL_NUMBER_DELETE] = "DELETE FROM numbers WHERE id = ?1 AND in_use = 0",
	[SQL_NUMBER_IN_USE] = "SELECT in_use FROM numbers WHERE id = ?1",
	[SQL_NUMBER_NAMED] = "SELECT " NUMBER_COLS " FROM numbers n WHERE n.service_id = ?1 AND n.e164 = ?2",
	[SQL_UNIQUE_NAME_TAKEN] = "SELECT 1 FROM sessions WHERE service_id = ?1 AND unique_name = ?2 AND status < 2",
	[SQL_POOL_CANDIDATES] =
		"SELECT n.id, n.e164, n.state, n.caps, n.in_use, n.created_at FROM numbers n "
		"WHERE n.service_id = ?1 AND n.state = 0 AND (n.caps & ?2) = ?2 AND NOT EXISTS "
		"(SELECT 1 FROM participants p WHERE p.bidx = ?3 AND p.proxy_number_id = n.id AND p.active = 1) "
		"ORDER BY n.in_use, n.created_at, n.id LIMIT ?4",
	[SQL_BINDING_HELD] = "SELECT 1 FROM participants WHERE bidx = ?1 AND proxy_number_id = ?2 AND active = 1",
	[SQL_SESSION_INSERT] =
		"INSERT INTO sessions (id, service_id, unique_name, mode, status, ttl, expires_at, created_at, "
		"updated_at, last_activity_at, closed_at, deadline, " POLICY_COLS ") "
		"VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?7, ?7, 0, ?8, ?9, ?10, ?11, ?12)",
	[SQL_PARTICIPANT_INSERT] =
		"INSERT INTO participants (id, session_id, idx, label, masked, number_sealed, bidx, proxy_number_id, "
		"proxy_e164, active, country) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10)",
	[SQL_NUMBER_INC] = "UPDATE numbers SET in_use = in_use + 1 WHERE id = ?1",
	[SQL_NUMBER_DEC] = "UPDATE numbers SET in_use = in_use - 1 WHERE id = ?1 AND in_use > 0",
	[SQL_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1",
	[SQL_PARTICIPANTS_OF] = "SELECT id, label, masked, proxy_number_id, proxy_e164, country FROM participants "
				"WHERE session_id = ?1 ORDER BY idx",
	[SQL_SESSION_LIST] =
		"SELECT " SESSION_COLS " FROM sessions WHERE service_id = ?1 AND (?2 < 0 OR status = ?2) "
		"AND (?3 IS NULL OR unique_name = ?3) AND (?4 IS NULL OR (created_at, id) > "
		"(SELECT created_at, id FROM sessions WHERE id = ?4)) ORDER BY created_at, id LIMIT ?5",
	[SQL_SESSION_CLOSE] = "UPDATE sessions SET status = 2, closed_at = ?2, updated_at = ?2, deadline = NULL "
			      "WHERE id = ?1 AND status < 2",
	[SQL_BINDINGS_OF] = "SELECT proxy_number_id FROM participants WHERE session_id = ?1 AND active = 1",
	[SQL_BINDINGS_RELEASE] = "UPDATE participants SET active = 0 WHERE session_id = ?1 AND active = 1",
	[SQL_SESSION_TIMES] = "SELECT status, ttl, expires_at, last_activity_at FROM sessions WHERE id = ?1",
	[SQL_SESSION_SET_TIMES] = "UPDATE sessions SET ttl = ?2, expires_at = ?3, deadline = ?4, updated_at = ?5 WHERE id = ?1",
	[SQL_EXPIRE_DUE] = "SELECT id FROM sessions WHERE status < 2 AND deadline IS NOT NULL AND deadline <= ?1 "
			   "ORDER BY deadline LIMIT ?2",
	[SQL_ROUTE_LOOKUP] =
		"SELECT " NUMBER_COLS ", s.id, s.status, s.mode, s.ttl, s.expires_at, s.last_activity_at, "
		"p.id, o.id, o.number_sealed, o.proxy_e164, o.country, s.record, s.time_limit, s.ring_timeout, "
		"s.consent_message FROM numbers n "
		"LEFT JOIN participants p ON p.bidx = ?2 AND p.proxy_number_id = n.id AND p.active = 1 "
		"LEFT JOIN sessions s ON s.id = p.session_id "
		"LEFT JOIN participants o ON o.session_id = p.session_id AND o.id <> p.id "
		"WHERE n.e164 = ?1",
	[SQL_INTERACTION_INSERT] =
		"INSERT INTO interactions (" INTERACTION_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
		"ON CONFLICT (carrier, carrier_sid) DO NOTHING",
	[SQL_INTERACTION_BY_SID] = "SELECT " INTERACTION_COLS " FROM interactions WHERE carrier = ?1 AND carrier_sid = ?2",
	[SQL_SESSION_TOUCH] = "UPDATE sessions SET status = ?2, last_activity_at = ?3, updated_at = ?3, deadline = ?4 "
			      "WHERE id = ?1 AND status < 2",
	/* the leg's proxy number and country come from the participant on its real end:
	 * the caller for leg 'a', the callee for leg 'b' */
	[SQL_LEG_INSERT] =
		"INSERT INTO legs (id, interaction_id, leg, carrier_sid, status, duration, started_at, ended_at, service_id, "
		"session_id, proxy_number, other_country, answered_at, recording_id, recording_url, cost, currency) "
		"SELECT ?1, i.id, ?3, ?4, ?5, ?6, ?7, ?8, i.service_id, i.session_id, p.proxy_e164, p.country, ?9, ?10, "
		"?11, ?12, ?13 FROM interactions i JOIN participants p ON p.id = CASE WHEN ?3 = 'a' THEN "
		"i.from_participant ELSE i.to_participant END WHERE i.id = ?2",
	[SQL_INTERACTION_GET] = "SELECT " INTERACTION_COLS " FROM interactions WHERE id = ?1",
	[SQL_INTERACTION_LIST] = "SELECT " INTERACTION_COLS " FROM interactions WHERE session_id = ?1 ORDER BY created_at, id",
	[SQL_LEGS_OF] = "SELECT " LEG_COLS " FROM legs l WHERE l.interaction_id = ?1 ORDER BY l.leg, l.started_at, l.id",
	[SQL_LEG_FIND] = "SELECT id FROM legs WHERE interaction_id = ?1 AND leg = ?2 AND carrier_sid = ?3",
	[SQL_LEG_SET] = "UPDATE legs SET status = COALESCE(?2, status), "
			"duration = CASE WHEN ?3 >= 0 THEN ?3 ELSE duration END, "
			"answered_at = CASE WHEN answered_at = 0 THEN ?4 ELSE answered_at END, "
			"ended_at = CASE WHEN ended_at = 0 THEN ?5 ELSE ended_at END, "
			"recording_id = COALESCE(?6, recording_id), recording_url = COALESCE(?7, recording_url), "
			"cost = COALESCE(?8, cost), currency = COALESCE(?9, currency) WHERE id = ?1",
	[SQL_PARTICIPANT_NUMBER] = "SELECT number_sealed FROM participants WHERE id = ?1",
	[SQL_STATS] = "SELECT (SELECT COUNT(*) FROM services), (SELECT COUNT(*) FROM numbers), "
		      "(SELECT COUNT(*) FROM sessions WHERE status < 2), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1), (SELECT COUNT(*) FROM interactions)",
	[SQL_RECORDS] = "SELECT i.id, i.session_id, i.service_id, i.channel, i.carrier, i.carrier_sid, i.decision, "
			"i.from_participant, i.to_participant, i.created_at, " LEG_COLS " FROM legs l "
			"JOIN interactions i ON i.id = l.interaction_id "
			"WHERE l.service_id = ?1 AND l.started_at >= ?2 AND l.started_at < ?3 ORDER BY l.started_at, l.id",
	[SQL_USAGE] = "SELECT (i.created_at / 86400) * 86400 AS day, "
		      "SUM(CASE WHEN i.channel = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN i.channel = 1 THEN 1 ELSE 0 END), "
		      "COALESCE(SUM((SELECT SUM(CASE WHEN l.duration > 0 THEN l.duration ELSE 0 END) FROM legs l "
		      "WHERE l.interaction_id = i.id AND l.leg = 'b')), 0) "
		      "FROM interactions i WHERE i.service_id = ?1 AND i.created_at >= ?2 AND i.created_at < ?3 "
		      "GROUP BY day ORDER BY day",
};

/* ---------------------------------------------------------------- connections */

struct sqlite_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[SQL_COUNT];
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
};

#define CHECKPOINT_PAGES 1000     /* WAL pages that wake the checkpointer (SQLite's default) */
#define CHECKPOINT_INTERVAL_S 1   /* and at least this often when there were writes */
#define WAL_RESTART_PAGES 8192    /* a WAL longer than this is rewound (RESTART checkpoint) */

static void conn_free(struct sqlite_conn *c)
{
	for (int i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

static int conn_open(const char *path, int flags, sqlite3 **out, char *err, size_t err_len)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "MASKD_DB: cannot open %s: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close_v2(db);
		return MASKD_EDB;
	}
	sqlite3_busy_timeout(db, SQLITE_BUSY_TIMEOUT_MS);
	char *msg = NULL;
	rc = sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
			      "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; "
			      "PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; "
			      "PRAGMA journal_size_limit = 67108864;",
			  NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, err_len, "MASKD_DB: %s: %s", path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		sqlite3_close_v2(db);
		return MASKD_EDB;
	}
	*out = db;
	return 0;
}

/* Called by SQLite after each commit on the store's connection (under db_lock). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_sqlite *s = arg;
	if (pages >= CHECKPOINT_PAGES) {
		pthread_mutex_lock(&s->ckpt_lock);
		s->ckpt_due = 1;
		pthread_cond_signal(&s->ckpt_wake);
		pthread_mutex_unlock(&s->ckpt_lock);
	}
	return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
	struct store_sqlite *s = arg;
	char err[256];
	sqlite3 *db = NULL;
	if (conn_open(s->path, SQLITE_OPEN_READWRITE, &db, err, sizeof(err)) < 0) {
		log_error("store: checkpointer: %s", err);
		return NULL;
	}
	pthread_mutex_lock(&s->ckpt_lock);
	while (!s->ckpt_stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += CHECKPOINT_INTERVAL_S;
		while (!s->ckpt_stop && !s->ckpt_due &&
		       pthread_cond_timedwait(&s->ckpt_wake, &s->ckpt_lock, &until) != ETIMEDOUT)
			;
		s->ckpt_due = 0;
		pthread_mutex_unlock(&s->ckpt_lock);
		/* PASSIVE: copies what it can without blocking the writer or readers.
		 * Under steady writes the WAL is never found idle and so never rewound
		 * (measured: 1.4 GB); past WAL_RESTART_PAGES, a RESTART checkpoint under
		 * db_lock brings it back to the start, a short pause once in a while. */
		int log_pages = 0, done = 0;
		int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store: checkpoint: %s", sqlite3_errmsg(db));
		if (rc == SQLITE_OK && log_pages > WAL_RESTART_PAGES) {
			pthread_mutex_lock(&s->db_lock);
			rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
			pthread_mutex_unlock(&s->db_lock);
			if (rc != SQLITE_OK && rc != SQLITE_BUSY)
				log_warn("store: checkpoint (restart): %s", sqlite3_errmsg(db));
		}
		pthread_mutex_lock(&s->ckpt_lock);
	}
	pthread_mutex_unlock(&s->ckpt_lock);
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	sqlite3_close_v2(db);
	return NULL;
}

/* The store's connection, opened on first use. NULL if it cannot open. */
static struct sqlite_conn *conn_get(struct store_sqlite *s)
{
	struct sqlite_conn *c = s->conn;
	if (c != NULL)
		return c;
	char err[256];
	sqlite3 *db = NULL;
	if (conn_open(s->path, SQLITE_OPEN_READWRITE, &db, err, sizeof(err)) < 0) {
		log_error("store: %s", err);
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->db = db;
	sqlite3_wal_hook(db, wal_hook, s); /* replaces SQLite's inline auto-checkpoint */
	s->conn = c;
	return c;
}

static sqlite3_stmt *stmt(struct sqlite_conn *c, enum sql_id id)
{
	if (c->stmt[id] == NULL) {
		int rc = sqlite3_prepare_v3(c->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL);
		if (rc != SQLITE_OK)
			fatal("store: cannot prepare statement %d: %s", (int)id, sqlite3_errmsg(c->db));
	}
	return c->stmt[id];
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int db_fail(struct sqlite_conn *c, const char *what)
{
	log_error("store: %s: %s", what, sqlite3_errmsg(c->db));
	return MASKD_EDB;
}

/* Runs a statement that returns no rows. */
static int exec_stmt(struct sqlite_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	stmt_done(st);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_CONSTRAINT)
			return MASKD_ECONFLICT;
		return db_fail(c, what);
	}
	return 0;
}

/* Every tx_begin() that returns 0 is ended by tx_commit() returning 0 or by
 * tx_rollback(); a failed tx_commit() is followed by tx_rollback(). Callers hold
 * db_lock (the locked_* wrappers), so no other transaction can interleave. */
static int tx_begin(struct sqlite_conn *c)
{
	assert(sqlite3_get_autocommit(c->db)); /* no transaction left open */
	return exec_stmt(c, stmt(c, SQL_BEGIN), "begin");
}

static int tx_commit(struct sqlite_conn *c)
{
	return exec_stmt(c, stmt(c, SQL_COMMIT), "commit");
}

static void tx_rollback(struct sqlite_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		exec_stmt(c, stmt(c, SQL_ROLLBACK), "rollback");
}

#define CONN_OR_FAIL(s, c)                       \
	struct sqlite_conn *c = conn_get(s);     \
	if (c == NULL)                           \
		return MASKD_EDB

static void bind_policy(sqlite3_stmt *st, int first, const struct call_policy *p)
{
	sqlite3_bind_int(st, first, p->record);
	sqlite3_bind_int(st, first + 1, p->time_limit);
	sqlite3_bind_int(st, first + 2, p->ring_timeout);
	bind_text(st, first + 3, p->consent_message);
}

static void read_policy(sqlite3_stmt *st, int first, struct call_policy *p)
{
	p->record = sqlite3_column_int(st, first);
	p->time_limit = sqlite3_column_int(st, first + 1);
	p->ring_timeout = sqlite3_column_int(st, first + 2);
	col_text(st, first + 3, p->consent_message, sizeof(p->consent_message));
}

/* ---------------------------------------------------------------- open/close */

static int migrate(sqlite3 *db, char *err, size_t err_len)
{
	char *msg = NULL;
	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
			 NULL, NULL, &msg) != SQLITE_OK)
		goto fail;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	int current = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		current = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (current > MIGRATIONS_COUNT) {
		snprintf(err, err_len, "MASKD_DB: the database schema is version %d, newer than this maskd knows (%d); "
			 "run a newer maskd", current, MIGRATIONS_COUNT);
		return MASKD_EINVAL;
	}
	for (int v = current + 1; v <= MIGRATIONS_COUNT; v++) {
		char stamp[96];
		snprintf(stamp, sizeof(stamp), "INSERT INTO schema_migrations VALUES (%d, strftime('%%s','now'));", v);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(db, migrations_sqlite[v - 1], NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, stamp, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
		log_info("store: applied migration %d", v);
	}
	return 0;
fail:
	snprintf(err, err_len, "MASKD_DB: migration failed: %s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return MASKD_EDB;
}

int store_sqlite_open(const char *path, struct vault *v, void **out, char *err, size_t err_len)
{
	sqlite3 *db = NULL;
	int rc = conn_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db, err, err_len);
	if (rc < 0)
		return rc;
	rc = migrate(db, err, err_len);
	sqlite3_close_v2(db);
	if (rc < 0)
		return rc;
	struct store_sqlite *s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->vault = v;
	pthread_mutex_init(&s->db_lock, NULL);
	pthread_mutex_init(&s->ckpt_lock, NULL);
	pthread_cond_init(&s->ckpt_wake, NULL);
	if (pthread_create(&s->checkpointer, NULL, checkpointer_main, s) != 0)
		fatal("store: cannot start the checkpointer thread");
	*out = s;
	return 0;
}

static void sq_close(void *b)
{
	struct store_sqlite *s = b;
	pthread_mutex_lock(&s->ckpt_lock);
	s->ckpt_stop = 1;
	pthread_cond_signal(&s->ckpt_wake);
	pthread_mutex_unlock(&s->ckpt_lock);
	pthread_join(s->checkpointer, NULL);
	pthread_cond_destroy(&s->ckpt_wake);
	pthread_mutex_destroy(&s->ckpt_lock);
	if (s->conn != NULL)
		conn_free(s->conn);
	pthread_mutex_destroy(&s->db_lock);
	free(s->path);
	free(s);
}

static int sq_ping(void *b)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_PING);
	int rc = sqlite3_step(st);
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : db_fail(c, "ping");
}

/* ---------------------------------------------------------------- settings */

static int sq_setting_get(void *b, const char *key, char *out, size_t cap)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_SETTING_GET);
	bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_text(st, 0, out, cap);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : db_fail(c, "setting_get");
}

static int sq_setting_put(void *b, const char *key, const char *value)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_SETTING_PUT);
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	return exec_stmt(c, st, "setting_put");
}

static int sq_setting_add(void *b, const char *key, const char *value)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_SETTING_ADD);
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	int rc = exec_stmt(c, st, "setting_add");
	if (rc < 0)
		return rc;
	return sqlite3_changes(c->db) == 0 ? MASKD_ECONFLICT : 0;
}

/* ---------------------------------------------------------------- services */

static void secret_ad(const char *service_id, int carrier, char *ad, size_t cap)
{
	snprintf(ad, cap, "service:%s:%s", service_id, dialect_name(carrier));
}

static int sq_service_insert(void *b, const struct service *svc)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_SERVICE_INSERT);
	bind_text(st, 1, svc->id);
	bind_text(st, 2, svc->name);
	sqlite3_bind_int(st, 3, svc->mode);
	sqlite3_bind_int64(st, 4, svc->ttl);
	bind_text(st, 5, svc->unknown_caller_message);
	sqlite3_bind_int64(st, 6, svc->created_at);
	bind_policy(st, 7, &svc->policy);
	rc = exec_stmt(c, st, "service_insert");
	for (int d = 0; rc == 0 && d < DIALECT_COUNT; d++) {
		if (svc->secrets[d][0] == '\0')
			continue;
		uint8_t sealed[VAULT_SEALED_MAX];
		size_t sealed_len = 0;
		char ad[ID_MAX + 32];
		secret_ad(svc->id, d, ad, sizeof(ad));
		rc = vault_seal(s->vault, svc->secrets[d], ad, sealed, sizeof(sealed), &sealed_len);
		if (rc < 0)
			break;
		st = stmt(c, SQL_SECRET_INSERT);
		bind_text(st, 1, svc->id);
		bind_text(st, 2, dialect_name(d));
		sqlite3_bind_blob(st, 3, sealed, (int)sealed_len, SQLITE_STATIC);
		rc = exec_stmt(c, st, "secret_insert");
	}
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0)
		tx_rollback(c);
	return rc;
}

static int sq_service_get(void *b, const char *id, struct service *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = stmt(c, SQL_SERVICE_GET);
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_text(st, 0, out->id, sizeof(out->id));
		col_text(st, 1, out->name, sizeof(out->name));
		out->mode = sqlite3_column_int(st, 2);
		out->ttl = sqlite3_column_int64(st, 3);
		col_text(st, 4, out->unknown_caller_message, sizeof(out->unknown_caller_message));
		out->created_at = sqlite3_column_int64(st, 5);
		read_policy(st, 6, &out->policy);
	}
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return db_fail(c, "service_get");
	st = stmt(c, SQL_SECRETS_GET);
	bind_text(st, 1, id);
	int err = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int d = dialect_from_name((const char *)sqlite3_column_text(st, 0));
		if (d < 0)
			continue;
		char ad[ID_MAX + 32];
		secret_ad(id, d, ad, sizeof(ad));
		const uint8_t *blob = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		if (vault_unseal(s->vault, blob, (size_t)n, ad, out->secrets[d], sizeof(out->secrets[d])) < 0) {
			log_error("store: service %s: the %s credential does not open with this vault key", id,
				  dialect_name(d));
			err = MASKD_ECRYPTO;
		}
	}
	stmt_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(c, "secrets_get");
	return err;
}

static int sq_service_list(void *b, void (*cb)(void *, const struct service *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_SERVICE_LIST);
	char ids[256][ID_MAX];
	int n = 0, rc;
	while (n < 256 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		col_text(st, 0, ids[n++], ID_MAX);
	stmt_done(st);
	for (int i = 0; i < n; i++) {
		struct service svc;
		if (sq_service_get(b, ids[i], &svc) == 0)
			cb(ctx, &svc);
	}
	return 0;
}

/* ---------------------------------------------------------------- numbers */

static void read_number(sqlite3_stmt *st, int col, struct number *n)
{
	col_text(st, col + 0, n->id, sizeof(n->id));
	col_text(st, col + 1, n->service_id, sizeof(n->service_id));
	col_text(st, col + 2, n->e164, sizeof(n->e164));
	n->carrier = sqlite3_column_int(st, col + 3);
	n->caps = (unsigned)sqlite3_column_int(st, col + 4);
	col_text(st, col + 5, n->country, sizeof(n->country));
	col_text(st, col + 6, n->area_code, sizeof(n->area_code));
	n->state = sqlite3_column_int(st, col + 7);
	n->in_use = sqlite3_column_int64(st, col + 8);
	n->created_at = sqlite3_column_int64(st, col + 9);
}

static int sq_number_insert(void *b, const struct number *n)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_NUMBER_INSERT);
	bind_text(st, 1, n->id);
	bind_text(st, 2, n->service_id);
	bind_text(st, 3, n->e164);
	sqlite3_bind_int(st, 4, n->carrier);
	sqlite3_bind_int(st, 5, (int)n->caps);
	bind_text(st, 6, n->country);
	bind_text(st, 7, n->area_code);
	sqlite3_bind_int(st, 8, n->state);
	sqlite3_bind_int64(st, 9, n->created_at);
	return exec_stmt(c, st, "number_insert");
}

static int number_by(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2, struct number *out)
{
	sqlite3_stmt *st = stmt(c, id);
	bind_text(st, 1, a1);
	if (a2 != NULL)
		bind_text(st, 2, a2);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_number(st, 0, out);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : db_fail(c, "number_get");
}

static int sq_number_get(void *b, const char *id, struct number *out)
{
	CONN_OR_FAIL(b, c);
	return number_by(c, SQL_NUMBER_GET, id, NULL, out);
}

static int sq_number_list(void *b, const char *service_id, void (*cb)(void *, const struct number *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_NUMBER_LIST);
	bind_text(st, 1, service_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct number n;
		read_number(st, 0, &n);
		cb(ctx, &n);
	}
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(c, "number_list");
}

static int sq_number_set_state(void *b, const char *id, int state)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_NUMBER_SET_STATE);
	bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, state);
	int rc = exec_stmt(c, st, "number_set_state");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return MASKD_ENOTFOUND;
	return rc;
}

static int sq_number_delete(void *b, const char *id)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_NUMBER_DELETE);
	bind_text(st, 1, id);
	int rc = exec_stmt(c, st, "number_delete");
	if (rc < 0 || sqlite3_changes(c->db) > 0)
		return rc;
	struct number n;
	rc = number_by(c, SQL_NUMBER_GET, id, NULL, &n);
	return rc == 0 ? MASKD_ECONFLICT : rc;
}

/* ---------------------------------------------------------------- sessions */

static int row_exists(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2)
{
	sqlite3_stmt *st = stmt(c, id);
	bind_text(st, 1, a1);
	bind_text(st, 2, a2);
	int rc = sqlite3_step(st);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(c, "exists");
}

/* Chooses and binds a proxy number for participant i of s (inside a transaction). */
static int bind_participant(struct store_sqlite *s, struct sqlite_conn *c, struct session *ses, int i,
			    unsigned need)
{
	struct participant *p = &ses->participants[i];
	char bidx[VAULT_BIDX_LEN + 1];
	vault_blind_index(s->vault, p->number, bidx);
	if (p->proxy_e164[0] != '\0') {
		struct number n;
		int rc = number_by(c, SQL_NUMBER_NAMED, ses->service_id, p->proxy_e164, &n);
		if (rc < 0)
			return rc;
		if (!pool_named_usable(n.state, n.caps, need, 0, 0))
			return MASKD_ENOTFOUND;
		rc = row_exists(c, SQL_BINDING_HELD, bidx, n.id);
		if (rc != 0)
			return rc < 0 ? rc : MASKD_ECONFLICT;
		snprintf(p->proxy_number_id, sizeof(p->proxy_number_id), "%s", n.id);
	} else {
		struct pool_candidate cand[POOL_CANDIDATES];
		char ids[POOL_CANDIDATES][ID_MAX];
		char e164[POOL_CANDIDATES][PHONE_E164_MAX + 1];
		sqlite3_stmt *st = stmt(c, SQL_POOL_CANDIDATES);
		bind_text(st, 1, ses->service_id);
		sqlite3_bind_int(st, 2, (int)need);
		bind_text(st, 3, bidx);
		sqlite3_bind_int(st, 4, POOL_CANDIDATES);
		int n = 0, rc;
		while (n < POOL_CANDIDATES && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			col_text(st, 0, ids[n], ID_MAX);
			col_text(st, 1, e164[n], sizeof(e164[n]));
			cand[n].number_id = ids[n];
			cand[n].state = sqlite3_column_int(st, 2);
			cand[n].caps = (unsigned)sqlite3_column_int(st, 3);
			cand[n].in_use = sqlite3_column_int64(st, 4);
			cand[n].created_at = sqlite3_column_int64(st, 5);
			cand[n].held = 0;
			n++;
		}
		stmt_done(st);
		int pick = pool_pick_for(cand, (size_t)n, need, 0, NULL);
		if (pick < 0)
			return MASKD_EEXHAUSTED;
		snprintf(p->proxy_number_id, sizeof(p->proxy_number_id), "%s", ids[pick]);
		snprintf(p->proxy_e164, sizeof(p->proxy_e164), "%s", e164[pick]);
	}
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = vault_seal(s->vault, p->number, p->id, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_PARTICIPANT_INSERT);
	bind_text(st, 1, p->id);
	bind_text(st, 2, ses->id);
	sqlite3_bind_int(st, 3, i);
	bind_text(st, 4, p->label);
	bind_text(st, 5, p->masked);
	sqlite3_bind_blob(st, 6, sealed, (int)sealed_len, SQLITE_STATIC);
	bind_text(st, 7, bidx);
	bind_text(st, 8, p->proxy_number_id);
	bind_text(st, 9, p->proxy_e164);
	bind_text(st, 10, p->country);
	rc = exec_stmt(c, st, "participant_insert");
	if (rc < 0)
		return rc;
	/* in_use counts sessions: both participants on one number is one session */
	for (int j = 0; j < i; j++)
		if (strcmp(ses->participants[j].proxy_number_id, p->proxy_number_id) == 0)
			return 0;
	st = stmt(c, SQL_NUMBER_INC);
	bind_text(st, 1, p->proxy_number_id);
	return exec_stmt(c, st, "number_inc");
}

static int sq_session_create(void *b, struct session *ses, const struct create_rules *rules, int64_t now,
			     struct create_outcome *outcome)
{
	(void)rules;
	int *failed_index = &outcome->failed_index;
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	*failed_index = -1;
	unsigned need = pool_caps_for_mode(ses->mode);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	if (ses->unique_name[0] != '\0') {
		rc = row_exists(c, SQL_UNIQUE_NAME_TAKEN, ses->service_id, ses->unique_name);
		if (rc != 0) {
			rc = rc < 0 ? rc : MASKD_ECONFLICT;
			goto fail;
		}
	}
	ses->status = SESSION_OPEN;
	ses->created_at = ses->updated_at = ses->last_activity_at = now;
	ses->closed_at = 0;
	int64_t deadline = session_deadline(ses->expires_at, ses->ttl, now);
	sqlite3_stmt *st = stmt(c, SQL_SESSION_INSERT);
	bind_text(st, 1, ses->id);
	bind_text(st, 2, ses->service_id);
	bind_text(st, 3, ses->unique_name[0] ? ses->unique_name : NULL);
	sqlite3_bind_int(st, 4, ses->mode);
	sqlite3_bind_int64(st, 5, ses->ttl);
	sqlite3_bind_int64(st, 6, ses->expires_at);
	sqlite3_bind_int64(st, 7, now);
	if (deadline > 0)
		sqlite3_bind_int64(st, 8, deadline);
	else
		sqlite3_bind_null(st, 8);
	bind_policy(st, 9, &ses->policy);
	rc = exec_stmt(c, st, "session_insert");
	if (rc < 0)
		goto fail;
	for (int i = 0; i < ses->n_participants; i++) {
		rc = bind_participant(s, c, ses, i, need);
		if (rc < 0) {
			*failed_index = i;
			goto fail;
		}
	}
	rc = tx_commit(c);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	tx_rollback(c);
	return rc;
}

static void read_session(sqlite3_stmt *st, struct session *s)
{
	memset(s, 0, sizeof(*s));
	col_text(st, 0, s->id, sizeof(s->id));
	col_text(st, 1, s->service_id, sizeof(s->service_id));
	col_text(st, 2, s->unique_name, sizeof(s->unique_name));
	s->mode = sqlite3_column_int(st, 3);
	s->status = sqlite3_column_int(st, 4);
	s->ttl = sqlite3_column_int64(st, 5);
	s->expires_at = sqlite3_column_int64(st, 6);
	s->created_at = sqlite3_column_int64(st, 7);
	s->updated_at = sqlite3_column_int64(st, 8);
	s->last_activity_at = sqlite3_column_int64(st, 9);
	s->closed_at = sqlite3_column_int64(st, 10);
	read_policy(st, 11, &s->policy);
}

static int read_participants(struct sqlite_conn *c, struct session *s)
{
	sqlite3_stmt *st = stmt(c, SQL_PARTICIPANTS_OF);
	bind_text(st, 1, s->id);
	int rc;
	s->n_participants = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && s->n_participants < SESSION_PARTICIPANTS) {
		struct participant *p = &s->participants[s->n_participants++];
		col_text(st, 0, p->id, sizeof(p->id));
		col_text(st, 1, p->label, sizeof(p->label));
		col_text(st, 2, p->masked, sizeof(p->masked));
		col_text(st, 3, p->proxy_number_id, sizeof(p->proxy_number_id));
		col_text(st, 4, p->proxy_e164, sizeof(p->proxy_e164));
		col_text(st, 5, p->country, sizeof(p->country));
		p->number[0] = '\0';
	}
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, "participants_of");
}

static int sq_session_get(void *b, const char *id, struct session *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_SESSION_GET);
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_session(st, out);
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return db_fail(c, "session_get");
	return read_participants(c, out);
}

static int sq_session_list(void *b, const char *service_id, const struct session_filter *f,
			   void (*cb)(void *, const struct session *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_SESSION_LIST);
	bind_text(st, 1, service_id);
	sqlite3_bind_int(st, 2, f->status);
	bind_text(st, 3, f->unique_name);
	bind_text(st, 4, f->after_id);
	sqlite3_bind_int(st, 5, f->limit);
	/* Rows are collected first: reading participants reuses this connection. */
	int cap = f->limit > 0 ? f->limit : 1, n = 0, rc;
	struct session *rows = xcalloc((size_t)cap, sizeof(*rows));
	while (n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW)
		read_session(st, &rows[n++]);
	stmt_done(st);
	int err = 0;
	for (int i = 0; i < n && err == 0; i++) {
		err = read_participants(c, &rows[i]);
		if (err == 0)
			cb(ctx, &rows[i]);
	}
	free(rows);
	return err;
}

/* Closes one session and releases its bindings (inside a transaction). Returns 1
 * when this call closed it, 0 when it was already closed. */
static int close_in_tx(struct sqlite_conn *c, const char *id, int64_t now)
{
	sqlite3_stmt *st = stmt(c, SQL_SESSION_CLOSE);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	int rc = exec_stmt(c, st, "session_close");
	if (rc < 0)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return 0;
	char nums[SESSION_PARTICIPANTS][ID_MAX];
	int n = 0;
	st = stmt(c, SQL_BINDINGS_OF);
	bind_text(st, 1, id);
	while (n < SESSION_PARTICIPANTS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_text(st, 0, nums[n], ID_MAX);
		int dup = 0;
		for (int j = 0; j < n; j++)
			dup |= strcmp(nums[j], nums[n]) == 0;
		n += !dup; /* one session on one number counts once */
	}
	stmt_done(st);
	for (int i = 0; i < n; i++) {
		st = stmt(c, SQL_NUMBER_DEC);
		bind_text(st, 1, nums[i]);
		rc = exec_stmt(c, st, "number_dec");
		if (rc < 0)
			return rc;
	}
	st = stmt(c, SQL_BINDINGS_RELEASE);
	bind_text(st, 1, id);
	rc = exec_stmt(c, st, "bindings_release");
	return rc < 0 ? rc : 1;
}

static int sq_session_close(void *b, const char *id, int status, int64_t now)
{
	(void)status;
	CONN_OR_FAIL(b, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	rc = close_in_tx(c, id, now);
	if (rc == 0) {
		struct session tmp;
		sqlite3_stmt *st = stmt(c, SQL_SESSION_GET);
		bind_text(st, 1, id);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			read_session(st, &tmp);
		stmt_done(st);
		if (step != SQLITE_ROW)
			rc = MASKD_ENOTFOUND;
	}
	if (rc >= 0)
		rc = tx_commit(c);
	if (rc < 0)
		tx_rollback(c);
	return rc < 0 ? rc : 0;
}

static int sq_session_update(void *b, const char *id, const int64_t *ttl, const int64_t *expires_at, int64_t now)
{
	CONN_OR_FAIL(b, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_SESSION_TIMES);
	bind_text(st, 1, id);
	int step = sqlite3_step(st);
	int64_t cur_ttl = 0, cur_exp = 0, last = 0;
	if (step == SQLITE_ROW) {
		cur_ttl = sqlite3_column_int64(st, 1);
		cur_exp = sqlite3_column_int64(st, 2);
		last = sqlite3_column_int64(st, 3);
	}
	stmt_done(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? MASKD_ENOTFOUND : db_fail(c, "session_times");
		goto done;
	}
	if (ttl != NULL)
		cur_ttl = *ttl;
	if (expires_at != NULL)
		cur_exp = *expires_at;
	int64_t deadline = session_deadline(cur_exp, cur_ttl, last);
	st = stmt(c, SQL_SESSION_SET_TIMES);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, cur_ttl);
	sqlite3_bind_int64(st, 3, cur_exp);
	if (deadline > 0)
		sqlite3_bind_int64(st, 4, deadline);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, now);
	rc = exec_stmt(c, st, "session_set_times");
	if (rc == 0)
		rc = tx_commit(c);
done:
	if (rc < 0)
		tx_rollback(c);
	return rc;
}

static int sq_sessions_expire(void *b, int64_t now, int limit, int *closed)
{
	CONN_OR_FAIL(b, c);
	*closed = 0;
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	char(*ids)[ID_MAX] = xcalloc((size_t)limit, ID_MAX);
	int n = 0, step;
	sqlite3_stmt *st = stmt(c, SQL_EXPIRE_DUE);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	while (n < limit && (step = sqlite3_step(st)) == SQLITE_ROW)
		col_text(st, 0, ids[n++], ID_MAX);
	stmt_done(st);
	for (int i = 0; i < n && rc >= 0; i++) {
		rc = close_in_tx(c, ids[i], now);
		if (rc > 0) {
			(*closed)++;
			log_info("session %s closed: expired", ids[i]);
		}
	}
	free(ids);
	if (rc >= 0)
		rc = tx_commit(c);
	if (rc < 0) {
		tx_rollback(c);
		*closed = 0;
		return rc;
	}
	return 0;
}

/* ---------------------------------------------------------------- webhooks */

static int sq_route_lookup(void *b, const char *to_e164, const char *from_e164, struct route_view *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	memset(out, 0, sizeof(*out));
	char bidx[VAULT_BIDX_LEN + 1];
	vault_blind_index(s->vault, from_e164, bidx);
	sqlite3_stmt *st = stmt(c, SQL_ROUTE_LOOKUP);
	bind_text(st, 1, to_e164);
	bind_text(st, 2, bidx);
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW) {
		read_number(st, 0, &out->number);
		if (sqlite3_column_type(st, 10) != SQLITE_NULL) {
			col_text(st, 10, out->session_id, sizeof(out->session_id));
			out->session_status = sqlite3_column_int(st, 11);
			out->session_mode = sqlite3_column_int(st, 12);
			out->session_ttl = sqlite3_column_int64(st, 13);
			out->session_expires_at = sqlite3_column_int64(st, 14);
			out->session_last_activity_at = sqlite3_column_int64(st, 15);
			col_text(st, 16, out->from_participant, sizeof(out->from_participant));
			col_text(st, 17, out->to_participant, sizeof(out->to_participant));
			col_text(st, 19, out->to_proxy_e164, sizeof(out->to_proxy_e164));
			col_text(st, 20, out->to_country, sizeof(out->to_country));
			read_policy(st, 21, &out->session_policy);
			if (sqlite3_column_type(st, 18) != SQLITE_NULL &&
			    vault_unseal(s->vault, sqlite3_column_blob(st, 18), (size_t)sqlite3_column_bytes(st, 18),
					 out->to_participant, out->to_number, sizeof(out->to_number)) < 0) {
				log_error("store: participant %s: sealed number does not open", out->to_participant);
				err = MASKD_ECRYPTO;
			}
		}
	}
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return 0; /* number.id "" tells the caller */
	if (rc != SQLITE_ROW)
		return db_fail(c, "route_lookup");
	return err;
}

static void read_interaction(sqlite3_stmt *st, struct interaction *it)
{
	memset(it, 0, sizeof(*it));
	col_text(st, 0, it->id, sizeof(it->id));
	col_text(st, 1, it->session_id, sizeof(it->session_id));
	col_text(st, 2, it->service_id, sizeof(it->service_id));
	it->channel = sqlite3_column_int(st, 3);
	it->carrier = sqlite3_column_int(st, 4);
	col_text(st, 5, it->carrier_sid, sizeof(it->carrier_sid));
	it->decision = sqlite3_column_int(st, 6);
	col_text(st, 7, it->from_participant, sizeof(it->from_participant));
	col_text(st, 8, it->to_participant, sizeof(it->to_participant));
	it->created_at = sqlite3_column_int64(st, 9);
}

static const char *nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s, const char *when_absent)
{
	s = nonempty(s);
	if (s != NULL)
		bind_text(st, i, s);
	else if (when_absent != NULL)
		bind_text(st, i, when_absent);
	else
		sqlite3_bind_null(st, i);
}

static int insert_leg(struct sqlite_conn *c, const char *interaction_id, char leg, const char *carrier_sid,
		      const struct leg_update *u, int64_t now, int64_t ended_at)
{
	char id[ID_MAX];
	char legname[2] = {leg, '\0'};
	id_new("leg", id);
	sqlite3_stmt *st = stmt(c, SQL_LEG_INSERT);
	bind_text(st, 1, id);
	bind_text(st, 2, interaction_id);
	bind_text(st, 3, legname);
	bind_text(st, 4, carrier_sid);
	bind_opt_text(st, 5, u->status, "unknown");
	sqlite3_bind_int64(st, 6, u->duration);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, ended_at);
	sqlite3_bind_int64(st, 9, u->answered ? now : 0);
	bind_opt_text(st, 10, u->recording_id, "");
	bind_opt_text(st, 11, u->recording_url, "");
	bind_opt_text(st, 12, u->cost, "");
	bind_opt_text(st, 13, u->currency, "");
	int rc = exec_stmt(c, st, "leg_insert");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return MASKD_ENOTFOUND; /* no such interaction (or its participant) */
	return rc;
}

static int sq_interaction_record(void *b, struct interaction *it, int *existed)
{
	CONN_OR_FAIL(b, c);
	*existed = 0;
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_INTERACTION_INSERT);
	bind_text(st, 1, it->id);
	bind_text(st, 2, it->session_id);
	bind_text(st, 3, it->service_id);
	sqlite3_bind_int(st, 4, it->channel);
	sqlite3_bind_int(st, 5, it->carrier);
	bind_text(st, 6, it->carrier_sid);
	sqlite3_bind_int(st, 7, it->decision);
	bind_text(st, 8, it->from_participant);
	bind_text(st, 9, it->to_participant);
	sqlite3_bind_int64(st, 10, it->created_at);
	rc = exec_stmt(c, st, "interaction_insert");
	if (rc < 0)
		goto fail;
	if (sqlite3_changes(c->db) == 0) {
		/* A retried webhook: answer it the way the first one was answered. */
		tx_rollback(c);
		st = stmt(c, SQL_INTERACTION_BY_SID);
		sqlite3_bind_int(st, 1, it->carrier);
		bind_text(st, 2, it->carrier_sid);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			read_interaction(st, it);
		stmt_done(st);
		if (step != SQLITE_ROW)
			return db_fail(c, "interaction_by_sid");
		*existed = 1;
		return 0;
	}
	struct leg_update received = {.status = "received", .duration = -1};
	rc = insert_leg(c, it->id, 'a', it->carrier_sid, &received, it->created_at, 0);
	if (rc < 0)
		goto fail;
	st = stmt(c, SQL_SESSION_TIMES);
	bind_text(st, 1, it->session_id);
	int step = sqlite3_step(st);
	int status = 0;
	int64_t ttl = 0, exp = 0;
	if (step == SQLITE_ROW) {
		status = sqlite3_column_int(st, 0);
		ttl = sqlite3_column_int64(st, 1);
		exp = sqlite3_column_int64(st, 2);
	}
	stmt_done(st);
	if (step == SQLITE_ROW && status < SESSION_CLOSED &&
	    (it->decision == DECISION_BRIDGE || it->decision == DECISION_FORWARD_MESSAGE)) {
		int64_t deadline = session_deadline(exp, ttl, it->created_at);
		st = stmt(c, SQL_SESSION_TOUCH);
		bind_text(st, 1, it->session_id);
		sqlite3_bind_int(st, 2, SESSION_IN_PROGRESS);
		sqlite3_bind_int64(st, 3, it->created_at);
		if (deadline > 0)
			sqlite3_bind_int64(st, 4, deadline);
		else
			sqlite3_bind_null(st, 4);
		rc = exec_stmt(c, st, "session_touch");
		if (rc < 0)
			goto fail;
	}
	rc = tx_commit(c);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	tx_rollback(c);
	return rc;
}

static void read_leg(sqlite3_stmt *st, int col, struct leg *l)
{
	memset(l, 0, sizeof(*l));
	col_text(st, col, l->id, sizeof(l->id));
	const unsigned char *leg = sqlite3_column_text(st, col + 1);
	l->leg = leg ? (char)leg[0] : '?';
	col_text(st, col + 2, l->carrier_sid, sizeof(l->carrier_sid));
	col_text(st, col + 3, l->status, sizeof(l->status));
	l->duration = sqlite3_column_int64(st, col + 4);
	l->started_at = sqlite3_column_int64(st, col + 5);
	l->answered_at = sqlite3_column_int64(st, col + 6);
	l->ended_at = sqlite3_column_int64(st, col + 7);
	col_text(st, col + 8, l->proxy_number, sizeof(l->proxy_number));
	col_text(st, col + 9, l->other_country, sizeof(l->other_country));
	col_text(st, col + 10, l->recording_id, sizeof(l->recording_id));
	col_text(st, col + 11, l->recording_url, sizeof(l->recording_url));
	col_text(st, col + 12, l->cost, sizeof(l->cost));
	col_text(st, col + 13, l->currency, sizeof(l->currency));
}

static int read_legs(struct sqlite_conn *c, struct interaction *it)
{
	sqlite3_stmt *st = stmt(c, SQL_LEGS_OF);
	bind_text(st, 1, it->id);
	int rc;
	it->n_legs = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && it->n_legs < INTERACTION_LEGS_MAX) {
		read_leg(st, 0, &it->legs[it->n_legs++]);
	}
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, "legs_of");
}

/* Steps st (bound by the caller) for one interaction and reads its legs. */
static int interaction_one(struct sqlite_conn *c, sqlite3_stmt *st, const char *what, struct interaction *out)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_interaction(st, out);
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return db_fail(c, what);
	return read_legs(c, out);
}

static int sq_interaction_get(void *b, const char *id, struct interaction *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_INTERACTION_GET);
	bind_text(st, 1, id);
	return interaction_one(c, st, "interaction_get", out);
}

static int sq_interaction_by_sid(void *b, int carrier, const char *carrier_sid, struct interaction *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_INTERACTION_BY_SID);
	sqlite3_bind_int(st, 1, carrier);
	bind_text(st, 2, carrier_sid);
	return interaction_one(c, st, "interaction_by_sid", out);
}

static int sq_interaction_list(void *b, const char *session_id, void (*cb)(void *, const struct interaction *),
			       void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_INTERACTION_LIST);
	bind_text(st, 1, session_id);
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
	stmt_done(st);
	int err = rc == SQLITE_DONE ? 0 : db_fail(c, "interaction_list");
	for (size_t i = 0; i < n && err == 0; i++) {
		err = read_legs(c, &rows[i]);
		if (err == 0)
			cb(ctx, &rows[i]);
	}
	free(rows);
	return err;
}

static int sq_leg_update(void *b, const char *interaction_id, char leg, const char *carrier_sid,
			 const struct leg_update *u, int64_t now)
{
	CONN_OR_FAIL(b, c);
	char legname[2] = {leg, '\0'};
	int64_t ended = leg_status_final(u->status) ? now : 0;
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_LEG_FIND);
	bind_text(st, 1, interaction_id);
	bind_text(st, 2, legname);
	bind_text(st, 3, carrier_sid);
	char id[ID_MAX] = "";
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		col_text(st, 0, id, sizeof(id));
	stmt_done(st);
	if (step == SQLITE_ROW) {
		st = stmt(c, SQL_LEG_SET);
		bind_text(st, 1, id);
		bind_opt_text(st, 2, u->status, NULL);
		sqlite3_bind_int64(st, 3, u->duration);
		sqlite3_bind_int64(st, 4, u->answered ? now : 0);
		sqlite3_bind_int64(st, 5, ended);
		bind_opt_text(st, 6, u->recording_id, NULL);
		bind_opt_text(st, 7, u->recording_url, NULL);
		bind_opt_text(st, 8, u->cost, NULL);
		bind_opt_text(st, 9, u->currency, NULL);
		rc = exec_stmt(c, st, "leg_set");
	} else if (step == SQLITE_DONE) {
		rc = insert_leg(c, interaction_id, leg, carrier_sid, u, now, ended);
	} else {
		rc = db_fail(c, "leg_find");
	}
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0)
		tx_rollback(c);
	return rc;
}

static int sq_participant_number(void *b, const char *participant_id, char *out, size_t cap)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	sqlite3_stmt *st = stmt(c, SQL_PARTICIPANT_NUMBER);
	bind_text(st, 1, participant_id);
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW)
		err = vault_unseal(s->vault, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
				   participant_id, out, cap);
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return db_fail(c, "participant_number");
	return err;
}

static int sq_stats(void *b, struct store_stats *out)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_STATS);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->services = sqlite3_column_int64(st, 0);
		out->numbers = sqlite3_column_int64(st, 1);
		out->sessions_open = sqlite3_column_int64(st, 2);
		out->bindings_active = sqlite3_column_int64(st, 3);
		out->interactions = sqlite3_column_int64(st, 4);
	}
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : db_fail(c, "stats");
}

static int sq_records(void *b, const char *service_id, int64_t from, int64_t to,
		      int (*cb)(void *, const struct interaction *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_RECORDS);
	bind_text(st, 1, service_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	struct interaction *it = xmalloc(sizeof(*it));
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_interaction(st, it);
		it->n_legs = 1;
		read_leg(st, 10, &it->legs[0]);
		if (cb(ctx, it) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	free(it);
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(c, "records");
}

static int sq_usage(void *b, const char *service_id, int64_t from, int64_t to,
		    void (*cb)(void *, const struct usage_day *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_USAGE);
	bind_text(st, 1, service_id);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct usage_day u = {
			.day = sqlite3_column_int64(st, 0),
			.calls = sqlite3_column_int64(st, 1),
			.messages = sqlite3_column_int64(st, 2),
			.billable_seconds = sqlite3_column_int64(st, 3),
		};
		cb(ctx, &u);
	}
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(c, "usage");
}

/* ---------------------------------------------------------------- issue 4 (in progress) */

static int sq_session_reopen(void *b, const char *id, const int64_t *expires_at, int64_t now, int *failed_index)
{ (void)b; (void)id; (void)expires_at; (void)now; *failed_index = -1; return MASKD_EINVAL; }
static int sq_participant_add(void *b, const char *session_id, struct participant *p, const struct create_rules *rules,
			       int64_t now, struct create_outcome *out)
{ (void)b; (void)session_id; (void)p; (void)rules; (void)now; out->failed_index = -1; return MASKD_EINVAL; }
static int sq_participant_swap(void *b, const char *session_id, const char *participant_id, struct participant *p,
				const struct create_rules *rules, int64_t now)
{ (void)b; (void)session_id; (void)participant_id; (void)p; (void)rules; (void)now; return MASKD_EINVAL; }
static int sq_bindings_release(void *b, int64_t now, int limit, int *released)
{ (void)b; (void)now; (void)limit; *released = 0; return 0; }
static int sq_session_events(void *b, const char *session_id, void (*cb)(void *, const struct session_event *), void *ctx)
{ (void)b; (void)session_id; (void)cb; (void)ctx; return 0; }
static int sq_pin_lookup(void *b, const char *service_id, const char *pin, const char *from_e164, struct route_view *out)
{ (void)b; (void)service_id; (void)pin; (void)from_e164; (void)out; return MASKD_ENOTFOUND; }
static int sq_optout_set(void *b, const char *service_id, const char *from_e164, const char *number_id, int opted_out, int64_t now)
{ (void)b; (void)service_id; (void)from_e164; (void)number_id; (void)opted_out; (void)now; return 0; }
static int sq_pool_stats(void *b, const char *service_id, struct pool_stats *out)
{ (void)b; (void)service_id; memset(out, 0, sizeof(*out)); return 0; }

/* ---------------------------------------------------------------- locking */

/* Every op but close runs under db_lock (see struct store_sqlite). */
#define SQ_LOCKED(fn, params, args)                               \
	static int locked_##fn params                             \
	{                                                         \
		struct store_sqlite *s_ = b;                      \
		pthread_mutex_lock(&s_->db_lock);                 \
		int rc_ = fn args;                                \
		pthread_mutex_unlock(&s_->db_lock);               \
		return rc_;                                       \
	}

SQ_LOCKED(sq_ping, (void *b), (b))
SQ_LOCKED(sq_setting_get, (void *b, const char *key, char *out, size_t cap), (b, key, out, cap))
SQ_LOCKED(sq_setting_put, (void *b, const char *key, const char *value), (b, key, value))
SQ_LOCKED(sq_setting_add, (void *b, const char *key, const char *value), (b, key, value))
SQ_LOCKED(sq_service_insert, (void *b, const struct service *svc), (b, svc))
SQ_LOCKED(sq_service_get, (void *b, const char *id, struct service *out), (b, id, out))
SQ_LOCKED(sq_service_list, (void *b, void (*cb)(void *, const struct service *), void *ctx), (b, cb, ctx))
SQ_LOCKED(sq_number_insert, (void *b, const struct number *n), (b, n))
SQ_LOCKED(sq_number_get, (void *b, const char *id, struct number *out), (b, id, out))
SQ_LOCKED(sq_number_list, (void *b, const char *service_id, void (*cb)(void *, const struct number *), void *ctx), (b, service_id, cb, ctx))
SQ_LOCKED(sq_number_set_state, (void *b, const char *id, int state), (b, id, state))
SQ_LOCKED(sq_number_delete, (void *b, const char *id), (b, id))
SQ_LOCKED(sq_session_create, (void *b, struct session *ses, const struct create_rules *rules, int64_t now, struct create_outcome *o), (b, ses, rules, now, o))
SQ_LOCKED(sq_session_get, (void *b, const char *id, struct session *out), (b, id, out))
SQ_LOCKED(sq_session_list, (void *b, const char *service_id, const struct session_filter *f, void (*cb)(void *, const struct session *), void *ctx), (b, service_id, f, cb, ctx))
SQ_LOCKED(sq_session_close, (void *b, const char *id, int status, int64_t now), (b, id, status, now))
SQ_LOCKED(sq_session_update, (void *b, const char *id, const int64_t *ttl, const int64_t *expires_at, int64_t now), (b, id, ttl, expires_at, now))
SQ_LOCKED(sq_sessions_expire, (void *b, int64_t now, int limit, int *closed), (b, now, limit, closed))
SQ_LOCKED(sq_route_lookup, (void *b, const char *to_e164, const char *from_e164, struct route_view *out), (b, to_e164, from_e164, out))
SQ_LOCKED(sq_interaction_record, (void *b, struct interaction *it, int *existed), (b, it, existed))
SQ_LOCKED(sq_interaction_get, (void *b, const char *id, struct interaction *out), (b, id, out))
SQ_LOCKED(sq_interaction_by_sid, (void *b, int carrier, const char *carrier_sid, struct interaction *out), (b, carrier, carrier_sid, out))
SQ_LOCKED(sq_interaction_list, (void *b, const char *session_id, void (*cb)(void *, const struct interaction *), void *ctx), (b, session_id, cb, ctx))
SQ_LOCKED(sq_leg_update, (void *b, const char *interaction_id, char leg, const char *carrier_sid, const struct leg_update *u, int64_t now), (b, interaction_id, leg, carrier_sid, u, now))
SQ_LOCKED(sq_participant_number, (void *b, const char *participant_id, char *out, size_t cap), (b, participant_id, out, cap))
SQ_LOCKED(sq_stats, (void *b, struct store_stats *out), (b, out))
SQ_LOCKED(sq_records, (void *b, const char *service_id, int64_t from, int64_t to, int (*cb)(void *, const struct interaction *), void *ctx), (b, service_id, from, to, cb, ctx))
SQ_LOCKED(sq_usage, (void *b, const char *service_id, int64_t from, int64_t to, void (*cb)(void *, const struct usage_day *), void *ctx), (b, service_id, from, to, cb, ctx))

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.ping = locked_sq_ping,
	.setting_get = locked_sq_setting_get,
	.setting_put = locked_sq_setting_put,
	.setting_add = locked_sq_setting_add,
	.service_insert = locked_sq_service_insert,
	.service_get = locked_sq_service_get,
	.service_list = locked_sq_service_list,
	.number_insert = locked_sq_number_insert,
	.number_get = locked_sq_number_get,
	.number_list = locked_sq_number_list,
	.number_set_state = locked_sq_number_set_state,
	.number_delete = locked_sq_number_delete,
	.session_create = locked_sq_session_create,
	.session_get = locked_sq_session_get,
	.session_list = locked_sq_session_list,
	.session_close = locked_sq_session_close,
	.session_update = locked_sq_session_update,
	.sessions_expire = locked_sq_sessions_expire,
	.route_lookup = locked_sq_route_lookup,
	.interaction_record = locked_sq_interaction_record,
	.interaction_get = locked_sq_interaction_get,
	.interaction_by_sid = locked_sq_interaction_by_sid,
	.interaction_list = locked_sq_interaction_list,
	.leg_update = locked_sq_leg_update,
	.participant_number = locked_sq_participant_number,
	.stats = locked_sq_stats,
	.records = locked_sq_records,
	.usage = locked_sq_usage,
	.session_reopen = sq_session_reopen,
	.participant_add = sq_participant_add,
	.participant_swap = sq_participant_swap,
	.bindings_release = sq_bindings_release,
	.session_events = sq_session_events,
	.pin_lookup = sq_pin_lookup,
	.optout_set = sq_optout_set,
	.pool_stats = sq_pool_stats,
};
