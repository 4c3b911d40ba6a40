/* SPDX-License-Identifier: MIT */
/* migrations_sql.h - the schema, one macro per migration, written once for both
 * backends: T is the text column type, B the blob type (SQLite "TEXT" and "BLOB";
 * PostgreSQL "TEXT COLLATE \"C\"", so that ids, numbers and names compare and sort
 * byte by byte as in SQLite, and "BYTEA"). Migration N is MIGRATION_N; never edit
 * one that has shipped, add the next. Internal to store/. */
#ifndef MASKD_MIGRATIONS_SQL_H
#define MASKD_MIGRATIONS_SQL_H

#include "../core/model.h" /* the default texts migration 2 gives existing services */

/* 1: the core schema */
/* numbers_pick covers the pool query's whole ORDER BY (id too), so that the first
 * few rows of the index answer it without a sort of the pool. */
#define MIGRATION_1(T, B) \
	"CREATE TABLE settings (key " T " PRIMARY KEY, value " T " NOT NULL);" \
	"CREATE TABLE services (" \
	"  id " T " PRIMARY KEY, name " T " NOT NULL, mode INTEGER NOT NULL, ttl BIGINT NOT NULL," \
	"  unknown_caller_message " T " NOT NULL, created_at BIGINT NOT NULL," \
	"  record INTEGER NOT NULL DEFAULT 0, time_limit INTEGER NOT NULL DEFAULT 0," \
	"  ring_timeout INTEGER NOT NULL DEFAULT 0, consent_message " T " NOT NULL DEFAULT '');" \
	"CREATE TABLE service_secrets (" \
	"  service_id " T " NOT NULL REFERENCES services(id), carrier " T " NOT NULL, sealed " B " NOT NULL," \
	"  PRIMARY KEY (service_id, carrier));" \
	"CREATE TABLE numbers (" \
	"  id " T " PRIMARY KEY, service_id " T " NOT NULL REFERENCES services(id), e164 " T " NOT NULL UNIQUE," \
	"  carrier INTEGER NOT NULL, caps INTEGER NOT NULL, country " T " NOT NULL, area_code " T " NOT NULL," \
	"  state INTEGER NOT NULL, in_use BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);" \
	"CREATE INDEX numbers_pick ON numbers (service_id, state, in_use, created_at, id);" \
	"CREATE TABLE sessions (" \
	"  id " T " PRIMARY KEY, service_id " T " NOT NULL REFERENCES services(id), unique_name " T "," \
	"  mode INTEGER NOT NULL, status INTEGER NOT NULL, ttl BIGINT NOT NULL, expires_at BIGINT NOT NULL," \
	"  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, last_activity_at BIGINT NOT NULL," \
	"  closed_at BIGINT NOT NULL, deadline BIGINT," \
	"  record INTEGER NOT NULL DEFAULT -1, time_limit INTEGER NOT NULL DEFAULT -1," \
	"  ring_timeout INTEGER NOT NULL DEFAULT -1, consent_message " T " NOT NULL DEFAULT '');" \
	"CREATE UNIQUE INDEX sessions_unique_name ON sessions (service_id, unique_name)" \
	"  WHERE status < 2 AND unique_name IS NOT NULL;" \
	"CREATE INDEX sessions_deadline ON sessions (deadline) WHERE status < 2 AND deadline IS NOT NULL;" \
	"CREATE INDEX sessions_service ON sessions (service_id, created_at, id);" \
	"CREATE TABLE participants (" \
	"  id " T " PRIMARY KEY, session_id " T " NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL," \
	"  label " T " NOT NULL, masked " T " NOT NULL, number_sealed " B " NOT NULL, bidx " T " NOT NULL," \
	"  proxy_number_id " T " NOT NULL, proxy_e164 " T " NOT NULL," \
	"  active INTEGER NOT NULL, country " T " NOT NULL DEFAULT '');" \
	"CREATE UNIQUE INDEX bindings ON participants (bidx, proxy_number_id) WHERE active = 1;" \
	"CREATE INDEX participants_session ON participants (session_id, idx);" \
	"CREATE TABLE interactions (" \
	"  id " T " PRIMARY KEY, session_id " T " NOT NULL REFERENCES sessions(id)," \
	"  service_id " T " NOT NULL REFERENCES services(id), channel INTEGER NOT NULL, carrier INTEGER NOT NULL," \
	"  carrier_sid " T " NOT NULL, decision INTEGER NOT NULL, from_participant " T " NOT NULL," \
	"  to_participant " T " NOT NULL, created_at BIGINT NOT NULL, UNIQUE (carrier, carrier_sid));" \
	"CREATE INDEX interactions_session ON interactions (session_id, created_at);" \
	"CREATE TABLE legs (" \
	"  id " T " PRIMARY KEY, interaction_id " T " NOT NULL REFERENCES interactions(id), leg " T " NOT NULL," \
	"  carrier_sid " T " NOT NULL, status " T " NOT NULL, duration BIGINT NOT NULL, started_at BIGINT NOT NULL," \
	"  ended_at BIGINT NOT NULL, service_id " T " NOT NULL, session_id " T " NOT NULL," \
	"  proxy_number " T " NOT NULL DEFAULT '', other_country " T " NOT NULL DEFAULT ''," \
	"  answered_at BIGINT NOT NULL DEFAULT 0, recording_id " T " NOT NULL DEFAULT ''," \
	"  recording_url " T " NOT NULL DEFAULT '', cost " T " NOT NULL DEFAULT '', currency " T " NOT NULL DEFAULT ''," \
	"  UNIQUE (interaction_id, leg, carrier_sid));" \
	"CREATE INDEX legs_service_started ON legs (service_id, started_at);"

