/* SPDX-License-Identifier: MIT */
/* suite_policy.c - the store contract, pool and session policy on a real database
 * through flow/ (time passed in): geo levels, stickiness, cool-off, caps and
 * states, swap, re-open, create-or-return, PINs, single-party sessions, opt-out,
 * block, headroom and stats. */
#include "suite.h"

#include <unistd.h>

#include "core/session.h"
#include "flow/jobs.h"
#include "flow/lifecycle.h"
#include "flow/sessions.h"
#include "util/err.h"
#include "vectors.h"

static void geo_levels(void **state)
{
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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

/* ---- expiry closes a batch in set-based statements */

/* What closing one expired session one by one wrote before expiry went set-based:
 * the row primitives lifecycle_close uses, with the sweep's event detail. */
static int close_one_by_one(struct store_tx *tx, void *ctx)
{
	const struct session *s = ctx;
	struct store_session_brief b;
	int rc = store_tx_session_lock(tx, s->id, &b);
	if (rc < 0)
		return rc;
	b.status = SESSION_CLOSED;
	b.updated_at = b.closed_at = 2600;
	rc = store_tx_session_put(tx, b.id, &b, 0);
	if (rc == 0)
		rc = store_tx_bindings_hold(tx, b.id, session_held_until(2600, b.cooloff), session_binding_cools(b.cooloff));
	if (rc >= 0)
		rc = store_tx_event_insert(tx, b.id, "closed", NULL, "expired", 2600);
	const char *nums[SESSION_PARTICIPANTS];
	int delta[SESSION_PARTICIPANTS], n = 0;
	for (int i = 0; i < b.n_parts; i++) {
		int dup = 0;
		for (int k = 0; k < i; k++)
			dup |= strcmp(b.parts[k].number_id, b.parts[i].number_id) == 0;
		if (!dup) {
			nums[n] = b.parts[i].number_id;
			delta[n++] = -1;
		}
	}
	if (rc >= 0)
		rc = store_tx_numbers_in_use_add(tx, nums, delta, n);
	return rc < 0 ? rc : 0;
}

/* Every row a close writes, as one line of text (ids left out, so two sessions
 * closed alike read alike). */
static void closed_rows(struct fixture *f, const char *id, char *out, size_t cap)
{
	char sql[512], part[256];
	size_t len = 0;
	out[0] = '\0';
	snprintf(sql, sizeof(sql),
		 "SELECT status || ',' || closed_at || ',' || updated_at || ',' || "
		 "COALESCE(CAST(deadline AS TEXT), 'none') FROM sessions WHERE id = '%s'", id);
	assert_int_equal(cx_sql_text(f, sql, part, sizeof(part)), 1);
	len += (size_t)snprintf(out + len, cap - len, "session %s;", part);
	for (int i = 0; i < 2; i++) {
		snprintf(sql, sizeof(sql),
			 "SELECT active || ',' || COALESCE(CAST(held_until AS TEXT), 'none') FROM participants "
			 "WHERE session_id = '%s' AND idx = %d", id, i);
		assert_int_equal(cx_sql_text(f, sql, part, sizeof(part)), 1);
		len += (size_t)snprintf(out + len, cap - len, " participant %s;", part);
	}
	snprintf(sql, sizeof(sql),
		 "SELECT kind || ',' || detail || ',' || COALESCE(participant_id, 'null') || ',' || created_at "
		 "FROM session_events WHERE session_id = '%s' AND kind = 'closed'", id);
	assert_int_equal(cx_sql_text(f, sql, part, sizeof(part)), 1);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM session_events WHERE session_id = '%s'", id);
	snprintf(out + len, cap - len, " event %s; %lld events", part, (long long)cx_sql_count(f, sql));
}

/* The sweep closes its batch in a few set-based statements; the rows must be
 * those that closing each session one by one wrote: status, closed_at,
 * updated_at, no deadline, bindings held for the cool-off, one "closed" event,
 * in_use given back once per session, each close counted once. */
static void set_based_expiry_same_rows(void **state)
{
	CX_FIXTURE(state);
	use_service(f, 60);
	char nums[4][ID_MAX];
	for (int i = 0; i < 4; i++) {
		char e164[16];
		snprintf(e164, sizeof(e164), "+1415555010%d", i);
		add_number(f, e164, NUMBER_ACTIVE, CAP_ALL, i, nums[i]);
	}
	const char *real[4][2] = {{RIDER, DRIVER1}, {DRIVER2, DRIVER3}, {PA, PB}, {PC, PD}};
	struct session s[4];
	for (int i = 0; i < 4; i++)
		open_pair(f, &s[i], real[i][0], real[i][1], 2000);
	int64_t in_use_before = 0;
	for (int i = 0; i < 4; i++) {
		struct number n;
		assert_int_equal(store_number_get(f->st, nums[i], &n), 0);
		in_use_before += n.in_use;
	}
	assert_int_equal(in_use_before, 8); /* two numbers per session, four sessions */
	/* s[0], s[1] expire and are swept together; s[2], s[3] are closed one by one */
	int64_t exp = 2500;
	for (int i = 0; i < 2; i++)
		assert_int_equal(lifecycle_update(f->st, s[i].id, NULL, &exp, 2001), 0);
	int closed = -1;
	assert_int_equal(lifecycle_expire(f->st, 2600, 100, &closed), 0);
	assert_int_equal(closed, 2);
	assert_int_equal(store_tx_run(f->st, close_one_by_one, &s[2]), 0);
	assert_int_equal(store_tx_run(f->st, close_one_by_one, &s[3]), 0);
	char swept[1024], one[1024];
	for (int i = 0; i < 2; i++) {
		closed_rows(f, s[i].id, swept, sizeof(swept));
		closed_rows(f, s[i + 2].id, one, sizeof(one));
		assert_string_equal(swept, one);
	}
	assert_non_null(strstr(swept, "participant 1,2660;")); /* held for the cool-off */
	for (int i = 0; i < 4; i++) {
		struct number n;
		assert_int_equal(store_number_get(f->st, nums[i], &n), 0);
		assert_int_equal(n.in_use, 0);
	}
	/* nothing left to close: the swept sessions are not closed twice */
	assert_int_equal(lifecycle_expire(f->st, 2700, 100, &closed), 0);
	assert_int_equal(closed, 0);
}

static void cooloff_holds_and_releases(void **state)
{
	CX_FIXTURE(state);
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
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM optouts"), 0); /* its opt-out rows went with it */
	assert_int_equal(store_stats(f->st, &stats), 0);
	assert_int_equal(stats.bindings_cooling, 0);
	assert_int_equal(stats.bindings_active, 0);
}

static void cooloff_reuse_last_resort(void **state)
{
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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
	CX_FIXTURE(state);
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

struct low_mark_ctx {
	unsigned need;
	int low;
	int results[4];
	int n;
};

static int low_mark_body(struct store_tx *tx, void *arg)
{
	struct low_mark_ctx *x = arg;
	int rc = store_tx_pool_low_mark(tx, "svc_pool_alerts", x->need, x->low, 2000);
	if (rc < 0)
		return rc;
	x->results[x->n++] = rc;
	return 0;
}

static void count_pool_low(void *ctx, int64_t seq, const char *body)
{
	(void)seq;
	if (strstr(body, "\"type\":\"pool.low\"") != NULL)
		(*(int *)ctx)++;
}

/* pool.low: the alert row is the crossing, on both backends; a create that
 * leaves the pool at or below the threshold records one event per crossing */
static void pool_low_once_per_crossing(void **state)
{
	CX_FIXTURE(state);
	struct low_mark_ctx x = {.need = CAP_VOICE | CAP_SMS, .low = 1};
	assert_int_equal(store_tx_run(f->st, low_mark_body, &x), 0); /* marked: 1 */
	assert_int_equal(store_tx_run(f->st, low_mark_body, &x), 0); /* marked already: 0 */
	x.need = CAP_VOICE;
	assert_int_equal(store_tx_run(f->st, low_mark_body, &x), 0); /* another capability set: 1 */
	x.need = CAP_VOICE | CAP_SMS;
	x.low = 0;
	assert_int_equal(store_tx_run(f->st, low_mark_body, &x), 0); /* cleared: 1 */
	assert_int_equal(x.n, 4);
	assert_int_equal(x.results[0], 1);
	assert_int_equal(x.results[1], 0);
	assert_int_equal(x.results[2], 1);
	assert_int_equal(x.results[3], 1);

	use_service(f, 600);
	add_number(f, "+14155551400", NUMBER_ACTIVE, CAP_ALL, 1, NULL);
	add_number(f, "+14155551401", NUMBER_ACTIVE, CAP_ALL, 2, NULL);
	add_number(f, "+14155551402", NUMBER_ACTIVE, CAP_ALL, 3, NULL);
	struct create_rules r = rules_of(GEO_COUNTRY, 0, SELECT_PREFER_STICKY, 1, 0);
	r.pool_low_threshold = 1;
	const char *who[] = {RIDER, DRIVER1, DRIVER2};
	int lows[3];
	for (int i = 0; i < 3; i++) {
		struct session s;
		make_session(f, &s, NULL, 1, who[i], NULL);
		assert_int_equal(create_at(f, &s, &r, 2000, NULL), 0);
		lows[i] = 0;
		assert_int_equal(store_service_events(f->st, f->svc.id, 0, 100, count_pool_low, &lows[i]), 0);
	}
	assert_int_equal(lows[0], 0); /* 2 free */
	assert_int_equal(lows[1], 1); /* 1 free: the crossing */
	assert_int_equal(lows[2], 1); /* 0 free: low already */
}


const struct CMUnitTest cx_policy_tests[] = {
	CX_TEST(geo_levels), CX_TEST(sticky_numbers), CX_TEST(sticky_while_cooling),
	CX_TEST(cooloff_holds_and_releases), CX_TEST(set_based_expiry_same_rows), CX_TEST(cooloff_reuse_last_resort), CX_TEST(caps_and_states),
	CX_TEST(number_swap), CX_TEST(reopen_rules), CX_TEST(unique_name_create_or_return), CX_TEST(pins),
	CX_TEST(single_party_then_add), CX_TEST(optouts), CX_TEST(blocked_close), CX_TEST(headroom_counts),
	CX_TEST(cap_counts_a_session_once), CX_TEST(stats_and_pool_stats), CX_TEST(pool_low_once_per_crossing),
};
const size_t cx_policy_count = sizeof(cx_policy_tests) / sizeof(cx_policy_tests[0]);
