/* SPDX-License-Identifier: MIT */
/* store_sqlite.c - the embedded SQLite backend of store.h (WAL, one connection for
 * the process behind a mutex, statements prepared once and reused).
 * Writes that decide ownership run in BEGIN IMMEDIATE transactions and rely on
 * the unique indexes of the schema; SQLite serialises writers, so a conflict
 * here means a rule was broken, not a race lost. The SQL is kept to what
 * PostgreSQL also accepts, for the backend that follows. */
#include "store_backend.h"
#include "sql_lifecycle.h"
#include "migrations.h"
#include "sql_common.h"
#include "../core/session.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/xmalloc.h"
#include "../vault/vault.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SQLITE_BUSY_TIMEOUT_MS 10000

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
	SQL_NUMBER_SET_REGION,
	SQL_NUMBER_DELETE,
	SQL_NUMBER_IN_USE,
	SQL_UNIQUE_NAME_TAKEN,
	SQL_NUMBER_INC,
	SQL_NUMBER_DEC,
	SQL_SESSION_GET,
	SQL_PARTICIPANTS_OF,
	SQL_SESSION_LIST,
	SQL_BINDINGS_OF,
	SQL_SESSION_TIMES,
	SQL_LC_SESSION_LOCK,
	SQL_LC_PARTS,
	SQL_LC_SESSION_PUT,
	SQL_LC_OPEN_TAKEN,
	SQL_LC_BINDING_KEEP,
	SQL_LC_IN_USE_ADD,
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
	SQL_NUMBER_OF_SERVICE,
	SQL_NUMBER_STATE,
	SQL_NUMBER_RELEASE_COOLING,
	SQL_NUMBER_OPTOUTS_DELETE,
	SQL_PIN_TAKEN,
	SQL_STICKY,
	SQL_SESSION_BRIEF,
	SQL_PARTS_BRIEF,
	SQL_BINDINGS_COOL,
	SQL_BINDINGS_RELEASE_DUE,
	SQL_BINDING_TAKE,
	SQL_SET_PEER,
	SQL_PARTICIPANT_MOVE,
	SQL_SESSION_UPDATED,
	SQL_EVENT_INSERT,
	SQL_EVENTS_OF,
	SQL_PIN_LOOKUP,
	SQL_OPTOUT_ADD,
	SQL_OPTOUT_DEL,
	SQL_POOL_STATS,
	SQL_SERVICE_UPDATE,
	SQL_SECRET_DELETE,
	SQL_PURGE_DUE,
	SQL_NUMBERS_PURGE,
	SQL_SESSION_PURGED,
	SQL_TX_POOL_FREE,
	SQL_TX_POOL_COOLING,
	SQL_TX_POOL_COUNT,
	SQL_TX_HOLDS,
	SQL_TX_HOLDER,
	SQL_TX_BINDING_DROP,
	SQL_TX_NUMBER_BY_ID,
	SQL_TX_NUMBER_BY_E164,
	SQL_TX_PARTICIPANT_INSERT,
	SQL_TX_PARTICIPANT_MOVE,
	SQL_TX_PEER_SET,
	SQL_TX_NUMBER_COUNT,
	SQL_TX_NUMBER_UNCOUNT,
	SQL_TX_NUMBER_EXISTS,
	SQL_TX_UNIQUE_NAME,
	SQL_TX_SESSION_BIDX,
	SQL_TX_PIN_TAKEN,
	SQL_TX_SESSION_INSERT,
	SQL_TX_PART_ROWS,
	SQL_TX_SESSION_TOUCH,
	SQL_COUNT
};

#define NUMBER_COLS "n.id, n.service_id, n.e164, n.carrier, n.caps, n.country, n.area_code, n.state, n.in_use, n.created_at, n.region"
#define NUMBER_NCOLS 11
/* number.cooling, for number_get and number_list (participants_number_cooling) */
#define NUMBER_COOLING "(SELECT COUNT(*) FROM participants c WHERE c.proxy_number_id = n.id AND c.active = 1 AND c.held_until IS NOT NULL)"
#define SESSION_COLS "id, service_id, unique_name, mode, status, ttl, expires_at, created_at, updated_at, last_activity_at, closed_at, " POLICY_COLS ", pin"
#define INTERACTION_COLS "id, session_id, service_id, channel, carrier, carrier_sid, decision, from_participant, to_participant, created_at"
#define LEG_COLS "l.id, l.leg, l.carrier_sid, l.status, l.duration, l.started_at, l.answered_at, l.ended_at, l.proxy_number, l.other_country, l.recording_id, l.recording_url, l.cost, l.currency"
#define POLICY_COLS "record, time_limit, ring_timeout, consent_message"
#define SERVICE_COLS                                                                                              \
	"id, name, mode, ttl, unknown_caller_message, created_at, " POLICY_COLS ", geo_match, geo_match_strict, "      \
	"number_selection, cooloff, cooloff_reuse, number_cap, unknown_caller, fallback_number, pin_number, pin_length, " \
	"pin_attempts, callback_url, callback_timeout_ms, callback_fail_open, ended_message, help_text, rate_calls, "   \
	"rate_texts, rate_silent"
/* What route_lookup and pin_lookup read about the caller's session (s), the
 * caller's participant row (p) and the other one (o, absent while single-party). */
#define ROUTE_TAIL_COLS                                                                                           \
	"s.id, s.status, s.mode, s.ttl, s.expires_at, s.last_activity_at, p.id, o.id, o.number_sealed, o.proxy_e164, " \
	"o.country, s.record, s.time_limit, s.ring_timeout, s.consent_message, "                                      \
	"EXISTS (SELECT 1 FROM optouts x WHERE x.bidx = o.bidx AND x.number_id = o.proxy_number_id)"

/* the placeholder of parameter n in the shared SQL of sql_lifecycle.h */
#define LC_P(n) "?" #n

