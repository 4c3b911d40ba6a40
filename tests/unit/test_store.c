/* SPDX-License-Identifier: MIT */
/* test_store.c - what only the SQLite backend has; the store's contract is
 * tests/contract/ (test_contract_sqlite, and test_contract_pg on PostgreSQL):
 * a newer schema refused, a bad path refused, the upgrade of a database
 * written before migration 2, and the group commit of webhook records. */
#include "../contract/suite.h"

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

/* ---------------------------------------------------------------- group commit of records
 *
 * Many webhook threads recording at once share transactions (sq_interaction_record);
 * each must still get its own answer: a new record, the first copy of a retried one
 * (also when both copies land in the same batch), or its own error, and every
 * acknowledged record must be in the database afterwards. */

#define GC_THREADS 8
#define GC_PER_THREAD 60
#define GC_DUP_SIDS 10   /* sids every thread records: one thread wins each */
#define GC_BAD_EVERY 7   /* every 7th record names no session: its insert fails alone */

struct gc_result {
	char id[ID_MAX];   /* the id the record came back with */
	char sid[64];
	int rc, existed, bad, dup;
};

struct gc_thread {
	struct fixture *f;
	const struct session *s;
	pthread_barrier_t *start;
	int t;
	struct gc_result res[GC_PER_THREAD];
};

static void gc_count(void *ctx, const struct interaction *it)
{
	(void)it;
	(*(int *)ctx)++;
}

static void *gc_worker(void *arg)
{
	struct gc_thread *w = arg;
	pthread_barrier_wait(w->start);
	for (int k = 0; k < GC_PER_THREAD; k++) {
		struct gc_result *r = &w->res[k];
		struct interaction it;
		memset(&it, 0, sizeof(it));
		id_new("int", it.id);
		r->dup = k < GC_DUP_SIDS;
		r->bad = !r->dup && k % GC_BAD_EVERY == 0;
		if (r->dup)
			snprintf(r->sid, sizeof(r->sid), "CAdup%d", k);
		else
			snprintf(r->sid, sizeof(r->sid), "CAt%dk%d", w->t, k);
		snprintf(it.carrier_sid, sizeof(it.carrier_sid), "%s", r->sid);
		snprintf(it.session_id, sizeof(it.session_id), "%s", r->bad ? "ses_nosuchsession" : w->s->id);
		snprintf(it.service_id, sizeof(it.service_id), "%s", w->f->svc.id);
		snprintf(it.from_participant, sizeof(it.from_participant), "%s", w->s->participants[0].id);
		snprintf(it.to_participant, sizeof(it.to_participant), "%s", w->s->participants[1].id);
		it.decision = DECISION_BRIDGE;
		it.created_at = 3000 + k;
		char mine[ID_MAX];
		snprintf(mine, sizeof(mine), "%s", it.id);
		r->existed = -1;
		r->rc = store_interaction_record(w->f->st, &it, &r->existed);
		snprintf(r->id, sizeof(r->id), "%s", it.id);
		/* checked on the main thread (cmocka's asserts are not thread-safe) */
		if (r->rc == 0 && !r->existed && strcmp(mine, it.id) != 0)
			r->rc = 1;
	}
	return NULL;
}

static void record_group_commit(void **state)
{
	struct fixture *f = *state;
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	pthread_barrier_t start;
	assert_int_equal(pthread_barrier_init(&start, NULL, GC_THREADS), 0);
	static struct gc_thread w[GC_THREADS];
	pthread_t th[GC_THREADS];
	/* Another connection holds the write lock while the threads start: the first
	 * leader waits in BEGIN and every other thread's first record (the copies of
	 * CAdup0) queues behind it, so they land in one batch together. */
	sqlite3 *blocker = NULL;
	assert_int_equal(sqlite3_open(f->url, &blocker), SQLITE_OK);
	assert_int_equal(sqlite3_exec(blocker, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	for (int t = 0; t < GC_THREADS; t++) {
		w[t] = (struct gc_thread){.f = f, .s = &s, .start = &start, .t = t};
		assert_int_equal(pthread_create(&th[t], NULL, gc_worker, &w[t]), 0);
	}
	usleep(300 * 1000);
	assert_int_equal(sqlite3_exec(blocker, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(blocker);
	for (int t = 0; t < GC_THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	pthread_barrier_destroy(&start);

	int acked = 0;
	for (int k = 0; k < GC_DUP_SIDS; k++) {
		/* one first copy per sid; every other copy got that copy's row back */
		struct interaction stored;
		char sid[64];
		snprintf(sid, sizeof(sid), "CAdup%d", k);
		assert_int_equal(store_interaction_by_sid(f->st, 0, sid, &stored), 0);
		int firsts = 0;
		for (int t = 0; t < GC_THREADS; t++) {
			const struct gc_result *r = &w[t].res[k];
			assert_int_equal(r->rc, 0);
			assert_string_equal(r->id, stored.id);
			firsts += r->existed == 0;
		}
		assert_int_equal(firsts, 1);
		acked++;
	}
	for (int t = 0; t < GC_THREADS; t++) {
		for (int k = GC_DUP_SIDS; k < GC_PER_THREAD; k++) {
			const struct gc_result *r = &w[t].res[k];
			struct interaction back;
			if (r->bad) {
				/* its own error, and nothing of it stored */
				assert_int_equal(r->rc, MASKD_ECONFLICT);
				assert_int_equal(r->existed, 0);
				assert_int_equal(store_interaction_by_sid(f->st, 0, r->sid, &back), MASKD_ENOTFOUND);
				continue;
			}
			assert_int_equal(r->rc, 0);
			assert_int_equal(r->existed, 0);
			/* acknowledged means stored, with its leg 'a' */
			assert_int_equal(store_interaction_get(f->st, r->id, &back), 0);
			assert_string_equal(back.carrier_sid, r->sid);
			assert_int_equal(back.n_legs, 1);
			assert_int_equal(back.legs[0].leg, 'a');
			acked++;
		}
	}
	int listed = 0;
	assert_int_equal(store_interaction_list(f->st, s.id, gc_count, &listed), 0);
	assert_int_equal(listed, acked);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_IN_PROGRESS);
	assert_true(got.last_activity_at >= 3000 && got.last_activity_at < 3000 + GC_PER_THREAD);
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
