/* SPDX-License-Identifier: MIT */
/* test_store_pg.c - the PostgreSQL backend. Always: no libpq message echoed at start
 * carries the password, array literals quote. With MASKD_TEST_PG_URL (a superuser
 * URL, scripts/pg-test-server url DIR) also, each on a fresh database: the races
 * several nodes run into (many threads binding the same real number, the same
 * webhook recorded in parallel, two sweepers, one pair re-opened and created at
 * once), a dropped connection, a newer schema refused, and the pool and session
 * policy (geo levels, sticky, cool-off, cap, swap, re-open, unique_name, PIN,
 * single-party, opt-out, block). Reaches the backend's helpers through pg_internal.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/store/pg/pg_internal.h"
#include "flow/jobs.h"
#include "flow/lifecycle.h"
#include "store/migrations.h"
#include "store/store.h"
#include "flow/sessions.h"
#include "util/crypto.h"
#include "util/ids.h"

#include <stdlib.h>
#include <unistd.h>
#include "vectors.h"
#include "store_tx_contract.h"


#define SECRET "Sup3r-s3cret_pw"
#define HOT "+14152371234"
#define THREADS 12
#define POOL 8

/* ---------------------------------------------------------------- always */

static void assert_scrubbed(const char *url, const char *msg)
{
	char out[512];
	pg_scrub_message(url, msg, out, sizeof(out));
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
	pg_scrub_message("postgresql://u:" SECRET "@h/d", "connection to server at \"h\" failed:\n\tFATAL:  nope\n", out,
		      sizeof(out));
	assert_string_equal(out, "connection to server at \"h\" failed: FATAL:  nope");
	/* cut to the buffer, still terminated */
	pg_scrub_message("postgresql://h/d", "0123456789", out, 5);
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
	pg_array_literal(&b, items, 3);
	assert_string_equal(b.data, "{\"num_a\",\"x\\\"y\",\"b\\\\s\"}");
	pg_array_literal(&b, items, 0);
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
	r->rc = vectors_session_create(r->f->st, &r->s, 1000, &r->failed);
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
	NEED_DB(state);
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
	int64_t t0 = pg_mono_ms();
	for (int i = 0; i < 20; i++)
		assert_int_equal(store_ping(f->st), MASKD_EDB);
	assert_true(pg_mono_ms() - t0 < 1000);
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

/* A database written before migration 2: opening it applies migration 2, its
 * service reads with the policy defaults, and the start-up backfill geocodes
 * the region of its older numbers (the same upgrade test_store.c runs on SQLite). */
static void upgrade_from_schema_1(void **state)
{
	NEED_DB(state);
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

/* ---------------------------------------------------------------- issue 4: pool and session policy */

#define PA "+14152370001"
#define PB "+12129670002"
#define PC "+13105550003"
#define PD "+16175550004"

static int e164_seq;

/* A second service of f's store with its own (empty) pool and these rules. */
static void svc_new(struct fixture *f, struct service *svc, int64_t cooloff, int reuse, int cap)
{
	memset(svc, 0, sizeof(*svc));
	id_new("svc", svc->id);
	snprintf(svc->name, sizeof(svc->name), "Pool");
	svc->mode = MODE_VOICE_AND_MESSAGE;
	svc->cooloff = cooloff;
	svc->cooloff_reuse = reuse;
	svc->number_cap = cap;
	assert_int_equal(store_service_insert(f->st, svc), 0);
}

static void num_new(struct fixture *f, const char *service_id, const char *country, const char *area,
		    const char *region, int64_t created_at, char id[ID_MAX])
{
	struct number n;
	memset(&n, 0, sizeof(n));
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", service_id);
	snprintf(n.e164, sizeof(n.e164), "+1646555%04d", e164_seq++);
	snprintf(n.country, sizeof(n.country), "%s", country);
	snprintf(n.area_code, sizeof(n.area_code), "%s", area);
	snprintf(n.region, sizeof(n.region), "%s", region);
	n.caps = CAP_ALL;
	n.created_at = created_at;
	assert_int_equal(store_number_insert(f->st, &n), 0);
	snprintf(id, ID_MAX, "%s", n.id);
}

/* A session of service_id with n participants (a, then b), country US. */
static void ses_fill(struct session *s, const char *service_id, int n, const char *a, const char *b)
{
	memset(s, 0, sizeof(*s));
	id_new("ses", s->id);
	snprintf(s->service_id, sizeof(s->service_id), "%s", service_id);
	s->mode = MODE_VOICE_AND_MESSAGE;
	s->policy = (struct call_policy){.record = -1, .time_limit = -1, .ring_timeout = -1};
	s->n_participants = n;
	const char *nums[2] = {a, b};
	for (int i = 0; i < n; i++) {
		id_new("par", s->participants[i].id);
		snprintf(s->participants[i].number, sizeof(s->participants[i].number), "%s", nums[i]);
		snprintf(s->participants[i].masked, sizeof(s->participants[i].masked), "+1******%.4s", nums[i] + 8);
		snprintf(s->participants[i].country, sizeof(s->participants[i].country), "US");
	}
}

static struct create_rules rules_of(const struct service *svc)
{
	return (struct create_rules){.pool = svc->pool, .number_cap = svc->number_cap, .cooloff_reuse = svc->cooloff_reuse};
}

static int create_in(struct fixture *f, const struct service *svc, struct session *s, int64_t now,
		     struct create_outcome *o)
{
	struct create_rules r = rules_of(svc);
	return sessions_create_bound(f->st, s, &r, now, o);
}

static int64_t in_use_of(struct fixture *f, const char *id)
{
	struct number n;
	assert_int_equal(store_number_get(f->st, id, &n), 0);
	return n.in_use;
}

static void route(struct fixture *f, const char *proxy, const char *from, struct route_view *rv)
{
	assert_int_equal(store_route_lookup(f->st, proxy, from, rv), 0);
}

/* in_use of every number equals its open sessions, and no open session is
 * without its bindings */
static void assert_counts_consistent(struct fixture *f)
{
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM (SELECT n.id FROM numbers n LEFT JOIN participants p "
				      "ON p.proxy_number_id = n.id AND p.active = 1 AND p.held_until IS NULL "
				      "GROUP BY n.id HAVING n.in_use <> COUNT(DISTINCT p.session_id)) x"),
			 0);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM participants p JOIN sessions s ON s.id = p.session_id "
				      "WHERE (s.status < 2) <> (p.active = 1 AND p.held_until IS NULL)"),
			 0);
}

struct events {
	int n;
	char kind[8][24];
	char detail[8][128];
	char participant[8][ID_MAX];
};

static void collect_event(void *ctx, const struct session_event *e)
{
	struct events *ev = ctx;
	if (ev->n < 8) {
		snprintf(ev->kind[ev->n], sizeof(ev->kind[0]), "%s", e->kind);
		snprintf(ev->detail[ev->n], sizeof(ev->detail[0]), "%s", e->detail);
		snprintf(ev->participant[ev->n], sizeof(ev->participant[0]), "%s", e->participant_id);
	}
	ev->n++;
}

static void events_of(struct fixture *f, const char *session_id, struct events *ev)
{
	memset(ev, 0, sizeof(*ev));
	assert_int_equal(store_session_events(f->st, session_id, collect_event, ev), 0);
}

