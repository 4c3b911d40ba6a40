/* SPDX-License-Identifier: MIT */
/* suite_rows.c - the store contract, rows and transactions: services and their
 * secrets, numbers, allocation and the binding rule, named proxy numbers, routing,
 * idempotent interactions and legs, records and usage, close and expiry, nothing
 * in the clear in the database; store_tx_run and every store_tx_* primitive. */
#include "suite.h"

#include <unistd.h>

#include "flow/jobs.h"
#include "flow/lifecycle.h"
#include "flow/sessions.h"
#include "util/err.h"
#include "vectors.h"
#include "store_tx_contract.h"

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
	CX_FIXTURE(state);
	struct service got;
	assert_int_equal(store_service_get(f->st, f->svc.id, &got), 0);
	assert_string_equal(got.secrets[DIALECT_TWILIO], CX_SECRET);
	assert_string_equal(got.secrets[DIALECT_SIGNALWIRE], "");
	assert_string_equal(got.name, "Rides");
	assert_int_equal(store_service_get(f->st, "svc_nope", &got), MASKD_ENOTFOUND);
}

static void numbers_unique(void **state)
{
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	/* one PATCH: ttl and the close in one transaction; a close of a closed session
	 * changes nothing, and says so */
	struct session w;
	assert_int_equal(new_session(f, RIDER, DRIVER2, NULL, &w, NULL), 0);
	bool changed = false;
	ttl = 77;
	assert_int_equal(lifecycle_change(f->st, w.id, &ttl, NULL, SESSION_CLOSED, 2100, &changed), 0);
	assert_true(changed);
	assert_int_equal(store_session_get(f->st, w.id, &w), 0);
	assert_int_equal(w.status, SESSION_CLOSED);
	assert_int_equal(w.ttl, 77);
	ttl = 78;
	assert_int_equal(lifecycle_change(f->st, w.id, &ttl, NULL, SESSION_CLOSED, 2101, &changed), 0);
	assert_false(changed);
	assert_int_equal(store_session_get(f->st, w.id, &w), 0);
	assert_int_equal(w.ttl, 78);
	assert_int_equal(lifecycle_change(f->st, w.id, NULL, NULL, SESSION_BLOCKED, 2102, &changed), 0);
	assert_true(changed); /* closed -> blocked is a change */
	assert_int_equal(lifecycle_change(f->st, w.id, &ttl, NULL, SESSION_FAILED, 2103, &changed), MASKD_EINVAL);
	assert_false(changed);
	assert_int_equal(lifecycle_change(f->st, "ses_nope", &ttl, NULL, SESSION_CLOSED, 2103, &changed),
			 MASKD_ENOTFOUND);
	assert_int_equal(store_number_delete(f->st, n1), 0);
	assert_int_equal(store_number_delete(f->st, n1), MASKD_ENOTFOUND);
}

