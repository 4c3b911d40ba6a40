/* SPDX-License-Identifier: MIT */
/* store_pg.c - the PostgreSQL backend of store.h (libpq) for several maskd nodes on
 * one database: store_sqlite.c's behaviour, made safe under concurrency (bindings
 * claimed by the unique index with ON CONFLICT DO NOTHING, sweeps with SKIP LOCKED,
 * counters locked in id order). One connection per thread, prepared statements;
 * while the database is down calls fail fast with MASKD_EDB and reconnect with backoff. */
#include "store_backend.h"
#include "migrations.h"
#include "../core/pool.h"
#include "../core/session.h"
#include "../util/buf.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"
#include "../vault/vault.h"

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
#define POOL_CANDIDATES 8
#define BIND_ATTEMPTS 8 /* candidates tried per participant when other nodes win races */
#define TX_ATTEMPTS 4   /* whole-transaction retries on deadlock or serialization failure */
#define ARGS_MAX 16
#define SERVICES_MAX 256 /* what service_list returns, as in store_sqlite.c */

/* Internal: the transaction lost a race and may simply be run again. */
#define PG_ERETRY (-100)

/* ---------------------------------------------------------------- statements */

enum sql_id {
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
	SQL_NUMBER_NAMED,
	SQL_POOL_CANDIDATES,
	SQL_SESSION_INSERT,
	SQL_PARTICIPANT_INSERT,
	SQL_NUMBERS_LOCK,
	SQL_NUMBERS_ADD,
	SQL_SESSION_GET,
	SQL_SESSION_EXISTS,
	SQL_PARTICIPANTS_OF,
	SQL_SESSION_LIST,
	SQL_SESSIONS_CLOSE,
	SQL_BINDINGS_RELEASE,
	SQL_SESSION_TIMES_LOCK,
	SQL_SESSION_SET_TIMES,
	SQL_EXPIRE_DUE,
	SQL_ROUTE_LOOKUP,
	SQL_INTERACTION_INSERT,
	SQL_INTERACTION_BY_SID,
	SQL_SESSION_TOUCH,
	SQL_LEG_INSERT,
	SQL_LEG_UPSERT,
	SQL_INTERACTION_GET,
	SQL_INTERACTION_LIST,
	SQL_LEGS_OF,
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
	[SQL_PING] = "SELECT 1",
	[SQL_SETTING_GET] = "SELECT value FROM settings WHERE key = $1",
	[SQL_SETTING_ADD] = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
	[SQL_SETTING_PUT] = "INSERT INTO settings (key, value) VALUES ($1, $2) "
			    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[SQL_SERVICE_INSERT] = "INSERT INTO services (id, name, mode, ttl, unknown_caller_message, created_at, " POLICY_COLS ") "
			       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
	[SQL_SECRET_INSERT] = "INSERT INTO service_secrets (service_id, carrier, sealed) VALUES ($1, $2, $3)",
	[SQL_SERVICE_GET] = "SELECT id, name, mode, ttl, unknown_caller_message, created_at, " POLICY_COLS " FROM services WHERE id = $1",
	[SQL_SECRETS_GET] = "SELECT carrier, sealed FROM service_secrets WHERE service_id = $1",
	[SQL_SERVICE_LIST] = "SELECT id FROM services ORDER BY created_at, id LIMIT 256",
	[SQL_NUMBER_INSERT] = "INSERT INTO numbers (id, service_id, e164, carrier, caps, country, area_code, state, in_use, created_at) "
			      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
	[SQL_NUMBER_GET] = "SELECT " NUMBER_COLS " FROM numbers n WHERE n.id = $1",
	[SQL_NUMBER_LIST] = "SELECT " NUMBER_COLS " FROM numbers n WHERE n.service_id = $1 ORDER BY n.created_at, n.id",
	[SQL_NUMBER_SET_STATE] = "UPDATE numbers SET state = $2 WHERE id = $1",
	[SQL_NUMBER_DELETE] = "DELETE FROM numbers WHERE id = $1 AND in_use = 0",
	[SQL_NUMBER_NAMED] = "SELECT " NUMBER_COLS " FROM numbers n WHERE n.service_id = $1 AND n.e164 = $2",
	/* $5: numbers this participant already lost a race for (their bindings are
	 * committed by now and so excluded anyway; this only makes sure). */
	[SQL_POOL_CANDIDATES] =
		"SELECT n.id, n.e164, n.state, n.caps, n.in_use, n.created_at FROM numbers n "
		"WHERE n.service_id = $1 AND n.state = 0 AND (n.caps & $2::int) = $2::int AND NOT EXISTS "
		"(SELECT 1 FROM participants p WHERE p.bidx = $3 AND p.proxy_number_id = n.id AND p.active = 1) "
		"AND n.id <> ALL ($5::text[]) ORDER BY n.in_use, n.created_at, n.id LIMIT $4",
	[SQL_SESSION_INSERT] =
		"INSERT INTO sessions (id, service_id, unique_name, mode, status, ttl, expires_at, created_at, "
		"updated_at, last_activity_at, closed_at, deadline, " POLICY_COLS ") "
		"VALUES ($1, $2, $3, $4, 0, $5, $6, $7, $7, $7, 0, $8, $9, $10, $11, $12)",
	/* The unique index "bindings" decides ownership: no row inserted = another
	 * session holds (real number, proxy) now (it waited for that one to commit). */
	[SQL_PARTICIPANT_INSERT] =
		"INSERT INTO participants (id, session_id, idx, label, masked, number_sealed, bidx, proxy_number_id, "
		"proxy_e164, active, country) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10) "
		"ON CONFLICT (bidx, proxy_number_id) WHERE active = 1 DO NOTHING",
	/* Row locks in id order (COLLATE "C" = strcmp order): every writer of in_use
	 * takes its number rows this way and last, so writers queue, never deadlock. */
	[SQL_NUMBERS_LOCK] = "SELECT id FROM numbers WHERE id = ANY ($1::text[]) ORDER BY id FOR NO KEY UPDATE",
	[SQL_NUMBERS_ADD] = "UPDATE numbers n SET in_use = GREATEST(n.in_use + d.delta, 0) "
			    "FROM unnest($1::text[], $2::bigint[]) AS d(id, delta) WHERE n.id = d.id",
	[SQL_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id = $1",
	[SQL_SESSION_EXISTS] = "SELECT 1 FROM sessions WHERE id = $1",
	[SQL_PARTICIPANTS_OF] = "SELECT id, label, masked, proxy_number_id, proxy_e164, country FROM participants "
				"WHERE session_id = $1 ORDER BY idx",
	[SQL_SESSION_LIST] =
		"SELECT " SESSION_COLS " FROM sessions WHERE service_id = $1 AND ($2::int < 0 OR status = $2::int) "
		"AND ($3::text IS NULL OR unique_name = $3::text) AND ($4::text IS NULL OR (created_at, id) > "
		"(SELECT created_at, id FROM sessions WHERE id = $4::text)) ORDER BY created_at, id LIMIT $5",
	[SQL_SESSIONS_CLOSE] = "UPDATE sessions SET status = 2, closed_at = $2, updated_at = $2, deadline = NULL "
			       "WHERE id = ANY ($1::text[]) AND status < 2 RETURNING id",
	/* One row per (session, number): in_use counts sessions, so a session with
	 * both participants on one number gives it back once. */
	[SQL_BINDINGS_RELEASE] = "WITH r AS (UPDATE participants SET active = 0 WHERE session_id = ANY ($1::text[]) "
				 "AND active = 1 RETURNING session_id, proxy_number_id) "
				 "SELECT DISTINCT session_id, proxy_number_id FROM r",
	/* NO KEY UPDATE: waits for other writers of the row, not for inserts whose
	 * foreign keys point at it. */
	[SQL_SESSION_TIMES_LOCK] = "SELECT status, ttl, expires_at, last_activity_at FROM sessions WHERE id = $1 "
				   "FOR NO KEY UPDATE",
	[SQL_SESSION_SET_TIMES] = "UPDATE sessions SET ttl = $2, expires_at = $3, deadline = $4, updated_at = $5 WHERE id = $1",
	/* Every node sweeps; SKIP LOCKED hands each due session to exactly one. */
	[SQL_EXPIRE_DUE] = "SELECT id FROM sessions WHERE status < 2 AND deadline IS NOT NULL AND deadline <= $1 "
			   "ORDER BY deadline LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED",
	[SQL_ROUTE_LOOKUP] =
		"SELECT " NUMBER_COLS ", s.id, s.status, s.mode, s.ttl, s.expires_at, s.last_activity_at, "
		"p.id, o.id, o.number_sealed, o.proxy_e164, o.country, s.record, s.time_limit, s.ring_timeout, "
		"s.consent_message FROM numbers n "
		"LEFT JOIN participants p ON p.bidx = $2 AND p.proxy_number_id = n.id AND p.active = 1 "
		"LEFT JOIN sessions s ON s.id = p.session_id "
		"LEFT JOIN participants o ON o.session_id = p.session_id AND o.id <> p.id "
		"WHERE n.e164 = $1",
	[SQL_INTERACTION_INSERT] =
		"INSERT INTO interactions (" INTERACTION_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
		"ON CONFLICT (carrier, carrier_sid) DO NOTHING",
	[SQL_INTERACTION_BY_SID] = "SELECT " INTERACTION_COLS " FROM interactions WHERE carrier = $1 AND carrier_sid = $2",
	[SQL_SESSION_TOUCH] = "UPDATE sessions SET status = $2, last_activity_at = $3, updated_at = $3, deadline = $4 "
			      "WHERE id = $1 AND status < 2",
	/* The leg's proxy number and country come from the participant on its real end:
	 * the caller for leg 'a', the callee for leg 'b'. No row = no such interaction. */
	[SQL_LEG_INSERT] =
		"INSERT INTO legs (id, interaction_id, leg, carrier_sid, status, duration, started_at, ended_at, service_id, "
		"session_id, proxy_number, other_country, answered_at, recording_id, recording_url, cost, currency) "
		"SELECT $1::text, i.id, $3::text, $4::text, $5::text, $6::bigint, $7::bigint, $8::bigint, i.service_id, "
		"i.session_id, p.proxy_e164, p.country, $9::bigint, $10::text, $11::text, $12::text, $13::text FROM interactions i JOIN participants p ON p.id = CASE WHEN $3::text = 'a' THEN "
		"i.from_participant ELSE i.to_participant END WHERE i.id = $2",
	/* store_sqlite.c's find-then-insert-or-update (SQL_LEG_FIND, SQL_LEG_SET,
	 * insert_leg) as one statement, so parallel status callbacks for the same leg
	 * cannot both insert: a reported field ($5, $10-$13 not NULL, $6 >= 0)
	 * overwrites, answered_at and ended_at are set once. */
	[SQL_LEG_UPSERT] =
		"INSERT INTO legs AS l (id, interaction_id, leg, carrier_sid, status, duration, started_at, ended_at, "
		"service_id, session_id, proxy_number, other_country, answered_at, recording_id, recording_url, cost, "
		"currency) SELECT $1::text, i.id, $3::text, $4::text, COALESCE($5::text, 'unknown'), $6::bigint, $7::bigint, "
		"$8::bigint, "
		"i.service_id, i.session_id, p.proxy_e164, p.country, $9::bigint, COALESCE($10::text, ''), "
		"COALESCE($11::text, ''), COALESCE($12::text, ''), COALESCE($13::text, '') FROM interactions i "
		"JOIN participants p ON p.id = CASE WHEN $3::text = 'a' THEN i.from_participant ELSE i.to_participant END "
		"WHERE i.id = $2 ON CONFLICT (interaction_id, leg, carrier_sid) DO UPDATE SET "
		"status = COALESCE($5::text, l.status), "
		"duration = CASE WHEN $6::bigint >= 0 THEN $6::bigint ELSE l.duration END, "
		"answered_at = CASE WHEN l.answered_at = 0 THEN $9::bigint ELSE l.answered_at END, "
		"ended_at = CASE WHEN l.ended_at = 0 THEN $8::bigint ELSE l.ended_at END, "
		"recording_id = COALESCE($10::text, l.recording_id), recording_url = COALESCE($11::text, l.recording_url), "
		"cost = COALESCE($12::text, l.cost), currency = COALESCE($13::text, l.currency)",
	[SQL_INTERACTION_GET] = "SELECT " INTERACTION_COLS " FROM interactions WHERE id = $1",
	[SQL_INTERACTION_LIST] = "SELECT " INTERACTION_COLS " FROM interactions WHERE session_id = $1 ORDER BY created_at, id",
	[SQL_LEGS_OF] = "SELECT " LEG_COLS " FROM legs l WHERE l.interaction_id = $1 ORDER BY l.leg, l.started_at, l.id",
	[SQL_PARTICIPANT_NUMBER] = "SELECT number_sealed FROM participants WHERE id = $1",
	[SQL_STATS] = "SELECT (SELECT COUNT(*) FROM services), (SELECT COUNT(*) FROM numbers), "
		      "(SELECT COUNT(*) FROM sessions WHERE status < 2), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1), (SELECT COUNT(*) FROM interactions)",
	[SQL_RECORDS] = "SELECT i.id, i.session_id, i.service_id, i.channel, i.carrier, i.carrier_sid, i.decision, "
			"i.from_participant, i.to_participant, i.created_at, " LEG_COLS " FROM legs l "
			"JOIN interactions i ON i.id = l.interaction_id "
			"WHERE l.service_id = $1 AND l.started_at >= $2 AND l.started_at < $3 ORDER BY l.started_at, l.id",
	[SQL_USAGE] = "SELECT (i.created_at / 86400) * 86400 AS day, "
		      "SUM(CASE WHEN i.channel = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN i.channel = 1 THEN 1 ELSE 0 END), "
		      "COALESCE(SUM((SELECT SUM(CASE WHEN l.duration > 0 THEN l.duration ELSE 0 END) FROM legs l "
		      "WHERE l.interaction_id = i.id AND l.leg = 'b')), 0) "
		      "FROM interactions i WHERE i.service_id = $1 AND i.created_at >= $2 AND i.created_at < $3 "
		      "GROUP BY day ORDER BY day",
};

/* ---------------------------------------------------------------- connections */

struct pg_conn {
	PGconn *pg;            /* NULL = not connected */
	bool broken;           /* the connection failed mid-call: reconnect on next use */
	bool prepared[SQL_COUNT];
	char sqlstate[6];      /* of the last failed statement, "" when none */
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
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Replaces every occurrence of needle in *b (needle non-empty) with "***". */
static void replace_all(struct buf *b, const char *needle)
{
	size_t nl = strlen(needle);
	if (nl == 0 || b->len == 0)
		return;
	struct buf out;
	buf_init(&out);
	const char *p = b->data;
	const char *hit;
	while ((hit = strstr(p, needle)) != NULL) {
		buf_append(&out, p, (size_t)(hit - p));
		buf_puts(&out, "***");
		p = hit + nl;
	}
	buf_puts(&out, p);
	buf_free(b);
	*b = out;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The %-decoded form of s[0..n) into out (cap bytes, NUL-terminated). */
static void percent_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

/* Scrubs the raw and %-decoded forms of s[0..n) from *b. */
static void scrub_span(struct buf *b, const char *s, size_t n)
{
	if (n == 0)
		return;
	char *raw = xstrndup(s, n);
	char *dec = xmalloc(n + 1);
	percent_decode(s, n, dec, n + 1);
	replace_all(b, raw);
	replace_all(b, dec);
	free(raw);
	free(dec);
}

/* Copies msg (a libpq message) into out with every spelling of the password that
 * url carries replaced by "***" (userinfo, password= parameters, and what libpq
 * itself parsed), newlines and tabs folded to spaces, trailing blanks trimmed. */
static void scrub_message(const char *url, const char *msg, char *out, size_t cap)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, msg ? msg : "");
	/* what libpq parsed, when it could */
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &perr);
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			replace_all(&b, o->val);
	PQconninfoFree(opts);
	PQfreemem(perr);
	/* URI userinfo: scheme://user:password@host... (the last '@' before the path) */
	const char *auth = strstr(url, "://");
	if (auth != NULL) {
		auth += 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = NULL;
		for (size_t i = 0; i < alen; i++)
			if (auth[i] == '@')
				at = auth + i;
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon != NULL)
			scrub_span(&b, colon + 1, (size_t)(at - colon - 1));
	}
	/* password=... as a URI parameter or a key=value pair */
	for (const char *p = strstr(url, "password="); p != NULL; p = strstr(p + 1, "password=")) {
		const char *v = p + 9;
		scrub_span(&b, v, strcspn(v, "& \t"));
	}
	size_t o = 0;
	for (size_t i = 0; i < b.len && o + 1 < cap; i++) {
		char ch = b.data[i];
		if (ch == '\n' || ch == '\t' || ch == '\r') {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
			continue;
		}
		out[o++] = ch;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	if (cap > 0)
		out[o] = '\0';
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
		scrub_message(url, PQerrorMessage(pg), err, err_len);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, notice_sink, NULL);
	PGresult *r = PQexec(pg, "SELECT set_config('statement_timeout', '" PG_STATEMENT_TIMEOUT "', false) "
				 "WHERE current_setting('statement_timeout') = '0'");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
	PQclear(r);
	if (!ok) {
		scrub_message(url, PQerrorMessage(pg), err, err_len);
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
		if (s->probing || mono_ms() < s->retry_at_ms)
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
		int64_t now = mono_ms();
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
static struct pg_conn *conn_get(struct store_pg *s)
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

#define CONN_OR_FAIL(s, c)                       \
	struct pg_conn *c = conn_get(s);         \
	if (c == NULL)                           \
		return MASKD_EDB

/* ---------------------------------------------------------------- running statements */

struct args {
	int n;
	const char *val[ARGS_MAX];
	int len[ARGS_MAX];
	int fmt[ARGS_MAX];
	char num[ARGS_MAX][24];
};

static void arg_text(struct args *a, const char *s)
{
	assert(a->n < ARGS_MAX);
	a->val[a->n] = s; /* NULL = SQL NULL */
	a->len[a->n] = 0;
	a->fmt[a->n] = 0;
	a->n++;
}

static void arg_i64(struct args *a, int64_t v)
{
	assert(a->n < ARGS_MAX);
	snprintf(a->num[a->n], sizeof(a->num[a->n]), "%lld", (long long)v);
	arg_text(a, a->num[a->n]);
}

static void arg_bytes(struct args *a, const uint8_t *p, size_t n)
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
	snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
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

static bool retryable(const struct pg_conn *c)
{
	return strcmp(c->sqlstate, "40001") == 0 || strcmp(c->sqlstate, "40P01") == 0;
}

/* Prepares statement id on this connection unless it already is; name gets its
 * name (16 bytes). */
static int prepare(struct pg_conn *c, enum sql_id id, char name[16])
{
	snprintf(name, 16, "maskd_%d", (int)id);
	c->sqlstate[0] = '\0';
	if (c->prepared[id])
		return 0;
	PGresult *r = PQprepare(c->pg, name, sql_text[id], 0, NULL);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = result_fail(c, r, sql_text[id]);
	else
		c->prepared[id] = true;
	PQclear(r);
	return rc;
}

/* Runs prepared statement id (preparing it on this connection first when needed).
 * On success *out (when not NULL) gets the result, which the caller PQclear()s. */
static int run(struct pg_conn *c, enum sql_id id, const struct args *a, PGresult **out)
{
	char name[16];
	int prc = prepare(c, id, name);
	if (prc < 0)
		return prc;
	PGresult *r = PQexecPrepared(c->pg, name, a ? a->n : 0, a ? a->val : NULL, a ? a->len : NULL,
				     a ? a->fmt : NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		int rc = result_fail(c, r, sql_text[id]);
		PQclear(r);
		return rc;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return 0;
}

/* Runs id and hands its rows to row() one at a time (libpq's single-row mode),
 * so a long result is never held in memory whole. row() returning nonzero stops
 * the calls; the rest of the result is read and dropped. */
static int run_rows(struct pg_conn *c, enum sql_id id, const struct args *a,
		    int (*row)(void *ctx, const PGresult *r), void *ctx)
{
	char name[16];
	int rc = prepare(c, id, name);
	if (rc < 0)
		return rc;
	if (!PQsendQueryPrepared(c->pg, name, a->n, a->val, a->len, a->fmt, 0)) {
		return result_fail(c, NULL, sql_text[id]);
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
			rc = result_fail(c, r, sql_text[id]);
		}
		PQclear(r);
	}
	return rc;
}

/* Runs id and returns how many rows it changed (>= 0) or a negative maskd_err. */
static int run_count(struct pg_conn *c, enum sql_id id, const struct args *a)
{
	PGresult *r = NULL;
	int rc = run(c, id, a, &r);
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

static int tx_begin(struct pg_conn *c)
{
	return simple(c, "BEGIN");
}

static int tx_commit(struct pg_conn *c)
{
	c->sqlstate[0] = '\0';
	PGresult *r = PQexec(c->pg, "COMMIT");
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = result_fail(c, r, "COMMIT");
	else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
		rc = MASKD_EDB; /* the server rolled back: an earlier statement failed */
	PQclear(r);
	return rc;
}

static void tx_rollback(struct pg_conn *c)
{
	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		char keep[sizeof(c->sqlstate)];
		memcpy(keep, c->sqlstate, sizeof(keep));
		simple(c, "ROLLBACK");
		memcpy(c->sqlstate, keep, sizeof(keep)); /* the caller still wants the first failure */
	}
}

static void col_text(const PGresult *r, int row, int col, char *out, size_t cap)
{
	snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static int64_t col_i64(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return 0;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int col_int(const PGresult *r, int row, int col)
{
	return (int)col_i64(r, row, col);
}

/* Opens a sealed bytea column with the vault. */
static int col_unseal(const struct vault *v, const PGresult *r, int row, int col, const char *ad, char *out,
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

static void arg_policy(struct args *a, const struct call_policy *p)
{
	arg_i64(a, p->record);
	arg_i64(a, p->time_limit);
	arg_i64(a, p->ring_timeout);
	arg_text(a, p->consent_message);
}

static void read_policy(const PGresult *r, int row, int first, struct call_policy *p)
{
	p->record = col_int(r, row, first);
	p->time_limit = col_int(r, row, first + 1);
	p->ring_timeout = col_int(r, row, first + 2);
	col_text(r, row, first + 3, p->consent_message, sizeof(p->consent_message));
}

/* s, or NULL when s is NULL or "" (an unreported field). */
static const char *nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* A PostgreSQL array literal {"a","b"} of n strings. */
static void array_literal(struct buf *b, const char *const *items, int n)
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
	current = col_int(r, 0, 0);
	PQclear(r);
	if (current > MIGRATIONS_PG_COUNT) {
		simple(&c, "ROLLBACK");
		snprintf(err, err_len,
			 "MASKD_DB: the database schema is version %d, newer than this maskd knows (%d); "
			 "run a newer maskd",
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
	if (tx_commit(&c) < 0)
		goto fail;
	for (v = current + 1; v <= MIGRATIONS_PG_COUNT; v++)
		log_info("store: applied migration %d", v);
	return 0;
fail:;
	char msg[384];
	scrub_message(url, PQerrorMessage(pg), msg, sizeof(msg));
	PQclear(PQexec(pg, "ROLLBACK"));
	if (v > 0)
		snprintf(err, err_len, "MASKD_DB: migration %d failed: %s", v, msg);
	else
		snprintf(err, err_len, "MASKD_DB: cannot migrate the schema (%s): %s", step, msg);
	return MASKD_EDB;
}

static void pg_close(void *b)
{
	struct store_pg *s = b;
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
		scrub_message(url, perr ? perr : "out of memory", msg, sizeof(msg));
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
	if (pthread_key_create(&s->key, conn_destructor) != 0)
		fatal("pthread_key_create");
	struct pg_conn *c = xcalloc(1, sizeof(*c));
	c->pg = pg;
	conn_register(s, c); /* the opening thread keeps the connection it migrated with */
	*out = s;
	return 0;
}

static int pg_ping(void *b)
{
	CONN_OR_FAIL(b, c);
	return run(c, SQL_PING, NULL, NULL);
}

/* ---------------------------------------------------------------- settings */

static int pg_setting_get(void *b, const char *key, char *out, size_t cap)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, key);
	PGresult *r = NULL;
	int rc = run(c, SQL_SETTING_GET, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0)
		col_text(r, 0, 0, out, cap);
	else
		rc = MASKD_ENOTFOUND;
	PQclear(r);
	return rc;
}

static int pg_setting_put(void *b, const char *key, const char *value)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, key);
	arg_text(&a, value);
	return run(c, SQL_SETTING_PUT, &a, NULL);
}

static int pg_setting_add(void *b, const char *key, const char *value)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, key);
	arg_text(&a, value);
	int rc = run_count(c, SQL_SETTING_ADD, &a);
	if (rc < 0)
		return rc;
	return rc == 0 ? MASKD_ECONFLICT : 0;
}