/* 2: pool and session policy: geo-match, stickiness, cool-off, caps, unknown
* callers, PINs, opt-out state, rate limits, session events */
#define MIGRATION_2(T, B) \
	"ALTER TABLE services ADD COLUMN geo_match INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE services ADD COLUMN geo_match_strict INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE services ADD COLUMN number_selection INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE services ADD COLUMN cooloff BIGINT NOT NULL DEFAULT 86400;" \
	"ALTER TABLE services ADD COLUMN cooloff_reuse INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE services ADD COLUMN number_cap INTEGER NOT NULL DEFAULT 100;" \
	"ALTER TABLE services ADD COLUMN unknown_caller INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE services ADD COLUMN fallback_number " T " NOT NULL DEFAULT '';" \
	"ALTER TABLE services ADD COLUMN pin_number " T " NOT NULL DEFAULT '';" \
	"ALTER TABLE services ADD COLUMN pin_length INTEGER NOT NULL DEFAULT 6;" \
	"ALTER TABLE services ADD COLUMN pin_attempts INTEGER NOT NULL DEFAULT 3;" \
	"ALTER TABLE services ADD COLUMN callback_url " T " NOT NULL DEFAULT '';" \
	"ALTER TABLE services ADD COLUMN callback_timeout_ms INTEGER NOT NULL DEFAULT 2000;" \
	"ALTER TABLE services ADD COLUMN callback_fail_open INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE services ADD COLUMN ended_message " T " NOT NULL DEFAULT '" SERVICE_DEFAULT_ENDED_MESSAGE "';" \
	"ALTER TABLE services ADD COLUMN help_text " T " NOT NULL DEFAULT '" SERVICE_DEFAULT_HELP_TEXT "';" \
	"ALTER TABLE services ADD COLUMN rate_calls INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE services ADD COLUMN rate_texts INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE services ADD COLUMN rate_silent INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE numbers ADD COLUMN region " T " NOT NULL DEFAULT '';" \
	"ALTER TABLE sessions ADD COLUMN pin " T ";" \
	"ALTER TABLE participants ADD COLUMN peer_bidx " T " NOT NULL DEFAULT '';" \
	"ALTER TABLE participants ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;" \
	"ALTER TABLE participants ADD COLUMN held_until BIGINT;" \
	"CREATE UNIQUE INDEX sessions_pin ON sessions (service_id, pin) WHERE status < 2 AND pin IS NOT NULL;" \
	"CREATE INDEX participants_sticky ON participants (bidx, peer_bidx, created_at);" \
	"CREATE INDEX participants_cooling ON participants (held_until) WHERE active = 1 AND held_until IS NOT NULL;" \
	"CREATE INDEX participants_number_cooling ON participants (proxy_number_id) WHERE active = 1 AND held_until IS NOT NULL;" \
	"CREATE TABLE optouts (bidx " T " NOT NULL, number_id " T " NOT NULL, service_id " T " NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (bidx, number_id));" \
	"CREATE TABLE session_events (id " T " PRIMARY KEY, session_id " T " NOT NULL REFERENCES sessions(id), kind " T " NOT NULL, participant_id " T " NOT NULL DEFAULT '', detail " T " NOT NULL DEFAULT '', created_at BIGINT NOT NULL);" \
	"CREATE INDEX session_events_session ON session_events (session_id, created_at);"

