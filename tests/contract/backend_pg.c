/* SPDX-License-Identifier: MIT */
/* backend_pg.c - the contract suite's hooks on PostgreSQL: with MASKD_TEST_PG_URL
 * (a superuser URL, scripts/pg-test-server url DIR) each test gets a database of
 * its own, dropped after; without it every test skips. The "in the clear" scan
 * reads the text of every row of every table. */
#include "contract.h"

#include <libpq-fe.h>

#include "util/crypto.h"

const char *const cx_backend = "postgresql";

static const char *admin_url(void)
{
	const char *u = getenv("MASKD_TEST_PG_URL");
	return u != NULL && u[0] != '\0' ? u : NULL;
}

/* admin with its database replaced by dbname. */
static void url_with_db(const char *admin, const char *dbname, char *out, size_t cap)
{
	const char *host = strstr(admin, "://");
	assert_non_null(host);
	const char *path = strchr(host + 3, '/');
	const char *query = strchr(host + 3, '?');
	size_t keep = path ? (size_t)(path - admin) : query ? (size_t)(query - admin) : strlen(admin);
	snprintf(out, cap, "%.*s/%s%s", (int)keep, admin, dbname, query ? query : "");
}

/* Runs sql on url; fails the test unless it succeeds. Returns the result (PQclear it). */
static PGresult *pg_run(const char *url, const char *sql)
{
	PGconn *pg = PQconnectdb(url);
	if (PQstatus(pg) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(pg));
	PGresult *r = PQexec(pg, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	PQfinish(pg);
	return r;
}

int cx_backend_create(struct fixture *f)
{
	if (admin_url() == NULL)
		return 0;
	uint8_t rnd[6];
	char hex[13];
	random_bytes(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(f->dbname, sizeof(f->dbname), "maskd_unit_%s", hex);
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->dbname);
	PQclear(pg_run(admin_url(), sql));
	url_with_db(admin_url(), f->dbname, f->url, sizeof(f->url));
	return 1;
}

void cx_backend_drop(struct fixture *f)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
	PQclear(pg_run(admin_url(), sql));
}

int64_t cx_sql_count(struct fixture *f, const char *sql)
{
	PGresult *r = pg_run(f->url, sql);
	if (PQntuples(r) < 1)
		fail_msg("%s: no row", sql);
	int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

void cx_sql_exec(struct fixture *f, const char *sql)
{
	PQclear(pg_run(f->url, sql));
}

int cx_sql_text(struct fixture *f, const char *sql, char *out, size_t cap)
{
	PGresult *r = pg_run(f->url, sql);
	int found = PQntuples(r) > 0;
	if (found)
		snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return found;
}

int cx_db_contains(struct fixture *f, const char *needle)
{
	PGconn *pg = PQconnectdb(f->url);
	if (PQstatus(pg) != CONNECTION_OK)
		fail_msg("connect: %s", PQerrorMessage(pg));
	PGresult *tables = PQexec(pg, "SELECT quote_ident(table_name) FROM information_schema.tables "
				      "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
	assert_int_equal(PQresultStatus(tables), PGRES_TUPLES_OK);
	assert_true(PQntuples(tables) > 0);
	int found = 0;
	for (int i = 0; i < PQntuples(tables) && !found; i++) {
		char sql[256];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s t WHERE strpos(t::text, $1) > 0",
			 PQgetvalue(tables, i, 0));
		const char *params[1] = {needle};
		PGresult *r = PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			fail_msg("%s: %s", sql, PQerrorMessage(pg));
		found = strtoll(PQgetvalue(r, 0, 0), NULL, 10) > 0;
		PQclear(r);
	}
	PQclear(tables);
	PQfinish(pg);
	return found;
}