/* ---------------------------------------------------------------- services */

static void secret_ad(const char *service_id, int carrier, char *ad, size_t cap)
{
	snprintf(ad, cap, "service:%s:%s", service_id, dialect_name(carrier));
}

static int pg_service_insert(void *b, const struct service *svc)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct args a = {0};
	arg_text(&a, svc->id);
	arg_text(&a, svc->name);
	arg_i64(&a, svc->mode);
	arg_i64(&a, svc->ttl);
	arg_text(&a, svc->unknown_caller_message);
	arg_i64(&a, svc->created_at);
	arg_policy(&a, &svc->policy);
	rc = run(c, SQL_SERVICE_INSERT, &a, NULL);
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
		struct args sa = {0};
		arg_text(&sa, svc->id);
		arg_text(&sa, dialect_name(d));
		arg_bytes(&sa, sealed, sealed_len);
		rc = run(c, SQL_SECRET_INSERT, &sa, NULL);
	}
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0)
		tx_rollback(c);
	return rc;
}

static int pg_service_get(void *b, const char *id, struct service *out)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	memset(out, 0, sizeof(*out));
	struct args a = {0};
	arg_text(&a, id);
	PGresult *r = NULL;
	int rc = run(c, SQL_SERVICE_GET, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return MASKD_ENOTFOUND;
	}
	col_text(r, 0, 0, out->id, sizeof(out->id));
	col_text(r, 0, 1, out->name, sizeof(out->name));
	out->mode = col_int(r, 0, 2);
	out->ttl = col_i64(r, 0, 3);
	col_text(r, 0, 4, out->unknown_caller_message, sizeof(out->unknown_caller_message));
	out->created_at = col_i64(r, 0, 5);
	read_policy(r, 0, 6, &out->policy);
	PQclear(r);
	rc = run(c, SQL_SECRETS_GET, &a, &r);
	if (rc < 0)
		return rc;
	int err = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		int d = dialect_from_name(PQgetvalue(r, i, 0));
		if (d < 0)
			continue;
		char ad[ID_MAX + 32];
		secret_ad(id, d, ad, sizeof(ad));
		if (col_unseal(s->vault, r, i, 1, ad, out->secrets[d], sizeof(out->secrets[d])) < 0) {
			log_error("store: service %s: the %s credential does not open with this vault key", id,
				  dialect_name(d));
			err = MASKD_ECRYPTO;
		}
	}
	PQclear(r);
	return err;
}

