/* SPDX-License-Identifier: MIT */
/* conn.c - the SQLite backend's connection (WAL, the checkpointer thread), prepared
 * statements, transactions (sq_tx_run), open/close with migrations, and settings. */
#include "sqlite_internal.h"

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
			sq_db_lock(s);
			rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
			sq_db_unlock(s);
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

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SQLite's busy handler on the store's connection (called under db_lock): waits for
 * another process's write lock at most SQLITE_BUSY_WAIT_MS per episode; an episode
 * lasts while busy calls come within that window of each other, and ends when a
 * write lock is taken (sq_tx_begin). 0 makes the statement fail with SQLITE_BUSY. */
static int busy_wait(void *arg, int count)
{
	struct sqlite_conn *c = arg;
	int64_t now = mono_ms();
	if (count == 0 && (c->busy_since_ms == 0 || now - c->busy_last_ms > SQLITE_BUSY_WAIT_MS))
		c->busy_since_ms = now;
	c->busy_last_ms = now;
	if (now - c->busy_since_ms >= SQLITE_BUSY_WAIT_MS)
		return 0;
	struct timespec pause = {0, 2 * 1000 * 1000};
	nanosleep(&pause, NULL);
	return 1;
}

struct sqlite_conn *sq_conn_get(struct store_sqlite *s)
{
	assert(s != NULL && sq_db_held(s)); /* opened and used under db_lock only */
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
	sqlite3_busy_handler(db, busy_wait, c); /* replaces conn_open's busy timeout */
	sqlite3_wal_hook(db, wal_hook, s); /* replaces SQLite's inline auto-checkpoint */
	s->conn = c;
	return c;
}

/* The text of statement id as SQLite takes it: a shared text's $n become ?n
 * (sql_shared.h); cap is at least the text's length + 1. */
static const char *sqlite_text(enum sql_id id, char *buf, size_t cap)
{
	const char *t = sq_sql_text[id];
	if (strchr(t, '$') == NULL)
		return t;
	size_t n = strlen(t);
	if (n >= cap)
		fatal("store: statement %d is longer than its conversion buffer", (int)id);
	for (size_t i = 0; i <= n; i++)
		buf[i] = t[i] == '$' && i + 1 < n && t[i + 1] >= '0' && t[i + 1] <= '9' ? '?' : t[i];
	return buf;
}

sqlite3_stmt *sq_stmt(struct sqlite_conn *c, enum sql_id id)
{
	if (c->stmt[id] == NULL) {
		char buf[4096];
		int rc = sqlite3_prepare_v3(c->db, sqlite_text(id, buf, sizeof(buf)), -1, SQLITE_PREPARE_PERSISTENT,
					    &c->stmt[id], NULL);
		if (rc != SQLITE_OK)
			fatal("store: cannot prepare statement %d: %s", (int)id, sqlite3_errmsg(c->db));
	}
	return c->stmt[id];
}

void sq_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

void sq_bind_values(sqlite3_stmt *st, const struct sq_value *v, int n)
{
	assert(st != NULL && v != NULL && n >= 0);
	for (int k = 0; k < n; k++) {
		if (v[k].kind == SQ_V_TEXT)
			sq_bind_text(st, k + 1, v[k].text);
		else if (v[k].kind == SQ_V_INT || v[k].i > 0)
			sqlite3_bind_int64(st, k + 1, v[k].i);
		else
			sqlite3_bind_null(st, k + 1);
	}
}

void sq_col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int sq_step_text(sqlite3_stmt *st, char *out, size_t cap)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		sq_col_text(st, 0, out, cap);
	sq_stmt_done(st);
	return rc;
}

int sq_exec_text2(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2, const char *what)
{
	sqlite3_stmt *st = sq_stmt(c, id);
	sq_bind_text(st, 1, a1);
	sq_bind_text(st, 2, a2);
	return sq_exec_stmt(c, st, what);
}

int sq_bind_sealed(sqlite3_stmt *st, int i, const struct vault *v, const char *plain, const char *ad)
{
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = vault_seal(v, plain, ad, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	sqlite3_bind_blob(st, i, sealed, (int)sealed_len, SQLITE_TRANSIENT);
	return 0;
}

int sq_db_fail(struct sqlite_conn *c, const char *what)
{
	log_error("store: %s: %s", what, sqlite3_errmsg(c->db));
	return MASKD_EDB;
}

int sq_exec_stmt(struct sqlite_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sq_stmt_done(st);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_CONSTRAINT)
			return MASKD_ECONFLICT;
		return sq_db_fail(c, what);
	}
	return 0;
}

int sq_tx_begin(struct sqlite_conn *c)
{
	assert(sqlite3_get_autocommit(c->db)); /* no transaction left open */
	int rc = sq_exec_stmt(c, sq_stmt(c, SQL_BEGIN), "begin");
	if (rc == 0)
		c->busy_since_ms = 0; /* BEGIN IMMEDIATE took the write lock: not busy */
	return rc;
}

int sq_tx_commit(struct sqlite_conn *c)
{
	return sq_exec_stmt(c, sq_stmt(c, SQL_COMMIT), "commit");
}

