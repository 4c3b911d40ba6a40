/* SPDX-License-Identifier: MIT */
/* sql_lifecycle.h - the SQL of the session lifecycle primitives (store_tx_* in
 * store.h) that SQLite and PostgreSQL both accept, written once. A backend defines
 * LC_P(n), its placeholder for parameter n ("?" #n or "$" #n), before it uses a
 * macro, and appends its own row-locking clause where it has one (PostgreSQL). No
 * rules: the values come from flow/lifecycle.c. Internal to store/. */
#ifndef MASKD_SQL_LIFECYCLE_H
#define MASKD_SQL_LIFECYCLE_H

#include "../core/model.h"

/* Open (SESSION_OPEN, SESSION_IN_PROGRESS) and ended sessions, spelled as the
 * partial indexes sessions_deadline, sessions_unique_name, sessions_pin and
 * sessions_purge spell them: the planner uses a partial index only when the query
 * repeats its predicate, which a bound parameter does not. Pinned to the enum. */
#define SQL_LIVE "status < 2"
#define SQL_ENDED "status >= 2"
_Static_assert(SESSION_OPEN < 2 && SESSION_IN_PROGRESS < 2 && SESSION_CLOSED == 2 && SESSION_FAILED > 2 &&
		       SESSION_BLOCKED > 2,
	       "SQL_LIVE and SQL_ENDED follow enum session_status");

/* store_tx_session_lock: the session with its service's cooloff, then its rows */
#define LC_SQL_SESSION_LOCK                                                                                     \
	"SELECT s.status, s.service_id, v.cooloff, s.unique_name, s.pin, s.ttl, s.expires_at, s.last_activity_at, " \
	"s.closed_at, s.updated_at, s.mode FROM sessions s JOIN services v ON v.id = s.service_id WHERE s.id = " LC_P(1)
#define LC_SQL_PARTS                                                                                            \
	"SELECT id, idx, proxy_number_id, active, CASE WHEN substr(bidx, 1, 7) = 'purged:' THEN 1 ELSE 0 END, "     \
	"bidx, peer_bidx, proxy_e164 "                                                                             \
	"FROM participants WHERE session_id = " LC_P(1) " ORDER BY idx"
#define LC_SQL_SESSION_PUT                                                                                      \
	"UPDATE sessions SET status = " LC_P(2) ", closed_at = " LC_P(3) ", ttl = " LC_P(4) ", expires_at = " LC_P(5) \
	", last_activity_at = " LC_P(6) ", updated_at = " LC_P(7) ", deadline = " LC_P(8) " WHERE id = " LC_P(1)
/* ?3 / ?4 NULL: not asked (a comparison with NULL is never true) */
#define LC_SQL_OPEN_TAKEN                                                                                       \
	"SELECT CASE WHEN EXISTS (SELECT 1 FROM sessions WHERE service_id = " LC_P(1) " AND id <> " LC_P(2)          \
	" AND unique_name = " LC_P(3) " AND " SQL_LIVE ") THEN 1 ELSE 0 END, CASE WHEN EXISTS (SELECT 1 FROM "       \
	"sessions WHERE service_id = " LC_P(1) " AND id <> " LC_P(2) " AND pin = " LC_P(4) " AND " SQL_LIVE          \
	") THEN 1 ELSE 0 END"
#define LC_SQL_BINDINGS_HOLD                                                                                    \
	"UPDATE participants SET held_until = " LC_P(2) ", active = " LC_P(3) " WHERE session_id = " LC_P(1)         \
	" AND active = 1"
/* re-open: a binding still cooling off is kept... */
#define LC_SQL_BINDING_KEEP "UPDATE participants SET held_until = NULL WHERE id = " LC_P(1) " AND active = 1"
/* ...a released one is taken again: the bindings index refuses it when the real
 * number holds that proxy elsewhere now; 0 rows when the number is gone or has
 * state ?2 (retired) */
#define LC_SQL_BINDING_TAKE                                                                                     \
	"UPDATE participants SET active = 1, held_until = NULL WHERE id = " LC_P(1) " AND active = 0 AND EXISTS "   \
	"(SELECT 1 FROM numbers WHERE numbers.id = participants.proxy_number_id AND numbers.state <> " LC_P(2) ")"
/* the due sessions, soonest first (index sessions_deadline) */
#define LC_SQL_SESSIONS_DUE                                                                                     \
	"SELECT id FROM sessions WHERE " SQL_LIVE " AND deadline IS NOT NULL AND deadline <= " LC_P(1)               \
	" ORDER BY deadline LIMIT " LC_P(2)
/* the closed sessions past retention whose bindings are all released (index
 * sessions_purge, a range on closed_at) */
#define LC_SQL_PURGE_DUE                                                                                        \
	"SELECT s.id FROM sessions s WHERE s." SQL_ENDED " AND s.purged_at = 0 AND s.closed_at > 0 AND "            \
	"s.closed_at < " LC_P(1) " AND NOT EXISTS (SELECT 1 FROM participants q WHERE q.session_id = s.id AND "     \
	"q.active = 1) ORDER BY s.closed_at LIMIT " LC_P(2)
#define LC_SQL_SESSION_PURGED "UPDATE sessions SET purged_at = " LC_P(2) " WHERE id = " LC_P(1)

#endif