/* Every new service field survives insert and get; numbers keep their region. */
static void service_and_number_fields(void **state)
{
	NEED_DB(state);
	struct service svc;
	memset(&svc, 0, sizeof(svc));
	id_new("svc", svc.id);
	snprintf(svc.name, sizeof(svc.name), "All");
	svc.mode = MODE_VOICE;
	svc.pool = (struct pool_rules){GEO_REGION, 1, SELECT_AVOID_STICKY};
	svc.cooloff = 7200;
	svc.cooloff_reuse = 1;
	svc.number_cap = 55;
	svc.unknown_caller = UNKNOWN_PIN;
	snprintf(svc.fallback_number, sizeof(svc.fallback_number), "+18005550100");
	snprintf(svc.pin_number, sizeof(svc.pin_number), "+18005550101");
	svc.pin_length = 7;
	svc.pin_attempts = 5;
	snprintf(svc.callback_url, sizeof(svc.callback_url), "https://app.example/cb");
	svc.callback_timeout_ms = 1500;
	svc.callback_fail_open = 1;
	snprintf(svc.ended_message, sizeof(svc.ended_message), "This conversation has ended.");
	snprintf(svc.help_text, sizeof(svc.help_text), "Help: example.com");
	svc.rate_calls = 10;
	svc.rate_texts = 20;
	svc.rate_silent = 1;
	assert_int_equal(store_service_insert(f->st, &svc), 0);
	struct service got;
	assert_int_equal(store_service_get(f->st, svc.id, &got), 0); /* first read: from the database */
	assert_int_equal(got.pool.geo_match, GEO_REGION);
	assert_int_equal(got.pool.geo_match_strict, 1);
	assert_int_equal(got.pool.number_selection, SELECT_AVOID_STICKY);
	assert_int_equal(got.cooloff, 7200);
	assert_int_equal(got.cooloff_reuse, 1);
	assert_int_equal(got.number_cap, 55);
	assert_int_equal(got.unknown_caller, UNKNOWN_PIN);
	assert_string_equal(got.fallback_number, "+18005550100");
	assert_string_equal(got.pin_number, "+18005550101");
	assert_int_equal(got.pin_length, 7);
	assert_int_equal(got.pin_attempts, 5);
	assert_string_equal(got.callback_url, "https://app.example/cb");
	assert_int_equal(got.callback_timeout_ms, 1500);
	assert_int_equal(got.callback_fail_open, 1);
	assert_string_equal(got.ended_message, "This conversation has ended.");
	assert_string_equal(got.help_text, "Help: example.com");
	assert_int_equal(got.rate_calls, 10);
	assert_int_equal(got.rate_texts, 20);
	assert_int_equal(got.rate_silent, 1);
	char id[ID_MAX];
	num_new(f, svc.id, "US", "415", "California", 1, id);
	struct number n;
	assert_int_equal(store_number_get(f->st, id, &n), 0);
	assert_string_equal(n.region, "California");
	assert_string_equal(n.area_code, "415");
	assert_int_equal(n.cooling, 0);
	/* the start-up backfill's write */
	assert_int_equal(store_number_set_region(f->st, id, "Nevada"), 0);
	assert_int_equal(store_number_get(f->st, id, &n), 0);
	assert_string_equal(n.region, "Nevada");
	assert_int_equal(store_number_set_region(f->st, "num_nope", "X"), MASKD_ENOTFOUND);
}

/* Area code, then region, then country, then anywhere; strict stops at the first. */
static void geo_levels_and_strict(void **state)
{
	NEED_DB(state);
	struct service svc;
	svc_new(f, &svc, 0, 0, 0);
	svc.pool.geo_match = GEO_AREA_CODE;
	char sf[ID_MAX], la[ID_MAX], ny[ID_MAX], ca[ID_MAX];
	num_new(f, svc.id, "US", "212", "New York", 1, ny);
	num_new(f, svc.id, "CA", "604", "British Columbia", 2, ca);
	num_new(f, svc.id, "US", "213", "California", 3, la);
	num_new(f, svc.id, "US", "415", "California", 4, sf);
	struct session s;
	struct create_outcome o;
	ses_fill(&s, svc.id, 2, PA, PB);
	/* PA: 415 California -> the 415 number; PB: 310 California -> a California one */
	snprintf(s.participants[0].area_code, 8, "415");
	snprintf(s.participants[0].region, sizeof(s.participants[0].region), "California");
	snprintf(s.participants[1].area_code, 8, "310");
	snprintf(s.participants[1].region, sizeof(s.participants[1].region), "California");
	assert_int_equal(create_in(f, &svc, &s, 100, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, sf);
	assert_int_equal(o.level[0], GEO_AREA_CODE);
	assert_string_equal(s.participants[1].proxy_number_id, la);
	assert_int_equal(o.level[1], GEO_REGION);
	/* free_left counts at the widest level PA may get (any, not strict): the other three */
	assert_int_equal(o.free_left[0], 3);
	assert_int_equal(o.held[0], 1);
	/* PC: no area code or region known (a mobile) -> country: ny is the least loaded */
	ses_fill(&s, svc.id, 2, PC, PD);
	snprintf(s.participants[1].country, 3, "CA");
	assert_int_equal(create_in(f, &svc, &s, 101, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, ny);
	assert_int_equal(o.level[0], GEO_COUNTRY);
	assert_int_equal(o.free_left[0], 3); /* la, sf and ca are free for it (any level) */
	assert_string_equal(s.participants[1].proxy_number_id, ca);
	assert_int_equal(o.level[1], GEO_COUNTRY);
	/* a country with no number: anywhere */
	ses_fill(&s, svc.id, 1, "+442071234567", NULL);
	snprintf(s.participants[0].country, 3, "GB");
	assert_int_equal(create_in(f, &svc, &s, 102, &o), 0);
	assert_int_equal(o.level[0], GEO_ANY);
	assert_int_equal(o.free_left[0], 3);
	/* strict area code: 999 has none -> 409 naming the level; no area code -> none either */
	svc.pool.geo_match_strict = 1;
	ses_fill(&s, svc.id, 2, "+19995550001", "+19995550002");
	snprintf(s.participants[0].area_code, 8, "415");
	snprintf(s.participants[1].area_code, 8, "999");
	assert_int_equal(create_in(f, &svc, &s, 103, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_index, 1);
	assert_int_equal(o.failed_level, GEO_AREA_CODE);
	ses_fill(&s, svc.id, 1, "+19995550003", NULL);
	assert_int_equal(create_in(f, &svc, &s, 104, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_index, 0);
	/* strict region */
	svc.pool.geo_match = GEO_REGION;
	ses_fill(&s, svc.id, 1, "+19995550004", NULL);
	snprintf(s.participants[0].region, sizeof(s.participants[0].region), "British Columbia");
	snprintf(s.participants[0].country, 3, "CA");
	assert_int_equal(create_in(f, &svc, &s, 105, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, ca);
	assert_int_equal(o.level[0], GEO_REGION);
	assert_counts_consistent(f);
}

/* The same pair gets its numbers back after a close; avoid-sticky steers away. */
static void sticky_after_close(void **state)
{
	NEED_DB(state);
	struct service svc;
	svc_new(f, &svc, 0, 0, 0);
	char n0[ID_MAX], n1[ID_MAX], n2[ID_MAX];
	num_new(f, svc.id, "US", "", "", 1, n0);
	num_new(f, svc.id, "US", "", "", 2, n1);
	num_new(f, svc.id, "US", "", "", 3, n2);
	struct session s, other;
	struct create_outcome o;
	ses_fill(&s, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &s, 100, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, n0);
	assert_string_equal(s.participants[1].proxy_number_id, n1);
	assert_int_equal(o.sticky[0], 0);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 200), 0);
	/* another pair loads n0 and n1, so the pool rule alone would give n2 */
	ses_fill(&other, svc.id, 2, PC, PD);
	assert_int_equal(create_in(f, &svc, &other, 300, &o), 0);
	ses_fill(&s, svc.id, 2, PB, PA); /* the other way round: still the same pair */
	assert_int_equal(create_in(f, &svc, &s, 400, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, n1);
	assert_string_equal(s.participants[1].proxy_number_id, n0);
	assert_int_equal(o.sticky[0], 1);
	assert_int_equal(o.sticky[1], 1);
	assert_int_equal(o.reused_cooling[0], 0);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 500), 0);
	/* avoid-sticky: anything but last time's number */
	svc.pool.number_selection = SELECT_AVOID_STICKY;
	assert_int_equal(lifecycle_close(f->st, other.id, SESSION_CLOSED, 550), 0);
	ses_fill(&s, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &s, 600, &o), 0);
	assert_string_not_equal(s.participants[0].proxy_number_id, n0);
	assert_string_not_equal(s.participants[1].proxy_number_id, n1);
	assert_int_equal(o.sticky[0], 0);
	assert_counts_consistent(f);
}

static void sum_cooling(void *ctx, const struct number *n)
{
	*(int64_t *)ctx += n->cooling;
}

/* A closed session's bindings stay held for the cool-off: routable (closed),
 * not given to the same real number again, then released by the sweeper. */
static void cooloff_hold_and_release(void **state)
{
	NEED_DB(state);
	struct service svc;
	svc_new(f, &svc, 3600, 0, 0);
	char n0[ID_MAX];
	num_new(f, svc.id, "US", "", "", 1, n0);
	struct session s;
	struct create_outcome o;
	ses_fill(&s, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &s, 100, &o), 0);
	char proxy[PHONE_E164_MAX + 1];
	snprintf(proxy, sizeof(proxy), "%s", s.participants[0].proxy_e164);
	assert_int_equal(in_use_of(f, n0), 1);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 1000), 0);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 1001), 0); /* idempotent */
	struct number n;
	assert_int_equal(store_number_get(f->st, n0, &n), 0);
	assert_int_equal(n.in_use, 0);
	assert_int_equal(n.cooling, 2);
	int64_t cooling = 0;
	assert_int_equal(store_number_list(f->st, svc.id, sum_cooling, &cooling), 0);
	assert_int_equal(cooling, 2);
	struct store_stats st;
	assert_int_equal(store_stats(f->st, &st), 0);
	assert_int_equal(st.bindings_cooling, 2);
	struct route_view rv;
	route(f, proxy, PA, &rv);
	assert_string_equal(rv.session_id, s.id);
	assert_int_equal(rv.session_status, SESSION_CLOSED);
	assert_string_equal(rv.to_number, PB);
	/* PA with someone else: its only number is cooling off for PA+PB */
	struct session t;
	ses_fill(&t, svc.id, 2, PA, PC);
	assert_int_equal(create_in(f, &svc, &t, 1100, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_index, 0);
	/* and named: cooling for another pair, no reuse */
	ses_fill(&t, svc.id, 2, PA, PC);
	snprintf(t.participants[0].proxy_e164, sizeof(t.participants[0].proxy_e164), "%s", proxy);
	assert_int_equal(create_in(f, &svc, &t, 1100, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, 0);
	int released = -1;
	assert_int_equal(lifecycle_bindings_release(f->st, 1000 + 3599, 100, &released), 0);
	assert_int_equal(released, 0);
	assert_int_equal(lifecycle_bindings_release(f->st, 1000 + 3600, 1, &released), 0);
	assert_int_equal(released, 1);
	assert_int_equal(lifecycle_bindings_release(f->st, 1000 + 3600, 100, &released), 0);
	assert_int_equal(released, 1);
	route(f, proxy, PA, &rv);
	assert_string_equal(rv.session_id, "");
	ses_fill(&t, svc.id, 2, PA, PC);
	assert_int_equal(create_in(f, &svc, &t, 5000, &o), 0);
	assert_int_equal(o.reused_cooling[0], 0);
	assert_counts_consistent(f);
}

/* cooloff_reuse: a cooling-off binding is taken when nothing else fits; a
 * sticky pair takes its own cooling binding back either way. */
static void cooloff_reuse_takes_cooling(void **state)
{
	NEED_DB(state);
	struct service svc;
	svc_new(f, &svc, 3600, 1, 0);
	char n0[ID_MAX];
	num_new(f, svc.id, "US", "", "", 1, n0);
	struct session s, t;
	struct create_outcome o;
	ses_fill(&s, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &s, 100, &o), 0);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 200), 0);
	ses_fill(&t, svc.id, 2, PA, PC);
	assert_int_equal(create_in(f, &svc, &t, 300, &o), 0);
	assert_string_equal(t.participants[0].proxy_number_id, n0);
	assert_int_equal(o.reused_cooling[0], 1);
	assert_int_equal(o.reused_cooling[1], 0);
	assert_int_equal(o.sticky[0], 0);
	/* the old session's PA binding is gone: a late webhook finds the new one */
	struct route_view rv;
	route(f, t.participants[0].proxy_e164, PA, &rv);
	assert_string_equal(rv.session_id, t.id);
	route(f, t.participants[0].proxy_e164, PB, &rv);
	assert_string_equal(rv.session_id, s.id); /* PB's still cooling */
	/* the same pair, no reuse: its own cooling binding comes back (sticky) */
	struct service strict;
	svc_new(f, &strict, 3600, 0, 0);
	char m0[ID_MAX];
	num_new(f, strict.id, "US", "", "", 1, m0);
	ses_fill(&s, strict.id, 2, PA, PB);
	assert_int_equal(create_in(f, &strict, &s, 100, &o), 0);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 200), 0);
	ses_fill(&t, strict.id, 2, PA, PB);
	assert_int_equal(create_in(f, &strict, &t, 300, &o), 0);
	assert_int_equal(o.sticky[0], 1);
	assert_int_equal(o.reused_cooling[0], 1);
	assert_int_equal(o.reused_cooling[1], 1);
	assert_counts_consistent(f);
}

