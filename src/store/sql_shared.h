/* SPDX-License-Identifier: MIT */
/* sql_shared.h - the statement texts both backends run unchanged: the row
 * primitives of bind, create, add and swap and those of the session lifecycle,
 * written once with PostgreSQL's $n placeholders (sqlite/conn.c turns each $n into
 * SQLite's ?n when it prepares them; PostgreSQL appends its row-locking clause
 * where it has one). Texts that truly differ (locking, tie-breaks) stay in their
 * backend. No rules: the values are bound by the callers. Internal to store/. */
#ifndef MASKD_SQL_SHARED_H
#define MASKD_SQL_SHARED_H

#include "store.h"
#include "../core/model.h"
#include "../core/route.h"

#include <stddef.h>
#include <stdint.h>

/* Column lists both backends read in the same order (their read_* helpers agree). */
#define NUMBER_COLS "n.id, n.service_id, n.e164, n.carrier, n.caps, n.country, n.area_code, n.state, n.in_use, n.created_at, n.region"
#define NUMBER_NCOLS 11
/* number.cooling: held_until is set exactly while a closed or blocked session's
 * row still holds its binding (the partial index participants_cooling). */
#define NUMBER_COOLING "(SELECT COUNT(*) FROM participants c WHERE c.proxy_number_id = n.id AND c.active = 1 AND c.held_until IS NOT NULL)"
#define POLICY_COLS "record, time_limit, ring_timeout, consent_message"
#define SESSION_COLS "id, service_id, unique_name, mode, status, ttl, expires_at, created_at, updated_at, last_activity_at, closed_at, " POLICY_COLS ", pin, direction"
#define INTERACTION_COLS "id, session_id, service_id, channel, carrier, carrier_sid, decision, from_participant, to_participant, created_at"
/* what sql_read_interaction reads: the inserted columns and the call id set later */
#define INTERACTION_READ_COLS INTERACTION_COLS ", carrier_call_id, intercept, intercept_text"
#define LEG_COLS "l.id, l.leg, l.carrier_sid, l.status, l.duration, l.started_at, l.answered_at, l.ended_at, l.proxy_number, l.other_country, l.recording_id, l.recording_url, l.cost, l.currency"

/* Open (SESSION_OPEN, SESSION_IN_PROGRESS) and ended sessions, spelled as the
 * partial indexes sessions_deadline, sessions_unique_name, sessions_pin and
 * sessions_purge spell them: the planner uses a partial index only when the query
 * repeats its predicate, which a bound parameter does not. Pinned to the enum. */
#define SQL_LIVE "status < 2"
#define SQL_ENDED "status >= 2"
#define SQL_STATUS_CLOSED "2" /* SESSION_CLOSED, for a removed participant's route */
_Static_assert(SESSION_OPEN < 2 && SESSION_IN_PROGRESS < 2 && SESSION_CLOSED == 2 && SESSION_FAILED > 2 &&
		       SESSION_BLOCKED > 2,
	       "SQL_LIVE and SQL_ENDED follow enum session_status");

/* store_tx_session_lock: the session with its service's cooloff, then its rows */
#define LC_SQL_SESSION_LOCK                                                                                     \
	"SELECT s.status, s.service_id, v.cooloff, s.unique_name, s.pin, s.ttl, s.expires_at, s.last_activity_at, " \
	"s.closed_at, s.updated_at, s.mode FROM sessions s JOIN services v ON v.id = s.service_id WHERE s.id = $1"
#define LC_SQL_PARTS                                                                                            \
	"SELECT id, idx, proxy_number_id, active, CASE WHEN substr(bidx, 1, 7) = 'purged:' THEN 1 ELSE 0 END, "     \
	"bidx, peer_bidx, proxy_e164 "                                                                             \
	"FROM participants WHERE session_id = $1 AND idx >= 0 ORDER BY idx"
#define LC_SQL_SESSION_PUT                                                                                      \
	"UPDATE sessions SET status = $2, closed_at = $3, ttl = $4, expires_at = $5" \
	", last_activity_at = $6, updated_at = $7, deadline = $8 WHERE id = $1"
/* $3 / $4 NULL: not asked (a comparison with NULL is never true) */
#define LC_SQL_OPEN_TAKEN                                                                                       \
	"SELECT CASE WHEN EXISTS (SELECT 1 FROM sessions WHERE service_id = $1 AND id <> $2"          \
	" AND unique_name = $3 AND " SQL_LIVE ") THEN 1 ELSE 0 END, CASE WHEN EXISTS (SELECT 1 FROM "       \
	"sessions WHERE service_id = $1 AND id <> $2 AND pin = $4 AND " SQL_LIVE          \
	") THEN 1 ELSE 0 END"
#define LC_SQL_BINDINGS_HOLD                                                                                    \
	"UPDATE participants SET held_until = $2, active = $3 WHERE session_id = $1"         \
	" AND active = 1 AND idx >= 0"
/* re-open: a binding still cooling off is kept... */
#define LC_SQL_BINDING_KEEP "UPDATE participants SET held_until = NULL WHERE id = $1 AND active = 1"
/* ...a released one is taken again: the bindings index refuses it when the real
 * number holds that proxy elsewhere now; 0 rows when the number is gone or has
 * state $2 (retired). The hidden side of a one-way session (oneway 2) never
 * holds a binding: its row counts as taken and stays inactive. */
#define LC_SQL_BINDING_TAKE                                                                                     \
	"UPDATE participants SET active = CASE WHEN oneway = 2 THEN 0 ELSE 1 END, held_until = NULL "      \
	"WHERE id = $1 AND active = 0 AND EXISTS "   \
	"(SELECT 1 FROM numbers WHERE numbers.id = participants.proxy_number_id AND numbers.state <> $2)"
/* the due sessions, soonest first (index sessions_deadline) */
#define LC_SQL_SESSIONS_DUE                                                                                     \
	"SELECT id FROM sessions WHERE " SQL_LIVE " AND deadline IS NOT NULL AND deadline <= $1"               \
	" ORDER BY deadline LIMIT $2"
/* the closed sessions past retention whose bindings are all released (index
 * sessions_purge, a range on closed_at) */
#define LC_SQL_PURGE_DUE                                                                                        \
	"SELECT s.id FROM sessions s WHERE s." SQL_ENDED " AND s.purged_at = 0 AND s.closed_at > 0 AND "            \
	"s.closed_at < $1 AND NOT EXISTS (SELECT 1 FROM participants q WHERE q.session_id = s.id AND "     \
	"q.active = 1) ORDER BY s.closed_at LIMIT $2"
#define LC_SQL_SESSION_PURGED "UPDATE sessions SET purged_at = $2 WHERE id = $1"

/* The pool filter of struct store_pool_query: $1 service, $2 caps needed, $3 the
 * participant's blind index, $5 the cap (no cap bound as INT64_MAX, so that it
 * stays a plain range on numbers_pick), $6 NUMBER_ACTIVE, $7 country, $8 area
 * code, $9 region: a key bound NULL is not asked for at the level, an empty one
 * matches nothing (sql_pool_keys()). $4 is the limit. Each parameter's first use
 * gives PostgreSQL its type (a bare "$7 IS NULL" first would not). */
