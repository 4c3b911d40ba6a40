/* SPDX-License-Identifier: MIT */
/* migrations_pg.c - the PostgreSQL schema, one string per migration (applied by
 * store_pg.c inside one transaction under an advisory lock). The same tables and
 * indexes as migrations_sqlite.c: BYTEA for sealed blobs, and every text column
 * COLLATE "C" so ids, numbers and names compare and sort byte by byte as they do
 * in SQLite (paging order, and the id order rows are locked in). */
#include "migrations.h"

#define T "TEXT COLLATE \"C\""

const char *const migrations_pg[MIGRATIONS_PG_COUNT] = {
	/* 1: the core schema */
	"CREATE TABLE settings (key " T " PRIMARY KEY, value " T " NOT NULL);"
	"CREATE TABLE services ("
	"  id " T " PRIMARY KEY, name " T " NOT NULL, mode INTEGER NOT NULL, ttl BIGINT NOT NULL,"
	"  unknown_caller_message " T " NOT NULL, created_at BIGINT NOT NULL,"
	"  record INTEGER NOT NULL DEFAULT 0, time_limit INTEGER NOT NULL DEFAULT 0,"
	"  ring_timeout INTEGER NOT NULL DEFAULT 0, consent_message " T " NOT NULL DEFAULT '');"
	"CREATE TABLE service_secrets ("
	"  service_id " T " NOT NULL REFERENCES services(id), carrier " T " NOT NULL, sealed BYTEA NOT NULL,"
	"  PRIMARY KEY (service_id, carrier));"
	"CREATE TABLE numbers ("
	"  id " T " PRIMARY KEY, service_id " T " NOT NULL REFERENCES services(id), e164 " T " NOT NULL UNIQUE,"
	"  carrier INTEGER NOT NULL, caps INTEGER NOT NULL, country " T " NOT NULL, area_code " T " NOT NULL,"
	"  state INTEGER NOT NULL, in_use BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);"
	/* id too (SQLite's index stops at created_at): the candidate query's whole ORDER BY,
	 * so PostgreSQL reads the first few rows of the index instead of sorting the pool. */
	"CREATE INDEX numbers_pick ON numbers (service_id, state, in_use, created_at, id);"
	"CREATE TABLE sessions ("
	"  id " T " PRIMARY KEY, service_id " T " NOT NULL REFERENCES services(id), unique_name " T ","
	"  mode INTEGER NOT NULL, status INTEGER NOT NULL, ttl BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
	"  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, last_activity_at BIGINT NOT NULL,"
	"  closed_at BIGINT NOT NULL, deadline BIGINT,"
	"  record INTEGER NOT NULL DEFAULT -1, time_limit INTEGER NOT NULL DEFAULT -1,"
	"  ring_timeout INTEGER NOT NULL DEFAULT -1, consent_message " T " NOT NULL DEFAULT '');"
	"CREATE UNIQUE INDEX sessions_unique_name ON sessions (service_id, unique_name)"
	"  WHERE status < 2 AND unique_name IS NOT NULL;"
	"CREATE INDEX sessions_deadline ON sessions (deadline) WHERE status < 2 AND deadline IS NOT NULL;"
	"CREATE INDEX sessions_service ON sessions (service_id, created_at, id);"
	"CREATE TABLE participants ("
	"  id " T " PRIMARY KEY, session_id " T " NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL,"
	"  label " T " NOT NULL, masked " T " NOT NULL, number_sealed BYTEA NOT NULL, bidx " T " NOT NULL,"
	"  proxy_number_id " T " NOT NULL, proxy_e164 " T " NOT NULL,"
	"  active INTEGER NOT NULL, country " T " NOT NULL DEFAULT '');"
	"CREATE UNIQUE INDEX bindings ON participants (bidx, proxy_number_id) WHERE active = 1;"
	"CREATE INDEX participants_session ON participants (session_id, idx);"
	"CREATE TABLE interactions ("
	"  id " T " PRIMARY KEY, session_id " T " NOT NULL REFERENCES sessions(id),"
	"  service_id " T " NOT NULL REFERENCES services(id), channel INTEGER NOT NULL, carrier INTEGER NOT NULL,"
	"  carrier_sid " T " NOT NULL, decision INTEGER NOT NULL, from_participant " T " NOT NULL,"
	"  to_participant " T " NOT NULL, created_at BIGINT NOT NULL, UNIQUE (carrier, carrier_sid));"
	"CREATE INDEX interactions_session ON interactions (session_id, created_at);"
	"CREATE TABLE legs ("
	"  id " T " PRIMARY KEY, interaction_id " T " NOT NULL REFERENCES interactions(id), leg " T " NOT NULL,"
	"  carrier_sid " T " NOT NULL, status " T " NOT NULL, duration BIGINT NOT NULL, started_at BIGINT NOT NULL,"
	"  ended_at BIGINT NOT NULL, service_id " T " NOT NULL, session_id " T " NOT NULL,"
	"  proxy_number " T " NOT NULL DEFAULT '', other_country " T " NOT NULL DEFAULT '',"
	"  answered_at BIGINT NOT NULL DEFAULT 0, recording_id " T " NOT NULL DEFAULT '',"
	"  recording_url " T " NOT NULL DEFAULT '', cost " T " NOT NULL DEFAULT '', currency " T " NOT NULL DEFAULT '',"
	"  UNIQUE (interaction_id, leg, carrier_sid));"
	"CREATE INDEX legs_service_started ON legs (service_id, started_at);",
};