void sq_tx_rollback(struct sqlite_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		sq_exec_stmt(c, sq_stmt(c, SQL_ROLLBACK), "rollback");
}

/* The connection of a transaction's primitive (the body runs under db_lock). */

int sq_tx_run(void *b, int (*body)(struct store_tx *tx, void *ctx), void *ctx)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	int rc = MASKD_ERETRY;
	for (int attempt = 0; attempt < STORE_TX_ATTEMPTS && rc == MASKD_ERETRY; attempt++) {
		rc = sq_tx_begin(c);
		if (rc < 0)
			return rc;
		struct store_tx tx = {.ops = &store_sqlite_ops, .b = s, .conn = c};
		rc = body(&tx, ctx);
		assert(rc <= 0); /* the contract of store_tx_run: 0 or a negative maskd_err */
		if (rc == 0)
			rc = sq_tx_commit(c);
		if (rc != 0)
			sq_tx_rollback(c);
	}
	return rc == MASKD_ERETRY ? MASKD_EDB : rc;
}

void sq_bind_policy(sqlite3_stmt *st, int first, const struct call_policy *p)
{
	sqlite3_bind_int(st, first, p->record);
	sqlite3_bind_int(st, first + 1, p->time_limit);
	sqlite3_bind_int(st, first + 2, p->ring_timeout);
	sq_bind_text(st, first + 3, p->consent_message);
}

static int cursor_null(const struct sql_cursor *c, int col)
{
	return sqlite3_column_type((sqlite3_stmt *)c->res, col) == SQLITE_NULL;
}

static int64_t cursor_i64(const struct sql_cursor *c, int col)
{
	return sqlite3_column_int64((sqlite3_stmt *)c->res, col);
}

static void cursor_text(const struct sql_cursor *c, int col, char *out, size_t cap)
{
	sq_col_text((sqlite3_stmt *)c->res, col, out, cap);
}

static int cursor_unseal(const struct sql_cursor *c, int col, const struct vault *v, const char *ad, char *out,
			 size_t cap)
{
	sqlite3_stmt *st = (sqlite3_stmt *)c->res;
	return vault_unseal(v, sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col), ad, out, cap);
}

static int cursor_empty(const struct sql_cursor *c, int col)
{
	return sqlite3_column_bytes((sqlite3_stmt *)c->res, col) == 0;
}

static const struct sql_cursor_ops cursor_ops = {cursor_null, cursor_i64, cursor_text, cursor_unseal, cursor_empty};

struct sql_cursor sq_cursor(sqlite3_stmt *st, int col)
{
	return (struct sql_cursor){.ops = &cursor_ops, .res = st, .row = 0, .col = col};
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
	pthread_mutex_init(&s->rec_lock, NULL);
	pthread_cond_init(&s->rec_done, NULL);
	if (pthread_create(&s->checkpointer, NULL, checkpointer_main, s) != 0)
		fatal("store: cannot start the checkpointer thread");
	*out = s;
	return 0;
}

void sq_close(void *b)
{
	struct store_sqlite *s = b;
	pthread_mutex_lock(&s->ckpt_lock);
	s->ckpt_stop = 1;
	pthread_cond_signal(&s->ckpt_wake);
	pthread_mutex_unlock(&s->ckpt_lock);
	pthread_join(s->checkpointer, NULL);
	pthread_cond_destroy(&s->ckpt_wake);
	pthread_mutex_destroy(&s->ckpt_lock);
	assert(s->rec_head == NULL && !s->rec_running); /* no record in flight at close */
	if (s->rec_batches > 0)
		log_info("store: %llu interaction records in %llu group commits", (unsigned long long)s->rec_records,
			 (unsigned long long)s->rec_batches);
	for (int i = 0; i < 3; i++)
		sqlite3_finalize(s->rec_sp[i]);
	pthread_cond_destroy(&s->rec_done);
	pthread_mutex_destroy(&s->rec_lock);
	if (s->conn != NULL)
		conn_free(s->conn);
	pthread_mutex_destroy(&s->db_lock);
	free(s->path);
	free(s);
}

int sq_ping(void *b)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_PING);
	int rc = sqlite3_step(st);
	sq_stmt_done(st);
	return rc == SQLITE_ROW ? 0 : sq_db_fail(c, "ping");
}

/* ---------------------------------------------------------------- settings */

int sq_setting_get(void *b, const char *key, char *out, size_t cap)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = sq_stmt(c, SQL_SETTING_GET);
	sq_bind_text(st, 1, key);
	int rc = sq_step_text(st, out, cap);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : sq_db_fail(c, "setting_get");
}

int sq_setting_put(void *b, const char *key, const char *value)
{
	CONN_OR_FAIL(b, c);
	return sq_exec_text2(c, SQL_SETTING_PUT, key, value, "setting_put");
}

int sq_setting_add(void *b, const char *key, const char *value)
{
	CONN_OR_FAIL(b, c);
	int rc = sq_exec_text2(c, SQL_SETTING_ADD, key, value, "setting_add");
	if (rc < 0)
		return rc;
	return sqlite3_changes(c->db) == 0 ? MASKD_ECONFLICT : 0;
}