#define SQL_POOL_WHERE                                                                                      \
	"n.service_id = $1 AND n.state = $6 AND n.in_use < $5 AND (n.caps & $2) = $2 "                       \
	"AND ((n.country = $7 AND $7 <> '') OR $7 IS NULL) AND ((n.area_code = $8 AND $8 <> '') OR $8 IS NULL) " \
	"AND ((n.region = $9 AND $9 <> '') OR $9 IS NULL) "
#define SQL_POOL_ORDER "ORDER BY n.in_use, n.created_at, n.id LIMIT $4"
#define SQL_POOL_COLS "SELECT n.id, n.e164, n.state, n.caps, n.in_use, n.created_at FROM numbers n WHERE "

/* STORE_POOL_FREE: numbers this real number holds no binding on (bindings index) */
#define SQL_TEXT_POOL_FREE                                                                                      \
	SQL_POOL_COLS SQL_POOL_WHERE "AND NOT EXISTS (SELECT 1 FROM participants p WHERE p.bidx IN ($3, $10) AND " \
				     "p.proxy_number_id = n.id AND p.active = 1) " SQL_POOL_ORDER
/* STORE_POOL_COOLING: numbers this real number holds only as a cooling-off binding */
#define SQL_TEXT_POOL_COOLING                                                                                   \
	SQL_POOL_COLS SQL_POOL_WHERE "AND EXISTS (SELECT 1 FROM participants p WHERE p.bidx IN ($3, $10) AND "     \
				     "p.proxy_number_id = n.id AND p.active = 1 AND p.held_until IS NOT NULL) " SQL_POOL_ORDER
/* numbers the filter admits, held or not, up to $4 (the blind index $3 is not
 * part of the count: length($3) > 0 only gives PostgreSQL its type) */
#define SQL_TEXT_POOL_COUNT \
	"SELECT COUNT(*) FROM (SELECT 1 FROM numbers n WHERE " SQL_POOL_WHERE "AND length($3) > 0 AND length($10) > 0 LIMIT $4) f"
/* the participant's holds in the service (bindings index, then numbers by id):
 * open ones, and those (open or cooling) on numbers the filter admits ($4, the
 * limit, is bound 0 and only typed here, so that the parameters stay those of the filter) */
#define SQL_TEXT_HOLDS                                                                                          \
	"SELECT COALESCE(SUM(CASE WHEN p.held_until IS NULL THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN "   \
	SQL_POOL_WHERE "THEN 1 ELSE 0 END), 0) FROM participants p JOIN numbers n ON n.id = p.proxy_number_id " \
	"WHERE p.bidx IN ($3, $10) AND p.active = 1 AND n.service_id = $1 AND $4 >= 0"
#define SQL_TEXT_HOLDER                                                                                          \
	"SELECT id, CASE WHEN held_until IS NULL THEN 0 ELSE 1 END, peer_bidx FROM participants "              \
	"WHERE bidx = $1 AND proxy_number_id = $2 AND active = 1"
#define SQL_TEXT_BINDING_DROP "UPDATE participants SET active = 0 WHERE id = $1 AND active = 1 AND held_until IS NOT NULL"
#define SQL_TEXT_NUMBER_BY_ID "SELECT " NUMBER_COLS " FROM numbers n WHERE n.service_id = $1 AND n.id = $2"
#define SQL_TEXT_NUMBER_BY_E164 "SELECT " NUMBER_COLS " FROM numbers n WHERE n.service_id = $1 AND n.e164 = $2"
/* the unique index "bindings" decides ownership: no row = bidx holds the number */
#define SQL_TEXT_PARTICIPANT_INSERT                                                                              \
	"INSERT INTO participants (id, session_id, idx, label, masked, number_sealed, bidx, proxy_number_id, "  \
	"proxy_e164, active, country, peer_bidx, created_at, profile_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, " \
	"$10, $11, $12, $13) ON CONFLICT (bidx, proxy_number_id) WHERE active = 1 DO NOTHING"
/* no row = this real number holds that number already (checked first, so that
 * PostgreSQL does not abort the transaction on the unique index) */
#define SQL_TEXT_PARTICIPANT_MOVE                                                                                \
	"UPDATE participants SET proxy_number_id = $2, proxy_e164 = $3 WHERE id = $1 AND NOT EXISTS (SELECT 1 "  \
	"FROM participants q WHERE q.bidx = participants.bidx AND q.proxy_number_id = $2 AND q.active = 1)"
#define SQL_TEXT_PEER_SET "UPDATE participants SET peer_bidx = $2 WHERE id = $1"
/* a participant removed from its open session: idx -1 (PARTICIPANT_REMOVED_IDX),
 * its binding held like a close's; the row that stays becomes idx 0 */
#define SQL_TEXT_PARTICIPANT_DETACH \
	"UPDATE participants SET idx = -1, held_until = $2, active = $3 WHERE id = $1 AND idx >= 0 AND active = 1"
#define SQL_TEXT_PARTICIPANTS_COMPACT "UPDATE participants SET idx = 0 WHERE session_id = $1 AND idx > 0"
/* the cap in the statement: under concurrency PostgreSQL re-checks it on the locked row */
#define SQL_TEXT_NUMBER_COUNT "UPDATE numbers SET in_use = in_use + 1 WHERE id = $1 AND ($2 <= 0 OR in_use < $2)"
#define SQL_TEXT_NUMBER_UNCOUNT "UPDATE numbers SET in_use = in_use - 1 WHERE id = $1 AND in_use > 0"
#define SQL_TEXT_NUMBER_EXISTS "SELECT 1 FROM numbers WHERE id = $1"
/* $3 = SESSION_CLOSED: open means status < SESSION_CLOSED */
#define SQL_TEXT_UNIQUE_NAME "SELECT id FROM sessions WHERE service_id = $1 AND unique_name = $2 AND status < $3"
#define SQL_TEXT_SESSION_BIDX "SELECT bidx FROM participants WHERE session_id = $1 AND idx >= 0 ORDER BY idx"
#define SQL_TEXT_PIN_TAKEN "SELECT 1 FROM sessions WHERE service_id = $1 AND pin = $2 AND status < $3"
/* no row = an open session has the unique_name or the PIN (partial unique indexes) */
#define SQL_TEXT_SESSION_INSERT                                                                                  \
	"INSERT INTO sessions (id, service_id, unique_name, mode, status, ttl, expires_at, created_at, "        \
	"updated_at, last_activity_at, closed_at, deadline, record, time_limit, ring_timeout, consent_message, "  \
	"pin) VALUES ($1, $2, $3, $4, $14, $5, $6, $7, $7, $7, 0, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING"
#define SQL_TEXT_SESSION_TOUCH "UPDATE sessions SET updated_at = $2 WHERE id = $1"

/* What route_lookup and pin_lookup read about the caller's session (s), the
 * caller's participant row (p) and the other one (o, absent while single-party);
 * read by sql_read_route. */
