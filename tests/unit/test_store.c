/* SPDX-License-Identifier: MIT */
/* test_store.c - the SQLite backend through the store interface: migrations,
 * allocation and the binding rule, idempotent interactions, close and expiry,
 * and that no real number or secret is in the database file in the clear; the
 * pool and session policy of issue 4 (geo-match, stickiness, cool-off, caps,
 * swap, re-open, create-or-return, PINs, single-party sessions, opt-out, block,
 * stats), with time passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow/jobs.h"
#include "flow/lifecycle.h"
#include "store/migrations.h"
#include "store/store.h"
#include "flow/sessions.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "vault/vault.h"
#include "vectors.h"
#include "store_tx_contract.h"


#define RIDER "+14152371234"
#define DRIVER1 "+12124567890"
#define DRIVER2 "+13102345678"
#define DRIVER3 "+12127363100"
#define SECRET "twilio-auth-token-0123456789"

struct fixture {
	char dir[64];
	char db[128];
	struct vault *vault;
	struct store *st;
	struct service svc;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/maskd-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/maskd.db", f->dir);
	char key[128], err[256];
	snprintf(key, sizeof(key), "%s/vault.key", f->dir);
	assert_int_equal(vault_load(key, &f->vault, err, sizeof(err)), 0);
	assert_int_equal(store_open(f->db, f->vault, &f->st, err, sizeof(err)), 0);
	id_new("svc", f->svc.id);
	snprintf(f->svc.name, sizeof(f->svc.name), "Rides");
	snprintf(f->svc.secrets[DIALECT_TWILIO], sizeof(f->svc.secrets[0]), SECRET);
	f->svc.mode = MODE_VOICE_AND_MESSAGE;
	snprintf(f->svc.unknown_caller_message, sizeof(f->svc.unknown_caller_message), "Goodbye.");
	f->svc.created_at = 1000;
	assert_int_equal(store_service_insert(f->st, &f->svc), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->st);
	vault_free(f->vault);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void add_number(struct fixture *f, const char *e164, int state, unsigned caps, int64_t created, char *id_out)
{
	struct number n;
	memset(&n, 0, sizeof(n));
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", f->svc.id);
	snprintf(n.e164, sizeof(n.e164), "%s", e164);
	snprintf(n.country, sizeof(n.country), "US");
	n.caps = caps;
	n.state = state;
	n.created_at = created;
	assert_int_equal(store_number_insert(f->st, &n), 0);
	if (id_out != NULL)
		snprintf(id_out, ID_MAX, "%s", n.id);
}

static int new_session(struct fixture *f, const char *a, const char *b, const char *unique_name, struct session *s,
		       int *failed)
{
	memset(s, 0, sizeof(*s));
	id_new("ses", s->id);
	snprintf(s->service_id, sizeof(s->service_id), "%s", f->svc.id);
	snprintf(s->unique_name, sizeof(s->unique_name), "%s", unique_name ? unique_name : "");
	s->mode = MODE_VOICE_AND_MESSAGE;
	s->n_participants = 2;
	const char *nums[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		id_new("par", s->participants[i].id);
		snprintf(s->participants[i].number, sizeof(s->participants[i].number), "%s", nums[i]);
		snprintf(s->participants[i].masked, sizeof(s->participants[i].masked), "+1******%s", nums[i] + 8);
		snprintf(s->participants[i].country, sizeof(s->participants[i].country), "US");
	}
	int dummy;
	return vectors_session_create(f->st, s, 2000, failed ? failed : &dummy);
}

struct rec_ctx {
	int n;
	int64_t billable;
};

static int count_record(void *ctx, const struct interaction *it)
{
	struct rec_ctx *rc = ctx;
	rc->n++;
	if (it->legs[0].duration > 0)
		rc->billable += it->legs[0].duration;
	return 0;
}

struct usage_ctx {
	struct usage_day *days;
	int n;
};

static void add_usage(void *ctx, const struct usage_day *u)
{
	struct usage_ctx *uc = ctx;
	uc->days[uc->n++] = *u;
}

static void services_and_secrets(void **state)
{
	struct fixture *f = *state;
	struct service got;
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_string_equal(got.secrets[DIALECT_TWILIO], SECRET);
	assert_string_equal(got.secrets[DIALECT_SIGNALWIRE], "");
	assert_string_equal(got.name, "Rides");
	assert_int_equal(store_service_get(f->st, "svc_nope", &got), MASKD_ENOTFOUND);
}

static void numbers_unique(void **state)
{
	struct fixture *f = *state;
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	struct number n;
	memset(&n, 0, sizeof(n));
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", f->svc.id);
	snprintf(n.e164, sizeof(n.e164), "+14155550100");
	assert_int_equal(store_number_insert(f->st, &n), MASKD_ECONFLICT);
	assert_int_equal(store_number_set_state(f->st, "num_nope", NUMBER_RETIRED), MASKD_ENOTFOUND);
}

static void allocation_binding_rule(void **state)
{
	struct fixture *f = *state;
	char n1[ID_MAX], n2[ID_MAX];
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, n1);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, n2);
	add_number(f, "+14155550102", NUMBER_RESERVED, CAP_ALL, 3, NULL);
	add_number(f, "+14155550103", NUMBER_ACTIVE, CAP_SMS, 4, NULL);
	struct session s1, s2, s3;
	int failed = -2;
	assert_int_equal(new_session(f, RIDER, DRIVER1, "order-1", &s1, NULL), 0);
	/* least-loaded first, oldest on a tie: rider gets n1, driver then n2 */
	assert_string_equal(s1.participants[0].proxy_number_id, n1);
	assert_string_equal(s1.participants[1].proxy_number_id, n2);
	/* the rider again: n1 is held by the rider, so n2; driver2 gets the least loaded */
	assert_int_equal(new_session(f, RIDER, DRIVER2, "order-2", &s2, NULL), 0);
	assert_string_equal(s2.participants[0].proxy_number_id, n2);
	/* a third session of the rider: both voice+sms numbers held, reserved and sms-only never picked */
	assert_int_equal(new_session(f, RIDER, DRIVER3, NULL, &s3, &failed), MASKD_EEXHAUSTED);
	assert_int_equal(failed, 0);
	/* unique_name among open sessions */
	assert_int_equal(new_session(f, DRIVER2, DRIVER3, "order-1", &s3, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, -1);
	/* the failed creates wrote nothing */
	struct number n;
	assert_int_equal(store_number_get(f->st, n1, &n), 0);
	assert_int_equal(n.in_use, 2);
	assert_int_equal(store_session_get(f->st, s3.id, &s3), MASKD_ENOTFOUND);
}

static void named_proxy_numbers(void **state)
{
	struct fixture *f = *state;
	char n1[ID_MAX], reserved[ID_MAX];
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, n1);
	add_number(f, "+14155550102", NUMBER_RESERVED, CAP_ALL, 2, reserved);
	add_number(f, "+14155550104", NUMBER_RETIRED, CAP_ALL, 3, NULL);
	struct session s;
	memset(&s, 0, sizeof(s));
	int failed;
	/* named reserved: allowed */
	id_new("ses", s.id);
	snprintf(s.service_id, sizeof(s.service_id), "%s", f->svc.id);
	s.mode = MODE_VOICE;
	s.n_participants = 2;
	id_new("par", s.participants[0].id);
	id_new("par", s.participants[1].id);
	snprintf(s.participants[0].number, sizeof(s.participants[0].number), RIDER);
	snprintf(s.participants[1].number, sizeof(s.participants[1].number), DRIVER1);
	snprintf(s.participants[0].proxy_e164, sizeof(s.participants[0].proxy_e164), "+14155550102");
	assert_int_equal(vectors_session_create(f->st, &s, 2000, &failed), 0);
	assert_string_equal(s.participants[0].proxy_number_id, reserved);
	/* the same named number for the same real number again: conflict */
	struct session t = s;
	id_new("ses", t.id);
	id_new("par", t.participants[0].id);
	id_new("par", t.participants[1].id);
	snprintf(t.participants[1].number, sizeof(t.participants[1].number), DRIVER2);
	t.participants[1].proxy_e164[0] = '\0';
	assert_int_equal(vectors_session_create(f->st, &t, 2000, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, 0);
	/* retired or not in the pool: not found */
	snprintf(t.participants[0].proxy_e164, sizeof(t.participants[0].proxy_e164), "+14155550104");
	assert_int_equal(vectors_session_create(f->st, &t, 2000, &failed), MASKD_ENOTFOUND);
	snprintf(t.participants[0].proxy_e164, sizeof(t.participants[0].proxy_e164), "+14155550199");
	assert_int_equal(vectors_session_create(f->st, &t, 2000, &failed), MASKD_ENOTFOUND);
}

