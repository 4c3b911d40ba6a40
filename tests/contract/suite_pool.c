/* SPDX-License-Identifier: MIT */
/* suite_pool.c - the store contract, policy seen from services with pools of
 * their own (the fixture's pool of CX_POOL numbers beside them): fields, geo
 * levels and strict, sticky after close, cool-off, cap, swap events, re-open,
 * unique_name, PINs, single-party, opt-out, block; after each the
 * in_use counts agree with the bindings. */
#include "suite.h"

#include <unistd.h>

#include "flow/jobs.h"
#include "flow/lifecycle.h"
#include "flow/sessions.h"
#include "util/err.h"
#include "vectors.h"

/* A number keeps its area code and region; the start-up backfill rewrites the region
 * (the service fields: suite_service.c). */
static void number_fields(void **state)
{
	CX_FIXTURE(state);
	struct service svc;
	svc_new(f, &svc, 0, 0, 0);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
	struct session s;
	struct create_outcome o;
	ses_fill(&s, f->svc.id, 2, PA, PB);
	assert_int_equal(create_in(f, &f->svc, &s, 100, &o), 0);
	char old_id[ID_MAX], old_e164[PHONE_E164_MAX + 1];
	snprintf(old_id, sizeof(old_id), "%s", s.participants[0].proxy_number_id);
	snprintf(old_e164, sizeof(old_e164), "%s", s.participants[0].proxy_e164);
	struct create_rules r = svc_rules(&f->svc);
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
	CX_FIXTURE(state);
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
static void pool_unique_name_create_or_return(void **state)
{
	CX_FIXTURE(state);
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
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM sessions"), 1);
	assert_int_equal(lifecycle_close(f->st, s.id, SESSION_CLOSED, 200), 0);
	ses_fill(&t, f->svc.id, 2, PA, PC);
	snprintf(t.unique_name, sizeof(t.unique_name), "order-1");
	assert_int_equal(create_in(f, &f->svc, &t, 300, &o), 0);
	assert_counts_consistent(f);
}

/* A PIN is unique among open sessions; pin_lookup finds the caller's session. */
static void pin_unique_and_lookup(void **state)
{
	CX_FIXTURE(state);
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
static void pool_single_party_then_add(void **state)
{
	CX_FIXTURE(state);
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
	struct create_rules r = svc_rules(&f->svc);
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
	CX_FIXTURE(state);
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
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM optouts"), 1);
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
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM optouts"), 1);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE active = 1 AND held_until IS NOT NULL"), 0);
	assert_int_equal(store_number_delete(f->st, n0), MASKD_ENOTFOUND);
}

/* Blocking: an open session, a closed one, and close after block. */
static void block_and_close(void **state)
{
	CX_FIXTURE(state);
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
	assert_int_equal(st.numbers, CX_POOL + 1);
	assert_int_equal(st.numbers_active, CX_POOL + 1);
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

const struct CMUnitTest cx_pool_tests[] = {
	CX_TEST_POOL(number_fields), CX_TEST_POOL(geo_levels_and_strict),
	CX_TEST_POOL(sticky_after_close), CX_TEST_POOL(cooloff_hold_and_release),
	CX_TEST_POOL(cooloff_reuse_takes_cooling), CX_TEST_POOL(cap_limits_sessions_per_number),
	CX_TEST_POOL(swap_records_an_event), CX_TEST_POOL(reopen_restores_bindings),
	CX_TEST_POOL(pool_unique_name_create_or_return), CX_TEST_POOL(pin_unique_and_lookup),
	CX_TEST_POOL(pool_single_party_then_add), CX_TEST_POOL(optout_marks_route), CX_TEST_POOL(block_and_close),
	
};
const size_t cx_pool_count = sizeof(cx_pool_tests) / sizeof(cx_pool_tests[0]);
