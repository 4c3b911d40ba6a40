/* SPDX-License-Identifier: MIT */
/* statements.c - the text of every statement of the SQLite backend, indexed by enum
 * sql_id (sqlite_internal.h); shared texts come from ../sql_shared.h. */
#include "sqlite_internal.h"

/* SQL_LEG_SET: the update reports a status (?2) that is not an end (?5 = 0) for a leg that has ended */
#define SQ_LEG_LATE "(ended_at <> 0 AND ?5 = 0 AND ?2 IS NOT NULL)"

const char *const sq_sql_text[SQL_COUNT] = {
	[SQL_BEGIN] = "BEGIN IMMEDIATE",
	[SQL_COMMIT] = "COMMIT",
	[SQL_ROLLBACK] = "ROLLBACK",
	[SQL_SERVICE_LIST] = "SELECT id FROM services ORDER BY created_at, id",
	/* the parameters of SQL_SERVICE_INSERT (?6, created_at, is not changed) */
	[SQL_SERVICE_UPDATE] =
		"UPDATE services SET name = ?2, mode = ?3, ttl = ?4, unknown_caller_message = ?5, record = ?7, "
		"time_limit = ?8, ring_timeout = ?9, consent_message = ?10, geo_match = ?11, geo_match_strict = ?12, "
		"number_selection = ?13, cooloff = ?14, cooloff_reuse = ?15, number_cap = ?16, unknown_caller = ?17, "
		"fallback_number = ?18, pin_number = ?19, pin_length = ?20, pin_attempts = ?21, callback_url = ?22, "
		"callback_timeout_ms = ?23, callback_fail_open = ?24, ended_message = ?25, help_text = ?26, "
		"rate_calls = ?27, rate_texts = ?28, rate_silent = ?29, mms_fallback = ?30, events_url = ?31, "
		"pool_low_threshold = ?32, branded_number = ?33, callback_window = ?34, intercept_url = ?35, "
		"intercept_timeout_ms = ?36, intercept_fail_open = ?37, events_pull_off = ?38 WHERE id = ?1",
	[SQL_NUMBER_LIST] = "SELECT " NUMBER_COLS ", " NUMBER_COOLING " FROM numbers n WHERE n.service_id = ?1 "
			    "ORDER BY n.created_at, n.id",
	[SQL_NUMBER_IN_USE] = "SELECT in_use FROM numbers WHERE id = ?1",
	[SQL_SESSION_LIST] =
		"SELECT " SESSION_COLS " FROM sessions WHERE service_id = ?1 AND (?2 < 0 OR status = ?2) "
		"AND (?3 IS NULL OR unique_name = ?3) AND (?4 IS NULL OR (created_at, id) > "
		"(SELECT created_at, id FROM sessions WHERE id = ?4)) ORDER BY created_at, id LIMIT ?5",
	[SQL_SESSION_TIMES] = "SELECT status, ttl, expires_at, last_activity_at FROM sessions WHERE id = ?1",
	/* the lifecycle primitives (store_tx_* in store.h); status values are bound */
	[SQL_LC_SESSION_LOCK] = LC_SQL_SESSION_LOCK,
	[SQL_LC_PARTS] = LC_SQL_PARTS,
	[SQL_LC_BINDING_KEEP] = LC_SQL_BINDING_KEEP,
	[SQL_LC_IN_USE_ADD] = "UPDATE numbers SET in_use = MAX(in_use + ?2, 0) WHERE id = ?1",
	[SQL_EXPIRE_DUE] = LC_SQL_SESSIONS_DUE,
	/* the leg's proxy number and country come from the participant on its real end:
	 * the caller for leg 'a', the callee for leg 'b'; the derived leg 'a' keeps its
	 * id, start and "received" (SQL_DERIVED_A_COLS) */
	[SQL_LEG_INSERT] =
		"INSERT INTO legs (id, interaction_id, leg, carrier_sid, status, duration, started_at, ended_at, service_id, "
		"session_id, proxy_number, other_country, answered_at, recording_id, recording_url, cost, currency) "
		"SELECT CASE WHEN " SQL_IS_DERIVED_A("?3", "?4") " THEN 'leg_' || substr(i.id, 5) ELSE ?1 END, i.id, ?3, ?4, "
		"COALESCE(?5, CASE WHEN " SQL_IS_DERIVED_A("?3", "?4") " THEN 'received' ELSE 'unknown' END), ?6, "
		"CASE WHEN " SQL_IS_DERIVED_A("?3", "?4") " THEN i.created_at ELSE ?7 END, ?8, i.service_id, i.session_id, "
		"p.proxy_e164, p.country, ?9, ?10, "
		"?11, ?12, ?13 FROM interactions i JOIN participants p ON p.id = CASE WHEN ?3 = 'a' THEN "
		"i.from_participant ELSE i.to_participant END WHERE i.id = ?2",
	[SQL_LEG_FIND] = "SELECT id FROM legs WHERE interaction_id = ?1 AND leg = ?2 AND carrier_sid = ?3",
	/* a status that is not an end, reported after the leg ended (?5 = 0, ended_at set),
	 * is late (model.h leg_status_stale): it changes neither status, duration nor answer */
	[SQL_LEG_SET] = "UPDATE legs SET status = CASE WHEN " SQ_LEG_LATE " THEN status ELSE COALESCE(?2, status) END, "
			"duration = CASE WHEN ?3 >= 0 AND NOT " SQ_LEG_LATE " THEN ?3 ELSE duration END, "
			"answered_at = CASE WHEN answered_at = 0 AND NOT " SQ_LEG_LATE " THEN ?4 ELSE answered_at END, "
			"ended_at = CASE WHEN ended_at = 0 THEN ?5 ELSE ended_at END, "
			"recording_id = COALESCE(?6, recording_id), recording_url = COALESCE(?7, recording_url), "
			"cost = COALESCE(?8, cost), currency = COALESCE(?9, currency) WHERE id = ?1",
	/* a purged number (empty blob, store_tx_session_purge) is not found */
	[SQL_PARTICIPANT_NUMBER] = "SELECT number_sealed FROM participants WHERE id = ?1 AND number_sealed <> x''",
	/* bindings_active = held (bindings index) minus cooling (participants_cooling) */
	[SQL_STATS] = "SELECT (SELECT COUNT(*) FROM services), (SELECT COUNT(*) FROM numbers), "
		      "(SELECT COUNT(*) FROM numbers WHERE state = ?1), (SELECT COUNT(*) FROM sessions WHERE " SQL_LIVE "), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1 AND held_until IS NOT NULL), "
		      "(SELECT COUNT(*) FROM interactions)",
	/* the pair's most recent participant row in this service (participants_sticky),
	 * each number under either index version (?4, ?5: the previous ones) */
	[SQL_STICKY] = "SELECT p.proxy_number_id FROM participants p JOIN numbers n ON n.id = p.proxy_number_id "
		       "WHERE p.bidx IN (?1, ?4) AND p.peer_bidx IN (?2, ?5) AND n.service_id = ?3 "
		       "ORDER BY p.created_at DESC, p.rowid DESC LIMIT 1",
	[SQL_BINDINGS_COOL] = LC_SQL_BINDINGS_HOLD,
	[SQL_BINDINGS_RELEASE_DUE] =
		"UPDATE participants SET active = 0 WHERE rowid IN (SELECT rowid FROM participants "
		"WHERE active = 1 AND held_until IS NOT NULL AND held_until <= ?1 ORDER BY held_until LIMIT ?2)",
	[SQL_BINDING_TAKE] = LC_SQL_BINDING_TAKE,
	/* store_tx_sessions_close: ?1 is a JSON array of [session id, held_until,
	 * active, event id], one per session */
	[SQL_CLOSE_SET_SESSIONS] = "UPDATE sessions SET status = ?2, closed_at = ?3, updated_at = ?3, deadline = NULL "
				   "WHERE id IN (SELECT json_extract(value, '$[0]') FROM json_each(?1))",
	[SQL_CLOSE_SET_BINDINGS] = "UPDATE participants SET held_until = j.h, active = j.a FROM (SELECT "
				   "json_extract(value, '$[0]') AS sid, json_extract(value, '$[1]') AS h, "
				   "json_extract(value, '$[2]') AS a FROM json_each(?1)) AS j "
				   "WHERE participants.session_id = j.sid AND participants.active = 1 AND participants.idx >= 0",
	[SQL_CLOSE_SET_EVENTS] = "INSERT INTO session_events (id, session_id, kind, participant_id, detail, created_at) "
				 "SELECT json_extract(value, '$[3]'), json_extract(value, '$[0]'), ?2, '', ?3, ?4 "
				 "FROM json_each(?1)",
	[SQL_EVENTS_OF] = "SELECT id, session_id, kind, participant_id, detail, created_at FROM session_events "
			  "WHERE session_id = ?1 ORDER BY created_at, rowid",
	[SQL_PIN_LOOKUP] = "SELECT " ROUTE_COLS " FROM sessions s "
			   "JOIN participants p ON p.session_id = s.id AND p.bidx = ?3 AND p.idx >= 0 "
			   "LEFT JOIN participants o ON o.session_id = s.id AND o.id <> p.id AND o.idx >= 0 "
			   "WHERE s.service_id = ?1 AND s.pin = ?2 AND s." SQL_LIVE,
	[SQL_OPTOUT_ADD] = "INSERT INTO optouts (bidx, number_id, service_id, created_at) VALUES (?1, ?2, ?3, ?4) "
			   "ON CONFLICT (bidx, number_id) DO NOTHING",
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
	/* the audit log's appends are serialised by the transaction's write lock already */
	[SQL_AUDIT_LOCK] = "SELECT 1",
	/* erasure: as the retention purge, for every row of one blind index, open or not */
	[SQL_SUBJECT_WIPE] = "UPDATE participants SET number_sealed = x'', bidx = 'purged:' || id, masked = 'erased', "
			     "active = 0, held_until = NULL WHERE bidx = ?1",
	/* erasure of the profiles of one blind index (the flow retired them first) */
	[SQL_SUBJECT_PROFILES_WIPE] = "UPDATE profiles SET number_sealed = x'', bidx = 'purged:' || id, "
				      "masked = 'erased' WHERE bidx = ?1",
	/* the row primitives of bind, create, add and swap: texts shared with
	 * the PostgreSQL backend ($n, turned into ?n by sq_stmt()) */
	/* the outbox (outbox.c); OUTBOX_COLS is sql_shared.h's */
	[SQL_OUTBOX_PUT] = "INSERT INTO outbox (id, dedup_key, kind, service_id, destination, order_key, interaction_id, "
			   "dialect, url, payload, next_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
			   "ON CONFLICT (dedup_key) DO NOTHING",
	/* ?1 now, ?2 lease, ?3 claim, ?4 per-destination cap */
	[SQL_OUTBOX_CLAIM] = "UPDATE outbox SET status = 1, tries = tries + 1, claim = ?3, lease_until = ?1 + ?2 "
			     "WHERE seq = (" OUTBOX_SQL_DUE("?1", "?4") " LIMIT 1) RETURNING " OUTBOX_COLS ", payload",
	[SQL_OUTBOX_SETTLE] = "UPDATE outbox SET status = ?3, next_at = ?4, last_error = ?5, "
			      "done_at = CASE WHEN ?3 >= 2 THEN ?6 ELSE 0 END, claim = '', lease_until = 0 "
			      "WHERE id = ?1 AND claim = ?2 AND status = 1",
	[SQL_OUTBOX_HOLD] = "UPDATE outbox SET next_at = ?2 WHERE destination = ?1 AND status = 0 AND next_at < ?2",
	[SQL_OUTBOX_GET] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?1",
	[SQL_OUTBOX_LIST] = "SELECT " OUTBOX_COLS " FROM outbox WHERE service_id = ?1 AND (?2 < 0 OR status = ?2) "
			    "AND seq > ?3 ORDER BY seq LIMIT ?4",
	[SQL_OUTBOX_REQUEUE] = "UPDATE outbox SET status = 0, tries = 0, next_at = ?2, done_at = 0 WHERE id = ?1 AND status = 3",
	[SQL_OUTBOX_STATS] = OUTBOX_SQL_STATS,
	[SQL_OUTBOX_RECOVER] = "UPDATE outbox SET status = 0, claim = '', lease_until = 0, next_at = MIN(next_at, ?1) "
			       "WHERE status = 1",
	SQL_SHARED_STATEMENTS(SQL_SHARED_TEXT)
};
