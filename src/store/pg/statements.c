/* SPDX-License-Identifier: MIT */
/* statements.c - the text of every statement of the PostgreSQL backend, indexed by
 * enum sql_id (pg_internal.h); shared texts come from ../sql_shared.h. */
#include "pg_internal.h"

/* SQL_LEG_UPSERT: the update reports a status ($5) that is not an end ($8 = 0) for a leg that has ended */
#define PG_LEG_LATE "(l.ended_at <> 0 AND $8::bigint = 0 AND $5::text IS NOT NULL)"

const char *const pg_sql_text[SQL_COUNT] = {
	[SQL_SERVICE_LIST] = "SELECT id FROM services ORDER BY created_at, id LIMIT 256",
	/* SQL_SERVICE_INSERT's columns but created_at, in its order */
	[SQL_SERVICE_UPDATE] =
		"UPDATE services SET name = $2, mode = $3, ttl = $4, unknown_caller_message = $5, record = $6, "
		"time_limit = $7, ring_timeout = $8, consent_message = $9, geo_match = $10, geo_match_strict = $11, "
		"number_selection = $12, cooloff = $13, cooloff_reuse = $14, number_cap = $15, unknown_caller = $16, "
		"fallback_number = $17, pin_number = $18, pin_length = $19, pin_attempts = $20, callback_url = $21, "
		"callback_timeout_ms = $22, callback_fail_open = $23, ended_message = $24, help_text = $25, "
		"rate_calls = $26, rate_texts = $27, rate_silent = $28, mms_fallback = $29, events_url = $30, "
		"pool_low_threshold = $31, branded_number = $32, callback_window = $33, intercept_url = $34, "
		"intercept_timeout_ms = $35, intercept_fail_open = $36, events_pull_off = $37 WHERE id = $1",
	/* the cooling counts of the whole pool in one pass over participants_cooling */
	[SQL_NUMBER_LIST] = "SELECT " NUMBER_COLS ", COALESCE(k.cooling, 0) FROM numbers n LEFT JOIN "
			    "(SELECT c.proxy_number_id, COUNT(*) AS cooling FROM participants c JOIN numbers cn ON "
			    "cn.id = c.proxy_number_id WHERE cn.service_id = $1 AND c.active = 1 AND c.held_until IS NOT NULL "
			    "GROUP BY c.proxy_number_id) k ON k.proxy_number_id = n.id WHERE n.service_id = $1 "
			    "ORDER BY n.created_at, n.id",
	/* The number this real number had in its latest session with that other one. */
	[SQL_STICKY] = "SELECT p.proxy_number_id FROM participants p JOIN sessions s ON s.id = p.session_id "
		       "WHERE p.bidx IN ($1, $4) AND p.peer_bidx IN ($2, $5) AND s.service_id = $3 "
		       "ORDER BY p.created_at DESC, p.id DESC LIMIT 1",
	/* Row locks in id order (COLLATE "C" = strcmp order): every writer of in_use
	 * takes its number rows this way and last, so writers queue, never deadlock. */
	[SQL_NUMBERS_LOCK] = "SELECT id FROM numbers WHERE id = ANY ($1::text[]) ORDER BY id FOR NO KEY UPDATE",
	[SQL_NUMBERS_ADD] = "UPDATE numbers n SET in_use = GREATEST(n.in_use + d.delta, 0) "
			    "FROM unnest($1::text[], $2::bigint[]) AS d(id, delta) WHERE n.id = d.id "
			    "RETURNING n.id",
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
	[SQL_LC_BINDINGS_HOLD] = LC_SQL_BINDINGS_HOLD,
	/* NO KEY UPDATE: waits for other writers of the row, not for inserts whose
	 * foreign keys point at it. */
	[SQL_SESSION_TIMES_LOCK] = "SELECT status, ttl, expires_at, last_activity_at FROM sessions WHERE id = $1 "
				   "FOR NO KEY UPDATE",
	/* Every node sweeps; SKIP LOCKED hands each due session to exactly one. */
	[SQL_EXPIRE_DUE] = LC_SQL_SESSIONS_DUE " FOR NO KEY UPDATE SKIP LOCKED",
	/* The leg's proxy number and country come from the participant on its real end:
	 * the caller for leg 'a', the callee for leg 'b'. No row = no such interaction.
	 * The SQLite backend's find-then-insert-or-update (SQL_LEG_FIND, SQL_LEG_SET,
	 * insert_leg) as one statement, so parallel status callbacks for the same leg
	 * cannot both insert: a reported field ($5, $10-$13 not NULL, $6 >= 0)
	 * overwrites, answered_at and ended_at are set once; a status that is not an end,
	 * reported after the leg ended, is late (PG_LEG_LATE) and changes neither status,
	 * duration nor answer. The derived leg 'a' keeps
	 * its id, start and "received" (SQL_DERIVED_A_COLS). */
	[SQL_LEG_UPSERT] =
		"INSERT INTO legs AS l (id, interaction_id, leg, carrier_sid, status, duration, started_at, ended_at, "
		"service_id, session_id, proxy_number, other_country, answered_at, recording_id, recording_url, cost, "
		"currency) SELECT CASE WHEN " SQL_IS_DERIVED_A("$3::text", "$4::text") " THEN 'leg_' || substr(i.id, 5) "
		"ELSE $1::text END, i.id, $3::text, $4::text, COALESCE($5::text, CASE WHEN "
		SQL_IS_DERIVED_A("$3::text", "$4::text") " THEN 'received' ELSE 'unknown' END), $6::bigint, "
		"CASE WHEN " SQL_IS_DERIVED_A("$3::text", "$4::text") " THEN i.created_at ELSE $7::bigint END, "
		"$8::bigint, "
		"i.service_id, i.session_id, p.proxy_e164, p.country, $9::bigint, COALESCE($10::text, ''), "
		"COALESCE($11::text, ''), COALESCE($12::text, ''), COALESCE($13::text, '') FROM interactions i "
		"JOIN participants p ON p.id = CASE WHEN $3::text = 'a' THEN i.from_participant ELSE i.to_participant END "
		"WHERE i.id = $2 ON CONFLICT (interaction_id, leg, carrier_sid) DO UPDATE SET "
		"status = CASE WHEN " PG_LEG_LATE " THEN l.status ELSE COALESCE($5::text, l.status) END, "
		"duration = CASE WHEN $6::bigint >= 0 AND NOT " PG_LEG_LATE " THEN $6::bigint ELSE l.duration END, "
		"answered_at = CASE WHEN l.answered_at = 0 AND NOT " PG_LEG_LATE " THEN $9::bigint ELSE l.answered_at END, "
		"ended_at = CASE WHEN l.ended_at = 0 THEN $8::bigint ELSE l.ended_at END, "
		"recording_id = COALESCE($10::text, l.recording_id), recording_url = COALESCE($11::text, l.recording_url), "
		"cost = COALESCE($12::text, l.cost), currency = COALESCE($13::text, l.currency)",
	/* a purged number (empty bytea, store_tx_session_purge) is not found */
	[SQL_PARTICIPANT_NUMBER] = "SELECT number_sealed FROM participants WHERE id = $1 AND number_sealed <> ''::bytea",
	[SQL_STATS] = "SELECT (SELECT COUNT(*) FROM services), (SELECT COUNT(*) FROM numbers), "
		      "(SELECT COUNT(*) FROM numbers WHERE state = $1), (SELECT COUNT(*) FROM sessions WHERE " SQL_LIVE "), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1 AND held_until IS NULL), "
		      "(SELECT COUNT(*) FROM participants WHERE active = 1 AND held_until IS NOT NULL), "
		      "(SELECT COUNT(*) FROM interactions)",
	/* number delete: FOR UPDATE waits for, and then stops, sessions binding it */
	[SQL_NUMBER_LOCK] = "SELECT in_use FROM numbers WHERE id = $1 FOR UPDATE",
	/* NO KEY UPDATE: serialises the writers of one session (close, re-open, swap, add) */
	/* re-open: a binding still cooling off is kept... */
	[SQL_PARTICIPANT_KEEP] = LC_SQL_BINDING_KEEP,
	/* ...a released one is taken again: the unique index refuses it when this real
	 * number holds that proxy in another session now; 0 rows = the number is gone */
	[SQL_PARTICIPANT_RETAKE] = LC_SQL_BINDING_TAKE,
	/* Every node sweeps; SKIP LOCKED hands each due binding to exactly one. */
	/* ARRAY(...) runs the locking subquery once (a join could rescan it and
	 * lock more than $2). */
	/* store_tx_sessions_close: $1 the session ids, $2 held_until, $3 active,
	 * $4 the event ids, one of each per session */
	[SQL_CLOSE_SET_SESSIONS] = "UPDATE sessions SET status = $2, closed_at = $3, updated_at = $3, deadline = NULL "
				   "WHERE id = ANY ($1::text[])",
	[SQL_CLOSE_SET_BINDINGS] = "UPDATE participants p SET held_until = j.h, active = j.a "
				   "FROM unnest($1::text[], $2::bigint[], $3::int[]) AS j(sid, h, a) "
				   "WHERE p.session_id = j.sid AND p.active = 1 AND p.idx >= 0",
	[SQL_CLOSE_SET_EVENTS] = "INSERT INTO session_events (id, session_id, kind, participant_id, detail, created_at) "
				 "SELECT j.eid, j.sid, $3, '', $4, $5 FROM unnest($1::text[], $2::text[]) AS j(sid, eid)",
	[SQL_COOLING_DUE] = "UPDATE participants SET active = 0 WHERE id = ANY (ARRAY(SELECT id FROM participants "
			    "WHERE active = 1 AND held_until IS NOT NULL AND held_until <= $1 ORDER BY held_until "
			    "LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED)) AND active = 1",
	/* Within one second, the older transaction first: a session's writers are
	 * serialised by its row lock, so their transaction ids grow (age() is
	 * wraparound-safe). */
	[SQL_EVENTS_OF] = "SELECT id, session_id, kind, participant_id, detail, created_at FROM session_events "
			  "WHERE session_id = $1 ORDER BY created_at, age(xmin) DESC, id",
	[SQL_PIN_LOOKUP] = "SELECT " ROUTE_COLS " FROM sessions s JOIN participants p ON p.session_id = s.id AND p.bidx = $3 "
			   "AND p.idx >= 0 LEFT JOIN participants o ON o.session_id = s.id AND o.id <> p.id AND o.idx >= 0 "
			   "WHERE s.service_id = $1 AND s.pin = $2 AND s." SQL_LIVE " LIMIT 1",
	[SQL_OPTOUT_ADD] = "INSERT INTO optouts (bidx, number_id, service_id, created_at) VALUES ($1, $2, $3, $4) "
			   "ON CONFLICT DO NOTHING",
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
	/* one appender of the audit log at a time, across nodes (plain reads go on) */
	[SQL_AUDIT_LOCK] = "LOCK TABLE audit_log IN EXCLUSIVE MODE",
	/* erasure: as the retention purge, for every row of one blind index, open or not */
	[SQL_SUBJECT_WIPE] = "UPDATE participants SET number_sealed = ''::bytea, bidx = 'purged:' || id, "
			     "masked = 'erased', active = 0, held_until = NULL WHERE bidx = $1",
	/* erasure of the profiles of one blind index (the flow retired them first) */
	[SQL_SUBJECT_PROFILES_WIPE] = "UPDATE profiles SET number_sealed = ''::bytea, bidx = 'purged:' || id, "
				      "masked = 'erased' WHERE bidx = $1",
	/* the row primitives of bind, create, add and swap: texts shared with the SQLite backend (sql_shared.h) */
	/* the outbox (outbox.c); OUTBOX_COLS is sql_shared.h's. The claim locks its
	 * row and skips rows other nodes are claiming: no message is claimed twice */
	[SQL_OUTBOX_PUT] = "INSERT INTO outbox (id, dedup_key, kind, service_id, destination, order_key, interaction_id, "
			   "dialect, url, payload, next_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
			   "ON CONFLICT (dedup_key) DO NOTHING",
	[SQL_OUTBOX_CLAIM] = "WITH c AS (" OUTBOX_SQL_DUE("$1::bigint", "$4::bigint") " LIMIT 1 FOR UPDATE OF o SKIP LOCKED) "
			     "UPDATE outbox SET status = 1, tries = outbox.tries + 1, claim = $3, "
			     "lease_until = $1::bigint + $2::bigint FROM c WHERE outbox.seq = c.seq RETURNING "
			     OUTBOX_COLS_OF("outbox.") ", outbox.payload",
	[SQL_OUTBOX_SETTLE] = "UPDATE outbox SET status = $3::int, next_at = $4::bigint, last_error = $5, "
			      "done_at = CASE WHEN $3::int >= 2 THEN $6::bigint ELSE 0 END, claim = '', lease_until = 0 "
			      "WHERE id = $1 AND claim = $2 AND status = 1",
	[SQL_OUTBOX_HOLD] = "UPDATE outbox SET next_at = $2::bigint WHERE destination = $1 AND status = 0 AND next_at < $2::bigint",
	[SQL_OUTBOX_GET] = "SELECT " OUTBOX_COLS " FROM outbox WHERE id = $1",
	[SQL_OUTBOX_LIST] = "SELECT " OUTBOX_COLS " FROM outbox WHERE service_id = $1 AND ($2::int < 0 OR status = $2::int) "
			    "AND seq > $3::bigint ORDER BY seq LIMIT $4::bigint",
	[SQL_OUTBOX_REQUEUE] = "UPDATE outbox SET status = 0, tries = 0, next_at = $2::bigint, done_at = 0 WHERE id = $1 AND status = 3",
	[SQL_OUTBOX_STATS] = OUTBOX_SQL_STATS,
	[SQL_OUTBOX_RECOVER] = "SELECT 1 WHERE false", /* unused: other nodes' claims end with their leases */
	/* held to the commit: a service's events commit in seq order, so a pull cursor
	 * never passes an event that commits later with a lower seq */
	[SQL_EVENT_LOCK] = "SELECT pg_advisory_xact_lock(hashtext('service_events:' || $1))",
	SQL_SHARED_STATEMENTS(SQL_SHARED_TEXT)
};