static int pg_service_list(void *b, void (*cb)(void *, const struct service *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	PGresult *r = NULL;
	int rc = run(c, SQL_SERVICE_LIST, NULL, &r);
	if (rc < 0)
		return rc;
	int n = PQntuples(r) < SERVICES_MAX ? PQntuples(r) : SERVICES_MAX;
	char(*ids)[ID_MAX] = xcalloc((size_t)n + 1, ID_MAX);
	for (int i = 0; i < n; i++)
		col_text(r, i, 0, ids[i], ID_MAX);
	PQclear(r);
	for (int i = 0; i < n; i++) {
		struct service svc;
		if (pg_service_get(b, ids[i], &svc) == 0)
			cb(ctx, &svc);
	}
	free(ids);
	return 0;
}

/* ---------------------------------------------------------------- numbers */

static void read_number(const PGresult *r, int row, int col, struct number *n)
{
	col_text(r, row, col + 0, n->id, sizeof(n->id));
	col_text(r, row, col + 1, n->service_id, sizeof(n->service_id));
	col_text(r, row, col + 2, n->e164, sizeof(n->e164));
	n->carrier = col_int(r, row, col + 3);
	n->caps = (unsigned)col_int(r, row, col + 4);
	col_text(r, row, col + 5, n->country, sizeof(n->country));
	col_text(r, row, col + 6, n->area_code, sizeof(n->area_code));
	n->state = col_int(r, row, col + 7);
	n->in_use = col_i64(r, row, col + 8);
	n->created_at = col_i64(r, row, col + 9);
}

static int pg_number_insert(void *b, const struct number *n)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, n->id);
	arg_text(&a, n->service_id);
	arg_text(&a, n->e164);
	arg_i64(&a, n->carrier);
	arg_i64(&a, (int64_t)n->caps);
	arg_text(&a, n->country);
	arg_text(&a, n->area_code);
	arg_i64(&a, n->state);
	arg_i64(&a, n->created_at);
	return run(c, SQL_NUMBER_INSERT, &a, NULL);
}