static const char *const sql_text[SQL_COUNT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_PING] = "SELECT 1",
	[SQL_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
	[SQL_SETTING_PUT] = "INSERT INTO settings (key, value) VALUES (?1, ?2) "
			    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[SQL_SETTING_ADD] = "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
	[SQL_SERVICE_INSERT] = "INSERT INTO services (" SERVICE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
			       "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)",
	[SQL_SECRET_INSERT] = "INSERT INTO service_secrets (service_id, carrier, sealed) VALUES (?1, ?2, ?3)",
	[SQL_SERVICE_GET] = "SELECT " SERVICE_COLS " FROM services WHERE id = ?1",
	[SQL_SECRETS_GET] = "SELECT carrier, sealed FROM service_secrets WHERE service_id = ?1",
	[SQL_SERVICE_LIST] = "SELECT id FROM services ORDER BY created_at, id",
	/* the parameters of SQL_SERVICE_INSERT (?6, created_at, is not changed) */
	[SQL_SERVICE_UPDATE] =
		"UPDATE services SET name = ?2, mode = ?3, ttl = ?4, unknown_caller_message = ?5, record = ?7, "
		"time_limit = ?8, ring_timeout = ?9, consent_message = ?10, geo_match = ?11, geo_match_strict = ?12, "
		"number_selection = ?13, cooloff = ?14, cooloff_reuse = ?15, number_cap = ?16, unknown_caller = ?17, "
		"fallback_number = ?18, pin_number = ?19, pin_length = ?20, pin_attempts = ?21, callback_url = ?22, "
		"callback_timeout_ms = ?23, callback_fail_open = ?24, ended_message = ?25, help_text = ?26, "
		"rate_calls = ?27, rate_texts = ?28, rate_silent = ?29 WHERE id = ?1",
	[SQL_SECRET_DELETE] = "DELETE FROM service_secrets WHERE service_id = ?1 AND carrier = ?2",
	[SQL_NUMBER_INSERT] = "INSERT INTO numbers (id, service_id, e164, carrier, caps, country, area_code, state, in_use, "
			      "created_at, region) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10)",
	[SQL_NUMBER_GET] = "SELECT " NUMBER_COLS ", " NUMBER_COOLING " FROM numbers n WHERE n.id = ?1",
	[SQL_NUMBER_LIST] = "SELECT " NUMBER_COLS ", " NUMBER_COOLING " FROM numbers n WHERE n.service_id = ?1 "
			    "ORDER BY n.created_at, n.id",
	[SQL_NUMBER_SET_STATE] = "UPDATE numbers SET state = ?2 WHERE id = ?1",
	[SQL_NUMBER_SET_REGION] = "UPDATE numbers SET region = ?2 WHERE id = ?1",
	[SQL_NUMBER_DELETE] = "DELETE FROM numbers WHERE id = ?1 AND in_use = 0",
	[SQL_NUMBER_IN_USE] = "SELECT in_use FROM numbers WHERE id = ?1",
	[SQL_UNIQUE_NAME_TAKEN] = "SELECT id FROM sessions WHERE service_id = ?1 AND unique_name = ?2 AND status < 2",
	[SQL_NUMBER_INC] = "UPDATE numbers SET in_use = in_use + 1 WHERE id = ?1",
	[SQL_NUMBER_DEC] = "UPDATE numbers SET in_use = in_use - 1 WHERE id = ?1 AND in_use > 0",
	[SQL_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1",
	[SQL_PARTICIPANTS_OF] = "SELECT id, label, masked, proxy_number_id, proxy_e164, country FROM participants "
				"WHERE session_id = ?1 ORDER BY idx",
	[SQL_SESSION_LIST] =
		"SELECT " SESSION_COLS " FROM sessions WHERE service_id = ?1 AND (?2 < 0 OR status = ?2) "
		"AND (?3 IS NULL OR unique_name = ?3) AND (?4 IS NULL OR (created_at, id) > "
		"(SELECT created_at, id FROM sessions WHERE id = ?4)) ORDER BY created_at, id LIMIT ?5",
	[SQL_BINDINGS_OF] = "SELECT proxy_number_id FROM participants WHERE session_id = ?1 AND active = 1",
	[SQL_SESSION_TIMES] = "SELECT status, ttl, expires_at, last_activity_at FROM sessions WHERE id = ?1",
	/* the lifecycle primitives (store_tx_* in store.h); status values are bound */
	[SQL_LC_SESSION_LOCK] = LC_SQL_SESSION_LOCK,
	[SQL_LC_PARTS] = LC_SQL_PARTS,
	[SQL_LC_SESSION_PUT] = LC_SQL_SESSION_PUT,
	[SQL_LC_OPEN_TAKEN] = LC_SQL_OPEN_TAKEN,
	[SQL_LC_BINDING_KEEP] = LC_SQL_BINDING_KEEP,
	[SQL_LC_IN_USE_ADD] = "UPDATE numbers SET in_use = MAX(in_use + ?2, 0) WHERE id = ?1",
	[SQL_EXPIRE_DUE] = LC_SQL_SESSIONS_DUE,
	[SQL_ROUTE_LOOKUP] =
		"SELECT " NUMBER_COLS ", " ROUTE_TAIL_COLS " FROM numbers n "
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
	/* a purged number (empty blob, store_tx_session_purge) is not found */
	[SQL_PARTICIPANT_NUMBER] = "SELECT number_sealed FROM participants WHERE id = ?1 AND number_sealed <> x''",
	/* bindings_active = held (bindings index) minus cooling (participants_cooling) */
	[SQL_STATS] = "SELECT (SELECT COUNT(*) FROM services), (SELECT COUNT(*) FROM numbers), "
		      "(SELECT COUNT(*) FROM numbers WHERE state = 0), (SELECT COUNT(*) FROM sessions WHERE status < 2), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1 AND held_until IS NOT NULL), "
		      "(SELECT COUNT(*) FROM interactions)",
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
	[SQL_NUMBER_OF_SERVICE] = "SELECT " NUMBER_COLS " FROM numbers n WHERE n.id = ?1 AND n.service_id = ?2",
	[SQL_NUMBER_STATE] = "SELECT state FROM numbers WHERE id = ?1",
	[SQL_NUMBER_RELEASE_COOLING] =
		"UPDATE participants SET active = 0 WHERE proxy_number_id = ?1 AND active = 1 AND held_until IS NOT NULL",
	[SQL_NUMBER_OPTOUTS_DELETE] = "DELETE FROM optouts WHERE number_id = ?1",
	[SQL_PIN_TAKEN] = "SELECT 1 FROM sessions WHERE service_id = ?1 AND pin = ?2 AND status < 2",
	/* the pair's most recent participant row in this service (participants_sticky) */
	[SQL_STICKY] = "SELECT p.proxy_number_id FROM participants p JOIN numbers n ON n.id = p.proxy_number_id "
		       "WHERE p.bidx = ?1 AND p.peer_bidx = ?2 AND n.service_id = ?3 "
		       "ORDER BY p.created_at DESC, p.rowid DESC LIMIT 1",
	[SQL_SESSION_BRIEF] = "SELECT s.status, s.service_id, s.mode, v.cooloff, s.unique_name, s.pin, s.ttl, s.expires_at "
			      "FROM sessions s JOIN services v ON v.id = s.service_id WHERE s.id = ?1",
	[SQL_PARTS_BRIEF] = "SELECT id, idx, bidx, peer_bidx, proxy_number_id, proxy_e164, active FROM participants "
			    "WHERE session_id = ?1 ORDER BY idx",
	[SQL_BINDINGS_COOL] = LC_SQL_BINDINGS_HOLD,
	[SQL_BINDINGS_RELEASE_DUE] =
		"UPDATE participants SET active = 0 WHERE rowid IN (SELECT rowid FROM participants "
		"WHERE active = 1 AND held_until IS NOT NULL AND held_until <= ?1 ORDER BY held_until LIMIT ?2)",
	[SQL_BINDING_TAKE] = LC_SQL_BINDING_TAKE,
	[SQL_SET_PEER] = "UPDATE participants SET peer_bidx = ?2 WHERE id = ?1",
	[SQL_PARTICIPANT_MOVE] = "UPDATE participants SET proxy_number_id = ?2, proxy_e164 = ?3 WHERE id = ?1",
	[SQL_SESSION_UPDATED] = "UPDATE sessions SET updated_at = ?2 WHERE id = ?1",
	[SQL_EVENT_INSERT] = "INSERT INTO session_events (id, session_id, kind, participant_id, detail, created_at) "
			     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQL_EVENTS_OF] = "SELECT id, session_id, kind, participant_id, detail, created_at FROM session_events "
			  "WHERE session_id = ?1 ORDER BY created_at, rowid",
	[SQL_PIN_LOOKUP] = "SELECT " ROUTE_TAIL_COLS " FROM sessions s "
			   "JOIN participants p ON p.session_id = s.id AND p.bidx = ?3 "
			   "LEFT JOIN participants o ON o.session_id = s.id AND o.id <> p.id "
			   "WHERE s.service_id = ?1 AND s.pin = ?2 AND s.status < 2",
	[SQL_OPTOUT_ADD] = "INSERT INTO optouts (bidx, number_id, service_id, created_at) VALUES (?1, ?2, ?3, ?4) "
			   "ON CONFLICT (bidx, number_id) DO NOTHING",
	[SQL_OPTOUT_DEL] = "DELETE FROM optouts WHERE bidx = ?1 AND number_id = ?2",
	[SQL_POOL_STATS] = "SELECT COUNT(*), COALESCE(MAX(k), 0) FROM (SELECT COUNT(*) AS k FROM participants p "
			   "JOIN numbers n ON n.id = p.proxy_number_id WHERE n.service_id = ?1 AND p.active = 1 "
			   "AND p.held_until IS NULL GROUP BY p.bidx)",
	/* Retention: released rows of sessions closed before ?1 in which no row holds
	 * a binding any more (so no route lookup can reach the other side's number).
	 * number_sealed <> x'' makes it idempotent. No index covers closed_at
	 * (EXPLAIN QUERY PLAN: one scan of participants, sessions by primary key, the
	 * NOT EXISTS by participants_session), so the sweeper runs it hourly
	 * (flow/jobs.c JOBS_PURGE_EVERY_S), not every sweep. */
	/* the closed sessions past retention whose bindings are all released (index sessions_purge) */
	[SQL_PURGE_DUE] = LC_SQL_PURGE_DUE,
	[SQL_NUMBERS_PURGE] = "UPDATE participants SET number_sealed = x'', bidx = 'purged:' || id "
			      "WHERE session_id = ?1 AND active = 0 AND number_sealed <> x''",
	[SQL_SESSION_PURGED] = LC_SQL_SESSION_PURGED,
	/* the row primitives of bind, create, add and swap: texts shared with
	 * store_pg.c ($n, turned into ?n by stmt()) */
	[SQL_TX_POOL_FREE] = SQL_TEXT_POOL_FREE,
	[SQL_TX_POOL_COOLING] = SQL_TEXT_POOL_COOLING,
	[SQL_TX_POOL_COUNT] = SQL_TEXT_POOL_COUNT,
	[SQL_TX_HOLDS] = SQL_TEXT_HOLDS,
	[SQL_TX_HOLDER] = SQL_TEXT_HOLDER,
	[SQL_TX_BINDING_DROP] = SQL_TEXT_BINDING_DROP,
	[SQL_TX_NUMBER_BY_ID] = SQL_TEXT_NUMBER_BY_ID,
	[SQL_TX_NUMBER_BY_E164] = SQL_TEXT_NUMBER_BY_E164,
	[SQL_TX_PARTICIPANT_INSERT] = SQL_TEXT_PARTICIPANT_INSERT,
	[SQL_TX_PARTICIPANT_MOVE] = SQL_TEXT_PARTICIPANT_MOVE,
	[SQL_TX_PEER_SET] = SQL_TEXT_PEER_SET,
	[SQL_TX_NUMBER_COUNT] = SQL_TEXT_NUMBER_COUNT,
	[SQL_TX_NUMBER_UNCOUNT] = SQL_TEXT_NUMBER_UNCOUNT,
	[SQL_TX_NUMBER_EXISTS] = SQL_TEXT_NUMBER_EXISTS,
	[SQL_TX_UNIQUE_NAME] = SQL_TEXT_UNIQUE_NAME,
	[SQL_TX_SESSION_BIDX] = SQL_TEXT_SESSION_BIDX,
	[SQL_TX_PIN_TAKEN] = SQL_TEXT_PIN_TAKEN,
	[SQL_TX_SESSION_INSERT] = SQL_TEXT_SESSION_INSERT,
	[SQL_TX_PART_ROWS] = SQL_TEXT_PART_ROWS,
	[SQL_TX_SESSION_TOUCH] = SQL_TEXT_SESSION_TOUCH,
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

/* The text of statement id as SQLite takes it: a shared text's $n become ?n
 * (sql_common.h); cap is at least the text's length + 1. */
static const char *sqlite_text(enum sql_id id, char *buf, size_t cap)
{
	const char *t = sql_text[id];
	if (strchr(t, '$') == NULL)
		return t;
	size_t n = strlen(t);
	if (n >= cap)
		fatal("store: statement %d is longer than its conversion buffer", (int)id);
	for (size_t i = 0; i <= n; i++)
		buf[i] = t[i] == '$' && i + 1 < n && t[i + 1] >= '0' && t[i + 1] <= '9' ? '?' : t[i];
	return buf;
}

static sqlite3_stmt *stmt(struct sqlite_conn *c, enum sql_id id)
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

/* The connection of a transaction's primitive (the body runs under db_lock). */
static inline struct sqlite_conn *tx_conn(struct store_tx *tx)
{
	assert(tx != NULL && tx->ops == &store_sqlite_ops && tx->conn != NULL);
	return tx->conn;
}

/* store_tx_run(): under db_lock, so no other transaction interleaves and a lost
 * race cannot happen; a body asking for MASKD_ERETRY (it saw a row vanish) runs again. */
static int sq_tx_run(void *b, int (*body)(struct store_tx *tx, void *ctx), void *ctx)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	int rc = MASKD_ERETRY;
	for (int attempt = 0; attempt < STORE_TX_ATTEMPTS && rc == MASKD_ERETRY; attempt++) {
		rc = tx_begin(c);
		if (rc < 0)
			return rc;
		struct store_tx tx = {.ops = &store_sqlite_ops, .b = s, .conn = c};
		rc = body(&tx, ctx);
		assert(rc <= 0); /* the contract of store_tx_run: 0 or a negative maskd_err */
		if (rc == 0)
			rc = tx_commit(c);
		if (rc != 0)
			tx_rollback(c);
	}
	return rc == MASKD_ERETRY ? MASKD_EDB : rc;
}

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
	pthread_mutex_init(&s->rec_lock, NULL);
	pthread_cond_init(&s->rec_done, NULL);
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

