/* SPDX-License-Identifier: MIT */
/* test_scope.c - the API key scope rule: every role × every action on its own
 * service, on another service, and on nothing (403 vs 404 vs allowed); grants
 * (no key grants more than its own power); liveness (revoked, expired at the
 * second, never-expiring); role names round-trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/scope.h"

#define OWN "svc_own"
#define OTHER "svc_other"

static struct api_key key_of(enum key_role role)
{
	struct api_key k;
	memset(&k, 0, sizeof(k));
	k.role = role;
	if (scope_role_is_scoped(role))
		snprintf(k.service_id, sizeof(k.service_id), "%s", OWN);
	return k;
}

/* The expected verdicts, written from the role descriptions of docs/API.md. */
static enum scope_verdict want(enum key_role role, enum scope_action a, const char *owner)
{
	static const bool may[ROLE_COUNT][8] = {
		[ROLE_ADMIN] = {true, true, true, true, true, true, true, true},
		[ROLE_SERVICE] = {[SCOPE_READ] = true, [SCOPE_WRITE] = true, [SCOPE_RECORDS] = true, [SCOPE_KEYS] = true},
		[ROLE_READONLY] = {[SCOPE_READ] = true, [SCOPE_RECORDS] = true},
		[ROLE_RECORDS] = {[SCOPE_RECORDS] = true},
		[ROLE_PRIVACY] = {[SCOPE_REVEAL] = true, [SCOPE_PRIVACY] = true},
	};
	if (role == ROLE_ADMIN)
		return SCOPE_ALLOW;
	if (scope_role_is_scoped(role) && strcmp(owner, OTHER) == 0)
		return SCOPE_HIDDEN;
	return may[role][a] ? SCOPE_ALLOW : SCOPE_FORBIDDEN;
}

static void test_check_matrix(void **state)
{
	const char *owners[] = {OWN, OTHER, ""};
	for (int role = 0; role < ROLE_COUNT; role++) {
		struct api_key k = key_of((enum key_role)role);
		for (int a = SCOPE_READ; a <= SCOPE_PRIVACY; a++) {
			for (size_t o = 0; o < 3; o++) {
				enum scope_verdict got = scope_check(&k, (enum scope_action)a, owners[o]);
				enum scope_verdict exp = want((enum key_role)role, (enum scope_action)a, owners[o]);
				if (got != exp)
					fail_msg("role %s action %d owner '%s': %d, want %d", scope_role_name(k.role), a,
						 owners[o], got, exp);
			}
		}
	}
	/* a NULL owner is "no service" */
	struct api_key ro = key_of(ROLE_READONLY);
	assert_int_equal(scope_check(&ro, SCOPE_READ, NULL), SCOPE_ALLOW);
}

static void test_grants(void **state)
{
	struct api_key admin = key_of(ROLE_ADMIN), svc = key_of(ROLE_SERVICE), ro = key_of(ROLE_READONLY),
		       rec = key_of(ROLE_RECORDS), priv = key_of(ROLE_PRIVACY);
	for (int r = 0; r < ROLE_COUNT; r++)
		assert_int_equal(scope_can_grant(&admin, (enum key_role)r, OTHER), SCOPE_ALLOW);
	assert_int_equal(scope_can_grant(&svc, ROLE_SERVICE, OWN), SCOPE_ALLOW);
	assert_int_equal(scope_can_grant(&svc, ROLE_READONLY, OWN), SCOPE_ALLOW);
	assert_int_equal(scope_can_grant(&svc, ROLE_RECORDS, OWN), SCOPE_ALLOW);
	assert_int_equal(scope_can_grant(&svc, ROLE_ADMIN, ""), SCOPE_FORBIDDEN);
	assert_int_equal(scope_can_grant(&svc, ROLE_PRIVACY, ""), SCOPE_FORBIDDEN);
	assert_int_equal(scope_can_grant(&svc, ROLE_READONLY, OTHER), SCOPE_HIDDEN);
	const struct api_key *weak[] = {&ro, &rec, &priv};
	for (size_t i = 0; i < 3; i++)
		for (int r = 0; r < ROLE_COUNT; r++)
			assert_int_equal(scope_can_grant(weak[i], (enum key_role)r, OWN), SCOPE_FORBIDDEN);
}

static void test_visible(void **state)
{
	struct api_key admin = key_of(ROLE_ADMIN), svc = key_of(ROLE_SERVICE), ro = key_of(ROLE_READONLY),
		       priv = key_of(ROLE_PRIVACY);
	struct api_key other_ro = key_of(ROLE_READONLY);
	snprintf(other_ro.service_id, sizeof(other_ro.service_id), "%s", OTHER);
	assert_true(scope_key_visible(&admin, &other_ro));
	assert_true(scope_key_visible(&svc, &ro));
	assert_false(scope_key_visible(&svc, &other_ro));
	assert_false(scope_key_visible(&svc, &admin));
	assert_false(scope_key_visible(&svc, &priv));
	assert_false(scope_key_visible(&ro, &ro));
	assert_false(scope_key_visible(&priv, &ro));
}

static void test_live(void **state)
{
	struct api_key k = key_of(ROLE_SERVICE);
	assert_true(scope_key_live(&k, 1000));
	k.expires_at = 1000;
	assert_true(scope_key_live(&k, 999));
	assert_false(scope_key_live(&k, 1000));
	assert_false(scope_key_live(&k, 1001));
	k.expires_at = 0;
	k.revoked_at = 5;
	assert_false(scope_key_live(&k, 1));
}

static void test_role_names(void **state)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		enum key_role back;
		assert_int_equal(scope_role_parse(scope_role_name((enum key_role)r), &back), 0);
		assert_int_equal(back, r);
	}
	enum key_role out = ROLE_ADMIN;
	assert_int_equal(scope_role_parse("root", &out), -1);
	assert_int_equal(scope_role_parse("Admin", &out), -1);
	assert_int_equal(scope_role_parse("", &out), -1);
	assert_int_equal(scope_role_parse(NULL, &out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_matrix), cmocka_unit_test(test_grants), cmocka_unit_test(test_visible),
		cmocka_unit_test(test_live), cmocka_unit_test(test_role_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