#define ROUTE_COLS                                                                                                \
	"s.id, CASE WHEN p.idx < 0 THEN " SQL_STATUS_CLOSED " ELSE s.status END, s.mode, s.ttl, s.expires_at, s.last_activity_at, p.id, o.id, o.number_sealed, o.proxy_e164, " \
	"o.country, s.record, s.time_limit, s.ring_timeout, s.consent_message, "                                      \
	"CASE WHEN EXISTS (SELECT 1 FROM optouts x WHERE x.number_id = o.proxy_number_id AND x.bidx = o.bidx) "     \
	"OR EXISTS (SELECT 1 FROM bidx_moves m JOIN optouts x ON x.bidx = m.old AND x.number_id = o.proxy_number_id " \
	"WHERE m.new = o.bidx) THEN 1 ELSE 0 END, (SELECT y.caps FROM numbers y WHERE y.id = o.proxy_number_id)"
/* Service columns in struct service's order (sql_read_service reads them so). */
#define SERVICE_COLS                                                                                              \
	"id, name, mode, ttl, unknown_caller_message, created_at, " POLICY_COLS ", geo_match, geo_match_strict, "      \
	"number_selection, cooloff, cooloff_reuse, number_cap, unknown_caller, fallback_number, pin_number, pin_length, " \
	"pin_attempts, callback_url, callback_timeout_ms, callback_fail_open, ended_message, help_text, rate_calls, "   \
	"rate_texts, rate_silent, mms_fallback, events_url, pool_low_threshold, branded_number, callback_window, " \
	"intercept_url, intercept_timeout_ms, intercept_fail_open, events_pull_off"

/* ---------------------------------------------------------------- reading rows */

/* A result row read left to right, the same way on both backends: each sql_next_*
 * reads column col of the row and moves col on by one, so a reader names its fields
 * in SELECT order. The backend gives the column accessors (sq_cursor() over a
 * sqlite3_stmt standing on a row, pg_cursor() over a PGresult's row); NULL reads as
 * 0 or "". Valid only while that row is. */
struct vault;
struct sql_cursor;
struct sql_cursor_ops {
	int (*is_null)(const struct sql_cursor *c, int col);
	int64_t (*i64)(const struct sql_cursor *c, int col);
	void (*text)(const struct sql_cursor *c, int col, char *out, size_t cap); /* cut to cap */
	/* opens the sealed blob at col for ad into out: 0 or vault_unseal's error */
	int (*unseal)(const struct sql_cursor *c, int col, const struct vault *v, const char *ad, char *out,
		      size_t cap);
	/* 1 when the blob at col is empty (a number wiped by the purge or an erasure) */
	int (*empty)(const struct sql_cursor *c, int col);
};
struct sql_cursor {
	const struct sql_cursor_ops *ops;
	const void *res; /* sqlite3_stmt * or PGresult * */
	int row;         /* the PGresult's row; 0 on SQLite */
	int col;         /* the next column to read */
};

int64_t sql_next_i64(struct sql_cursor *c);
int sql_next_int(struct sql_cursor *c);
void sql_next_text(struct sql_cursor *c, char *out, size_t cap);

/* The readers of the shared column lists, from c's next column on. */
void sql_read_policy(struct sql_cursor *c, struct call_policy *p);       /* POLICY_COLS */
void sql_read_number(struct sql_cursor *c, struct number *n);            /* NUMBER_COLS; cooling = 0 */
void sql_read_session(struct sql_cursor *c, struct session *s);          /* SESSION_COLS; no participants */
void sql_read_service(struct sql_cursor *c, struct service *svc);        /* SERVICE_COLS; no secrets */
void sql_read_interaction(struct sql_cursor *c, struct interaction *it); /* INTERACTION_READ_COLS; no legs */
void sql_read_leg(struct sql_cursor *c, struct leg *l);                  /* LEG_COLS */
void sql_read_key(struct sql_cursor *c, struct api_key *k);              /* KEY_COLS */
void sql_read_audit(struct sql_cursor *c, struct audit_entry *e);        /* AUDIT_COLS */
void sql_read_oneway_candidate(struct sql_cursor *c, struct oneway_candidate *o); /* SQL_TEXT_ONEWAY_CANDIDATES */
/* ROUTE_COLS into out's session and other side, unsealing the other side's number
 * with v: 0 (nothing read when s.id is NULL: no binding), or MASKD_ECRYPTO logged. */
int sql_read_route(struct sql_cursor *c, const struct vault *v, struct route_view *out);

/* The geo keys bound as $7 country, $8 area code, $9 region for level (enum
 * geo_match): NULL where the level does not ask for the key, the participant's
 * key (maybe "", which matches nothing) where it does. */
void sql_pool_keys(const struct store_pool_query *q, const char *keys[3]);

/* The shared row-primitive statements as (id, text) pairs: each backend lists the
 * ids in its enum sql_id (SQL_SHARED_ID) and the texts in its table
 * (SQL_SHARED_TEXT), so both run exactly these. */
#define SQL_TEXT_INTERACTION_INSERT                                                                            \
	"INSERT INTO interactions (" INTERACTION_COLS ", keyword, intercept, intercept_text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) " \
	"ON CONFLICT (carrier, carrier_sid) DO NOTHING"
#define SQL_TEXT_INTERACTION_BY_SID "SELECT " INTERACTION_READ_COLS " FROM interactions WHERE carrier = $1 AND carrier_sid = $2"
#define SQL_TEXT_SESSION_ACTIVITY                                                              \
	"UPDATE sessions SET status = $2, last_activity_at = $3, updated_at = $3, deadline = $4 " \
	"WHERE id = $1 AND " SQL_LIVE

/* the plain reads and writes of services, numbers, sessions, interactions and
 * legs, the same on both backends */
#define SQL_TEXT_PING "SELECT 1"
#define SQL_TEXT_SETTING_GET "SELECT value FROM settings WHERE key = $1"
#define SQL_TEXT_SETTING_PUT "INSERT INTO settings (key, value) VALUES ($1, $2) " \
	"ON CONFLICT (key) DO UPDATE SET value = excluded.value"
#define SQL_TEXT_SETTING_ADD "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
#define SQL_TEXT_SERVICE_INSERT "INSERT INTO services (" SERVICE_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, " \
	"$15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38)"
#define SQL_TEXT_SERVICE_GET "SELECT " SERVICE_COLS " FROM services WHERE id = $1"
#define SQL_TEXT_SECRET_INSERT "INSERT INTO service_secrets (service_id, carrier, sealed) VALUES ($1, $2, $3)"
#define SQL_TEXT_SECRETS_GET "SELECT carrier, sealed FROM service_secrets WHERE service_id = $1"
#define SQL_TEXT_SECRET_DELETE "DELETE FROM service_secrets WHERE service_id = $1 AND carrier = $2"
#define SQL_TEXT_NUMBER_INSERT "INSERT INTO numbers (id, service_id, e164, carrier, caps, country, area_code, state, in_use, " \
	"created_at, region) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10)"