static int number_by(struct pg_conn *c, enum sql_id id, const char *a1, const char *a2, struct number *out)
{
	struct args a = {0};
	arg_text(&a, a1);
	if (a2 != NULL)
		arg_text(&a, a2);
	PGresult *r = NULL;
	int rc = run(c, id, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0)
		read_number(r, 0, 0, out);
	else
		rc = MASKD_ENOTFOUND;
	PQclear(r);
	return rc;
}

static int pg_number_get(void *b, const char *id, struct number *out)
{
	CONN_OR_FAIL(b, c);
	return number_by(c, SQL_NUMBER_GET, id, NULL, out);
}

static int pg_number_list(void *b, const char *service_id, void (*cb)(void *, const struct number *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, service_id);
	PGresult *r = NULL;
	int rc = run(c, SQL_NUMBER_LIST, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct number n;
		read_number(r, i, 0, &n);
		cb(ctx, &n);
	}
	PQclear(r);
	return 0;
}

static int pg_number_set_state(void *b, const char *id, int state)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, id);
	arg_i64(&a, state);
	int n = run_count(c, SQL_NUMBER_SET_STATE, &a);
	if (n < 0)
		return n;
	return n == 0 ? MASKD_ENOTFOUND : 0;
}

static int pg_number_delete(void *b, const char *id)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, id);
	/* A session being created on another node bumps in_use at its very end; if
	 * this delete wins, that transaction sees its number gone and starts over. */
	int n = run_count(c, SQL_NUMBER_DELETE, &a);
	if (n != 0)
		return n < 0 ? n : 0;
	struct number num;
	int rc = number_by(c, SQL_NUMBER_GET, id, NULL, &num);
	return rc == 0 ? MASKD_ECONFLICT : rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds delta to in_use of each number in ids (repeats add up), locking the rows
 * in id order first. Returns how many distinct numbers were changed, or a
 * negative maskd_err; *distinct gets how many there were to change. */
static int numbers_adjust(struct pg_conn *c, const char *const *ids, int n, int delta, int *distinct)
{
	*distinct = 0;
	if (n == 0)
		return 0;
	const char **sorted = xmalloc((size_t)n * sizeof(*sorted));
	memcpy(sorted, ids, (size_t)n * sizeof(*sorted));
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_str);
	int m = 0;
	int64_t *deltas = xcalloc((size_t)n, sizeof(*deltas));
	for (int i = 0; i < n; i++) {
		if (m > 0 && strcmp(sorted[m - 1], sorted[i]) == 0) {
			deltas[m - 1] += delta;
			continue;
		}
		sorted[m] = sorted[i];
		deltas[m++] = delta;
	}
	*distinct = m;
	struct buf idlit, dlit;
	buf_init(&idlit);
	buf_init(&dlit);
	array_literal(&idlit, sorted, m);
	buf_puts(&dlit, "{");
	for (int i = 0; i < m; i++)
		buf_printf(&dlit, "%s%lld", i ? "," : "", (long long)deltas[i]);
	buf_puts(&dlit, "}");
	struct args a = {0};
	arg_text(&a, idlit.data);
	int rc = run(c, SQL_NUMBERS_LOCK, &a, NULL);
	if (rc == 0) {
		arg_text(&a, dlit.data);
		rc = run_count(c, SQL_NUMBERS_ADD, &a);
	}
	buf_free(&idlit);
	buf_free(&dlit);
	free(deltas);
	free(sorted);
	return rc;
}