static void nothing_in_the_clear(void **state)
{
	CX_FIXTURE(state);
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	struct session s;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	const char *secrets[] = {RIDER, RIDER + 1, RIDER + 2, DRIVER1, DRIVER1 + 1, DRIVER1 + 2, CX_SECRET};
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		assert_false(cx_db_contains(f, secrets[i]));
	/* the control: the proxy number is stored as is, so the scan can find things */
	assert_true(cx_db_contains(f, "+14155550100"));
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
	CX_FIXTURE(state);
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

static void lifecycle_primitives(void **state)
{
	CX_FIXTURE(state);
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
static void expiry_batch_gives_every_number_back(void **state)
{
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
	char a[ID_MAX], b[ID_MAX];
	add_number(f, "+14155550001", NUMBER_ACTIVE, CAP_ALL, 1, a);
	add_number(f, "+14155550002", NUMBER_ACTIVE, CAP_ALL, 2, b);
	add_number(f, "+14155550003", NUMBER_ACTIVE, CAP_ALL, 3, NULL);
	store_tx_contract(f->st, &f->svc, a, b, 3);
}


/* Number ids are data: ids with a quote, a backslash, a comma or braces are
 * counted like any other (PostgreSQL passes a batch's ids as one array literal). */
static void in_use_of_odd_ids(void **state)
{
	CX_FIXTURE(state);
	const char *odd[3] = {"num_a\"b", "num_b\\c", "num_{c,d}"};
	for (int i = 0; i < 3; i++) {
		struct number n;
		memset(&n, 0, sizeof(n));
		snprintf(n.id, sizeof(n.id), "%s", odd[i]);
		snprintf(n.service_id, sizeof(n.service_id), "%s", f->svc.id);
		snprintf(n.e164, sizeof(n.e164), "+1415555060%d", i);
		snprintf(n.country, sizeof(n.country), "US");
		n.caps = CAP_ALL;
		n.created_at = i;
		assert_int_equal(store_number_insert(f->st, &n), 0);
	}
	struct prim q = {.nums = {odd[0], odd[1], odd[2]}, .delta = {1, 2, 3}, .n = 3};
	assert_int_equal(prim(f->st, &q, PRIM_IN_USE), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(prim_in_use(f->st, odd[i]), i + 1);
	q = (struct prim){.nums = {odd[2], odd[0], "num_nope"}, .delta = {-3, -1, 1}, .n = 3};
	assert_int_equal(prim(f->st, &q, PRIM_IN_USE), 2);
	assert_int_equal(prim_in_use(f->st, odd[0]), 0);
	assert_int_equal(prim_in_use(f->st, odd[1]), 2);
	assert_int_equal(prim_in_use(f->st, odd[2]), 0);
}

/* A participant removed from its open session (sessions_participant_remove over
 * store_tx_participant_detach): gone from the session, which stays open with the
 * other; its caller routes as for a closed session; in_use drops on a number only
 * it held; refused removes change nothing. */
static void participant_remove(void **state)
{
	CX_FIXTURE(state);
	use_service(f, 60);
	char ids[2][ID_MAX];
	add_number(f, "+14155550100", NUMBER_ACTIVE, CAP_ALL, 1, ids[0]);
	add_number(f, "+14155550101", NUMBER_ACTIVE, CAP_ALL, 2, ids[1]);
	struct session s;
	assert_int_equal(new_session(f, RIDER, DRIVER1, NULL, &s, NULL), 0);
	assert_int_equal(s.n_participants, 2);
	struct participant rider = s.participants[0], driver = s.participants[1];
	struct number before;
	assert_int_equal(store_number_get(f->st, driver.proxy_number_id, &before), 0);

	assert_int_equal(sessions_participant_remove(f->st, s.id, "prt_nope", 2010), MASKD_ENOTFOUND);
	assert_int_equal(sessions_participant_remove(f->st, "ses_nope", driver.id, 2010), MASKD_ENOTFOUND);
	assert_int_equal(sessions_participant_remove(f->st, s.id, driver.id, 2010), 0);
	assert_int_equal(sessions_participant_remove(f->st, s.id, driver.id, 2011), MASKD_ENOTFOUND);

	struct session got;
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.status, SESSION_OPEN);
	assert_int_equal(got.n_participants, 1);
	assert_string_equal(got.participants[0].id, rider.id);
	struct number after;
	assert_int_equal(store_number_get(f->st, driver.proxy_number_id, &after), 0);
	bool shared = strcmp(rider.proxy_number_id, driver.proxy_number_id) == 0;
	assert_int_equal(after.in_use, shared ? before.in_use : before.in_use - 1);

	struct route_view v;
	assert_int_equal(store_route_lookup(f->st, driver.proxy_e164, DRIVER1, &v), 0);
	assert_string_equal(v.session_id, s.id);
	assert_int_equal(v.session_status, SESSION_CLOSED);
	assert_int_equal(store_route_lookup(f->st, rider.proxy_e164, RIDER, &v), 0);
	assert_string_equal(v.session_id, s.id);
	assert_int_equal(v.session_status, SESSION_OPEN);
	assert_string_equal(v.to_number, "");

	/* the last participant goes too (as Twilio Proxy's): the session stays open
	 * with none, and the number it alone counted is free again */
	struct number rn;
	assert_int_equal(store_number_get(f->st, rider.proxy_number_id, &rn), 0);
	int64_t rider_use = rn.in_use;
	assert_int_equal(sessions_participant_remove(f->st, s.id, rider.id, 2012), 0);
	assert_int_equal(store_session_get(f->st, s.id, &got), 0);
	assert_int_equal(got.n_participants, 0);
	assert_int_equal(got.status, SESSION_OPEN);
	assert_int_equal(store_number_get(f->st, rider.proxy_number_id, &rn), 0);
	assert_int_equal(rn.in_use, rider_use - 1);
	assert_int_equal(store_route_lookup(f->st, rider.proxy_e164, RIDER, &v), 0);
	assert_int_equal(v.session_status, SESSION_CLOSED);
	assert_int_equal(sessions_participant_remove(f->st, s.id, rider.id, 2012), MASKD_ENOTFOUND);
	/* a closed session's participants stay */
	struct session t;
	assert_int_equal(new_session(f, DRIVER2, DRIVER3, NULL, &t, NULL), 0);
	bool changed = false;
	assert_int_equal(lifecycle_change(f->st, t.id, NULL, NULL, SESSION_CLOSED, 2013, &changed), 0);
	assert_true(changed);
	assert_int_equal(sessions_participant_remove(f->st, t.id, t.participants[1].id, 2014), MASKD_ECONFLICT);
	assert_int_equal(store_session_get(f->st, t.id, &got), 0);
	assert_int_equal(got.n_participants, 2);
}

const struct CMUnitTest cx_rows_tests[] = {
	CX_TEST(services_and_secrets), CX_TEST(numbers_unique), CX_TEST(allocation_binding_rule),
	CX_TEST(named_proxy_numbers), CX_TEST(route_and_interactions), CX_TEST(close_and_expire),
	CX_TEST(nothing_in_the_clear), CX_TEST(tx_run_contract), CX_TEST(lifecycle_primitives),
	CX_TEST(expiry_batch_gives_every_number_back), CX_TEST(tx_primitives_contract), CX_TEST(in_use_of_odd_ids),
	CX_TEST(participant_remove),
};
const size_t cx_rows_count = sizeof(cx_rows_tests) / sizeof(cx_rows_tests[0]);
