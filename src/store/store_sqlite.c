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
#include <sched.h>
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
	SQL_NUMBER_SET_REGION,
	SQL_NUMBER_DELETE,
	SQL_NUMBER_IN_USE,
	SQL_NUMBER_NAMED,
	SQL_UNIQUE_NAME_TAKEN,
	SQL_POOL_CANDIDATES,
	SQL_BINDING_HOLDER,
	SQL_SESSION_INSERT,
	SQL_PARTICIPANT_INSERT,
	SQL_NUMBER_INC,
	SQL_NUMBER_DEC,
	SQL_SESSION_GET,
	SQL_PARTICIPANTS_OF,
	SQL_SESSION_LIST,
	SQL_SESSION_CLOSE,
	SQL_BINDINGS_OF,
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
	SQL_NUMBER_OF_SERVICE,
	SQL_NUMBER_STATE,
	SQL_NUMBER_RELEASE_COOLING,
	SQL_NUMBER_OPTOUTS_DELETE,
	SQL_SESSION_BIDX,
	SQL_PIN_TAKEN,
	SQL_POOL_COOLING,
	SQL_POOL_FREE,
	SQL_BINDING_DROP,
	SQL_STICKY,
	SQL_HELD_COUNT,
	SQL_SESSION_BRIEF,
	SQL_PARTS_BRIEF,
	SQL_SESSION_BLOCK,
	SQL_BINDINGS_COOL,
	SQL_BINDINGS_RELEASE_DUE,
	SQL_BINDING_TAKE,
	SQL_SESSION_REOPEN,
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
/* The pool filter shared by the candidate, cooling and free-count queries: ?1
 * service, ?2 caps needed, ?3 the participant's blind index, ?5 the cap (a plain
 * range on numbers_pick; "no cap" is bound as INT64_MAX), ?6 the geo level (enum
 * geo_match), ?7 country, ?8 area code, ?9 region. */
#define POOL_WHERE                                                                                                \
	"n.service_id = ?1 AND n.state = 0 AND n.in_use < ?5 AND (n.caps & ?2) = ?2 AND (?6 = 3 OR (n.country = ?7 AND " \
	"(?6 = 0 OR (?6 = 1 AND n.area_code = ?8) OR (?6 = 2 AND n.region = ?9)))) "