/* ---------------------------------------------------------------- sessions */

/* Chooses and binds a proxy number for participant i of ses (inside the create
 * transaction). Returns 0, a negative maskd_err, or PG_ERETRY when other nodes
 * kept winning the candidates. */
static int bind_participant(struct store_pg *s, struct pg_conn *c, struct session *ses, int i, unsigned need)
{
	struct participant *p = &ses->participants[i];
	char bidx[VAULT_BIDX_LEN + 1];
	vault_blind_index(s->vault, p->number, bidx);
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = vault_seal(s->vault, p->number, p->id, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	bool named = p->proxy_e164[0] != '\0';
	const char *lost[BIND_ATTEMPTS];
	char lost_ids[BIND_ATTEMPTS][ID_MAX];
	int n_lost = 0;
	struct buf lit;
	buf_init(&lit);
	for (int attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
		if (named) {
			struct number n;
			rc = number_by(c, SQL_NUMBER_NAMED, ses->service_id, p->proxy_e164, &n);
			if (rc < 0)
				break;
			if (!pool_named_usable(n.state, n.caps, need, 0, 0)) {
				rc = MASKD_ENOTFOUND;
				break;
			}
			snprintf(p->proxy_number_id, sizeof(p->proxy_number_id), "%s", n.id);
		} else {
			array_literal(&lit, lost, n_lost);
			struct args a = {0};
			arg_text(&a, ses->service_id);
			arg_i64(&a, (int64_t)need);
			arg_text(&a, bidx);
			arg_i64(&a, POOL_CANDIDATES);
			arg_text(&a, lit.data);
			PGresult *r = NULL;
			rc = run(c, SQL_POOL_CANDIDATES, &a, &r);
			if (rc < 0)
				break;
			struct pool_candidate cand[POOL_CANDIDATES];
			char ids[POOL_CANDIDATES][ID_MAX];
			int n = PQntuples(r) < POOL_CANDIDATES ? PQntuples(r) : POOL_CANDIDATES;
			for (int k = 0; k < n; k++) {
				col_text(r, k, 0, ids[k], ID_MAX);
				cand[k].number_id = ids[k];
				cand[k].state = col_int(r, k, 2);
				cand[k].caps = (unsigned)col_int(r, k, 3);
				cand[k].in_use = col_i64(r, k, 4);
				cand[k].created_at = col_i64(r, k, 5);
				cand[k].held = 0;
				/* A number this session already took counts this session, as
				 * in store_sqlite.c, where in_use is bumped at once. */
				for (int j = 0; j < i; j++)
					if (strcmp(ses->participants[j].proxy_number_id, ids[k]) == 0) {
						cand[k].in_use++;
						break;
					}
			}
			int pick = pool_pick_for(cand, (size_t)n, need, 0, NULL);
			if (pick >= 0) {
				snprintf(p->proxy_number_id, sizeof(p->proxy_number_id), "%s", ids[pick]);
				col_text(r, pick, 1, p->proxy_e164, sizeof(p->proxy_e164));
			}
			PQclear(r);
			if (pick < 0) {
				rc = MASKD_EEXHAUSTED;
				break;
			}
		}
		struct args a = {0};
		arg_text(&a, p->id);
		arg_text(&a, ses->id);
		arg_i64(&a, i);
		arg_text(&a, p->label);
		arg_text(&a, p->masked);
		arg_bytes(&a, sealed, sealed_len);
		arg_text(&a, bidx);
		arg_text(&a, p->proxy_number_id);
		arg_text(&a, p->proxy_e164);
		arg_text(&a, p->country);
		rc = run_count(c, SQL_PARTICIPANT_INSERT, &a);
		if (rc < 0)
			break;
		if (rc == 1) {
			rc = 0;
			break;
		}
		/* Another session holds (this real number, that proxy) now. */
		if (named) {
			rc = MASKD_ECONFLICT;
			break;
		}
		log_debug("store: session %s: participant %d lost %s to another session; next candidate", ses->id, i,
			  p->proxy_number_id);
		snprintf(lost_ids[n_lost], ID_MAX, "%s", p->proxy_number_id);
		lost[n_lost] = lost_ids[n_lost];
		n_lost++;
		p->proxy_number_id[0] = '\0';
		p->proxy_e164[0] = '\0';
		rc = PG_ERETRY;
	}
	buf_free(&lit);
	return rc;
}

static int create_once(struct store_pg *s, struct pg_conn *c, struct session *ses, int64_t now, int *failed_index)
{
	unsigned need = pool_caps_for_mode(ses->mode);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	int64_t deadline = session_deadline(ses->expires_at, ses->ttl, now);
	struct args a = {0};
	arg_text(&a, ses->id);
	arg_text(&a, ses->service_id);
	arg_text(&a, ses->unique_name[0] ? ses->unique_name : NULL);
	arg_i64(&a, ses->mode);
	arg_i64(&a, ses->ttl);
	arg_i64(&a, ses->expires_at);
	arg_i64(&a, now);
	if (deadline > 0)
		arg_i64(&a, deadline);
	else
		arg_text(&a, NULL);
	arg_policy(&a, &ses->policy);
	/* unique_name taken among open sessions: the partial unique index says so
	 * (waiting for a concurrent insert of the same name to commit first). */
	rc = run(c, SQL_SESSION_INSERT, &a, NULL);
	if (rc < 0)
		goto fail;
	const char *nums[SESSION_PARTICIPANTS];
	int n_nums = 0;
	for (int i = 0; i < ses->n_participants; i++) {
		rc = bind_participant(s, c, ses, i, need);
		if (rc < 0) {
			*failed_index = i;
			goto fail;
		}
		/* in_use counts sessions: both participants on one number count once */
		const char *id = ses->participants[i].proxy_number_id;
		bool seen = false;
		for (int j = 0; j < n_nums; j++)
			seen |= strcmp(nums[j], id) == 0;
		if (!seen)
			nums[n_nums++] = id;
	}
	int distinct = 0;
	rc = numbers_adjust(c, nums, n_nums, 1, &distinct);
	if (rc >= 0 && rc != distinct) {
		log_info("store: session %s: a chosen number was deleted meanwhile; starting over", ses->id);
		rc = PG_ERETRY;
	}
	if (rc < 0)
		goto fail;
	rc = tx_commit(c);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	tx_rollback(c);
	if (rc == MASKD_EDB && retryable(c))
		rc = PG_ERETRY;
	return rc;
}

static int pg_session_create(void *b, struct session *ses, const struct create_rules *rules, int64_t now,
			     struct create_outcome *outcome)
{
	(void)rules;
	int *failed_index = &outcome->failed_index;
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	char named[SESSION_PARTICIPANTS][PHONE_E164_MAX + 1];
	assert(ses->n_participants <= SESSION_PARTICIPANTS);
	int n = ses->n_participants < SESSION_PARTICIPANTS ? ses->n_participants : SESSION_PARTICIPANTS;
	for (int i = 0; i < n; i++)
		memcpy(named[i], ses->participants[i].proxy_e164, sizeof(named[i]));
	ses->status = SESSION_OPEN;
	ses->created_at = ses->updated_at = ses->last_activity_at = now;
	ses->closed_at = 0;
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++) {
		*failed_index = -1;
		for (int i = 0; i < n; i++) {
			memcpy(ses->participants[i].proxy_e164, named[i], sizeof(named[i]));
			ses->participants[i].proxy_number_id[0] = '\0';
		}
		rc = create_once(s, c, ses, now, failed_index);
	}
	if (rc == PG_ERETRY) {
		log_warn("store: session %s: still losing races after %d attempts", ses->id, TX_ATTEMPTS);
		rc = MASKD_EDB;
	}
	return rc;
}