/* number_cap: a number at its cap is not picked, not named, and the cap holds. */
static void cap_limits_sessions_per_number(void **state)
{
	NEED_DB(state);
	struct service svc;
	svc_new(f, &svc, 0, 0, 1);
	char n0[ID_MAX], n1[ID_MAX], n2[ID_MAX];
	num_new(f, svc.id, "US", "", "", 1, n0);
	num_new(f, svc.id, "US", "", "", 2, n1);
	num_new(f, svc.id, "US", "", "", 3, n2);
	struct session s;
	struct create_outcome o;
	/* both participants on n0 would count once: but the rule spreads them */
	ses_fill(&s, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &s, 100, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, n0);
	assert_string_equal(s.participants[1].proxy_number_id, n1);
	ses_fill(&s, svc.id, 1, PC, NULL);
	assert_int_equal(create_in(f, &svc, &s, 101, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, n2);
	ses_fill(&s, svc.id, 1, PD, NULL);
	assert_int_equal(create_in(f, &svc, &s, 102, &o), MASKD_EEXHAUSTED);
	/* named at cap */
	struct number n;
	assert_int_equal(store_number_get(f->st, n0, &n), 0);
	ses_fill(&s, svc.id, 1, PD, NULL);
	snprintf(s.participants[0].proxy_e164, sizeof(s.participants[0].proxy_e164), "%s", n.e164);
	assert_int_equal(create_in(f, &svc, &s, 103, &o), MASKD_ENOTFOUND);
	/* no cap */
	svc.number_cap = 0;
	ses_fill(&s, svc.id, 1, PD, NULL);
	assert_int_equal(create_in(f, &svc, &s, 104, &o), 0);
	assert_int_equal(in_use_of(f, n0), 2);
	assert_counts_consistent(f);
}

/* A swap gives the participant another number at once and records it. */
static void swap_records_an_event(void **state)
{
	NEED_DB(state);
	struct session s;
	struct create_outcome o;
	ses_fill(&s, f->svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &f->svc, &s, 100, &o), 0);
	char old_id[ID_MAX], old_e164[PHONE_E164_MAX + 1];
	snprintf(old_id, sizeof(old_id), "%s", s.participants[0].proxy_number_id);
	snprintf(old_e164, sizeof(old_e164), "%s", s.participants[0].proxy_e164);
	struct create_rules r = rules_of(&f->svc);
	struct participant p;
	memset(&p, 0, sizeof(p));
	snprintf(p.country, 3, "US");
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &r, 200), 0);
	assert_string_not_equal(p.proxy_number_id, old_id);
	assert_int_equal(in_use_of(f, old_id), 0);
	assert_int_equal(in_use_of(f, p.proxy_number_id), 1);
	struct route_view rv;
	route(f, old_e164, PA, &rv);
	assert_string_equal(rv.session_id, "");
	route(f, p.proxy_e164, PA, &rv);
	assert_string_equal(rv.session_id, s.id);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_string_equal(got.participants[0].proxy_e164, p.proxy_e164);
	struct events ev;
	events_of(f, s.id, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.kind[0], "number_swapped");
	assert_string_equal(ev.participant[0], s.participants[0].id);
	char detail[64];
	snprintf(detail, sizeof(detail), "%s -> %s", old_e164, p.proxy_e164);
	assert_string_equal(ev.detail[0], detail);
	assert_null(strstr(ev.detail[0], PA));
	/* named: the one it has; a number not in the pool; back to the old one */
	char cur[PHONE_E164_MAX + 1];
	snprintf(cur, sizeof(cur), "%s", p.proxy_e164);
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &r, 210), MASKD_ECONFLICT);
	snprintf(p.proxy_e164, sizeof(p.proxy_e164), "+19999999999");
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &r, 210), MASKD_ENOTFOUND);
	snprintf(p.proxy_e164, sizeof(p.proxy_e164), "%s", old_e164);
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &r, 220), 0);
	assert_string_equal(p.proxy_number_id, old_id);
	assert_int_equal(sessions_participant_swap(f->st, s.id, "par_nope", &p, &r, 230), MASKD_ENOTFOUND);
	assert_int_equal(sessions_participant_swap(f->st, "ses_nope", s.participants[0].id, &p, &r, 230), MASKD_ENOTFOUND);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 300), 0);
	p.proxy_e164[0] = '\0';
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &r, 310), MASKD_ECONFLICT);
	assert_counts_consistent(f);
}

