/* SPDX-License-Identifier: MIT */
/* test_store_pg.c - what only the PostgreSQL backend has; the store's contract is
 * tests/contract/ (test_contract_pg). Always: no message of a refused start
 * carries the password, in any spelling. With MASKD_TEST_PG_URL (a superuser URL,
 * scripts/pg-test-server url DIR) also, each on a fresh database: the races
 * several nodes run into (many threads binding the same real number, the same
 * webhook recorded in parallel, two sweepers, one pair re-opened and created at
 * once), the group commit of webhook records, a dropped connection, a newer
 * schema refused, the upgrade from schema 1. */
#include "../contract/suite.h"
#include "../contract/group_commit.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "flow/jobs.h"
#include "flow/lifecycle.h"
#include "flow/sessions.h"
#include "store/migrations.h"
#include "util/crypto.h"
#include "util/err.h"
#include "vectors.h"

#define SECRET "Sup3r-s3cret_pw"
#define HOT "+14152371234"
#define THREADS 12

/* ---------------------------------------------------------------- always */

/* Asserts that a refused store_open(url) answered a MASKD_DB message of one line
 * with no spelling of the password in it. */
static void assert_refused_clean(const char *url)
{
	struct store *st = NULL;
	char err[512];
	assert_true(store_open(url, NULL, &st, err, sizeof(err)) < 0);
	assert_null(st);
	assert_non_null(strstr(err, "MASKD_DB"));
	if (strstr(err, SECRET) != NULL || strstr(err, "Sup3r%2Ds3cret") != NULL)
		fail_msg("password in \"%s\" (url %s)", err, url);
	assert_null(strchr(err, '\n'));
}

/* URLs libpq refuses while parsing, some of them quoted whole in its message:
 * every spelling of the password (raw, %-encoded, a password= parameter) is
 * scrubbed from what store_open answers. */
static void scrub_removes_every_spelling(void **state)
{
	(void)state;
	assert_refused_clean("postgresql://maskd:" SECRET "@[::1/maskd");
	assert_refused_clean("postgresql://maskd:Sup3r%2Ds3cret_pw@[::1/maskd");
	assert_refused_clean("postgresql://[::1/maskd?user=maskd&password=" SECRET);
	assert_refused_clean("postgresql://maskd:" SECRET "@db:port/maskd");
	assert_refused_clean("postgresql://maskd:" SECRET "@db/maskd?password=" SECRET "&bogus=1");
	assert_refused_clean("postgresql://maskd:Sup3r%2Ds3cret_pw@db/maskd?bogus=1");
}