static void read_session(const PGresult *r, int row, struct session *s)
{
	memset(s, 0, sizeof(*s));
	col_text(r, row, 0, s->id, sizeof(s->id));
	col_text(r, row, 1, s->service_id, sizeof(s->service_id));
	col_text(r, row, 2, s->unique_name, sizeof(s->unique_name));
	s->mode = col_int(r, row, 3);
	s->status = col_int(r, row, 4);
	s->ttl = col_i64(r, row, 5);
	s->expires_at = col_i64(r, row, 6);
	s->created_at = col_i64(r, row, 7);
	s->updated_at = col_i64(r, row, 8);
	s->last_activity_at = col_i64(r, row, 9);
	s->closed_at = col_i64(r, row, 10);
	read_policy(r, row, 11, &s->policy);
}

static int read_participants(struct pg_conn *c, struct session *s)
{
	struct args a = {0};
	arg_text(&a, s->id);
	PGresult *r = NULL;
	int rc = run(c, SQL_PARTICIPANTS_OF, &a, &r);
	if (rc < 0)
		return rc;
	s->n_participants = 0;
	for (int i = 0; i < PQntuples(r) && s->n_participants < SESSION_PARTICIPANTS; i++) {
		struct participant *p = &s->participants[s->n_participants++];
		col_text(r, i, 0, p->id, sizeof(p->id));
		col_text(r, i, 1, p->label, sizeof(p->label));
		col_text(r, i, 2, p->masked, sizeof(p->masked));
		col_text(r, i, 3, p->proxy_number_id, sizeof(p->proxy_number_id));
		col_text(r, i, 4, p->proxy_e164, sizeof(p->proxy_e164));
		col_text(r, i, 5, p->country, sizeof(p->country));
		p->number[0] = '\0';
	}
	PQclear(r);
	return 0;
}

static int pg_session_get(void *b, const char *id, struct session *out)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, id);
	PGresult *r = NULL;
	int rc = run(c, SQL_SESSION_GET, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return MASKD_ENOTFOUND;
	}
	read_session(r, 0, out);
	PQclear(r);
	return read_participants(c, out);
}

static int pg_session_list(void *b, const char *service_id, const struct session_filter *f,
			   void (*cb)(void *, const struct session *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, service_id);
	arg_i64(&a, f->status);
	arg_text(&a, f->unique_name);
	arg_text(&a, f->after_id);
	arg_i64(&a, f->limit);
	PGresult *r = NULL;
	int rc = run(c, SQL_SESSION_LIST, &a, &r);
	if (rc < 0)
		return rc;
	int cap = f->limit > 0 ? f->limit : 1;
	int n = PQntuples(r) < cap ? PQntuples(r) : cap;
	for (int i = 0; i < n && rc == 0; i++) {
		struct session row;
		read_session(r, i, &row);
		rc = read_participants(c, &row);
		if (rc == 0)
			cb(ctx, &row);
	}
	PQclear(r);
	return rc;
}

/* Closes the open sessions among ids (a PostgreSQL array literal) and releases
 * their bindings, inside a transaction. *closed (when not NULL) gets the result
 * whose rows are the ids this call closed (caller PQclear()s). Returns how many
 * it closed or a negative maskd_err. */
static int close_in_tx(struct pg_conn *c, const char *ids, int64_t now, PGresult **closed)
{
	struct args a = {0};
	arg_text(&a, ids);
	arg_i64(&a, now);
	PGresult *r = NULL;
	int rc = run(c, SQL_SESSIONS_CLOSE, &a, &r);
	if (rc < 0)
		return rc;
	int n = PQntuples(r);
	if (n == 0) {
		PQclear(r);
		return 0;
	}
	struct buf lit;
	buf_init(&lit);
	const char **v = xmalloc((size_t)n * sizeof(*v));
	for (int i = 0; i < n; i++)
		v[i] = PQgetvalue(r, i, 0);
	array_literal(&lit, v, n);
	free(v);
	struct args ra = {0};
	arg_text(&ra, lit.data);
	PGresult *rel = NULL;
	rc = run(c, SQL_BINDINGS_RELEASE, &ra, &rel);
	buf_free(&lit);
	if (rc == 0) {
		int m = PQntuples(rel);
		const char **nums = xmalloc(((size_t)m + 1) * sizeof(*nums));
		for (int i = 0; i < m; i++)
			nums[i] = PQgetvalue(rel, i, 1);
		int distinct = 0;
		rc = numbers_adjust(c, nums, m, -1, &distinct);
		free(nums);
		PQclear(rel);
	}
	if (rc < 0) {
		PQclear(r);
		return rc;
	}
	if (closed != NULL)
		*closed = r;
	else
		PQclear(r);
	return n;
}

static int close_once(struct pg_conn *c, const char *id, int64_t now)
{
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct buf lit;
	buf_init(&lit);
	array_literal(&lit, &id, 1);
	rc = close_in_tx(c, lit.data, now, NULL);
	buf_free(&lit);
	if (rc == 0) {
		struct args a = {0};
		arg_text(&a, id);
		int n = run_count(c, SQL_SESSION_EXISTS, &a);
		rc = n < 0 ? n : n == 0 ? MASKD_ENOTFOUND : 0;
	}
	if (rc >= 0)
		rc = tx_commit(c);
	if (rc < 0) {
		tx_rollback(c);
		if (rc == MASKD_EDB && retryable(c))
			rc = PG_ERETRY;
	}
	return rc < 0 ? rc : 0;
}