/* 3: retention purge: which closed sessions still hold real numbers, found by
* an index range on closed_at instead of a scan of every participant */
#define MIGRATION_3(T, B) \
	"ALTER TABLE sessions ADD COLUMN purged_at BIGINT NOT NULL DEFAULT 0;" \
	"CREATE INDEX sessions_purge ON sessions (closed_at) WHERE status >= 2 AND purged_at = 0;"

/* 4: what a text with media becomes towards a proxy number without mms (enum
* mms_fallback; 0 = text_with_note for every existing service), and which texts
* were STOP, START or HELP keywords (answered, never relayed: /usage counts them
* apart; older rows read 0); and numbers' carrier is enforced from here on, so
* the numbers stored before as twilio (0, then also the default of a number added
* without a carrier: the two cannot be told apart) take any dialect (-1), and no
* carrier's traffic starts being refused by an upgrade */
#define MIGRATION_4(T, B) \
	"ALTER TABLE services ADD COLUMN mms_fallback INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE interactions ADD COLUMN keyword INTEGER NOT NULL DEFAULT 0;" \
	"UPDATE numbers SET carrier = -1 WHERE carrier = 0;"

/* 5: scoped API keys (their SHA-256 only, never the key) and the hash-chained
* audit log (append-only: seq has no gap, each row carries the hash before it) */
#define MIGRATION_5(T, B) \
	"CREATE TABLE api_keys (id " T " PRIMARY KEY, hash " T " NOT NULL UNIQUE, role INTEGER NOT NULL," \
	"  service_id " T " NOT NULL DEFAULT '', label " T " NOT NULL DEFAULT '', created_at BIGINT NOT NULL," \
	"  expires_at BIGINT NOT NULL DEFAULT 0, revoked_at BIGINT NOT NULL DEFAULT 0," \
	"  last_used_at BIGINT NOT NULL DEFAULT 0);" \
	"CREATE TABLE audit_log (seq BIGINT PRIMARY KEY, created_at BIGINT NOT NULL, key_id " T " NOT NULL," \
	"  key_label " T " NOT NULL, request_id " T " NOT NULL, source " T " NOT NULL, action " T " NOT NULL," \
	"  target " T " NOT NULL, reason " T " NOT NULL, detail " T " NOT NULL, prev_hash " T " NOT NULL," \
	"  hash " T " NOT NULL);"
/* 6: the outbox (out/sender.c): every message maskd sends out, durable until it
* is sent or failed. seq orders a session's messages (order_key) and is the list
* cursor; dedup_key makes a second enqueue of the same message a no-op (a retried
* webhook); payload is sealed (it holds the recipient's real number and the
* carrier credential); a row being sent holds a claim token and a lease, so a
* node that dies mid-send gives it back when the lease runs out. And the
* services' events and intercept settings. SERIAL: an auto-numbered primary key. */
#define MIGRATION_6(T, B, SERIAL) \
	"CREATE TABLE outbox (seq " SERIAL ", id " T " NOT NULL UNIQUE, dedup_key " T " NOT NULL UNIQUE," \
	"  kind INTEGER NOT NULL, service_id " T " NOT NULL DEFAULT '', destination " T " NOT NULL," \
	"  order_key " T " NOT NULL DEFAULT '', interaction_id " T " NOT NULL DEFAULT ''," \
	"  dialect INTEGER NOT NULL DEFAULT 0, url " T " NOT NULL, payload " B " NOT NULL," \
	"  status INTEGER NOT NULL DEFAULT 0, tries INTEGER NOT NULL DEFAULT 0, next_at BIGINT NOT NULL," \
	"  claim " T " NOT NULL DEFAULT '', lease_until BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL," \
	"  done_at BIGINT NOT NULL DEFAULT 0, last_error " T " NOT NULL DEFAULT '');" \
	"CREATE INDEX outbox_due ON outbox (next_at) WHERE status < 2;" \
	"CREATE INDEX outbox_order ON outbox (order_key, seq) WHERE status < 2;" \
	"CREATE INDEX outbox_sending ON outbox (destination) WHERE status = 1;" \
	"CREATE INDEX outbox_service ON outbox (service_id, status, seq);" \
	"CREATE INDEX outbox_unsent ON outbox (destination, status) WHERE status <> 2;" \
	"ALTER TABLE services ADD COLUMN events_url " T " NOT NULL DEFAULT '';" \
	"ALTER TABLE services ADD COLUMN events_secret_sealed " B ";" \
	"ALTER TABLE services ADD COLUMN intercept_url " T " NOT NULL DEFAULT '';" \
	"ALTER TABLE services ADD COLUMN intercept_timeout_ms INTEGER NOT NULL DEFAULT 2000;" \
	"ALTER TABLE services ADD COLUMN intercept_fail_open INTEGER NOT NULL DEFAULT 1;"

