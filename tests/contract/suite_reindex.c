/* SPDX-License-Identifier: MIT */
/* suite_reindex.c - the blind-index rotation on both backends
 * (docs/internals/blind-index-rotation.md): after `rotate-keys --index`, a row
 * still indexed under the old version routes its caller, holds its binding
 * against a new session (the bindings' unique index sees one version only),
 * keeps its opt-out, and the re-index sweep moves every row, its peers, its
 * opt-outs and ended marks under the new version until nothing is stale. A
 * one-way caller's rows and a profile's number swap are looked up under both
 * versions too. */
#include "suite.h"

#include "core/audit.h"
#include "flow/privacy.h"
#include "flow/profiles.h"
#include "util/err.h"
#include "vault/vault.h"

#include <string.h>

/* A store over f's database with the key file after an index rotation. */
static struct store *rotated_store(struct fixture *f, struct vault **v2)
{
	char key[128], err[512];
	int version = 0;
	snprintf(key, sizeof(key), "%s/vault.key", f->dir);
	assert_int_equal(vault_file_rotate(key, VAULT_ROTATE_INDEX_ADD, 0, &version, err, sizeof(err)), 0);
	assert_int_equal(version, 2);
	assert_int_equal(vault_load(key, v2, err, sizeof(err)), 0);
	assert_int_equal(vault_index_previous(*v2), 1);
	struct store *st2 = NULL;
	assert_int_equal(store_open(f->url, *v2, &st2, err, sizeof(err)), 0);
	return st2;
}

static void expect_route_on(struct store *st, const char *proxy, const char *from, const char *session_id,
			    int opted_out)
{
	struct route_view v;
	assert_int_equal(store_route_lookup(st, proxy, from, &v), 0);
	assert_string_equal(v.session_id, session_id);
	assert_int_equal(v.to_opted_out, opted_out);
}

static void sweep(struct store *st, enum store_reindex what, int expect_moved)
{
	char last[STORE_RESEAL_KEY_MAX];
	int seen = 0, moved = 0;
	assert_int_equal(store_index_sweep(st, what, "", 100, last, &seen, &moved), 0);
	assert_int_equal(moved, expect_moved);
}

/* f's store becomes the one over the rotated key file. */
static void switch_to(struct fixture *f, struct store *st2, struct vault *v2)
{
	store_close(f->st);
	f->st = st2;
	vault_free(f->vault);
	f->vault = v2;
}

/* One number in the pool: RIDER and DRIVER1 hold it under index version 1. */
static void old_index_found_and_conflicts(void **state)
{
	CX_FIXTURE(state);
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, NULL);
	struct session s1, s2, s3;
	open_pair(f, &s1, RIDER, DRIVER1, 2000);
	assert_int_equal(store_optout_set(f->st, f->svc.id, DRIVER1, s1.participants[1].proxy_number_id, 1, 2100), 0);
	expect_route_on(f->st, PA, RIDER, s1.id, 1);

	struct vault *v2 = NULL;
	struct store *st2 = rotated_store(f, &v2);
	/* no row moved yet: 2 participants, 1 opt-out under version 1 */
	int64_t stale = 0;
	assert_int_equal(store_index_stale(st2, &stale), 0);
	assert_int_equal(stale, 3);
	/* routed, opt-out kept, under the old index */
	expect_route_on(st2, PA, RIDER, s1.id, 1);
	expect_route_on(st2, PA, DRIVER1, s1.id, 0);
	/* RIDER holds PA under the old index: a second session of RIDER finds no number */
	int failed = -1;
	assert_int_equal(new_session(f, RIDER, DRIVER2, NULL, &s2, &failed), MASKD_EEXHAUSTED);
	store_close(f->st); /* f's store has the old key file: the same refusal through the new one */
	f->st = st2;
	vault_free(f->vault);
	f->vault = v2;
	failed = -1;
	assert_int_equal(new_session(f, RIDER, DRIVER2, NULL, &s2, &failed), MASKD_EEXHAUSTED);
	assert_int_equal(failed, 0);
	/* while two numbers new to PA take it under the new index */
	assert_int_equal(new_session(f, DRIVER2, DRIVER3, NULL, &s3, &failed), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE bidx LIKE '2.%'"), 2);

	/* the sweep: s1's two rows move (and their peers), the opt-out follows at the end */
	sweep(st2, STORE_REINDEX_PARTICIPANTS, 2);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE bidx LIKE '2.%'"), 4);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE peer_bidx LIKE '2.%'"), 4);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM bidx_moves"), 2);
	expect_route_on(st2, PA, RIDER, s1.id, 1); /* the opt-out through the moves */
	sweep(st2, STORE_REINDEX_PROFILES, 0);
	sweep(st2, STORE_REINDEX_FINISH, 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM bidx_moves"), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM optouts WHERE bidx LIKE '2.%'"), 1);
	assert_int_equal(store_index_stale(st2, &stale), 0);
	assert_int_equal(stale, 0);
	expect_route_on(st2, PA, RIDER, s1.id, 1);
	/* under the new index alone the binding still refuses the second session */
	assert_int_equal(new_session(f, RIDER, DRIVER2, NULL, &s2, &failed), MASKD_EEXHAUSTED);
}

