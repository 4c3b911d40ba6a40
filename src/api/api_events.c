/* SPDX-License-Identifier: MIT */
/* api_events.c - GET /v1/services/{svc}/events?after=&limit=: the pull API of a
 * service's events (docs/EVENTS.md), the same documents its events_url receives,
 * in commit order, paged by the cursor of the previous page ("next"). */
#include "api_internal.h"
#include "../store/store.h"
#include "../store/store_outbox.h"
#include "../util/form.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_PAGE_DEFAULT 100
_Static_assert(EVENTS_PAGE_DEFAULT <= SERVICE_EVENT_PAGE_MAX, "page size");

struct events_ctx {
	json_t *arr;
	int64_t last_seq;
	int broken; /* a stored document that does not parse (never written so) */
};

static void add_event(void *ctx, int64_t seq, const char *body)
{
	struct events_ctx *c = ctx;
	c->last_seq = seq;
	json_t *doc = json_loads(body, 0, NULL);
	if (doc == NULL) {
		c->broken++;
		return;
	}
	json_array_append_new(c->arr, doc);
}

static void refuse(struct api_req *r, const char *msg)
{
	struct api_error e = {0};
	api_error_set(&e, 400, "invalid_field", "%s", msg);
	api_reply_error(r->res, &e);
}

void api_service_events_list(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct form q;
	if (form_parse(r->http->arena, r->http->query, strlen(r->http->query), &q) < 0) {
		refuse(r, "malformed query string");
		return;
	}
	long limit;
	long long after;
	if (api_page_query(r, &q, EVENTS_PAGE_DEFAULT, SERVICE_EVENT_PAGE_MAX, &limit, &after) < 0)
		return;
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	struct events_ctx c = {.arr = json_array(), .last_seq = after};
	int rc = store_service_events(r->app->store, r->id, after, (int)limit, add_event, &c);
	if (rc < 0) {
		json_decref(c.arr);
		api_store_failed(r, "service_events", rc);
		return;
	}
	json_t *next = json_null();
	if (json_array_size(c.arr) + (size_t)c.broken == (size_t)limit) {
		char cursor[24];
		snprintf(cursor, sizeof(cursor), "%" PRId64, c.last_seq);
		next = json_string(cursor);
	}
	api_reply(r->res, 200, json_pack("{s:o,s:o}", "events", c.arr, "next", next));
}
