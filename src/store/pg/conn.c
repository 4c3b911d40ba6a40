/* SPDX-License-Identifier: MIT */
/* conn.c - the PostgreSQL backend's connections (one per thread, fail fast and
 * back off while the database is down), statements and their arguments,
 * transactions with retry (pg_tx_run), open/close with migrations, and settings. */
#include "pg_internal.h"

int64_t pg_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies msg (a libpq message) into out with every spelling of the password that
 * url carries replaced by "***" (what libpq itself parsed here, then userinfo and
 * password= parameters by util/redact.h), folded to one line. */
void pg_scrub_message(const char *url, const char *msg, char *out, size_t cap)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, msg ? msg : "");
	/* what libpq parsed, when it could */
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			redact_secret(&b, o->val);
	PQconninfoFree(opts);
	PQfreemem(perr);
	redact_url_password(&b, url);
	redact_one_line(&b, out, cap);
	buf_free(&b);
}

static void notice_sink(void *arg, const char *message)
{
	(void)arg;
	size_t n = strlen(message);
	while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == ' '))
		n--;
	log_debug("store: postgresql says: %.*s", (int)(n > 300 ? 300 : n), message);
}

/* A new connection with maskd's defaults, or NULL and a password-free message. */
static PGconn *pg_connect(const char *url, char *err, size_t err_len)
{
	static const char *const keys[] = {"connect_timeout", "tcp_user_timeout", "keepalives", "keepalives_idle",
					   "keepalives_interval", "keepalives_count", "application_name",
					   "dbname", NULL};
	const char *vals[] = {PG_CONNECT_TIMEOUT_S, PG_TCP_USER_TIMEOUT_MS, "1", "10", "5", "3", "maskd", url, NULL};
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	if (pg == NULL) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	if (PQstatus(pg) != CONNECTION_OK) {
		pg_scrub_message(url, PQerrorMessage(pg), err, err_len);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, notice_sink, NULL);
	PGresult *r = PQexec(pg, "SELECT set_config('statement_timeout', '" PG_STATEMENT_TIMEOUT "', false) "
				 "WHERE current_setting('statement_timeout') = '0'");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	if (!ok) {
		pg_scrub_message(url, PQerrorMessage(pg), err, err_len);
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

/* Whether an idle connection still looks usable. An idle connection has nothing
 * to read unless the server is going away (restart, termination), so anything
 * readable is taken as notice to reconnect. */
static bool conn_alive(PGconn *pg)
{
	if (PQstatus(pg) != CONNECTION_OK || PQsocket(pg) < 0)
		return false;
	struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};
	int n = poll(&pfd, 1, 0);
	if (n == 0)
		return true;
	if (n > 0)
		PQconsumeInput(pg); /* lets libpq see the termination message, for the log */
	return false;
}

static void conn_reset(struct pg_conn *c)
{
	if (c->pg != NULL)
		PQfinish(c->pg);
	c->pg = NULL;
	c->broken = false;
	memset(c->prepared, 0, sizeof(c->prepared));
}

/* Whether this thread may try to connect now: always while the database is
 * thought up; while it is down, only after the backoff and only one thread at a
 * time (*probe set). */
static bool connect_allowed(struct store_pg *s, bool *probe)
{
	bool ok = true;
	*probe = false;
	pthread_mutex_lock(&s->lock);
	if (s->down) {
		if (s->probing || pg_mono_ms() < s->retry_at_ms)
			ok = false;
		else
			s->probing = *probe = true;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static void connect_done(struct store_pg *s, bool probe, bool ok, const char *err)
{
	pthread_mutex_lock(&s->lock);
	if (probe)
		s->probing = false;
	if (ok) {
		if (s->down)
			log_info("store: PostgreSQL is reachable again");
		s->down = false;
		s->backoff_ms = 0;
	} else {
		int64_t now = pg_mono_ms();
		if (!s->down) {
			log_error("store: cannot connect to PostgreSQL (%s); answering 503 and retrying", err);
			s->down = true;
			s->backoff_ms = PG_BACKOFF_MIN_MS;
		} else if (now >= s->retry_at_ms) {
			log_debug("store: PostgreSQL still unreachable: %s", err);
			s->backoff_ms = s->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS : s->backoff_ms * 2;
		}
		s->retry_at_ms = now + s->backoff_ms;
	}
	pthread_mutex_unlock(&s->lock);
}

static void conn_register(struct store_pg *s, struct pg_conn *c)
{
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	pthread_setspecific(s->key, c);
}

static int simple(struct pg_conn *c, const char *sql);

/* The calling thread's connection, (re)connected when needed. NULL while the
 * database cannot be reached. */
struct pg_conn *pg_conn_get(struct store_pg *s)
{
	struct pg_conn *c = pthread_getspecific(s->key);
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		conn_register(s, c);
	}
	if (c->pg != NULL && !c->broken && conn_alive(c->pg)) {
		if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
			return c;
		/* An earlier call returned inside a transaction: a bug, never built on. */
		log_error("store: a transaction was left open; rolling it back");
		if (simple(c, "ROLLBACK") == 0 && PQtransactionStatus(c->pg) == PQTRANS_IDLE)
			return c;
	}
	if (c->pg != NULL)
		log_warn("store: the PostgreSQL connection was lost; reconnecting");
	conn_reset(c);
	bool probe;
	if (!connect_allowed(s, &probe))
		return NULL;
	char err[512];
	c->pg = pg_connect(s->url, err, sizeof(err));
	connect_done(s, probe, c->pg != NULL, err);
	return c->pg != NULL ? c : NULL;
}

/* The connection of a transaction's primitive. */

int pg_tx_run(void *b, int (*body)(struct store_tx *tx, void *ctx), void *ctx)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	int rc = MASKD_ERETRY;
	for (int attempt = 0; attempt < STORE_TX_ATTEMPTS && rc == MASKD_ERETRY; attempt++) {
		rc = pg_tx_begin(c);
		if (rc < 0)
			return rc;
		struct store_tx tx = {.ops = &store_pg_ops, .b = s, .conn = c};
		rc = body(&tx, ctx);
		assert(rc <= 0); /* the contract of store_tx_run: 0 or a negative maskd_err */
		if (rc == 0)
			rc = pg_tx_commit(c);
		if (rc != 0) {
			pg_tx_rollback(c);
			if (rc == MASKD_EDB && pg_retryable(c))
				rc = MASKD_ERETRY;
		}
	}
	if (rc == MASKD_ERETRY)
		log_warn("store: a transaction still lost races after %d attempts", STORE_TX_ATTEMPTS);
	return rc == MASKD_ERETRY ? MASKD_EDB : rc;
}

/* ---------------------------------------------------------------- running statements */

void pg_arg_text(struct args *a, const char *s)
{
	assert(a->n < ARGS_MAX);
	a->val[a->n] = s; /* NULL = SQL NULL */
	a->len[a->n] = 0;
	a->fmt[a->n] = 0;
	a->n++;
}

void pg_arg_i64(struct args *a, int64_t v)
{
	assert(a->n < ARGS_MAX);
	snprintf(a->num[a->n], sizeof(a->num[a->n]), "%lld", (long long)v);
	pg_arg_text(a, a->num[a->n]);
}

void pg_arg_bytes(struct args *a, const uint8_t *p, size_t n)
{
	assert(a->n < ARGS_MAX);
	a->val[a->n] = (const char *)p;
	a->len[a->n] = (int)n;
	a->fmt[a->n] = 1; /* binary: a bytea travels as its raw bytes */
	a->n++;
}

/* Records why r failed and maps it to a maskd_err: integrity violations are
 * MASKD_ECONFLICT (as SQLITE_CONSTRAINT is), everything else MASKD_EDB. Logs the
 * primary message only, never DETAIL (which quotes key values). */
static int result_fail(struct pg_conn *c, const PGresult *r, const char *sql)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
	snprintf(c->constraint, sizeof(c->constraint), "%s", constraint ? constraint : "");
	if (PQstatus(c->pg) != CONNECTION_OK) {
		log_warn("store: lost the connection to PostgreSQL during \"%.40s...\"", sql);
		c->broken = true;
		return MASKD_EDB;
	}
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (state != NULL && strncmp(state, "23", 2) == 0) {
		log_debug("store: \"%.40s...\": %s (SQLSTATE %s)", sql, msg ? msg : "?", state);
		return MASKD_ECONFLICT;
	}
	if (state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)) {
		log_info("store: \"%.40s...\": %s; retrying the transaction", sql, msg ? msg : "?");
		return MASKD_EDB;
	}
	if (state != NULL && strcmp(state, "42601") == 0)
		fatal("store: syntax error in \"%.60s...\": %s", sql, msg ? msg : "?");
	log_error("store: \"%.40s...\": %s (SQLSTATE %s)", sql, msg ? msg : "no answer", state ? state : "none");
	return MASKD_EDB;
}