/* Data-subject erasure during the rotation finds the rows under the old index. */
static void erase_finds_old_index(void **state)
{
	CX_FIXTURE(state);
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, NULL);
	struct session s1;
	open_pair(f, &s1, RIDER, DRIVER1, 2000);
	struct vault *v2 = NULL;
	struct store *st2 = rotated_store(f, &v2);
	store_close(f->st);
	f->st = st2;
	vault_free(f->vault);
	f->vault = v2;
	struct audit_entry audit;
	memset(&audit, 0, sizeof(audit));
	audit.created_at = 3000;
	snprintf(audit.key_id, sizeof(audit.key_id), "key_contract");
	snprintf(audit.action, sizeof(audit.action), "privacy.erased");
	struct privacy_erase_result out;
	assert_int_equal(privacy_erase(st2, RIDER, 3000, &audit, &out), 0);
	assert_int_equal(out.participants_erased, 1);
	assert_int_equal(out.sessions_closed, 1);
	expect_route_on(st2, PA, RIDER, "", 0);
}

struct oneway_read {
	const char *service_id, *number_id, *from;
	int hidden;
	struct oneway_candidate c[ONEWAY_CANDIDATES_MAX];
	int n;
};

static int oneway_body(struct store_tx *tx, void *ctx)
{
	struct oneway_read *r = ctx;
	return store_tx_oneway_candidates(tx, r->service_id, r->number_id, r->from, r->hidden, r->c,
					  ONEWAY_CANDIDATES_MAX, &r->n);
}

static int oneway_count(struct fixture *f, const char *number_id, const char *from, int hidden, struct oneway_read *r)
{
	memset(r, 0, sizeof(*r));
	*r = (struct oneway_read){.service_id = f->svc.id, .number_id = number_id, .from = from, .hidden = hidden};
	assert_int_equal(store_tx_run(f->st, oneway_body, r), 0);
	return r->n;
}

/* A one-way session whose rows are still under the old index: its caller on
 * either side is still a candidate after the rotation, before the re-index. */
static void oneway_candidates_old_index(void **state)
{
	CX_FIXTURE(state);
	char pa[ID_MAX];
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, pa);
	struct session s;
	make_session(f, &s, NULL, 2, RIDER, DRIVER1);
	s.direction = DIRECTION_ONE_WAY;
	s.participants[0].hidden = 1;
	snprintf(s.participants[1].proxy_e164, sizeof(s.participants[1].proxy_e164), "%s", PA);
	assert_int_equal(create_at(f, &s, &default_rules, 2000, NULL), 0);
	struct vault *v2 = NULL;
	struct store *st2 = rotated_store(f, &v2); /* before switch_to reads v2 */
	switch_to(f, st2, v2);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE bidx LIKE '2.%'"), 0);
	struct oneway_read r;
	assert_int_equal(oneway_count(f, pa, RIDER, 1, &r), 1);
	assert_string_equal(r.c[0].session_id, s.id);
	assert_string_equal(r.c[0].participant_id, s.participants[0].id);
	assert_int_equal(oneway_count(f, pa, DRIVER1, 0, &r), 1);
	assert_string_equal(r.c[0].participant_id, s.participants[1].id);
	assert_int_equal(oneway_count(f, pa, DRIVER1, 1, &r), 0);
	/* and the same once the rows are re-indexed */
	sweep(f->st, STORE_REINDEX_PARTICIPANTS, 2);
	assert_int_equal(oneway_count(f, pa, RIDER, 1, &r), 1);
	assert_string_equal(r.c[0].session_id, s.id);
}