/* 7: every event of a service (docs/EVENTS.md) in the order it was committed, for
* the pull API: seq is the cursor; body is the document as delivered (ids and
* masked numbers only, never a real number) */
#define MIGRATION_7(T, B, SERIAL) \
	"CREATE TABLE service_events (seq " SERIAL ", id " T " NOT NULL UNIQUE, service_id " T " NOT NULL," \
	"  type " T " NOT NULL, created_at BIGINT NOT NULL, body " T " NOT NULL);" \
	"CREATE INDEX service_events_service ON service_events (service_id, seq);"

/* 8: the carrier's own id of a click-to-call (Twilio's CallSid, Telnyx's
 * call_control_id, Plivo's request_uuid, Vonage's uuid), from the REST answer
 * that placed it; '' until the carrier answered, and for every other interaction */
#define MIGRATION_8(T, B) \
	"ALTER TABLE interactions ADD COLUMN carrier_call_id " T " NOT NULL DEFAULT '';"

/* 9: the Twilio Proxy v1 sessions created before their first participant
* (store_proxy_session_*), which were settings rows "proxy.session.<id>" of JSON
* text: the live ones move here (a row whose native session exists, or a deleted
* one, with an empty service_id, is dropped). J(field): the backend's read of one
* field of the settings value as text. */
#define MIGRATION_9(T, J) \
	"CREATE TABLE proxy_sessions (id " T " PRIMARY KEY, service_id " T " NOT NULL," \
	"  unique_name " T " NOT NULL DEFAULT '', mode INTEGER NOT NULL, ttl BIGINT NOT NULL," \
	"  expires_at BIGINT NOT NULL, created_at BIGINT NOT NULL);" \
	"CREATE INDEX proxy_sessions_service ON proxy_sessions (service_id);" \
	"INSERT INTO proxy_sessions (id, service_id, unique_name, mode, ttl, expires_at, created_at)" \
	"  SELECT substr(t.key, 15), " J("service_id") ", COALESCE(" J("unique_name") ", '')," \
	"  CAST(COALESCE(" J("mode") ", '0') AS INTEGER), CAST(COALESCE(" J("ttl") ", '0') AS BIGINT)," \
	"  CAST(COALESCE(" J("expires_at") ", '0') AS BIGINT), CAST(COALESCE(" J("created_at") ", '0') AS BIGINT)" \
	"  FROM settings t WHERE t.key LIKE 'proxy.session.%' AND COALESCE(" J("service_id") ", '') <> ''" \
	"  AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = substr(t.key, 15));" \
	"DELETE FROM settings WHERE key LIKE 'proxy.session.%';"

/* 10: the ended marks (docs/PRIVACY.md "Late calls after the purge"): when the
* retention purge wipes a participant, (its blind index, its proxy number) is
* kept here so that a late call from it hears the ended message, not the
* unknown-caller one. No real number; an erasure deletes the marks of its blind
* index, and the purge deletes marks older than the retention period. */
#define MIGRATION_10(T) \
	"CREATE TABLE ended_marks (bidx " T " NOT NULL, number_id " T " NOT NULL, ended_at BIGINT NOT NULL," \
	"  PRIMARY KEY (bidx, number_id));" \
	"CREATE INDEX ended_marks_age ON ended_marks (ended_at);"

/* 11: profiles, a service's persistent identities (an agent, a customer) with a
* fixed proxy number: the real number sealed (associated data "profile:<id>") with
* its blind index, as in participants. A proxy number belongs to at most one
* profile until that profile is retired and its cool-off has passed (freed = 1):
* the unique index profiles_number, not an application check. Participants
* created from a profile name it (profile_id; '' for every other row). */
#define MIGRATION_11(T, B) \
	"CREATE TABLE profiles (id " T " PRIMARY KEY, service_id " T " NOT NULL REFERENCES services(id)," \
	"  label " T " NOT NULL, masked " T " NOT NULL, number_sealed " B " NOT NULL, bidx " T " NOT NULL," \
	"  country " T " NOT NULL DEFAULT '', proxy_number_id " T " NOT NULL, proxy_e164 " T " NOT NULL," \
	"  state INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL," \
	"  retired_at BIGINT NOT NULL DEFAULT 0, free_at BIGINT NOT NULL DEFAULT 0, freed INTEGER NOT NULL DEFAULT 0);" \
	"CREATE UNIQUE INDEX profiles_number ON profiles (proxy_number_id) WHERE freed = 0;" \
	"CREATE INDEX profiles_service ON profiles (service_id, created_at, id);" \
	"CREATE INDEX profiles_due ON profiles (free_at) WHERE state = 1 AND freed = 0;" \
	"ALTER TABLE participants ADD COLUMN profile_id " T " NOT NULL DEFAULT '';" \
	"CREATE INDEX participants_profile ON participants (profile_id) WHERE profile_id <> '';"

