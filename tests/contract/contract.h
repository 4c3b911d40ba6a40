/* SPDX-License-Identifier: MIT */
/* contract.h - the store contract suite: one fixture and the few backend hooks it
 * needs (a fresh database, a second store on it, raw SQL for counting, a scan of
 * the stored bytes), written once against struct store and run on SQLite and on
 * PostgreSQL. The backend is the one linked in: backend_sqlite.c or backend_pg.c.
 * Test-only. */
#ifndef MASKD_TEST_CONTRACT_H
#define MASKD_TEST_CONTRACT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_outbox.h"
#include "util/ids.h"
#include "vault/vault.h"

#define CX_POOL 8 /* numbers of the pool fixture (cx_setup_pool) */

struct fixture {
	char dir[64];     /* a temp dir: the vault key, and SQLite's file */
	char url[1024];   /* what store_open takes: a file path or a postgresql:// URL */
	char dbname[64];  /* PostgreSQL: the fresh database of this test */
	struct vault *vault;
	struct store *st;
	struct service svc;
	char nums[CX_POOL][ID_MAX]; /* cx_setup_pool: the pool, oldest first */
};

/* The fixture of a test, or skip() when the backend is not available (PostgreSQL
 * without MASKD_TEST_PG_URL). */
#define CX_FIXTURE(state)                                                    \
	struct fixture *f = *(state);                                        \
	if (f == NULL)                                                       \
	skip()

/* ---- the backend (backend_sqlite.c or backend_pg.c) */

/* "sqlite" or "postgresql": the cmocka group's name. */
extern const char *const cx_backend;

/* Makes a fresh, empty database for f and writes its store_open() argument to
 * f->url (f->dir exists). Returns 1, or 0 when the backend is not available. */
int cx_backend_create(struct fixture *f);

/* Removes what cx_backend_create made (after the store is closed). */
void cx_backend_drop(struct fixture *f);

/* Raw SQL on f's database, past the store, on a connection of its own; fails the
 * test on an error. cx_sql_count: the first column of the first row as an integer.
 * cx_sql_text: that column as text into out (cap bytes), 1; or 0 with no row. */
int64_t cx_sql_count(struct fixture *f, const char *sql);
void cx_sql_exec(struct fixture *f, const char *sql);
int cx_sql_text(struct fixture *f, const char *sql, char *out, size_t cap);

/* 1 when needle is anywhere in what the database stores (SQLite: the bytes of the
 * file and its WAL; PostgreSQL: the text of every row of every table). */
int cx_db_contains(struct fixture *f, const char *needle);

/* ---- fixtures (fixture.c) */

/* cx_setup: a store on a fresh database with one service f->svc ("Rides", a
 * Twilio secret CX_SECRET, created at 1000), no numbers. cx_setup_pool: a store
 * with service "Rides" (Twilio secret CX_POOL_SECRET) and CX_POOL active US
 * numbers f->nums (created at 0..CX_POOL-1). Both leave *state NULL when the
 * backend is not available; cx_teardown closes and drops. */
#define CX_SECRET "twilio-auth-token-0123456789"
#define CX_POOL_SECRET "{\"auth_token\":\"tok\"}"
int cx_setup(void **state);
int cx_setup_pool(void **state);
int cx_teardown(void **state);

/* A second store on f's database (another node); the caller closes it. */
struct store *cx_open_again(struct fixture *f);

/* ---- the suites: each file's tests, run in one cmocka group by main.c */
#define CX_TEST(name) cmocka_unit_test_setup_teardown(name, cx_setup, cx_teardown)
#define CX_TEST_POOL(name) cmocka_unit_test_setup_teardown(name, cx_setup_pool, cx_teardown)
extern const struct CMUnitTest cx_rows_tests[];
extern const size_t cx_rows_count;
extern const struct CMUnitTest cx_policy_tests[];
extern const size_t cx_policy_count;
extern const struct CMUnitTest cx_service_tests[];
extern const size_t cx_service_count;
extern const struct CMUnitTest cx_pool_tests[];
extern const size_t cx_pool_count;
extern const struct CMUnitTest cx_legs_tests[];
extern const size_t cx_legs_count;
extern const struct CMUnitTest cx_outbox_tests[];
extern const size_t cx_outbox_count;
extern const struct CMUnitTest cx_proxy_tests[];
extern const size_t cx_proxy_count;
extern const struct CMUnitTest cx_profiles_tests[];
extern const size_t cx_profiles_count;
extern const struct CMUnitTest cx_oneway_tests[];
extern const size_t cx_oneway_count;
extern const struct CMUnitTest cx_reindex_tests[];
extern const size_t cx_reindex_count;

#endif
