/* SPDX-License-Identifier: MIT */
/* test_store.c - what only the SQLite backend has; the store's contract is
 * tests/contract/ (test_contract_sqlite, and test_contract_pg on PostgreSQL):
 * a newer schema refused, a bad path refused, the upgrade of a database
 * written before migration 2, and the group commit of webhook records. */
#include "../contract/suite.h"
#include "../contract/group_commit.h"

#include <pthread.h>
#include <sqlite3.h>
#include <unistd.h>

#include "flow/jobs.h"
#include "flow/stats.h"
#include "store/migrations.h"
#include "util/crypto.h"
#include "util/err.h"

static void newer_schema_refused(void **state)
{
	CX_FIXTURE(state);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->url, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct store *st2 = NULL;
	char err[256] = "";
	assert_true(store_open(f->url, f->vault, &st2, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "MASKD_DB"));
	assert_non_null(strstr(err, "99"));
	assert_true(store_open("/nonexistent-dir/x.db", f->vault, &st2, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "MASKD_DB"));
}

/* A database written by a maskd before migration 2: opening it applies migration
 * 2, its service reads with the policy defaults (texts included), and the
 * start-up backfill geocodes the region of its older pool numbers. */
static void upgrade_from_schema_1(void **state)
{
	char dir[64], db[128], key[128], err[256];
	snprintf(dir, sizeof(dir), "/tmp/maskd-test-upgrade-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/maskd.db", dir);
	snprintf(key, sizeof(key), "%s/vault.key", dir);
	sqlite3 *raw = NULL;
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
				      "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);"
				      "INSERT INTO schema_migrations VALUES (1, 1);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, migrations_sqlite[0], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
				      "INSERT INTO services (id, name, mode, ttl, unknown_caller_message, created_at) VALUES "
				      "('svc_old0000000000000000000', 'Old', 3, 0, 'Bye.', 1);"
				      "INSERT INTO numbers (id, service_id, e164, carrier, caps, country, area_code, state, in_use, "
				      "created_at) VALUES ('num_old0000000000000000000', 'svc_old0000000000000000000', "
				      "'+14155550100', 0, 7, 'US', '415', 0, 0, 1);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(raw);

	struct vault *v = NULL;
	struct store *st = NULL;
	assert_int_equal(vault_load(key, &v, err, sizeof(err)), 0);
	assert_int_equal(store_open(db, v, &st, err, sizeof(err)), 0);
	struct service svc;
	assert_int_equal(store_service_get(st, "svc_old0000000000000000000", &svc), 0);
	assert_string_equal(svc.unknown_caller_message, "Bye.");
	assert_string_equal(svc.ended_message, SERVICE_DEFAULT_ENDED_MESSAGE);
	assert_string_equal(svc.help_text, SERVICE_DEFAULT_HELP_TEXT);
	assert_int_equal(svc.cooloff, 86400);
	assert_int_equal(svc.number_cap, 100);
	assert_int_equal(svc.unknown_caller, UNKNOWN_REJECT);
	assert_int_equal(svc.pin_length, 6);
	assert_int_equal(svc.pool.geo_match, GEO_COUNTRY);
	struct number n;
	assert_int_equal(store_number_get(st, "num_old0000000000000000000", &n), 0);
	assert_string_equal(n.region, "");
	/* stored as twilio (0) before carriers were enforced: takes any dialect now */
	assert_true(n.carrier_any);
	int updated = -1;
	assert_int_equal(jobs_backfill_number_regions(st, &updated), 0);
	assert_int_equal(updated, 1);
	assert_int_equal(store_number_get(st, "num_old0000000000000000000", &n), 0);
	assert_string_equal(n.region, "California");
	assert_int_equal(jobs_backfill_number_regions(st, &updated), 0);
	assert_int_equal(updated, 0); /* idempotent */
	/* once per database: a later start does not walk the pools again */
	assert_int_equal(store_number_set_region(st, "num_old0000000000000000000", ""), 0);
	assert_int_equal(jobs_backfill_number_regions(st, &updated), 0);
	assert_int_equal(updated, 0);
	assert_int_equal(store_number_set_region(st, "num_nope", "X"), MASKD_ENOTFOUND);
	/* a /metrics scrape shows the store gauges of the last refresh and needs no
	 * store: rendered after the store is closed (ASan would catch a touch) */
	assert_int_equal(stats_refresh(st), 0);
	store_close(st);
	struct buf page;
	buf_init(&page);
	stats_render(&page);
	assert_non_null(strstr(page.data, "\nmaskd_services 1\n"));
	assert_non_null(strstr(page.data, "\nmaskd_pool_numbers 1\n"));
	assert_non_null(strstr(page.data, "\nmaskd_store_gauges_age_seconds "));
	buf_free(&page);
	vault_free(v);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---------------------------------------------------------------- group commit of records */

/* Another connection holds the write lock: the first leader waits in BEGIN. */
static void sq_hold(struct fixture *f, const struct session *s, void *ctx)
{
	(void)s;
	sqlite3 **blocker = ctx;
	assert_int_equal(sqlite3_open(f->url, blocker), SQLITE_OK);
	assert_int_equal(sqlite3_exec(*blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static void sq_release(void *ctx)
{
	sqlite3 **blocker = ctx;
	assert_int_equal(sqlite3_exec(*blocker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(*blocker);
}

static void record_group_commit(void **state)
{
	struct fixture *f = *state;
	sqlite3 *blocker = NULL;
	const struct gc_blocker b = {.hold = sq_hold, .release = sq_release, .ctx = &blocker};
	gc_check_group_commit(f, &b);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(upgrade_from_schema_1),
		cmocka_unit_test_setup_teardown(newer_schema_refused, cx_setup, cx_teardown),
		cmocka_unit_test_setup_teardown(record_group_commit, cx_setup, cx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