#define SQL_TEXT_NUMBER_GET "SELECT " NUMBER_COLS ", " NUMBER_COOLING " FROM numbers n WHERE n.id = $1"
#define SQL_TEXT_NUMBER_SET_STATE "UPDATE numbers SET state = $2 WHERE id = $1"
#define SQL_TEXT_NUMBER_SET_REGION "UPDATE numbers SET region = $2 WHERE id = $1"
#define SQL_TEXT_NUMBER_DELETE "DELETE FROM numbers WHERE id = $1 AND in_use = 0"
#define SQL_TEXT_SESSION_GET "SELECT " SESSION_COLS " FROM sessions WHERE id = $1"
#define SQL_TEXT_PARTICIPANTS_OF "SELECT id, label, masked, proxy_number_id, proxy_e164, country, oneway FROM participants " \
	"WHERE session_id = $1 AND idx >= 0 ORDER BY idx"
#define SQL_TEXT_ROUTE_LOOKUP "SELECT " NUMBER_COLS ", " ROUTE_COLS " FROM numbers n " \
	"LEFT JOIN participants p ON p.bidx = $2 AND p.proxy_number_id = n.id AND p.active = 1 " \
	"LEFT JOIN sessions s ON s.id = p.session_id " \
	"LEFT JOIN participants o ON o.session_id = p.session_id AND o.id <> p.id AND o.idx >= 0 " \
	"WHERE n.e164 = $1"
/* one-way sessions (store_tx_oneway_*): the hidden row (oneway 2) holds no
 * binding; the candidates' "oneway > 0" lets the partial index participants_oneway answer */
#define SQL_TEXT_ONEWAY_MARK_SESSION "UPDATE sessions SET direction = 1 WHERE id = $1"
#define SQL_TEXT_ONEWAY_MARK_PARTS "UPDATE participants SET oneway = CASE WHEN id = $2 THEN 2 ELSE 1 END, " \
	"active = CASE WHEN id = $2 THEN 0 ELSE active END WHERE session_id = $1 AND idx >= 0"
#define SQL_TEXT_ONEWAY_CANDIDATES "SELECT p.id, s.id, s.status, s.ttl, s.expires_at, s.last_activity_at, s.closed_at, " \
	"s.created_at, COALESCE(s.pin, '') FROM participants p JOIN sessions s ON s.id = p.session_id " \
	"WHERE p.bidx IN ($1, $6) AND p.proxy_number_id = $2 AND p.oneway > 0 AND p.oneway = $3 AND p.idx >= 0 " \
	"AND s.service_id = $4 AND s.direction = 1 ORDER BY s.created_at DESC, s.id DESC LIMIT $5"
/* the hidden rows (oneway 2) of one-way sessions of $2 on proxy number $1 still
 * marked open or in progress ("status < 2"), with PIN $3 when $3 is not '' */
#define SQL_TEXT_ONEWAY_ON_NUMBER "SELECT p.id, s.id, s.status, s.ttl, s.expires_at, s.last_activity_at, s.closed_at, " \
	"s.created_at, COALESCE(s.pin, '') FROM participants p JOIN sessions s ON s.id = p.session_id " \
	"WHERE p.proxy_number_id = $1 AND p.oneway = 2 AND p.idx >= 0 AND s.service_id = $2 AND s.direction = 1 " \
	"AND s." SQL_LIVE " AND ($3 = '' OR s.pin = $3) ORDER BY s.created_at DESC, s.id DESC LIMIT $4"
#define SQL_TEXT_ONEWAY_VIEW "SELECT " ROUTE_COLS " FROM participants p JOIN sessions s ON s.id = p.session_id " \
	"LEFT JOIN participants o ON o.session_id = p.session_id AND o.id <> p.id AND o.idx >= 0 WHERE p.id = $1"
/* the carrier's call id of a click-to-call, set once */
#define SQL_TEXT_INTERACTION_CALL_ID "UPDATE interactions SET carrier_call_id = $2 WHERE id = $1 AND carrier_call_id = ''"
#define SQL_TEXT_INTERACTION_GET "SELECT " INTERACTION_READ_COLS " FROM interactions WHERE id = $1"
#define SQL_TEXT_INTERACTION_LIST "SELECT " INTERACTION_READ_COLS " FROM interactions WHERE session_id = $1 ORDER BY created_at, id"
/* Leg 'a' (the inbound call or message) is not written when the webhook is
 * recorded: until a status callback reports on it, it is derived from the
 * interaction row, as the row the webhook used to insert would have read (id
 * "leg_" + the interaction id's 24 characters, status "received", duration -1,
 * started at the interaction's time, the caller's proxy number and country).
 * The first callback on leg 'a' with the interaction's own carrier sid inserts
 * that row, with that id and start (SQL_LEG_INSERT, SQL_LEG_UPSERT), and from then
 * on the row is read instead. Every read of legs goes through these. */
#define SQL_DERIVED_A_COLS                                                                                 \
	"'leg_' || substr(i.id, 5), 'a', i.carrier_sid, 'received', -1, i.created_at, 0, 0, pa.proxy_e164, " \
	"pa.country, '', '', '', ''"
#define SQL_DERIVED_A_FROM "FROM interactions i JOIN participants pa ON pa.id = i.from_participant "
#define SQL_NO_A_ROW                                                                                          \
	"NOT EXISTS (SELECT 1 FROM legs x WHERE x.interaction_id = i.id AND x.leg = 'a' AND x.carrier_sid = " \
	"i.carrier_sid)"
/* (insert) true when leg $3 with sid $4 is interaction i's derived leg 'a' */
#define SQL_IS_DERIVED_A(LEG, SID) "(" LEG " = 'a' AND " SID " = i.carrier_sid)"
#define SQL_TEXT_LEGS_OF "SELECT " LEG_COLS " FROM legs l WHERE l.interaction_id = $1 UNION ALL SELECT " \
	SQL_DERIVED_A_COLS " " SQL_DERIVED_A_FROM "WHERE i.id = $1 AND " SQL_NO_A_ROW " ORDER BY 2, 6, 1"
#define SQL_TEXT_RECORDS "SELECT i.id, i.session_id, i.service_id, i.channel, i.carrier, i.carrier_sid, i.decision, " \
	"i.from_participant, i.to_participant, i.created_at, i.carrier_call_id, i.intercept, i.intercept_text, " LEG_COLS " FROM legs l " \
	"JOIN interactions i ON i.id = l.interaction_id " \
	"WHERE l.service_id = $1 AND l.started_at >= $2 AND l.started_at < $3 UNION ALL " \
	"SELECT i.id, i.session_id, i.service_id, i.channel, i.carrier, i.carrier_sid, i.decision, " \
	"i.from_participant, i.to_participant, i.created_at, i.carrier_call_id, i.intercept, i.intercept_text, " SQL_DERIVED_A_COLS " " SQL_DERIVED_A_FROM \
	"WHERE i.service_id = $1 AND i.created_at >= $2 AND i.created_at < $3 AND " SQL_NO_A_ROW " ORDER BY 19, 14"
