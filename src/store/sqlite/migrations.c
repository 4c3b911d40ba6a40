/* SPDX-License-Identifier: MIT */
/* migrations.c - the SQLite schema (../migrations_sql.h in SQLite's types).
 * Real numbers live only in participants.number_sealed (AES-256-GCM) and
 * participants.bidx (keyed blind index); masked forms are display strings. */
#include "../migrations.h"
#include "../migrations_sql.h"

/* One field of a settings row's JSON value (SQLite's JSON functions). */
#define SQ_JSON_FIELD(name) "json_extract(t.value, '$." name "')"

const char *const migrations_sqlite[MIGRATIONS_COUNT] = {
	MIGRATION_1("TEXT", "BLOB"),
	MIGRATION_2("TEXT", "BLOB"),
	MIGRATION_3("TEXT", "BLOB"),
	MIGRATION_4("TEXT", "BLOB"),
	MIGRATION_5("TEXT", "BLOB"),
	MIGRATION_6("TEXT", "BLOB", "INTEGER PRIMARY KEY"),
	MIGRATION_7("TEXT", "BLOB", "INTEGER PRIMARY KEY"),
	MIGRATION_8("TEXT", "BLOB"),
	MIGRATION_9("TEXT", SQ_JSON_FIELD),
	MIGRATION_10("TEXT"),
	MIGRATION_11("TEXT", "BLOB"),
	MIGRATION_12("TEXT"),
	MIGRATION_13("TEXT"),
	MIGRATION_14("TEXT"),
	MIGRATION_15("TEXT"),
	MIGRATION_16("TEXT"),
	MIGRATION_17("TEXT"),
};