static void route_and_interactions(void **state)
{
	struct fixture *f = *state;
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, s.participants[0].proxy_e164, RIDER, &v), 0);
	assert_string_equal(v.session_id, s.id);
	assert_string_equal(v.to_number, DRIVER1);
	assert_string_equal(v.to_proxy_e164, s.participants[1].proxy_e164);
	assert_string_equal(v.from_participant, s.participants[0].id);
	/* a stranger, and a number in no pool */
	assert_int_equal(store_route_lookup(f->st, s.participants[0].proxy_e164, DRIVER2, &v), 0);
	assert_string_equal(v.session_id, "");
	assert_string_not_equal(v.number.id, "");
	assert_int_equal(store_route_lookup(f->st, "+14155550199", RIDER, &v), 0);
	assert_string_equal(v.number.id, "");

	struct interaction it;
	memset(&it, 0, sizeof(it));
	id_new("int", it.id);
	snprintf(it.session_id, sizeof(it.session_id), "%s", s.id);
	snprintf(it.service_id, sizeof(it.service_id), "%s", f->svc.id);
	snprintf(it.carrier_sid, sizeof(it.carrier_sid), "CA123");
	snprintf(it.from_participant, sizeof(it.from_participant), "%s", s.participants[0].id);
	snprintf(it.to_participant, sizeof(it.to_participant), "%s", s.participants[1].id);
	it.decision = DECISION_BRIDGE;
	it.created_at = 2100;
	char first_id[ID_MAX];
	snprintf(first_id, sizeof(first_id), "%s", it.id);
	int existed = -1;
	assert_int_equal(store_interaction_record(f->st, &it, &existed), 0);
	assert_int_equal(existed, 0);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_IN_PROGRESS);
	assert_int_equal(got.last_activity_at, 2100);
	/* the retry: same carrier sid, a new id; the stored row comes back */
	id_new("int", it.id);
	it.decision = DECISION_REJECT;
	assert_int_equal(store_interaction_record(f->st, &it, &existed), 0);
	assert_int_equal(existed, 1);
	assert_string_equal(it.id, first_id);
	assert_int_equal(it.decision, DECISION_BRIDGE);
	/* legs */
	struct leg_update ringing = {.status = "ringing", .duration = -1};
	struct leg_update answered = {.status = "in-progress", .duration = -1, .answered = 1};
	struct leg_update completed = {.status = "completed", .duration = 42, .recording_id = "RE1",
				       .recording_url = "https://rec/RE1", .cost = "-0.0130", .currency = "USD"};
	struct leg_update late = {.duration = -1, .cost = "-0.0140"}; /* a later callback with only a price */
	assert_int_equal(store_leg_update(f->st, first_id, 'b', "CA999", &ringing, 2101), 0);
	assert_int_equal(store_leg_update(f->st, first_id, 'b', "CA999", &answered, 2105), 0);
	assert_int_equal(store_leg_update(f->st, first_id, 'b', "CA999", &completed, 2150), 0);
	assert_int_equal(store_leg_update(f->st, first_id, 'b', "CA999", &late, 2160), 0);
	assert_int_equal(store_leg_update(f->st, "int_nope", 'b', "CA9", &ringing, 2160), MASKD_ENOTFOUND);
	struct interaction back;
	assert_int_equal(store_interaction_get(f->st, first_id, &back), 0);
	assert_int_equal(back.n_legs, 2);
	assert_int_equal(back.legs[1].leg, 'b');
	assert_int_equal(back.legs[1].duration, 42);
	assert_string_equal(back.legs[1].status, "completed");
	assert_int_equal(back.legs[1].ended_at, 2150);
	assert_int_equal(back.legs[1].answered_at, 2105);
	assert_int_equal(back.legs[1].started_at, 2101);
	assert_string_equal(back.legs[1].recording_id, "RE1");
	assert_string_equal(back.legs[1].cost, "-0.0140");
	assert_string_equal(back.legs[1].currency, "USD");
	/* the callee's end: the other participant's proxy number and country */
	assert_string_equal(back.legs[1].proxy_number, s.participants[1].proxy_e164);
	assert_string_equal(back.legs[1].other_country, "US");
	assert_string_equal(back.legs[0].proxy_number, s.participants[0].proxy_e164);
	/* records and usage */
	struct rec_ctx rc = {0};
	assert_int_equal(store_records(f->st, f->svc.id, 2000, 3000, count_record, &rc), 0);
	assert_int_equal(rc.n, 2);
	assert_int_equal(rc.billable, 42);
	rc.n = 0;
	assert_int_equal(store_records(f->st, f->svc.id, 2101, 3000, count_record, &rc), 0);
	assert_int_equal(rc.n, 1); /* [from, to) by the leg's start */
	struct usage_day days[4];
	struct usage_ctx uc = {days, 0};
	assert_int_equal(store_usage(f->st, f->svc.id, 0, 100000, add_usage, &uc), 0);
	assert_int_equal(uc.n, 1);
	assert_int_equal(days[0].day, 0);
	assert_int_equal(days[0].calls, 1);
	assert_int_equal(days[0].billable_seconds, 42);
	char real[20];
	assert_int_equal(store_participant_number(f->st, s.participants[1].id, real, sizeof(real)), 0);
	assert_string_equal(real, DRIVER1);
}

static void close_and_expire(void **state)
{
	struct fixture *f = *state;
	char n1[ID_MAX];
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, n1);
	struct session s, t;
	assert_int_equal(new_session(f, RIDER, DRIVER1, "o1", &s, NULL), 0);
	assert_int_equal(store_number_delete(f->st, n1), MASKD_ECONFLICT);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 3000), 0);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 3001), 0); /* idempotent */
	assert_int_equal(lifecycle_close(f->st, "ses_nope", SESSION_CLOSED, 3001), MASKD_ENOTFOUND);
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, "+14155550100", RIDER, &v), 0);
	assert_string_equal(v.session_id, ""); /* a closed session routes nobody */
	struct number n;
	assert_int_equal(store_number_get(f->st, n1, &n), 0);
	assert_int_equal(n.in_use, 0);
	/* unique_name is free again; expiry by absolute time and by idle ttl */
	assert_int_equal(new_session(f, RIDER, DRIVER1, "o1", &t, NULL), 0);
	int64_t exp = 2500;
	assert_int_equal(lifecycle_update(f->st, t.id, NULL, &exp, 2001), 0);
	int closed = -1;
	assert_int_equal(lifecycle_expire(f->st, 2499, 100, &closed), 0);
	assert_int_equal(closed, 0);
	assert_int_equal(lifecycle_expire(f->st, 2500, 100, &closed), 0);
	assert_int_equal(closed, 1);
	assert_int_equal(store_session_get(f->st, t.id, &t), 0);
	assert_int_equal(t.status, SESSION_CLOSED);
	struct session u;
	assert_int_equal(new_session(f, RIDER, DRIVER2, NULL, &u, NULL), 0);
	int64_t ttl = 60;
	assert_int_equal(lifecycle_update(f->st, u.id, &ttl, NULL, 2001), 0);
	assert_int_equal(lifecycle_expire(f->st, 2059, 100, &closed), 0);
	assert_int_equal(closed, 0);
	assert_int_equal(lifecycle_expire(f->st, 2060, 100, &closed), 0);
	assert_int_equal(closed, 1);
	assert_int_equal(store_number_delete(f->st, n1), 0);
	assert_int_equal(store_number_delete(f->st, n1), MASKD_ENOTFOUND);
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

static void nothing_in_the_clear(void **state)
{
	struct fixture *f = *state;
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	struct session s;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	const char *secrets[] = {RIDER, RIDER + 1, RIDER + 2, DRIVER1, DRIVER1 + 1, DRIVER1 + 2, SECRET};
	char path[160];
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		assert_false(file_contains(f->db, secrets[i]));
		snprintf(path, sizeof(path), "%s-wal", f->db);
		assert_false(file_contains(path, secrets[i]));
	}
	/* the control: the proxy number is stored as is, so the scan can find things */
	snprintf(path, sizeof(path), "%s-wal", f->db);
	assert_true(file_contains(f->db, "+14155550100") || file_contains(path, "+14155550100"));
}

static void newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 0)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct store *st2 = NULL;
	char err[256] = "";
	assert_true(store_open(f->db, f->vault, &st2, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "MASKD_DB"));
	assert_non_null(strstr(err, "99"));
	assert_true(store_open("/nonexistent-dir/x.db", f->vault, &st2, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "MASKD_DB"));
}

/* ---------------------------------------------------------------- issue 4: pool and session policy */

/* Replaces the fixture's service by a new one with this cool-off. */
static void use_service(struct fixture *f, int64_t cooloff)
{
	memset(&f->svc, 0, sizeof(f->svc));
	id_new("svc", f->svc.id);
	snprintf(f->svc.name, sizeof(f->svc.name), "Policy");
	f->svc.mode = MODE_VOICE_AND_MESSAGE;
	f->svc.created_at = 1000;
	f->svc.cooloff = cooloff;
	assert_int_equal(store_service_insert(f->st, &f->svc), 0);
}

static void add_geo_number(struct fixture *f, const char *e164, const char *country, const char *area,
			   const char *region, int64_t created, char *id_out)
{
	struct number n;
	memset(&n, 0, sizeof(n));
	id_new("num", n.id);
	snprintf(n.service_id, sizeof(n.service_id), "%s", f->svc.id);
	snprintf(n.e164, sizeof(n.e164), "%s", e164);
	snprintf(n.country, sizeof(n.country), "%s", country);
	snprintf(n.area_code, sizeof(n.area_code), "%s", area);
	snprintf(n.region, sizeof(n.region), "%s", region);
	n.caps = CAP_ALL;
	n.created_at = created;
	assert_int_equal(store_number_insert(f->st, &n), 0);
	if (id_out != NULL)
		snprintf(id_out, ID_MAX, "%s", n.id);
}

/* A session of n participants (a, then b) in the fixture's service, US numbers, no geo. */
static void make_session(struct fixture *f, struct session *s, const char *unique_name, int n, const char *a,
			 const char *b)
{
	memset(s, 0, sizeof(*s));
	id_new("ses", s->id);
	snprintf(s->service_id, sizeof(s->service_id), "%s", f->svc.id);
	snprintf(s->unique_name, sizeof(s->unique_name), "%s", unique_name ? unique_name : "");
	s->mode = MODE_VOICE_AND_MESSAGE;
	s->n_participants = n;
	const char *nums[2] = {a, b};
	for (int i = 0; i < n; i++) {
		id_new("par", s->participants[i].id);
		snprintf(s->participants[i].number, sizeof(s->participants[i].number), "%s", nums[i]);
		snprintf(s->participants[i].masked, sizeof(s->participants[i].masked), "+1******%s", nums[i] + 8);
		snprintf(s->participants[i].country, sizeof(s->participants[i].country), "US");
	}
}

static void set_geo(struct participant *p, const char *country, const char *area, const char *region)
{
	snprintf(p->country, sizeof(p->country), "%s", country);
	snprintf(p->area_code, sizeof(p->area_code), "%s", area);
	snprintf(p->region, sizeof(p->region), "%s", region);
}

static struct create_rules rules_of(int geo, int strict, int selection, int cap, int reuse)
{
	struct create_rules r = {.pool = {geo, strict, selection}, .number_cap = cap, .cooloff_reuse = reuse};
	return r;
}