bool pg_retryable(const struct pg_conn *c)
{
	return strcmp(c->sqlstate, "40001") == 0 || strcmp(c->sqlstate, "40P01") == 0;
}

int pg_run_one(struct pg_conn *c, enum sql_id id, const struct args *a, PGresult **out)
{
	assert(out != NULL);
	int rc = pg_run(c, id, a, out);
	if (rc == 0 && PQntuples(*out) == 0) {
		PQclear(*out);
		*out = NULL;
		return MASKD_ENOTFOUND;
	}
	return rc;
}

/* Prepares statement id on this connection unless it already is; name gets its
 * name (16 bytes). */
static int prepare(struct pg_conn *c, enum sql_id id, char name[16])
{
	snprintf(name, 16, "maskd_%d", (int)id);
	c->sqlstate[0] = '\0';
	if (c->prepared[id])
		return 0;
	PGresult *r = PQprepare(c->pg, name, pg_sql_text[id], 0, NULL);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = result_fail(c, r, pg_sql_text[id]);
	else
		c->prepared[id] = true;
	PQclear(r);
	return rc;
}

int pg_run(struct pg_conn *c, enum sql_id id, const struct args *a, PGresult **out)
{
	char name[16];
	int prc = prepare(c, id, name);
	if (prc < 0)
		return prc;
	PGresult *r = PQexecPrepared(c->pg, name, a ? a->n : 0, a ? a->val : NULL, a ? a->len : NULL,
				     a ? a->fmt : NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		int rc = result_fail(c, r, pg_sql_text[id]);
		PQclear(r);
		return rc;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return 0;
}

int pg_run_rows(struct pg_conn *c, enum sql_id id, const struct args *a,
		    int (*row)(void *ctx, const PGresult *r), void *ctx)
{
	char name[16];
	int rc = prepare(c, id, name);
	if (rc < 0)
		return rc;
	if (!PQsendQueryPrepared(c->pg, name, a->n, a->val, a->len, a->fmt, 0)) {
		return result_fail(c, NULL, pg_sql_text[id]);
	}
	PQsetSingleRowMode(c->pg);
	bool stopped = false;
	PGresult *r;
	while ((r = PQgetResult(c->pg)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_SINGLE_TUPLE) {
			if (!stopped && row(ctx, r) != 0)
				stopped = true;
		} else if (st != PGRES_TUPLES_OK && rc == 0) {
			rc = result_fail(c, r, pg_sql_text[id]);
		}
		PQclear(r);
	}
	return rc;
}

int pg_run_count(struct pg_conn *c, enum sql_id id, const struct args *a)
{
	PGresult *r = NULL;
	int rc = pg_run(c, id, a, &r);
	if (rc < 0)
		return rc;
	long n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return (int)n;
}

/* A statement without parameters through the simple protocol (BEGIN, COMMIT...). */
static int simple(struct pg_conn *c, const char *sql)
{
	c->sqlstate[0] = '\0';
	PGresult *r = PQexec(c->pg, sql);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = result_fail(c, r, sql);
	PQclear(r);
	return rc;
}

int pg_tx_begin(struct pg_conn *c)
{
	pg_events_drop(c);
	return simple(c, "BEGIN");
}

int pg_tx_commit(struct pg_conn *c)
{
	int rc = pg_events_flush(c);
	pg_events_drop(c);
	if (rc < 0)
		return rc;
	c->sqlstate[0] = '\0';
	PGresult *r = PQexec(c->pg, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = result_fail(c, r, "COMMIT");
	else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
		rc = MASKD_EDB; /* the server rolled back: an earlier statement failed */
	PQclear(r);
	return rc;
}

void pg_tx_rollback(struct pg_conn *c)
{
	pg_events_drop(c);
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		char keep[sizeof(c->sqlstate)];
		memcpy(keep, c->sqlstate, sizeof(keep));
		simple(c, "ROLLBACK");
		memcpy(c->sqlstate, keep, sizeof(keep)); /* the caller still wants the first failure */
	}
}

void pg_col_text(const PGresult *r, int row, int col, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

int64_t pg_col_i64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int pg_col_int(const PGresult *r, int row, int col)
{
	return (int)pg_col_i64(r, row, col);
}

int pg_col_unseal(const struct vault *v, const PGresult *r, int row, int col, const char *ad, char *out,
		      size_t cap)
{
	size_t len = 0;
	unsigned char *blob = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &len);
	if (blob == NULL)
		return MASKD_ECRYPTO;
	int rc = vault_unseal(v, blob, len, ad, out, cap);
	PQfreemem(blob);
	return rc;
}

void pg_arg_policy(struct args *a, const struct call_policy *p)
{
	pg_arg_i64(a, p->record);
	pg_arg_i64(a, p->time_limit);
	pg_arg_i64(a, p->ring_timeout);
	pg_arg_text(a, p->consent_message);
}

static int cursor_null(const struct sql_cursor *c, int col)
{
	return PQgetisnull(c->res, c->row, col);
}

static int64_t cursor_i64(const struct sql_cursor *c, int col)
{
	return pg_col_i64(c->res, c->row, col);
}

static void cursor_text(const struct sql_cursor *c, int col, char *out, size_t cap)
{
	pg_col_text(c->res, c->row, col, out, cap);
}

static int cursor_unseal(const struct sql_cursor *c, int col, const struct vault *v, const char *ad, char *out,
			 size_t cap)
{
	return pg_col_unseal(v, c->res, c->row, col, ad, out, cap);
}

static int cursor_empty(const struct sql_cursor *c, int col)
{
	return strcmp(PQgetvalue(c->res, c->row, col), "\\x") == 0; /* an empty bytea in text form */
}

static const struct sql_cursor_ops cursor_ops = {cursor_null, cursor_i64, cursor_text, cursor_unseal, cursor_empty};

struct sql_cursor pg_cursor(const PGresult *r, int row, int col)
{
	return (struct sql_cursor){.ops = &cursor_ops, .res = r, .row = row, .col = col};
}

const char *pg_nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

void pg_array_literal(struct buf *b, const char *const *items, int n)
{
	buf_reset(b);
	buf_puts(b, "{");
	for (int i = 0; i < n; i++) {
		buf_puts(b, i ? ",\"" : "\"");
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_append(b, "\\", 1);
			buf_append(b, p, 1);
		}
		buf_puts(b, "\"");
	}
	buf_puts(b, "}");
}