/* Parameters ?1-?5 and ?7-?29 of SQL_SERVICE_INSERT and SQL_SERVICE_UPDATE: every
 * column but created_at (?6, insert only). */
static void bind_service_columns(sqlite3_stmt *st, const struct service *svc)
{
	bind_text(st, 1, svc->id);
	bind_text(st, 2, svc->name);
	sqlite3_bind_int(st, 3, svc->mode);
	sqlite3_bind_int64(st, 4, svc->ttl);
	bind_text(st, 5, svc->unknown_caller_message);
	bind_policy(st, 7, &svc->policy);
	sqlite3_bind_int(st, 11, svc->pool.geo_match);
	sqlite3_bind_int(st, 12, svc->pool.geo_match_strict);
	sqlite3_bind_int(st, 13, svc->pool.number_selection);
	sqlite3_bind_int64(st, 14, svc->cooloff);
	sqlite3_bind_int(st, 15, svc->cooloff_reuse);
	sqlite3_bind_int(st, 16, svc->number_cap);
	sqlite3_bind_int(st, 17, svc->unknown_caller);
	bind_text(st, 18, svc->fallback_number);
	bind_text(st, 19, svc->pin_number);
	sqlite3_bind_int(st, 20, svc->pin_length);
	sqlite3_bind_int(st, 21, svc->pin_attempts);
	bind_text(st, 22, svc->callback_url);
	sqlite3_bind_int(st, 23, svc->callback_timeout_ms);
	sqlite3_bind_int(st, 24, svc->callback_fail_open);
	bind_text(st, 25, svc->ended_message);
	bind_text(st, 26, svc->help_text);
	sqlite3_bind_int(st, 27, svc->rate_calls);
	sqlite3_bind_int(st, 28, svc->rate_texts);
	sqlite3_bind_int(st, 29, svc->rate_silent);
}

/* Seals carrier d's credentials of svc and inserts them (inside a transaction). */
static int secret_insert(struct store_sqlite *s, struct sqlite_conn *c, const struct service *svc, int d)
{
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	char ad[ID_MAX + 32];
	secret_ad(svc->id, d, ad, sizeof(ad));
	int rc = vault_seal(s->vault, svc->secrets[d], ad, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_SECRET_INSERT);
	bind_text(st, 1, svc->id);
	bind_text(st, 2, dialect_name(d));
	sqlite3_bind_blob(st, 3, sealed, (int)sealed_len, SQLITE_STATIC);
	return exec_stmt(c, st, "secret_insert");
}