/* 12: pool alerts (docs/EVENTS.md, pool.low): a service's threshold of free
* numbers (0 = off), and one row per (service, capabilities a create needed)
* while the pool is at or below it, so that pool.low is recorded once per
* crossing: the row's insert is the crossing, its delete the way back above. */
#define MIGRATION_12(T) \
	"ALTER TABLE services ADD COLUMN pool_low_threshold INTEGER NOT NULL DEFAULT 0;" \
	"CREATE TABLE pool_alerts (service_id " T " NOT NULL, need INTEGER NOT NULL, since BIGINT NOT NULL," \
	"  PRIMARY KEY (service_id, need));"
/* 13: one-way sessions (core/oneway.h). A service's branded number (the
* respondents' proxy number, '' = by the pool rule) and callback window
* (seconds); a session's direction (0 two-way, 1 one-way); a participant's
* side in a one-way session (oneway: 0 two-way, 1 the respondent, 2 the hidden
* side, which holds no binding, active = 0). participants_oneway finds a
* caller's one-way rows on a proxy number whatever their binding state (the
* callback window outlives the cool-off); two-way rows are not in it. */
#define MIGRATION_13(T) \
	"ALTER TABLE services ADD COLUMN branded_number " T " NOT NULL DEFAULT '';" \
	"ALTER TABLE services ADD COLUMN callback_window BIGINT NOT NULL DEFAULT 604800;" \
	"ALTER TABLE sessions ADD COLUMN direction INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE participants ADD COLUMN oneway INTEGER NOT NULL DEFAULT 0;" \
	"CREATE INDEX participants_oneway ON participants (bidx, proxy_number_id, oneway) WHERE oneway > 0;"
/* 14: the intercept decision of an interaction (docs/EVENTS.md "Intercept"), so a
* retried webhook is answered as the first one was without asking the app again:
* intercept is enum intercept_outcome (0 = not asked), intercept_text the app's
* deny message or replacement body ('' when none; never a real number maskd put
* there, only what the app answered). */
#define MIGRATION_14(T) \
	"ALTER TABLE interactions ADD COLUMN intercept INTEGER NOT NULL DEFAULT 0;" \
	"ALTER TABLE interactions ADD COLUMN intercept_text " T " NOT NULL DEFAULT '';"
/* 15: the blind-index rotation (docs/internals/blind-index-rotation.md): while
* the sweeper re-indexes participants and profiles under the new index version,
* it notes each (old index, new index) pair here, so that an opt-out or an
* ended mark still under the old index is found from a row already under the new
* one; at the end of its pass it re-keys those opt-outs and marks and empties
* the table. Pseudonyms only, never a real number. */
#define MIGRATION_15(T) \
	"CREATE TABLE bidx_moves (old " T " PRIMARY KEY, new " T " NOT NULL);" \
	"CREATE INDEX bidx_moves_new ON bidx_moves (new);"
/* 16: the hidden rows of one-way sessions by proxy number, so that a caller
* maskd cannot place on a number (unknown-caller policy pin) is asked for a
* one-way PIN only when the number carries open one-way sessions, found
* without scanning every participant (core/oneway.h oneway_stranger_asked). */
#define MIGRATION_16(T) \
	"CREATE INDEX participants_oneway_hidden ON participants (proxy_number_id, session_id) WHERE oneway = 2;"
/* 17: whether a service keeps its events for the pull API (docs/EVENTS.md,
* the service's events_pull): 0 (the default) writes every event's row of
* service_events; 1 writes none, and an event goes only to the events_url,
* when there is one. */
#define MIGRATION_17(T) \
	"ALTER TABLE services ADD COLUMN events_pull_off INTEGER NOT NULL DEFAULT 0;"

#endif