static const struct create_rules default_rules = {.pool = {GEO_COUNTRY, 0, SELECT_PREFER_STICKY}};

static int create_at(struct fixture *f, struct session *s, const struct create_rules *r, int64_t now,
		     struct create_outcome *o)
{
	struct create_outcome scratch;
	return sessions_create_bound(f->st, s, r, now, o != NULL ? o : &scratch);
}

/* A two-party session created with default rules at now; asserts success. */
static void open_pair(struct fixture *f, struct session *s, const char *a, const char *b, int64_t now)
{
	make_session(f, s, NULL, 2, a, b);
	assert_int_equal(create_at(f, s, &default_rules, now, NULL), 0);
}

static void expect_route(struct fixture *f, const char *proxy, const char *from, const char *session_id)
{
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, proxy, from, &v), 0);
	assert_string_equal(v.session_id, session_id);
}

#define UK_CALLER "+447700900123"
#define FR_CALLER "+33612345678"

static void geo_levels(void **state)
{
	struct fixture *f = *state;
	char n415[ID_MAX], n212[ID_MAX], nuk[ID_MAX], n415b[ID_MAX];
	add_geo_number(f, "+14155550100", "US", "415", "California", 1, n415);
	add_geo_number(f, "+12125550100", "US", "212", "New York", 2, n212);
	add_geo_number(f, "+442071838750", "GB", "20", "", 3, nuk);
	struct create_rules area = rules_of(GEO_AREA_CODE, 0, SELECT_PREFER_STICKY, 0, 0);
	struct create_rules area_strict = rules_of(GEO_AREA_CODE, 1, SELECT_PREFER_STICKY, 0, 0);
	struct create_outcome o;
	struct session s;
	/* each at its own area code, though the 212 number is not the least loaded */
	make_session(f, &s, NULL, 2, RIDER, DRIVER1);
	set_geo(&s.participants[0], "US", "415", "California");
	set_geo(&s.participants[1], "US", "212", "New York");
	assert_int_equal(create_at(f, &s, &area, 2000, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, n415);
	assert_string_equal(s.participants[1].proxy_number_id, n212);
	assert_int_equal(o.level[0], GEO_AREA_CODE);
	assert_int_equal(o.level[1], GEO_AREA_CODE);
	assert_int_equal(o.held[0], 1);
	assert_int_equal(o.free_left[0], 2); /* not strict: it can still get any of the two others */
	/* no 310 number: the region (California) is next; a UK caller with no UK area match gets the country */
	make_session(f, &s, NULL, 2, DRIVER2, UK_CALLER);
	set_geo(&s.participants[0], "US", "310", "California");
	set_geo(&s.participants[1], "GB", "161", "");
	assert_int_equal(create_at(f, &s, &area, 2000, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, n415);
	assert_int_equal(o.level[0], GEO_REGION);
	assert_string_equal(s.participants[1].proxy_number_id, nuk);
	assert_int_equal(o.level[1], GEO_COUNTRY);
	/* strict: the area code or nothing (409 material), naming the level that failed */
	make_session(f, &s, NULL, 2, DRIVER3, RIDER);
	set_geo(&s.participants[0], "US", "310", "California");
	assert_int_equal(create_at(f, &s, &area_strict, 2000, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_index, 0);
	assert_int_equal(o.failed_level, GEO_AREA_CODE);
	/* strict region for a caller without a region matches nothing */
	struct create_rules region_strict = rules_of(GEO_REGION, 1, SELECT_PREFER_STICKY, 0, 0);
	set_geo(&s.participants[0], "US", "", "");
	assert_int_equal(create_at(f, &s, &region_strict, 2000, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_level, GEO_REGION);
	/* a country with no number: any number when not strict, 409 (country) when strict */
	struct create_rules country_strict = rules_of(GEO_COUNTRY, 1, SELECT_PREFER_STICKY, 0, 0);
	make_session(f, &s, NULL, 1, FR_CALLER, NULL);
	set_geo(&s.participants[0], "FR", "", "");
	assert_int_equal(create_at(f, &s, &country_strict, 2000, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_level, GEO_COUNTRY);
	assert_int_equal(create_at(f, &s, &default_rules, 2000, &o), 0);
	assert_int_equal(o.level[0], GEO_ANY);
	assert_int_equal(o.free_left[0], 2); /* any number: the two it does not hold */
	/* strict: what it can get is its area code only; a second 415 number counts */
	add_geo_number(f, "+14155550101", "US", "415", "California", 4, n415b);
	make_session(f, &s, NULL, 1, DRIVER3, NULL);
	set_geo(&s.participants[0], "US", "415", "California");
	assert_int_equal(create_at(f, &s, &area_strict, 2000, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, n415b); /* least loaded of the two */
	assert_int_equal(o.level[0], GEO_AREA_CODE);
	assert_int_equal(o.free_left[0], 1);
	assert_int_equal(o.held[0], 1);
	make_session(f, &s, NULL, 1, DRIVER1, NULL); /* holds the 212 number */
	set_geo(&s.participants[0], "US", "415", "California");
	assert_int_equal(create_at(f, &s, &area_strict, 2000, &o), 0);
	assert_int_equal(o.free_left[0], 1);
	assert_int_equal(o.held[0], 2);
	make_session(f, &s, NULL, 1, DRIVER1, NULL);
	set_geo(&s.participants[0], "US", "415", "California");
	assert_int_equal(create_at(f, &s, &area, 2000, &o), 0); /* the other 415 number */
	assert_int_equal(o.level[0], GEO_AREA_CODE);
	assert_int_equal(o.free_left[0], 1); /* not strict: the UK number is still left */
	assert_int_equal(o.held[0], 3);
	struct number n;
	assert_int_equal(store_number_get(f->st, n415, &n), 0);
	assert_string_equal(n.region, "California");
	assert_int_equal(n.in_use, 3);
}

static void sticky_numbers(void **state)
{
	struct fixture *f = *state;
	char n[4][ID_MAX];
	for (int i = 0; i < 4; i++) {
		char e164[16];
		snprintf(e164, sizeof(e164), "+1415555010%d", i);
		add_number(f, e164, NUMBER_ACTIVE, CAP_ALL, 1 + i, n[i]);
	}
	struct session s1, s2, s3;
	struct create_outcome o;
	open_pair(f, &s1, RIDER, DRIVER1, 2000);
	assert_string_equal(s1.participants[0].proxy_number_id, n[0]);
	assert_string_equal(s1.participants[1].proxy_number_id, n[1]);
	assert_int_equal(lifecycle_close(f->st, s1.id, SESSION_CLOSED, 2100), 0); /* cooloff 0: released */
	/* load n0 and n1 so that the pool rule alone would choose n2 and n3 */
	open_pair(f, &s2, DRIVER2, DRIVER3, 2200);
	assert_string_equal(s2.participants[0].proxy_number_id, n[0]);
	/* the same pair again: the numbers it had */
	make_session(f, &s3, NULL, 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &s3, &default_rules, 2300, &o), 0);
	assert_string_equal(s3.participants[0].proxy_number_id, n[0]);
	assert_string_equal(s3.participants[1].proxy_number_id, n[1]);
	assert_int_equal(o.sticky[0], 1);
	assert_int_equal(o.sticky[1], 1);
	assert_int_equal(o.reused_cooling[0], 0);
	assert_int_equal(lifecycle_close(f->st, s3.id, SESSION_CLOSED, 2400), 0);
	/* avoid-sticky: other numbers while the pool allows */
	struct create_rules avoid = rules_of(GEO_COUNTRY, 0, SELECT_AVOID_STICKY, 0, 0);
	make_session(f, &s3, NULL, 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &s3, &avoid, 2500, &o), 0);
	assert_string_equal(s3.participants[0].proxy_number_id, n[2]);
	assert_string_equal(s3.participants[1].proxy_number_id, n[3]);
	assert_int_equal(o.sticky[0], 0);
	/* a different pair with the rider is not sticky */
	assert_int_equal(lifecycle_close(f->st, s3.id, SESSION_CLOSED, 2600), 0);
	make_session(f, &s3, NULL, 2, RIDER, DRIVER2);
	assert_int_equal(create_at(f, &s3, &default_rules, 2700, &o), 0);
	assert_int_equal(o.sticky[0], 0);
}

static void sticky_while_cooling(void **state)
{
	struct fixture *f = *state;
	use_service(f, 600);
	char n[3][ID_MAX];
	for (int i = 0; i < 3; i++) {
		char e164[16];
		snprintf(e164, sizeof(e164), "+1415555020%d", i);
		add_number(f, e164, NUMBER_ACTIVE, CAP_ALL, 1 + i, n[i]);
	}
	struct session s1, s2;
	struct create_outcome o;
	open_pair(f, &s1, RIDER, DRIVER1, 2000);
	assert_int_equal(lifecycle_close(f->st, s1.id, SESSION_CLOSED, 2100), 0);
	/* the same pair during the cool-off takes its cooling bindings back */
	make_session(f, &s2, NULL, 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &s2, &default_rules, 2200, &o), 0);
	assert_string_equal(s2.participants[0].proxy_number_id, n[0]);
	assert_string_equal(s2.participants[1].proxy_number_id, n[1]);
	assert_int_equal(o.sticky[0], 1);
	assert_int_equal(o.reused_cooling[0], 1);
	assert_int_equal(o.reused_cooling[1], 1);
	expect_route(f, s2.participants[0].proxy_e164, RIDER, s2.id);
	struct store_stats stats;
	assert_int_equal(store_stats(f->st, &stats), 0);
	assert_int_equal(stats.bindings_cooling, 0);
	assert_int_equal(stats.bindings_active, 2);
	/* avoid-sticky with a pool of one number: that number, as nothing else fits */
	use_service(f, 0);
	char only[ID_MAX];
	add_number(f, "+14155550299", NUMBER_ACTIVE, CAP_ALL, 1, only);
	struct session a, b;
	open_pair(f, &a, RIDER, DRIVER1, 3000);
	assert_int_equal(lifecycle_close(f->st, a.id, SESSION_CLOSED, 3100), 0);
	struct create_rules avoid = rules_of(GEO_COUNTRY, 0, SELECT_AVOID_STICKY, 0, 0);
	make_session(f, &b, NULL, 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &b, &avoid, 3200, &o), 0);
	assert_string_equal(b.participants[0].proxy_number_id, only);
	assert_string_equal(b.participants[1].proxy_number_id, only);
	assert_int_equal(o.sticky[0], 1);
	struct number num;
	assert_int_equal(store_number_get(f->st, only, &num), 0);
	assert_int_equal(num.in_use, 1); /* one session, both participants */
}

static void cooloff_holds_and_releases(void **state)
{
	struct fixture *f = *state;
	use_service(f, 600);
	char n1[ID_MAX];
	add_number(f, "+14155550300", NUMBER_ACTIVE, CAP_ALL, 1, n1);
	struct session s1, s2, s3;
	struct create_outcome o;
	open_pair(f, &s1, RIDER, DRIVER1, 2000);
	assert_int_equal(lifecycle_close(f->st, s1.id, SESSION_CLOSED, 3000), 0);
	struct number n;
	assert_int_equal(store_number_get(f->st, n1, &n), 0);
	assert_int_equal(n.in_use, 0);
	assert_int_equal(n.cooling, 2);
	/* a late call during the cool-off still finds the closed session */
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, "+14155550300", RIDER, &v), 0);
	assert_string_equal(v.session_id, s1.id);
	assert_int_equal(v.session_status, SESSION_CLOSED);
	assert_string_equal(v.to_number, DRIVER1);
	/* the rider with someone else cannot take its cooling binding... */
	make_session(f, &s2, NULL, 2, RIDER, DRIVER2);
	assert_int_equal(create_at(f, &s2, &default_rules, 3100, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_index, 0);
	/* ...nor by naming it */
	snprintf(s2.participants[0].proxy_e164, sizeof(s2.participants[0].proxy_e164), "+14155550300");
	assert_int_equal(create_at(f, &s2, &default_rules, 3100, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, 0);
	/* other real numbers use the number as usual */
	open_pair(f, &s3, DRIVER2, DRIVER3, 3100);
	/* released at held_until, not before */
	int released = -1;
	assert_int_equal(lifecycle_bindings_release(f->st, 3599, 100, &released), 0);
	assert_int_equal(released, 0);
	assert_int_equal(lifecycle_bindings_release(f->st, 3600, 1, &released), 0);
	assert_int_equal(released, 1); /* bounded by limit */
	assert_int_equal(lifecycle_bindings_release(f->st, 3600, 100, &released), 0);
	assert_int_equal(released, 1);
	expect_route(f, "+14155550300", RIDER, "");
	make_session(f, &s2, NULL, 2, RIDER, FR_CALLER); /* DRIVER2 holds the only number in s3 */
	assert_int_equal(create_at(f, &s2, &default_rules, 3700, &o), 0);
	assert_string_equal(s2.participants[0].proxy_number_id, n1);
	/* deleting a number: refused while in use; its cooling bindings go with it */
	struct store_stats stats;
	assert_int_equal(store_number_delete(f->st, n1), MASKD_ECONFLICT);
	assert_int_equal(lifecycle_close(f->st, s2.id, SESSION_CLOSED, 3800), 0);
	assert_int_equal(lifecycle_close(f->st, s3.id, SESSION_CLOSED, 3800), 0);
	assert_int_equal(store_optout_set(f->st, f->svc.id, DRIVER2, n1, 1, 3800), 0);
	assert_int_equal(store_stats(f->st, &stats), 0);
	assert_int_equal(stats.bindings_cooling, 4);
	assert_int_equal(store_number_delete(f->st, n1), 0);
	assert_int_equal(store_number_get(f->st, n1, &n), MASKD_ENOTFOUND);
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM optouts", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0); /* its opt-out rows went with it */
	sqlite3_finalize(q);
	sqlite3_close(db);
	assert_int_equal(store_stats(f->st, &stats), 0);
	assert_int_equal(stats.bindings_cooling, 0);
	assert_int_equal(stats.bindings_active, 0);
}

static void cooloff_reuse_last_resort(void **state)
{
	struct fixture *f = *state;
	use_service(f, 600);
	char n1[ID_MAX], n2[ID_MAX];
	add_number(f, "+14155550400", NUMBER_ACTIVE, CAP_ALL, 1, n1);
	add_number(f, "+14155550401", NUMBER_ACTIVE, CAP_ALL, 2, n2);
	struct create_rules reuse = rules_of(GEO_COUNTRY, 0, SELECT_PREFER_STICKY, 0, 1);
	struct session s1, s2, s3;
	struct create_outcome o;
	open_pair(f, &s1, RIDER, DRIVER1, 2000); /* rider n1, driver1 n2 */
	assert_int_equal(lifecycle_close(f->st, s1.id, SESSION_CLOSED, 2100), 0);
	/* something else fits: the cooling binding is left alone */
	make_session(f, &s2, NULL, 2, RIDER, DRIVER2);
	assert_int_equal(create_at(f, &s2, &reuse, 2200, &o), 0);
	assert_string_equal(s2.participants[0].proxy_number_id, n2);
	assert_int_equal(o.reused_cooling[0], 0);
	expect_route(f, "+14155550400", RIDER, s1.id);
	/* nothing else fits: without reuse a 409, with reuse the cooling binding is taken */
	make_session(f, &s3, NULL, 2, RIDER, DRIVER3);
	assert_int_equal(create_at(f, &s3, &default_rules, 2300, &o), MASKD_EEXHAUSTED);
	assert_int_equal(create_at(f, &s3, &reuse, 2300, &o), 0);
	assert_string_equal(s3.participants[0].proxy_number_id, n1);
	assert_int_equal(o.reused_cooling[0], 1);
	assert_int_equal(o.held[0], 2);
	expect_route(f, "+14155550400", RIDER, s3.id);
	/* a named number held cooling by another pair: taken only with reuse */
	struct session s4;
	assert_int_equal(lifecycle_close(f->st, s3.id, SESSION_CLOSED, 2400), 0);
	make_session(f, &s4, NULL, 1, RIDER, NULL);
	snprintf(s4.participants[0].proxy_e164, sizeof(s4.participants[0].proxy_e164), "+14155550400");
	assert_int_equal(create_at(f, &s4, &default_rules, 2500, &o), MASKD_ECONFLICT);
	assert_int_equal(create_at(f, &s4, &reuse, 2500, &o), 0);
	assert_int_equal(o.reused_cooling[0], 1);
}

static void caps_and_states(void **state)
{
	struct fixture *f = *state;
	char n1[ID_MAX], n2[ID_MAX], res[ID_MAX];
	add_number(f, "+14155550500", NUMBER_ACTIVE, CAP_ALL, 1, n1);
	add_number(f, "+14155550501", NUMBER_ACTIVE, CAP_ALL, 2, n2);
	add_number(f, "+14155550502", NUMBER_RESERVED, CAP_ALL, 3, res);
	struct create_rules cap1 = rules_of(GEO_COUNTRY, 0, SELECT_PREFER_STICKY, 1, 0);
	struct session s1, s2;
	struct create_outcome o;
	make_session(f, &s1, NULL, 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &s1, &cap1, 2000, &o), 0);
	/* both numbers at the cap of 1; the reserved one is never picked by the pool */
	make_session(f, &s2, NULL, 2, DRIVER2, DRIVER3);
	assert_int_equal(create_at(f, &s2, &cap1, 2000, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_index, 0);
	snprintf(s2.participants[0].proxy_e164, sizeof(s2.participants[0].proxy_e164), "+14155550500");
	assert_int_equal(create_at(f, &s2, &cap1, 2000, &o), MASKD_ENOTFOUND); /* named, at cap */
	s2.participants[0].proxy_e164[0] = '\0';
	struct create_rules cap2 = rules_of(GEO_COUNTRY, 0, SELECT_PREFER_STICKY, 2, 0);
	assert_int_equal(create_at(f, &s2, &cap2, 2000, &o), 0);
	/* the second participant naming the first one's number: one session, under the cap */
	struct session s3;
	make_session(f, &s3, NULL, 2, RIDER, DRIVER3);
	snprintf(s3.participants[0].proxy_e164, sizeof(s3.participants[0].proxy_e164), "+14155550502");
	snprintf(s3.participants[1].proxy_e164, sizeof(s3.participants[1].proxy_e164), "+14155550502");
	assert_int_equal(create_at(f, &s3, &cap1, 2000, &o), 0);
	struct number n;
	assert_int_equal(store_number_get(f->st, res, &n), 0);
	assert_int_equal(n.in_use, 1);
	/* retired: no new bindings, but an open session keeps routing */
	assert_int_equal(store_number_set_state(f->st, n1, NUMBER_RETIRED), 0);
	assert_int_equal(store_number_set_state(f->st, n2, NUMBER_RETIRED), 0);
	expect_route(f, s1.participants[0].proxy_e164, RIDER, s1.id);
	struct session s4;
	make_session(f, &s4, NULL, 1, UK_CALLER, NULL);
	assert_int_equal(create_at(f, &s4, &default_rules, 2000, &o), MASKD_EEXHAUSTED);
	snprintf(s4.participants[0].proxy_e164, sizeof(s4.participants[0].proxy_e164), "+14155550500");
	assert_int_equal(create_at(f, &s4, &default_rules, 2000, &o), MASKD_ENOTFOUND);
	struct store_stats stats;
	assert_int_equal(store_stats(f->st, &stats), 0);
	assert_int_equal(stats.numbers, 3);
	assert_int_equal(stats.numbers_active, 0);
}

struct ev_ctx {
	int n;
	struct session_event ev[8];
};

static void add_event(void *ctx, const struct session_event *e)
{
	struct ev_ctx *c = ctx;
	if (c->n < 8)
		c->ev[c->n++] = *e;
}

static void number_swap(void **state)
{
	struct fixture *f = *state;
	char n[3][ID_MAX];
	for (int i = 0; i < 3; i++) {
		char e164[16];
		snprintf(e164, sizeof(e164), "+1415555060%d", i);
		add_number(f, e164, NUMBER_ACTIVE, CAP_ALL, 1 + i, n[i]);
	}
	struct session s, t;
	open_pair(f, &s, RIDER, DRIVER1, 2000); /* rider n0, driver n1 */
	struct participant p;
	memset(&p, 0, sizeof(p));
	snprintf(p.country, sizeof(p.country), "US");
	/* named */
	snprintf(p.proxy_e164, sizeof(p.proxy_e164), "+14155550602");
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &default_rules, 2100), 0);
	assert_string_equal(p.proxy_number_id, n[2]);
	expect_route(f, "+14155550602", RIDER, s.id);
	expect_route(f, "+14155550600", RIDER, "");
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, "+14155550601", DRIVER1, &v), 0);
	assert_string_equal(v.to_proxy_e164, "+14155550602");
	struct number num;
	assert_int_equal(store_number_get(f->st, n[0], &num), 0);
	assert_int_equal(num.in_use, 0);
	assert_int_equal(store_number_get(f->st, n[2], &num), 0);
	assert_int_equal(num.in_use, 1);
	/* to the number it has: conflict; not in the pool: not found */
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &default_rules, 2100),
			 MASKD_ECONFLICT);
	snprintf(p.proxy_e164, sizeof(p.proxy_e164), "+14155550699");
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &default_rules, 2100),
			 MASKD_ENOTFOUND);
	/* auto: the pool rule, its current number excluded */
	p.proxy_e164[0] = '\0';
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[1].id, &p, &default_rules, 2200), 0);
	assert_string_equal(p.proxy_number_id, n[0]);
	/* a named number this real number holds in another session: conflict */
	open_pair(f, &t, RIDER, DRIVER2, 2300); /* rider gets n0 or n1 */
	snprintf(p.proxy_e164, sizeof(p.proxy_e164), "%s", t.participants[0].proxy_e164);
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &default_rules, 2300),
			 MASKD_ECONFLICT);
	assert_int_equal(sessions_participant_swap(f->st, s.id, "par_nope", &p, &default_rules, 2300), MASKD_ENOTFOUND);
	assert_int_equal(sessions_participant_swap(f->st, "ses_nope", "par_nope", &p, &default_rules, 2300),
			 MASKD_ENOTFOUND);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 2400), 0);
	p.proxy_e164[0] = '\0';
	assert_int_equal(sessions_participant_swap(f->st, s.id, s.participants[0].id, &p, &default_rules, 2500),
			 MASKD_ECONFLICT);
	struct ev_ctx ev = {0};
	assert_int_equal(store_session_events(f->st, s.id, add_event, &ev), 0);
	assert_int_equal(ev.n, 3);
	assert_string_equal(ev.ev[0].kind, "number_swapped");
	assert_string_equal(ev.ev[0].participant_id, s.participants[0].id);
	assert_string_equal(ev.ev[0].detail, "+14155550600 -> +14155550602");
	assert_int_equal(ev.ev[0].created_at, 2100);
	assert_string_equal(ev.ev[1].detail, "+14155550601 -> +14155550600");
	assert_string_equal(ev.ev[2].kind, "closed");
	assert_true(strncmp(ev.ev[2].id, "evt_", 4) == 0);
	ev.n = 0;
	assert_int_equal(store_session_events(f->st, "ses_nope", add_event, &ev), 0);
	assert_int_equal(ev.n, 0);
}