static int sq_service_insert(void *b, const struct service *svc)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_SERVICE_INSERT);
	bind_service_columns(st, svc);
	sqlite3_bind_int64(st, 6, svc->created_at);
	rc = exec_stmt(c, st, "service_insert");
	for (int d = 0; rc == 0 && d < DIALECT_COUNT; d++) {
		if (svc->secrets[d][0] == '\0')
			continue;
		rc = secret_insert(s, c, svc, d);
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
		out->pool.geo_match = sqlite3_column_int(st, 10);
		out->pool.geo_match_strict = sqlite3_column_int(st, 11);
		out->pool.number_selection = sqlite3_column_int(st, 12);
		out->cooloff = sqlite3_column_int64(st, 13);
		out->cooloff_reuse = sqlite3_column_int(st, 14);
		out->number_cap = sqlite3_column_int(st, 15);
		out->unknown_caller = sqlite3_column_int(st, 16);
		col_text(st, 17, out->fallback_number, sizeof(out->fallback_number));
		col_text(st, 18, out->pin_number, sizeof(out->pin_number));
		out->pin_length = sqlite3_column_int(st, 19);
		out->pin_attempts = sqlite3_column_int(st, 20);
		col_text(st, 21, out->callback_url, sizeof(out->callback_url));
		out->callback_timeout_ms = sqlite3_column_int(st, 22);
		out->callback_fail_open = sqlite3_column_int(st, 23);
		col_text(st, 24, out->ended_message, sizeof(out->ended_message));
		col_text(st, 25, out->help_text, sizeof(out->help_text));
		out->rate_calls = sqlite3_column_int(st, 26);
		out->rate_texts = sqlite3_column_int(st, 27);
		out->rate_silent = sqlite3_column_int(st, 28);
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

/* The whole row and each carrier's credentials replaced in one transaction; a
 * carrier whose secrets[d] is "" loses its row. */
static int sq_service_update(void *b, const struct service *svc)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_SERVICE_UPDATE);
	bind_service_columns(st, svc);
	rc = exec_stmt(c, st, "service_update");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = MASKD_ENOTFOUND;
	for (int d = 0; rc == 0 && d < DIALECT_COUNT; d++) {
		st = stmt(c, SQL_SECRET_DELETE);
		bind_text(st, 1, svc->id);
		bind_text(st, 2, dialect_name(d));
		rc = exec_stmt(c, st, "secret_delete");
		if (rc < 0 || svc->secrets[d][0] == '\0')
			continue;
		rc = secret_insert(s, c, svc, d);
	}
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0)
		tx_rollback(c);
	return rc;
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
	col_text(st, col + 10, n->region, sizeof(n->region));
	n->cooling = 0;
}

/* read_number plus the cooling count of number_get and number_list */
static void read_number_cooling(sqlite3_stmt *st, struct number *n)
{
	read_number(st, 0, n);
	n->cooling = sqlite3_column_int64(st, NUMBER_NCOLS);
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
	bind_text(st, 10, n->region);
	return exec_stmt(c, st, "number_insert");
}

static int number_by(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2, struct number *out)
{
	sqlite3_stmt *st = stmt(c, id);
	bind_text(st, 1, a1);
	if (a2 != NULL)
		bind_text(st, 2, a2);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (id == SQL_NUMBER_GET)
			read_number_cooling(st, out);
		else
			read_number(st, 0, out);
	}
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
		read_number_cooling(st, &n);
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

static int sq_number_set_region(void *b, const char *id, const char *region)
{
	CONN_OR_FAIL(b, c);
	sqlite3_stmt *st = stmt(c, SQL_NUMBER_SET_REGION);
	bind_text(st, 1, id);
	bind_text(st, 2, region);
	int rc = exec_stmt(c, st, "number_set_region");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return MASKD_ENOTFOUND;
	return rc;
}

/* Refused while open sessions use it; its cooling-off bindings are released and
 * its opt-out rows go with it. */
static int sq_number_delete(void *b, const char *id)
{
	CONN_OR_FAIL(b, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_NUMBER_IN_USE);
	bind_text(st, 1, id);
	int step = sqlite3_step(st);
	int64_t in_use = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	stmt_done(st);
	if (step != SQLITE_ROW) {
		rc = step == SQLITE_DONE ? MASKD_ENOTFOUND : db_fail(c, "number_in_use");
		goto done;
	}
	if (in_use > 0) {
		rc = MASKD_ECONFLICT;
		goto done;
	}
	st = stmt(c, SQL_NUMBER_RELEASE_COOLING);
	bind_text(st, 1, id);
	rc = exec_stmt(c, st, "number_release_cooling");
	if (rc == 0) {
		st = stmt(c, SQL_NUMBER_OPTOUTS_DELETE);
		bind_text(st, 1, id);
		rc = exec_stmt(c, st, "number_optouts_delete");
	}
	if (rc == 0) {
		st = stmt(c, SQL_NUMBER_DELETE);
		bind_text(st, 1, id);
		rc = exec_stmt(c, st, "number_delete");
	}
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = MASKD_ECONFLICT; /* in_use moved under us: cannot happen under db_lock */
	if (rc == 0)
		rc = tx_commit(c);
done:
	if (rc < 0)
		tx_rollback(c);
	return rc;
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

static int event_insert(struct sqlite_conn *c, const char *session_id, const char *kind, const char *participant_id,
			const char *detail, int64_t now)
{
	char id[ID_MAX];
	id_new("evt", id);
	sqlite3_stmt *st = stmt(c, SQL_EVENT_INSERT);
	bind_text(st, 1, id);
	bind_text(st, 2, session_id);
	bind_text(st, 3, kind);
	bind_text(st, 4, participant_id ? participant_id : "");
	bind_text(st, 5, detail ? detail : "");
	sqlite3_bind_int64(st, 6, now);
	return exec_stmt(c, st, "event_insert");
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
	col_text(st, 15, s->pin, sizeof(s->pin));
	s->pool.geo_match = s->pool.geo_match_strict = s->pool.number_selection = -1;
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

/* What the ops below need of one session (SQL_SESSION_BRIEF). */
struct brief {
	int status;
	char service_id[ID_MAX];
	int mode;
	int64_t cooloff;
	char unique_name[NAME_MAX_LEN + 1];
	char pin[PIN_MAX_LEN + 1];
	int64_t ttl, expires_at;
};

static int session_brief(struct sqlite_conn *c, const char *id, struct brief *out)
{
	sqlite3_stmt *st = stmt(c, SQL_SESSION_BRIEF);
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->status = sqlite3_column_int(st, 0);
		col_text(st, 1, out->service_id, sizeof(out->service_id));
		out->mode = sqlite3_column_int(st, 2);
		out->cooloff = sqlite3_column_int64(st, 3);
		col_text(st, 4, out->unique_name, sizeof(out->unique_name));
		col_text(st, 5, out->pin, sizeof(out->pin));
		out->ttl = sqlite3_column_int64(st, 6);
		out->expires_at = sqlite3_column_int64(st, 7);
	}
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? MASKD_ENOTFOUND : db_fail(c, "session_brief");
}

/* A session's participant rows (SQL_PARTS_BRIEF); real numbers stay sealed. */
struct part_row {
	char id[ID_MAX];
	int idx;
	char bidx[VAULT_BIDX_LEN + 1];
	char peer[VAULT_BIDX_LEN + 1];
	char number_id[ID_MAX];
	char e164[PHONE_E164_MAX + 1];
	int active;
};

/* ---------------------------------------------------------------- webhooks */

/* Reads ROUTE_TAIL_COLS from column col (the session's columns NULL: no binding)
 * and unseals the other participant's number. */
static int read_route_tail(struct store_sqlite *s, sqlite3_stmt *st, int col, struct route_view *out)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	col_text(st, col, out->session_id, sizeof(out->session_id));
	out->session_status = sqlite3_column_int(st, col + 1);
	out->session_mode = sqlite3_column_int(st, col + 2);
	out->session_ttl = sqlite3_column_int64(st, col + 3);
	out->session_expires_at = sqlite3_column_int64(st, col + 4);
	out->session_last_activity_at = sqlite3_column_int64(st, col + 5);
	col_text(st, col + 6, out->from_participant, sizeof(out->from_participant));
	col_text(st, col + 7, out->to_participant, sizeof(out->to_participant));
	col_text(st, col + 9, out->to_proxy_e164, sizeof(out->to_proxy_e164));
	col_text(st, col + 10, out->to_country, sizeof(out->to_country));
	read_policy(st, col + 11, &out->session_policy);
	out->to_opted_out = sqlite3_column_int(st, col + 15);
	if (sqlite3_column_type(st, col + 8) != SQLITE_NULL &&
	    vault_unseal(s->vault, sqlite3_column_blob(st, col + 8), (size_t)sqlite3_column_bytes(st, col + 8),
			 out->to_participant, out->to_number, sizeof(out->to_number)) < 0) {
		log_error("store: participant %s: sealed number does not open", out->to_participant);
		return MASKD_ECRYPTO;
	}
	return 0;
}

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
		err = read_route_tail(s, st, NUMBER_NCOLS, out);
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
	return exec_stmt(c, s->rec_sp[which], what);
}