/* ---------------------------------------------------------------- open/close */

static int migrate(PGconn *pg, const char *url, char *err, size_t err_len)
{
	struct pg_conn c = {.pg = pg};
	int current = 0, v = 0;
	const char *step = "start";
	if (simple(&c, "BEGIN") < 0 || simple(&c, "SET LOCAL statement_timeout = 0") < 0 ||
	    simple(&c, "SET LOCAL lock_timeout = '" PG_MIGRATION_LOCK_TIMEOUT "'") < 0)
		goto fail;
	step = "waiting for another maskd's migration (advisory lock)";
	if (simple(&c, "SELECT pg_advisory_xact_lock(" PG_MIGRATION_LOCK_KEY ")") < 0)
		goto fail;
	step = "schema_migrations";
	if (simple(&c, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
		       "applied_at BIGINT NOT NULL)") < 0)
		goto fail;
	PGresult *r = PQexec(pg, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		goto fail;
	}
	current = pg_col_int(r, 0, 0);
	PQclear(r);
	if (current > MIGRATIONS_PG_COUNT) {
		simple(&c, "ROLLBACK");
		snprintf(err, err_len,
			 "MASKD_DB: the database schema is version %d, newer than this maskd knows (%d); "
			 "pg_run a newer maskd",
			 current, MIGRATIONS_PG_COUNT);
		return MASKD_EINVAL;
	}
	for (v = current + 1; v <= MIGRATIONS_PG_COUNT; v++) {
		step = "migration";
		if (simple(&c, migrations_pg[v - 1]) < 0)
			goto fail;
		char stamp[128];
		snprintf(stamp, sizeof(stamp),
			 "INSERT INTO schema_migrations VALUES (%d, EXTRACT(EPOCH FROM now())::bigint)", v);
		if (simple(&c, stamp) < 0)
			goto fail;
	}
	step = "commit";
	if (pg_tx_commit(&c) < 0)
		goto fail;
	for (v = current + 1; v <= MIGRATIONS_PG_COUNT; v++)
		log_info("store: applied migration %d", v);
	return 0;
fail:;
	char msg[384];
	pg_scrub_message(url, PQerrorMessage(pg), msg, sizeof(msg));
	PQclear(PQexec(pg, "ROLLBACK"));
	if (v > 0)
		snprintf(err, err_len, "MASKD_DB: migration %d failed: %s", v, msg);
	else
		snprintf(err, err_len, "MASKD_DB: cannot migrate the schema (%s): %s", step, msg);
	return MASKD_EDB;
}