static void reopen_rules(void **state)
{
	struct fixture *f = *state;
	use_service(f, 600);
	char n1[ID_MAX];
	add_number(f, "+14155550700", NUMBER_ACTIVE, CAP_ALL, 1, n1);
	add_number(f, "+14155550701", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s, t, got;
	int failed = -5;
	make_session(f, &s, "case-7", 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &s, &default_rules, 2000, NULL), 0);
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 2050, &failed), 0); /* open: no change */
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 2100), 0);
	/* during the cool-off: the bindings are kept */
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 2200, &failed), 0);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_OPEN);
	assert_int_equal(got.closed_at, 0);
	assert_int_equal(got.last_activity_at, 2200);
	struct number n;
	assert_int_equal(store_number_get(f->st, n1, &n), 0);
	assert_int_equal(n.in_use, 1);
	assert_int_equal(n.cooling, 0);
	expect_route(f, "+14155550700", RIDER, s.id);
	/* after release, nobody took them: taken again */
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 2300), 0);
	int released;
	assert_int_equal(lifecycle_bindings_release(f->st, 2900, 100, &released), 0);
	assert_int_equal(released, 2);
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 3000, &failed), 0);
	expect_route(f, "+14155550700", RIDER, s.id);
	/* its unique_name taken meanwhile by another open session */
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 3100), 0);
	make_session(f, &t, "case-7", 2, DRIVER2, DRIVER3);
	assert_int_equal(create_at(f, &t, &default_rules, 3100, NULL), 0);
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 3200, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, CREATE_FAIL_UNIQUE_NAME);
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_CLOSED, 3200), 0);
	/* released, then the rider's binding on n1 taken by another session */
	assert_int_equal(lifecycle_bindings_release(f->st, 3700, 100, &released), 0);
	open_pair(f, &t, RIDER, DRIVER3, 3800);
	assert_string_equal(t.participants[0].proxy_number_id, n1);
	failed = -5;
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 3900, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, 0);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_CLOSED); /* nothing written */
	/* an expires_at not after now */
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_CLOSED, 3900), 0);
	int64_t past = 3900;
	assert_int_equal(lifecycle_reopen(f->st, t.id, NULL, &past, 3950, &failed), MASKD_EINVAL);
	int64_t later = 9000;
	assert_int_equal(lifecycle_reopen(f->st, t.id, NULL, &later, 3950, &failed), 0);
	assert_int_equal(store_session_get(f->st, t.id, &got), 0);
	assert_int_equal(got.expires_at, 9000);
	assert_int_equal(lifecycle_reopen(f->st, "ses_nope", NULL, NULL, 3950, &failed), MASKD_ENOTFOUND);
	struct ev_ctx ev = {0};
	assert_int_equal(store_session_events(f->st, t.id, add_event, &ev), 0);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.ev[1].kind, "reopened");
}