/* One record inside the batch's open transaction, under its own savepoint: on
 * failure nothing of it stays and the transaction goes on, unless SQLite itself
 * ended the transaction (then the caller sees autocommit and starts over). */
static int record_one(struct store_sqlite *s, struct sqlite_conn *c, struct interaction *it, int *existed)
{
	assert(!sqlite3_get_autocommit(c->db)); /* inside the batch's transaction */
	*existed = 0;
	int rc = rec_sp(s, c, REC_SP_OPEN, "savepoint");
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
		goto undo;
	if (sqlite3_changes(c->db) == 0) {
		/* A retried webhook (maybe an earlier record of this batch): answer it
		 * the way the first one was answered. */
		st = stmt(c, SQL_INTERACTION_BY_SID);
		sqlite3_bind_int(st, 1, it->carrier);
		bind_text(st, 2, it->carrier_sid);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			read_interaction(st, it);
		stmt_done(st);
		if (step != SQLITE_ROW) {
			rc = db_fail(c, "interaction_by_sid");
			goto undo;
		}
		*existed = 1;
		return rec_sp(s, c, REC_SP_RELEASE, "release");
	}
	struct leg_update received = {.status = "received", .duration = -1};
	rc = insert_leg(c, it->id, 'a', it->carrier_sid, &received, it->created_at, 0);
	if (rc < 0)
		goto undo;
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

/* Applies a batch in one transaction (caller holds db_lock). Sets rc and state
 * REC_APPLIED or REC_FAILED of every request. A record that fails is rolled back
 * alone; if SQLite ended the whole transaction instead (SQLITE_FULL, I/O errors),
 * that record fails and the others are applied again in a new transaction. A
 * failed COMMIT fails the records it held. */
static void record_batch(struct store_sqlite *s, struct rec_request **batch, int n)
{
	struct sqlite_conn *c = conn_get(s);
	int pending = n;
	for (int i = 0; i < n; i++) {
		batch[i]->state = REC_QUEUED;
		batch[i]->rc = MASKD_EDB;
	}
	while (c != NULL && pending > 0) {
		if (tx_begin(c) < 0)
			break;
		int lost = 0;
		for (int i = 0; i < n && !lost; i++) {
			struct rec_request *r = batch[i];
			if (r->state == REC_FAILED)
				continue;
			*r->it = r->orig; /* a record applied in a lost transaction starts again */
			r->rc = record_one(s, c, r->it, r->existed);
			r->state = r->rc < 0 ? REC_FAILED : REC_APPLIED;
			if (r->rc < 0) {
				pending--;
				lost = sqlite3_get_autocommit(c->db);
			}
		}
		if (lost)
			continue; /* the records applied so far went with the transaction */
		if (tx_commit(c) == 0) {
			s->rec_batches++;
			s->rec_records += (uint64_t)n;
			return;
		}
		tx_rollback(c);
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

/* store_interaction_record(): queue, then lead a batch or wait for the one that
 * holds this record. Returns after the record's transaction committed (or failed). */
static int sq_interaction_record(void *b, struct interaction *it, int *existed)
{
	struct store_sqlite *s = b;
	assert(it != NULL && existed != NULL);
	struct rec_request req = {.it = it, .orig = *it, .existed = existed, .state = REC_QUEUED};
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
		pthread_mutex_lock(&s->db_lock);
		record_batch(s, batch, n);
		pthread_mutex_unlock(&s->db_lock);
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
		out->numbers_active = sqlite3_column_int64(st, 2);
		out->sessions_open = sqlite3_column_int64(st, 3);
		out->bindings_cooling = sqlite3_column_int64(st, 5);
		out->bindings_active = sqlite3_column_int64(st, 4) - out->bindings_cooling;
		out->interactions = sqlite3_column_int64(st, 6);
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

/* ---------------------------------------------------------------- cool-off, re-open, add, swap */

/* ---------------------------------------------------------------- lifecycle primitives */

/* The store_tx_* primitives of store.h: rows only, no rules (flow/lifecycle.c).
 * They run inside sq_tx_run(), which holds db_lock, so they take no lock. */

static void bind_opt_i64(sqlite3_stmt *st, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int sq_tx_session_lock(struct store_tx *tx, const char *id, struct store_session_brief *out)
{
	struct sqlite_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = stmt(c, SQL_LC_SESSION_LOCK);
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out->id, sizeof(out->id), "%s", id);
		out->status = sqlite3_column_int(st, 0);
		col_text(st, 1, out->service_id, sizeof(out->service_id));
		out->cooloff = sqlite3_column_int64(st, 2);
		col_text(st, 3, out->unique_name, sizeof(out->unique_name));
		col_text(st, 4, out->pin, sizeof(out->pin));
		out->ttl = sqlite3_column_int64(st, 5);
		out->expires_at = sqlite3_column_int64(st, 6);
		out->last_activity_at = sqlite3_column_int64(st, 7);
		out->closed_at = sqlite3_column_int64(st, 8);
		out->updated_at = sqlite3_column_int64(st, 9);
	}
	stmt_done(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? MASKD_ENOTFOUND : db_fail(c, "session_lock");
	st = stmt(c, SQL_LC_PARTS);
	bind_text(st, 1, id);
	while (out->n_parts < SESSION_PARTICIPANTS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_part_brief *p = &out->parts[out->n_parts++];
		col_text(st, 0, p->id, sizeof(p->id));
		p->idx = sqlite3_column_int(st, 1);
		col_text(st, 2, p->number_id, sizeof(p->number_id));
		p->active = sqlite3_column_int(st, 3);
		p->purged = sqlite3_column_int(st, 4);
	}
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, "session_parts");
}

static int sq_tx_session_put(struct store_tx *tx, const char *id, const struct store_session_brief *b, int64_t deadline)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_LC_SESSION_PUT);
	bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, b->status);
	sqlite3_bind_int64(st, 3, b->closed_at);
	sqlite3_bind_int64(st, 4, b->ttl);
	sqlite3_bind_int64(st, 5, b->expires_at);
	sqlite3_bind_int64(st, 6, b->last_activity_at);
	sqlite3_bind_int64(st, 7, b->updated_at);
	bind_opt_i64(st, 8, deadline);
	int rc = exec_stmt(c, st, "session_put");
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return MASKD_ENOTFOUND;
	return rc;
}

static int sq_tx_open_taken(struct store_tx *tx, const char *service_id, const char *except_id,
			    const char *unique_name, const char *pin, int *name_taken, int *pin_taken)
{
	struct sqlite_conn *c = tx_conn(tx);
	*name_taken = *pin_taken = 0;
	sqlite3_stmt *st = stmt(c, SQL_LC_OPEN_TAKEN);
	bind_text(st, 1, service_id);
	bind_text(st, 2, except_id ? except_id : "");
	bind_text(st, 3, unique_name && *unique_name ? unique_name : NULL);
	bind_text(st, 4, pin && *pin ? pin : NULL);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*name_taken = sqlite3_column_int(st, 0);
		*pin_taken = sqlite3_column_int(st, 1);
	}
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : db_fail(c, "open_taken");
}

static int sq_tx_bindings_hold(struct store_tx *tx, const char *session_id, int64_t held_until, int active)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_BINDINGS_COOL);
	bind_text(st, 1, session_id);
	sqlite3_bind_int64(st, 2, held_until);
	sqlite3_bind_int(st, 3, active != 0);
	int rc = exec_stmt(c, st, "bindings_hold");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

