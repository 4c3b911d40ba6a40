/* SPDX-License-Identifier: MIT */
/* suite_oneway.c - the one-way row primitives on both backends: a one-way
 * create marks the session and gives up the hidden side's binding (one agent in
 * several sessions on one number), the candidates of a caller on a number by
 * side, newest first, also after the close and the cool-off release, and the
 * route view of a row towards the other side, and the hidden rows of a number's
 * open one-way sessions (all of them, or by PIN) with no caller given. */
#include "suite.h"

#include "flow/lifecycle.h"
#include "util/err.h"

#define AGENT "+14152376001"
#define RESP1 "+14152376011"
#define RESP2 "+14152376012"

struct oneway_read {
	const char *service_id, *number_id, *from;
	int hidden;
	struct oneway_candidate c[ONEWAY_CANDIDATES_MAX];
	int n;
	const char *view_of; /* a participant row: its route view instead */
	struct route_view v;
};

static int read_body(struct store_tx *tx, void *ctx)
{
	struct oneway_read *r = ctx;
	if (r->view_of != NULL)
		return store_tx_oneway_view(tx, r->view_of, &r->v);
	return store_tx_oneway_candidates(tx, r->service_id, r->number_id, r->from, r->hidden, r->c,
					  ONEWAY_CANDIDATES_MAX, &r->n);
}

/* The candidates of from on number_id of f->svc, on the hidden side (hidden 1) or not. */
static void candidates(struct fixture *f, const char *number_id, const char *from, int hidden, struct oneway_read *r)
{
	memset(r, 0, sizeof(*r));
	*r = (struct oneway_read){.service_id = f->svc.id, .number_id = number_id, .from = from, .hidden = hidden};
	assert_int_equal(store_tx_run(f->st, read_body, r), 0);
}

/* A one-way session of f->svc: the agent (participant 0) hidden, the respondent
 * on the named number, created at now. */
static void oneway_session(struct fixture *f, struct session *s, const char *respondent, const char *number, int64_t now)
{
	make_session(f, s, NULL, 2, AGENT, respondent);
	s->direction = DIRECTION_ONE_WAY;
	s->participants[0].hidden = 1;
	snprintf(s->participants[1].proxy_e164, sizeof(s->participants[1].proxy_e164), "%s", number);
	assert_int_equal(create_at(f, s, &default_rules, now, NULL), 0);
}

static void mark_and_candidates(void **state)
{
	CX_FIXTURE(state);
	char pa[ID_MAX];
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, pa);
	struct session s1, s2;
	oneway_session(f, &s1, RESP1, PA, 2000);
	oneway_session(f, &s2, RESP2, PA, 2001); /* the same agent on the same number: no binding conflict */
	assert_string_equal(s1.participants[0].proxy_e164, PA);
	assert_string_equal(s2.participants[1].proxy_e164, PA);
	struct session got;
	assert_int_equal(store_session_get(f->st, s1.id, &got), 0);
	assert_int_equal(got.direction, DIRECTION_ONE_WAY);
	assert_int_equal(got.participants[0].hidden, 1);
	assert_int_equal(got.participants[1].hidden, 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE oneway = 2 AND active = 1"), 0);
	/* the agent is no caller of any binding; the respondents are */
	expect_route(f, PA, AGENT, "");
	expect_route(f, PA, RESP1, s1.id);
	struct oneway_read r;
	candidates(f, pa, AGENT, 1, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.c[0].session_id, s2.id); /* newest first */
	assert_string_equal(r.c[1].session_id, s1.id);
	assert_string_equal(r.c[0].participant_id, s2.participants[0].id);
	assert_string_equal(r.c[0].pin, s2.pin);
	candidates(f, pa, AGENT, 0, &r);
	assert_int_equal(r.n, 0);
	candidates(f, pa, RESP1, 0, &r);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.c[0].participant_id, s1.participants[1].id);
	assert_int_equal(r.c[0].created_at, 2000);
	/* after the close and the cool-off release: still found, closed, with its close time */
	assert_int_equal(lifecycle_close(f->st, s1.id, SESSION_CLOSED, 2100), 0);
	int released = 0;
	assert_int_equal(lifecycle_bindings_release(f->st, 2100 + 10 * 86400, 100, &released), 0);
	expect_route(f, PA, RESP1, "");
	candidates(f, pa, RESP1, 0, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.c[0].status, SESSION_CLOSED);
	assert_int_equal(r.c[0].closed_at, 2100);
	/* the route view of the respondent's row: the agent's real number, shown the number */
	memset(&r, 0, sizeof(r));
	r.view_of = s1.participants[1].id;
	assert_int_equal(store_tx_run(f->st, read_body, &r), 0);
	assert_string_equal(r.v.session_id, s1.id);
	assert_string_equal(r.v.to_number, AGENT);
	assert_string_equal(r.v.to_proxy_e164, PA);
	assert_string_equal(r.v.from_participant, s1.participants[1].id);
	r.view_of = "par_none";
	assert_int_equal(store_tx_run(f->st, read_body, &r), MASKD_ENOTFOUND);
	/* another caller, another number: nothing */
	candidates(f, pa, RESP2, 1, &r);
	assert_int_equal(r.n, 0);
	assert_counts_consistent(f);
}

