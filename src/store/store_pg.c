/* SPDX-License-Identifier: MIT */
/* store_pg.c - the PostgreSQL backend of store.h (libpq) for several maskd nodes on
 * one database: store_sqlite.c's behaviour, made safe under concurrency (bindings
 * claimed by the unique index with ON CONFLICT DO NOTHING, sweeps with SKIP LOCKED,
 * counters locked in id order). One connection per thread, prepared statements;
 * while the database is down calls fail fast with MASKD_EDB and reconnect with backoff. */
#include "store_backend.h"
#include "sql_lifecycle.h"
#include "migrations.h"
#include "sql_common.h"
#include "../core/session.h"
#include "../util/buf.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/redact.h"
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
#define TX_ATTEMPTS 4   /* whole-transaction retries on deadlock or serialization failure */
#define ARGS_MAX 32
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
	SQL_NUMBER_SET_REGION,
	SQL_NUMBER_DELETE,
	SQL_NUMBERS_LOCK,
	SQL_NUMBERS_ADD,
	SQL_SESSION_GET,
	SQL_PARTICIPANTS_OF,
	SQL_SESSION_LIST,
	SQL_LC_SESSION_LOCK,
	SQL_LC_PARTS,
	SQL_SESSION_TIMES_LOCK,
	SQL_LC_SESSION_PUT,
	SQL_LC_OPEN_TAKEN,
	SQL_LC_BINDINGS_HOLD,
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
	SQL_NUMBER_LOCK,
	SQL_NUMBER_RELEASE_COOLING,
	SQL_NUMBER_OPTOUTS_DELETE,
	SQL_STICKY,
	SQL_HOLD_OF,
	SQL_HOLD_RELEASE,
	SQL_SESSION_BY_NAME,
	SQL_SESSION_BY_PIN,
	SQL_SESSION_BIDX,
	SQL_SESSION_LOCK,
	SQL_SESSION_UPDATED,
	SQL_PARTICIPANT_ROWS,
	SQL_PARTICIPANT_KEEP,
	SQL_PARTICIPANT_RETAKE,
	SQL_COOLING_DUE,
	SQL_EVENT_INSERT,
	SQL_EVENTS_OF,
	SQL_PIN_LOOKUP,
	SQL_OPTOUT_ADD,
	SQL_OPTOUT_DELETE,
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
/* number.cooling: held_until is set exactly while a closed or blocked session's
 * row still holds its binding (the partial index participants_cooling). */
#define NUMBER_COOLING "(SELECT COUNT(*) FROM participants c WHERE c.proxy_number_id = n.id AND c.active = 1 AND c.held_until IS NOT NULL)"
#define SESSION_COLS "id, service_id, unique_name, mode, status, ttl, expires_at, created_at, updated_at, last_activity_at, closed_at, " POLICY_COLS ", pin"
/* Service columns beyond id..created_at and the policy: struct service's pool and
 * session policy, in struct order (pg_service_insert / read_service agree on it). */
#define SERVICE_POLICY_COLS "geo_match, geo_match_strict, number_selection, cooloff, cooloff_reuse, number_cap, unknown_caller, " \
	"fallback_number, pin_number, pin_length, pin_attempts, callback_url, callback_timeout_ms, callback_fail_open, " \
	"ended_message, help_text, rate_calls, rate_texts, rate_silent"
/* What route_lookup and pin_lookup return after the number: s = the session, p =
 * the caller's participant row, o = the other side's (NULL while single-party). */
#define ROUTE_COLS "s.id, s.status, s.mode, s.ttl, s.expires_at, s.last_activity_at, p.id, o.id, o.number_sealed, " \
	"o.proxy_e164, o.country, s.record, s.time_limit, s.ring_timeout, s.consent_message, " \
	"EXISTS (SELECT 1 FROM optouts x WHERE x.bidx = o.bidx AND x.number_id = o.proxy_number_id)"
#define INTERACTION_COLS "id, session_id, service_id, channel, carrier, carrier_sid, decision, from_participant, to_participant, created_at"
#define LEG_COLS "l.id, l.leg, l.carrier_sid, l.status, l.duration, l.started_at, l.answered_at, l.ended_at, l.proxy_number, l.other_country, l.recording_id, l.recording_url, l.cost, l.currency"
#define POLICY_COLS "record, time_limit, ring_timeout, consent_message"

/* the placeholder of parameter n in the shared SQL of sql_lifecycle.h */
#define LC_P(n) "$" #n

