/* SPDX-License-Identifier: MIT */
/* sql_shared.c - the one C helper of the shared statement texts: which geo keys
 * the pool filter binds at a level. See sql_shared.h. */
#include "sql_shared.h"
#include "../vault/vault.h"

#include <assert.h>
#include <stddef.h>

_Static_assert(STORE_BIDX_MAX == VAULT_BIDX_LEN + 1, "store.h spells a blind index as the vault writes it");

void sql_pool_keys(const struct store_pool_query *q, const char *keys[3])
{
	assert(q != NULL);
	keys[0] = keys[1] = keys[2] = NULL;
	if (q->level == GEO_ANY)
		return;
	keys[0] = q->country ? q->country : "";
	if (q->level == GEO_AREA_CODE)
		keys[1] = q->area_code ? q->area_code : "";
	else if (q->level == GEO_REGION)
		keys[2] = q->region ? q->region : "";
}
