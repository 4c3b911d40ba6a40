/* SPDX-License-Identifier: MIT */
/* test_store_pg.c - the PostgreSQL backend. Always: no libpq message echoed at start
 * carries the password, array literals quote. With MASKD_TEST_PG_URL (a superuser
 * URL, scripts/pg-test-server url DIR) also, each on a fresh database: the races
 * several nodes run into (many threads binding the same real number, the same
 * webhook recorded in parallel, two sweepers), a dropped connection, and a newer
 * schema refused. Includes store_pg.c to reach its statics (h2o's way). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/store/store_pg.c"
#include "store/store.h"
#include "util/crypto.h"
#include "util/ids.h"

#include <stdlib.h>
#include <unistd.h>

/* Session create with default rules (country geo-match, prefer-sticky, no cap). */
static int create_default(struct store *st, struct session *s, int64_t now, int *failed)
{
	static const struct create_rules rules = {.pool = {GEO_COUNTRY, 0, SELECT_PREFER_STICKY}};
	struct create_outcome o;
	memset(&o, 0, sizeof(o));
	int rc = store_session_create(st, s, &rules, now, &o);
	*failed = o.failed_index;
	return rc;
}

#define SECRET "Sup3r-s3cret_pw"
#define HOT "+14152371234"
#define THREADS 12
#define POOL 8

/* ---------------------------------------------------------------- always */

static void assert_scrubbed(const char *url, const char *msg)
{
	char out[512];
	scrub_message(url, msg, out, sizeof(out));
	if (strstr(out, SECRET) != NULL || strstr(out, "Sup3r%2Ds3cret") != NULL)
		fail_msg("password left in \"%s\" (url %s)", out, url);
	assert_null(strchr(out, '\n'));
}

static void scrub_removes_every_spelling(void **state)
{
	(void)state;
	assert_scrubbed("postgresql://maskd:" SECRET "@db/maskd", "FATAL: password for maskd:" SECRET "@db failed\n");
	assert_scrubbed("postgresql://maskd:Sup3r%2Ds3cret_pw@db/maskd", "bad token \"Sup3r%2Ds3cret_pw\" or " SECRET);
	assert_scrubbed("postgresql://db/maskd?user=maskd&password=" SECRET "&sslmode=require", "x " SECRET " y");
	assert_scrubbed("postgresql://maskd:" SECRET "@db:port/maskd", "invalid port \"port\" in maskd:" SECRET "@db:port");
	assert_scrubbed("host=db password=" SECRET " dbname=maskd", "missing \"=\" after \"" SECRET "\"");
	/* the rest of the message survives, folded to one line */
	char out[256];
	scrub_message("postgresql://u:" SECRET "@h/d", "connection to server at \"h\" failed:\n\tFATAL:  nope\n", out,
		      sizeof(out));
	assert_string_equal(out, "connection to server at \"h\" failed: FATAL:  nope");
	/* cut to the buffer, still terminated */
	scrub_message("postgresql://h/d", "0123456789", out, 5);
	assert_string_equal(out, "0123");
}

static void open_refuses_without_leaking(void **state)
{
	(void)state;
	const char *urls[] = {
		"postgresql://maskd:" SECRET "@127.0.0.1:1/maskd",
		"postgresql://maskd:" SECRET "@127.0.0.1:notaport/maskd",
		"postgresql://127.0.0.1:1/maskd?password=" SECRET "&connect_timeout=2",
		"postgresql://maskd:" SECRET "@127.0.0.1:1/maskd?bogus_option=1",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		void *b = NULL;
		char err[512];
		int rc = store_pg_open(urls[i], NULL, &b, err, sizeof(err));
		assert_true(rc < 0);
		assert_null(b);
		assert_non_null(strstr(err, "MASKD_DB"));
		if (strstr(err, SECRET) != NULL)
			fail_msg("password in \"%s\"", err);
	}
}

static void array_literals_quote(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	const char *items[] = {"num_a", "x\"y", "b\\s"};
	array_literal(&b, items, 3);
	assert_string_equal(b.data, "{\"num_a\",\"x\\\"y\",\"b\\\\s\"}");
	array_literal(&b, items, 0);
	assert_string_equal(b.data, "{}");
	buf_free(&b);
}

/* ---------------------------------------------------------------- with a database */

struct fixture {
	char dbname[64];
	char url[1024];
	char dir[64];
	struct vault *vault;
	struct store *st;
	struct service svc;
	char nums[POOL][ID_MAX];
};

static const char *pg_url(void)
{
	const char *u = getenv("MASKD_TEST_PG_URL");
	return u != NULL && u[0] != '\0' ? u : NULL;
}

/* admin_url with its database replaced by dbname. */
static void url_with_db(const char *admin_url, const char *dbname, char *out, size_t cap)
{
	const char *host = strstr(admin_url, "://");
	assert_non_null(host);
	const char *path = strchr(host + 3, '/');
	const char *query = strchr(host + 3, '?');
	size_t keep = path ? (size_t)(path - admin_url) : query ? (size_t)(query - admin_url) : strlen(admin_url);
	snprintf(out, cap, "%.*s/%s%s", (int)keep, admin_url, dbname, query ? query : "");
}