#define SQL_TEXT_USAGE "SELECT (i.created_at / 86400) * 86400 AS day, " \
	"SUM(CASE WHEN i.channel = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN i.channel = 1 AND i.keyword = 0 THEN 1 ELSE 0 END), " \
	"COALESCE(SUM((SELECT SUM(CASE WHEN l.duration > 0 THEN l.duration ELSE 0 END) FROM legs l " \
	"WHERE l.interaction_id = i.id AND l.leg = 'b')), 0), " \
	"SUM(CASE WHEN i.channel = 1 AND i.keyword <> 0 THEN 1 ELSE 0 END) " \
	"FROM interactions i WHERE i.service_id = $1 AND i.created_at >= $2 AND i.created_at < $3 " \
	"GROUP BY day ORDER BY day"
#define SQL_TEXT_NUMBER_RELEASE_COOLING "UPDATE participants SET active = 0 WHERE proxy_number_id = $1 AND active = 1 " \
	"AND held_until IS NOT NULL"
#define SQL_TEXT_NUMBER_OPTOUTS_DELETE "DELETE FROM optouts WHERE number_id = $1"
#define SQL_TEXT_EVENT_INSERT "INSERT INTO session_events (id, session_id, kind, participant_id, detail, created_at) " \
	"VALUES ($1, $2, $3, $4, $5, $6)"
#define SQL_TEXT_OPTOUT_DELETE "DELETE FROM optouts WHERE bidx = $1 AND number_id = $2"

/* API keys and the audit log (migration 5) */
#define KEY_COLS "id, hash, role, service_id, label, created_at, expires_at, revoked_at, last_used_at"
#define AUDIT_COLS "seq, created_at, key_id, key_label, request_id, source, action, target, reason, detail, prev_hash, hash"
#define SQL_TEXT_KEY_BY_HASH "SELECT " KEY_COLS " FROM api_keys WHERE hash = $1"
#define SQL_TEXT_KEY_GET "SELECT " KEY_COLS " FROM api_keys WHERE id = $1"
#define SQL_TEXT_KEY_LIST "SELECT " KEY_COLS " FROM api_keys ORDER BY created_at, id"
#define SQL_TEXT_KEY_TOUCH "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND last_used_at < $2"
#define SQL_TEXT_KEY_INSERT "INSERT INTO api_keys (" KEY_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
/* $2 NULL keeps the hash, $3 = 0 keeps revoked_at; a revoked key is never changed */
#define SQL_TEXT_KEY_UPDATE "UPDATE api_keys SET hash = COALESCE($2, hash), revoked_at = CASE WHEN CAST($3 AS BIGINT) > 0 " \
	"THEN CAST($3 AS BIGINT) ELSE revoked_at END WHERE id = $1 AND revoked_at = 0"
#define SQL_TEXT_AUDIT_TAIL "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
#define SQL_TEXT_AUDIT_INSERT "INSERT INTO audit_log (" AUDIT_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, " \
	"$10, $11, $12)"
#define SQL_TEXT_AUDIT_LIST "SELECT " AUDIT_COLS " FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
#define SQL_TEXT_PARTICIPANT_OWNER "SELECT p.session_id, s.service_id, CASE WHEN substr(p.bidx, 1, 7) = 'purged:' " \
	"THEN 1 ELSE 0 END FROM participants p JOIN sessions s ON s.id = p.session_id WHERE p.id = $1"

/* data-subject requests: every participant row and opt-out of one blind index */
#define SQL_TEXT_SUBJECT_FIND "SELECT p.id, p.session_id, s.service_id, s.status, p.masked, p.proxy_e164, p.active " \
	"FROM participants p JOIN sessions s ON s.id = p.session_id WHERE p.bidx = $1 ORDER BY p.created_at, p.id"
#define SQL_TEXT_SUBJECT_OPTOUTS "SELECT service_id, number_id, created_at FROM optouts WHERE bidx = $1 " \
	"ORDER BY created_at, number_id"
#define SQL_TEXT_SUBJECT_PEERS "UPDATE participants SET peer_bidx = '' WHERE peer_bidx = $1"
#define SQL_TEXT_SUBJECT_OPTOUTS_DELETE "DELETE FROM optouts WHERE bidx = $1"

/* service events (store_tx_event_target, store_tx_service_event_insert, store_service_events) */
#define SQL_TEXT_EVENT_TARGET \
	"SELECT s.service_id, v.events_url, v.events_pull_off FROM sessions s JOIN services v ON v.id = s.service_id WHERE s.id = $1"
#define SQL_TEXT_SERVICE_EVENT_INSERT \
	"INSERT INTO service_events (id, service_id, type, created_at, body) VALUES ($1, $2, $3, $4, $5)"
#define SQL_TEXT_SERVICE_EVENT_LIST \
	"SELECT seq, body FROM service_events WHERE service_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
/* Proxy v1 pending sessions (store_proxy_session_*) */
#define PROXY_SESSION_COLS "id, service_id, unique_name, mode, ttl, expires_at, created_at"
#define SQL_TEXT_PROXY_SESSION_PUT "INSERT INTO proxy_sessions (" PROXY_SESSION_COLS ") " \
	"VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET unique_name = excluded.unique_name, " \
	"mode = excluded.mode, ttl = excluded.ttl, expires_at = excluded.expires_at"
#define SQL_TEXT_PROXY_SESSION_GET "SELECT " PROXY_SESSION_COLS " FROM proxy_sessions WHERE id = $1"
#define SQL_TEXT_PROXY_SESSION_DELETE "DELETE FROM proxy_sessions WHERE id = $1"
#define SQL_TEXT_PROXY_SESSIONS_DROP "DELETE FROM proxy_sessions WHERE service_id = $1"
/* the legs first (they reference the interaction), only of one in that session */
#define SQL_TEXT_INTERACTION_LEGS_DELETE "DELETE FROM legs WHERE interaction_id = $1 " \
	"AND EXISTS (SELECT 1 FROM interactions WHERE id = $1 AND session_id = $2)"
#define SQL_TEXT_INTERACTION_DELETE "DELETE FROM interactions WHERE id = $1 AND session_id = $2"
/* The ended marks (migration 10): the released, not yet purged participants of
* session $1 leave (blind index, proxy number) at $2, just before the purge
* wipes them; a mark is found by blind index and number, expires by age and is
* erased with its blind index. */
#define SQL_TEXT_ENDED_MARK_PUT "INSERT INTO ended_marks (bidx, number_id, ended_at) " \
	"SELECT bidx, proxy_number_id, CAST($2 AS BIGINT) FROM participants WHERE session_id = $1 AND active = 0 " \
	"AND proxy_number_id IS NOT NULL AND substr(bidx, 1, 7) <> 'purged:' " \
	"ON CONFLICT (bidx, number_id) DO UPDATE SET ended_at = excluded.ended_at"
#define SQL_TEXT_ENDED_MARK_FIND "SELECT 1 FROM ended_marks WHERE bidx = $1 AND number_id = $2"
#define SQL_TEXT_ENDED_MARKS_EXPIRE "DELETE FROM ended_marks WHERE ended_at < $1"
#define SQL_TEXT_ENDED_MARKS_ERASE "DELETE FROM ended_marks WHERE bidx = $1"
/* profiles (migration 11; store_tx_profile_*): the columns of struct profile in
 * read order, then the sealed number */