static void unique_name_create_or_return(void **state)
{
	struct fixture *f = *state;
	add_number(f, "+14155550800", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	struct session s, t;
	struct create_outcome o;
	make_session(f, &s, "order-9", 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &s, &default_rules, 2000, &o), 0);
	/* the same pair (in either order): the existing session */
	make_session(f, &t, "order-9", 2, DRIVER1, RIDER);
	assert_int_equal(create_at(f, &t, &default_rules, 2100, &o), MASKD_EEXISTS);
	assert_string_equal(o.existing_id, s.id);
	/* a different pair: a conflict on the name */
	make_session(f, &t, "order-9", 2, RIDER, DRIVER2);
	assert_int_equal(create_at(f, &t, &default_rules, 2100, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, CREATE_FAIL_UNIQUE_NAME);
	make_session(f, &t, "order-9", 1, RIDER, NULL);
	assert_int_equal(create_at(f, &t, &default_rules, 2100, &o), MASKD_ECONFLICT);
	struct session got;
	assert_int_equal(store_session_get(f->st, t.id, &got), MASKD_ENOTFOUND);
}

static void pins(void **state)
{
	struct fixture *f = *state;
	add_number(f, "+14155550900", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	struct session s, t, got;
	struct create_outcome o;
	make_session(f, &s, NULL, 2, RIDER, DRIVER1);
	snprintf(s.pin, sizeof(s.pin), "482913");
	assert_int_equal(create_at(f, &s, &default_rules, 2000, &o), 0);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_string_equal(got.pin, "482913");
	make_session(f, &t, NULL, 2, DRIVER2, DRIVER3);
	snprintf(t.pin, sizeof(t.pin), "482913");
	assert_int_equal(create_at(f, &t, &default_rules, 2000, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, CREATE_FAIL_PIN);
	/* a participant calling the PIN number with the PIN */
	struct route_view v;
	memset(&v, 0, sizeof(v));
	snprintf(v.number.id, sizeof(v.number.id), "num_pinline");
	assert_int_equal(store_pin_lookup(f->st, f->svc.id, "482913", DRIVER1, &v), 0);
	assert_string_equal(v.number.id, "num_pinline"); /* left as the caller set it */
	assert_string_equal(v.session_id, s.id);
	assert_string_equal(v.from_participant, s.participants[1].id);
	assert_string_equal(v.to_participant, s.participants[0].id);
	assert_string_equal(v.to_number, RIDER);
	assert_string_equal(v.to_proxy_e164, s.participants[0].proxy_e164);
	/* not a participant, a wrong PIN, another service */
	assert_int_equal(store_pin_lookup(f->st, f->svc.id, "482913", DRIVER2, &v), MASKD_ENOTFOUND);
	assert_int_equal(store_pin_lookup(f->st, f->svc.id, "482914", DRIVER1, &v), MASKD_ENOTFOUND);
	assert_int_equal(store_pin_lookup(f->st, "svc_other", "482913", DRIVER1, &v), MASKD_ENOTFOUND);
	/* closed: not found, and the PIN is free again */
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 2100), 0);
	assert_int_equal(store_pin_lookup(f->st, f->svc.id, "482913", DRIVER1, &v), MASKD_ENOTFOUND);
	assert_int_equal(create_at(f, &t, &default_rules, 2200, &o), 0);
	/* re-opening s while t holds its PIN */
	int failed;
	assert_int_equal(lifecycle_reopen(f->st, s.id, NULL, NULL, 2300, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, CREATE_FAIL_PIN);
}

static void single_party_then_add(void **state)
{
	struct fixture *f = *state;
	add_number(f, "+14155551000", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155551001", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s, t;
	struct create_outcome o;
	make_session(f, &s, NULL, 1, RIDER, NULL);
	assert_int_equal(create_at(f, &s, &default_rules, 2000, &o), 0);
	/* waiting for the second: the binding routes, with nobody on the other side */
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, s.participants[0].proxy_e164, RIDER, &v), 0);
	assert_string_equal(v.session_id, s.id);
	assert_string_equal(v.to_participant, "");
	assert_string_equal(v.to_number, "");
	assert_string_equal(v.to_proxy_e164, "");
	struct participant p;
	memset(&p, 0, sizeof(p));
	id_new("par", p.id);
	snprintf(p.number, sizeof(p.number), RIDER);
	snprintf(p.country, sizeof(p.country), "US");
	assert_int_equal(sessions_participant_add(f->st, s.id, &p, &default_rules, 2100, &o), MASKD_EINVAL);
	snprintf(p.number, sizeof(p.number), DRIVER1);
	assert_int_equal(sessions_participant_add(f->st, "ses_nope", &p, &default_rules, 2100, &o), MASKD_ENOTFOUND);
	assert_int_equal(sessions_participant_add(f->st, s.id, &p, &default_rules, 2100, &o), 0);
	assert_int_equal(o.held[1], 1);
	assert_int_equal(o.level[1], GEO_COUNTRY);
	assert_int_equal(store_route_lookup(f->st, s.participants[0].proxy_e164, RIDER, &v), 0);
	assert_string_equal(v.to_participant, p.id);
	assert_string_equal(v.to_number, DRIVER1);
	assert_string_equal(v.to_proxy_e164, p.proxy_e164);
	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.n_participants, 2);
	assert_string_equal(got.participants[1].id, p.id);
	/* two already */
	struct participant q = p;
	id_new("par", q.id);
	snprintf(q.number, sizeof(q.number), DRIVER2);
	assert_int_equal(sessions_participant_add(f->st, s.id, &q, &default_rules, 2100, &o), MASKD_ECONFLICT);
	assert_int_equal(o.failed_index, -1);
	/* the pair is known now: sticky next time */
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 2200), 0);
	make_session(f, &t, NULL, 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &t, &default_rules, 2300, &o), 0);
	assert_int_equal(o.sticky[0], 1);
	assert_int_equal(o.sticky[1], 1);
	assert_string_equal(t.participants[1].proxy_number_id, p.proxy_number_id);
	struct ev_ctx ev = {0};
	assert_int_equal(store_session_events(f->st, s.id, add_event, &ev), 0);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.ev[0].kind, "participant_added");
	assert_string_equal(ev.ev[0].participant_id, p.id);
}