static const char *const sql_text[SQL_COUNT] = {
	[SQL_PING] = "SELECT 1",
	[SQL_SETTING_GET] = "SELECT value FROM settings WHERE key = $1",
	[SQL_SETTING_ADD] = "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
	[SQL_SETTING_PUT] = "INSERT INTO settings (key, value) VALUES ($1, $2) "
			    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[SQL_SERVICE_INSERT] = "INSERT INTO services (id, name, mode, ttl, unknown_caller_message, created_at, " POLICY_COLS ", "
			       SERVICE_POLICY_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
			       "$15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
	[SQL_SECRET_INSERT] = "INSERT INTO service_secrets (service_id, carrier, sealed) VALUES ($1, $2, $3)",
	[SQL_SERVICE_GET] = "SELECT id, name, mode, ttl, unknown_caller_message, created_at, " POLICY_COLS ", " SERVICE_POLICY_COLS
			    " FROM services WHERE id = $1",
	[SQL_SECRETS_GET] = "SELECT carrier, sealed FROM service_secrets WHERE service_id = $1",
	[SQL_SERVICE_LIST] = "SELECT id FROM services ORDER BY created_at, id LIMIT 256",
	/* SQL_SERVICE_INSERT's columns but created_at, in its order */
	[SQL_SERVICE_UPDATE] =
		"UPDATE services SET name = $2, mode = $3, ttl = $4, unknown_caller_message = $5, record = $6, "
		"time_limit = $7, ring_timeout = $8, consent_message = $9, geo_match = $10, geo_match_strict = $11, "
		"number_selection = $12, cooloff = $13, cooloff_reuse = $14, number_cap = $15, unknown_caller = $16, "
		"fallback_number = $17, pin_number = $18, pin_length = $19, pin_attempts = $20, callback_url = $21, "
		"callback_timeout_ms = $22, callback_fail_open = $23, ended_message = $24, help_text = $25, "
		"rate_calls = $26, rate_texts = $27, rate_silent = $28 WHERE id = $1",
	[SQL_SECRET_DELETE] = "DELETE FROM service_secrets WHERE service_id = $1 AND carrier = $2",
	[SQL_NUMBER_INSERT] = "INSERT INTO numbers (id, service_id, e164, carrier, caps, country, area_code, state, in_use, "
			      "created_at, region) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10)",
	[SQL_NUMBER_GET] = "SELECT " NUMBER_COLS ", " NUMBER_COOLING " FROM numbers n WHERE n.id = $1",
	/* the cooling counts of the whole pool in one pass over participants_cooling */
	[SQL_NUMBER_LIST] = "SELECT " NUMBER_COLS ", COALESCE(k.cooling, 0) FROM numbers n LEFT JOIN "
			    "(SELECT c.proxy_number_id, COUNT(*) AS cooling FROM participants c JOIN numbers cn ON "
			    "cn.id = c.proxy_number_id WHERE cn.service_id = $1 AND c.active = 1 AND c.held_until IS NOT NULL "
			    "GROUP BY c.proxy_number_id) k ON k.proxy_number_id = n.id WHERE n.service_id = $1 "
			    "ORDER BY n.created_at, n.id",
	[SQL_NUMBER_SET_STATE] = "UPDATE numbers SET state = $2 WHERE id = $1",
	[SQL_NUMBER_SET_REGION] = "UPDATE numbers SET region = $2 WHERE id = $1",
	[SQL_NUMBER_DELETE] = "DELETE FROM numbers WHERE id = $1 AND in_use = 0",
	/* The number this real number had in its latest session with that other one. */
	[SQL_STICKY] = "SELECT p.proxy_number_id FROM participants p JOIN sessions s ON s.id = p.session_id "
		       "WHERE p.bidx = $1 AND p.peer_bidx = $2 AND s.service_id = $3 "
		       "ORDER BY p.created_at DESC, p.id DESC LIMIT 1",
	/* Row locks in id order (COLLATE "C" = strcmp order): every writer of in_use
	 * takes its number rows this way and last, so writers queue, never deadlock. */
	[SQL_NUMBERS_LOCK] = "SELECT id FROM numbers WHERE id = ANY ($1::text[]) ORDER BY id FOR NO KEY UPDATE",
	[SQL_NUMBERS_ADD] = "UPDATE numbers n SET in_use = GREATEST(n.in_use + d.delta, 0) "
			    "FROM unnest($1::text[], $2::bigint[]) AS d(id, delta) WHERE n.id = d.id "
			    "RETURNING n.id, n.in_use, d.delta",
	[SQL_SESSION_GET] = "SELECT " SESSION_COLS " FROM sessions WHERE id = $1",
	[SQL_PARTICIPANTS_OF] = "SELECT id, label, masked, proxy_number_id, proxy_e164, country FROM participants "
				"WHERE session_id = $1 ORDER BY idx",
	[SQL_SESSION_LIST] =
		"SELECT " SESSION_COLS " FROM sessions WHERE service_id = $1 AND ($2::int < 0 OR status = $2::int) "
		"AND ($3::text IS NULL OR unique_name = $3::text) AND ($4::text IS NULL OR (created_at, id) > "
		"(SELECT created_at, id FROM sessions WHERE id = $4::text)) ORDER BY created_at, id LIMIT $5",
	/* the lifecycle primitives (store_tx_* in store.h); status values are bound.
	 * NO KEY UPDATE: serialises the writers of one session (close, re-open,
	 * update, expiry) without waiting for inserts whose foreign keys point at it;
	 * the participant rows are locked too, so that a sweeper (SKIP LOCKED) cannot
	 * release a binding between the read and a re-open's keep. */
	[SQL_LC_SESSION_LOCK] = LC_SQL_SESSION_LOCK " FOR NO KEY UPDATE OF s",
	[SQL_LC_PARTS] = LC_SQL_PARTS " FOR NO KEY UPDATE",
	[SQL_LC_SESSION_PUT] = LC_SQL_SESSION_PUT,
	[SQL_LC_OPEN_TAKEN] = LC_SQL_OPEN_TAKEN,
	[SQL_LC_BINDINGS_HOLD] = LC_SQL_BINDINGS_HOLD,
	/* NO KEY UPDATE: waits for other writers of the row, not for inserts whose
	 * foreign keys point at it. */
	[SQL_SESSION_TIMES_LOCK] = "SELECT status, ttl, expires_at, last_activity_at FROM sessions WHERE id = $1 "
				   "FOR NO KEY UPDATE",
	/* Every node sweeps; SKIP LOCKED hands each due session to exactly one. */
	[SQL_EXPIRE_DUE] = LC_SQL_SESSIONS_DUE " FOR NO KEY UPDATE SKIP LOCKED",
	[SQL_ROUTE_LOOKUP] =
		"SELECT " NUMBER_COLS ", " ROUTE_COLS " FROM numbers n "
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
	/* a purged number (empty bytea, store_tx_session_purge) is not found */
	[SQL_PARTICIPANT_NUMBER] = "SELECT number_sealed FROM participants WHERE id = $1 AND number_sealed <> ''::bytea",
	[SQL_STATS] = "SELECT (SELECT COUNT(*) FROM services), (SELECT COUNT(*) FROM numbers), "
		      "(SELECT COUNT(*) FROM numbers WHERE state = 0), (SELECT COUNT(*) FROM sessions WHERE status < 2), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1 AND held_until IS NULL), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1 AND held_until IS NOT NULL), "
		      "(SELECT COUNT(*) FROM interactions)",
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
	/* number delete: FOR UPDATE waits for, and then stops, sessions binding it */
	[SQL_NUMBER_LOCK] = "SELECT in_use FROM numbers WHERE id = $1 FOR UPDATE",
	[SQL_NUMBER_RELEASE_COOLING] = "UPDATE participants SET active = 0 WHERE proxy_number_id = $1 AND active = 1 "
				       "AND held_until IS NOT NULL",
	[SQL_NUMBER_OPTOUTS_DELETE] = "DELETE FROM optouts WHERE number_id = $1",
	[SQL_SESSION_BY_NAME] = "SELECT id FROM sessions WHERE service_id = $1 AND unique_name = $2 AND status < 2",
	[SQL_SESSION_BY_PIN] = "SELECT id FROM sessions WHERE service_id = $1 AND pin = $2 AND status < 2",
	[SQL_SESSION_BIDX] = "SELECT bidx FROM participants WHERE session_id = $1 ORDER BY bidx",
	/* NO KEY UPDATE: serialises the writers of one session (close, re-open, swap, add) */
	[SQL_SESSION_LOCK] = "SELECT service_id, mode, status, ttl, expires_at FROM sessions WHERE id = $1 FOR NO KEY UPDATE",
	[SQL_SESSION_UPDATED] = "UPDATE sessions SET updated_at = $2 WHERE id = $1",
	[SQL_PARTICIPANT_ROWS] = "SELECT id, idx, bidx, peer_bidx, proxy_number_id, proxy_e164 FROM participants "
				 "WHERE session_id = $1 ORDER BY idx",
	/* re-open: a binding still cooling off is kept... */
	[SQL_PARTICIPANT_KEEP] = LC_SQL_BINDING_KEEP,
	/* ...a released one is taken again: the unique index refuses it when this real
	 * number holds that proxy in another session now; 0 rows = the number is gone */
	[SQL_PARTICIPANT_RETAKE] = LC_SQL_BINDING_TAKE,
	/* Every node sweeps; SKIP LOCKED hands each due binding to exactly one. */
	/* ARRAY(...) runs the locking subquery once (a join could rescan it and
	 * lock more than $2). */
	[SQL_COOLING_DUE] = "UPDATE participants SET active = 0 WHERE id = ANY (ARRAY(SELECT id FROM participants "
			    "WHERE active = 1 AND held_until IS NOT NULL AND held_until <= $1 ORDER BY held_until "
			    "LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED)) AND active = 1",
	[SQL_EVENT_INSERT] = "INSERT INTO session_events (id, session_id, kind, participant_id, detail, created_at) "
			     "VALUES ($1, $2, $3, $4, $5, $6)",
	/* Within one second, the older transaction first: a session's writers are
	 * serialised by its row lock, so their transaction ids grow (age() is
	 * wraparound-safe). */
	[SQL_EVENTS_OF] = "SELECT id, session_id, kind, participant_id, detail, created_at FROM session_events "
			  "WHERE session_id = $1 ORDER BY created_at, age(xmin) DESC, id",
	[SQL_PIN_LOOKUP] = "SELECT " ROUTE_COLS " FROM sessions s JOIN participants p ON p.session_id = s.id AND p.bidx = $3 "
			   "LEFT JOIN participants o ON o.session_id = s.id AND o.id <> p.id "
			   "WHERE s.service_id = $1 AND s.pin = $2 AND s.status < 2 LIMIT 1",
	[SQL_OPTOUT_ADD] = "INSERT INTO optouts (bidx, number_id, service_id, created_at) VALUES ($1, $2, $3, $4) "
			   "ON CONFLICT DO NOTHING",
	[SQL_OPTOUT_DELETE] = "DELETE FROM optouts WHERE bidx = $1 AND number_id = $2",
	[SQL_POOL_STATS] = "SELECT COALESCE(MAX(k), 0), COUNT(*) FROM (SELECT COUNT(*) AS k FROM participants p "
			   "JOIN numbers n ON n.id = p.proxy_number_id WHERE n.service_id = $1 AND p.active = 1 "
			   "AND p.held_until IS NULL GROUP BY p.bidx) x",
	/* Retention: released rows of sessions closed before $1 in which no row holds a
	 * binding any more. Many nodes: rows another node is purging are skipped (SKIP
	 * LOCKED), and the outer WHERE, re-checked on the locked row, makes a second
	 * purge of a row (or a row taken again meanwhile) a no-op. */
	/* the closed sessions past retention whose bindings are all released (index
	 * sessions_purge); SKIP LOCKED hands each to one node */
	[SQL_PURGE_DUE] = LC_SQL_PURGE_DUE " FOR UPDATE OF s SKIP LOCKED",
	[SQL_NUMBERS_PURGE] = "UPDATE participants SET number_sealed = ''::bytea, bidx = 'purged:' || id "
			      "WHERE session_id = $1 AND active = 0 AND number_sealed <> ''::bytea",
	[SQL_SESSION_PURGED] = LC_SQL_SESSION_PURGED,
	/* the row primitives of bind, create, add and swap: texts shared with store_sqlite.c */
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

struct pg_conn {
	PGconn *pg;            /* NULL = not connected */
	bool broken;           /* the connection failed mid-call: reconnect on next use */
	bool prepared[SQL_COUNT];
	char sqlstate[6];      /* of the last failed statement, "" when none */
	char constraint[64];   /* the constraint (or unique index) it violated, "" when none */
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

/* Copies msg (a libpq message) into out with every spelling of the password that
 * url carries replaced by "***" (what libpq itself parsed here, then userinfo and
 * password= parameters by util/redact.h), folded to one line. */
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

static int tx_begin(struct pg_conn *c);
static int tx_commit(struct pg_conn *c);
static void tx_rollback(struct pg_conn *c);
static bool retryable(const struct pg_conn *c);

/* The connection of a transaction's primitive. */
static inline struct pg_conn *tx_conn(struct store_tx *tx)
{
	assert(tx != NULL && tx->ops == &store_pg_ops && tx->conn != NULL);
	return tx->conn;
}

/* store_tx_run(): READ COMMITTED, as every transaction here; a deadlock or a
 * serialization failure (or a body's MASKD_ERETRY) runs the body again. */
static int pg_tx_run(void *b, int (*body)(struct store_tx *tx, void *ctx), void *ctx)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	int rc = MASKD_ERETRY;
	for (int attempt = 0; attempt < STORE_TX_ATTEMPTS && rc == MASKD_ERETRY; attempt++) {
		rc = tx_begin(c);
		if (rc < 0)
			return rc;
		struct store_tx tx = {.ops = &store_pg_ops, .b = s, .conn = c};
		rc = body(&tx, ctx);
		assert(rc <= 0); /* the contract of store_tx_run: 0 or a negative maskd_err */
		if (rc == 0)
			rc = tx_commit(c);
		if (rc != 0) {
			tx_rollback(c);
			if (rc == MASKD_EDB && retryable(c))
				rc = MASKD_ERETRY;
		}
	}
	if (rc == MASKD_ERETRY)
		log_warn("store: a transaction still lost races after %d attempts", STORE_TX_ATTEMPTS);
	return rc == MASKD_ERETRY ? MASKD_EDB : rc;
}

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

/* The policy columns of a service (geo_match ... rate_silent), in the order of
 * SQL_SERVICE_INSERT and SQL_SERVICE_UPDATE. */
static void arg_service_rules(struct args *a, const struct service *svc)
{
	arg_i64(a, svc->pool.geo_match);
	arg_i64(a, svc->pool.geo_match_strict);
	arg_i64(a, svc->pool.number_selection);
	arg_i64(a, svc->cooloff);
	arg_i64(a, svc->cooloff_reuse);
	arg_i64(a, svc->number_cap);
	arg_i64(a, svc->unknown_caller);
	arg_text(a, svc->fallback_number);
	arg_text(a, svc->pin_number);
	arg_i64(a, svc->pin_length);
	arg_i64(a, svc->pin_attempts);
	arg_text(a, svc->callback_url);
	arg_i64(a, svc->callback_timeout_ms);
	arg_i64(a, svc->callback_fail_open);
	arg_text(a, svc->ended_message);
	arg_text(a, svc->help_text);
	arg_i64(a, svc->rate_calls);
	arg_i64(a, svc->rate_texts);
	arg_i64(a, svc->rate_silent);
}

/* Seals carrier d's credentials of svc and inserts them (inside a transaction). */
static int secret_insert(struct store_pg *s, struct pg_conn *c, const struct service *svc, int d)
{
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	char ad[ID_MAX + 32];
	secret_ad(svc->id, d, ad, sizeof(ad));
	int rc = vault_seal(s->vault, svc->secrets[d], ad, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	struct args sa = {0};
	arg_text(&sa, svc->id);
	arg_text(&sa, dialect_name(d));
	arg_bytes(&sa, sealed, sealed_len);
	return run(c, SQL_SECRET_INSERT, &sa, NULL);
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
	arg_service_rules(&a, svc);
	rc = run(c, SQL_SERVICE_INSERT, &a, NULL);
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
	out->pool.geo_match = col_int(r, 0, 10);
	out->pool.geo_match_strict = col_int(r, 0, 11);
	out->pool.number_selection = col_int(r, 0, 12);
	out->cooloff = col_i64(r, 0, 13);
	out->cooloff_reuse = col_int(r, 0, 14);
	out->number_cap = col_int(r, 0, 15);
	out->unknown_caller = col_int(r, 0, 16);
	col_text(r, 0, 17, out->fallback_number, sizeof(out->fallback_number));
	col_text(r, 0, 18, out->pin_number, sizeof(out->pin_number));
	out->pin_length = col_int(r, 0, 19);
	out->pin_attempts = col_int(r, 0, 20);
	col_text(r, 0, 21, out->callback_url, sizeof(out->callback_url));
	out->callback_timeout_ms = col_int(r, 0, 22);
	out->callback_fail_open = col_int(r, 0, 23);
	col_text(r, 0, 24, out->ended_message, sizeof(out->ended_message));
	col_text(r, 0, 25, out->help_text, sizeof(out->help_text));
	out->rate_calls = col_int(r, 0, 26);
	out->rate_texts = col_int(r, 0, 27);
	out->rate_silent = col_int(r, 0, 28);
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

/* One try of pg_service_update: the row, then each carrier's credentials
 * (deleted, and inserted again unless secrets[d] is ""). */
static int service_update_once(struct store_pg *s, struct pg_conn *c, const struct service *svc)
{
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct args a = {0};
	arg_text(&a, svc->id);
	arg_text(&a, svc->name);
	arg_i64(&a, svc->mode);
	arg_i64(&a, svc->ttl);
	arg_text(&a, svc->unknown_caller_message);
	arg_policy(&a, &svc->policy);
	arg_service_rules(&a, svc);
	int n = run_count(c, SQL_SERVICE_UPDATE, &a);
	rc = n < 0 ? n : n == 0 ? MASKD_ENOTFOUND : 0;
	for (int d = 0; rc == 0 && d < DIALECT_COUNT; d++) {
		struct args da = {0};
		arg_text(&da, svc->id);
		arg_text(&da, dialect_name(d));
		rc = run(c, SQL_SECRET_DELETE, &da, NULL);
		if (rc < 0 || svc->secrets[d][0] == '\0')
			continue;
		rc = secret_insert(s, c, svc, d);
	}
	if (rc == 0)
		rc = tx_commit(c);
	if (rc < 0) {
		tx_rollback(c);
		if (rc == MASKD_EDB && retryable(c))
			rc = PG_ERETRY;
	}
	return rc;
}

static int pg_service_update(void *b, const struct service *svc)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = service_update_once(s, c, svc);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
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
	col_text(r, row, col + 10, n->region, sizeof(n->region));
	n->cooling = 0;
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
	arg_text(&a, n->region);
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
	if (PQntuples(r) > 0) {
		read_number(r, 0, 0, out);
		if (id == SQL_NUMBER_GET)
			out->cooling = col_i64(r, 0, NUMBER_NCOLS);
	} else {
		rc = MASKD_ENOTFOUND;
	}
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
		n.cooling = col_i64(r, i, NUMBER_NCOLS);
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

static int pg_number_set_region(void *b, const char *id, const char *region)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, id);
	arg_text(&a, region);
	int n = run_count(c, SQL_NUMBER_SET_REGION, &a);
	if (n < 0)
		return n;
	return n == 0 ? MASKD_ENOTFOUND : 0;
}

/* Deletes an unused number: its cooling-off bindings are released and its
 * opt-out rows go with it. A session being created on another node bumps in_use
 * at its very end; if this delete wins, that transaction sees its number gone and
 * starts over. */
static int delete_once(struct pg_conn *c, const char *id)
{
	int rc = tx_begin(c);
	if (rc < 0)
		return rc;
	struct args a = {0};
	arg_text(&a, id);
	PGresult *r = NULL;
	rc = run(c, SQL_NUMBER_LOCK, &a, &r);
	if (rc < 0)
		goto done;
	int found = PQntuples(r) > 0;
	int64_t in_use = found ? col_i64(r, 0, 0) : 0;
	PQclear(r);
	if (!found)
		rc = MASKD_ENOTFOUND;
	else if (in_use > 0)
		rc = MASKD_ECONFLICT;
	if (rc == 0)
		rc = run(c, SQL_NUMBER_RELEASE_COOLING, &a, NULL);
	if (rc == 0)
		rc = run(c, SQL_NUMBER_OPTOUTS_DELETE, &a, NULL);
	if (rc == 0) {
		int n = run_count(c, SQL_NUMBER_DELETE, &a);
		rc = n < 0 ? n : n == 0 ? MASKD_ECONFLICT : 0;
	}
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

static int pg_number_delete(void *b, const char *id)
{
	CONN_OR_FAIL(b, c);
	int rc = PG_ERETRY;
	for (int attempt = 0; attempt < TX_ATTEMPTS && rc == PG_ERETRY; attempt++)
		rc = delete_once(c, id);
	return rc == PG_ERETRY ? MASKD_EDB : rc;
}

struct num_delta {
	const char *id;
	int delta;
};

static int cmp_num_delta(const void *a, const void *b)
{
	return strcmp(((const struct num_delta *)a)->id, ((const struct num_delta *)b)->id);
}

/* Adds each delta to in_use of its number (repeats add up), locking the rows in
 * id order first. Returns how many distinct numbers were changed, or a negative
 * maskd_err; *distinct gets how many there were to change. With cap > 0, a number
 * raised above cap is PG_ERETRY: another node took its last place after the
 * candidates were read, and the next attempt sees it full. */
static int numbers_adjust(struct pg_conn *c, const struct num_delta *d, int n, int64_t cap, int *distinct)
{
	*distinct = 0;
	if (n == 0)
		return 0;
	struct num_delta *sorted = xmalloc((size_t)n * sizeof(*sorted));
	memcpy(sorted, d, (size_t)n * sizeof(*sorted));
	qsort(sorted, (size_t)n, sizeof(*sorted), cmp_num_delta);
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (m > 0 && strcmp(sorted[m - 1].id, sorted[i].id) == 0) {
			sorted[m - 1].delta += sorted[i].delta;
			continue;
		}
		sorted[m++] = sorted[i];
	}
	*distinct = m;
	const char **ids = xmalloc((size_t)m * sizeof(*ids));
	struct buf idlit, dlit;
	buf_init(&idlit);
	buf_init(&dlit);
	buf_puts(&dlit, "{");
	for (int i = 0; i < m; i++) {
		ids[i] = sorted[i].id;
		buf_printf(&dlit, "%s%d", i ? "," : "", sorted[i].delta);
	}
	buf_puts(&dlit, "}");
	array_literal(&idlit, ids, m);
	struct args a = {0};
	arg_text(&a, idlit.data);
	int rc = run(c, SQL_NUMBERS_LOCK, &a, NULL);
	PGresult *r = NULL;
	if (rc == 0) {
		arg_text(&a, dlit.data);
		rc = run(c, SQL_NUMBERS_ADD, &a, &r);
	}
	if (rc == 0) {
		rc = PQntuples(r);
		for (int i = 0; i < PQntuples(r); i++)
			if (cap > 0 && col_i64(r, i, 2) > 0 && col_i64(r, i, 1) > cap)
				rc = PG_ERETRY;
		PQclear(r);
	}
	buf_free(&idlit);
	buf_free(&dlit);
	free(ids);
	free(sorted);
	return rc;
}

static int event_add(struct pg_conn *c, const char *session_id, const char *kind, const char *participant_id,
		     const char *detail, int64_t now)
{
	char id[ID_MAX];
	id_new("evt", id);
	struct args a = {0};
	arg_text(&a, id);
	arg_text(&a, session_id);
	arg_text(&a, kind);
	arg_text(&a, participant_id);
	arg_text(&a, detail);
	arg_i64(&a, now);
	return run(c, SQL_EVENT_INSERT, &a, NULL);
}

/* ---------------------------------------------------------------- sessions */

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
	col_text(r, row, 15, s->pin, sizeof(s->pin));
	s->pool = (struct pool_rules){-1, -1, -1};
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

/* ---------------------------------------------------------------- webhooks */

/* Fills out's session and other side from ROUTE_COLS at column col (s.id not NULL). */
static int read_route(const struct store_pg *s, const PGresult *r, int col, struct route_view *out)
{
	col_text(r, 0, col, out->session_id, sizeof(out->session_id));
	out->session_status = col_int(r, 0, col + 1);
	out->session_mode = col_int(r, 0, col + 2);
	out->session_ttl = col_i64(r, 0, col + 3);
	out->session_expires_at = col_i64(r, 0, col + 4);
	out->session_last_activity_at = col_i64(r, 0, col + 5);
	col_text(r, 0, col + 6, out->from_participant, sizeof(out->from_participant));
	col_text(r, 0, col + 7, out->to_participant, sizeof(out->to_participant));
	col_text(r, 0, col + 9, out->to_proxy_e164, sizeof(out->to_proxy_e164));
	col_text(r, 0, col + 10, out->to_country, sizeof(out->to_country));
	read_policy(r, 0, col + 11, &out->session_policy);
	out->to_opted_out = strcmp(PQgetvalue(r, 0, col + 15), "t") == 0;
	if (!PQgetisnull(r, 0, col + 8) &&
	    col_unseal(s->vault, r, 0, col + 8, out->to_participant, out->to_number, sizeof(out->to_number)) < 0) {
		log_error("store: participant %s: sealed number does not open", out->to_participant);
		return MASKD_ECRYPTO;
	}
	return 0;
}

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
	if (!PQgetisnull(r, 0, NUMBER_NCOLS))
		rc = read_route(s, r, NUMBER_NCOLS, out);
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
	memset(out, 0, sizeof(*out));
	CONN_OR_FAIL(b, c);
	PGresult *r = NULL;
	int rc = run(c, SQL_STATS, NULL, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		out->services = col_i64(r, 0, 0);
		out->numbers = col_i64(r, 0, 1);
		out->numbers_active = col_i64(r, 0, 2);
		out->sessions_open = col_i64(r, 0, 3);
		out->bindings_active = col_i64(r, 0, 4);
		out->bindings_cooling = col_i64(r, 0, 5);
		out->interactions = col_i64(r, 0, 6);
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

/* ---------------------------------------------------------------- session changes */

/* A participant row as the writers of an existing session read it. */
struct prow {
	char id[ID_MAX];
	int idx;
	char bidx[VAULT_BIDX_LEN + 1];
	char number_id[ID_MAX];
	char e164[PHONE_E164_MAX + 1];
};

/* ---------------------------------------------------------------- lifecycle primitives */

/* The store_tx_* primitives of store.h: rows only, no rules (flow/lifecycle.c).
 * A statement that loses a race fails with a retryable SQLSTATE; pg_tx_run()
 * then runs the whole body again. */

static void arg_opt_i64(struct args *a, int64_t v)
{
	if (v > 0)
		arg_i64(a, v);
	else
		arg_text(a, NULL);
}

static int pg_tx_session_lock(struct store_tx *tx, const char *id, struct store_session_brief *out)
{
	struct pg_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	struct args a = {0};
	arg_text(&a, id);
	PGresult *r = NULL;
	int rc = run(c, SQL_LC_SESSION_LOCK, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return MASKD_ENOTFOUND;
	}
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->status = col_int(r, 0, 0);
	col_text(r, 0, 1, out->service_id, sizeof(out->service_id));
	out->cooloff = col_i64(r, 0, 2);
	col_text(r, 0, 3, out->unique_name, sizeof(out->unique_name));
	col_text(r, 0, 4, out->pin, sizeof(out->pin));
	out->ttl = col_i64(r, 0, 5);
	out->expires_at = col_i64(r, 0, 6);
	out->last_activity_at = col_i64(r, 0, 7);
	out->closed_at = col_i64(r, 0, 8);
	out->updated_at = col_i64(r, 0, 9);
	PQclear(r);
	rc = run(c, SQL_LC_PARTS, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && out->n_parts < SESSION_PARTICIPANTS; i++) {
		struct store_part_brief *p = &out->parts[out->n_parts++];
		col_text(r, i, 0, p->id, sizeof(p->id));
		p->idx = col_int(r, i, 1);
		col_text(r, i, 2, p->number_id, sizeof(p->number_id));
		p->active = col_int(r, i, 3);
		p->purged = col_int(r, i, 4);
	}
	PQclear(r);
	return 0;
}

static int pg_tx_session_put(struct store_tx *tx, const char *id, const struct store_session_brief *b, int64_t deadline)
{
	struct args a = {0};
	arg_text(&a, id);
	arg_i64(&a, b->status);
	arg_i64(&a, b->closed_at);
	arg_i64(&a, b->ttl);
	arg_i64(&a, b->expires_at);
	arg_i64(&a, b->last_activity_at);
	arg_i64(&a, b->updated_at);
	arg_opt_i64(&a, deadline);
	int n = run_count(tx_conn(tx), SQL_LC_SESSION_PUT, &a);
	return n < 0 ? n : n == 0 ? MASKD_ENOTFOUND : 0;
}

static int pg_tx_open_taken(struct store_tx *tx, const char *service_id, const char *except_id, const char *unique_name,
			    const char *pin, int *name_taken, int *pin_taken)
{
	*name_taken = *pin_taken = 0;
	struct args a = {0};
	arg_text(&a, service_id);
	arg_text(&a, except_id ? except_id : "");
	arg_text(&a, unique_name && *unique_name ? unique_name : NULL);
	arg_text(&a, pin && *pin ? pin : NULL);
	PGresult *r = NULL;
	int rc = run(tx_conn(tx), SQL_LC_OPEN_TAKEN, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 1) {
		*name_taken = col_int(r, 0, 0);
		*pin_taken = col_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

static int pg_tx_bindings_hold(struct store_tx *tx, const char *session_id, int64_t held_until, int active)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	arg_text(&a, session_id);
	arg_i64(&a, held_until);
	arg_i64(&a, active != 0);
	return run_count(c, SQL_LC_BINDINGS_HOLD, &a);
}

static int pg_tx_binding_keep(struct store_tx *tx, const char *participant_id)
{
	struct args a = {0};
	arg_text(&a, participant_id);
	return run_count(tx_conn(tx), SQL_PARTICIPANT_KEEP, &a);
}

static int pg_tx_binding_take(struct store_tx *tx, const char *participant_id, int retired)
{
	struct args a = {0};
	arg_text(&a, participant_id);
	arg_i64(&a, retired);
	return run_count(tx_conn(tx), SQL_PARTICIPANT_RETAKE, &a);
}

static int pg_tx_numbers_in_use_add(struct store_tx *tx, const char *const *number_id, const int *delta, int n)
{
	if (n == 0)
		return 0;
	struct num_delta *d = xmalloc((size_t)n * sizeof(*d));
	for (int i = 0; i < n; i++)
		d[i] = (struct num_delta){number_id[i], delta[i]};
	int distinct = 0;
	int rc = numbers_adjust(tx_conn(tx), d, n, 0, &distinct);
	free(d);
	return rc;
}

static int pg_tx_event_add(struct store_tx *tx, const char *session_id, const char *kind, const char *detail, int64_t now)
{
	return event_add(tx_conn(tx), session_id, kind, "", detail ? detail : "", now);
}

/* Runs id (bound with t and limit) and copies its first column into
 * ids (at most limit); *n how many. */
static int ids_of(struct pg_conn *c, enum sql_id id, int64_t t, int limit, char (*ids)[ID_MAX], int *n)
{
	*n = 0;
	struct args a = {0};
	arg_i64(&a, t);
	arg_i64(&a, limit);
	PGresult *r = NULL;
	int rc = run(c, id, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && *n < limit; i++)
		col_text(r, i, 0, ids[(*n)++], ID_MAX);
	PQclear(r);
	return 0;
}

static int pg_tx_sessions_due(struct store_tx *tx, int64_t now, int limit, char (*ids)[ID_MAX], int *n)
{
	return ids_of(tx_conn(tx), SQL_EXPIRE_DUE, now, limit, ids, n);
}

static int pg_tx_bindings_release_due(struct store_tx *tx, int64_t now, int limit)
{
	struct args a = {0};
	arg_i64(&a, now);
	arg_i64(&a, limit);
	return run_count(tx_conn(tx), SQL_COOLING_DUE, &a);
}

static int pg_tx_sessions_purge_due(struct store_tx *tx, int64_t before, int limit, char (*ids)[ID_MAX], int *n)
{
	return ids_of(tx_conn(tx), SQL_PURGE_DUE, before, limit, ids, n);
}

static int pg_tx_session_purge(struct store_tx *tx, const char *id, int64_t now)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	arg_text(&a, id);
	int rows = run_count(c, SQL_NUMBERS_PURGE, &a);
	if (rows < 0)
		return rows;
	arg_i64(&a, now);
	int rc = run(c, SQL_SESSION_PURGED, &a, NULL);
	return rc < 0 ? rc : rows;
}

static int pg_session_events(void *b, const char *session_id, void (*cb)(void *, const struct session_event *),
			     void *ctx)
{
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, session_id);
	PGresult *r = NULL;
	int rc = run(c, SQL_EVENTS_OF, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		struct session_event e;
		memset(&e, 0, sizeof(e));
		col_text(r, i, 0, e.id, sizeof(e.id));
		col_text(r, i, 1, e.session_id, sizeof(e.session_id));
		col_text(r, i, 2, e.kind, sizeof(e.kind));
		col_text(r, i, 3, e.participant_id, sizeof(e.participant_id));
		col_text(r, i, 4, e.detail, sizeof(e.detail));
		e.created_at = col_i64(r, i, 5);
		cb(ctx, &e);
	}
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- PINs, opt-outs, pool stats */

static int pg_pin_lookup(void *b, const char *service_id, const char *pin, const char *from_e164,
			 struct route_view *out)
{
	struct store_pg *s = b;
	struct number keep = out->number;
	memset(out, 0, sizeof(*out));
	out->number = keep;
	CONN_OR_FAIL(s, c);
	char bidx[VAULT_BIDX_LEN + 1];
	vault_blind_index(s->vault, from_e164, bidx);
	struct args a = {0};
	arg_text(&a, service_id);
	arg_text(&a, pin);
	arg_text(&a, bidx);
	PGresult *r = NULL;
	int rc = run(c, SQL_PIN_LOOKUP, &a, &r);
	if (rc < 0)
		return rc;
	rc = PQntuples(r) > 0 ? read_route(s, r, 0, out) : MASKD_ENOTFOUND;
	PQclear(r);
	return rc;
}

static int pg_optout_set(void *b, const char *service_id, const char *from_e164, const char *number_id, int opted_out,
			 int64_t now)
{
	struct store_pg *s = b;
	CONN_OR_FAIL(s, c);
	char bidx[VAULT_BIDX_LEN + 1];
	vault_blind_index(s->vault, from_e164, bidx);
	struct args a = {0};
	arg_text(&a, bidx);
	arg_text(&a, number_id);
	if (!opted_out)
		return run(c, SQL_OPTOUT_DELETE, &a, NULL);
	arg_text(&a, service_id);
	arg_i64(&a, now);
	return run(c, SQL_OPTOUT_ADD, &a, NULL);
}

static int pg_pool_stats(void *b, const char *service_id, struct pool_stats *out)
{
	memset(out, 0, sizeof(*out));
	CONN_OR_FAIL(b, c);
	struct args a = {0};
	arg_text(&a, service_id);
	PGresult *r = NULL;
	int rc = run(c, SQL_POOL_STATS, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		out->max_held = col_i64(r, 0, 0);
		out->participants = col_i64(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- row primitives (store_tx_*) */

static void pg_blind_index(void *b, const char *e164, char out[STORE_BIDX_MAX])
{
	struct store_pg *s = b;
	vault_blind_index(s->vault, e164, out);
}

/* The parameters of SQL_POOL_WHERE (sql_common.h). */
static void arg_pool_query(struct args *a, const struct store_pool_query *q, int limit)
{
	const char *keys[3];
	sql_pool_keys(q, keys);
	arg_text(a, q->service_id);
	arg_i64(a, (int64_t)q->need);
	arg_text(a, q->bidx);
	arg_i64(a, limit);
	arg_i64(a, q->cap > 0 ? q->cap : INT64_MAX);
	arg_i64(a, NUMBER_ACTIVE);
	for (int i = 0; i < 3; i++)
		arg_text(a, keys[i]);
}

static int pg_tx_pool_candidates(struct store_tx *tx, const struct store_pool_query *q, int kind,
				 struct store_candidate *out, int limit, int *n)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	arg_pool_query(&a, q, limit);
	PGresult *r = NULL;
	*n = 0;
	int rc = run(c, kind == STORE_POOL_COOLING ? SQL_TX_POOL_COOLING : SQL_TX_POOL_FREE, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && *n < limit; i++) {
		struct store_candidate *k = &out[(*n)++];
		col_text(r, i, 0, k->id, sizeof(k->id));
		col_text(r, i, 1, k->e164, sizeof(k->e164));
		k->state = col_int(r, i, 2);
		k->caps = (unsigned)col_int(r, i, 3);
		k->in_use = col_i64(r, i, 4);
		k->created_at = col_i64(r, i, 5);
	}
	PQclear(r);
	return 0;
}

static int pg_tx_holder(struct store_tx *tx, const char *bidx, const char *number_id, struct store_holder *out)
{
	struct pg_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	struct args a = {0};
	arg_text(&a, bidx);
	arg_text(&a, number_id);
	PGresult *r = NULL;
	int rc = run(c, SQL_TX_HOLDER, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0) {
		out->found = 1;
		col_text(r, 0, 0, out->row_id, sizeof(out->row_id));
		out->cooling = col_int(r, 0, 1);
		col_text(r, 0, 2, out->peer, sizeof(out->peer));
	}
	PQclear(r);
	return 0;
}

/* Runs a one-text-argument statement that returns no rows. */
static int run_text1(struct pg_conn *c, enum sql_id id, const char *a1)
{
	struct args a = {0};
	arg_text(&a, a1);
	return run(c, id, &a, NULL);
}

static int pg_tx_binding_drop(struct store_tx *tx, const char *row_id)
{
	return run_text1(tx_conn(tx), SQL_TX_BINDING_DROP, row_id);
}

static int pg_tx_sticky(struct store_tx *tx, const char *service_id, const char *bidx, const char *peer_bidx,
			char out[ID_MAX])
{
	struct pg_conn *c = tx_conn(tx);
	out[0] = '\0';
	struct args a = {0};
	arg_text(&a, bidx);
	arg_text(&a, peer_bidx);
	arg_text(&a, service_id);
	PGresult *r = NULL;
	int rc = run(c, SQL_STICKY, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0)
		col_text(r, 0, 0, out, ID_MAX);
	PQclear(r);
	return 0;
}

static int pg_tx_number_by_id(struct store_tx *tx, const char *service_id, const char *id, struct number *out)
{
	return number_by(tx_conn(tx), SQL_TX_NUMBER_BY_ID, service_id, id, out);
}

static int pg_tx_number_by_e164(struct store_tx *tx, const char *service_id, const char *e164, struct number *out)
{
	return number_by(tx_conn(tx), SQL_TX_NUMBER_BY_E164, service_id, e164, out);
}

static int pg_tx_participant_insert(struct store_tx *tx, const char *session_id, int idx, const struct participant *p,
				    const char *bidx, const char *peer_bidx, int64_t now)
{
	struct pg_conn *c = tx_conn(tx);
	struct store_pg *s = tx->b;
	uint8_t sealed[VAULT_SEALED_MAX];
	size_t sealed_len = 0;
	int rc = vault_seal(s->vault, p->number, p->id, sealed, sizeof(sealed), &sealed_len);
	if (rc < 0)
		return rc;
	struct args a = {0};
	arg_text(&a, p->id);
	arg_text(&a, session_id);
	arg_i64(&a, idx);
	arg_text(&a, p->label);
	arg_text(&a, p->masked);
	arg_bytes(&a, sealed, sealed_len);
	arg_text(&a, bidx);
	arg_text(&a, p->proxy_number_id);
	arg_text(&a, p->proxy_e164);
	arg_text(&a, p->country);
	arg_text(&a, peer_bidx);
	arg_i64(&a, now);
	/* ON CONFLICT DO NOTHING waits for a concurrent holder and then writes
	 * nothing: the transaction stays usable */
	rc = run_count(c, SQL_TX_PARTICIPANT_INSERT, &a);
	return rc < 0 ? rc : rc == 0 ? MASKD_ECONFLICT : 0;
}

static int pg_tx_participant_move(struct store_tx *tx, const char *row_id, const char *number_id, const char *e164)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	arg_text(&a, row_id);
	arg_text(&a, number_id);
	arg_text(&a, e164);
	int rc = run_count(c, SQL_TX_PARTICIPANT_MOVE, &a);
	if (rc == MASKD_ECONFLICT)
		return MASKD_ERETRY; /* a concurrent transaction took it after the check: this one is aborted */
	return rc < 0 ? rc : rc == 0 ? MASKD_ECONFLICT : 0;
}

static int pg_tx_peer_set(struct store_tx *tx, const char *row_id, const char *peer_bidx)
{
	struct args a = {0};
	arg_text(&a, row_id);
	arg_text(&a, peer_bidx);
	return run(tx_conn(tx), SQL_TX_PEER_SET, &a, NULL);
}

static int pg_tx_number_count(struct store_tx *tx, const char *number_id, int64_t cap)
{
	struct pg_conn *c = tx_conn(tx);
	struct args a = {0};
	arg_text(&a, number_id);
	arg_i64(&a, cap);
	/* the row lock makes a concurrent counter wait, then re-check the cap */
	int rc = run_count(c, SQL_TX_NUMBER_COUNT, &a);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	PGresult *r = NULL;
	a.n = 1;
	rc = run(c, SQL_TX_NUMBER_EXISTS, &a, &r);
	if (rc < 0)
		return rc;
	rc = PQntuples(r) > 0 ? MASKD_ECONFLICT : MASKD_ENOTFOUND;
	PQclear(r);
	return rc;
}

static int pg_tx_number_uncount(struct store_tx *tx, const char *number_id)
{
	return run_text1(tx_conn(tx), SQL_TX_NUMBER_UNCOUNT, number_id);
}

static int pg_tx_unique_name(struct store_tx *tx, const char *service_id, const char *unique_name,
			     char existing_id[ID_MAX], char bidx[SESSION_PARTICIPANTS][STORE_BIDX_MAX], int *n)
{
	struct pg_conn *c = tx_conn(tx);
	*n = 0;
	existing_id[0] = '\0';
	struct args a = {0};
	arg_text(&a, service_id);
	arg_text(&a, unique_name);
	arg_i64(&a, SESSION_CLOSED);
	PGresult *r = NULL;
	int rc = run(c, SQL_TX_UNIQUE_NAME, &a, &r);
	if (rc < 0)
		return rc;
	if (PQntuples(r) > 0)
		col_text(r, 0, 0, existing_id, ID_MAX);
	PQclear(r);
	if (existing_id[0] == '\0')
		return 0;
	struct args b = {0};
	arg_text(&b, existing_id);
	rc = run(c, SQL_TX_SESSION_BIDX, &b, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && *n < SESSION_PARTICIPANTS; i++)
		col_text(r, i, 0, bidx[(*n)++], STORE_BIDX_MAX);
	PQclear(r);
	return 1;
}

static int pg_tx_pin_taken(struct store_tx *tx, const char *service_id, const char *pin)
{
	struct args a = {0};
	arg_text(&a, service_id);
	arg_text(&a, pin);
	arg_i64(&a, SESSION_CLOSED);
	PGresult *r = NULL;
	int rc = run(tx_conn(tx), SQL_TX_PIN_TAKEN, &a, &r);
	if (rc < 0)
		return rc;
	rc = PQntuples(r) > 0;
	PQclear(r);
	return rc;
}

static int pg_tx_session_insert(struct store_tx *tx, const struct session *ses, int64_t deadline)
{
	struct args a = {0};
	arg_text(&a, ses->id);
	arg_text(&a, ses->service_id);
	arg_text(&a, ses->unique_name[0] ? ses->unique_name : NULL);
	arg_i64(&a, ses->mode);
	arg_i64(&a, ses->ttl);
	arg_i64(&a, ses->expires_at);
	arg_i64(&a, ses->created_at);
	if (deadline > 0)
		arg_i64(&a, deadline);
	else
		arg_text(&a, NULL);
	arg_policy(&a, &ses->policy);
	arg_text(&a, ses->pin[0] ? ses->pin : NULL);
	arg_i64(&a, ses->status);
	/* ON CONFLICT DO NOTHING: a concurrent insert of the same name or PIN is
	 * waited for; no row = refused, the transaction stays usable */
	int rc = run_count(tx_conn(tx), SQL_TX_SESSION_INSERT, &a);
	return rc < 0 ? rc : rc == 0 ? MASKD_ECONFLICT : 0;
}

static int pg_tx_session_rows(struct store_tx *tx, const char *session_id, struct store_bind_session *out,
			      struct store_part_row rows[SESSION_PARTICIPANTS], int *n)
{
	struct pg_conn *c = tx_conn(tx);
	memset(out, 0, sizeof(*out));
	*n = 0;
	struct args a = {0};
	arg_text(&a, session_id);
	PGresult *r = NULL;
	int rc = run(c, SQL_SESSION_LOCK, &a, &r); /* FOR NO KEY UPDATE: one writer of the session at a time */
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return MASKD_ENOTFOUND;
	}
	col_text(r, 0, 0, out->service_id, sizeof(out->service_id));
	out->mode = col_int(r, 0, 1);
	out->status = col_int(r, 0, 2);
	PQclear(r);
	rc = run(c, SQL_TX_PART_ROWS, &a, &r);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(r) && *n < SESSION_PARTICIPANTS; i++) {
		struct store_part_row *p = &rows[(*n)++];
		col_text(r, i, 0, p->id, sizeof(p->id));
		p->idx = col_int(r, i, 1);
		col_text(r, i, 2, p->bidx, sizeof(p->bidx));
		col_text(r, i, 3, p->peer, sizeof(p->peer));
		col_text(r, i, 4, p->number_id, sizeof(p->number_id));
		col_text(r, i, 5, p->e164, sizeof(p->e164));
	}
	PQclear(r);
	return 0;
}

static int pg_tx_session_touch(struct store_tx *tx, const char *id, int64_t now)
{
	struct args a = {0};
	arg_text(&a, id);
	arg_i64(&a, now);
	return run(tx_conn(tx), SQL_TX_SESSION_TOUCH, &a, NULL);
}

static int pg_tx_event_insert(struct store_tx *tx, const char *session_id, const char *kind, const char *participant_id,
			      const char *detail, int64_t now)
{
	return event_add(tx_conn(tx), session_id, kind, participant_id ? participant_id : "", detail ? detail : "", now);
}

static int pg_tx_holds(struct store_tx *tx, const struct store_pool_query *q, int64_t *held, int64_t *k)
{
	struct args a = {0};
	arg_pool_query(&a, q, 0);
	PGresult *r = NULL;
	int rc = run(tx_conn(tx), SQL_TX_HOLDS, &a, &r);
	if (rc < 0)
		return rc;
	*held = col_i64(r, 0, 0);
	*k = col_i64(r, 0, 1);
	PQclear(r);
	return 0;
}

static int pg_tx_pool_count(struct store_tx *tx, const struct store_pool_query *q, int limit, int64_t *total)
{
	struct args a = {0};
	arg_pool_query(&a, q, limit);
	PGresult *r = NULL;
	int rc = run(tx_conn(tx), SQL_TX_POOL_COUNT, &a, &r);
	if (rc < 0)
		return rc;
	*total = col_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.ping = pg_ping,
	.tx_run = pg_tx_run,
	.setting_get = pg_setting_get,
	.setting_put = pg_setting_put,
	.setting_add = pg_setting_add,
	.service_insert = pg_service_insert,
	.service_get = pg_service_get,
	.service_list = pg_service_list,
	.service_update = pg_service_update,
	.number_insert = pg_number_insert,
	.number_get = pg_number_get,
	.number_list = pg_number_list,
	.number_set_state = pg_number_set_state,
	.number_set_region = pg_number_set_region,
	.number_delete = pg_number_delete,
	.session_get = pg_session_get,
	.session_list = pg_session_list,
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
	.session_events = pg_session_events,
	.tx_session_lock = pg_tx_session_lock,
	.tx_session_put = pg_tx_session_put,
	.tx_open_taken = pg_tx_open_taken,
	.tx_bindings_hold = pg_tx_bindings_hold,
	.tx_binding_keep = pg_tx_binding_keep,
	.tx_binding_take = pg_tx_binding_take,
	.tx_numbers_in_use_add = pg_tx_numbers_in_use_add,
	.tx_event_add = pg_tx_event_add,
	.tx_sessions_due = pg_tx_sessions_due,
	.tx_bindings_release_due = pg_tx_bindings_release_due,
	.tx_sessions_purge_due = pg_tx_sessions_purge_due,
	.tx_session_purge = pg_tx_session_purge,
	.pin_lookup = pg_pin_lookup,
	.optout_set = pg_optout_set,
	.pool_stats = pg_pool_stats,
	.blind_index = pg_blind_index,
	.tx_pool_candidates = pg_tx_pool_candidates,
	.tx_holder = pg_tx_holder,
	.tx_binding_drop = pg_tx_binding_drop,
	.tx_sticky = pg_tx_sticky,
	.tx_number_by_id = pg_tx_number_by_id,
	.tx_number_by_e164 = pg_tx_number_by_e164,
	.tx_participant_insert = pg_tx_participant_insert,
	.tx_participant_move = pg_tx_participant_move,
	.tx_peer_set = pg_tx_peer_set,
	.tx_number_count = pg_tx_number_count,
	.tx_number_uncount = pg_tx_number_uncount,
	.tx_unique_name = pg_tx_unique_name,
	.tx_pin_taken = pg_tx_pin_taken,
	.tx_session_insert = pg_tx_session_insert,
	.tx_session_rows = pg_tx_session_rows,
	.tx_session_touch = pg_tx_session_touch,
	.tx_event_insert = pg_tx_event_insert,
	.tx_holds = pg_tx_holds,
	.tx_pool_count = pg_tx_pool_count,
};