#define PROFILE_COLS "id, service_id, label, masked, country, proxy_number_id, proxy_e164, state, created_at, " \
	"updated_at, retired_at, free_at, number_sealed"
#define PROFILE_COL_COUNT 13 /* the columns of PROFILE_COLS */
#define SQL_TEXT_PROFILE_INSERT "INSERT INTO profiles (id, service_id, label, masked, number_sealed, bidx, country, " \
	"proxy_number_id, proxy_e164, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, " \
	"$11, $12) ON CONFLICT (proxy_number_id) WHERE freed = 0 DO NOTHING"
#define SQL_TEXT_PROFILE_GET "SELECT " PROFILE_COLS " FROM profiles WHERE id = $1"
#define SQL_TEXT_PROFILE_LIST "SELECT " PROFILE_COLS " FROM profiles WHERE service_id = $1 ORDER BY created_at, id"
#define SQL_TEXT_PROFILE_PUT "UPDATE profiles SET label = $2, state = $3, retired_at = $4, free_at = $5, " \
	"updated_at = $6 WHERE id = $1"
#define SQL_TEXT_PROFILE_RENUMBER "UPDATE profiles SET number_sealed = $2, bidx = $3, masked = $4, country = $5 " \
	"WHERE id = $1"
/* the rows of a device swap, and whether the new number holds one of their proxy numbers already */
#define SQL_TEXT_PROFILE_ROWS "SELECT id FROM participants WHERE profile_id = $1 AND active = 1 ORDER BY id"
#define SQL_TEXT_PROFILE_ROWS_TAKEN "SELECT 1 FROM participants q WHERE q.bidx IN ($2, $3) AND q.active = 1 AND " \
	"q.proxy_number_id IN (SELECT proxy_number_id FROM participants WHERE profile_id = $1 AND active = 1) LIMIT 1"
#define SQL_TEXT_PROFILE_ROW_SET "UPDATE participants SET number_sealed = $2, bidx = $3, masked = $4 WHERE id = $1"
#define SQL_TEXT_PROFILE_PEERS_SET "UPDATE participants SET peer_bidx = $3 WHERE peer_bidx = $2 AND session_id IN " \
	"(SELECT session_id FROM participants WHERE profile_id = $1 AND active = 1)"
/* retired (1), not freed, cool-off over at $1 (index profiles_due); the number
 * goes from reserved ($3) back to active ($2) before the rows are marked */
#define SQL_TEXT_PROFILES_FREE_NUMBERS "UPDATE numbers SET state = $2 WHERE state = $3 AND id IN (SELECT " \
	"proxy_number_id FROM profiles WHERE state = 1 AND freed = 0 AND free_at <= $1)"
#define SQL_TEXT_PROFILES_FREE "UPDATE profiles SET freed = 1 WHERE state = 1 AND freed = 0 AND free_at <= $1"
#define SQL_TEXT_NUMBER_STATE "UPDATE numbers SET state = $2 WHERE id = $1"
_Static_assert(PROFILE_RETIRED == 1, "SQL_TEXT_PROFILES_FREE* spell the retired state as 1");
/* data-subject requests: the profiles of one blind index (no index: a scan of
 * the profiles table), each with its service's cool-off, read as PROFILE_COLS */
#define SQL_TEXT_SUBJECT_PROFILES "SELECT " PROFILE_COLS ", (SELECT v.cooloff FROM services v " \
	"WHERE v.id = profiles.service_id) FROM profiles WHERE bidx = $1 ORDER BY created_at, id"

/* pool alerts (migration 14): the row is the crossing; a row there already (a
 * concurrent create's, or an earlier one's) changes nothing */
#define SQL_TEXT_POOL_ALERT_SET "INSERT INTO pool_alerts (service_id, need, since) VALUES ($1, $2, $3) " \
	"ON CONFLICT (service_id, need) DO NOTHING"
#define SQL_TEXT_POOL_ALERT_CLEAR "DELETE FROM pool_alerts WHERE service_id = $1 AND need = $2"

