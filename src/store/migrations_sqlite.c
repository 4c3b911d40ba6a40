/* SPDX-License-Identifier: MIT */
/* migrations_sqlite.c - the SQLite schema, one string per migration.
 * Real numbers live only in participants.number_sealed (AES-256-GCM) and
 * participants.bidx (keyed blind index); masked forms are display strings. */
#include "migrations.h"

const char *const migrations_sqlite[MIGRATIONS_COUNT] = {
	/* 1: the core schema */
	"CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE services ("
	"  id TEXT PRIMARY KEY, name TEXT NOT NULL, mode INTEGER NOT NULL, ttl BIGINT NOT NULL,"
	"  unknown_caller_message TEXT NOT NULL, created_at BIGINT NOT NULL);"
	"CREATE TABLE service_secrets ("
	"  service_id TEXT NOT NULL REFERENCES services(id), carrier TEXT NOT NULL, sealed BLOB NOT NULL,"
	"  PRIMARY KEY (service_id, carrier));"
	"CREATE TABLE numbers ("
	"  id TEXT PRIMARY KEY, service_id TEXT NOT NULL REFERENCES services(id), e164 TEXT NOT NULL UNIQUE,"
	"  carrier INTEGER NOT NULL, caps INTEGER NOT NULL, country TEXT NOT NULL, area_code TEXT NOT NULL,"
	"  state INTEGER NOT NULL, in_use BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);"
	"CREATE INDEX numbers_pick ON numbers (service_id, state, in_use, created_at);"
	"CREATE TABLE sessions ("
	"  id TEXT PRIMARY KEY, service_id TEXT NOT NULL REFERENCES services(id), unique_name TEXT,"
	"  mode INTEGER NOT NULL, status INTEGER NOT NULL, ttl BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
	"  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, last_activity_at BIGINT NOT NULL,"
	"  closed_at BIGINT NOT NULL, deadline BIGINT);"
	"CREATE UNIQUE INDEX sessions_unique_name ON sessions (service_id, unique_name)"
	"  WHERE status < 2 AND unique_name IS NOT NULL;"
	"CREATE INDEX sessions_deadline ON sessions (deadline) WHERE status < 2 AND deadline IS NOT NULL;"
	"CREATE INDEX sessions_service ON sessions (service_id, created_at, id);"
	"CREATE TABLE participants ("
	"  id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id), idx INTEGER NOT NULL,"
	"  label TEXT NOT NULL, masked TEXT NOT NULL, number_sealed BLOB NOT NULL, bidx TEXT NOT NULL,"
	"  proxy_number_id TEXT NOT NULL, proxy_e164 TEXT NOT NULL,"
	"  active INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX bindings ON participants (bidx, proxy_number_id) WHERE active = 1;"
	"CREATE INDEX participants_session ON participants (session_id, idx);"
	"CREATE TABLE interactions ("
	"  id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),"
	"  service_id TEXT NOT NULL REFERENCES services(id), channel INTEGER NOT NULL, carrier INTEGER NOT NULL,"
	"  carrier_sid TEXT NOT NULL, decision INTEGER NOT NULL, from_participant TEXT NOT NULL,"
	"  to_participant TEXT NOT NULL, created_at BIGINT NOT NULL, UNIQUE (carrier, carrier_sid));"
	"CREATE INDEX interactions_session ON interactions (session_id, created_at);"
	"CREATE TABLE legs ("
	"  id TEXT PRIMARY KEY, interaction_id TEXT NOT NULL REFERENCES interactions(id), leg TEXT NOT NULL,"
	"  carrier_sid TEXT NOT NULL, status TEXT NOT NULL, duration BIGINT NOT NULL, started_at BIGINT NOT NULL,"
	"  ended_at BIGINT NOT NULL, UNIQUE (interaction_id, leg, carrier_sid));",
};