/* A profile's number swap is refused, and writes nothing, when the new number
 * holds one of the profile's proxy numbers under the old index. */
static void profile_swap_refused_old_index(void **state)
{
	CX_FIXTURE(state);
	add_number(f, PA, NUMBER_ACTIVE, CAP_ALL, 10, NULL);
	add_number(f, PB, NUMBER_ACTIVE, CAP_ALL, 20, NULL);
	add_number(f, PC, NUMBER_ACTIVE, CAP_ALL, 30, NULL);
	struct participant geo;
	memset(&geo, 0, sizeof(geo));
	snprintf(geo.number, sizeof(geo.number), "%s", RIDER);
	snprintf(geo.country, sizeof(geo.country), "US");
	struct profile p;
	memset(&p, 0, sizeof(p));
	snprintf(p.number, sizeof(p.number), "%s", RIDER);
	snprintf(p.masked, sizeof(p.masked), "+1******1234");
	snprintf(p.country, sizeof(p.country), "US");
	snprintf(p.label, sizeof(p.label), "Agent");
	snprintf(p.proxy_e164, sizeof(p.proxy_e164), "%s", PA);
	assert_int_equal(profiles_create(f->st, &f->svc, &geo, &p, 1000), 0);
	struct session s1, other;
	make_session(f, &s1, NULL, 2, RIDER, DRIVER1);
	snprintf(s1.participants[0].profile_id, sizeof(s1.participants[0].profile_id), "%s", p.id);
	snprintf(s1.participants[1].proxy_e164, sizeof(s1.participants[1].proxy_e164), "%s", PA);
	assert_int_equal(create_at(f, &s1, &default_rules, 3000, NULL), 0);
	const char *q1 = s1.participants[0].proxy_e164;
	/* DRIVER2 holds q1 in a session of its own, under index version 1 */
	make_session(f, &other, NULL, 2, DRIVER2, DRIVER3);
	snprintf(other.participants[0].proxy_e164, sizeof(other.participants[0].proxy_e164), "%s", q1);
	assert_int_equal(create_at(f, &other, &default_rules, 3500, NULL), 0);

	struct vault *v2 = NULL;
	struct store *st2 = rotated_store(f, &v2); /* before switch_to reads v2 */
	switch_to(f, st2, v2);
	struct profile_change c = {.has_number = 1, .has_label = 1};
	snprintf(c.label, sizeof(c.label), "renamed");
	snprintf(c.number.number, sizeof(c.number.number), "%s", DRIVER2);
	snprintf(c.number.masked, sizeof(c.number.masked), "+1******5678");
	snprintf(c.number.country, sizeof(c.number.country), "US");
	struct profile out;
	assert_int_equal(profiles_change(f->st, &f->svc, p.id, &c, 4000, &out), MASKD_ECONFLICT);
	struct profile got;
	assert_int_equal(profiles_get(f->st, f->svc.id, p.id, 1, &got), 0);
	assert_string_equal(got.number, RIDER);
	assert_string_equal(got.label, "Agent");
	assert_int_equal(got.updated_at, 1000);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM participants WHERE bidx LIKE '2.%' OR "
					 "peer_bidx LIKE '2.%'"), 0);
	assert_int_equal(cx_sql_count(f, "SELECT COUNT(*) FROM profiles WHERE bidx LIKE '2.%'"), 0);
	expect_route(f, q1, RIDER, s1.id);
	expect_route(f, q1, DRIVER2, other.id);
	/* a number that holds none of them takes the profile's rows */
	snprintf(c.number.number, sizeof(c.number.number), "+14152379999");
	assert_int_equal(profiles_change(f->st, &f->svc, p.id, &c, 4100, &out), 0);
	expect_route(f, q1, "+14152379999", s1.id);
	expect_route(f, q1, RIDER, "");
}

const struct CMUnitTest cx_reindex_tests[] = {
	CX_TEST(old_index_found_and_conflicts),
	CX_TEST(erase_finds_old_index),
	CX_TEST(oneway_candidates_old_index),
	CX_TEST(profile_swap_refused_old_index),
};
const size_t cx_reindex_count = sizeof(cx_reindex_tests) / sizeof(cx_reindex_tests[0]);