/* Re-open keeps cooling bindings, retakes released ones, refuses a taken one. */
static void reopen_restores_bindings(void **state)
{
	NEED_DB(state);
	struct service svc;
	svc_new(f, &svc, 3600, 0, 0);
	char n0[ID_MAX], n1[ID_MAX];
	num_new(f, svc.id, "US", "", "", 1, n0);
	num_new(f, svc.id, "US", "", "", 2, n1);
	struct session s;
	struct create_outcome o;
	ses_fill(&s, svc.id, 2, PA, PB);
	s.ttl = 600;
	assert_int_equal(create_in(f, &svc, &s, 100, &o), 0);
	int failed = 99;
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 150, &failed), 0); /* open: no change */
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 200), 0);
	int64_t past = 250;
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, &past, 300, &failed), MASKD_EINVAL);
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 300, &failed), 0);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_OPEN);
	assert_int_equal(got.closed_at, 0);
	assert_int_equal(got.last_activity_at, 300);
	assert_string_equal(got.participants[0].proxy_number_id, n0);
	assert_int_equal(in_use_of(f, n0), 1);
	assert_int_equal(in_use_of(f, n1), 1);
	assert_counts_consistent(f);
	/* the idle timer restarted: due at 300 + 600 */
	int closed = 0;
	assert_int_equal(lifecycle_expire(f->st, 899, 10, &closed), 0);
	assert_int_equal(closed, 0);
	assert_int_equal(lifecycle_expire(f->st, 900, 10, &closed), 0);
	assert_int_equal(closed, 1);
	struct events ev;
	events_of(f, s.id, &ev);
	assert_int_equal(ev.n, 3);
	assert_string_equal(ev.kind[0], "closed");
	assert_string_equal(ev.kind[1], "reopened");
	assert_string_equal(ev.kind[2], "closed");
	assert_string_equal(ev.detail[2], "expired");
	/* released, then PA's n0 taken by another session of PA: refused */
	int released = 0;
	assert_int_equal(lifecycle_bindings_release(f->st, 900 + 3600, 10, &released), 0);
	assert_int_equal(released, 2);
	struct session t;
	ses_fill(&t, svc.id, 1, PA, NULL);
	assert_int_equal(create_in(f, &svc, &t, 5000, &o), 0);
	assert_string_equal(t.participants[0].proxy_number_id, n0);
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 5100, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, 0);
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_CLOSED, 5200), 0);
	assert_int_equal(lifecycle_bindings_release(f->st, 5200 + 3600, 10, &released), 0);
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 9000, &failed), 0);
	assert_int_equal(in_use_of(f, n0), 1);
	route(f, got.participants[0].proxy_e164, PA, &(struct route_view){0});
	assert_counts_consistent(f);
	assert_int_equal(lifecycle_reopen(f->st, "ses_nope", NULL, NULL, 9000, &failed), MASKD_ENOTFOUND);
}

/* unique_name: the same pair gets the open session back, another pair a 409. */
static void unique_name_create_or_return(void **state)
{
	NEED_DB(state);
	struct session s, t;
	struct create_outcome o;
	ses_fill(&s, f->svc.id, 2, PA, PB);
	snprintf(s.unique_name, sizeof(s.unique_name), "order-1");
	assert_int_equal(create_in(f, &f->svc, &s, 100, &o), 0);
	ses_fill(&t, f->svc.id, 2, PB, PA);
	snprintf(t.unique_name, sizeof(t.unique_name), "order-1");
	assert_int_equal(create_in(f, &f->svc, &t, 110, &o), MASKD_EEXISTS);
	assert_string_equal(o.existing_id, s.id);
	ses_fill(&t, f->svc.id, 2, PA, PC);
	snprintf(t.unique_name, sizeof(t.unique_name), "order-1");
	assert_int_equal(create_in(f, &f->svc, &t, 120, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, CREATE_FAIL_UNIQUE_NAME);
	ses_fill(&t, f->svc.id, 1, PA, NULL);
	snprintf(t.unique_name, sizeof(t.unique_name), "order-1");
	assert_int_equal(create_in(f, &f->svc, &t, 120, &o), MASKD_ECONFLICT);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM sessions"), 1);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 200), 0);
	ses_fill(&t, f->svc.id, 2, PA, PC);
	snprintf(t.unique_name, sizeof(t.unique_name), "order-1");
	assert_int_equal(create_in(f, &f->svc, &t, 300, &o), 0);
	assert_counts_consistent(f);
}

/* A PIN is unique among open sessions; pin_lookup finds the caller's session. */
static void pin_unique_and_lookup(void **state)
{
	NEED_DB(state);
	struct session s, t;
	struct create_outcome o;
	ses_fill(&s, f->svc.id, 2, PA, PB);
	snprintf(s.pin, sizeof(s.pin), "123456");
	assert_int_equal(create_in(f, &f->svc, &s, 100, &o), 0);
	ses_fill(&t, f->svc.id, 2, PC, PD);
	snprintf(t.pin, sizeof(t.pin), "123456");
	assert_int_equal(create_in(f, &f->svc, &t, 110, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, CREATE_FAIL_PIN);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_string_equal(got.pin, "123456");
	struct route_view rv;
	memset(&rv, 0, sizeof(rv));
	snprintf(rv.number.id, sizeof(rv.number.id), "num_shared");
	assert_int_equal(store_pin_lookup(f->st, f->svc.id, "123456", PA, &rv), 0);
	assert_string_equal(rv.number.id, "num_shared"); /* left alone */
	assert_string_equal(rv.session_id, s.id);
	assert_string_equal(rv.from_participant, s.participants[0].id);
	assert_string_equal(rv.to_participant, s.participants[1].id);
	assert_string_equal(rv.to_number, PB);
	assert_string_equal(rv.to_proxy_e164, s.participants[1].proxy_e164);
	assert_int_equal(store_pin_lookup(f->st, f->svc.id, "654321", PA, &rv), MASKD_ENOTFOUND);
	assert_int_equal(store_pin_lookup(f->st, f->svc.id, "123456", PC, &rv), MASKD_ENOTFOUND);
	assert_string_equal(rv.number.id, "num_shared");
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 200), 0);
	assert_int_equal(store_pin_lookup(f->st, f->svc.id, "123456", PA, &rv), MASKD_ENOTFOUND);
	ses_fill(&t, f->svc.id, 2, PC, PD);
	snprintf(t.pin, sizeof(t.pin), "123456");
	assert_int_equal(create_in(f, &f->svc, &t, 300, &o), 0);
	/* re-opening s now: its PIN is taken */
	int failed = 0;
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 400, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, CREATE_FAIL_PIN);
}