static void open_refuses_without_leaking(void **state)
{
	(void)state;
	const char *urls[] = {
		"postgresql://maskd:" SECRET "@127.0.0.1:1/maskd",
		"postgresql://maskd:" SECRET "@127.0.0.1:notaport/maskd",
		"postgresql://127.0.0.1:1/maskd?password=" SECRET "&connect_timeout=2",
		"postgresql://maskd:" SECRET "@127.0.0.1:1/maskd?bogus_option=1",
		"postgresql://maskd:Sup3r%2Ds3cret_pw@127.0.0.1:notaport/maskd",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		assert_refused_clean(urls[i]);
}

/* ---------------------------------------------------------------- with a database */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* sql on the server's admin database (MASKD_TEST_PG_URL). */
static void admin_exec(const char *sql)
{
	PGconn *pg = PQconnectdb(getenv("MASKD_TEST_PG_URL"));
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	PGresult *r = PQexec(pg, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
	PQfinish(pg);
}

static void fill_session(struct fixture *f, struct session *s, const char *a, const char *b, int64_t ttl)
{
	memset(s, 0, sizeof(*s));
	id_new("ses", s->id);
	snprintf(s->service_id, sizeof(s->service_id), "%s", f->svc.id);
	s->mode = MODE_VOICE_AND_MESSAGE;
	s->ttl = ttl;
	s->policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	s->n_participants = 2;
	const char *nums[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		id_new("par", s->participants[i].id);
		snprintf(s->participants[i].number, sizeof(s->participants[i].number), "%.16s", nums[i]);
		snprintf(s->participants[i].masked, sizeof(s->participants[i].masked), "+1******%.4s", nums[i] + 8);
		snprintf(s->participants[i].country, sizeof(s->participants[i].country), "US");
	}
}

struct racer {
	struct fixture *f;
	int i;
	int rc;
	int failed;
	int existed;
	struct session s;
	struct interaction it;
	pthread_barrier_t *go;
};

static void *bind_hot(void *arg)
{
	struct racer *r = arg;
	char other[32];
	snprintf(other, sizeof(other), "+1212967%04d", 4000 + r->i);
	fill_session(r->f, &r->s, HOT, other, 0);
	pthread_barrier_wait(r->go);
	r->rc = vectors_session_create(r->f->st, &r->s, 1000, &r->failed);
	return NULL;
}

/* THREADS sessions at once, all with the same real number, on CX_POOL numbers: CX_POOL of
 * them get a number each (never one twice), the rest find the pool exhausted. */
static void same_real_number_in_parallel(void **state)
{
	CX_FIXTURE(state);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, THREADS);
	struct racer r[THREADS];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		r[i] = (struct racer){.f = f, .i = i, .go = &go};
		pthread_create(&t[i], NULL, bind_hot, &r[i]);
	}
	int ok = 0, exhausted = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (r[i].rc == 0)
			ok++;
		else if (r[i].rc == MASKD_EEXHAUSTED && r[i].failed == 0)
			exhausted++;
		else
			fail_msg("create %d: %s", i, maskd_strerror(r[i].rc));
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(ok, CX_POOL);
	assert_int_equal(exhausted, THREADS - CX_POOL);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(DISTINCT proxy_number_id) FROM participants WHERE active = 1 AND idx = 0"),
			 CX_POOL);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM (SELECT n.id FROM numbers n LEFT JOIN participants p "
				      "ON p.proxy_number_id = n.id AND p.active = 1 GROUP BY n.id "
				      "HAVING n.in_use <> COUNT(DISTINCT p.session_id)) x"),
			 0);
}

static void *record_same(void *arg)
{
	struct racer *r = arg;
	pthread_barrier_wait(r->go);
	r->rc = store_interaction_record(r->f->st, &r->it, &r->existed);
	return NULL;
}

/* The same webhook (carrier, CallSid) recorded by THREADS threads at once: one
 * writes, every other one gets the first one's row. */
static void same_webhook_in_parallel(void **state)
{
	CX_FIXTURE(state);
	struct session s;
	fill_session(f, &s, HOT, "+12129674000", 0);
	int failed;
	assert_int_equal(vectors_session_create(f->st, &s, 1000, &failed), 0);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, THREADS);
	struct racer r[THREADS];
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		r[i] = (struct racer){.f = f, .i = i, .go = &go};
		struct interaction *it = &r[i].it;
		id_new("int", it->id);
		snprintf(it->session_id, sizeof(it->session_id), "%s", s.id);
		snprintf(it->service_id, sizeof(it->service_id), "%s", f->svc.id);
		snprintf(it->carrier_sid, sizeof(it->carrier_sid), "CA0123456789");
		snprintf(it->from_participant, sizeof(it->from_participant), "%s", s.participants[0].id);
		snprintf(it->to_participant, sizeof(it->to_participant), "%s", s.participants[1].id);
		it->decision = DECISION_BRIDGE;
		it->created_at = 1100;
		pthread_create(&t[i], NULL, record_same, &r[i]);
	}
	int fresh = 0;
	char winner[ID_MAX] = "";
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].rc, 0);
		if (!r[i].existed) {
			fresh++;
			snprintf(winner, sizeof(winner), "%s", r[i].it.id);
		}
	}
	pthread_barrier_destroy(&go);
	assert_int_equal(fresh, 1);
	for (int i = 0; i < THREADS; i++)
		assert_string_equal(r[i].it.id, winner);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM interactions"), 1);
	/* no legs row: leg 'a' is derived from the interaction (tests/contract/suite_legs.c) */
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM legs"), 0);
	/* parallel status callbacks for one leg: one row, the fields merged */
	struct leg_update u = {.status = "completed", .duration = 61, .answered = 1};
	assert_int_equal(store_leg_update(f->st, winner, 'b', "CAchild", &u, 1200), 0);
	struct leg_update v = {.duration = -1, .recording_id = "RE1"};
	assert_int_equal(store_leg_update(f->st, winner, 'b', "CAchild", &v, 1300), 0);
	struct interaction it;
	assert_int_equal(store_interaction_get(f->st, winner, &it), 0);
	assert_int_equal(it.n_legs, 2);
	assert_string_equal(it.legs[1].status, "completed");
	assert_int_equal(it.legs[1].duration, 61);
	assert_int_equal(it.legs[1].answered_at, 1200);
	assert_int_equal(it.legs[1].ended_at, 1200);
	assert_string_equal(it.legs[1].recording_id, "RE1");
	assert_string_equal(it.legs[1].proxy_number, s.participants[1].proxy_e164);
	assert_int_equal(store_leg_update(f->st, "int_nope", 'b', "CAx", &u, 1200), MASKD_ENOTFOUND);
}