#define SQL_SHARED_STATEMENTS(X) \
	X(SQL_LC_SESSION_PUT, LC_SQL_SESSION_PUT) \
	X(SQL_LC_OPEN_TAKEN, LC_SQL_OPEN_TAKEN) \
	X(SQL_SESSION_PURGED, LC_SQL_SESSION_PURGED) \
	X(SQL_PING, SQL_TEXT_PING) \
	X(SQL_SETTING_GET, SQL_TEXT_SETTING_GET) \
	X(SQL_SETTING_PUT, SQL_TEXT_SETTING_PUT) \
	X(SQL_SETTING_ADD, SQL_TEXT_SETTING_ADD) \
	X(SQL_SERVICE_INSERT, SQL_TEXT_SERVICE_INSERT) \
	X(SQL_SERVICE_GET, SQL_TEXT_SERVICE_GET) \
	X(SQL_SECRET_INSERT, SQL_TEXT_SECRET_INSERT) \
	X(SQL_SECRETS_GET, SQL_TEXT_SECRETS_GET) \
	X(SQL_SECRET_DELETE, SQL_TEXT_SECRET_DELETE) \
	X(SQL_NUMBER_INSERT, SQL_TEXT_NUMBER_INSERT) \
	X(SQL_NUMBER_GET, SQL_TEXT_NUMBER_GET) \
	X(SQL_NUMBER_SET_STATE, SQL_TEXT_NUMBER_SET_STATE) \
	X(SQL_NUMBER_SET_REGION, SQL_TEXT_NUMBER_SET_REGION) \
	X(SQL_NUMBER_DELETE, SQL_TEXT_NUMBER_DELETE) \
	X(SQL_SESSION_GET, SQL_TEXT_SESSION_GET) \
	X(SQL_PARTICIPANTS_OF, SQL_TEXT_PARTICIPANTS_OF) \
	X(SQL_ROUTE_LOOKUP, SQL_TEXT_ROUTE_LOOKUP) \
	X(SQL_INTERACTION_GET, SQL_TEXT_INTERACTION_GET) \
	X(SQL_INTERACTION_LIST, SQL_TEXT_INTERACTION_LIST) \
	X(SQL_INTERACTION_CALL_ID, SQL_TEXT_INTERACTION_CALL_ID) \
	X(SQL_LEGS_OF, SQL_TEXT_LEGS_OF) \
	X(SQL_RECORDS, SQL_TEXT_RECORDS) \
	X(SQL_USAGE, SQL_TEXT_USAGE) \
	X(SQL_NUMBER_RELEASE_COOLING, SQL_TEXT_NUMBER_RELEASE_COOLING) \
	X(SQL_NUMBER_OPTOUTS_DELETE, SQL_TEXT_NUMBER_OPTOUTS_DELETE) \
	X(SQL_EVENT_INSERT, SQL_TEXT_EVENT_INSERT) \
	X(SQL_OPTOUT_DELETE, SQL_TEXT_OPTOUT_DELETE) \
	X(SQL_INTERACTION_INSERT, SQL_TEXT_INTERACTION_INSERT) \
	X(SQL_INTERACTION_BY_SID, SQL_TEXT_INTERACTION_BY_SID) \
	X(SQL_SESSION_TOUCH, SQL_TEXT_SESSION_ACTIVITY) \
	X(SQL_TX_POOL_FREE, SQL_TEXT_POOL_FREE) \
	X(SQL_TX_POOL_COOLING, SQL_TEXT_POOL_COOLING) \
	X(SQL_TX_POOL_COUNT, SQL_TEXT_POOL_COUNT) \
	X(SQL_TX_HOLDS, SQL_TEXT_HOLDS) \
	X(SQL_TX_HOLDER, SQL_TEXT_HOLDER) \
	X(SQL_TX_BINDING_DROP, SQL_TEXT_BINDING_DROP) \
	X(SQL_TX_NUMBER_BY_ID, SQL_TEXT_NUMBER_BY_ID) \
	X(SQL_TX_NUMBER_BY_E164, SQL_TEXT_NUMBER_BY_E164) \
	X(SQL_TX_PARTICIPANT_INSERT, SQL_TEXT_PARTICIPANT_INSERT) \
	X(SQL_TX_PARTICIPANT_MOVE, SQL_TEXT_PARTICIPANT_MOVE) \
	X(SQL_TX_PEER_SET, SQL_TEXT_PEER_SET) \
	X(SQL_TX_PARTICIPANT_DETACH, SQL_TEXT_PARTICIPANT_DETACH) \
	X(SQL_TX_PARTICIPANTS_COMPACT, SQL_TEXT_PARTICIPANTS_COMPACT) \
	X(SQL_TX_NUMBER_COUNT, SQL_TEXT_NUMBER_COUNT) \
	X(SQL_TX_NUMBER_UNCOUNT, SQL_TEXT_NUMBER_UNCOUNT) \
	X(SQL_TX_NUMBER_EXISTS, SQL_TEXT_NUMBER_EXISTS) \
	X(SQL_TX_UNIQUE_NAME, SQL_TEXT_UNIQUE_NAME) \
	X(SQL_TX_SESSION_BIDX, SQL_TEXT_SESSION_BIDX) \
	X(SQL_TX_PIN_TAKEN, SQL_TEXT_PIN_TAKEN) \
	X(SQL_TX_SESSION_INSERT, SQL_TEXT_SESSION_INSERT) \
	X(SQL_TX_SESSION_TOUCH, SQL_TEXT_SESSION_TOUCH) \
	X(SQL_KEY_BY_HASH, SQL_TEXT_KEY_BY_HASH) \
	X(SQL_KEY_GET, SQL_TEXT_KEY_GET) \
	X(SQL_KEY_LIST, SQL_TEXT_KEY_LIST) \
	X(SQL_KEY_TOUCH, SQL_TEXT_KEY_TOUCH) \
	X(SQL_KEY_INSERT, SQL_TEXT_KEY_INSERT) \
	X(SQL_KEY_UPDATE, SQL_TEXT_KEY_UPDATE) \
	X(SQL_AUDIT_TAIL, SQL_TEXT_AUDIT_TAIL) \
	X(SQL_AUDIT_INSERT, SQL_TEXT_AUDIT_INSERT) \
	X(SQL_AUDIT_LIST, SQL_TEXT_AUDIT_LIST) \
	X(SQL_PARTICIPANT_OWNER, SQL_TEXT_PARTICIPANT_OWNER) \
	X(SQL_SUBJECT_FIND, SQL_TEXT_SUBJECT_FIND) \
	X(SQL_SUBJECT_OPTOUTS, SQL_TEXT_SUBJECT_OPTOUTS) \
	X(SQL_SUBJECT_PEERS, SQL_TEXT_SUBJECT_PEERS) \
	X(SQL_SUBJECT_OPTOUTS_DELETE, SQL_TEXT_SUBJECT_OPTOUTS_DELETE) \
	X(SQL_EVENT_TARGET, SQL_TEXT_EVENT_TARGET) \
	X(SQL_SERVICE_EVENT_INSERT, SQL_TEXT_SERVICE_EVENT_INSERT) \
	X(SQL_SERVICE_EVENT_LIST, SQL_TEXT_SERVICE_EVENT_LIST) \
	X(SQL_PROXY_SESSION_PUT, SQL_TEXT_PROXY_SESSION_PUT) \
	X(SQL_PROXY_SESSION_GET, SQL_TEXT_PROXY_SESSION_GET) \
	X(SQL_PROXY_SESSION_DELETE, SQL_TEXT_PROXY_SESSION_DELETE) \
	X(SQL_PROXY_SESSIONS_DROP, SQL_TEXT_PROXY_SESSIONS_DROP) \
	X(SQL_INTERACTION_LEGS_DELETE, SQL_TEXT_INTERACTION_LEGS_DELETE) \
	X(SQL_INTERACTION_DELETE, SQL_TEXT_INTERACTION_DELETE) \
	X(SQL_ENDED_MARK_PUT, SQL_TEXT_ENDED_MARK_PUT) \
	X(SQL_ENDED_MARK_FIND, SQL_TEXT_ENDED_MARK_FIND) \
	X(SQL_ENDED_MARKS_EXPIRE, SQL_TEXT_ENDED_MARKS_EXPIRE) \
	X(SQL_ENDED_MARKS_ERASE, SQL_TEXT_ENDED_MARKS_ERASE) \
	X(SQL_PROFILE_INSERT, SQL_TEXT_PROFILE_INSERT) \
	X(SQL_PROFILE_GET, SQL_TEXT_PROFILE_GET) \
	X(SQL_PROFILE_LIST, SQL_TEXT_PROFILE_LIST) \
	X(SQL_PROFILE_PUT, SQL_TEXT_PROFILE_PUT) \
	X(SQL_PROFILE_RENUMBER, SQL_TEXT_PROFILE_RENUMBER) \
	X(SQL_PROFILE_ROWS, SQL_TEXT_PROFILE_ROWS) \
	X(SQL_PROFILE_ROWS_TAKEN, SQL_TEXT_PROFILE_ROWS_TAKEN) \
	X(SQL_PROFILE_ROW_SET, SQL_TEXT_PROFILE_ROW_SET) \
	X(SQL_PROFILE_PEERS_SET, SQL_TEXT_PROFILE_PEERS_SET) \
	X(SQL_PROFILES_FREE_NUMBERS, SQL_TEXT_PROFILES_FREE_NUMBERS) \
	X(SQL_PROFILES_FREE, SQL_TEXT_PROFILES_FREE) \
	X(SQL_TX_NUMBER_STATE, SQL_TEXT_NUMBER_STATE) \
	X(SQL_SUBJECT_PROFILES, SQL_TEXT_SUBJECT_PROFILES) \
	X(SQL_POOL_ALERT_SET, SQL_TEXT_POOL_ALERT_SET) \
	X(SQL_POOL_ALERT_CLEAR, SQL_TEXT_POOL_ALERT_CLEAR) \
	X(SQL_ONEWAY_MARK_SESSION, SQL_TEXT_ONEWAY_MARK_SESSION) \
	X(SQL_ONEWAY_MARK_PARTS, SQL_TEXT_ONEWAY_MARK_PARTS) \
	X(SQL_ONEWAY_CANDIDATES, SQL_TEXT_ONEWAY_CANDIDATES) \
	X(SQL_ONEWAY_ON_NUMBER, SQL_TEXT_ONEWAY_ON_NUMBER) \
	X(SQL_ONEWAY_VIEW, SQL_TEXT_ONEWAY_VIEW)
