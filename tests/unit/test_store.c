/* SPDX-License-Identifier: MIT */
/* test_store.c - the SQLite backend through the store interface: migrations,
 * allocation and the binding rule, idempotent interactions, close and expiry,
 * and that no real number or secret is in the database file in the clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "vault/vault.h"

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
	return create_default(f->st, s, 2000, failed ? failed : &dummy);
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
	assert_int_equal(create_default(f->st, &s, 2000, &failed), 0);
	assert_string_equal(s.participants[0].proxy_number_id, reserved);
	/* the same named number for the same real number again: conflict */
	struct session t = s;
	id_new("ses", t.id);
	id_new("par", t.participants[0].id);
	id_new("par", t.participants[1].id);
	snprintf(t.participants[1].number, sizeof(t.participants[1].number), DRIVER2);
	t.participants[1].proxy_e164[0] = '\0';
	assert_int_equal(create_default(f->st, &t, 2000, &failed), MASKD_ECONFLICT);
	assert_int_equal(failed, 0);
	/* retired or not in the pool: not found */
	snprintf(t.participants[0].proxy_e164, sizeof(t.participants[0].proxy_e164), "+14155550104");
	assert_int_equal(create_default(f->st, &t, 2000, &failed), MASKD_ENOTFOUND);
	snprintf(t.participants[0].proxy_e164, sizeof(t.participants[0].proxy_e164), "+14155550199");
	assert_int_equal(create_default(f->st, &t, 2000, &failed), MASKD_ENOTFOUND);
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
	assert_int_equal(store_session_close(f->st, s.id, SESSION_CLOSED, 3000), 0);
	assert_int_equal(store_session_close(f->st, s.id, SESSION_CLOSED, 3001), 0); /* idempotent */
	assert_int_equal(store_session_close(f->st, "ses_nope", SESSION_CLOSED, 3001), MASKD_ENOTFOUND);
	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, "+14155550100", RIDER, &v), 0);
	assert_string_equal(v.session_id, ""); /* a closed session routes nobody */
	struct number n;
	assert_int_equal(store_number_get(f->st, n1, &n), 0);
	assert_int_equal(n.in_use, 0);
	/* unique_name is free again; expiry by absolute time and by idle ttl */
	assert_int_equal(new_session(f, RIDER, DRIVER1, "o1", &t, NULL), 0);
	int64_t exp = 2500;
	assert_int_equal(store_session_update(f->st, t.id, NULL, &exp, 2001), 0);
	int closed = -1;
	assert_int_equal(store_sessions_expire(f->st, 2499, 100, &closed), 0);
	assert_int_equal(closed, 0);
	assert_int_equal(store_sessions_expire(f->st, 2500, 100, &closed), 0);
	assert_int_equal(closed, 1);
	assert_int_equal(store_session_get(f->st, t.id, &t), 0);
	assert_int_equal(t.status, SESSION_CLOSED);
	struct session u;
	assert_int_equal(new_session(f, RIDER, DRIVER2, NULL, &u, NULL), 0);
	int64_t ttl = 60;
	assert_int_equal(store_session_update(f->st, u.id, &ttl, NULL, 2001), 0);
	assert_int_equal(store_sessions_expire(f->st, 2059, 100, &closed), 0);
	assert_int_equal(closed, 0);
	assert_int_equal(store_sessions_expire(f->st, 2060, 100, &closed), 0);
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

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(services_and_secrets, setup, teardown),
		cmocka_unit_test_setup_teardown(numbers_unique, setup, teardown),
		cmocka_unit_test_setup_teardown(allocation_binding_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(named_proxy_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(route_and_interactions, setup, teardown),
		cmocka_unit_test_setup_teardown(close_and_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_in_the_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