/* A single-party session routes with no other side until its second joins. */
static void single_party_then_add(void **state)
{
	NEED_DB(state);
	struct session s;
	struct create_outcome o;
	ses_fill(&s, f->svc.id, 1, PA, NULL);
	assert_int_equal(create_in(f, &f->svc, &s, 100, &o), 0);
	struct route_view rv;
	route(f, s.participants[0].proxy_e164, PA, &rv);
	assert_string_equal(rv.session_id, s.id);
	assert_string_equal(rv.to_participant, "");
	assert_string_equal(rv.to_number, "");
	assert_string_equal(rv.to_proxy_e164, "");
	struct create_rules r = rules_of(&f->svc);
	struct participant p;
	memset(&p, 0, sizeof(p));
	id_new("par", p.id);
	snprintf(p.number, sizeof(p.number), "%s", PA);
	snprintf(p.country, 3, "US");
	assert_int_equal(sessions_participant_add(f->st, s.id, &p, &r, 150, &o), MASKD_EINVAL);
	snprintf(p.number, sizeof(p.number), "%s", PB);
	snprintf(p.masked, sizeof(p.masked), "+1******0002");
	assert_int_equal(sessions_participant_add(f->st, s.id, &p, &r, 200, &o), 0);
	assert_int_equal(o.held[1], 1);
	assert_true(p.proxy_number_id[0] != '\0');
	route(f, s.participants[0].proxy_e164, PA, &rv);
	assert_string_equal(rv.to_number, PB);
	assert_string_equal(rv.to_participant, p.id);
	route(f, p.proxy_e164, PB, &rv);
	assert_string_equal(rv.to_number, PA);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.n_participants, 2);
	struct participant q = p;
	id_new("par", q.id);
	snprintf(q.number, sizeof(q.number), "%s", PC);
	q.proxy_e164[0] = '\0';
	assert_int_equal(sessions_participant_add(f->st, s.id, &q, &r, 210, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, -1);
	assert_int_equal(sessions_participant_add(f->st, "ses_nope", &q, &r, 210, &o), MASKD_ENOTFOUND);
	struct events ev;
	events_of(f, s.id, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.kind[0], "participant_added");
	assert_string_equal(ev.participant[0], p.id);
	assert_counts_consistent(f);
	/* the pair formed by add is sticky next time */
	char a_num[ID_MAX], b_num[ID_MAX];
	snprintf(a_num, sizeof(a_num), "%s", s.participants[0].proxy_number_id);
	snprintf(b_num, sizeof(b_num), "%s", p.proxy_number_id);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 300), 0);
	struct session other;
	ses_fill(&other, f->svc.id, 2, PC, PD); /* loads the lowest numbers */
	assert_int_equal(create_in(f, &f->svc, &other, 350, &o), 0);
	ses_fill(&s, f->svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &f->svc, &s, 400, &o), 0);
	assert_int_equal(o.sticky[0], 1);
	assert_int_equal(o.sticky[1], 1);
	assert_string_equal(s.participants[0].proxy_number_id, a_num);
	assert_string_equal(s.participants[1].proxy_number_id, b_num);
	/* named for the second, already held by that real number: failed_index 1 */
	ses_fill(&other, f->svc.id, 1, PC, NULL);
	assert_int_equal(create_in(f, &f->svc, &other, 500, &o), 0);
	memset(&q, 0, sizeof(q));
	id_new("par", q.id);
	snprintf(q.number, sizeof(q.number), "%s", PA);
	snprintf(q.proxy_e164, sizeof(q.proxy_e164), "%s", s.participants[0].proxy_e164);
	assert_int_equal(sessions_participant_add(f->st, other.id, &q, &r, 510, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, 1);
}

/* STOP on a proxy number marks the other side's view; START clears it. */
static void optout_marks_route(void **state)
{
	NEED_DB(state);
	struct session s;
	struct create_outcome o;
	ses_fill(&s, f->svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &f->svc, &s, 100, &o), 0);
	struct route_view rv;
	route(f, s.participants[0].proxy_e164, PA, &rv);
	assert_int_equal(rv.to_opted_out, 0);
	const char *b_num = s.participants[1].proxy_number_id;
	assert_int_equal(store_optout_set(f->st, f->svc.id, PB, b_num, 1, 200), 0);
	assert_int_equal(store_optout_set(f->st, f->svc.id, PB, b_num, 1, 201), 0);
	route(f, s.participants[0].proxy_e164, PA, &rv);
	assert_int_equal(rv.to_opted_out, 1);
	route(f, s.participants[1].proxy_e164, PB, &rv);
	assert_int_equal(rv.to_opted_out, 0); /* PA did not */
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM optouts"), 1);
	assert_int_equal(store_optout_set(f->st, f->svc.id, PB, b_num, 0, 300), 0);
	assert_int_equal(store_optout_set(f->st, f->svc.id, PB, b_num, 0, 301), 0);
	route(f, s.participants[0].proxy_e164, PA, &rv);
	assert_int_equal(rv.to_opted_out, 0);
	/* a deleted number takes its opt-outs and cooling bindings with it */
	assert_int_equal(store_optout_set(f->st, f->svc.id, PB, b_num, 1, 400), 0);
	assert_int_equal(store_number_delete(f->st, b_num), MASKD_ECONFLICT);
	struct service svc;
	svc_new(f, &svc, 3600, 0, 0);
	char n0[ID_MAX];
	num_new(f, svc.id, "US", "", "", 1, n0);
	struct session t;
	ses_fill(&t, svc.id, 2, PC, PD);
	assert_int_equal(create_in(f, &svc, &t, 100, &o), 0);
	assert_int_equal(store_optout_set(f->st, svc.id, PD, n0, 1, 150), 0);
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_CLOSED, 200), 0);
	assert_int_equal(store_number_delete(f->st, n0), 0);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM optouts"), 1);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM participants WHERE active = 1 AND held_until IS NOT NULL"), 0);
	assert_int_equal(store_number_delete(f->st, n0), MASKD_ENOTFOUND);
}

/* Blocking: an open session, a closed one, and close after block. */
static void block_and_close(void **state)
{
	NEED_DB(state);
	struct service svc;
	svc_new(f, &svc, 3600, 0, 0);
	char n0[ID_MAX];
	num_new(f, svc.id, "US", "", "", 1, n0);
	struct session s;
	struct create_outcome o;
	ses_fill(&s, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &s, 100, &o), 0);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_FAILED, 150), MASKD_EINVAL);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_BLOCKED, 200), 0);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_BLOCKED);
	assert_int_equal(got.closed_at, 200);
	assert_int_equal(in_use_of(f, n0), 0);
	struct route_view rv;
	route(f, s.participants[0].proxy_e164, PA, &rv);
	assert_int_equal(rv.session_status, SESSION_BLOCKED); /* cooling off, blocked */
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 300), 0);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_BLOCKED, 310), 0);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_BLOCKED);
	/* a closed session blocked later */
	struct session t;
	ses_fill(&t, svc.id, 2, PC, PD);
	assert_int_equal(create_in(f, &svc, &t, 400, &o), 0);
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_CLOSED, 500), 0);
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_BLOCKED, 600), 0);
	assert_int_equal(store_session_get(f->st, t.id, &got), 0);
	assert_int_equal(got.status, SESSION_BLOCKED);
	assert_int_equal(got.closed_at, 500);
	struct events ev;
	events_of(f, s.id, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.kind[0], "blocked");
	events_of(f, t.id, &ev);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.kind[0], "closed");
	assert_string_equal(ev.kind[1], "blocked");
	assert_int_equal(lifecycle_close(f->st, "ses_nope", SESSION_BLOCKED, 700), MASKD_ENOTFOUND);
	struct store_stats st;
	assert_int_equal(store_stats(f->st, &st), 0);
	assert_int_equal(st.bindings_cooling, 4);
	assert_int_equal(st.bindings_active, 0);
	assert_int_equal(st.numbers, POOL + 1);
	assert_int_equal(st.numbers_active, POOL + 1);
	/* re-open a blocked session: its cooling bindings are kept */
	int failed;
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 800, &failed), 0);
	assert_int_equal(in_use_of(f, n0), 1);
	struct pool_stats ps;
	assert_int_equal(store_pool_stats(f->st, svc.id, &ps), 0);
	assert_int_equal(ps.max_held, 1);
	assert_int_equal(ps.participants, 2);
	assert_counts_consistent(f);
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
	NEED_DB(state);
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
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM (SELECT bidx, proxy_number_id FROM participants "
				      "WHERE active = 1 GROUP BY 1, 2 HAVING COUNT(*) > 1) x"),
			 0);
	assert_counts_consistent(f);
}

/* ---------------------------------------------------------------- service update */

/* f's service with every field but id and created_at changed; tag marks the
 * name and the twilio credential so a reader can tell whose update it sees. */
