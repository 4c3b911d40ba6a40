/* SPDX-License-Identifier: MIT */
/* api_calls.c - POST /v1/sessions/{id}/calls, click-to-call: JSON in, 202 with the
 * interaction id out. The rules and writes are flow/calls.c's. */
#include "api_internal.h"
#include "../flow/calls.h"
#include "../store/store.h"
#include "../util/err.h"
#include "../util/ids.h"
#include "../util/log.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <string.h>

void api_session_call(struct api_req *r)
{
	assert(r != NULL && r->app != NULL && r->res != NULL);
	struct api_error e = {0};
	struct session s;
	struct service svc;
	int rc = store_session_get(r->app->store, r->id, &s);
	if (!api_store_ok(r, rc, "session", "session_get"))
		return;
	if (api_service_load(r, s.service_id, &svc) < 0)
		return;
	json_t *body = json_body(r->http, &e);
	if (body == NULL)
		goto fail;
	static const char *const fields[] = {"from_participant", "ring_timeout", NULL};
	const char *from = NULL;
	bool has_ring = false;
	int64_t ring = CALLS_RING_DEFAULT;
	if (!json_only_fields(body, "", fields, &e) ||
	    !json_string_field(body, "", "from_participant", true, ID_MAX - 1, &from, &e) ||
	    !json_int_field(body, "", "ring_timeout", CALLS_RING_MIN, CALLS_RING_MAX, &has_ring, &ring, &e))
		goto fail;
	if (!has_ring)
		ring = CALLS_RING_DEFAULT;
	char int_id[ID_MAX];
	id_new("int", int_id);
	struct calls_refusal why = {0};
	rc = calls_place(r->app->store, r->app->sender, r->app->public_url, r->app->call_base, &s, &svc, from, (int)ring,
			 now_unix(), int_id, &why);
	if (rc == -1) {
		api_error_set(&e, why.status, why.status == 400 ? "invalid_field" : "conflict", "%s: %s", why.field,
			      why.message);
		goto fail;
	}
	char from_id[ID_MAX];
	snprintf(from_id, sizeof(from_id), "%s", from);
	json_decref(body);
	if (rc < 0) {
		api_store_failed(r, "call_place", rc);
		return;
	}
	api_reply(r->res, 202, json_pack("{s:s,s:s,s:s,s:I}", "interaction_id", int_id, "session_id", s.id,
					 "from_participant", from_id, "ring_timeout", (json_int_t)ring));
	return;
fail:
	api_reply_refused(r, body, &e);
}