static void optouts(void **state)
{
	struct fixture *f = *state;
	add_number(f, "+14155551100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155551101", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	struct session s;
	open_pair(f, &s, RIDER, DRIVER1, 2000);
	const char *rider_proxy = s.participants[0].proxy_e164;
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, rider_proxy, RIDER, &v), 0);
	assert_int_equal(v.to_opted_out, 0);
	/* the driver texts STOP to its proxy number: texts towards it stop */
	assert_int_equal(store_optout_set(f->st, f->svc.id, DRIVER1, s.participants[1].proxy_number_id, 1, 2100), 0);
	assert_int_equal(store_optout_set(f->st, f->svc.id, DRIVER1, s.participants[1].proxy_number_id, 1, 2101), 0);
	assert_int_equal(store_route_lookup(f->st, rider_proxy, RIDER, &v), 0);
	assert_int_equal(v.to_opted_out, 1);
	/* the driver's own view is unaffected; STOP on another number neither */
	assert_int_equal(store_route_lookup(f->st, s.participants[1].proxy_e164, DRIVER1, &v), 0);
	assert_int_equal(v.to_opted_out, 0);
	assert_int_equal(store_optout_set(f->st, f->svc.id, RIDER, s.participants[1].proxy_number_id, 1, 2100), 0);
	assert_int_equal(store_route_lookup(f->st, s.participants[1].proxy_e164, DRIVER1, &v), 0);
	assert_int_equal(v.to_opted_out, 0);
	/* START */
	assert_int_equal(store_optout_set(f->st, f->svc.id, DRIVER1, s.participants[1].proxy_number_id, 0, 2200), 0);
	assert_int_equal(store_optout_set(f->st, f->svc.id, DRIVER1, s.participants[1].proxy_number_id, 0, 2201), 0);
	assert_int_equal(store_route_lookup(f->st, rider_proxy, RIDER, &v), 0);
	assert_int_equal(v.to_opted_out, 0);
}

static void blocked_close(void **state)
{
	struct fixture *f = *state;
	use_service(f, 600);
	add_number(f, "+14155551200", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	struct session s, t, got;
	open_pair(f, &s, RIDER, DRIVER1, 2000);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_FAILED, 2100), MASKD_EINVAL);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_BLOCKED, 2100), 0);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_BLOCKED);
	assert_int_equal(got.closed_at, 2100);
	/* held for the cool-off like a closed one; routing tells it is blocked */
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, "+14155551200", RIDER, &v), 0);
	assert_string_equal(v.session_id, s.id);
	assert_int_equal(v.session_status, SESSION_BLOCKED);
	/* closing a blocked session leaves it blocked; blocking a closed one blocks it */
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 2200), 0);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_BLOCKED);
	open_pair(f, &t, DRIVER2, DRIVER3, 2000);
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_CLOSED, 2300), 0);
	assert_int_equal(lifecycle_close(f->st, t.id, SESSION_BLOCKED, 2400), 0);
	assert_int_equal(store_session_get(f->st, t.id, &got), 0);
	assert_int_equal(got.status, SESSION_BLOCKED);
	assert_int_equal(got.closed_at, 2300);
	struct ev_ctx ev = {0};
	assert_int_equal(store_session_events(f->st, t.id, add_event, &ev), 0);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.ev[0].kind, "closed");
	assert_string_equal(ev.ev[1].kind, "blocked");
	assert_int_equal(ev.ev[1].created_at, 2400);
	/* expiry closes with the cool-off too */
	struct session u;
	open_pair(f, &u, UK_CALLER, FR_CALLER, 2500);
	int64_t exp = 2600;
	assert_int_equal(lifecycle_update(f->st, u.id, NULL, &exp, 2500), 0);
	int closed;
	assert_int_equal(lifecycle_expire(f->st, 2600, 10, &closed), 0);
	assert_int_equal(closed, 1);
	expect_route(f, "+14155551200", UK_CALLER, u.id);
	memset(&ev, 0, sizeof(ev));
	assert_int_equal(store_session_events(f->st, u.id, add_event, &ev), 0);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.ev[0].kind, "closed");
	assert_string_equal(ev.ev[0].detail, "expired");
}

static void headroom_counts(void **state)
{
	struct fixture *f = *state;
	for (int i = 0; i < 4; i++) {
		char e164[16];
		snprintf(e164, sizeof(e164), "+1415555140%d", i);
		add_number(f, e164, NUMBER_ACTIVE, CAP_ALL, 1 + i, NULL);
	}
	struct session a, b;
	struct create_outcome o;
	open_pair(f, &a, RIDER, DRIVER1, 2000);
	/* same level and country for both (one shared count), different holds */
	make_session(f, &b, NULL, 2, RIDER, DRIVER2);
	assert_int_equal(create_at(f, &b, &default_rules, 2100, &o), 0);
	assert_int_equal(o.held[0], 2);
	assert_int_equal(o.free_left[0], 2); /* 4 numbers, 2 its own */
	assert_int_equal(o.held[1], 1);
	assert_int_equal(o.free_left[1], 3);
	/* each number has one session now; at a cap of 2 the two this create fills up are not free */
	struct create_rules cap2 = rules_of(GEO_COUNTRY, 0, SELECT_PREFER_STICKY, 2, 0);
	make_session(f, &b, NULL, 2, DRIVER3, UK_CALLER);
	assert_int_equal(create_at(f, &b, &cap2, 2200, &o), 0);
	assert_int_equal(o.held[0], 1);
	assert_int_equal(o.free_left[0], 2);
	assert_int_equal(o.free_left[1], 2);
}

static void cap_counts_a_session_once(void **state)
{
	struct fixture *f = *state;
	char pa[ID_MAX], pb[ID_MAX];
	add_number(f, "+14155551500", NUMBER_ACTIVE, CAP_ALL, 1, pa);
	add_number(f, "+14155551501", NUMBER_ACTIVE, CAP_ALL, 2, pb);
	struct create_rules cap1 = rules_of(GEO_COUNTRY, 0, SELECT_PREFER_STICKY, 1, 0);
	struct session s;
	struct create_outcome o;
	make_session(f, &s, NULL, 2, RIDER, DRIVER1);
	snprintf(s.participants[0].proxy_e164, sizeof(s.participants[0].proxy_e164), "+14155551500");
	snprintf(s.participants[1].proxy_e164, sizeof(s.participants[1].proxy_e164), "+14155551500");
	assert_int_equal(create_at(f, &s, &cap1, 2000, &o), 0);
	/* the second participant shares the number the first one filled up: one session */
	make_session(f, &s, NULL, 2, DRIVER2, DRIVER3);
	assert_int_equal(create_at(f, &s, &cap1, 2000, &o), 0);
	assert_string_equal(s.participants[0].proxy_number_id, pb);
	assert_string_equal(s.participants[1].proxy_number_id, pb);
	struct number n;
	assert_int_equal(store_number_get(f->st, pb, &n), 0);
	assert_int_equal(n.in_use, 1);
	make_session(f, &s, NULL, 2, UK_CALLER, FR_CALLER);
	assert_int_equal(create_at(f, &s, &cap1, 2000, &o), MASKD_EEXHAUSTED);
	assert_int_equal(o.failed_index, 0);
	snprintf(s.participants[0].proxy_e164, sizeof(s.participants[0].proxy_e164), "+14155551500");
	assert_int_equal(create_at(f, &s, &cap1, 2000, &o), MASKD_ENOTFOUND); /* named, full */
}