static int sq_tx_binding_keep(struct store_tx *tx, const char *participant_id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_LC_BINDING_KEEP);
	bind_text(st, 1, participant_id);
	int rc = exec_stmt(c, st, "binding_keep");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

static int sq_tx_binding_take(struct store_tx *tx, const char *participant_id, int retired)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_BINDING_TAKE);
	bind_text(st, 1, participant_id);
	sqlite3_bind_int(st, 2, retired);
	int rc = exec_stmt(c, st, "binding_take"); /* the bindings index refuses a binding someone took */
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

static int sq_tx_numbers_in_use_add(struct store_tx *tx, const char *const *number_id, const int *delta, int n)
{
	struct sqlite_conn *c = tx_conn(tx);
	int changed = 0;
	for (int i = 0; i < n; i++) {
		int seen = 0, sum = 0;
		for (int j = 0; j < n; j++) {
			if (strcmp(number_id[j], number_id[i]) != 0)
				continue;
			seen |= j < i;
			sum += delta[j];
		}
		if (seen)
			continue; /* added with its first occurrence */
		sqlite3_stmt *st = stmt(c, SQL_LC_IN_USE_ADD);
		bind_text(st, 1, number_id[i]);
		sqlite3_bind_int(st, 2, sum);
		int rc = exec_stmt(c, st, "numbers_in_use_add");
		if (rc < 0)
			return rc;
		changed += sqlite3_changes(c->db);
	}
	return changed;
}

static int sq_tx_event_add(struct store_tx *tx, const char *session_id, const char *kind, const char *detail,
			   int64_t now)
{
	return event_insert(tx_conn(tx), session_id, kind, NULL, detail, now);
}

/* Reads the first column of st's rows into ids (at most limit); *n how many. */
static int ids_of(struct sqlite_conn *c, sqlite3_stmt *st, int limit, char (*ids)[ID_MAX], int *n, const char *what)
{
	int rc = SQLITE_DONE;
	*n = 0;
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
		col_text(st, 0, ids[(*n)++], ID_MAX);
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, what);
}

static int sq_tx_sessions_due(struct store_tx *tx, int64_t now, int limit, char (*ids)[ID_MAX], int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_EXPIRE_DUE);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	return ids_of(c, st, limit, ids, n, "sessions_due");
}

static int sq_tx_bindings_release_due(struct store_tx *tx, int64_t now, int limit)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_BINDINGS_RELEASE_DUE);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	int rc = exec_stmt(c, st, "bindings_release");
	return rc < 0 ? rc : sqlite3_changes(c->db);
}

static int sq_tx_sessions_purge_due(struct store_tx *tx, int64_t before, int limit, char (*ids)[ID_MAX], int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_PURGE_DUE);
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, limit);
	return ids_of(c, st, limit, ids, n, "purge_due");
}

static int sq_tx_session_purge(struct store_tx *tx, const char *id, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_NUMBERS_PURGE);
	bind_text(st, 1, id);
	int rc = exec_stmt(c, st, "numbers_purge");
	if (rc < 0)
		return rc;
	int rows = sqlite3_changes(c->db);
	st = stmt(c, SQL_SESSION_PURGED);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	rc = exec_stmt(c, st, "session_purged");
	return rc < 0 ? rc : rows;
}

static int sq_session_events(void *b, const char *session_id, void (*cb)(void *, const struct session_event *),
			     void *ctx)
{
	CONN_OR_FAIL(b, c);
	int rc;
	sqlite3_stmt *st = stmt(c, SQL_EVENTS_OF); /* no such session: no events */
	bind_text(st, 1, session_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct session_event e;
		memset(&e, 0, sizeof(e));
		col_text(st, 0, e.id, sizeof(e.id));
		col_text(st, 1, e.session_id, sizeof(e.session_id));
		col_text(st, 2, e.kind, sizeof(e.kind));
		col_text(st, 3, e.participant_id, sizeof(e.participant_id));
		col_text(st, 4, e.detail, sizeof(e.detail));
		e.created_at = sqlite3_column_int64(st, 5);
		cb(ctx, &e);
	}
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : db_fail(c, "session_events");
}

/* ---------------------------------------------------------------- PIN, opt-out, pool */

static int sq_pin_lookup(void *b, const char *service_id, const char *pin, const char *from_e164, struct route_view *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	struct number keep = out->number;
	memset(out, 0, sizeof(*out));
	out->number = keep;
	char bidx[VAULT_BIDX_LEN + 1];
	vault_blind_index(s->vault, from_e164, bidx);
	sqlite3_stmt *st = stmt(c, SQL_PIN_LOOKUP);
	bind_text(st, 1, service_id);
	bind_text(st, 2, pin);
	bind_text(st, 3, bidx);
	int rc = sqlite3_step(st);
	int err = 0;
	if (rc == SQLITE_ROW)
		err = read_route_tail(s, st, 0, out);
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return MASKD_ENOTFOUND;
	if (rc != SQLITE_ROW)
		return db_fail(c, "pin_lookup");
	return err;
}

static int sq_optout_set(void *b, const char *service_id, const char *from_e164, const char *number_id, int opted_out,
			 int64_t now)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	char bidx[VAULT_BIDX_LEN + 1];
	vault_blind_index(s->vault, from_e164, bidx);
	sqlite3_stmt *st = stmt(c, opted_out ? SQL_OPTOUT_ADD : SQL_OPTOUT_DEL);
	bind_text(st, 1, bidx);
	bind_text(st, 2, number_id);
	if (opted_out) {
		bind_text(st, 3, service_id);
		sqlite3_bind_int64(st, 4, now);
	}
	return exec_stmt(c, st, "optout_set");
}

static int sq_pool_stats(void *b, const char *service_id, struct pool_stats *out)
{
	CONN_OR_FAIL(b, c);
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = stmt(c, SQL_POOL_STATS);
	bind_text(st, 1, service_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->participants = sqlite3_column_int64(st, 0);
		out->max_held = sqlite3_column_int64(st, 1);
	}
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : db_fail(c, "pool_stats");
}

/* ---------------------------------------------------------------- row primitives (store_tx_*) */

/* Run under db_lock by sq_tx_run's body: no locking of their own. */

static void sq_blind_index(void *b, const char *e164, char out[STORE_BIDX_MAX])
{
	struct store_sqlite *s = b;
	vault_blind_index(s->vault, e164, out);
}

/* The parameters of SQL_POOL_WHERE (sql_common.h). */
static void bind_pool(sqlite3_stmt *st, const struct store_pool_query *q, int limit)
{
	const char *keys[3];
	sql_pool_keys(q, keys);
	bind_text(st, 1, q->service_id);
	sqlite3_bind_int(st, 2, (int)q->need);
	bind_text(st, 3, q->bidx);
	sqlite3_bind_int(st, 4, limit);
	sqlite3_bind_int64(st, 5, q->cap > 0 ? q->cap : INT64_MAX);
	sqlite3_bind_int(st, 6, NUMBER_ACTIVE);
	for (int i = 0; i < 3; i++)
		bind_text(st, 7 + i, keys[i]);
}

static int sq_tx_pool_candidates(struct store_tx *tx, const struct store_pool_query *q, int kind,
				 struct store_candidate *out, int limit, int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, kind == STORE_POOL_COOLING ? SQL_TX_POOL_COOLING : SQL_TX_POOL_FREE);
	bind_pool(st, q, limit);
	int rc = SQLITE_DONE;
	*n = 0;
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_candidate *k = &out[(*n)++];
		col_text(st, 0, k->id, sizeof(k->id));
		col_text(st, 1, k->e164, sizeof(k->e164));
		k->state = sqlite3_column_int(st, 2);
		k->caps = (unsigned)sqlite3_column_int(st, 3);
		k->in_use = sqlite3_column_int64(st, 4);
		k->created_at = sqlite3_column_int64(st, 5);
	}
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, "pool_candidates");
}