struct sweeper_arg {
	struct store *st;
	int closed;
	int rc;
	pthread_barrier_t *go;
};

static void *sweep(void *arg)
{
	struct sweeper_arg *a = arg;
	pthread_barrier_wait(a->go);
	for (;;) {
		int n = 0;
		a->rc = lifecycle_expire(a->st, 5000, 7, &n);
		a->closed += n;
		if (a->rc < 0 || n == 0)
			return NULL;
	}
}

/* Two stores (two nodes) sweeping the same due sessions at once: each closed once,
 * every binding given back once. */
static void two_sweepers_close_each_once(void **state)
{
	CX_FIXTURE(state);
	enum { N = 60 };
	for (int i = 0; i < N; i++) {
		struct session s;
		char a[32], b[32];
		snprintf(a, sizeof(a), "+1415237%04d", 2000 + i);
		snprintf(b, sizeof(b), "+1212967%04d", 4000 + i);
		fill_session(f, &s, a, b, 10);
		int failed;
		assert_int_equal(vectors_session_create(f->st, &s, 1000, &failed), 0);
	}
	struct store *other = NULL;
	char err[512];
	assert_int_equal(store_open(f->url, f->vault, &other, err, sizeof(err)), 0);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2);
	struct sweeper_arg a = {.st = f->st, .go = &go}, b = {.st = other, .go = &go};
	pthread_t ta, tb;
	pthread_create(&ta, NULL, sweep, &a);
	pthread_create(&tb, NULL, sweep, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&go);
	store_close(other);
	assert_int_equal(a.rc, 0);
	assert_int_equal(b.rc, 0);
	assert_int_equal(a.closed + b.closed, N);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM sessions WHERE status < 2"), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COALESCE(SUM(in_use), 0) FROM numbers"), 0);
}

/* The server drops every connection (a restart, a failover): the next call on the
 * same thread reconnects instead of failing. */
static void dropped_connections_come_back(void **state)
{
	CX_FIXTURE(state);
	assert_int_equal(store_ping(f->st), 0);
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()",
		 f->dbname);
	admin_exec(sql);
	usleep(100 * 1000); /* the termination notice reaches the socket */
	assert_int_equal(store_ping(f->st), 0);
	struct service svc;
	assert_int_equal(store_service_get(f->st, f->svc.id, &svc), 0);
	assert_string_equal(svc.secrets[DIALECT_TWILIO], "{\"auth_token\":\"tok\"}");
	/* while connections are refused: a fast MASKD_EDB, then back by itself */
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS false", f->dbname);
	admin_exec(sql);
	snprintf(sql, sizeof(sql),
		 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()",
		 f->dbname);
	admin_exec(sql);
	usleep(100 * 1000);
	int64_t t0 = mono_ms();
	for (int i = 0; i < 20; i++)
		assert_int_equal(store_ping(f->st), MASKD_EDB);
	assert_true(mono_ms() - t0 < 1000);
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS true", f->dbname);
	admin_exec(sql);
	int rc = MASKD_EDB;
	for (int i = 0; i < 100 && rc != 0; i++) {
		rc = store_ping(f->st);
		if (rc != 0)
			usleep(100 * 1000);
	}
	assert_int_equal(rc, 0);
}

