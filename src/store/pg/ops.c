/* SPDX-License-Identifier: MIT */
/* ops.c - the PostgreSQL backend's table (store_pg_ops): every entry of STORE_OPS
 * is pg_<entry> (pg_internal.h declares them from the same list). */
#include "pg_internal.h"

#define PG_OP_ENTRY(ret, entry, params) .entry = pg_##entry,

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	STORE_OPS(PG_OP_ENTRY)
};
