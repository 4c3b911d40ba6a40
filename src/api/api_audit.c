/* SPDX-License-Identifier: MIT */
/* api_audit.c - /v1/audit (admin keys): pages of the audit log, its export as
 * JSON lines, and the chain check naming the first broken link. Entries hold
 * ids and masked numbers only; nothing here writes. */
#include "api_internal.h"
#include "../flow/audit.h"
#include "../store/store.h"
#include "../util/form.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 1000

static json_t *entry_json(const struct audit_entry *e)
{
	return json_pack("{s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t)e->seq,
			 "created_at", json_time(e->created_at), "key_id", e->key_id, "key_label", e->key_label,
			 "request_id", e->request_id, "source", e->source, "action", e->action, "target", e->target,
			 "reason", e->reason, "detail", e->detail, "prev_hash", e->prev_hash, "hash", e->hash);
}

/* A non-negative integer query parameter (absent: def): false after a 400. */
static bool int_param(struct api_req *r, const struct form *q, const char *key, int64_t def, int64_t max,
		      int64_t *out)
{
	const char *s = form_get(q, key);
	*out = def;
	if (s == NULL || s[0] == '\0')
		return true;
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || v < 0 || v > max) {
		struct api_error e;
		api_error_set(&e, 400, "invalid_field", "%s must be an integer from 0 to %lld", key, (long long)max);
		api_reply_error(r->res, &e);
		return false;
	}
	*out = v;
	return true;
}

struct page_ctx {
	json_t *arr;
	int64_t last;
};

static void add_entry(void *ctx, const struct audit_entry *e)
{
	struct page_ctx *c = ctx;
	json_array_append_new(c->arr, entry_json(e));
	c->last = e->seq;
}

void api_audit_list(struct api_req *r)
{
	assert(r != NULL);
	struct form q;
	if (form_parse(r->http->arena, r->http->query, strlen(r->http->query), &q) < 0) {
		struct api_error e;
		api_error_set(&e, 400, "invalid_field", "malformed query string");
		api_reply_error(r->res, &e);
		return;
	}
	int64_t after, limit;
	if (!int_param(r, &q, "after", 0, INT64_MAX, &after) ||
	    !int_param(r, &q, "limit", AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, &limit))
		return;
	if (limit == 0)
		limit = AUDIT_PAGE_DEFAULT;
	struct page_ctx c = {.arr = json_array(), .last = 0};
	int rc = store_audit_list(r->app->store, after, (int)limit, add_entry, &c);
	if (rc < 0) {
		json_decref(c.arr);
		api_store_failed(r, "audit_list", rc);
		return;
	}
	bool more = (int64_t)json_array_size(c.arr) == limit;
	json_t *o = json_pack("{s:o}", "entries", c.arr);
	json_object_set_new(o, "next_after", more ? json_integer(c.last) : json_null());
	api_reply(r->res, 200, o);
}

struct export_ctx {
	struct buf *out;
	int64_t last;
	int n;
};

static void export_entry(void *ctx, const struct audit_entry *e)
{
	struct export_ctx *c = ctx;
	json_t *o = entry_json(e);
	char *line = json_dumps(o, JSON_COMPACT);
	buf_puts(c->out, line);
	buf_puts(c->out, "\n");
	free(line);
	json_decref(o);
	c->last = e->seq;
	c->n++;
}

void api_audit_export(struct api_req *r)
{
	assert(r != NULL);
	struct export_ctx c = {.out = &r->res->body};
	for (;;) {
		c.n = 0;
		int rc = store_audit_list(r->app->store, c.last, AUDIT_PAGE_MAX, export_entry, &c);
		if (rc < 0) {
			buf_reset(&r->res->body);
			api_store_failed(r, "audit_export", rc);
			return;
		}
		if (c.n < AUDIT_PAGE_MAX)
			break;
	}
	r->res->status = 200;
	r->res->content_type = "application/x-ndjson";
}

void api_audit_verify(struct api_req *r)
{
	assert(r != NULL);
	struct audit_verifier v;
	int rc = audit_verify_store(r->app->store, &v);
	if (rc < 0) {
		api_store_failed(r, "audit_verify", rc);
		return;
	}
	json_t *o = json_pack("{s:b, s:I}", "ok", v.broken_seq == 0, "entries_checked", (json_int_t)v.checked);
	json_object_set_new(o, "first_broken_seq", v.broken_seq ? json_integer(v.broken_seq) : json_null());
	json_object_set_new(o, "why", v.why ? json_string(v.why) : json_null());
	api_reply(r->res, 200, o);
}