static void newer_schema_refused(void **state)
{
	CX_FIXTURE(state);
	PGconn *pg = PQconnectdb(f->url);
	PQclear(PQexec(pg, "INSERT INTO schema_migrations VALUES (999, 0)"));
	PQfinish(pg);
	struct store *st = NULL;
	char err[512];
	assert_int_equal(store_open(f->url, f->vault, &st, err, sizeof(err)), MASKD_EINVAL);
	assert_non_null(strstr(err, "MASKD_DB"));
	assert_non_null(strstr(err, "version 999"));
}

/* A database written before migration 2: opening it applies migration 2, its
 * service reads with the policy defaults, and the start-up backfill geocodes
 * the region of its older numbers (the same upgrade test_store.c runs on SQLite). */
static void upgrade_from_schema_1(void **state)
{
	CX_FIXTURE(state);
	PGconn *pg = PQconnectdb(f->url);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	const char *steps[] = {
		"DROP SCHEMA public CASCADE",
		"CREATE SCHEMA public",
		"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
		migrations_pg[0],
		"INSERT INTO schema_migrations VALUES (1, 1)",
		"INSERT INTO services (id, name, mode, ttl, unknown_caller_message, created_at) VALUES "
		"('svc_old0000000000000000000', 'Old', 3, 0, 'Bye.', 1)",
		"INSERT INTO numbers (id, service_id, e164, carrier, caps, country, area_code, state, in_use, created_at) "
		"VALUES ('num_old0000000000000000000', 'svc_old0000000000000000000', '+12125550100', 0, 7, 'US', '212', 0, "
		"0, 1)",
		NULL,
	};
	for (int i = 0; steps[i] != NULL; i++) {
		PGresult *r = PQexec(pg, steps[i]);
		ExecStatusType t = PQresultStatus(r);
		if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
			fail_msg("step %d: %s", i, PQerrorMessage(pg));
		PQclear(r);
	}
	PQfinish(pg);
	struct store *st = NULL;
	char err[512];
	assert_int_equal(store_open(f->url, f->vault, &st, err, sizeof(err)), 0);
	struct service svc;
	assert_int_equal(store_service_get(st, "svc_old0000000000000000000", &svc), 0);
	assert_string_equal(svc.ended_message, SERVICE_DEFAULT_ENDED_MESSAGE);
	assert_string_equal(svc.help_text, SERVICE_DEFAULT_HELP_TEXT);
	assert_int_equal(svc.cooloff, 86400);
	assert_int_equal(svc.number_cap, 100);
	assert_int_equal(svc.pin_attempts, 3);
	int updated = -1;
	assert_int_equal(jobs_backfill_number_regions(st, &updated), 0);
	assert_int_equal(updated, 1);
	struct number n;
	assert_int_equal(store_number_get(st, "num_old0000000000000000000", &n), 0);
	assert_string_equal(n.region, "New York");
	store_close(st);
}


struct pair_racer {
	struct fixture *f;
	const struct service *svc;
	const char *reopen_id;
	int rc;
	int failed;
	struct session s;
	pthread_barrier_t *go;
};

static void *pair_race(void *arg)
{
	struct pair_racer *r = arg;
	pthread_barrier_wait(r->go);
	if (r->reopen_id != NULL) {
		r->rc = lifecycle_reopen(r->f->st, r->reopen_id, NULL, NULL, 2000, &r->failed);
	} else {
		struct create_outcome o;
		r->rc = create_in(r->f, r->svc, &r->s, 2000, &o);
		r->failed = o.failed_index;
	}
	return NULL;
}

/* 8 threads re-open one closed session while 8 create sessions for the same pair
 * (prefer-sticky, cooling bindings): the re-open happens once, no binding is held
 * twice, and in_use matches the open sessions. */
