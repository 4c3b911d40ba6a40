/* SPDX-License-Identifier: MIT */
/* audit.c - audit log appends and verification over the store; see audit.h. */
#include "audit.h"

#include "../store/store.h"

#include <assert.h>
#include <string.h>

int audit_append_tx(struct store_tx *tx, struct audit_entry *e)
{
	assert(tx != NULL && e != NULL);
	int64_t seq = 0;
	int rc = store_tx_audit_tail(tx, &seq, e->prev_hash);
	if (rc < 0)
		return rc;
	e->seq = seq + 1;
	audit_hash(e);
	return store_tx_audit_insert(tx, e);
}

int audit_then(struct store_tx *tx, void *entry)
{
	return audit_append_tx(tx, entry);
}

int audit_append(struct store *st, struct audit_entry *e)
{
	assert(st != NULL && e != NULL);
	return store_tx_run(st, audit_then, e);
}

struct verify_ctx {
	struct audit_verifier *v;
	int64_t last_seen;
	int n;
};

static void verify_one(void *ctx, const struct audit_entry *e)
{
	struct verify_ctx *c = ctx;
	c->n++;
	c->last_seen = e->seq;
	audit_verify_next(c->v, e);
}

int audit_verify_store(struct store *st, struct audit_verifier *v)
{
	assert(st != NULL && v != NULL);
	audit_verify_init(v);
	struct verify_ctx c = {.v = v};
	for (;;) {
		c.n = 0;
		int rc = store_audit_list(st, c.last_seen, AUDIT_VERIFY_PAGE, verify_one, &c);
		if (rc < 0)
			return rc;
		if (c.n < AUDIT_VERIFY_PAGE || v->broken_seq != 0)
			return 0;
	}
}