static void stats_and_pool_stats(void **state)
{
	struct fixture *f = *state;
	use_service(f, 600);
	add_number(f, "+14155551300", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155551301", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	add_number(f, "+14155551302", NUMBER_RESERVED, CAP_ALL, 3, NULL);
	struct session a, b, c;
	open_pair(f, &a, RIDER, DRIVER1, 2000);
	open_pair(f, &b, RIDER, DRIVER2, 2000);
	open_pair(f, &c, DRIVER3, UK_CALLER, 2000);
	assert_int_equal(lifecycle_close(f->st, c.id, SESSION_CLOSED, 2100), 0);
	struct store_stats st;
	assert_int_equal(store_stats(f->st, &st), 0);
	assert_int_equal(st.services, 2);
	assert_int_equal(st.numbers, 3);
	assert_int_equal(st.numbers_active, 2);
	assert_int_equal(st.sessions_open, 2);
	assert_int_equal(st.bindings_active, 4);
	assert_int_equal(st.bindings_cooling, 2);
	struct pool_stats ps;
	assert_int_equal(store_pool_stats(f->st, f->svc.id, &ps), 0);
	assert_int_equal(ps.max_held, 2);       /* the rider in two sessions */
	assert_int_equal(ps.participants, 3);   /* rider, driver1, driver2 (the closed pair cools) */
	assert_int_equal(store_pool_stats(f->st, "svc_other", &ps), 0);
	assert_int_equal(ps.max_held, 0);
	assert_int_equal(ps.participants, 0);
}

static void service_policy_fields(void **state)
{
	struct fixture *f = *state;
	struct service svc;
	memset(&svc, 0, sizeof(svc));
	id_new("svc", svc.id);
	snprintf(svc.name, sizeof(svc.name), "Full");
	svc.pool = (struct pool_rules){GEO_REGION, 1, SELECT_AVOID_STICKY};
	svc.cooloff = 7200;
	svc.cooloff_reuse = 1;
	svc.number_cap = 50;
	svc.unknown_caller = UNKNOWN_CALLBACK;
	snprintf(svc.fallback_number, sizeof(svc.fallback_number), "+14155559999");
	snprintf(svc.pin_number, sizeof(svc.pin_number), "+14155558888");
	svc.pin_length = 5;
	svc.pin_attempts = 2;
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
	assert_int_equal(store_service_get(f->st, svc.id, &got), 0);
	assert_memory_equal(&got.pool, &svc.pool, sizeof(svc.pool));
	assert_int_equal(got.cooloff, 7200);
	assert_int_equal(got.cooloff_reuse, 1);
	assert_int_equal(got.number_cap, 50);
	assert_int_equal(got.unknown_caller, UNKNOWN_CALLBACK);
	assert_string_equal(got.fallback_number, svc.fallback_number);
	assert_string_equal(got.pin_number, svc.pin_number);
	assert_int_equal(got.pin_length, 5);
	assert_int_equal(got.pin_attempts, 2);
	assert_string_equal(got.callback_url, svc.callback_url);
	assert_int_equal(got.callback_timeout_ms, 1500);
	assert_int_equal(got.callback_fail_open, 1);
	assert_string_equal(got.ended_message, svc.ended_message);
	assert_string_equal(got.help_text, svc.help_text);
	assert_int_equal(got.rate_calls, 10);
	assert_int_equal(got.rate_texts, 20);
	assert_int_equal(got.rate_silent, 1);
}

/* ---------------------------------------------------------------- service update */

#define NEW_TOKEN "twilio-auth-token-rotated-9876543210"
#define SW_KEY "PSK_signalwire-signing-key-abcdef"

/* Every field of struct service but created_at changed from the fixture's. */
static void service_changed(const struct service *from, struct service *to)
{
	memset(to, 0, sizeof(*to));
	snprintf(to->id, sizeof(to->id), "%s", from->id);
	to->created_at = from->created_at;
	snprintf(to->name, sizeof(to->name), "Rides renamed");
	snprintf(to->secrets[DIALECT_TWILIO], sizeof(to->secrets[0]), "{\"auth_token\":\"%s\"}", NEW_TOKEN);
	snprintf(to->secrets[DIALECT_SIGNALWIRE], sizeof(to->secrets[0]), "{\"signing_key\":\"%s\"}", SW_KEY);
	to->mode = MODE_VOICE;
	to->ttl = 900;
	snprintf(to->unknown_caller_message, sizeof(to->unknown_caller_message), "Not in service.");
	to->policy = (struct call_policy){.record = 1, .time_limit = 600, .ring_timeout = 25};
	snprintf(to->policy.consent_message, sizeof(to->policy.consent_message), "Recorded.");
	to->pool = (struct pool_rules){GEO_AREA_CODE, 1, SELECT_AVOID_STICKY};
	to->cooloff = 3600;
	to->cooloff_reuse = 1;
	to->number_cap = 7;
	to->unknown_caller = UNKNOWN_CALLBACK;
	snprintf(to->fallback_number, sizeof(to->fallback_number), "+14155559999");
	snprintf(to->pin_number, sizeof(to->pin_number), "+14155558888");
	to->pin_length = 8;
	to->pin_attempts = 5;
	snprintf(to->callback_url, sizeof(to->callback_url), "https://app.example/unknown");
	to->callback_timeout_ms = 900;
	to->callback_fail_open = 1;
	snprintf(to->ended_message, sizeof(to->ended_message), "Over.");
	snprintf(to->help_text, sizeof(to->help_text), "Help: example.org");
	to->rate_calls = 3;
	to->rate_texts = 4;
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
	struct fixture *f = *state;
	struct service got, upd;
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0); /* cached now */
	service_changed(&got, &upd);
	assert_int_equal(store_service_update(f->st, &upd), 0);
	/* this handle: at once (its cache entry was replaced) */
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	/* the database: a fresh handle reads every column back */
	struct store *st2 = NULL;
	char err[256];
	assert_int_equal(store_open(f->db, f->vault, &st2, err, sizeof(err)), 0);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	/* a carrier whose secret is "" is removed; the other one is replaced */
	upd.secrets[DIALECT_SIGNALWIRE][0] = '\0';
	snprintf(upd.secrets[DIALECT_TWILIO], sizeof(upd.secrets[0]), "{\"auth_token\":\"third\"}");
	assert_int_equal(store_service_update(f->st, &upd), 0);
	store_service_cache_ttl(st2, 0);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	assert_string_equal(got.secrets[DIALECT_SIGNALWIRE], "");
	store_close(st2);
	/* the listing agrees; other services are untouched */
	struct service other;
	memset(&other, 0, sizeof(other));
	id_new("svc", other.id);
	snprintf(other.name, sizeof(other.name), "Other");
	snprintf(other.secrets[DIALECT_TWILIO], sizeof(other.secrets[0]), SECRET);
	assert_int_equal(store_service_insert(f->st, &other), 0);
	assert_int_equal(store_service_update(f->st, &upd), 0);
	assert_int_equal(store_service_get(f->st, other.id, &got), 0);
	assert_string_equal(got.name, "Other");
	assert_string_equal(got.secrets[DIALECT_TWILIO], SECRET);
	/* the new credentials are sealed at rest like the first ones */
	char path[160];
	snprintf(path, sizeof(path), "%s-wal", f->db);
	const char *secrets[] = {NEW_TOKEN, SW_KEY};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		assert_false(file_contains(f->db, secrets[i]));
		assert_false(file_contains(path, secrets[i]));
	}
}

static void service_update_unknown(void **state)
{
	struct fixture *f = *state;
	struct service upd, got;
	service_changed(&f->svc, &upd);
	id_new("svc", upd.id);
	assert_int_equal(store_service_update(f->st, &upd), MASKD_ENOTFOUND);
	assert_int_equal(store_service_get(f->st, upd.id, &got), MASKD_ENOTFOUND);
	/* nothing of it was written, not even its secrets */
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM service_secrets WHERE service_id = ?1", -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, upd.id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	/* the fixture's service is unchanged */
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides");
	assert_string_equal(got.secrets[DIALECT_TWILIO], SECRET);
}

/* Another handle on the same database (another node) keeps its cached copy for
 * at most its TTL, then reloads: the new values, or ENOTFOUND once the row is gone. */
static void service_cache_ttl(void **state)
{
	struct fixture *f = *state;
	struct store *st2 = NULL;
	char err[256];
	assert_int_equal(store_open(f->db, f->vault, &st2, err, sizeof(err)), 0);
	store_service_cache_ttl(st2, 2);
	struct service got, upd;
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides");
	service_changed(&got, &upd);
	assert_int_equal(store_service_update(f->st, &upd), 0);
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides renamed");
	/* within the TTL: the other handle still answers from its cache */
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_string_equal(got.name, "Rides");
	assert_string_equal(got.secrets[DIALECT_TWILIO], SECRET);
	usleep(2100 * 1000);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), 0);
	assert_service_equal(&got, &upd);
	/* a service that vanished (no API deletes one; a restore might) is not served stale */
	store_service_cache_ttl(st2, 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	char sql[256];
	snprintf(sql, sizeof(sql), "DELETE FROM service_secrets WHERE service_id = '%s'; DELETE FROM services WHERE id = '%s'",
		 f->svc.id, f->svc.id);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_service_get(st2, f->svc.id, &got), MASKD_ENOTFOUND);
	assert_int_equal(store_service_update(st2, &upd), MASKD_ENOTFOUND);
	store_close(st2);
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
	store_close(st);
	vault_free(v);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---------------------------------------------------------------- retention (DESIGN §1.5) */