static void service_changed(const struct service *from, struct service *to, int tag)
{
	memset(to, 0, sizeof(*to));
	snprintf(to->id, sizeof(to->id), "%s", from->id);
	to->created_at = from->created_at;
	snprintf(to->name, sizeof(to->name), "Renamed %d", tag);
	snprintf(to->secrets[DIALECT_TWILIO], sizeof(to->secrets[0]), "{\"auth_token\":\"rotated-%d\"}", tag);
	snprintf(to->secrets[DIALECT_VONAGE], sizeof(to->secrets[0]), "{\"signature_secret\":\"vsec-%d\"}", tag);
	to->mode = MODE_MESSAGE;
	to->ttl = 1200;
	snprintf(to->unknown_caller_message, sizeof(to->unknown_caller_message), "Gone.");
	to->policy = (struct call_policy){.record = 1, .time_limit = 300, .ring_timeout = 15};
	snprintf(to->policy.consent_message, sizeof(to->policy.consent_message), "Recorded.");
	to->pool = (struct pool_rules){GEO_AREA_CODE, 1, SELECT_AVOID_STICKY};
	to->cooloff = 600;
	to->cooloff_reuse = 1;
	to->number_cap = 9;
	to->unknown_caller = UNKNOWN_FORWARD;
	snprintf(to->fallback_number, sizeof(to->fallback_number), "+18005550199");
	snprintf(to->pin_number, sizeof(to->pin_number), "+18005550198");
	to->pin_length = 4;
	to->pin_attempts = 1;
	snprintf(to->callback_url, sizeof(to->callback_url), "https://app.example/u");
	to->callback_timeout_ms = 300;
	to->callback_fail_open = 1;
	snprintf(to->ended_message, sizeof(to->ended_message), "Ended.");
	snprintf(to->help_text, sizeof(to->help_text), "Help.");
	to->rate_calls = 11;
	to->rate_texts = 12;
	to->rate_silent = 1;
}

static void assert_service_equal(const struct service *a, const struct service *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	for (int d = 0; d < DIALECT_COUNT; d++)
		assert_string_equal(a->secrets[d], b->secrets[d]);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->ttl, b->ttl);
	assert_string_equal(a->unknown_caller_message, b->unknown_caller_message);
	assert_int_equal(a->policy.record, b->policy.record);
	assert_int_equal(a->policy.time_limit, b->policy.time_limit);
	assert_int_equal(a->policy.ring_timeout, b->policy.ring_timeout);
	assert_string_equal(a->policy.consent_message, b->policy.consent_message);
	assert_int_equal(a->created_at, b->created_at);
	assert_memory_equal(&a->pool, &b->pool, sizeof(a->pool));
	assert_int_equal(a->cooloff, b->cooloff);
	assert_int_equal(a->cooloff_reuse, b->cooloff_reuse);
	assert_int_equal(a->number_cap, b->number_cap);
	assert_int_equal(a->unknown_caller, b->unknown_caller);
	assert_string_equal(a->fallback_number, b->fallback_number);
	assert_string_equal(a->pin_number, b->pin_number);
	assert_int_equal(a->pin_length, b->pin_length);
	assert_int_equal(a->pin_attempts, b->pin_attempts);
	assert_string_equal(a->callback_url, b->callback_url);
	assert_int_equal(a->callback_timeout_ms, b->callback_timeout_ms);
	assert_int_equal(a->callback_fail_open, b->callback_fail_open);
	assert_string_equal(a->ended_message, b->ended_message);
	assert_string_equal(a->help_text, b->help_text);
	assert_int_equal(a->rate_calls, b->rate_calls);
	assert_int_equal(a->rate_texts, b->rate_texts);
	assert_int_equal(a->rate_silent, b->rate_silent);
}

static void service_update_round_trip(void **state)
{
	NEED_DB(state);
	struct service got, upd;
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	service_changed(&got, &upd, 1);
	assert_int_equal(store_service_update(f->st, &upd), 0);
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0); /* this node: at once */
	assert_service_equal(&got, &upd);
	struct store *st2 = NULL;
	char err[512];
	assert_int_equal(store_open(f->url, f->vault, &st2, err, sizeof(err)), 0);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0); /* the database */
	assert_service_equal(&got, &upd);
	/* a carrier whose secret is "" is removed, another replaced */
	upd.secrets[DIALECT_VONAGE][0] = '\0';
	snprintf(upd.secrets[DIALECT_TWILIO], sizeof(upd.secrets[0]), "{\"auth_token\":\"third\"}");
	assert_int_equal(store_service_update(f->st, &upd), 0);
	store_service_cache_ttl(st2, 0);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	store_close(st2);
	/* unknown service: nothing written */
	service_changed(&f->svc, &upd, 2);
	id_new("svc", upd.id);
	assert_int_equal(store_service_update(f->st, &upd), MASKD_ENOTFOUND);
	assert_int_equal(store_service_get(f->st, upd.id, &got), MASKD_ENOTFOUND);
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM service_secrets WHERE service_id = '%s'", upd.id);
	assert_int_equal(sql_count(f, sql), 0);
}

/* Another node keeps its cached copy for at most its TTL, then reloads. */
static void service_cache_ttl_across_nodes(void **state)
{
	NEED_DB(state);
	struct store *st2 = NULL;
	char err[512];
	assert_int_equal(store_open(f->url, f->vault, &st2, err, sizeof(err)), 0);
	store_service_cache_ttl(st2, 2);
	struct service got, upd;
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides");
	service_changed(&got, &upd, 3);
	assert_int_equal(store_service_update(f->st, &upd), 0);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0); /* within the TTL: cached */
	assert_string_equal(got.name, "Rides");
	assert_string_equal(got.secrets[DIALECT_TWILIO], "{\"auth_token\":\"tok\"}");
	usleep(2100 * 1000);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	/* a reload that fails is an error, never the stale entry */
	store_service_cache_ttl(st2, 0);
	char sql[320];
	snprintf(sql, sizeof(sql),
		 "WITH a AS (DELETE FROM service_secrets WHERE service_id = '%s'), b AS (DELETE FROM numbers "
		 "WHERE service_id = '%s') SELECT 0",
		 f->svc.id, f->svc.id);
	sql_count(f, sql);
	snprintf(sql, sizeof(sql), "WITH a AS (DELETE FROM services WHERE id = '%s' RETURNING 1) SELECT COUNT(*) FROM a",
		 f->svc.id);
	assert_int_equal(sql_count(f, sql), 1);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), MASKD_ENOTFOUND);
	store_close(st2);
}

struct updater {
	struct store *st;
	const struct service *base;
	int tag;
	int fails;
	pthread_barrier_t *go;
};

static void *update_many(void *arg)
{
	struct updater *u = arg;
	pthread_barrier_wait(u->go);
	for (int i = 0; i < 5; i++) {
		struct service upd;
		service_changed(u->base, &upd, u->tag * 10 + i);
		if (store_service_update(u->st, &upd) != 0)
			u->fails++;
	}
	return NULL;
}

/* Updates from many threads at once all land, and every read sees one whole
 * update: its row and its credentials from the same transaction. */
