/* SPDX-License-Identifier: MIT */
/* suite_reindex.c - the blind-index rotation on both backends
 * (docs/internals/blind-index-rotation.md): after `rotate-keys --index`, a row
 * still indexed under the old version routes its caller, holds its binding
 * against a new session (the bindings' unique index sees one version only),
 * keeps its opt-out, and the re-index sweep moves every row, its peers, its
 * opt-outs and ended marks under the new version until nothing is stale. */
#include "suite.h"

#include "core/audit.h"
#include "flow/privacy.h"
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

const struct CMUnitTest cx_reindex_tests[] = {
	CX_TEST(old_index_found_and_conflicts),
	CX_TEST(erase_finds_old_index),
};
const size_t cx_reindex_count = sizeof(cx_reindex_tests) / sizeof(cx_reindex_tests[0]);
