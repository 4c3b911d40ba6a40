/* SPDX-License-Identifier: MIT */
/* backend_sqlite.c - the contract suite's hooks on SQLite: a fresh database is a
 * file in the test's temp dir; raw SQL goes through a connection of its own; the
 * "in the clear" scan reads the bytes of the file and of its WAL. */
#include "contract.h"

#include <sqlite3.h>

const char *const cx_backend = "sqlite";

int cx_backend_create(struct fixture *f)
{
	snprintf(f->url, sizeof(f->url), "%s/maskd.db", f->dir);
	return 1;
}

void cx_backend_drop(struct fixture *f)
{
	(void)f; /* the file goes with the temp dir */
}

static sqlite3 *raw_open(struct fixture *f)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->url, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* The first column of the first row as text into out; 1, or 0 with no row. */
static int raw_first(struct fixture *f, const char *sql, char *out, size_t cap)
{
	sqlite3 *db = raw_open(f);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	int found = rc == SQLITE_ROW;
	if (found) {
		const unsigned char *t = sqlite3_column_text(q, 0);
		snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	return found;
}

int64_t cx_sql_count(struct fixture *f, const char *sql)
{
	char v[64];
	if (!raw_first(f, sql, v, sizeof(v)))
		fail_msg("%s: no row", sql);
	return strtoll(v, NULL, 10);
}

void cx_sql_exec(struct fixture *f, const char *sql)
{
	sqlite3 *db = raw_open(f);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

int cx_sql_text(struct fixture *f, const char *sql, char *out, size_t cap)
{
	return raw_first(f, sql, out, cap);
}

static int file_contains(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return 0;
	static char data[8 << 20];
	size_t n = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(data + i, needle, k) == 0)
			return 1;
	return 0;
}

int cx_db_contains(struct fixture *f, const char *needle)
{
	char wal[1100];
	snprintf(wal, sizeof(wal), "%s-wal", f->url);
	return file_contains(f->url, needle) || file_contains(wal, needle);
}
