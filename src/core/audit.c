/* SPDX-License-Identifier: MIT */
/* audit.c - the audit chain hash and its verifier; see audit.h. */
#include "audit.h"

#include "../util/buf.h"
#include "../util/crypto.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put_field(struct buf *b, const char *s)
{
	buf_printf(b, "%zu:%s\n", strlen(s), s);
}

void audit_hash(struct audit_entry *e)
{
	assert(e != NULL);
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "maskd-audit-v1\n%s\n%" PRId64 "\n%" PRId64 "\n", e->prev_hash, e->seq, e->created_at);
	put_field(&b, e->key_id);
	put_field(&b, e->key_label);
	put_field(&b, e->request_id);
	put_field(&b, e->source);
	put_field(&b, e->action);
	put_field(&b, e->target);
	put_field(&b, e->reason);
	put_field(&b, e->detail);
	uint8_t d[32];
	sha256(b.data, b.len, d);
	hex_encode(d, sizeof(d), e->hash);
	buf_free(&b);
}

void audit_verify_init(struct audit_verifier *v)
{
	assert(v != NULL);
	memset(v, 0, sizeof(*v));
	snprintf(v->last_hash, sizeof(v->last_hash), "%s", AUDIT_GENESIS);
}

bool audit_verify_next(struct audit_verifier *v, const struct audit_entry *e)
{
	assert(v != NULL && e != NULL);
	if (v->broken_seq != 0)
		return false;
	const char *why = NULL;
	struct audit_entry copy = *e;
	audit_hash(&copy);
	if (e->seq != v->last_seq + 1)
		why = "a gap or a re-ordering in the sequence";
	else if (strcmp(e->prev_hash, v->last_hash) != 0)
		why = "prev_hash is not the hash of the entry before";
	else if (strcmp(copy.hash, e->hash) != 0)
		why = "the entry's fields do not give its hash (edited)";
	if (why != NULL) {
		v->broken_seq = e->seq > 0 ? e->seq : v->last_seq + 1;
		v->why = why;
		return false;
	}
	v->last_seq = e->seq;
	snprintf(v->last_hash, sizeof(v->last_hash), "%s", e->hash);
	v->checked++;
	return true;
}