static void service_updates_in_parallel(void **state)
{
	NEED_DB(state);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, THREADS);
	pthread_t t[THREADS];
	struct updater u[THREADS];
	for (int i = 0; i < THREADS; i++) {
		u[i] = (struct updater){.st = f->st, .base = &f->svc, .tag = i + 1, .go = &go};
		pthread_create(&t[i], NULL, update_many, &u[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(u[i].fails, 0);
	}
	pthread_barrier_destroy(&go);
	struct store *st2 = NULL;
	char err[512];
	assert_int_equal(store_open(f->url, f->vault, &st2, err, sizeof(err)), 0);
	struct service got;
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	int tag = -1;
	assert_int_equal(sscanf(got.name, "Renamed %d", &tag), 1);
	char want[64];
	snprintf(want, sizeof(want), "{\"auth_token\":\"rotated-%d\"}", tag);
	assert_string_equal(got.secrets[DIALECT_TWILIO], want);
	snprintf(want, sizeof(want), "{\"signature_secret\":\"vsec-%d\"}", tag);
	assert_string_equal(got.secrets[DIALECT_VONAGE], want);
	store_close(st2);
}

/* Retention (DESIGN §1.5): released rows of sessions closed before the cut lose
 * their sealed number and blind index; records, opt-outs and open sessions stay. */
static void numbers_purged_after_retention(void **state)
{
	NEED_DB(state);
	struct service svc;
	svc_new(f, &svc, 0, 0, 0);
	char n0[ID_MAX], n1[ID_MAX];
	num_new(f, svc.id, "US", "", "", 1, n0);
	num_new(f, svc.id, "US", "", "", 2, n1);
	struct session old, recent, open;
	struct create_outcome o;
	ses_fill(&old, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &old, 100, &o), 0);
	ses_fill(&recent, svc.id, 2, PC, PD);
	assert_int_equal(create_in(f, &svc, &recent, 100, &o), 0);
	ses_fill(&open, svc.id, 2, "+13125550005", "+17135550006");
	assert_int_equal(create_in(f, &svc, &open, 100, &o), 0);
	assert_int_equal(store_optout_set(f->st, svc.id, PA, n0, 1, 150), 0);
	assert_int_equal(lifecycle_close(f->st, old.id, SESSION_CLOSED, 200), 0); /* cooloff 0: released */
	assert_int_equal(lifecycle_close(f->st, recent.id, SESSION_CLOSED, 5000), 0);
	int purged = -1, sessions = -1;
	assert_int_equal(lifecycle_purge(f->st, 1000, 1001, 1, &sessions, &purged), 0);
	assert_int_equal(sessions, 1);
	assert_int_equal(purged, 2); /* both participants of the old session */
	assert_int_equal(lifecycle_purge(f->st, 1000, 1002, 100, &sessions, &purged), 0);
	assert_int_equal(sessions, 0); /* idempotent */
	assert_int_equal(purged, 0);
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM participants WHERE session_id = '%s' AND number_sealed = ''::bytea "
		 "AND bidx = 'purged:' || id",
		 old.id);
	assert_int_equal(sql_count(f, sql), 2);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM participants WHERE number_sealed <> ''::bytea"), 4);
	assert_int_equal(sql_count(f, "SELECT COUNT(*) FROM optouts"), 1);
	char num[32];
	assert_int_equal(store_participant_number(f->st, old.participants[0].id, num, sizeof(num)), MASKD_ENOTFOUND);
	assert_int_equal(store_participant_number(f->st, recent.participants[0].id, num, sizeof(num)), 0);
	assert_string_equal(num, PC);
	struct session got;
	assert_int_equal(store_session_get(f->st, old.id, &got), 0);
	int failed = 0;
	assert_int_equal(lifecycle_reopen(f->st, old.id, NULL, NULL, 6000, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, CREATE_FAIL_PURGED);
	assert_int_equal(got.n_participants, 2);
	assert_string_equal(got.participants[0].masked, old.participants[0].masked);
	/* the same pair again: a new session, not sticky to the purged rows */
	struct session again;
	ses_fill(&again, svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &svc, &again, 6000, &o), 0);
	assert_int_equal(o.sticky[0], 0);
	assert_int_equal(o.sticky[1], 0);
	struct route_view rv;
	route(f, again.participants[0].proxy_e164, PA, &rv);
	assert_string_equal(rv.session_id, again.id);
	assert_string_equal(rv.to_number, PB);
	assert_int_equal(lifecycle_purge(f->st, 1000000, 1000001, 100, &sessions, &purged), 0);
	assert_int_equal(sessions, 1);
	assert_int_equal(purged, 2); /* the recent session; never the open ones */
	assert_counts_consistent(f);
}

/* The lifecycle primitives (store_tx_* in store.h), one call per transaction. */
enum prim_op {
	PRIM_LOCK, PRIM_PUT, PRIM_TAKEN, PRIM_HOLD, PRIM_KEEP, PRIM_TAKE, PRIM_IN_USE, PRIM_EVENT,
	PRIM_DUE, PRIM_RELEASE, PRIM_PURGE_DUE, PRIM_PURGE
};
struct prim {
	enum prim_op op;
	const char *id, *name, *pin, *except;
	struct store_session_brief b;
	int64_t t, deadline;
	int limit, active, n, name_taken, pin_taken, count;
	const char *nums[3];
	int delta[3];
	char ids[8][ID_MAX];
};

static int prim_call(struct store_tx *tx, struct prim *p)
{
	switch (p->op) {
	case PRIM_LOCK: return store_tx_session_lock(tx, p->id, &p->b);
	case PRIM_PUT: return store_tx_session_put(tx, p->id, &p->b, p->deadline);
	case PRIM_TAKEN:
		return store_tx_open_taken(tx, p->b.service_id, p->except, p->name, p->pin, &p->name_taken, &p->pin_taken);
	case PRIM_HOLD: return store_tx_bindings_hold(tx, p->id, p->t, p->active);
	case PRIM_KEEP: return store_tx_binding_keep(tx, p->id);
	case PRIM_TAKE: return store_tx_binding_take(tx, p->id, NUMBER_RETIRED);
	case PRIM_IN_USE: return store_tx_numbers_in_use_add(tx, p->nums, p->delta, p->n);
	case PRIM_EVENT: return store_tx_event_insert(tx, p->id, "closed", NULL, "why", p->t);
	case PRIM_DUE: return store_tx_sessions_due(tx, p->t, p->limit, p->ids, &p->n);
	case PRIM_RELEASE: return store_tx_bindings_release_due(tx, p->t, p->limit);
	case PRIM_PURGE_DUE: return store_tx_sessions_purge_due(tx, p->t, p->limit, p->ids, &p->n);
	case PRIM_PURGE: return store_tx_session_purge(tx, p->id, p->t);
	}
	return MASKD_EINVAL;
}

/* A body commits only on 0: a primitive's count goes to p->count. */
static int prim_body(struct store_tx *tx, void *ctx)
{
	struct prim *p = ctx;
	int rc = prim_call(tx, p);
	p->count = rc > 0 ? rc : 0;
	return rc < 0 ? rc : 0;
}

/* Runs op in its own transaction: its count, or a negative maskd_err. */
static int prim(struct store *st, struct prim *p, enum prim_op op)
{
	p->op = op;
	int rc = store_tx_run(st, prim_body, p);
	return rc < 0 ? rc : p->count;
}

static void last_event(void *ctx, const struct session_event *e)
{
	memcpy(ctx, e, sizeof(*e));
}

static int64_t prim_in_use(struct store *st, const char *number_id)
{
	struct number n;
	assert_int_equal(store_number_get(st, number_id, &n), 0);
	return n.in_use;
}

/* s: an open two-party session with unique_name "u1" and no deadline; t:
 * another open session of the service; n0, n1: two numbers of its pool. */