#define SQL_SHARED_ID(id, text) id,

/* The statements both backends run with a text of their own (row-locking clauses,
 * casts, tie-breaks, limits): each backend's enum sql_id lists these ids
 * (SQL_BACKEND_ID) and its table gives each one its text. */
#define SQL_BACKEND_STATEMENTS(X) \
	X(SQL_SERVICE_LIST) \
	X(SQL_SERVICE_UPDATE) \
	X(SQL_NUMBER_LIST) \
	X(SQL_SESSION_LIST) \
	X(SQL_LC_SESSION_LOCK) \
	X(SQL_LC_PARTS) \
	X(SQL_EXPIRE_DUE) \
	X(SQL_PARTICIPANT_NUMBER) \
	X(SQL_STATS) \
	X(SQL_STICKY) \
	X(SQL_EVENTS_OF) \
	X(SQL_PIN_LOOKUP) \
	X(SQL_OPTOUT_ADD) \
	X(SQL_POOL_STATS) \
	X(SQL_PURGE_DUE) \
	X(SQL_NUMBERS_PURGE) \
	X(SQL_AUDIT_LOCK) \
	X(SQL_SUBJECT_WIPE) \
	X(SQL_SUBJECT_PROFILES_WIPE)
#define SQL_BACKEND_ID(id) id,
#define SQL_SHARED_TEXT(id, text) [id] = text,

/* ---------------------------------------------------------------- the outbox */
/* The columns of struct outbox_item in read order (sq/pg outbox.c), with a table prefix. */
#define OUTBOX_COLS_OF(p) \
	p "seq, " p "id, " p "dedup_key, " p "kind, " p "service_id, " p "destination, " p "order_key, " \
	p "interaction_id, " p "dialect, " p "url, " p "status, " p "tries, " p "next_at, " p "created_at, " \
	p "done_at, " p "last_error"
#define OUTBOX_COLS OUTBOX_COLS_OF("")
/* The seq of the messages due at NOW, first first: pending with next_at <= NOW or
 * sending with the lease run out; the oldest unsent of their order_key; of a
 * destination with fewer than CAP messages being sent under a live lease. */
#define OUTBOX_SQL_DUE(NOW, CAP) \
	"SELECT o.seq FROM outbox o WHERE o.status < 2 AND o.next_at <= " NOW " " \
	"AND (o.status = 0 OR o.lease_until <= " NOW ") " \
	"AND (o.order_key = '' OR NOT EXISTS (SELECT 1 FROM outbox p WHERE p.order_key = o.order_key " \
	"AND p.status < 2 AND p.seq < o.seq)) " \
	"AND (SELECT COUNT(*) FROM outbox q WHERE q.status = 1 AND q.destination = o.destination " \
	"AND q.lease_until > " NOW ") < " CAP " ORDER BY o.next_at, o.seq"
/* Per destination with unsent or failed rows (index outbox_unsent): unsent, failed,
 * the created_at of its oldest unsent (NULL when none). */
#define OUTBOX_SQL_STATS \
	"SELECT destination, SUM(CASE WHEN status < 2 THEN 1 ELSE 0 END), SUM(CASE WHEN status = 3 THEN 1 ELSE 0 END), " \
	"MIN(CASE WHEN status < 2 THEN created_at END) FROM outbox WHERE status <> 2 GROUP BY destination"

/* ---- the blind-index rotation (store_index_sweep, store_index_stale; ended
 * marks of purged rows are not counted: they expire, and one that stops matching
 * loses only the courtesy message, docs/PRIVACY.md): $1 is
 * the current version's prefix ("N." for N >= 2, "" for version 1, whose
 * indexes are the bare 32 hex). A row is stale when it holds a live index
 * (neither "" nor "purged:...") that is not the current version's. */
#define SQL_BIDX_STALE(col)                                                                                  \
	"(" col " <> '' AND substr(" col ", 1, 7) <> 'purged:' AND CASE WHEN $1 = '' THEN length(" col ") <> 32 " \
	"ELSE substr(" col ", 1, length($1)) <> $1 END)"
#define SQL_TEXT_REINDEX_PARTICIPANTS "SELECT id, number_sealed, bidx, session_id FROM participants " \
	"WHERE id > $2 AND length(number_sealed) > 0 AND " SQL_BIDX_STALE("bidx") " ORDER BY id LIMIT $3"
#define SQL_TEXT_REINDEX_PROFILES "SELECT id, number_sealed, bidx, '' FROM profiles " \
	"WHERE id > $2 AND length(number_sealed) > 0 AND " SQL_BIDX_STALE("bidx") " ORDER BY id LIMIT $3"
#define SQL_TEXT_REINDEX_PARTICIPANT_SET "UPDATE participants SET bidx = $2 WHERE id = $1 AND bidx = $3"
#define SQL_TEXT_REINDEX_PEERS_SET "UPDATE participants SET peer_bidx = $2 WHERE session_id = $1 AND peer_bidx = $3"
#define SQL_TEXT_REINDEX_PROFILE_SET "UPDATE profiles SET bidx = $2 WHERE id = $1 AND bidx = $3"
#define SQL_TEXT_REINDEX_MOVE "INSERT INTO bidx_moves (old, new) VALUES ($1, $2) ON CONFLICT (old) DO NOTHING"
/* the end of a pass: opt-outs and ended marks follow the moves, then the moves go */
#define SQL_REINDEX_FINISH_STEPS 5
#define SQL_REINDEX_FINISH                                                                                   \
	{"INSERT INTO optouts (bidx, number_id, service_id, created_at) SELECT m.new, x.number_id, x.service_id, " \
	 "x.created_at FROM optouts x JOIN bidx_moves m ON m.old = x.bidx WHERE 1 = 1 "                           \
	 "ON CONFLICT (bidx, number_id) DO NOTHING",                                                              \
	 "DELETE FROM optouts WHERE bidx IN (SELECT old FROM bidx_moves)",                                         \
	 "INSERT INTO ended_marks (bidx, number_id, ended_at) SELECT m.new, x.number_id, x.ended_at "              \
	 "FROM ended_marks x JOIN bidx_moves m ON m.old = x.bidx WHERE 1 = 1 "                                    \
	 "ON CONFLICT (bidx, number_id) DO NOTHING",                                                              \
	 "DELETE FROM ended_marks WHERE bidx IN (SELECT old FROM bidx_moves)", "DELETE FROM bidx_moves"}
#define SQL_TEXT_REINDEX_STALE                                                                               \
	"SELECT (SELECT count(*) FROM participants WHERE " SQL_BIDX_STALE("bidx") ") + (SELECT count(*) FROM "   \
	"profiles WHERE " SQL_BIDX_STALE("bidx") ") + (SELECT count(*) FROM optouts WHERE " SQL_BIDX_STALE("bidx") ")"

#endif