struct on_number_read {
	const char *service_id, *number_id, *pin;
	struct oneway_candidate c[ONEWAY_CANDIDATES_MAX];
	int n;
};

static int on_number_body(struct store_tx *tx, void *ctx)
{
	struct on_number_read *r = ctx;
	return store_tx_oneway_on_number(tx, r->service_id, r->number_id, r->pin, r->c, ONEWAY_CANDIDATES_MAX, &r->n);
}

static int on_number(struct fixture *f, const char *number_id, const char *pin, struct on_number_read *r)
{
	memset(r, 0, sizeof(*r));
	r->service_id = f->svc.id;
	r->number_id = number_id;
	r->pin = pin;
	r->n = -1;
	assert_int_equal(store_tx_run(f->st, on_number_body, r), 0);
	return r->n;
}

static void hidden_rows_on_number(void **state)
{
	CX_FIXTURE(state);
	char pa[ID_MAX], pb[ID_MAX];
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, pa);
	add_number(f, PB, NUMBER_ACTIVE, CAP_ALL, 10, pb);
	struct session s1, s2, tw;
	make_session(f, &s1, NULL, 2, AGENT, RESP1);
	s1.direction = DIRECTION_ONE_WAY;
	s1.participants[0].hidden = 1;
	snprintf(s1.participants[1].proxy_e164, sizeof(s1.participants[1].proxy_e164), "%s", PA);
	snprintf(s1.pin, sizeof(s1.pin), "4821");
	assert_int_equal(create_at(f, &s1, &default_rules, 3000, NULL), 0);
	make_session(f, &s2, NULL, 2, AGENT, RESP2);
	s2.direction = DIRECTION_ONE_WAY;
	s2.participants[0].hidden = 1;
	snprintf(s2.participants[1].proxy_e164, sizeof(s2.participants[1].proxy_e164), "%s", PA);
	snprintf(s2.pin, sizeof(s2.pin), "5932");
	assert_int_equal(create_at(f, &s2, &default_rules, 3001, NULL), 0);
	/* a two-way session on PA: never listed */
	make_session(f, &tw, NULL, 2, "+14152376021", "+14152376022");
	snprintf(tw.participants[0].proxy_e164, sizeof(tw.participants[0].proxy_e164), "%s", PA);
	snprintf(tw.participants[1].proxy_e164, sizeof(tw.participants[1].proxy_e164), "%s", PA);
	snprintf(tw.pin, sizeof(tw.pin), "6043");
	assert_int_equal(create_at(f, &tw, &default_rules, 3002, NULL), 0);
	struct on_number_read r;
	assert_int_equal(on_number(f, pa, NULL, &r), 2);
	assert_string_equal(r.c[0].session_id, s2.id); /* newest first */
	assert_string_equal(r.c[0].participant_id, s2.participants[0].id); /* the hidden row */
	assert_string_equal(r.c[0].pin, "5932");
	assert_string_equal(r.c[1].participant_id, s1.participants[0].id);
	assert_int_equal(r.c[1].created_at, 3000);
	assert_int_equal(on_number(f, pa, "", &r), 2); /* "" is no PIN: all of them */
	assert_int_equal(on_number(f, pa, "4821", &r), 1);
	assert_string_equal(r.c[0].session_id, s1.id);
	assert_int_equal(r.c[0].status, SESSION_OPEN);
	assert_int_equal(on_number(f, pa, "6043", &r), 0); /* the two-way session's PIN */
	assert_int_equal(on_number(f, pa, "7777", &r), 0);
	assert_int_equal(on_number(f, pb, NULL, &r), 0); /* another number */
	/* closed: no longer listed, by PIN or not */
	assert_int_equal(lifecycle_close(f->st, s1.id, SESSION_CLOSED, 3100), 0);
	assert_int_equal(on_number(f, pa, "4821", &r), 0);
	assert_int_equal(on_number(f, pa, NULL, &r), 1);
	assert_string_equal(r.c[0].session_id, s2.id);
	assert_counts_consistent(f);
}

const struct CMUnitTest cx_oneway_tests[] = {
	CX_TEST(mark_and_candidates),
	CX_TEST(hidden_rows_on_number),
};
const size_t cx_oneway_count = sizeof(cx_oneway_tests) / sizeof(cx_oneway_tests[0]);
