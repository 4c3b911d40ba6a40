/* SPDX-License-Identifier: MIT */
/* api_outbox.c - the outbox as the API shows it: GET /v1/services/{svc}/outbox
 * (a service's messages by status, paged by an opaque cursor) and POST
 * /v1/outbox/{obx}/retry (a failed message pending again, tries counted from 0).
 * Ids, destinations (scheme://host), statuses and HTTP statuses only: never a
 * payload, which holds the recipient's real number and the carrier credential. */
#include "api_internal.h"
#include "../core/outbox.h"
#include "../out/sender.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/form.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTBOX_PAGE_DEFAULT 50
#define OUTBOX_PAGE_MAX 500

static const char *kind_name(enum outbox_kind k)
{
	return k == OUTBOX_EVENT ? "event" : k == OUTBOX_CARRIER_CALL ? "carrier_call" : "carrier_send";
}

static json_t *item_json(const struct outbox_item *it)
{
	char created[32], next[32], done[32];
	rfc3339_format(it->created_at / 1000, created, sizeof(created));
	rfc3339_format(it->next_at / 1000, next, sizeof(next));
	rfc3339_format(it->done_at / 1000, done, sizeof(done));
	const char *session = it->order_key; /* an event's carries OUTBOX_EVENT_ORDER_PREFIX */
	size_t pl = strlen(OUTBOX_EVENT_ORDER_PREFIX);
	if (strncmp(session, OUTBOX_EVENT_ORDER_PREFIX, pl) == 0)
		session += pl;
	return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:i,s:s,s:s?,s:s?,s:s?}", "id", it->id, "kind",
			 kind_name(it->kind), "status", outbox_status_name(it->status), "destination", it->destination,
			 "session_id", session[0] ? session : NULL, "interaction_id",
			 it->interaction_id[0] ? it->interaction_id : NULL, "tries", it->tries, "created_at", created,
			 "next_attempt_at", it->status == OUTBOX_PENDING ? next : NULL, "done_at",
			 it->done_at > 0 ? done : NULL, "last_error", it->last_error[0] ? it->last_error : NULL);
}

struct list_ctx {
	json_t *arr;
	int64_t last_seq;
};

static void add_item(void *ctx, const struct outbox_item *it)
{
	struct list_ctx *l = ctx;
	json_array_append_new(l->arr, item_json(it));
	l->last_seq = it->seq;
}

static void refuse(struct api_req *r, const char *code, const char *msg)
{
	struct api_error e = {0};
	api_error_set(&e, 400, code, "%s", msg);
	api_reply_error(r->res, &e);
}

void api_outbox_list(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct form q;
	if (form_parse(r->http->arena, r->http->query, strlen(r->http->query), &q) < 0) {
		refuse(r, "invalid_field", "malformed query string");
		return;
	}
	int status = -1;
	const char *s = form_get(&q, "status");
	if (s != NULL && (status = outbox_status_parse(s)) < 0) {
		refuse(r, "invalid_field", "status must be pending, sending, sent or failed");
		return;
	}
	long limit;
	long long after;
	if (api_page_query(r, &q, OUTBOX_PAGE_DEFAULT, OUTBOX_PAGE_MAX, &limit, &after) < 0)
		return;
	struct service svc;
	if (api_service_load(r, r->id, &svc) < 0)
		return;
	struct list_ctx ctx = {.arr = json_array()};
	int rc = store_outbox_list(r->app->store, r->id, status, after, (int)limit, add_item, &ctx);
	if (rc < 0) {
		json_decref(ctx.arr);
		api_store_failed(r, "outbox_list", rc);
		return;
	}
	json_t *next = json_null();
	if (json_array_size(ctx.arr) == (size_t)limit) {
		char cursor[24];
		snprintf(cursor, sizeof(cursor), "%" PRId64, ctx.last_seq);
		next = json_string(cursor);
	}
	api_reply(r->res, 200, json_pack("{s:o,s:o}", "messages", ctx.arr, "next", next));
}

void api_outbox_retry(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct outbox_item it;
	int rc = store_outbox_get(r->app->store, r->id, &it);
	if (!api_store_ok(r, rc, "outbox message", "outbox_get"))
		return;
	if (it.kind == OUTBOX_CARRIER_CALL) {
		/* the carrier may have rung the phone already; a new call is a new POST .../calls */
		struct api_error e = {0};
		api_error_set(&e, 409, "call_not_retried", "a click-to-call request is never sent twice");
		api_reply_error(r->res, &e);
		return;
	}
	if (it.status != OUTBOX_FAILED) {
		struct api_error e = {0};
		api_error_set(&e, 409, "not_failed", "only a failed message can be retried; this one is %s",
			      outbox_status_name(it.status));
		api_reply_error(r->res, &e);
		return;
	}
	rc = store_outbox_requeue(r->app->store, r->id, now_ms());
	if (rc == MASKD_ENOTFOUND) { /* retried by another request in between */
		struct api_error e = {0};
		api_error_set(&e, 409, "not_failed", "only a failed message can be retried");
		api_reply_error(r->res, &e);
		return;
	}
	if (!api_store_ok(r, rc, NULL, "outbox_requeue"))
		return;
	if (r->app->sender != NULL)
		sender_poke(r->app->sender);
	rc = store_outbox_get(r->app->store, r->id, &it);
	if (!api_store_ok(r, rc, "outbox message", "outbox_get"))
		return;
	api_reply(r->res, 202, item_json(&it));
}