static void same_pair_in_parallel(void **state)
{
	CX_FIXTURE(state);
	enum { N = 8 };
	struct service svc;
	svc_new(f, &svc, 3600, 0, 0);
	char id[ID_MAX];
	for (int i = 0; i < 6; i++)
		num_new(f, svc.id, "US", "", "", i, id);
	struct session s, old;
	struct create_outcome o;
	ses_fill(&old, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &old, 100, &o), 0);
	assert_int_equal(lifecycle_close(f->st, old.id, SESSION_CLOSED, 200), 0);
	ses_fill(&s, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &s, 300, &o), 0); /* takes the cooling pair back */
	assert_int_equal(o.sticky[0], 1);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 400), 0);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2 * N);
	struct pair_racer r[2 * N];
	pthread_t t[2 * N];
	for (int i = 0; i < 2 * N; i++) {
		r[i] = (struct pair_racer){.f = f, .svc = &svc, .go = &go, .reopen_id = i < N ? s.id : NULL};
		if (i >= N)
			ses_fill(&r[i].s, svc.id, 2, PA, PB);
		pthread_create(&t[i], NULL, pair_race, &r[i]);
	}
	int reopened = 0, refused = 0, created = 0, exhausted = 0;
	for (int i = 0; i < 2 * N; i++) {
		pthread_join(t[i], NULL);
		if (i < N && r[i].rc == 0)
			reopened++;
		else if (i < N && r[i].rc == MASKD_ECONFLICT && r[i].failed >= 0)
			refused++;
		else if (i >= N && r[i].rc == 0)
			created++;
		else if (i >= N && r[i].rc == MASKD_EEXHAUSTED)
			exhausted++;
		else
			fail_msg("racer %d: %s (failed %d)", i, maskd_strerror(r[i].rc), r[i].failed);
	}
	pthread_barrier_destroy(&go);
	assert_true(reopened == N || refused == N); /* all agree: re-opened once, or taken first */
	struct events ev;
	events_of(f, s.id, &ev);
	int reopen_events = 0;
	for (int i = 0; i < ev.n && i < 8; i++)
		reopen_events += strcmp(ev.kind[i], "reopened") == 0;
	assert_int_equal(reopen_events, reopened ? 1 : 0);
	/* 6 numbers, each real number can hold each at most once */
	assert_int_equal(created + exhausted, N);
	assert_true(created + (reopened ? 1 : 0) <= 6);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM (SELECT bidx, proxy_number_id FROM participants "
				      "WHERE active = 1 GROUP BY 1, 2 HAVING COUNT(*) > 1) x"),
			 0);
	assert_counts_consistent(f);
}

/* ---------------------------------------------------------------- service update */

/* f's service with every field but id and created_at changed; tag marks the
 * name and the twilio credential so a reader can tell whose update it sees. */

/* ---------------------------------------------------------------- group commit of records */

/* Another connection holds a lock on the interactions table that every insert
 * waits for: the first leader waits in its first insert. */
static void pg_hold(struct fixture *f, const struct session *s, void *ctx)
{
	(void)s;
	PGconn **blocker = ctx;
	*blocker = PQconnectdb(f->url);
	assert_int_equal(PQstatus(*blocker), CONNECTION_OK);
	PGresult *r = PQexec(*blocker, "BEGIN; LOCK TABLE interactions IN SHARE MODE");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
}

static void pg_release(void *ctx)
{
	PGconn **blocker = ctx;
	PGresult *r = PQexec(*blocker, "COMMIT");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(*blocker);
}

static void record_group_commit(void **state)
{
	CX_FIXTURE(state);
	PGconn *blocker = NULL;
	const struct gc_blocker b = {.hold = pg_hold, .release = pg_release, .ctx = &blocker};
	gc_check_group_commit(f, &b);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scrub_removes_every_spelling),
		cmocka_unit_test(open_refuses_without_leaking),
		CX_TEST_POOL(same_real_number_in_parallel), CX_TEST_POOL(same_webhook_in_parallel),
		CX_TEST_POOL(two_sweepers_close_each_once), CX_TEST_POOL(dropped_connections_come_back),
		CX_TEST_POOL(newer_schema_refused), CX_TEST_POOL(upgrade_from_schema_1), CX_TEST_POOL(same_pair_in_parallel),
		cmocka_unit_test_setup_teardown(record_group_commit, cx_setup, cx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