/* length(number_sealed) and bidx of a participant row, read past the store. */
static void raw_participant(struct fixture *f, const char *id, int *sealed_len, char *bidx, size_t cap)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT length(number_sealed), bidx FROM participants WHERE id = ?1",
					    -1, &q, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	*sealed_len = sqlite3_column_int(q, 0);
	snprintf(bidx, cap, "%s", (const char *)sqlite3_column_text(q, 1));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void numbers_purged_after_retention(void **state)
{
	struct fixture *f = *state;
	use_service(f, 0);
	char n[2][ID_MAX];
	add_number(f, "+14155550400", NUMBER_ACTIVE, CAP_ALL, 1, n[0]);
	add_number(f, "+14155550401", NUMBER_ACTIVE, CAP_ALL, 2, n[1]);
	struct session old, recent, open;
	open_pair(f, &old, RIDER, DRIVER1, 2000);
	open_pair(f, &recent, DRIVER2, DRIVER3, 2000);
	open_pair(f, &open, UK_CALLER, FR_CALLER, 2000);
	assert_int_equal(store_optout_set(f->st, f->svc.id, RIDER, n[0], 1, 2050), 0);
	assert_int_equal(lifecycle_close(f->st, old.id, SESSION_CLOSED, 2100), 0); /* cooloff 0: released */
	assert_int_equal(lifecycle_close(f->st, recent.id, SESSION_CLOSED, 5000), 0);
	/* bounded by limit, then idempotent */
	int purged = -1, sessions = -1;
	assert_int_equal(lifecycle_purge(f->st, 3000, 3001, 1, &sessions, &purged), 0);
	assert_int_equal(sessions, 1);
	assert_int_equal(purged, 2); /* both participants of the old session */
	assert_int_equal(lifecycle_purge(f->st, 3000, 3002, 100, &sessions, &purged), 0);
	assert_int_equal(sessions, 0);
	assert_int_equal(purged, 0);
	int len;
	char bidx[128], want[128];
	for (int i = 0; i < 2; i++) {
		raw_participant(f, old.participants[i].id, &len, bidx, sizeof(bidx));
		assert_int_equal(len, 0);
		snprintf(want, sizeof(want), "purged:%s", old.participants[i].id);
		assert_string_equal(bidx, want);
		char num[32];
		assert_int_equal(store_participant_number(f->st, old.participants[i].id, num, sizeof(num)),
				 MASKD_ENOTFOUND);
		raw_participant(f, recent.participants[i].id, &len, bidx, sizeof(bidx));
		assert_true(len > 0);
		assert_null(strstr(bidx, "purged:"));
		raw_participant(f, open.participants[i].id, &len, bidx, sizeof(bidx));
		assert_true(len > 0);
	}
	char num[32];
	assert_int_equal(store_participant_number(f->st, recent.participants[0].id, num, sizeof(num)), 0);
	assert_string_equal(num, DRIVER2);
	expect_route(f, open.participants[0].proxy_e164, UK_CALLER, open.id);
	/* the record survives: masked numbers, proxies, status */
	struct session got;
	assert_int_equal(store_session_get(f->st, old.id, &got), 0);
	/* a purged session cannot be re-opened: nothing is left to route to */
	int failed = 0;
	assert_int_equal(lifecycle_reopen(f->st, old.id, NULL, NULL, 6000, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, CREATE_FAIL_PURGED);
	assert_int_equal(got.status, SESSION_CLOSED);
	assert_int_equal(got.n_participants, 2);
	assert_string_equal(got.participants[0].masked, old.participants[0].masked);
	assert_string_equal(got.participants[1].proxy_number_id, old.participants[1].proxy_number_id);
	/* opt-outs are remembered */
	sqlite3 *db;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM optouts", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 0), 1);
	sqlite3_finalize(q);
	sqlite3_close(db);
	/* the same pair again: a fresh session, not sticky to the purged rows */
	struct session again;
	struct create_outcome o;
	make_session(f, &again, NULL, 2, RIDER, DRIVER1);
	assert_int_equal(create_at(f, &again, &default_rules, 6000, &o), 0);
	assert_int_equal(o.sticky[0], 0);
	assert_int_equal(o.sticky[1], 0);
	expect_route(f, again.participants[0].proxy_e164, RIDER, again.id);
	assert_int_equal(store_participant_number(f->st, again.participants[1].id, num, sizeof(num)), 0);
	assert_string_equal(num, DRIVER1);
	/* later, the recent session goes too; the open ones never */
	assert_int_equal(lifecycle_purge(f->st, 1000000, 1000001, 100, &sessions, &purged), 0);
	assert_int_equal(sessions, 1);
	assert_int_equal(purged, 2);
	raw_participant(f, open.participants[0].id, &len, bidx, sizeof(bidx));
	assert_true(len > 0);
}

struct tx_count {
	int runs;
	int answer;
	int answer_after; /* runs after which answer becomes 0 (-1 = never) */
};

static int tx_counting_body(struct store_tx *tx, void *ctx)
{
	struct tx_count *t = ctx;
	assert_non_null(tx);
	t->runs++;
	return t->answer_after >= 0 && t->runs > t->answer_after ? 0 : t->answer;
}

/* store_tx_run: commits on 0, returns a body's error once, re-runs a body that
 * asks for MASKD_ERETRY and gives up after STORE_TX_ATTEMPTS runs. */
static void tx_run_contract(void **state)
{
	struct fixture *f = *state;
	struct tx_count t = {.answer = 0, .answer_after = -1};
	assert_int_equal(store_tx_run(f->st, tx_counting_body, &t), 0);
	assert_int_equal(t.runs, 1);
	t = (struct tx_count){.answer = MASKD_EINVAL, .answer_after = -1};
	assert_int_equal(store_tx_run(f->st, tx_counting_body, &t), MASKD_EINVAL);
	assert_int_equal(t.runs, 1);
	t = (struct tx_count){.answer = MASKD_ERETRY, .answer_after = 2};
	assert_int_equal(store_tx_run(f->st, tx_counting_body, &t), 0);
	assert_int_equal(t.runs, 3);
	t = (struct tx_count){.answer = MASKD_ERETRY, .answer_after = -1};
	assert_int_equal(store_tx_run(f->st, tx_counting_body, &t), MASKD_EDB);
	assert_int_equal(t.runs, STORE_TX_ATTEMPTS);
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

static void sqlite_lifecycle_primitives(void **state)
{
	struct fixture *f = *state;
	char na[ID_MAX], nb[ID_MAX];
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, na);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, nb);
	struct session s, t;
	assert_int_equal(new_session(f, RIDER, DRIVER1, "u1", &s, NULL), 0);
	assert_int_equal(new_session(f, RIDER, DRIVER2, NULL, &t, NULL), 0);
	check_lifecycle_primitives(f->st, &s, &t, na, nb);
}

/* One expiry batch closing sessions on different numbers gives each number back
 * (the in_use changes of a batch are applied together at its end). */
static void sqlite_expiry_batch_gives_every_number_back(void **state)
{
	struct fixture *f = *state;
	char ids[3][ID_MAX];
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, ids[0]);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, ids[1]);
	add_number(f, "+14155550102", NUMBER_ACTIVE, CAP_ALL, 3, ids[2]);
	const char *other[3] = {DRIVER1, DRIVER2, DRIVER3};
	for (int i = 0; i < 3; i++) {
		struct session s;
		assert_int_equal(new_session(f, RIDER, other[i], NULL, &s, NULL), 0);
		int64_t ttl = 60;
		assert_int_equal(lifecycle_update(f->st, s.id, &ttl, NULL, 2001), 0);
	}
	int64_t held = 0;
	for (int i = 0; i < 3; i++) {
		struct number n;
		assert_int_equal(store_number_get(f->st, ids[i], &n), 0);
		held += n.in_use;
	}
	assert_true(held >= 3); /* each session counts once on each of its numbers */
	int closed = 0;
	assert_int_equal(lifecycle_expire(f->st, 2060, 100, &closed), 0);
	assert_int_equal(closed, 3);
	for (int i = 0; i < 3; i++) {
		struct number n;
		assert_int_equal(store_number_get(f->st, ids[i], &n), 0);
		assert_int_equal(n.in_use, 0);
	}
}

/* ---------------------------------------------------------------- row primitives (store_tx_*) */

static void tx_primitives_contract(void **state)
{
	struct fixture *f = *state;
	char a[ID_MAX], b[ID_MAX];
	add_number(f, "+14155550001", NUMBER_ACTIVE, CAP_ALL, 1, a);
	add_number(f, "+14155550002", NUMBER_ACTIVE, CAP_ALL, 2, b);
	add_number(f, "+14155550003", NUMBER_ACTIVE, CAP_ALL, 3, NULL);
	store_tx_contract(f->st, &f->svc, a, b, 3);
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
	assert_int_equal(sqlite3_open(f->db, &blocker), SQLITE_OK);
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
		cmocka_unit_test_setup_teardown(tx_run_contract, setup, teardown),
		cmocka_unit_test_setup_teardown(tx_primitives_contract, setup, teardown),
		cmocka_unit_test_setup_teardown(services_and_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(numbers_unique, setup, teardown),
		cmocka_unit_test_setup_teardown(allocation_binding_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(named_proxy_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(route_and_interactions, setup, teardown),
		cmocka_unit_test_setup_teardown(close_and_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_in_the_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(service_policy_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(geo_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(sticky_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(sticky_while_cooling, setup, teardown),
		cmocka_unit_test_setup_teardown(cooloff_holds_and_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(cooloff_reuse_last_resort, setup, teardown),
		cmocka_unit_test_setup_teardown(caps_and_states, setup, teardown),
		cmocka_unit_test_setup_teardown(number_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(unique_name_create_or_return, setup, teardown),
		cmocka_unit_test_setup_teardown(pins, setup, teardown),
		cmocka_unit_test_setup_teardown(single_party_then_add, setup, teardown),
		cmocka_unit_test_setup_teardown(optouts, setup, teardown),
		cmocka_unit_test_setup_teardown(blocked_close, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_and_pool_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(headroom_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(cap_counts_a_session_once, setup, teardown),
		cmocka_unit_test_setup_teardown(service_update_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(service_update_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(service_cache_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(numbers_purged_after_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(sqlite_lifecycle_primitives, setup, teardown),
		cmocka_unit_test_setup_teardown(sqlite_expiry_batch_gives_every_number_back, setup, teardown),
		cmocka_unit_test_setup_teardown(record_group_commit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
