/* SPDX-License-Identifier: MIT */
/* main.c - runs the whole store contract suite (every suite_*.c) as one cmocka
 * group on the backend linked in, so that its summary line counts every test. */
#include "contract.h"

#include "util/crypto.h"

int main(void)
{
	crypto_init();
	const struct {
		const struct CMUnitTest *t;
		size_t n;
	} parts[] = {
		{cx_rows_tests, cx_rows_count},
		{cx_policy_tests, cx_policy_count},
		{cx_service_tests, cx_service_count},
		{cx_pool_tests, cx_pool_count},
		{cx_legs_tests, cx_legs_count},
		{cx_outbox_tests, cx_outbox_count},
		{cx_proxy_tests, cx_proxy_count},
		{cx_profiles_tests, cx_profiles_count},
		{cx_oneway_tests, cx_oneway_count},
		{cx_reindex_tests, cx_reindex_count},
	};
	size_t total = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		total += parts[i].n;
	struct CMUnitTest *all = calloc(total, sizeof(*all));
	assert_non_null(all);
	size_t k = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (size_t j = 0; j < parts[i].n; j++)
			all[k++] = parts[i].t[j];
	int failed = _cmocka_run_group_tests(cx_backend, all, total, NULL, NULL);
	free(all);
	return failed;
}