static int pg_session_close(void *b, const char *id, int status, int64_t now)
{
	(void)status;
	CONN_OR_FAIL(b, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = close_once(c, id, now);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

static int update_once(struct pg_conn *c, const char *id, const int64_t *ttl, const int64_t *expires_at,
		       int64_t now)
{
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct args a = {0};
	arg_text(&a, id);
	PGresult *r = NULL;
	rc = run(c, SQL_SESSION_TIMES_LOCK, &a, &r);
	if (rc < 0)
		goto done;
	if (PQntuples(r) == 0) {
		PQclear(r);
		rc = MASKD_ENOTFOUND;
		goto done;
	}
	int64_t cur_ttl = col_i64(r, 0, 1), cur_exp = col_i64(r, 0, 2), last = col_i64(r, 0, 3);
	PQclear(r);
	if (ttl != NULL)
		cur_ttl = *ttl;
	if (expires_at != NULL)
		cur_exp = *expires_at;
	int64_t deadline = session_deadline(cur_exp, cur_ttl, last);
	arg_i64(&a, cur_ttl);
	arg_i64(&a, cur_exp);
	if (deadline > 0)
		arg_i64(&a, deadline);
	else
		arg_text(&a, NULL);
	arg_i64(&a, now);
	rc = run(c, SQL_SESSION_SET_TIMES, &a, NULL);
	if (rc == 0)
		rc = tx_commit(c);
done:
	if (rc < 0) {
		tx_rollback(c);
		if (rc == MASKD_EDB && retryable(c))
			rc = PG_ERETRY;
	}
	return rc;
}

static int pg_session_update(void *b, const char *id, const int64_t *ttl, const int64_t *expires_at, int64_t now)
{
	CONN_OR_FAIL(b, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = update_once(c, id, ttl, expires_at, now);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

static int expire_once(struct pg_conn *c, int64_t now, int limit, int *closed)
{
	*closed = 0;
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct args a = {0};
	arg_i64(&a, now);
	arg_i64(&a, limit);
	PGresult *due = NULL;
	rc = run(c, SQL_EXPIRE_DUE, &a, &due);
	if (rc < 0)
		goto done;
	int n = PQntuples(due) < limit ? PQntuples(due) : limit;
	if (n > 0) {
		struct buf lit;
		buf_init(&lit);
		const char **v = xmalloc((size_t)n * sizeof(*v));
		for (int i = 0; i < n; i++)
			v[i] = PQgetvalue(due, i, 0);
		array_literal(&lit, v, n);
		free(v);
		PGresult *done_rows = NULL;
		rc = close_in_tx(c, lit.data, now, &done_rows);
		buf_free(&lit);
		if (rc > 0) {
			rc = tx_commit(c);
			if (rc == 0) {
				*closed = PQntuples(done_rows);
				for (int i = 0; i < *closed; i++)
					log_info("session %s closed: expired", PQgetvalue(done_rows, i, 0));
			}
			PQclear(done_rows);
		}
	}
	PQclear(due);
	if (rc >= 0 && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		rc = tx_commit(c);
done:
	if (rc < 0) {
		tx_rollback(c);
		*closed = 0;
		if (rc == MASKD_EDB && retryable(c))
			rc = PG_ERETRY;
	}
	return rc < 0 ? rc : 0;
}

static int pg_sessions_expire(void *b, int64_t now, int limit, int *closed)
{
	CONN_OR_FAIL(b, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = expire_once(c, now, limit, closed);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

/* ---------------------------------------------------------------- webhooks */

static int pg_route_lookup(void *b, const char *to_e164, const char *from_e164, struct route_view *out)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	memset(out, 0, sizeof(*out));
	char bidx[VAULT_BIDX_LEN + 1];
	vault_blind_index(s->vault, from_e164, bidx);
	struct args a = {0};
	arg_text(&a, to_e164);
	arg_text(&a, bidx);
	PGresult *r = NULL;
	int rc = run(c, SQL_ROUTE_LOOKUP, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0; /* number.id "" tells the caller */
	}
	read_number(r, 0, 0, &out->number);
	if (!PQgetisnull(r, 0, 10)) {
		col_text(r, 0, 10, out->session_id, sizeof(out->session_id));
		out->session_status = col_int(r, 0, 11);
		out->session_mode = col_int(r, 0, 12);
		out->session_ttl = col_i64(r, 0, 13);
		out->session_expires_at = col_i64(r, 0, 14);
		out->session_last_activity_at = col_i64(r, 0, 15);
		col_text(r, 0, 16, out->from_participant, sizeof(out->from_participant));
		col_text(r, 0, 17, out->to_participant, sizeof(out->to_participant));
		col_text(r, 0, 19, out->to_proxy_e164, sizeof(out->to_proxy_e164));
		col_text(r, 0, 20, out->to_country, sizeof(out->to_country));
		read_policy(r, 0, 21, &out->session_policy);
		if (!PQgetisnull(r, 0, 18) && col_unseal(s->vault, r, 0, 18, out->to_participant, out->to_number,
							  sizeof(out->to_number)) < 0) {
			log_error("store: participant %s: sealed number does not open", out->to_participant);
			rc = MASKD_ECRYPTO;
		}
	}
	PQclear(r);
	return rc;
}

static void read_interaction(const PGresult *r, int row, struct interaction *it)
{
	memset(it, 0, sizeof(*it));
	col_text(r, row, 0, it->id, sizeof(it->id));
	col_text(r, row, 1, it->session_id, sizeof(it->session_id));
	col_text(r, row, 2, it->service_id, sizeof(it->service_id));
	it->channel = col_int(r, row, 3);
	it->carrier = col_int(r, row, 4);
	col_text(r, row, 5, it->carrier_sid, sizeof(it->carrier_sid));
	it->decision = col_int(r, row, 6);
	col_text(r, row, 7, it->from_participant, sizeof(it->from_participant));
	col_text(r, row, 8, it->to_participant, sizeof(it->to_participant));
	it->created_at = col_i64(r, row, 9);
}

/* The 13 parameters of SQL_LEG_INSERT and SQL_LEG_UPSERT. Unreported fields are
 * NULL for the upsert (kept on update) and their defaults for a plain insert. */
static void leg_args(struct args *a, const char *interaction_id, const char *legname, const char *carrier_sid,
		     const struct leg_update *u, int64_t now, int64_t ended_at, bool defaults, char id[ID_MAX])
{
	const char *vals[5] = {u->status, u->recording_id, u->recording_url, u->cost, u->currency};
	const char *dflt[5] = {"unknown", "", "", "", ""};
	for (int k = 0; k < 5; k++)
		vals[k] = nonempty(vals[k]) ? vals[k] : defaults ? dflt[k] : NULL;
	id_new("leg", id);
	arg_text(a, id);
	arg_text(a, interaction_id);
	arg_text(a, legname);
	arg_text(a, carrier_sid);
	arg_text(a, vals[0]);
	arg_i64(a, u->duration);
	arg_i64(a, now);
	arg_i64(a, ended_at);
	arg_i64(a, u->answered ? now : 0);
	for (int k = 1; k < 5; k++)
		arg_text(a, vals[k]);
}

static int record_once(struct pg_conn *c, struct interaction *it, int *existed)
{
	*existed = 0;
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct args a = {0};
	arg_text(&a, it->id);
	arg_text(&a, it->session_id);
	arg_text(&a, it->service_id);
	arg_i64(&a, it->channel);
	arg_i64(&a, it->carrier);
	arg_text(&a, it->carrier_sid);
	arg_i64(&a, it->decision);
	arg_text(&a, it->from_participant);
	arg_text(&a, it->to_participant);
	arg_i64(&a, it->created_at);
	/* A parallel retry of the same webhook waits here for the first to commit,
	 * then inserts nothing. */
	rc = run_count(c, SQL_INTERACTION_INSERT, &a);
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		/* A retried webhook: answer it the way the first one was answered. */
		tx_rollback(c);
		struct args sa = {0};
		arg_i64(&sa, it->carrier);
		arg_text(&sa, it->carrier_sid);
		PGresult *r = NULL;
		rc = run(c, SQL_INTERACTION_BY_SID, &sa, &r);
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
	char legid[ID_MAX];
	struct args la = {0};
	struct leg_update received = {.status = "received", .duration = -1};
	leg_args(&la, it->id, "a", it->carrier_sid, &received, it->created_at, 0, true, legid);
	rc = run_count(c, SQL_LEG_INSERT, &la);
	if (rc == 0)
		rc = MASKD_ENOTFOUND; /* no such interaction (or its participant) */
	if (rc < 0)
		goto fail;
	if (it->decision == DECISION_BRIDGE || it->decision == DECISION_FORWARD_MESSAGE) {
		struct args ta = {0};
		arg_text(&ta, it->session_id);
		PGresult *r = NULL;
		rc = run(c, SQL_SESSION_TIMES_LOCK, &ta, &r);
		if (rc < 0)
			goto fail;
		bool open = PQntuples(r) > 0 && col_int(r, 0, 0) < SESSION_CLOSED;
		int64_t ttl = open ? col_i64(r, 0, 1) : 0, exp = open ? col_i64(r, 0, 2) : 0;
		PQclear(r);
		if (open) {
			int64_t deadline = session_deadline(exp, ttl, it->created_at);
			arg_i64(&ta, SESSION_IN_PROGRESS);
			arg_i64(&ta, it->created_at);
			if (deadline > 0)
				arg_i64(&ta, deadline);
			else
				arg_text(&ta, NULL);
			rc = run(c, SQL_SESSION_TOUCH, &ta, NULL);
			if (rc < 0)
				goto fail;
		}
	}
	rc = tx_commit(c);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	tx_rollback(c);
	if (rc == MASKD_EDB && retryable(c))
		rc = PG_ERETRY;
	return rc;
}

static int pg_interaction_record(void *b, struct interaction *it, int *existed)
{
	CONN_OR_FAIL(b, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = record_once(c, it, existed);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

static void read_leg(const PGresult *r, int row, int col, struct leg *l)
{
	memset(l, 0, sizeof(*l));
	col_text(r, row, col, l->id, sizeof(l->id));
	const char *leg = PQgetvalue(r, row, col + 1);
	l->leg = leg[0] ? leg[0] : '?';
	col_text(r, row, col + 2, l->carrier_sid, sizeof(l->carrier_sid));
	col_text(r, row, col + 3, l->status, sizeof(l->status));
	l->duration = col_i64(r, row, col + 4);
	l->started_at = col_i64(r, row, col + 5);
	l->answered_at = col_i64(r, row, col + 6);
	l->ended_at = col_i64(r, row, col + 7);
	col_text(r, row, col + 8, l->proxy_number, sizeof(l->proxy_number));
	col_text(r, row, col + 9, l->other_country, sizeof(l->other_country));
	col_text(r, row, col + 10, l->recording_id, sizeof(l->recording_id));
	col_text(r, row, col + 11, l->recording_url, sizeof(l->recording_url));
	col_text(r, row, col + 12, l->cost, sizeof(l->cost));
	col_text(r, row, col + 13, l->currency, sizeof(l->currency));
}

static int read_legs(struct pg_conn *c, struct interaction *it)
{
	struct args a = {0};
	arg_text(&a, it->id);
	PGresult *r = NULL;
	int rc = run(c, SQL_LEGS_OF, &a, &r);
	if (rc < 0)
		return rc;
	it->n_legs = 0;
	for (int i = 0; i < PQntuples(r) && it->n_legs < INTERACTION_LEGS_MAX; i++)
		read_leg(r, i, 0, &it->legs[it->n_legs++]);
	PQclear(r);
	return 0;
}

static int pg_interaction_get(void *b, const char *id, struct interaction *out)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, id);
	PGresult *r = NULL;
	int rc = run(c, SQL_INTERACTION_GET, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return MASKD_ENOTFOUND;
	}
	read_interaction(r, 0, out);
	PQclear(r);
	return read_legs(c, out);
}

static int pg_interaction_by_sid(void *b, int carrier, const char *carrier_sid, struct interaction *out)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_i64(&a, carrier);
	arg_text(&a, carrier_sid);
	PGresult *r = NULL;
	int rc = run(c, SQL_INTERACTION_BY_SID, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return MASKD_ENOTFOUND;
	}
	read_interaction(r, 0, out);
	PQclear(r);
	return read_legs(c, out);
}

static int pg_interaction_list(void *b, const char *session_id, void (*cb)(void *, const struct interaction *),
			       void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, session_id);
	PGresult *r = NULL;
	int rc = run(c, SQL_INTERACTION_LIST, &a, &r);
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

static int pg_leg_update(void *b, const char *interaction_id, char leg, const char *carrier_sid,
			 const struct leg_update *u, int64_t now)
{
	CONN_OR_FAIL(b, c);
	char legname[2] = {leg, '\0'};
	int64_t ended = leg_status_final(u->status) ? now : 0;
	char id[ID_MAX];
	struct args a = {0};
	leg_args(&a, interaction_id, legname, carrier_sid, u, now, ended, false, id);
	int n = run_count(c, SQL_LEG_UPSERT, &a);
	if (n == 0)
		return MASKD_ENOTFOUND; /* no such interaction (or its participant) */
	return n < 0 ? n : 0;
}

static int pg_participant_number(void *b, const char *participant_id, char *out, size_t cap)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	struct args a = {0};
	arg_text(&a, participant_id);
	PGresult *r = NULL;
	int rc = run(c, SQL_PARTICIPANT_NUMBER, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0)
		rc = MASKD_ENOTFOUND;
	else
		rc = col_unseal(s->vault, r, 0, 0, participant_id, out, cap);
	PQclear(r);
	return rc;
}

static int pg_stats(void *b, struct store_stats *out)
{
	CONN_OR_FAIL(b, c);
	PGresult *r = NULL;
	int rc = run(c, SQL_STATS, NULL, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		out->services = col_i64(r, 0, 0);
		out->numbers = col_i64(r, 0, 1);
		out->sessions_open = col_i64(r, 0, 2);
		out->bindings_active = col_i64(r, 0, 3);
		out->interactions = col_i64(r, 0, 4);
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

/* Streams the rows (an export may span months): cb runs while this thread's
 * connection is still reading the result, so cb must not call the store. */
static int pg_records(void *b, const char *service_id, int64_t from, int64_t to,
		      int (*cb)(void *, const struct interaction *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, service_id);
	arg_i64(&a, from);
	arg_i64(&a, to);
	struct records_ctx *rctx = xcalloc(1, sizeof(*rctx));
	rctx->cb = cb;
	rctx->ctx = ctx;
	int rc = run_rows(c, SQL_RECORDS, &a, records_row, rctx);
	free(rctx);
	return rc;
}

static int pg_usage(void *b, const char *service_id, int64_t from, int64_t to,
		    void (*cb)(void *, const struct usage_day *), void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, service_id);
	arg_i64(&a, from);
	arg_i64(&a, to);
	PGresult *r = NULL;
	int rc = run(c, SQL_USAGE, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct usage_day u = {
			.day = col_i64(r, i, 0),
			.calls = col_i64(r, i, 1),
			.messages = col_i64(r, i, 2),
			.billable_seconds = col_i64(r, i, 3),
		};
		cb(ctx, &u);
	}
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- issue 4 (in progress) */

static int pg_session_reopen(void *b, const char *id, const int64_t *expires_at, int64_t now, int *failed_index)
{ (void)b; (void)id; (void)expires_at; (void)now; *failed_index = -1; return MASKD_EINVAL; }
static int pg_participant_add(void *b, const char *session_id, struct participant *p, const struct create_rules *rules,
			       int64_t now, struct create_outcome *out)
{ (void)b; (void)session_id; (void)p; (void)rules; (void)now; out->failed_index = -1; return MASKD_EINVAL; }
static int pg_participant_swap(void *b, const char *session_id, const char *participant_id, struct participant *p,
				const struct create_rules *rules, int64_t now)
{ (void)b; (void)session_id; (void)participant_id; (void)p; (void)rules; (void)now; return MASKD_EINVAL; }
static int pg_bindings_release(void *b, int64_t now, int limit, int *released)
{ (void)b; (void)now; (void)limit; *released = 0; return 0; }
static int pg_session_events(void *b, const char *session_id, void (*cb)(void *, const struct session_event *), void *ctx)
{ (void)b; (void)session_id; (void)cb; (void)ctx; return 0; }
static int pg_pin_lookup(void *b, const char *service_id, const char *pin, const char *from_e164, struct route_view *out)
{ (void)b; (void)service_id; (void)pin; (void)from_e164; (void)out; return MASKD_ENOTFOUND; }
static int pg_optout_set(void *b, const char *service_id, const char *from_e164, const char *number_id, int opted_out, int64_t now)
{ (void)b; (void)service_id; (void)from_e164; (void)number_id; (void)opted_out; (void)now; return 0; }
static int pg_pool_stats(void *b, const char *service_id, struct pool_stats *out)
{ (void)b; (void)service_id; memset(out, 0, sizeof(*out)); return 0; }

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.ping = pg_ping,
	.setting_get = pg_setting_get,
	.setting_put = pg_setting_put,
	.setting_add = pg_setting_add,
	.service_insert = pg_service_insert,
	.service_get = pg_service_get,
	.service_list = pg_service_list,
	.number_insert = pg_number_insert,
	.number_get = pg_number_get,
	.number_list = pg_number_list,
	.number_set_state = pg_number_set_state,
	.number_delete = pg_number_delete,
	.session_create = pg_session_create,
	.session_get = pg_session_get,
	.session_list = pg_session_list,
	.session_close = pg_session_close,
	.session_update = pg_session_update,
	.sessions_expire = pg_sessions_expire,
	.route_lookup = pg_route_lookup,
	.interaction_record = pg_interaction_record,
	.interaction_get = pg_interaction_get,
	.interaction_by_sid = pg_interaction_by_sid,
	.interaction_list = pg_interaction_list,
	.leg_update = pg_leg_update,
	.participant_number = pg_participant_number,
	.stats = pg_stats,
	.records = pg_records,
	.usage = pg_usage,
	.session_reopen = pg_session_reopen,
	.participant_add = pg_participant_add,
	.participant_swap = pg_participant_swap,
	.bindings_release = pg_bindings_release,
	.session_events = pg_session_events,
	.pin_lookup = pg_pin_lookup,
	.optout_set = pg_optout_set,
	.pool_stats = pg_pool_stats,
};