static int sq_tx_holder(struct store_tx *tx, const char *bidx, const char *number_id, struct store_holder *out)
{
	struct sqlite_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st = stmt(c, SQL_TX_HOLDER);
	bind_text(st, 1, bidx);
	bind_text(st, 2, number_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->found = 1;
		col_text(st, 0, out->row_id, sizeof(out->row_id));
		out->cooling = sqlite3_column_int(st, 1);
		col_text(st, 2, out->peer, sizeof(out->peer));
	}
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, "holder");
}

static int sq_tx_binding_drop(struct store_tx *tx, const char *row_id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_BINDING_DROP);
	bind_text(st, 1, row_id);
	return exec_stmt(c, st, "binding_drop");
}

static int sq_tx_sticky(struct store_tx *tx, const char *service_id, const char *bidx, const char *peer_bidx,
			char out[ID_MAX])
{
	struct sqlite_conn *c = tx_conn(tx);
	out[0] = '\0';
	sqlite3_stmt *st = stmt(c, SQL_STICKY);
	bind_text(st, 1, bidx);
	bind_text(st, 2, peer_bidx);
	bind_text(st, 3, service_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_text(st, 0, out, ID_MAX);
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, "sticky");
}

static int sq_tx_number_by_id(struct store_tx *tx, const char *service_id, const char *id, struct number *out)
{
	return number_by(tx_conn(tx), SQL_TX_NUMBER_BY_ID, service_id, id, out);
}

static int sq_tx_number_by_e164(struct store_tx *tx, const char *service_id, const char *e164, struct number *out)
{
	return number_by(tx_conn(tx), SQL_TX_NUMBER_BY_E164, service_id, e164, out);
}

/* MASKD_ECONFLICT when the statement changed no row. */
static int exec_one(struct sqlite_conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = exec_stmt(c, st, what);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = MASKD_ECONFLICT;
	return rc;
}

static int sq_tx_participant_insert(struct store_tx *tx, const char *session_id, int idx, const struct participant *p,
				    const char *bidx, const char *peer_bidx, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	struct store_sqlite *s = tx->b;
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = vault_seal(s->vault, p->number, p->id, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = stmt(c, SQL_TX_PARTICIPANT_INSERT);
	bind_text(st, 1, p->id);
	bind_text(st, 2, session_id);
	sqlite3_bind_int(st, 3, idx);
	bind_text(st, 4, p->label);
	bind_text(st, 5, p->masked);
	sqlite3_bind_blob(st, 6, sealed, (int)sealed_len, SQLITE_STATIC);
	bind_text(st, 7, bidx);
	bind_text(st, 8, p->proxy_number_id);
	bind_text(st, 9, p->proxy_e164);
	bind_text(st, 10, p->country);
	bind_text(st, 11, peer_bidx);
	sqlite3_bind_int64(st, 12, now);
	return exec_one(c, st, "participant_insert");
}

static int sq_tx_participant_move(struct store_tx *tx, const char *row_id, const char *number_id, const char *e164)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_PARTICIPANT_MOVE);
	bind_text(st, 1, row_id);
	bind_text(st, 2, number_id);
	bind_text(st, 3, e164);
	return exec_one(c, st, "participant_move");
}

static int sq_tx_peer_set(struct store_tx *tx, const char *row_id, const char *peer_bidx)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_PEER_SET);
	bind_text(st, 1, row_id);
	bind_text(st, 2, peer_bidx);
	return exec_stmt(c, st, "peer_set");
}

static int sq_tx_number_count(struct store_tx *tx, const char *number_id, int64_t cap)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_NUMBER_COUNT);
	bind_text(st, 1, number_id);
	sqlite3_bind_int64(st, 2, cap);
	int rc = exec_one(c, st, "number_count");
	if (rc != MASKD_ECONFLICT)
		return rc;
	rc = row_exists(c, SQL_TX_NUMBER_EXISTS, number_id, NULL);
	return rc < 0 ? rc : rc > 0 ? MASKD_ECONFLICT : MASKD_ENOTFOUND;
}

static int sq_tx_number_uncount(struct store_tx *tx, const char *number_id)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_NUMBER_UNCOUNT);
	bind_text(st, 1, number_id);
	return exec_stmt(c, st, "number_uncount");
}

static int sq_tx_unique_name(struct store_tx *tx, const char *service_id, const char *unique_name,
			     char existing_id[ID_MAX], char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX], int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	*n = 0;
	existing_id[0] = '\0';
	sqlite3_stmt *st = stmt(c, SQL_TX_UNIQUE_NAME);
	bind_text(st, 1, service_id);
	bind_text(st, 2, unique_name);
	sqlite3_bind_int(st, 3, SESSION_CLOSED);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_text(st, 0, existing_id, ID_MAX);
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(c, "unique_name");
	st = stmt(c, SQL_TX_SESSION_BIDX);
	bind_text(st, 1, existing_id);
	while (*n < SESSION_PARTICIPANTS && (rc = sqlite3_step(st)) == SQLITE_ROW)
		col_text(st, 0, bidx[(*n)++], STORE_BIDX_MAX);
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 1 : db_fail(c, "session_bidx");
}

static int sq_tx_pin_taken(struct store_tx *tx, const char *service_id, const char *pin)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_PIN_TAKEN);
	bind_text(st, 1, service_id);
	bind_text(st, 2, pin);
	sqlite3_bind_int(st, 3, SESSION_CLOSED);
	int rc = sqlite3_step(st);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(c, "pin_taken");
}

static int sq_tx_session_insert(struct store_tx *tx, const struct session *ses, int64_t deadline)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_SESSION_INSERT);
	bind_text(st, 1, ses->id);
	bind_text(st, 2, ses->service_id);
	bind_text(st, 3, ses->unique_name[0] ? ses->unique_name : NULL);
	sqlite3_bind_int(st, 4, ses->mode);
	sqlite3_bind_int64(st, 5, ses->ttl);
	sqlite3_bind_int64(st, 6, ses->expires_at);
	sqlite3_bind_int64(st, 7, ses->created_at);
	if (deadline > 0)
		sqlite3_bind_int64(st, 8, deadline);
	else
		sqlite3_bind_null(st, 8);
	bind_policy(st, 9, &ses->policy);
	bind_text(st, 13, ses->pin[0] ? ses->pin : NULL);
	sqlite3_bind_int(st, 14, ses->status);
	return exec_one(c, st, "session_insert");
}

static int sq_tx_session_rows(struct store_tx *tx, const char *session_id, struct store_bind_session *out,
			      struct store_part_row rows[SESSION_PARTICIPANTS], int *n)
{
	struct sqlite_conn *c = tx_conn(tx);
	struct brief br;
	*n = 0;
	memset(out, 0, sizeof(*out));
	int rc = session_brief(c, session_id, &br); /* the transaction holds the write lock already */
	if (rc < 0)
		return rc;
	snprintf(out->service_id, sizeof(out->service_id), "%s", br.service_id);
	out->mode = br.mode;
	out->status = br.status;
	sqlite3_stmt *st = stmt(c, SQL_TX_PART_ROWS);
	bind_text(st, 1, session_id);
	while (*n < SESSION_PARTICIPANTS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_part_row *r = &rows[(*n)++];
		col_text(st, 0, r->id, sizeof(r->id));
		r->idx = sqlite3_column_int(st, 1);
		col_text(st, 2, r->bidx, sizeof(r->bidx));
		col_text(st, 3, r->peer, sizeof(r->peer));
		col_text(st, 4, r->number_id, sizeof(r->number_id));
		col_text(st, 5, r->e164, sizeof(r->e164));
	}
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, "part_rows");
}

static int sq_tx_session_touch(struct store_tx *tx, const char *id, int64_t now)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_SESSION_TOUCH);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	return exec_stmt(c, st, "session_touch");
}

static int sq_tx_event_insert(struct store_tx *tx, const char *session_id, const char *kind, const char *participant_id,
			      const char *detail, int64_t now)
{
	return event_insert(tx_conn(tx), session_id, kind, participant_id, detail, now);
}