#define POOL_ORDER "ORDER BY n.in_use, n.created_at, n.id LIMIT ?4"

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
	[SQL_NUMBER_NAMED] = "SELECT " NUMBER_COLS " FROM numbers n WHERE n.service_id = ?1 AND n.e164 = ?2",
	[SQL_UNIQUE_NAME_TAKEN] = "SELECT id FROM sessions WHERE service_id = ?1 AND unique_name = ?2 AND status < 2",
	[SQL_POOL_CANDIDATES] =
		"SELECT n.id, n.e164, n.state, n.caps, n.in_use, n.created_at FROM numbers n WHERE " POOL_WHERE
		"AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.bidx = ?3 AND p.proxy_number_id = n.id AND p.active = 1) "
		POOL_ORDER,
	/* step 4 of create: numbers this real number holds only as a cooling-off binding */
	[SQL_POOL_COOLING] =
		"SELECT n.id, n.e164, n.state, n.caps, n.in_use, n.created_at FROM numbers n WHERE " POOL_WHERE
		"AND EXISTS (SELECT 1 FROM participants p WHERE p.bidx = ?3 AND p.proxy_number_id = n.id AND p.active = 1 "
		"AND p.held_until IS NOT NULL) " POOL_ORDER,
	/* numbers at the level, held or not (see headroom()) */
	[SQL_POOL_FREE] = "SELECT COUNT(*) FROM (SELECT 1 FROM numbers n WHERE " POOL_WHERE "LIMIT ?4)",
	[SQL_BINDING_HOLDER] = "SELECT id, held_until IS NOT NULL, peer_bidx FROM participants "
			       "WHERE bidx = ?1 AND proxy_number_id = ?2 AND active = 1",
	[SQL_SESSION_INSERT] =
		"INSERT INTO sessions (id, service_id, unique_name, mode, status, ttl, expires_at, created_at, "
		"updated_at, last_activity_at, closed_at, deadline, " POLICY_COLS ", pin) "
		"VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?7, ?7, 0, ?8, ?9, ?10, ?11, ?12, ?13)",
	[SQL_PARTICIPANT_INSERT] =
		"INSERT INTO participants (id, session_id, idx, label, masked, number_sealed, bidx, proxy_number_id, "
		"proxy_e164, active, country, peer_bidx, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12)",
	[SQL_NUMBER_INC] = "UPDATE numbers SET in_use = in_use + 1 WHERE id = ?1",
	[SQL_NUMBER_DEC] = "UPDATE numbers SET in_use = in_use - 1 WHERE id = ?1 AND in_use > 0",
	[SQL_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1",
	[SQL_PARTICIPANTS_OF] = "SELECT id, label, masked, proxy_number_id, proxy_e164, country FROM participants "
				"WHERE session_id = ?1 ORDER BY idx",
	[SQL_SESSION_LIST] =
		"SELECT " SESSION_COLS " FROM sessions WHERE service_id = ?1 AND (?2 < 0 OR status = ?2) "
		"AND (?3 IS NULL OR unique_name = ?3) AND (?4 IS NULL OR (created_at, id) > "
		"(SELECT created_at, id FROM sessions WHERE id = ?4)) ORDER BY created_at, id LIMIT ?5",
	[SQL_SESSION_CLOSE] = "UPDATE sessions SET status = ?3, closed_at = ?2, updated_at = ?2, deadline = NULL "
			      "WHERE id = ?1 AND status < 2",
	[SQL_BINDINGS_OF] = "SELECT proxy_number_id FROM participants WHERE session_id = ?1 AND active = 1",
	[SQL_SESSION_TIMES] = "SELECT status, ttl, expires_at, last_activity_at FROM sessions WHERE id = ?1",
	[SQL_SESSION_SET_TIMES] = "UPDATE sessions SET ttl = ?2, expires_at = ?3, deadline = ?4, updated_at = ?5 WHERE id = ?1",
	[SQL_EXPIRE_DUE] = "SELECT id FROM sessions WHERE status < 2 AND deadline IS NOT NULL AND deadline <= ?1 "
			   "ORDER BY deadline LIMIT ?2",
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
	/* a purged number (empty blob, store_numbers_purge) is not found */
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
	[SQL_SESSION_BIDX] = "SELECT bidx FROM participants WHERE session_id = ?1 ORDER BY idx",
	[SQL_PIN_TAKEN] = "SELECT 1 FROM sessions WHERE service_id = ?1 AND pin = ?2 AND status < 2",
	[SQL_BINDING_DROP] = "UPDATE participants SET active = 0 WHERE id = ?1",
	/* the pair's most recent participant row in this service (participants_sticky) */
	[SQL_STICKY] = "SELECT p.proxy_number_id FROM participants p JOIN numbers n ON n.id = p.proxy_number_id "
		       "WHERE p.bidx = ?1 AND p.peer_bidx = ?2 AND n.service_id = ?3 "
		       "ORDER BY p.created_at DESC, p.rowid DESC LIMIT 1",
	/* the participant's holds in the service (bindings index, then numbers by id):
	 * open ones, and those (open or cooling) on numbers POOL_WHERE admits */
	[SQL_HELD_COUNT] = "SELECT COALESCE(SUM(p.held_until IS NULL), 0), COALESCE(SUM(" POOL_WHERE "), 0) "
			   "FROM participants p CROSS JOIN numbers n ON n.id = p.proxy_number_id "
			   "WHERE p.bidx = ?3 AND p.active = 1 AND n.service_id = ?1",
	[SQL_SESSION_BRIEF] = "SELECT s.status, s.service_id, s.mode, v.cooloff, s.unique_name, s.pin, s.ttl, s.expires_at "
			      "FROM sessions s JOIN services v ON v.id = s.service_id WHERE s.id = ?1",
	[SQL_PARTS_BRIEF] = "SELECT id, idx, bidx, peer_bidx, proxy_number_id, proxy_e164, active FROM participants "
			    "WHERE session_id = ?1 ORDER BY idx",
	[SQL_SESSION_BLOCK] = "UPDATE sessions SET status = 4, updated_at = ?2 WHERE id = ?1",
	[SQL_BINDINGS_COOL] = "UPDATE participants SET held_until = ?2, active = ?3 WHERE session_id = ?1 AND active = 1",
	[SQL_BINDINGS_RELEASE_DUE] =
		"UPDATE participants SET active = 0 WHERE rowid IN (SELECT rowid FROM participants "
		"WHERE active = 1 AND held_until IS NOT NULL AND held_until <= ?1 ORDER BY held_until LIMIT ?2)",
	[SQL_BINDING_TAKE] = "UPDATE participants SET active = 1, held_until = NULL WHERE id = ?1",
	[SQL_SESSION_REOPEN] = "UPDATE sessions SET status = 0, closed_at = 0, updated_at = ?2, last_activity_at = ?2, "
			       "expires_at = ?3, deadline = ?4 WHERE id = ?1",
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
	 * (sweeper.c PURGE_EVERY_S), not every sweep. */
	/* the closed sessions past retention whose bindings are all released (index sessions_purge) */
	[SQL_PURGE_DUE] = "SELECT s.id FROM sessions s WHERE s.status >= 2 AND s.purged_at = 0 AND s.closed_at > 0 "
			  "AND s.closed_at < ?1 AND NOT EXISTS (SELECT 1 FROM participants q WHERE q.session_id = s.id "
			  "AND q.active = 1) ORDER BY s.closed_at LIMIT ?2",
	[SQL_NUMBERS_PURGE] = "UPDATE participants SET number_sealed = x'', bidx = 'purged:' || id "
			      "WHERE session_id = ?1 AND active = 0 AND number_sealed <> x''",
	[SQL_SESSION_PURGED] = "UPDATE sessions SET purged_at = ?2 WHERE id = ?1",
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
		if (rc == 0)
			rc = tx_commit(c);
		if (rc < 0)
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

/* Reads the first column of a one-row query bound with up to two texts into out
 * (1 found, 0 none, or an error). */
static int text_of(struct sqlite_conn *c, enum sql_id id, const char *a1, const char *a2, char *out, size_t cap)
{
	sqlite3_stmt *st = stmt(c, id);
	bind_text(st, 1, a1);
	if (a2 != NULL)
		bind_text(st, 2, a2);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_text(st, 0, out, cap);
	stmt_done(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_fail(c, "text_of");
}

static int number_step(struct sqlite_conn *c, const char *number_id, enum sql_id id)
{
	sqlite3_stmt *st = stmt(c, id);
	bind_text(st, 1, number_id);
	return exec_stmt(c, st, id == SQL_NUMBER_INC ? "number_inc" : "number_dec");
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

/* One participant being given a proxy number by create, add or swap, inside the
 * caller's transaction. The caller fills the inputs; bind_one() the results. */
struct binder {
	struct store_sqlite *s;
	struct sqlite_conn *c;
	const struct create_rules *rules;
	const char *service_id;
	const char *session_id;
	unsigned need;
	int64_t now;
	struct participant *p;      /* real number (create/add), geo, optional proxy_e164 */
	int idx;                    /* its index in the session */
	char bidx[VAULT_BIDX_LEN + 1];
	const char *peer_bidx;      /* the other participant's, "" while single-party */
	const char *other_number;   /* the proxy number id the other participant holds, NULL = none */
	const char *swap_id;        /* swap: the participant row to move (no insert, no sticky, no reuse) */
	const char *current_number; /* swap: the number it has now */
	int levels[4];
	int n_levels;
	/* results */
	int level, sticky, reused_cooling, failed_level;
};

/* Whether number n is as close to the participant as geo level asks. */
static int geo_fits(int level, const struct number *n, const struct participant *p)
{
	if (level == GEO_ANY)
		return 1;
	if (p->country[0] == '\0' || strcmp(n->country, p->country) != 0)
		return 0;
	if (level == GEO_AREA_CODE)
		return p->area_code[0] != '\0' && strcmp(n->area_code, p->area_code) == 0;
	if (level == GEO_REGION)
		return p->region[0] != '\0' && strcmp(n->region, p->region) == 0;
	return 1;
}

/* The narrowest of the participant's levels the number is at, GEO_ANY if none. */
static int geo_level_of(const struct binder *b, const struct number *n)
{
	for (int i = 0; i < b->n_levels; i++)
		if (b->levels[i] != GEO_ANY && geo_fits(b->levels[i], n, b->p))
			return b->levels[i];
	return GEO_ANY;
}

/* in_use < cap, counting this session once when the other participant is on n already. */
static int under_cap(const struct binder *b, const struct number *n)
{
	int64_t in_use = n->in_use;
	if (b->other_number != NULL && strcmp(b->other_number, n->id) == 0)
		in_use--;
	return pool_named_usable(n->state, n->caps, b->need, in_use, b->rules->number_cap);
}

/* The active binding of this real number on number_id, if any. */
struct holder {
	int found;
	int cooling; /* held by a closed or blocked session during its cool-off */
	char id[ID_MAX];
	char peer[VAULT_BIDX_LEN + 1];
};

static int holder_of(const struct binder *b, const char *number_id, struct holder *h)
{
	memset(h, 0, sizeof(*h));
	sqlite3_stmt *st = stmt(b->c, SQL_BINDING_HOLDER);
	bind_text(st, 1, b->bidx);
	bind_text(st, 2, number_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		h->found = 1;
		col_text(st, 0, h->id, sizeof(h->id));
		h->cooling = sqlite3_column_int(st, 1);
		col_text(st, 2, h->peer, sizeof(h->peer));
	}
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(b->c, "binding_holder");
}

/* A cooling-off binding of the same two real numbers (the other one known). */
static int same_pair(const struct binder *b, const struct holder *h)
{
	return b->peer_bidx[0] != '\0' && strcmp(h->peer, b->peer_bidx) == 0;
}

/* Releases a cooling-off binding so that it can be taken (its held_until stays). */
static int drop_binding(const struct binder *b, const char *participant_row)
{
	sqlite3_stmt *st = stmt(b->c, SQL_BINDING_DROP);
	bind_text(st, 1, participant_row);
	return exec_stmt(b->c, st, "binding_drop");
}

/* Writes the binding (a new participant row, or the swapped row moved) and counts
 * the session on the number unless the other participant is on it already.
 * MASKD_ECONFLICT when the bindings index refuses it. */
static int claim(struct binder *b, const char *number_id, const char *e164)
{
	struct participant *p = b->p;
	int rc;
	sqlite3_stmt *st;
	if (b->swap_id != NULL) {
		st = stmt(b->c, SQL_PARTICIPANT_MOVE);
		bind_text(st, 1, b->swap_id);
		bind_text(st, 2, number_id);
		bind_text(st, 3, e164);
		rc = exec_stmt(b->c, st, "participant_move");
	} else {
		uint8_t sealed[VAULT_SEALED_MAX];
		size_t sealed_len = 0;
		rc = vault_seal(b->s->vault, p->number, p->id, sealed, sizeof(sealed), &sealed_len);
		if (rc < 0)
			return rc;
		st = stmt(b->c, SQL_PARTICIPANT_INSERT);
		bind_text(st, 1, p->id);
		bind_text(st, 2, b->session_id);
		sqlite3_bind_int(st, 3, b->idx);
		bind_text(st, 4, p->label);
		bind_text(st, 5, p->masked);
		sqlite3_bind_blob(st, 6, sealed, (int)sealed_len, SQLITE_STATIC);
		bind_text(st, 7, b->bidx);
		bind_text(st, 8, number_id);
		bind_text(st, 9, e164);
		bind_text(st, 10, p->country);
		bind_text(st, 11, b->peer_bidx);
		sqlite3_bind_int64(st, 12, b->now);
		rc = exec_stmt(b->c, st, "participant_insert");
	}
	if (rc < 0)
		return rc;
	snprintf(p->proxy_number_id, sizeof(p->proxy_number_id), "%s", number_id);
	snprintf(p->proxy_e164, sizeof(p->proxy_e164), "%s", e164);
	/* in_use counts sessions: both participants on one number is one session */
	if (b->other_number != NULL && strcmp(b->other_number, number_id) == 0)
		return 0;
	return number_step(b->c, number_id, SQL_NUMBER_INC);
}

/* Binds the whole numbers row n found by the caller, after an optional release. */
static int claim_number(struct binder *b, const struct number *n, const struct holder *release)
{
	if (release != NULL && release->found) {
		int rc = drop_binding(b, release->id);
		if (rc < 0)
			return rc;
		b->reused_cooling = 1;
	}
	b->level = geo_level_of(b, n);
	return claim(b, n->id, n->e164);
}

static void bind_pool_query(const struct binder *b, sqlite3_stmt *st, int level, int limit)
{
	bind_text(st, 1, b->service_id);
	sqlite3_bind_int(st, 2, (int)b->need);
	bind_text(st, 3, b->bidx);
	sqlite3_bind_int(st, 4, limit);
	sqlite3_bind_int64(st, 5, b->rules->number_cap > 0 ? (int64_t)b->rules->number_cap : INT64_MAX);
	sqlite3_bind_int(st, 6, level);
	bind_text(st, 7, b->p->country);
	bind_text(st, 8, b->p->area_code);
	bind_text(st, 9, b->p->region);
}

/* A level whose key the participant lacks matches nothing (pool_geo_levels keeps
 * one only when strict). */
static int level_possible(const struct binder *b, int level)
{
	if (level == GEO_ANY)
		return 1;
	if (b->p->country[0] == '\0')
		return 0;
	if (level == GEO_AREA_CODE)
		return b->p->area_code[0] != '\0';
	if (level == GEO_REGION)
		return b->p->region[0] != '\0';
	return 1;
}

/* The number the other participant of this session holds, as a last candidate
 * when the cap alone kept it out of the query: it is at the cap because of this
 * very session, which it counts once (the query keeps "in_use < cap" a plain
 * index range). By its in_use it is the most loaded, so it comes after every
 * number under the cap, as without a cap. 1 added, 0 not, or an error. */
static int add_session_number(struct binder *b, int level, struct pool_candidate *cand, char id[ID_MAX],
			      char e164[PHONE_E164_MAX + 1])
{
	if (b->other_number == NULL || b->other_number[0] == '\0' || b->rules->number_cap <= 0)
		return 0;
	struct number n;
	int rc = number_by(b->c, SQL_NUMBER_OF_SERVICE, b->other_number, b->service_id, &n);
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (n.in_use < b->rules->number_cap || n.state != NUMBER_ACTIVE || !under_cap(b, &n) || !geo_fits(level, &n, b->p))
		return 0;
	struct holder h;
	rc = holder_of(b, n.id, &h);
	if (rc < 0 || h.found)
		return rc;
	snprintf(id, ID_MAX, "%s", n.id);
	snprintf(e164, PHONE_E164_MAX + 1, "%s", n.e164);
	*cand = (struct pool_candidate){.number_id = id, .state = n.state, .caps = n.caps, .in_use = n.in_use - 1,
					.created_at = n.created_at};
	return 1;
}

/* Steps 3 and 4 of create at one geo level: the pool rule over the candidates of
 * q (SQL_POOL_CANDIDATES: free for this real number; SQL_POOL_COOLING: held by it
 * only as cooling-off, released and taken). 1 bound, 0 nothing fits, or an error. */
static int claim_from_pool(struct binder *b, enum sql_id q, int level, const char *avoid)
{
	if (!level_possible(b, level))
		return 0;
	struct pool_candidate cand[POOL_CANDIDATES];
	char ids[POOL_CANDIDATES][ID_MAX];
	char e164[POOL_CANDIDATES][PHONE_E164_MAX + 1];
	sqlite3_stmt *st = stmt(b->c, q);
	bind_pool_query(b, st, level, POOL_CANDIDATES);
	int n = 0, rc = SQLITE_DONE;
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
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(b->c, "pool_candidates");
	int extra_tried = q != SQL_POOL_CANDIDATES;
	for (;;) {
		int pick = pool_pick_for(cand, (size_t)n, b->need, b->rules->number_cap, avoid);
		if (pick < 0 && !extra_tried && n < POOL_CANDIDATES) {
			extra_tried = 1;
			rc = add_session_number(b, level, &cand[n], ids[n], e164[n]);
			if (rc < 0)
				return rc;
			n += rc;
			continue;
		}
		if (pick < 0)
			return 0;
		if (q == SQL_POOL_COOLING) {
			struct holder h;
			rc = holder_of(b, ids[pick], &h);
			if (rc == 0 && h.found)
				rc = drop_binding(b, h.id);
			if (rc < 0)
				return rc;
			b->reused_cooling = 1;
		}
		rc = claim(b, ids[pick], e164[pick]);
		if (rc == MASKD_ECONFLICT) { /* the bindings index disagrees with the query: next one */
			cand[pick].held = 1;
			continue;
		}
		if (rc < 0)
			return rc;
		b->level = level;
		return 1;
	}
}

/* Step 1: the proxy number the app named. */
static int bind_named(struct binder *b)
{
	struct number n;
	int rc = number_by(b->c, SQL_NUMBER_NAMED, b->service_id, b->p->proxy_e164, &n);
	if (rc < 0)
		return rc;
	if (b->swap_id != NULL && strcmp(n.id, b->current_number) == 0)
		return MASKD_ECONFLICT;
	if (!under_cap(b, &n))
		return MASKD_ENOTFOUND;
	struct holder h;
	rc = holder_of(b, n.id, &h);
	if (rc < 0)
		return rc;
	if (h.found && (b->swap_id != NULL || !h.cooling || !(same_pair(b, &h) || b->rules->cooloff_reuse)))
		return MASKD_ECONFLICT;
	return claim_number(b, &n, &h);
}

/* Step 2: the number this pair had last time, when it is still usable. 1 bound, 0
 * not, or an error; *sticky_id gets that number ("" = the pair is new). */
static int bind_sticky(struct binder *b, char sticky_id[ID_MAX], int take)
{
	sticky_id[0] = '\0';
	if (b->peer_bidx[0] == '\0')
		return 0;
	sqlite3_stmt *st = stmt(b->c, SQL_STICKY);
	bind_text(st, 1, b->bidx);
	bind_text(st, 2, b->peer_bidx);
	bind_text(st, 3, b->service_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_text(st, 0, sticky_id, ID_MAX);
	stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(b->c, "sticky");
	if (rc == SQLITE_DONE || !take)
		return 0;
	struct number n;
	rc = number_by(b->c, SQL_NUMBER_OF_SERVICE, sticky_id, b->service_id, &n);
	if (rc == MASKD_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	if (n.state != NUMBER_ACTIVE || !under_cap(b, &n))
		return 0;
	/* at one of the participant's levels: under strict geo-match, last time's
	 * number must be local too (GEO_ANY is a level only when not strict) */
	if (geo_level_of(b, &n) == GEO_ANY && b->levels[b->n_levels - 1] != GEO_ANY)
		return 0;
	struct holder h;
	rc = holder_of(b, n.id, &h);
	if (rc < 0)
		return rc;
	if (h.found && !(h.cooling && same_pair(b, &h)))
		return 0;
	rc = claim_number(b, &n, &h);
	if (rc == MASKD_ECONFLICT)
		return 0;
	return rc < 0 ? rc : 1;
}

/* Gives b->p a proxy number by the rules of store_session_create (steps 1-5), or
 * for a swap by steps 1 and 3. */
static int bind_one(struct binder *b)
{
	const struct pool_rules *pr = &b->rules->pool;
	b->n_levels = pool_geo_levels(pr->geo_match, pr->geo_match_strict, b->p->area_code, b->p->region, b->levels);
	b->level = GEO_ANY;
	b->sticky = b->reused_cooling = 0;
	b->failed_level = b->levels[b->n_levels - 1];
	if (b->p->proxy_e164[0] != '\0')
		return bind_named(b);
	char sticky_id[ID_MAX] = "";
	int rc = 0;
	if (b->swap_id == NULL) {
		rc = bind_sticky(b, sticky_id, pr->number_selection == SELECT_PREFER_STICKY);
		if (rc < 0)
			return rc;
	}
	const char *avoid = pr->number_selection == SELECT_AVOID_STICKY && sticky_id[0] ? sticky_id : NULL;
	for (int i = 0; rc == 0 && i < b->n_levels; i++)
		rc = claim_from_pool(b, SQL_POOL_CANDIDATES, b->levels[i], avoid);
	for (int i = 0; rc == 0 && b->swap_id == NULL && b->rules->cooloff_reuse && i < b->n_levels; i++)
		rc = claim_from_pool(b, SQL_POOL_COOLING, b->levels[i], NULL);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return MASKD_EEXHAUSTED;
	b->sticky = sticky_id[0] != '\0' && strcmp(sticky_id, b->p->proxy_number_id) == 0;
	return 0;
}

/* The outcome's held and free_left of bound participants. free_left counts the
 * numbers it can still get: at its widest geo level (any number unless strict,
 * where the pick may fall back), not only the level it matched. Numbers free for
 * it = numbers at that level minus the k of those it holds: counting up to
 * POOL_FREE_PROBE + k numbers and subtracting k is exact below the probe and
 * spares a bindings probe per number; participants with the same level and key
 * (both local: the usual case) share one count. Measured: a quarter of the cost
 * of a NOT EXISTS probe per participant. */
static int headroom_level(const struct binder *b)
{
	return b->levels[b->n_levels - 1];
}

static int own_holds(struct binder *b, int64_t *held, int64_t *k)
{
	sqlite3_stmt *st = stmt(b->c, SQL_HELD_COUNT);
	bind_pool_query(b, st, headroom_level(b), 0);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*held = sqlite3_column_int64(st, 0);
		*k = sqlite3_column_int64(st, 1);
	}
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : db_fail(b->c, "held_count");
}

static int same_level_key(const struct binder *a, const struct binder *b)
{
	int level = headroom_level(a);
	if (level != headroom_level(b) || a->need != b->need)
		return 0;
	if (level == GEO_ANY)
		return 1;
	return strcmp(a->p->country, b->p->country) == 0 &&
	       (level != GEO_AREA_CODE || strcmp(a->p->area_code, b->p->area_code) == 0) &&
	       (level != GEO_REGION || strcmp(a->p->region, b->p->region) == 0);
}

static int headroom(struct binder *bs, int n, int64_t held[], int64_t free_left[])
{
	int64_t k[SESSION_PARTICIPANTS] = {0};
	int done[SESSION_PARTICIPANTS] = {0};
	for (int i = 0; i < n; i++) {
		int rc = own_holds(&bs[i], &held[i], &k[i]);
		if (rc < 0)
			return rc;
		free_left[i] = 0;
	}
	for (int i = 0; i < n; i++) {
		int level = headroom_level(&bs[i]);
		if (done[i] || !level_possible(&bs[i], level))
			continue;
		int64_t kmax = k[i];
		for (int j = i + 1; j < n; j++)
			if (same_level_key(&bs[i], &bs[j]) && k[j] > kmax)
				kmax = k[j];
		sqlite3_stmt *st = stmt(bs[i].c, SQL_POOL_FREE);
		bind_pool_query(&bs[i], st, level, POOL_FREE_PROBE + (int)kmax);
		int rc = sqlite3_step(st);
		int64_t total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
		stmt_done(st);
		if (rc != SQLITE_ROW)
			return db_fail(bs[i].c, "pool_free");
		for (int j = i; j < n; j++) {
			if (j > i && !same_level_key(&bs[i], &bs[j]))
				continue;
			/* total < probe + kmax: every number at the level was counted */
			free_left[j] = total - k[j] < POOL_FREE_PROBE ? total - k[j] : POOL_FREE_PROBE;
			done[j] = 1;
		}
	}
	return 0;
}

static void binder_init(struct binder *b, struct store_sqlite *s, struct sqlite_conn *c, const struct create_rules *rules,
			const char *service_id, const char *session_id, int mode, int64_t now)
{
	memset(b, 0, sizeof(*b));
	b->s = s;
	b->c = c;
	b->rules = rules;
	b->service_id = service_id;
	b->session_id = session_id;
	b->need = pool_caps_for_mode(mode);
	b->now = now;
	b->peer_bidx = "";
}

static void outcome_of(const struct binder *b, struct create_outcome *out, int i)
{
	out->level[i] = b->level;
	out->sticky[i] = b->sticky;
	out->reused_cooling[i] = b->reused_cooling;
}

/* unique_name of an open session: 0 free, MASKD_EEXISTS with existing_id when that
 * session has the same real numbers (as a set), else MASKD_ECONFLICT. */
static int unique_name_check(struct sqlite_conn *c, const struct session *ses, char bidx[][VAULT_BIDX_LEN + 1],
			     struct create_outcome *out)
{
	char existing[ID_MAX];
	int rc = text_of(c, SQL_UNIQUE_NAME_TAKEN, ses->service_id, ses->unique_name, existing, sizeof(existing));
	if (rc <= 0)
		return rc;
	char have[SESSION_PARTICIPANTS][VAULT_BIDX_LEN + 1];
	int n = 0;
	sqlite3_stmt *st = stmt(c, SQL_SESSION_BIDX);
	bind_text(st, 1, existing);
	while (n < SESSION_PARTICIPANTS && (rc = sqlite3_step(st)) == SQLITE_ROW)
		col_text(st, 0, have[n++], sizeof(have[0]));
	stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(c, "session_bidx");
	int same = n == ses->n_participants;
	for (int i = 0; same && i < n; i++) {
		int in_new = 0, in_old = 0;
		for (int j = 0; j < n; j++) {
			in_new |= strcmp(have[i], bidx[j]) == 0;
			in_old |= strcmp(bidx[i], have[j]) == 0;
		}
		same = in_new && in_old;
	}
	if (same) {
		snprintf(out->existing_id, sizeof(out->existing_id), "%s", existing);
		return MASKD_EEXISTS;
	}
	out->failed_index = CREATE_FAIL_UNIQUE_NAME;
	return MASKD_ECONFLICT;
}

static int sq_session_create(void *b, struct session *ses, const struct create_rules *rules, int64_t now,
			     struct create_outcome *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	memset(out, 0, sizeof(*out));
	out->failed_index = -1;
	out->failed_level = GEO_ANY;
	if (ses->n_participants < 1 || ses->n_participants > SESSION_PARTICIPANTS)
		return MASKD_EINVAL;
	char bidx[SESSION_PARTICIPANTS][VAULT_BIDX_LEN + 1];
	for (int i = 0; i < ses->n_participants; i++)
		vault_blind_index(s->vault, ses->participants[i].number, bidx[i]);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	if (ses->unique_name[0] != '\0') {
		rc = unique_name_check(c, ses, bidx, out);
		if (rc < 0)
			goto fail;
	}
	if (ses->pin[0] != '\0') {
		rc = row_exists(c, SQL_PIN_TAKEN, ses->service_id, ses->pin);
		if (rc != 0) {
			if (rc > 0)
				out->failed_index = CREATE_FAIL_PIN;
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
	bind_text(st, 13, ses->pin[0] ? ses->pin : NULL);
	rc = exec_stmt(c, st, "session_insert");
	if (rc < 0)
		goto fail;
	struct binder bs[SESSION_PARTICIPANTS];
	for (int i = 0; i < ses->n_participants; i++) {
		struct binder *bd = &bs[i];
		binder_init(bd, s, c, rules, ses->service_id, ses->id, ses->mode, now);
		bd->p = &ses->participants[i];
		bd->idx = i;
		memcpy(bd->bidx, bidx[i], sizeof(bd->bidx));
		if (ses->n_participants == 2)
			bd->peer_bidx = bidx[1 - i];
		if (i > 0)
			bd->other_number = ses->participants[0].proxy_number_id;
		rc = bind_one(bd);
		if (rc < 0) {
			out->failed_index = i;
			out->failed_level = bd->failed_level;
			goto fail;
		}
		outcome_of(bd, out, i);
	}
	rc = headroom(bs, ses->n_participants, out->held, out->free_left);
	if (rc < 0)
		goto fail;
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

static int parts_of(struct sqlite_conn *c, const char *session_id, struct part_row rows[SESSION_PARTICIPANTS], int *n)
{
	sqlite3_stmt *st = stmt(c, SQL_PARTS_BRIEF);
	bind_text(st, 1, session_id);
	int rc;
	*n = 0;
	while (*n < SESSION_PARTICIPANTS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct part_row *r = &rows[(*n)++];
		col_text(st, 0, r->id, sizeof(r->id));
		r->idx = sqlite3_column_int(st, 1);
		col_text(st, 2, r->bidx, sizeof(r->bidx));
		col_text(st, 3, r->peer, sizeof(r->peer));
		col_text(st, 4, r->number_id, sizeof(r->number_id));
		col_text(st, 5, r->e164, sizeof(r->e164));
		r->active = sqlite3_column_int(st, 6);
	}
	stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_fail(c, "parts_of");
}

/* Adds 1 (or -1) to in_use of each distinct number the rows hold (active only
 * when active_only). */
static int count_session(struct sqlite_conn *c, const struct part_row *rows, int n, int active_only, enum sql_id step)
{
	for (int i = 0; i < n; i++) {
		if (active_only && !rows[i].active)
			continue;
		int dup = 0;
		for (int j = 0; j < i; j++)
			dup |= (!active_only || rows[j].active) && strcmp(rows[j].number_id, rows[i].number_id) == 0;
		if (dup)
			continue; /* one session on one number counts once */
		int rc = number_step(c, rows[i].number_id, step);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Closes one session with status (SESSION_CLOSED or SESSION_BLOCKED) inside a
 * transaction: its bindings cool off until now + the service's cooloff. Returns 1
 * when its status changed, 0 when not, or an error. */
static int close_in_tx(struct sqlite_conn *c, const char *id, int status, int64_t now, const char *why)
{
	struct brief br;
	int rc = session_brief(c, id, &br);
	if (rc < 0)
		return rc;
	const char *kind = status == SESSION_BLOCKED ? "blocked" : "closed";
	if (br.status >= SESSION_CLOSED) {
		if (status != SESSION_BLOCKED || br.status == SESSION_BLOCKED)
			return 0;
		sqlite3_stmt *st = stmt(c, SQL_SESSION_BLOCK);
		bind_text(st, 1, id);
		sqlite3_bind_int64(st, 2, now);
		rc = exec_stmt(c, st, "session_block");
		if (rc == 0)
			rc = event_insert(c, id, kind, NULL, why, now);
		return rc < 0 ? rc : 1;
	}
	sqlite3_stmt *st = stmt(c, SQL_SESSION_CLOSE);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, status);
	rc = exec_stmt(c, st, "session_close");
	if (rc < 0)
		return rc;
	struct part_row rows[SESSION_PARTICIPANTS];
	int n = 0;
	rc = parts_of(c, id, rows, &n);
	if (rc == 0)
		rc = count_session(c, rows, n, 1, SQL_NUMBER_DEC);
	if (rc < 0)
		return rc;
	st = stmt(c, SQL_BINDINGS_COOL);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now + (br.cooloff > 0 ? br.cooloff : 0));
	sqlite3_bind_int(st, 3, br.cooloff > 0); /* no cool-off: released at once */
	rc = exec_stmt(c, st, "bindings_cool");
	if (rc == 0)
		rc = event_insert(c, id, kind, NULL, why, now);
	return rc < 0 ? rc : 1;
}

static int sq_session_close(void *b, const char *id, int status, int64_t now)
{
	if (status != SESSION_CLOSED && status != SESSION_BLOCKED)
		return MASKD_EINVAL;
	CONN_OR_FAIL(b, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	rc = close_in_tx(c, id, status, now, NULL);
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
		rc = close_in_tx(c, ids[i], SESSION_CLOSED, now, "expired");
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

static int sq_session_reopen(void *b, const char *id, const int64_t *expires_at, int64_t now, int *failed_index)
{
	CONN_OR_FAIL(b, c);
	*failed_index = -1;
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct brief br;
	rc = session_brief(c, id, &br);
	if (rc < 0 || br.status < SESSION_CLOSED)
		goto done; /* not found, or open already: no change */
	int64_t exp = expires_at != NULL ? *expires_at : br.expires_at;
	if (exp != 0 && exp <= now) {
		rc = MASKD_EINVAL;
		goto done;
	}
	if (br.unique_name[0] != '\0') {
		rc = row_exists(c, SQL_UNIQUE_NAME_TAKEN, br.service_id, br.unique_name);
		if (rc != 0) {
			*failed_index = CREATE_FAIL_UNIQUE_NAME;
			rc = rc < 0 ? rc : MASKD_ECONFLICT;
			goto done;
		}
	}
	if (br.pin[0] != '\0') {
		rc = row_exists(c, SQL_PIN_TAKEN, br.service_id, br.pin);
		if (rc != 0) {
			*failed_index = CREATE_FAIL_PIN;
			rc = rc < 0 ? rc : MASKD_ECONFLICT;
			goto done;
		}
	}
	struct part_row rows[SESSION_PARTICIPANTS];
	int n = 0;
	rc = parts_of(c, id, rows, &n);
	for (int i = 0; rc == 0 && i < n; i++)
		if (strncmp(rows[i].bidx, "purged:", 7) == 0) {
			*failed_index = CREATE_FAIL_PURGED; /* no real number left to route to */
			rc = MASKD_ECONFLICT;
		}
	for (int i = 0; rc == 0 && i < n; i++) {
		if (!rows[i].active) {
			/* released: taken again only from a number still in the pool and not retired */
			char state[8] = "";
			rc = text_of(c, SQL_NUMBER_STATE, rows[i].number_id, NULL, state, sizeof(state));
			if (rc == 0 || (rc > 0 && strtol(state, NULL, 10) == NUMBER_RETIRED))
				rc = MASKD_ECONFLICT;
			if (rc < 0) {
				*failed_index = rows[i].idx;
				break;
			}
		}
		sqlite3_stmt *st = stmt(c, SQL_BINDING_TAKE);
		bind_text(st, 1, rows[i].id);
		rc = exec_stmt(c, st, "binding_take"); /* the bindings index refuses a binding someone took */
		if (rc == MASKD_ECONFLICT)
			*failed_index = rows[i].idx;
	}
	if (rc == 0)
		rc = count_session(c, rows, n, 0, SQL_NUMBER_INC);
	if (rc < 0)
		goto done;
	int64_t deadline = session_deadline(exp, br.ttl, now);
	sqlite3_stmt *st = stmt(c, SQL_SESSION_REOPEN);
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, exp);
	if (deadline > 0)
		sqlite3_bind_int64(st, 4, deadline);
	else
		sqlite3_bind_null(st, 4);
	rc = exec_stmt(c, st, "session_reopen");
	if (rc == 0)
		rc = event_insert(c, id, "reopened", NULL, NULL, now);
done:
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0)
		tx_rollback(c);
	return rc;
}

static int sq_participant_add(void *b, const char *session_id, struct participant *p, const struct create_rules *rules,
			      int64_t now, struct create_outcome *out)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	memset(out, 0, sizeof(*out));
	out->failed_index = -1;
	out->failed_level = GEO_ANY;
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct brief br;
	struct part_row rows[SESSION_PARTICIPANTS];
	int n = 0;
	rc = session_brief(c, session_id, &br);
	if (rc == 0)
		rc = parts_of(c, session_id, rows, &n);
	if (rc < 0)
		goto fail;
	if (br.status >= SESSION_CLOSED || n != 1) {
		rc = MASKD_ECONFLICT;
		goto fail;
	}
	struct binder bd;
	binder_init(&bd, s, c, rules, br.service_id, session_id, br.mode, now);
	bd.p = p;
	bd.idx = 1;
	vault_blind_index(s->vault, p->number, bd.bidx);
	if (strcmp(bd.bidx, rows[0].bidx) == 0) {
		rc = MASKD_EINVAL;
		goto fail;
	}
	bd.peer_bidx = rows[0].bidx;
	bd.other_number = rows[0].number_id;
	rc = bind_one(&bd);
	if (rc < 0) {
		out->failed_index = 1;
		out->failed_level = bd.failed_level;
		goto fail;
	}
	outcome_of(&bd, out, 1);
	rc = headroom(&bd, 1, &out->held[1], &out->free_left[1]);
	if (rc < 0)
		goto fail;
	sqlite3_stmt *st = stmt(c, SQL_SET_PEER);
	bind_text(st, 1, rows[0].id);
	bind_text(st, 2, bd.bidx);
	rc = exec_stmt(c, st, "set_peer");
	if (rc == 0) {
		st = stmt(c, SQL_SESSION_UPDATED);
		bind_text(st, 1, session_id);
		sqlite3_bind_int64(st, 2, now);
		rc = exec_stmt(c, st, "session_updated");
	}
	if (rc == 0)
		rc = event_insert(c, session_id, "participant_added", p->id, p->proxy_e164, now);
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	tx_rollback(c);
	return rc;
}

static int sq_participant_swap(void *b, const char *session_id, const char *participant_id, struct participant *p,
			       const struct create_rules *rules, int64_t now)
{
	struct store_sqlite *s = b;
	CONN_OR_FAIL(s, c);
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct brief br;
	struct part_row rows[SESSION_PARTICIPANTS];
	int n = 0;
	rc = session_brief(c, session_id, &br);
	if (rc == 0)
		rc = parts_of(c, session_id, rows, &n);
	if (rc < 0)
		goto fail;
	const struct part_row *me = NULL, *other = NULL;
	for (int i = 0; i < n; i++) {
		if (strcmp(rows[i].id, participant_id) == 0)
			me = &rows[i];
		else
			other = &rows[i];
	}
	if (me == NULL) {
		rc = MASKD_ENOTFOUND;
		goto fail;
	}
	if (br.status >= SESSION_CLOSED) {
		rc = MASKD_ECONFLICT;
		goto fail;
	}
	struct binder bd;
	binder_init(&bd, s, c, rules, br.service_id, session_id, br.mode, now);
	bd.p = p;
	bd.idx = me->idx;
	snprintf(bd.bidx, sizeof(bd.bidx), "%s", me->bidx);
	bd.peer_bidx = me->peer;
	bd.other_number = other != NULL ? other->number_id : NULL;
	bd.swap_id = me->id;
	bd.current_number = me->number_id;
	rc = bind_one(&bd);
	if (rc < 0)
		goto fail;
	if (other == NULL || strcmp(other->number_id, me->number_id) != 0)
		rc = number_step(c, me->number_id, SQL_NUMBER_DEC);
	char detail[2 * PHONE_E164_MAX + 8];
	snprintf(detail, sizeof(detail), "%s -> %s", me->e164, p->proxy_e164);
	if (rc == 0) {
		sqlite3_stmt *st = stmt(c, SQL_SESSION_UPDATED);
		bind_text(st, 1, session_id);
		sqlite3_bind_int64(st, 2, now);
		rc = exec_stmt(c, st, "session_updated");
	}
	if (rc == 0)
		rc = event_insert(c, session_id, "number_swapped", participant_id, detail, now);
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	tx_rollback(c);
	return rc;
}

static int sq_bindings_release(void *b, int64_t now, int limit, int *released)
{
	CONN_OR_FAIL(b, c);
	*released = 0;
	sqlite3_stmt *st = stmt(c, SQL_BINDINGS_RELEASE_DUE);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	int rc = exec_stmt(c, st, "bindings_release");
	if (rc == 0)
		*released = sqlite3_changes(c->db);
	return rc;
}

static int sq_numbers_purge(void *b, int64_t before, int64_t now, int limit, int *sessions, int *purged)
{
	CONN_OR_FAIL(b, c);
	*purged = *sessions = 0;
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	char(*ids)[ID_MAX] = xcalloc((size_t)limit, ID_MAX);
	int n = 0, step, rows = 0;
	sqlite3_stmt *st = stmt(c, SQL_PURGE_DUE);
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, limit);
	while (n < limit && (step = sqlite3_step(st)) == SQLITE_ROW)
		col_text(st, 0, ids[n++], ID_MAX);
	stmt_done(st);
	for (int i = 0; i < n && rc == 0; i++) {
		st = stmt(c, SQL_NUMBERS_PURGE);
		bind_text(st, 1, ids[i]);
		rc = exec_stmt(c, st, "numbers_purge");
		rows += rc == 0 ? sqlite3_changes(c->db) : 0;
		if (rc == 0) {
			st = stmt(c, SQL_SESSION_PURGED);
			bind_text(st, 1, ids[i]);
			sqlite3_bind_int64(st, 2, now);
			rc = exec_stmt(c, st, "session_purged");
		}
	}
	free(ids);
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0) {
		tx_rollback(c);
		return rc;
	}
	*purged = rows;
	*sessions = n;
	return 0;
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
SQ_LOCKED(sq_session_create, (void *b, struct session *ses, const struct create_rules *rules, int64_t now, struct create_outcome *o), (b, ses, rules, now, o))
SQ_LOCKED(sq_session_get, (void *b, const char *id, struct session *out), (b, id, out))
SQ_LOCKED(sq_session_list, (void *b, const char *service_id, const struct session_filter *f, void (*cb)(void *, const struct session *), void *ctx), (b, service_id, f, cb, ctx))
SQ_LOCKED(sq_session_close, (void *b, const char *id, int status, int64_t now), (b, id, status, now))
SQ_LOCKED(sq_session_update, (void *b, const char *id, const int64_t *ttl, const int64_t *expires_at, int64_t now), (b, id, ttl, expires_at, now))
SQ_LOCKED(sq_sessions_expire, (void *b, int64_t now, int limit, int *closed), (b, now, limit, closed))
SQ_LOCKED(sq_route_lookup, (void *b, const char *to_e164, const char *from_e164, struct route_view *out), (b, to_e164, from_e164, out))
SQ_LOCKED(sq_interaction_get, (void *b, const char *id, struct interaction *out), (b, id, out))
SQ_LOCKED(sq_interaction_by_sid, (void *b, int carrier, const char *carrier_sid, struct interaction *out), (b, carrier, carrier_sid, out))
SQ_LOCKED(sq_interaction_list, (void *b, const char *session_id, void (*cb)(void *, const struct interaction *), void *ctx), (b, session_id, cb, ctx))
SQ_LOCKED(sq_leg_update, (void *b, const char *interaction_id, char leg, const char *carrier_sid, const struct leg_update *u, int64_t now), (b, interaction_id, leg, carrier_sid, u, now))
SQ_LOCKED(sq_participant_number, (void *b, const char *participant_id, char *out, size_t cap), (b, participant_id, out, cap))
SQ_LOCKED(sq_stats, (void *b, struct store_stats *out), (b, out))
SQ_LOCKED(sq_records, (void *b, const char *service_id, int64_t from, int64_t to, int (*cb)(void *, const struct interaction *), void *ctx), (b, service_id, from, to, cb, ctx))
SQ_LOCKED(sq_session_reopen, (void *b, const char *id, const int64_t *expires_at, int64_t now, int *failed_index), (b, id, expires_at, now, failed_index))
SQ_LOCKED(sq_participant_add, (void *b, const char *session_id, struct participant *p, const struct create_rules *rules, int64_t now, struct create_outcome *out), (b, session_id, p, rules, now, out))
SQ_LOCKED(sq_participant_swap, (void *b, const char *session_id, const char *participant_id, struct participant *p, const struct create_rules *rules, int64_t now), (b, session_id, participant_id, p, rules, now))
SQ_LOCKED(sq_bindings_release, (void *b, int64_t now, int limit, int *released), (b, now, limit, released))
SQ_LOCKED(sq_numbers_purge, (void *b, int64_t before, int64_t now, int limit, int *sessions, int *purged), (b, before, now, limit, sessions, purged))
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
	.session_create = locked_sq_session_create,
	.session_get = locked_sq_session_get,
	.session_list = locked_sq_session_list,
	.session_close = locked_sq_session_close,
	.session_update = locked_sq_session_update,
	.sessions_expire = locked_sq_sessions_expire,
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
	.session_reopen = locked_sq_session_reopen,
	.participant_add = locked_sq_participant_add,
	.participant_swap = locked_sq_participant_swap,
	.bindings_release = locked_sq_bindings_release,
	.numbers_purge = locked_sq_numbers_purge,
	.session_events = locked_sq_session_events,
	.pin_lookup = locked_sq_pin_lookup,
	.optout_set = locked_sq_optout_set,
	.pool_stats = locked_sq_pool_stats,
};
