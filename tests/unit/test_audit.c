/* SPDX-License-Identifier: MIT */
/* test_audit.c - the audit chain: a known vector (the hash of a fixed entry, so
 * the encoding cannot drift from docs/API.md unnoticed), every field changes
 * the hash, length prefixes keep shifted field boundaries apart, and the
 * verifier names the first broken link for an edit, a wrong prev_hash, a gap, a
 * swap, and stays broken after the first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/audit.h"
#include "util/crypto.h"

static void entry(struct audit_entry *e, int64_t seq, const char *prev)
{
	memset(e, 0, sizeof(*e));
	e->seq = seq;
	e->created_at = 1764633600 + seq;
	snprintf(e->key_id, sizeof(e->key_id), "key_%lld", (long long)seq);
	snprintf(e->key_label, sizeof(e->key_label), "ops");
	snprintf(e->request_id, sizeof(e->request_id), "req-%lld", (long long)seq);
	snprintf(e->source, sizeof(e->source), "127.0.0.1");
	snprintf(e->action, sizeof(e->action), "key.created");
	snprintf(e->target, sizeof(e->target), "key_x");
	snprintf(e->prev_hash, sizeof(e->prev_hash), "%s", prev);
	audit_hash(e);
}

/* A chain of n entries into c. */
static void chain(struct audit_entry *c, int n)
{
	for (int i = 0; i < n; i++)
		entry(&c[i], i + 1, i == 0 ? AUDIT_GENESIS : c[i - 1].hash);
}

static void test_vector(void **state)
{
	struct audit_entry e;
	entry(&e, 1, AUDIT_GENESIS);
	/* sha256 of "maskd-audit-v1\n<64 zeros>\n1\n1764633601\n5:key_1\n3:ops\n5:req-1\n9:127.0.0.1\n
	 * 11:key.created\n5:key_x\n0:\n0:\n" (computed with sha256sum) */
	assert_string_equal(e.hash, "c7c269e1189982d3da1cccca845579d5a8602a0f698a31ab2fab5ff4b72b0add");
}

static void test_fields_matter(void **state)
{
	struct audit_entry base;
	entry(&base, 1, AUDIT_GENESIS);
	char *fields[] = {base.key_id, base.key_label, base.request_id, base.source, base.action, base.target,
			  base.reason, base.detail};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct audit_entry e = base;
		char *f = (char *)&e + ((char *)fields[i] - (char *)&base);
		size_t n = strlen(f);
		f[n] = 'x';
		f[n + 1] = '\0';
		audit_hash(&e);
		if (strcmp(e.hash, base.hash) == 0)
			fail_msg("field %zu does not change the hash", i);
	}
	struct audit_entry e = base;
	e.created_at++;
	audit_hash(&e);
	assert_string_not_equal(e.hash, base.hash);
	/* moving a character from one field into the next is a different entry */
	struct audit_entry a = base, b = base;
	snprintf(a.reason, sizeof(a.reason), "ab");
	snprintf(a.detail, sizeof(a.detail), "c");
	snprintf(b.reason, sizeof(b.reason), "a");
	snprintf(b.detail, sizeof(b.detail), "bc");
	audit_hash(&a);
	audit_hash(&b);
	assert_string_not_equal(a.hash, b.hash);
}

static int64_t verify(const struct audit_entry *c, int n, const char **why)
{
	struct audit_verifier v;
	audit_verify_init(&v);
	for (int i = 0; i < n; i++)
		audit_verify_next(&v, &c[i]);
	*why = v.why;
	return v.broken_seq;
}

static void test_verify(void **state)
{
	struct audit_entry c[6];
	const char *why;
	chain(c, 6);
	assert_int_equal(verify(c, 6, &why), 0);
	assert_null(why);

	chain(c, 6);
	snprintf(c[2].reason, sizeof(c[2].reason), "edited");
	assert_int_equal(verify(c, 6, &why), 3);
	assert_non_null(strstr(why, "edited"));

	/* an edit with its own hash recomputed: the next entry's prev_hash no longer matches */
	chain(c, 6);
	snprintf(c[2].reason, sizeof(c[2].reason), "edited");
	audit_hash(&c[2]);
	assert_int_equal(verify(c, 6, &why), 4);
	assert_non_null(strstr(why, "prev_hash"));

	/* a dropped entry: a gap at the one after it */
	chain(c, 6);
	memmove(&c[3], &c[4], 2 * sizeof(c[0]));
	assert_int_equal(verify(c, 5, &why), 5);
	assert_non_null(strstr(why, "gap"));

	/* two entries swapped */
	chain(c, 6);
	struct audit_entry t = c[1];
	c[1] = c[2];
	c[2] = t;
	assert_int_equal(verify(c, 6, &why), 3);

	/* the first entry must chain to the genesis hash */
	chain(c, 2);
	snprintf(c[0].prev_hash, sizeof(c[0].prev_hash), "%064d", 1);
	audit_hash(&c[0]);
	assert_int_equal(verify(c, 2, &why), 1);
}

int main(void)
{
	crypto_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_fields_matter),
		cmocka_unit_test(test_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