static int sq_tx_holds(struct store_tx *tx, const struct store_pool_query *q, int64_t *held, int64_t *k)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_HOLDS);
	bind_pool(st, q, 0);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*held = sqlite3_column_int64(st, 0);
		*k = sqlite3_column_int64(st, 1);
	}
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : db_fail(c, "holds");
}

static int sq_tx_pool_count(struct store_tx *tx, const struct store_pool_query *q, int limit, int64_t *total)
{
	struct sqlite_conn *c = tx_conn(tx);
	sqlite3_stmt *st = stmt(c, SQL_TX_POOL_COUNT);
	bind_pool(st, q, limit);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*total = sqlite3_column_int64(st, 0);
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : db_fail(c, "pool_count");
}

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
SQ_LOCKED(sq_tx_run, (void *b, int (*body)(struct store_tx *, void *), void *ctx), (b, body, ctx))
SQ_LOCKED(sq_setting_get, (void *b, const char *key, char *out, size_t cap), (b, key, out, cap))
SQ_LOCKED(sq_setting_put, (void *b, const char *key, const char *value), (b, key, value))
SQ_LOCKED(sq_setting_add, (void *b, const char *key, const char *value), (b, key, value))
SQ_LOCKED(sq_service_insert, (void *b, const struct service *svc), (b, svc))
SQ_LOCKED(sq_service_get, (void *b, const char *id, struct service *out), (b, id, out))
SQ_LOCKED(sq_service_list, (void *b, void (*cb)(void *, const struct service *), void *ctx), (b, cb, ctx))
SQ_LOCKED(sq_service_update, (void *b, const struct service *svc), (b, svc))
SQ_LOCKED(sq_number_insert, (void *b, const struct number *n), (b, n))
SQ_LOCKED(sq_number_get, (void *b, const char *id, struct number *out), (b, id, out))
SQ_LOCKED(sq_number_list, (void *b, const char *service_id, void (*cb)(void *, const struct number *), void *ctx), (b, service_id, cb, ctx))
SQ_LOCKED(sq_number_set_state, (void *b, const char *id, int state), (b, id, state))
SQ_LOCKED(sq_number_set_region, (void *b, const char *id, const char *region), (b, id, region))
SQ_LOCKED(sq_number_delete, (void *b, const char *id), (b, id))
SQ_LOCKED(sq_session_get, (void *b, const char *id, struct session *out), (b, id, out))
SQ_LOCKED(sq_session_list, (void *b, const char *service_id, const struct session_filter *f, void (*cb)(void *, const struct session *), void *ctx), (b, service_id, f, cb, ctx))
SQ_LOCKED(sq_route_lookup, (void *b, const char *to_e164, const char *from_e164, struct route_view *out), (b, to_e164, from_e164, out))
SQ_LOCKED(sq_interaction_get, (void *b, const char *id, struct interaction *out), (b, id, out))
SQ_LOCKED(sq_interaction_by_sid, (void *b, int carrier, const char *carrier_sid, struct interaction *out), (b, carrier, carrier_sid, out))
SQ_LOCKED(sq_interaction_list, (void *b, const char *session_id, void (*cb)(void *, const struct interaction *), void *ctx), (b, session_id, cb, ctx))
SQ_LOCKED(sq_leg_update, (void *b, const char *interaction_id, char leg, const char *carrier_sid, const struct leg_update *u, int64_t now), (b, interaction_id, leg, carrier_sid, u, now))
SQ_LOCKED(sq_participant_number, (void *b, const char *participant_id, char *out, size_t cap), (b, participant_id, out, cap))
SQ_LOCKED(sq_stats, (void *b, struct store_stats *out), (b, out))
SQ_LOCKED(sq_records, (void *b, const char *service_id, int64_t from, int64_t to, int (*cb)(void *, const struct interaction *), void *ctx), (b, service_id, from, to, cb, ctx))
SQ_LOCKED(sq_session_events, (void *b, const char *session_id, void (*cb)(void *, const struct session_event *), void *ctx), (b, session_id, cb, ctx))
SQ_LOCKED(sq_pin_lookup, (void *b, const char *service_id, const char *pin, const char *from_e164, struct route_view *out), (b, service_id, pin, from_e164, out))
SQ_LOCKED(sq_optout_set, (void *b, const char *service_id, const char *from_e164, const char *number_id, int opted_out, int64_t now), (b, service_id, from_e164, number_id, opted_out, now))
SQ_LOCKED(sq_pool_stats, (void *b, const char *service_id, struct pool_stats *out), (b, service_id, out))
SQ_LOCKED(sq_usage, (void *b, const char *service_id, int64_t from, int64_t to, void (*cb)(void *, const struct usage_day *), void *ctx), (b, service_id, from, to, cb, ctx))

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.ping = locked_sq_ping,
	.tx_run = locked_sq_tx_run,
	.setting_get = locked_sq_setting_get,
	.setting_put = locked_sq_setting_put,
	.setting_add = locked_sq_setting_add,
	.service_insert = locked_sq_service_insert,
	.service_get = locked_sq_service_get,
	.service_list = locked_sq_service_list,
	.service_update = locked_sq_service_update,
	.number_insert = locked_sq_number_insert,
	.number_get = locked_sq_number_get,
	.number_list = locked_sq_number_list,
	.number_set_state = locked_sq_number_set_state,
	.number_set_region = locked_sq_number_set_region,
	.number_delete = locked_sq_number_delete,
	.session_get = locked_sq_session_get,
	.session_list = locked_sq_session_list,
	.route_lookup = locked_sq_route_lookup,
	.interaction_record = sq_interaction_record,
	.interaction_get = locked_sq_interaction_get,
	.interaction_by_sid = locked_sq_interaction_by_sid,
	.interaction_list = locked_sq_interaction_list,
	.leg_update = locked_sq_leg_update,
	.participant_number = locked_sq_participant_number,
	.stats = locked_sq_stats,
	.records = locked_sq_records,
	.usage = locked_sq_usage,
	.session_events = locked_sq_session_events,
	.tx_session_lock = sq_tx_session_lock,
	.tx_session_put = sq_tx_session_put,
	.tx_open_taken = sq_tx_open_taken,
	.tx_bindings_hold = sq_tx_bindings_hold,
	.tx_binding_keep = sq_tx_binding_keep,
	.tx_binding_take = sq_tx_binding_take,
	.tx_numbers_in_use_add = sq_tx_numbers_in_use_add,
	.tx_event_add = sq_tx_event_add,
	.tx_sessions_due = sq_tx_sessions_due,
	.tx_bindings_release_due = sq_tx_bindings_release_due,
	.tx_sessions_purge_due = sq_tx_sessions_purge_due,
	.tx_session_purge = sq_tx_session_purge,
	.pin_lookup = locked_sq_pin_lookup,
	.optout_set = locked_sq_optout_set,
	.pool_stats = locked_sq_pool_stats,
	.blind_index = sq_blind_index,
	.tx_pool_candidates = sq_tx_pool_candidates,
	.tx_holder = sq_tx_holder,
	.tx_binding_drop = sq_tx_binding_drop,
	.tx_sticky = sq_tx_sticky,
	.tx_number_by_id = sq_tx_number_by_id,
	.tx_number_by_e164 = sq_tx_number_by_e164,
	.tx_participant_insert = sq_tx_participant_insert,
	.tx_participant_move = sq_tx_participant_move,
	.tx_peer_set = sq_tx_peer_set,
	.tx_number_count = sq_tx_number_count,
	.tx_number_uncount = sq_tx_number_uncount,
	.tx_unique_name = sq_tx_unique_name,
	.tx_pin_taken = sq_tx_pin_taken,
	.tx_session_insert = sq_tx_session_insert,
	.tx_session_rows = sq_tx_session_rows,
	.tx_session_touch = sq_tx_session_touch,
	.tx_event_insert = sq_tx_event_insert,
	.tx_holds = sq_tx_holds,
	.tx_pool_count = sq_tx_pool_count,
};
