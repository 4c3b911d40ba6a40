/* SPDX-License-Identifier: MIT */
/* migrations.c - the PostgreSQL schema (../migrations_sql.h in PostgreSQL's
 * types), applied by conn.c inside one transaction under an advisory lock. */
#include "../migrations.h"
#include "../migrations_sql.h"

#define T "TEXT COLLATE \"C\""
#define B "BYTEA"
/* One field of a settings row's JSON value, as text. */
#define PG_JSON_FIELD(name) "(t.value::jsonb ->> '" name "')"

const char *const migrations_pg[MIGRATIONS_PG_COUNT] = {
	MIGRATION_1(T, B),
	MIGRATION_2(T, B),
	MIGRATION_3(T, B),
	MIGRATION_4(T, B),
	MIGRATION_5(T, B),
	MIGRATION_6(T, B, "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
	MIGRATION_7(T, B, "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
	MIGRATION_8(T, B),
	MIGRATION_9(T, PG_JSON_FIELD),
	MIGRATION_10(T),
	MIGRATION_11(T, B),
	MIGRATION_12(T),
	MIGRATION_13(T),
	MIGRATION_14(T),
	MIGRATION_15(T),
	MIGRATION_16(T),
	MIGRATION_17(T),
};