void pg_close(void *b)
{
	struct store_pg *s = b;
	assert(s->rec_head == NULL && !s->rec_running); /* no record in flight at close */
	if (s->rec_batches > 0)
		log_info("store: %llu interaction records in %llu group commits", (unsigned long long)s->rec_records,
			 (unsigned long long)s->rec_batches);
	pthread_cond_destroy(&s->rec_done);
	pthread_mutex_destroy(&s->rec_lock);
	struct pg_conn *c = s->conns;
	while (c != NULL) {
		struct pg_conn *next = c->next;
		conn_reset(c);
		free(c);
		c = next;
	}
	pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->lock);
	free(s->url);
	free(s);
}

static void conn_destructor(void *p)
{
	(void)p; /* connections are closed by pg_close, which owns the list */
}

int store_pg_open(const char *url, struct vault *v, void **out, char *err, size_t err_len)
{
	char msg[384];
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	if (opts == NULL) {
		pg_scrub_message(url, perr ? perr : "out of memory", msg, sizeof(msg));
		PQfreemem(perr);
		snprintf(err, err_len, "MASKD_DB: not a valid PostgreSQL connection URL: %s", msg);
		return MASKD_EINVAL;
	}
	PQconninfoFree(opts);
	PGconn *pg = pg_connect(url, msg, sizeof(msg));
	if (pg == NULL) {
		snprintf(err, err_len, "MASKD_DB: cannot connect to PostgreSQL: %s", msg);
		return MASKD_EDB;
	}
	int rc = migrate(pg, url, err, err_len);
	if (rc < 0) {
		PQfinish(pg);
		return rc;
	}
	struct store_pg *s = xcalloc(1, sizeof(*s));
	s->url = xstrdup(url);
	s->vault = v;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->rec_lock, NULL);
	pthread_cond_init(&s->rec_done, NULL);
	if (pthread_key_create(&s->key, conn_destructor) != 0)
		fatal("pthread_key_create");
	struct pg_conn *c = xcalloc(1, sizeof(*c));
	c->pg = pg;
	conn_register(s, c); /* the opening thread keeps the connection it migrated with */
	*out = s;
	return 0;
}

int pg_ping(void *b)
{
	CONN_OR_FAIL(b, c);
	return pg_run(c, SQL_PING, NULL, NULL);
}

/* ---------------------------------------------------------------- settings */

int pg_setting_get(void *b, const char *key, char *out, size_t cap)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, key);
	PGresult *r = NULL;
	int rc = pg_run(c, SQL_SETTING_GET, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0)
		pg_col_text(r, 0, 0, out, cap);
	else
		rc = MASKD_ENOTFOUND;
	PQclear(r);
	return rc;
}

int pg_setting_put(void *b, const char *key, const char *value)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, key);
	pg_arg_text(&a, value);
	return pg_run(c, SQL_SETTING_PUT, &a, NULL);
}

int pg_setting_add(void *b, const char *key, const char *value)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	pg_arg_text(&a, key);
	pg_arg_text(&a, value);
	int rc = pg_run_count(c, SQL_SETTING_ADD, &a);
	if (rc < 0)
		return rc;
	return rc == 0 ? MASKD_ECONFLICT : 0;
}