static void admin_exec(const char *sql)
{
	PGconn *pg = PQconnectdb(pg_url());
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	PGresult *r = PQexec(pg, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
	PQfinish(pg);
}

static void add_number(struct fixture *f, int i)
{
	struct number n;
	memset(&n, 0, sizeof(n));
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", f->svc.id);
	assert_true(i >= 0 && i < 100);
	snprintf(n.e164, sizeof(n.e164), "+1415555%04u", (unsigned)(100 + i) % 10000u);
	snprintf(n.country, sizeof(n.country), "US");
	n.caps = CAP_ALL;
	n.created_at = i;
	assert_int_equal(store_number_insert(f->st, &n), 0);
	snprintf(f->nums[i], ID_MAX, "%s", n.id);
}

static int setup(void **state)
{
	if (pg_url() == NULL)
		return 0; /* each test skips */
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t rnd[6];
	char hex[13];
	random_bytes(rnd, sizeof(rnd));
	hex_encode(rnd, sizeof(rnd), hex);
	snprintf(f->dbname, sizeof(f->dbname), "maskd_unit_%s", hex);
	char sql[128];
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->dbname);
	admin_exec(sql);
	url_with_db(pg_url(), f->dbname, f->url, sizeof(f->url));
	snprintf(f->dir, sizeof(f->dir), "/tmp/maskd-test-pg-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char key[128], err[512];
	snprintf(key, sizeof(key), "%s/vault.key", f->dir);
	assert_int_equal(vault_load(key, &f->vault, err, sizeof(err)), 0);
	if (store_open(f->url, f->vault, &f->st, err, sizeof(err)) < 0)
		fail_msg("store_open: %s", err);
	id_new("svc", f->svc.id);
	snprintf(f->svc.name, sizeof(f->svc.name), "Rides");
	snprintf(f->svc.secrets[DIALECT_TWILIO], sizeof(f->svc.secrets[0]), "{\"auth_token\":\"tok\"}");
	f->svc.mode = MODE_VOICE_AND_MESSAGE;
	f->svc.policy.consent_message[0] = '\0';
	assert_int_equal(store_service_insert(f->st, &f->svc), 0);
	for (int i = 0; i < POOL; i++)
		add_number(f, i);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		return 0;
	store_close(f->st);
	vault_free(f->vault);
	char sql[128];
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->dbname);
	admin_exec(sql);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

#define NEED_DB(state)                                                      \
	struct fixture *f = *(state);                                       \
	if (f == NULL)                                                      \
	skip()

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

static int64_t sql_count(struct fixture *f, const char *sql)
{
	PGconn *pg = PQconnectdb(f->url);
	assert_int_equal(PQstatus(pg), CONNECTION_OK);
	PGresult *r = PQexec(pg, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg));
	int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(pg);
	return n;
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
	r->rc = create_default(r->f->st, &r->s, 1000, &r->failed);
	return NULL;
}

/* THREADS sessions at once, all with the same real number, on POOL numbers: POOL of
 * them get a number each (never one twice), the rest find the pool exhausted. */
static void same_real_number_in_parallel(void **state)
{
	NEED_DB(state);
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
	assert_int_equal(ok, POOL);
	assert_int_equal(exhausted, THREADS - POOL);
	assert_int_equal(sql_count(f, "SELECT COUNT(DISTINCT proxy_number_id) FROM participants WHERE active = 1 AND idx = 0"),
			 POOL);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM (SELECT n.id FROM numbers n LEFT JOIN participants p "
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
	NEED_DB(state);
	struct session s;
	fill_session(f, &s, HOT, "+12129674000", 0);
	int failed;
	assert_int_equal(create_default(f->st, &s, 1000, &failed), 0);
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
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM interactions"), 1);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM legs"), 1);
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
		a->rc = store_sessions_expire(a->st, 5000, 7, &n);
		a->closed += n;
		if (a->rc < 0 || n == 0)
			return NULL;
	}
}

/* Two stores (two nodes) sweeping the same due sessions at once: each closed once,
 * every binding given back once. */
static void two_sweepers_close_each_once(void **state)
{
	NEED_DB(state);
	enum { N = 60 };
	for (int i = 0; i < N; i++) {
		struct session s;
		char a[32], b[32];
		snprintf(a, sizeof(a), "+1415237%04d", 2000 + i);
		snprintf(b, sizeof(b), "+1212967%04d", 4000 + i);
		fill_session(f, &s, a, b, 10);
		int failed;
		assert_int_equal(create_default(f->st, &s, 1000, &failed), 0);
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
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM sessions WHERE status < 2"), 0);
	assert_int_equal(sql_count(f, "SELECT COALESCE(SUM(in_use), 0) FROM numbers"), 0);
}

/* The server drops every connection (a restart, a failover): the next call on the
 * same thread reconnects instead of failing. */
static void dropped_connections_come_back(void **state)
{
	NEED_DB(state);
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
	NEED_DB(state);
	PGconn *pg = PQconnectdb(f->url);
	PQclear(PQexec(pg, "INSERT INTO schema_migrations VALUES (999, 0)"));
	PQfinish(pg);
	struct store *st = NULL;
	char err[512];
	assert_int_equal(store_open(f->url, f->vault, &st, err, sizeof(err)), MASKD_EINVAL);
	assert_non_null(strstr(err, "MASKD_DB"));
	assert_non_null(strstr(err, "version 999"));
}

int main(void)
{
	crypto_init();
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scrub_removes_every_spelling),
		cmocka_unit_test(open_refuses_without_leaking),
		cmocka_unit_test(array_literals_quote),
		cmocka_unit_test_setup_teardown(same_real_number_in_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(same_webhook_in_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(two_sweepers_close_each_once, setup, teardown),
		cmocka_unit_test_setup_teardown(dropped_connections_come_back, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