static void check_lifecycle_primitives(struct store *st, const struct session *s, const struct session *t,
				       const char *n0, const char *n1)
{
	struct prim p = {.id = "ses_nope"};
	assert_int_equal(prim(st, &p, PRIM_LOCK), MASKD_ENOTFOUND);
	p = (struct prim){.id = s->id};
	assert_int_equal(prim(st, &p, PRIM_LOCK), 0);
	assert_string_equal(p.b.id, s->id);
	assert_string_equal(p.b.service_id, s->service_id);
	assert_string_equal(p.b.unique_name, "u1");
	assert_int_equal(p.b.status, SESSION_OPEN);
	assert_int_equal(p.b.closed_at, 0);
	assert_int_equal(p.b.n_parts, 2);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(p.b.parts[i].id, s->participants[i].id);
		assert_int_equal(p.b.parts[i].idx, i);
		assert_string_equal(p.b.parts[i].number_id, s->participants[i].proxy_number_id);
		assert_int_equal(p.b.parts[i].active, 1);
		assert_int_equal(p.b.parts[i].purged, 0);
	}
	assert_string_not_equal(n0, n1);

	/* put: the lifecycle's columns, and a deadline the due list follows */
	p.b.ttl = 77;
	p.b.updated_at = 2100;
	p.deadline = 9000;
	assert_int_equal(prim(st, &p, PRIM_PUT), 0);
	struct session got;
	assert_int_equal(store_session_get(st, s->id, &got), 0);
	assert_int_equal(got.ttl, 77);
	assert_int_equal(got.updated_at, 2100);
	struct prim q = {.id = "ses_nope", .b = p.b};
	assert_int_equal(prim(st, &q, PRIM_PUT), MASKD_ENOTFOUND);
	q = (struct prim){.t = 8999, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_DUE), 0);
	for (int i = 0; i < q.n; i++)
		assert_string_not_equal(q.ids[i], s->id);
	q = (struct prim){.t = 9000, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_DUE), 0);
	int seen = 0;
	for (int i = 0; i < q.n; i++)
		seen |= strcmp(q.ids[i], s->id) == 0;
	assert_true(seen);
	q = (struct prim){.t = 9000, .limit = 1};
	assert_int_equal(prim(st, &q, PRIM_DUE), 0);
	assert_int_equal(q.n, 1);

	/* open_taken: another session asking for s's unique_name sees it; s itself not */
	q = (struct prim){.b = p.b, .except = t->id, .name = "u1", .pin = ""};
	assert_int_equal(prim(st, &q, PRIM_TAKEN), 0);
	assert_int_equal(q.name_taken, 1);
	assert_int_equal(q.pin_taken, 0);
	q = (struct prim){.b = p.b, .except = s->id, .name = "u1", .pin = NULL};
	assert_int_equal(prim(st, &q, PRIM_TAKEN), 0);
	assert_int_equal(q.name_taken, 0);
	q = (struct prim){.b = p.b, .except = t->id, .name = "u2", .pin = "1234"};
	assert_int_equal(prim(st, &q, PRIM_TAKEN), 0);
	assert_int_equal(q.name_taken + q.pin_taken, 0);

	/* in_use: repeats add up, never below 0, unknown numbers not counted */
	int64_t u0 = prim_in_use(st, n0), u1 = prim_in_use(st, n1);
	q = (struct prim){.nums = {n0, n1, n0}, .delta = {1, -1000, 1}, .n = 3};
	assert_int_equal(prim(st, &q, PRIM_IN_USE), 2);
	assert_int_equal(prim_in_use(st, n0), u0 + 2);
	assert_int_equal(prim_in_use(st, n1), 0);
	q = (struct prim){.nums = {n0, n1, "num_nope"}, .delta = {-2, (int)u1, 1}, .n = 3};
	assert_int_equal(prim(st, &q, PRIM_IN_USE), 2);
	assert_int_equal(prim_in_use(st, n0), u0);
	assert_int_equal(prim_in_use(st, n1), u1);

	/* hold (cooling off until 5000), keep, release when due, take again */
	q = (struct prim){.id = s->id, .t = 5000, .active = 1};
	assert_int_equal(prim(st, &q, PRIM_HOLD), 2);
	q = (struct prim){.id = s->participants[0].id};
	assert_int_equal(prim(st, &q, PRIM_KEEP), 1);
	q = (struct prim){.id = s->id, .t = 5000, .active = 1};
	assert_int_equal(prim(st, &q, PRIM_HOLD), 2);
	q = (struct prim){.t = 4999, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_RELEASE), 0);
	q = (struct prim){.t = 5000, .limit = 1};
	assert_int_equal(prim(st, &q, PRIM_RELEASE), 1);
	q = (struct prim){.t = 5000, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_RELEASE), 1);
	q = (struct prim){.t = 5000, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_RELEASE), 0);
	q = (struct prim){.id = s->participants[0].id};
	assert_int_equal(prim(st, &q, PRIM_KEEP), 0); /* released: nothing to keep */
	assert_int_equal(prim(st, &q, PRIM_TAKE), 1);
	assert_int_equal(prim(st, &q, PRIM_TAKE), 0); /* holds it already */
	q = (struct prim){.id = s->id};
	assert_int_equal(prim(st, &q, PRIM_LOCK), 0);
	assert_int_equal(q.b.parts[0].active, 1);
	assert_int_equal(q.b.parts[1].active, 0);
	/* give both up at once (no cool-off) */
	q = (struct prim){.id = s->id, .t = 3000, .active = 0};
	assert_int_equal(prim(st, &q, PRIM_HOLD), 1);

	/* an event */
	q = (struct prim){.id = s->id, .t = 3000};
	assert_int_equal(prim(st, &q, PRIM_EVENT), 0);
	struct session_event e;
	memset(&e, 0, sizeof(e));
	assert_int_equal(store_session_events(st, s->id, last_event, &e), 0);
	assert_string_equal(e.kind, "closed");
	assert_string_equal(e.detail, "why");
	assert_string_equal(e.participant_id, "");
	assert_int_equal(e.created_at, 3000);

	/* closed at 3000 with nothing held: purge due before 3001, not before 3000 */
	p.b.status = SESSION_CLOSED;
	p.b.closed_at = 3000;
	p.deadline = 0;
	assert_int_equal(prim(st, &p, PRIM_PUT), 0);
	q = (struct prim){.t = 3000, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_PURGE_DUE), 0);
	assert_int_equal(q.n, 0);
	q = (struct prim){.t = 9000, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_DUE), 0);
	for (int i = 0; i < q.n; i++)
		assert_string_not_equal(q.ids[i], s->id); /* closed: never due */
	q = (struct prim){.t = 3001, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_PURGE_DUE), 0);
	assert_int_equal(q.n, 1);
	assert_string_equal(q.ids[0], s->id);
	q = (struct prim){.id = s->id, .t = 6000};
	assert_int_equal(prim(st, &q, PRIM_PURGE), 2);
	assert_int_equal(prim(st, &q, PRIM_PURGE), 0);
	q = (struct prim){.t = 3001, .limit = 8};
	assert_int_equal(prim(st, &q, PRIM_PURGE_DUE), 0);
	assert_int_equal(q.n, 0);
	q = (struct prim){.id = s->id};
	assert_int_equal(prim(st, &q, PRIM_LOCK), 0);
	assert_int_equal(q.b.parts[0].purged, 1);
	assert_int_equal(q.b.parts[1].purged, 1);
	char real[32];
	assert_int_equal(store_participant_number(st, s->participants[0].id, real, sizeof(real)), MASKD_ENOTFOUND);
}

static void pg_lifecycle_primitives(void **state)
{
	NEED_DB(state);
	struct session s, t;
	int failed;
	fill_session(f, &s, "+14152372001", "+12129674001", 0);
	snprintf(s.unique_name, sizeof(s.unique_name), "u1");
	assert_int_equal(vectors_session_create(f->st, &s, 2000, &failed), 0);
	fill_session(f, &t, "+14152372002", "+12129674002", 0);
	assert_int_equal(vectors_session_create(f->st, &t, 2000, &failed), 0);
	check_lifecycle_primitives(f->st, &s, &t, f->nums[0], f->nums[1]);
}

/* ---------------------------------------------------------------- row primitives (store_tx_*) */

static void tx_primitives_contract(void **state)
{
	NEED_DB(state);
	store_tx_contract(f->st, &f->svc, f->nums[0], f->nums[1], POOL);
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
		cmocka_unit_test_setup_teardown(tx_primitives_contract, setup, teardown),
		cmocka_unit_test_setup_teardown(same_webhook_in_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(two_sweepers_close_each_once, setup, teardown),
		cmocka_unit_test_setup_teardown(pg_lifecycle_primitives, setup, teardown),
		cmocka_unit_test_setup_teardown(dropped_connections_come_back, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(upgrade_from_schema_1, setup, teardown),
		cmocka_unit_test_setup_teardown(service_and_number_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(geo_levels_and_strict, setup, teardown),
		cmocka_unit_test_setup_teardown(sticky_after_close, setup, teardown),
		cmocka_unit_test_setup_teardown(cooloff_hold_and_release, setup, teardown),
		cmocka_unit_test_setup_teardown(cooloff_reuse_takes_cooling, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_limits_sessions_per_number, setup, teardown),
		cmocka_unit_test_setup_teardown(swap_records_an_event, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_restores_bindings, setup, teardown),
		cmocka_unit_test_setup_teardown(unique_name_create_or_return, setup, teardown),
		cmocka_unit_test_setup_teardown(pin_unique_and_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(single_party_then_add, setup, teardown),
		cmocka_unit_test_setup_teardown(optout_marks_route, setup, teardown),
		cmocka_unit_test_setup_teardown(block_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(same_pair_in_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(service_update_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(service_cache_ttl_across_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(service_updates_in_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(numbers_purged_after_retention, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
